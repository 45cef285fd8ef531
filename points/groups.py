"""Admin permissions of the points models for the staff groups (pages decide real access)."""

from django.apps import apps as global_apps

from villagers.roles import Role

VIEWED = ["rule", "proposal", "batch", "declaration", "account", "entry"]
POINTS_PERMISSIONS = {
    Role.MANAGER: [f"view_{name}" for name in VIEWED] + ["add_rule", "change_rule"],
    Role.SUPERVISOR: [f"view_{name}" for name in VIEWED],
    Role.COUNTY_ADMIN: [f"view_{name}" for name in VIEWED],
}


def points_permissions_ensure(sender=None, apps=global_apps, **kwargs):
    """Give the role groups their points permissions (idempotent, after every migrate)."""
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:
        return
    for role, codenames in POINTS_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="points", codename__in=codenames)
        )
