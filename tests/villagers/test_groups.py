"""The role groups and the admin permissions each holds, as the apps declare them.

They are set-up data written after every migrate, and after every flush between tests: each
app's handler runs once, after its own permissions exist.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from core.access import Role
from points.groups import POINTS_PERMISSIONS
from store.groups import STORE_PERMISSIONS
from villagers.groups import CORE_PERMISSIONS, VILLAGERS_PERMISSIONS
from wishwall.groups import WISHWALL_PERMISSIONS

GRANTS = {
    "villagers": VILLAGERS_PERMISSIONS,
    "core": CORE_PERMISSIONS,
    "points": POINTS_PERMISSIONS,
    "store": STORE_PERMISSIONS,
    "wishwall": WISHWALL_PERMISSIONS,
}


def declared(role: str) -> set[str]:
    return {
        f"{app}.{codename}" for app, grants in GRANTS.items() for codename in grants.get(role, [])
    }


def held(role: str) -> set[str]:
    return {
        f"{app}.{codename}"
        for app, codename in Group.objects.get(name=role).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def assert_groups_as_declared() -> None:
    assert set(Group.objects.values_list("name", flat=True)) == set(Role.ALL)
    for role in Role.ALL:
        assert held(role) == declared(role), role


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_every_group_holds_exactly_its_declared_permissions():
    call_command("flush", interactive=False, verbosity=0)  # as between transactional tests
    assert_groups_as_declared()
    assert "points.change_rule" in held(Role.MANAGER)
    assert "points.change_rule" not in held(Role.SUPERVISOR)


@pytest.mark.django_db(transaction=True)
def test_a_migrate_takes_back_a_stray_permission_and_restores_a_missing_one():
    manager = Group.objects.get(name=Role.MANAGER)
    manager.permissions.add(Permission.objects.get(codename="delete_entry"))
    manager.permissions.remove(Permission.objects.get(codename="view_household"))
    call_command("migrate", verbosity=0)  # nothing to apply: only the post-migrate handlers
    assert_groups_as_declared()
