"""Admin permissions of the wish-wall models for the staff groups (read-only admin)."""

from django.apps import apps as global_apps

from core.access import Role
from villagers.groups import role_permissions_grant

VIEWED = ["wish", "wishmatch", "wishfulfilment", "wishrevision"]
WISHWALL_PERMISSIONS = {role: [f"view_{name}" for name in VIEWED] for role in Role.ALL}


def wishwall_permissions_ensure(sender=None, apps=global_apps, **kwargs):
    role_permissions_grant("wishwall", WISHWALL_PERMISSIONS, apps)
