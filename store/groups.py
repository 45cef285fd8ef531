"""Admin permissions of the store models for the staff groups (read-only admin)."""

from django.apps import apps as global_apps

from core.access import Role
from villagers.groups import role_permissions_grant

VIEWED = ["zone", "item", "stockmovement", "donor", "donation", "redemption"]
STORE_PERMISSIONS = {
    Role.MANAGER: [f"view_{name}" for name in VIEWED],
    Role.SUPERVISOR: [f"view_{name}" for name in VIEWED],
    Role.COUNTY_ADMIN: [f"view_{name}" for name in VIEWED],
}


def store_permissions_ensure(sender=None, apps=global_apps, **kwargs):
    role_permissions_grant("store", STORE_PERMISSIONS, apps)
