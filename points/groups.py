"""Admin permissions of the points models for the staff groups (pages decide real access)."""

from django.apps import apps as global_apps

from core.access import Role
from villagers.groups import role_permissions_grant

VIEWED = ["rule", "proposal", "batch", "declaration", "account", "entry", "objection"]
POINTS_PERMISSIONS = {
    Role.MANAGER: [f"view_{name}" for name in VIEWED] + ["add_rule", "change_rule"],
    Role.SUPERVISOR: [f"view_{name}" for name in VIEWED],
    Role.COUNTY_ADMIN: [f"view_{name}" for name in VIEWED],
}


def points_permissions_ensure(sender=None, apps=global_apps, **kwargs):
    role_permissions_grant("points", POINTS_PERMISSIONS, apps)
