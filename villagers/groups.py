"""The staff groups and the Django admin permissions each holds.

What a role may do on the purpose-built pages is decided by `core.access`; these
permissions only open the matching parts of the admin (always scoped to the village).
Each app declares its own grants and calls `role_permissions_grant` after every migrate.
"""

from django.apps import apps as global_apps

from core.access import Role

REGISTRY = ["village", "villagegroup", "household", "member", "inspection", "participation", "card"]

VILLAGERS_PERMISSIONS = {
    # Households, members, inspections and participations are written on the app's pages,
    # through the services that check them (a household keeps no active card once moved, a
    # member with a PIN stays an adult, a day is one that could have happened): the admin
    # only shows them.
    Role.MANAGER: [f"view_{name}" for name in REGISTRY],
    Role.SUPERVISOR: [f"view_{name}" for name in REGISTRY],
    Role.COUNTY_ADMIN: [f"view_{name}" for name in REGISTRY]
    + [
        "view_user",
        "add_village",
        "change_village",
        "add_villagegroup",
        "change_villagegroup",
        "add_user",
        "change_user",
    ],
}

# The audit log (core) is read in the admin by the county admin only.
CORE_PERMISSIONS = {Role.COUNTY_ADMIN: ["view_auditevent"]}


def role_permissions_grant(app_label: str, grants: dict[str, list[str]], apps=global_apps):
    """Make each role group hold exactly the listed codenames of `app_label` (idempotent)."""
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:
        return
    of_app = dict(
        Permission.objects.filter(content_type__app_label=app_label).values_list("codename", "pk")
    )
    for role in Role.ALL:
        group, _created = Group.objects.get_or_create(name=role)
        codenames = set(grants.get(role, []))
        held = set(
            group.permissions.filter(content_type__app_label=app_label).values_list("pk", flat=True)
        )
        wanted = {pk for name, pk in of_app.items() if name in codenames}
        if held - wanted:
            group.permissions.remove(*(held - wanted))
        if wanted - held:
            group.permissions.add(*(wanted - held))


def groups_ensure(sender=None, apps=global_apps, **kwargs):
    """post_migrate: the role groups and their registry permissions (idempotent)."""
    role_permissions_grant("villagers", VILLAGERS_PERMISSIONS, apps)
    role_permissions_grant("core", CORE_PERMISSIONS, apps)
