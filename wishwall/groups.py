"""Admin permissions of the wish-wall models for the staff groups (read-only admin)."""

from django.apps import apps as global_apps

from core.access import Role
from villagers.groups import role_permissions_grant

VIEWED = ["wish", "wishmatch", "wishfulfilment", "wishrevision"]
# The township officer and the party secretary read reports, not the back office's rows.
WISHWALL_PERMISSIONS = {
    role: [f"view_{name}" for name in VIEWED]
    for role in (Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
}


def wishwall_permissions_ensure(sender=None, apps=global_apps, **kwargs):
    role_permissions_grant("wishwall", WISHWALL_PERMISSIONS, apps)
