"""The suite's way of emptying the database after a transactional test (tests/tables_empty.py)
leaves it as Django's flush would: no row of any test, the set-up tables as migrate made them."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection

from core.access import Role
from core.models import AuditEvent
from points.models import Entry
from tests.tables_empty import set_up_digest, tables_empty


def rows_left() -> dict[str, int]:
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 (our own tables)
            counts[table] = cursor.fetchone()[0]
    return {table: count for table, count in counts.items() if count}


@pytest.mark.django_db(transaction=True)
def test_every_row_goes_even_from_append_only_tables(card_a, manager_x):
    set_up = set_up_digest(connection)
    kept = {table for table in rows_left() if table in ("auth_group", "auth_permission")}
    assert Entry.objects.exists() and AuditEvent.objects.exists()  # append-only tables

    assert tables_empty(connection, set_up=set_up) == set_up
    assert set(rows_left()) <= {
        "django_content_type",
        "auth_permission",
        "auth_group",
        "auth_group_permissions",
    }
    assert kept == {"auth_group", "auth_permission"}
    assert set_up_digest(connection) == set_up


@pytest.mark.django_db(transaction=True)
def test_set_up_tables_a_test_changed_are_built_again():
    set_up = set_up_digest(connection)
    manager = Group.objects.get(name=Role.MANAGER)
    granted = set(manager.permissions.values_list("codename", flat=True))
    assert granted
    manager.permissions.clear()
    Permission.objects.filter(codename="view_household").delete()

    after = tables_empty(connection, set_up=set_up)

    assert after == set_up_digest(connection) != set_up  # rebuilt, with new ids
    manager = Group.objects.get(name=Role.MANAGER)
    assert set(manager.permissions.values_list("codename", flat=True)) == granted
    assert Permission.objects.filter(codename="view_household").exists()


def test_only_a_test_database_is_ever_emptied(db, monkeypatch):
    """Found by a second read: a run of tests that need no database set none up, and the
    fast emptying was installed on the developer's own database, emptying it after the
    first transactional test of a later run in the same process (and at install)."""
    from django.db import connection

    from tests.conftest import databases_under_test

    assert databases_under_test() == ["default"]
    from tests.conftest import _OWN_DATABASES

    monkeypatch.setitem(connection.settings_dict, "NAME", _OWN_DATABASES["default"])
    assert databases_under_test() == []
