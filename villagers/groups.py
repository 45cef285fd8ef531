"""The staff groups and the Django admin permissions each holds.

What a role may do on the purpose-built pages is decided by `villagers.roles`; these
permissions only open the matching parts of the admin (always scoped to the village).
"""

from django.apps import apps as global_apps

from villagers.roles import Role

# app_label -> model names, per role and permission verb.
ROLE_PERMISSIONS = {
    Role.MANAGER: {
        "view": {
            "villagers": [
                "village",
                "villagegroup",
                "household",
                "member",
                "inspection",
                "participation",
                "card",
            ],
            "points": ["account", "entry"],
            "store": ["donor"],
        },
        "add": {"villagers": ["household", "member", "inspection", "participation"]},
        "change": {"villagers": ["household", "member"]},
    },
    Role.SUPERVISOR: {
        "view": {
            "villagers": [
                "village",
                "villagegroup",
                "household",
                "member",
                "inspection",
                "participation",
                "card",
            ],
            "points": ["account", "entry"],
            "store": ["donor"],
        },
    },
    Role.COUNTY_ADMIN: {
        "view": {
            "villagers": [
                "village",
                "villagegroup",
                "household",
                "member",
                "inspection",
                "participation",
                "card",
                "user",
            ],
            "points": ["account", "entry"],
            "store": ["donor"],
            "aidao": ["auditevent"],
        },
        "add": {"villagers": ["village", "villagegroup", "user"]},
        "change": {"villagers": ["village", "villagegroup", "user"]},
    },
}


def groups_ensure(sender=None, apps=global_apps, **kwargs):
    """Create the role groups and give them their permissions (idempotent)."""
    try:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    except LookupError:
        return
    for role, verbs in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        wanted = []
        for verb, models_by_app in verbs.items():
            for app_label, model_names in models_by_app.items():
                codenames = [f"{verb}_{name}" for name in model_names]
                wanted += list(
                    Permission.objects.filter(
                        content_type__app_label=app_label, codename__in=codenames
                    )
                )
        group.permissions.add(*wanted)
