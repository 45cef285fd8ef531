"""A database deployed from an earlier version migrates to this one (found by a probe that
upgraded databases made at older commits): migrations edited after a database applied them,
and data migrations that must read data as the code reads it now."""

import datetime
import importlib

from django.apps import apps
from django.db import connection
from django.utils import timezone

from core.audit import audit_record
from core.models import AuditEvent
from store.models import Item
from store.services import zones_ensure
from tests.store.conftest import make_item
from villagers.models import Village


def _migration(name: str):
    return importlib.import_module(name).Migration


def _column_default(table: str, column: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_default FROM information_schema.columns"
            " WHERE table_name = %s AND column_name = %s",
            [table, column],
        )
        return cursor.fetchone()[0]


def test_columns_given_a_default_by_an_edited_migration_get_it_on_an_older_database(db):
    """points 0012, store 0012 and villagers 0008 were edited to add a database default after
    databases had applied them: those databases had none, and the demo's COPY failed."""
    for table, column, module in [
        ("points_account", "held", "points.migrations.0019_account_held_db_default"),
        ("store_item", "held", "store.migrations.0018_item_held_db_default"),
        (
            "villagers_household",
            "sms_opt_out",
            "villagers.migrations.0023_household_sms_opt_out_db_default",
        ),
    ]:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT")
            assert _column_default(table, column) is None
            (operation,) = _migration(module).operations
            cursor.execute(operation.sql)
        assert _column_default(table, column) in ("0", "false")


def test_barcodes_are_made_what_a_scan_reads(village_x, manager_x):
    """0017 made full-width digits plain but left a full-width minus and white space: the
    counter's search reads them as ASCII, so no scan found the item."""
    migration = importlib.import_module("store.migrations.0019_barcodes_number_text")
    zones_ensure(village=village_x)
    dashed = make_item(village_x, "grain_oil", "大米", 20, 5, manager_x)
    spaced = make_item(village_x, "grain_oil", "面粉", 25, 5, manager_x)
    clash = make_item(village_x, "grain_oil", "菜籽油", 30, 5, manager_x)
    twin = make_item(village_x, "grain_oil", "食盐", 5, 5, manager_x)
    Item.objects.filter(pk=dashed.pk).update(barcode="692222－1")
    Item.objects.filter(pk=spaced.pk).update(barcode=" 6901 ")
    Item.objects.filter(pk=clash.pk).update(barcode="690＋2")
    Item.objects.filter(pk=twin.pk).update(barcode="690+2")
    migration.barcodes_as_read(apps, None)
    assert Item.objects.get(pk=dashed.pk).barcode == "692222-1"
    assert Item.objects.get(pk=spaced.pk).barcode == "6901"
    assert Item.objects.get(pk=clash.pk).barcode == "690＋2"  # kept: its plain text is taken


def test_a_black_list_naming_households_before_the_upgrade_names_them_from_when_it_began(
    village_x, village_y, county_admin
):
    """0021 added when names were turned on, empty for a village already naming: its board
    named every deduction ever made. The audit log's last change of the setting fills it."""
    migration = importlib.import_module("villagers.migrations.0024_black_list_names_since_filled")
    Village.objects.filter(pk__in=[village_x.pk, village_y.pk]).update(
        black_list_names=True, black_list_names_since=None
    )
    for turned in ([False, True], [True, False], [False, True]):
        audit_record(
            action="village.update",
            actor=county_admin,
            village_id=village_x.pk,
            obj=village_x,
            detail={"changed": {"black_list_names": turned}},
        )
    audit_record(
        action="village.update",
        actor=county_admin,
        village_id=village_x.pk,
        obj=village_x,
        detail={"changed": {"publicity_days": [7, 5]}},
    )
    migration.names_since_filled(apps, None)
    village_x.refresh_from_db()
    village_y.refresh_from_db()
    last_turned_on = (
        AuditEvent.objects.filter(detail__changed__has_key="black_list_names")
        .order_by("-pk")
        .first()
    )
    assert village_x.black_list_names_since == last_turned_on.at
    assert timezone.now() - village_x.black_list_names_since < datetime.timedelta(minutes=1)
    assert village_y.black_list_names_since is None  # no event says when: named as before
