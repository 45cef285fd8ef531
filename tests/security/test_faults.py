"""Faults: the database connection dies in the middle of a redemption or an approval batch,
or the transaction fails after its first writes. Nothing is half-written and a retry works.
Deadlocks cannot arise from the fixed lock order; the bounded retry is proven on real ones.

The pause inside the service is a PostgreSQL trigger that waits for an advisory lock held by
the test's controlling connection: the service has written its first rows and holds its
row locks when the controller terminates its backend (pg_terminate_backend).
"""

import threading
import time
import uuid

import psycopg
import pytest
from django.db import DatabaseError, OperationalError, connection, transaction

from core.db import is_transient, retry_transient
from points import checks as points_checks
from points.models import Account, Entry, Proposal
from points.services import proposal_approve, proposal_create
from store import checks as store_checks
from store.models import Item, Redemption, StockMovement
from store.services import redemption_create, stock_write_off_request

pytestmark = pytest.mark.django_db(transaction=True)
LOCK = 424242


def _controller():
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    conn = psycopg.connect(**params)
    conn.autocommit = True
    return conn


def _trigger(table: str, body: str, when: str = "TRUE"):
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            CREATE OR REPLACE FUNCTION security_test_fault() RETURNS trigger AS $$
            BEGIN {body} RETURN NEW; END; $$ LANGUAGE plpgsql;
            CREATE TRIGGER security_test_fault BEFORE INSERT ON {table}
                FOR EACH ROW WHEN ({when}) EXECUTE FUNCTION security_test_fault();
            """
        )


def _drop_trigger(table: str):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TRIGGER IF EXISTS security_test_fault ON {table}")
        cursor.execute("DROP FUNCTION IF EXISTS security_test_fault()")


PAUSE = f"PERFORM pg_advisory_xact_lock_shared({LOCK});"
FAIL = "RAISE EXCEPTION 'injected fault after the first writes';"


def _kill_when_paused(job, table: str, when: str = "TRUE"):
    """Run `job` on a thread; once it waits in the trigger, terminate its backend."""
    controller = _controller()
    outcome = {}
    with controller.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK])
    _trigger(table, PAUSE, when)

    def run():
        try:
            outcome["result"] = job()
        except Exception as error:  # noqa: BLE001 - the test inspects it
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        with controller.cursor() as cursor:
            for _ in range(200):
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' "
                    "AND datname = current_database()"
                )
                waiting = cursor.fetchall()
                if waiting:
                    break
                time.sleep(0.05)
            assert len(waiting) == 1, "the service never reached the trigger"
            cursor.execute("SELECT pg_terminate_backend(%s)", [waiting[0][0]])
        thread.join(timeout=30)
    finally:
        with controller.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock_all()")
        controller.close()
        _drop_trigger(table)
    assert "error" in outcome, outcome
    assert isinstance(outcome["error"], DatabaseError), outcome["error"]
    return outcome["error"]


def _ledger_and_store_sound():
    assert points_checks.check() == []
    assert store_checks.check() == []


def _balances():
    return dict(Account.objects.values_list("household_id", "balance"))


def _stock():
    return dict(Item.objects.values_list("pk", "stock"))


def _redeem(cast, key):
    return lambda: redemption_create(
        village=cast.village_x,
        household=cast.household_a,
        lines={cast.item.pk: 2},
        idempotency_key=key,
        actor=cast.users["manager_x"],
    )


def test_connection_killed_mid_redemption_leaves_nothing_and_a_retry_works(cast):
    balances, stock, entries = _balances(), _stock(), Entry.objects.count()
    key = uuid.uuid4()
    # The debit entry and the redemption row are written; the stock movement waits.
    _kill_when_paused(_redeem(cast, key), StockMovement._meta.db_table)
    assert not Redemption.objects.filter(idempotency_key=key).exists()
    assert (_balances(), _stock(), Entry.objects.count()) == (balances, stock, entries)
    _ledger_and_store_sound()

    redemption = _redeem(cast, key)()  # the teller presses confirm again
    assert not redemption.was_replay
    assert _balances()[cast.household_a.pk] == balances[cast.household_a.pk] - 40
    assert _stock()[cast.item.pk] == stock[cast.item.pk] - 2
    _ledger_and_store_sound()


def _batch(cast):
    return proposal_create(
        village=cast.village_x,
        households=[cast.household_a, cast.household_b],
        rule=cast.rule,
        reason="cleaned the square",
        occurred_on=cast.proposal.occurred_on,
        actor=cast.users["manager_x"],
    )


def _approve(cast, proposals):
    return lambda: proposal_approve(
        proposal_ids=[p.pk for p in proposals], actor=cast.users["supervisor_x"]
    )


def _batch_untouched(proposals, balances, entries):
    statuses = set(
        Proposal.objects.filter(pk__in=[p.pk for p in proposals]).values_list("status", flat=True)
    )
    assert statuses == {Proposal.Status.PROPOSED}
    assert _balances() == balances
    assert Entry.objects.count() == entries
    _ledger_and_store_sound()


def test_connection_killed_mid_approval_batch_leaves_nothing_and_a_retry_works(cast):
    proposals = _batch(cast)
    balances, entries = _balances(), Entry.objects.count()
    second = Account.objects.get(household=cast.household_b).pk
    # Household A's entry and approval are written; household B's entry waits.
    _kill_when_paused(_approve(cast, proposals), Entry._meta.db_table, f"NEW.account_id = {second}")
    _batch_untouched(proposals, balances, entries)

    approved = _approve(cast, proposals)()
    assert {p.status for p in approved} == {Proposal.Status.APPROVED}
    assert Entry.objects.count() == entries + 2
    _ledger_and_store_sound()


@pytest.mark.parametrize("where", ["redemption", "approval"])
def test_failure_after_the_first_writes_rolls_back_whole(where, cast):
    proposals = _batch(cast)
    balances, stock, entries = _balances(), _stock(), Entry.objects.count()
    if where == "redemption":
        table, when, job = StockMovement._meta.db_table, "TRUE", _redeem(cast, uuid.uuid4())
    else:
        second = Account.objects.get(household=cast.household_b).pk
        table, when = Entry._meta.db_table, f"NEW.account_id = {second}"
        job = _approve(cast, proposals)
    _trigger(table, FAIL, when)
    try:
        with pytest.raises(DatabaseError, match="injected fault"):
            job()
    finally:
        _drop_trigger(table)
    _batch_untouched(proposals, balances, entries)
    assert _stock() == stock
    job()  # the retry goes through
    _ledger_and_store_sound()


# --- lock order and the bounded retry ---------------------------------------------------------


def _at_once(jobs):
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait(timeout=10)
            results[index] = job()
        except Exception as error:  # noqa: BLE001
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=pair) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_mixed_money_traffic_never_deadlocks(cast):
    """Redemptions (items in either order), a batch approval and write-offs at once, three
    rounds: every lock is taken in the one order, so nothing fails with 40P01/40001."""
    manager, supervisor = cast.users["manager_x"], cast.users["supervisor_x"]
    zone = cast.item.zone
    oil = Item.objects.create(
        village=cast.village_x, zone=zone, name="油", unit="桶", points_price=1, stock=0
    )
    from store.services import stock_purchase

    stock_purchase(
        item=oil, quantity=100, fund_source="collective", cost_yuan="1.00", actor=manager
    )
    rice = cast.item
    for _round in range(3):
        proposals = _batch(cast)

        def redeem(household, lines):
            return lambda: redemption_create(
                village=cast.village_x,
                household=household,
                lines=lines,
                idempotency_key=uuid.uuid4(),
                actor=manager,
            )

        results = _at_once(
            [
                redeem(cast.household_a, {rice.pk: 1, oil.pk: 1}),
                redeem(cast.household_b, {oil.pk: 1, rice.pk: 1}),
                _approve(cast, proposals),
                lambda: stock_write_off_request(
                    item=oil, quantity=1, cause="damaged", reason="dropped", actor=manager
                ),
                lambda: stock_write_off_request(
                    item=rice, quantity=1, cause="damaged", reason="torn", actor=manager
                ),
            ]
        )
        transient = [r for r in results if isinstance(r, OperationalError)]
        assert transient == [], transient
        assert not any(isinstance(r, Exception) for r in results), results
    assert supervisor  # the approvals above were the supervisor's
    _ledger_and_store_sound()


def _deadlocking_pair(first_id, second_id, attempts, retry):
    """Lock two items in opposite orders; the first attempt of each meets the other."""
    barrier = threading.Barrier(2)

    def transfer(a, b, name):
        def attempt():
            attempts[name] += 1
            with transaction.atomic():
                Item.objects.select_for_update().get(pk=a)
                if attempts[name] == 1:
                    barrier.wait(timeout=10)
                Item.objects.select_for_update().get(pk=b)
            return name

        return (lambda: retry_transient(attempt)) if retry else attempt

    return [transfer(first_id, second_id, "up"), transfer(second_id, first_id, "down")]


def test_a_real_deadlock_is_detected_and_retried(cast):
    other = Item.objects.create(
        village=cast.village_x, zone=cast.item.zone, name="盐", unit="袋", points_price=1
    )
    # Without the helper PostgreSQL picks a victim: proof that the pair really deadlocks.
    attempts = {"up": 0, "down": 0}
    results = _at_once(_deadlocking_pair(cast.item.pk, other.pk, attempts, retry=False))
    victims = [r for r in results if isinstance(r, OperationalError)]
    assert len(victims) == 1 and is_transient(victims[0])
    # With it, the victim's transaction runs again and both finish.
    attempts = {"up": 0, "down": 0}
    results = _at_once(_deadlocking_pair(cast.item.pk, other.pk, attempts, retry=True))
    assert sorted(results) == ["down", "up"]
    assert sorted(attempts.values()) == [1, 2]


def _raise_in_database(code: str):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DO $$ BEGIN RAISE EXCEPTION 'simulated' USING ERRCODE = '{code}'; END $$")


@pytest.mark.parametrize("code", ["40001", "40P01"])
def test_retry_is_bounded(code, cast):
    calls = []

    def always_fails():
        calls.append(1)
        _raise_in_database(code)

    with pytest.raises(OperationalError):
        retry_transient(always_fails, attempts=3)
    assert len(calls) == 3

    calls.clear()

    def fails_once():
        calls.append(1)
        if len(calls) == 1:
            _raise_in_database(code)
        return "done"

    assert retry_transient(fails_once) == "done" and len(calls) == 2


def test_other_errors_and_nested_transactions_are_not_retried(cast):
    calls = []

    def unique_violation():
        calls.append(1)
        _raise_in_database("23505")

    with pytest.raises(DatabaseError):
        retry_transient(unique_violation)
    assert len(calls) == 1

    calls.clear()

    def deadlock():
        calls.append(1)
        _raise_in_database("40P01")

    with pytest.raises(OperationalError), transaction.atomic():
        retry_transient(deadlock)  # the outer transaction is lost too: do not retry
    assert len(calls) == 1
