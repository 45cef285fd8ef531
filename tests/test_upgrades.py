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
from notifications.models import Notification
from points.models import Account, Entry
from points.publicity import (
    objection_raise,
    objection_resolve,
    proposal_cancel,
    proposals_credit_due,
)
from points.services import entry_post, proposal_approve
from store import checks as store_checks
from store.models import Item, StockCorrection
from store.services import (
    CountLine,
    reservation_create,
    stock_count_record,
    stock_write_off_request,
    zones_ensure,
)
from tests.points.conftest import make_rule, propose, today
from tests.store.conftest import make_item
from villagers.models import Village
from wishwall.services import wish_decline, wish_match, wish_moderate, wish_post

ONE_DAY = datetime.timedelta(days=1)


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


def _as_written_before(notification, key: str) -> None:
    """The text as written before it kept what it tells of."""
    params = dict(notification.params)
    del params[key]
    Notification.objects.filter(pk=notification.pk).update(params=params)


def test_texts_not_sent_from_before_they_kept_an_id_are_given_it_when_one_thing_says_them(
    village_x, card_a, card_b, villager_b, manager_x, supervisor_x
):
    """notifications 0018: an announced entry's text written before it kept the proposal's
    id still went after the entry was cancelled (until its objections closed), and so did a
    dismissed objector's "the entry stands" and a declined wish's "matched". Each waiting
    text is given its id when one entry or wish alone says it; two alike are left alone."""
    migration = importlib.import_module("notifications.migrations.0018_texts_not_sent_given_ids")
    Kind, Sms = Notification.Kind, Notification.Sms
    village_x.publicity_days = 3
    village_x.save()
    rule = make_rule(village_x, "E01", 5, description="courtyard kept clean")
    (entry_a,) = propose(manager_x, [card_a.household], rule)
    alike = propose(manager_x, [card_b.household], rule)
    alike += propose(manager_x, [card_b.household], rule, occurred_on=today() - ONE_DAY)
    proposal_approve(proposal_ids=[entry_a.pk, *(p.pk for p in alike)], actor=supervisor_x)
    dismissed = objection_raise(proposal_id=entry_a.pk, actor=villager_b, reason="没看见")
    objection_resolve(objection_id=dismissed.pk, actor=supervisor_x, upheld=False, resolution="")
    wish = wish_match(
        wish=wish_moderate(
            wish=wish_post(
                household=card_a.household, actor=manager_x, title="轮椅", kind="health", story="腿"
            ),
            actor=supervisor_x,
            hide_household=False,
        ),
        actor=supervisor_x,
        new_donor_name="顺达农资",
        new_donor_kind="company",
    )
    old = list(Notification.objects.filter(kind=Kind.PUBLICITY).order_by("pk"))
    old += Notification.objects.filter(kind=Kind.OBJECTION_ANSWERED)
    for notification in old:
        _as_written_before(notification, "proposal")
    (matched,) = Notification.objects.filter(kind=Kind.WISH_MATCHED)
    _as_written_before(matched, "wish")

    migration.ids_given(apps, None)

    given = {
        n.pk: n.params.get("proposal")
        for n in Notification.objects.filter(pk__in=[n.pk for n in old])
    }
    announced_a, *announced_alike, answer = old
    assert given[announced_a.pk] == entry_a.pk and given[answer.pk] == entry_a.pk
    assert [given[n.pk] for n in announced_alike] == [None, None]  # alike: whose is whose?
    matched.refresh_from_db()
    assert matched.params == {"wish": wish.pk}
    # And the services now find them.
    upheld = objection_raise(proposal_id=entry_a.pk, actor=villager_b, reason="问过邻居")
    objection_resolve(objection_id=upheld.pk, actor=supervisor_x, upheld=True, resolution="x")
    wish_decline(wish=wish, actor=supervisor_x, reason="捐赠人撤回了")
    statuses = dict(Notification.objects.values_list("pk", "sms_status"))
    assert [statuses[n.pk] for n in (announced_a, answer, matched)] == [Sms.OUTDATED] * 3
    assert [statuses[n.pk] for n in announced_alike] == [Sms.PENDING] * 2


def test_a_held_text_not_sent_from_before_it_kept_an_id_is_given_it(
    village_x, card_a, manager_x, supervisor_x
):
    """notifications 0018, an entry's "is held": found by its household, points, rule and day."""
    migration = importlib.import_module("notifications.migrations.0018_texts_not_sent_given_ids")
    village_x.publicity_days = 3
    village_x.save()
    (fine,) = propose(manager_x, [card_a.household], make_rule(village_x, "D01", -20))
    proposal_approve(proposal_ids=[fine.pk], actor=supervisor_x)
    fine.refresh_from_db()
    account = Account.objects.get(household=card_a.household)
    entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-90, actor=manager_x)
    assert proposals_credit_due(now=fine.credit_due_at).held == [fine.pk]
    (held,) = Notification.objects.filter(kind=Notification.Kind.HELD)
    _as_written_before(held, "proposal")
    migration.ids_given(apps, None)
    held.refresh_from_db()
    assert held.params["proposal"] == fine.pk
    proposal_cancel(proposal_id=fine.pk, actor=supervisor_x, reason="改为批评教育")
    held.refresh_from_db()
    assert held.sms_status == Notification.Sms.OUTDATED


def test_corrections_waiting_at_the_upgrade_set_their_goods_aside(
    village_x, card_a, manager_x, villager_a
):
    """store 0022: the write-offs and shortfalls already waiting take their goods off offer,
    the oldest first, as far as the shelf still has them (the stock less what reservations
    hold): one asked before a sale that took its goods sets aside only what is left."""
    migration = importlib.import_module("store.migrations.0022_item_writing_off")
    zones_ensure(village=village_x)
    rice = make_item(village_x, "grain_oil", "大米", 20, 10, manager_x)
    oil = make_item(village_x, "grain_oil", "菜籽油", 30, 6, manager_x)
    soap = make_item(village_x, "daily", "香皂", 2, 5, manager_x)
    first = stock_write_off_request(
        item=rice, quantity=3, cause="spoiled", reason="发霉", actor=manager_x
    )
    second = stock_write_off_request(
        item=rice, quantity=4, cause="damaged", reason="破袋", actor=manager_x
    )
    (shortfall,) = stock_count_record(
        village=village_x,
        lines=[CountLine(item_id=oil.pk, counted=4, expected=6, reason="少了")],
        actor=manager_x,
    ).corrections
    surplus_line = CountLine(item_id=soap.pk, counted=6, expected=5, reason="多了")
    (surplus,) = stock_count_record(
        village=village_x, lines=[surplus_line], actor=manager_x
    ).corrections
    reservation_create(household=card_a.household, lines={rice.pk: 1}, actor=villager_a)
    # As before the upgrade: nothing set aside, and the counter sold 4 of the rice since.
    StockCorrection.objects.update(set_aside=0)
    Item.objects.update(writing_off=0)
    Item.objects.filter(pk=rice.pk).update(stock=6)

    migration.set_aside_filled(apps, None)

    aside = dict(StockCorrection.objects.values_list("pk", "set_aside"))
    assert aside == {first.pk: 3, second.pk: 2, shortfall.pk: 2, surplus.pk: 0}
    writing_off = dict(Item.objects.values_list("name", "writing_off"))
    assert writing_off == {"大米": 5, "菜籽油": 2, "香皂": 0}
    assert [p for p in store_checks.check() if "waiting to be written off" in p] == []
