"""Many tellers at once, each thread on its own database connection, with real commits."""

import threading
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from core.access import Role
from points.models import Account, Entry
from store import checks
from store.models import Item, Redemption, StockMovement, Zone
from store.services import redemption_create
from tests.conftest import issue_card, make_staff
from tests.factories import HouseholdFactory


def run_at_once(jobs):
    """Start every job on its own thread at the same moment; return results or exceptions."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as error:  # noqa: BLE001 - the test inspects what each got
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=pair) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def tellers(village, count):
    return [make_staff(Role.MANAGER, village=village, username=f"teller{n}") for n in range(count)]


def ledger_agrees():
    for account in Account.objects.all():
        total = account.entries.aggregate(total=Sum("points"))["total"] or 0
        assert account.balance == total >= 0


def redeem_job(household, item, quantity, actor, key=None):
    key = key or uuid.uuid4()
    return lambda: redemption_create(
        village=household.village,
        household=household,
        lines={item.pk: quantity},
        idempotency_key=key,
        actor=actor,
    )


def test_many_tellers_one_household(transactional_db, card_a, rice, village_x):
    """100 points, rice at 20: of ten simultaneous redemptions exactly five succeed."""
    household = card_a.household
    jobs = [redeem_job(household, rice, 1, teller) for teller in tellers(village_x, 10)]
    results = run_at_once(jobs)
    succeeded = [r for r in results if isinstance(r, Redemption)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(succeeded) == 5, results
    assert len(refused) == 5
    household.account.refresh_from_db()
    assert household.account.balance == 0
    assert Item.objects.get(pk=rice.pk).stock == 45
    assert Entry.objects.filter(kind=Entry.Kind.REDEMPTION).count() == 5
    ledger_agrees()
    assert checks.check() == []


def test_many_tellers_one_scarce_item(transactional_db, kettle, manager_x, group_x, village_x):
    """Two kettles, eight households wanting one each at the same moment: two get one."""
    households = []
    for _n in range(8):
        household = HouseholdFactory(group=group_x)
        issue_card(household, manager_x)
        households.append(household)
    jobs = [
        redeem_job(household, kettle, 1, teller)
        for household, teller in zip(households, tellers(village_x, 8), strict=True)
    ]
    results = run_at_once(jobs)
    succeeded = [r for r in results if isinstance(r, Redemption)]
    assert len(succeeded) == 2, results
    assert all(isinstance(r, ValidationError) for r in results if r not in succeeded)
    assert Item.objects.get(pk=kettle.pk).stock == 0
    balances = sorted(
        Account.objects.filter(household__in=households).values_list("balance", flat=True)
    )
    assert balances == [60, 60] + [100] * 6
    ledger_agrees()
    assert checks.check() == []


def test_double_click_from_many_threads_charges_once(transactional_db, card_a, rice, manager_x):
    key = uuid.uuid4()
    jobs = [redeem_job(card_a.household, rice, 2, manager_x, key=key) for _n in range(6)]
    results = run_at_once(jobs)
    assert all(isinstance(r, Redemption) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert sum(not r.was_replay for r in results) == 1
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 60
    assert Item.objects.get(pk=rice.pk).stock == 48
    assert checks.check() == []


def test_failure_in_a_later_line_leaves_points_and_stock_untouched(
    transactional_db, card_a, rice, oil, manager_x
):
    """PostgreSQL refuses the oil line after the points and the rice were debited: all undone."""
    household = card_a.household
    assert rice.pk < oil.pk  # lines are written in item id order, so rice goes first
    movements_before = StockMovement.objects.count()
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE store_stockmovement ADD CONSTRAINT test_refuse_oil "
            f"CHECK (kind <> 'redemption' OR item_id <> {int(oil.pk)}) NOT VALID"
        )
    try:
        with pytest.raises(IntegrityError, match="test_refuse_oil"):
            redemption_create(
                village=household.village,
                household=household,
                lines={rice.pk: 1, oil.pk: 1},
                idempotency_key=uuid.uuid4(),
                actor=manager_x,
            )
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE store_stockmovement DROP CONSTRAINT test_refuse_oil")
    household.account.refresh_from_db()
    assert household.account.balance == 100
    assert Entry.objects.filter(account=household.account).count() == 1
    assert (Item.objects.get(pk=rice.pk).stock, Item.objects.get(pk=oil.pk).stock) == (50, 20)
    assert StockMovement.objects.count() == movements_before
    assert not Redemption.objects.exists()
    assert checks.check() == []


def test_one_new_item_saved_twice_at_once_is_refused_on_the_form(
    transactional_db, zones_x, village_x, manager_x, monkeypatch
):
    """Found by a probe: two "new item" posts (a double click) both passed the name check
    and the second was a 500 on the unique name. Both pass it here at the same moment (a
    barrier after the check): one item is made, the other page shows the check's refusal."""
    checked = threading.Barrier(2, timeout=10)
    full_clean = Item.full_clean

    def full_clean_then_wait(self, *args, **kwargs):
        full_clean(self, *args, **kwargs)
        checked.wait()

    monkeypatch.setattr(Item, "full_clean", full_clean_then_wait)
    zone = Zone.objects.get(village=village_x, code="daily")
    data = {
        "zone": zone.pk,
        "name": "毛巾",
        "unit": "条",
        "points_price": "5",
        "is_active": "on",
        "low_stock_threshold": "3",
    }

    def post():
        client = Client(raise_request_exception=False)
        client.force_login(manager_x)
        return client.post(reverse("store:item_create"), data)

    responses = run_at_once([post, post])
    assert sorted(response.status_code for response in responses) == [200, 302]
    (refused,) = [response for response in responses if response.status_code == 200]
    assert "The village already has an item with this name." in refused.content.decode()
    assert Item.objects.filter(village=village_x, name="毛巾").count() == 1
