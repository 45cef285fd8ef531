"""Real concurrency: threads, each with its own database connection, on one account."""

import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection

from points import checks, services
from points.activities import activity_checkin, activity_close, activity_open
from points.models import Account, Entry, Proposal, Rule
from points.rounds import CHECK_NAMES, RoundLine, inspection_round_record
from points.services import InsufficientPoints, entry_post, proposal_approve
from tests.points.conftest import make_rule, propose, today


def held_in(monkeypatch, owner, name: str, *, call: int = 1, seconds: float = 0.5):
    """Hold the `call`-th call of `owner.name` for `seconds`, and return the event it sets
    on entering: another thread waits for it, then acts while the first is held (between a
    service's check and its write, say), so a race is run every time, not by luck."""
    entered = threading.Event()
    original = getattr(owner, name)
    calls = []

    def held(*args, **kwargs):
        calls.append(None)
        if len(calls) == call:
            entered.set()
            time.sleep(seconds)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, held)
    return entered


def both_checked(monkeypatch, model):
    """Let two writers both pass `model`'s check (full_clean) before either saves: the
    double click, or two villages at the same moment, every time rather than by luck."""
    barrier = threading.Barrier(2, timeout=10)
    original = model.full_clean
    waited = set()  # the threads held once: each passes its first check, then runs on

    def checked(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()

    monkeypatch.setattr(model, "full_clean", checked)


def run_threads(jobs):
    """Start every job at once (a barrier), each in its own thread and DB connection."""
    barrier = threading.Barrier(len(jobs))
    results = [None] * len(jobs)

    def worker(index, job):
        try:
            barrier.wait()
            results[index] = ("ok", job())
        except (ValidationError, InsufficientPoints) as error:
            results[index] = ("refused", error)
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = ("crashed", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not [r for r in results if r[0] == "crashed"], results
    return results


def test_parallel_approvals_and_deductions_on_one_account(
    transactional_db, card_a, manager_x, supervisor_x, village_x
):
    account = Account.objects.get(household=card_a.household)
    award_rule = make_rule(village_x, "A05", 5)
    fine_rule = make_rule(village_x, "D10", -10)
    awards = [propose(manager_x, [card_a.household], award_rule)[0] for _i in range(8)]
    fines = [propose(manager_x, [card_a.household], fine_rule)[0] for _i in range(14)]

    def approve(proposal):
        return lambda: proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)

    def redeem():
        return entry_post(
            account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-7, actor=manager_x
        )

    jobs = [approve(p) for p in awards + fines] + [redeem for _i in range(6)]
    results = run_threads(jobs)

    approved = Proposal.objects.filter(status=Proposal.Status.APPROVED)
    awards_ok = approved.filter(points=5).count()
    fines_ok = approved.filter(points=-10).count()
    redemptions_ok = sum(1 for r in results[len(awards) + len(fines) :] if r[0] == "ok")
    refused = [r for r in results if r[0] == "refused"]
    assert awards_ok == 8  # awards never fail
    assert fines_ok + redemptions_ok + len(refused) == 20
    assert all("Not enough points" in str(r[1]) for r in refused)

    account.refresh_from_db()
    expected = 100 + 5 * awards_ok - 10 * fines_ok - 7 * redemptions_ok
    assert account.balance == expected >= 0
    # Starting at 100 with +40 possible, at most 140 can be spent: some debits had to be refused.
    assert refused
    entries = list(account.entries.order_by("id"))
    assert sum(e.points for e in entries) == account.balance
    running = 0
    for entry in entries:
        running += entry.points
        assert entry.balance_after == running >= 0
    # The ledger's own invariants: these debits were posted straight to the ledger, with no
    # store behind them (the store's cross-check would rightly name each one).
    assert checks.check() == []


def test_same_proposal_approved_by_many_threads_posts_once(
    transactional_db, card_a, manager_x, supervisor_x, village_x
):
    (proposal,) = propose(manager_x, [card_a.household], make_rule(village_x, "A05", 5))
    results = run_threads(
        [lambda: proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)] * 8
    )
    assert [r[0] for r in results].count("ok") == 1
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == 1
    account = Account.objects.get(household=card_a.household)
    assert account.balance == 105
    call_command("audit_ledger")


@pytest.mark.parametrize("twice", [2])
def test_double_clicked_approval_form_has_one_effect(
    transactional_db, card_a, manager_x, supervisor_x, village_x, twice
):
    """Two identical POSTs of the queue form at once (a double click): one decision."""
    from django.test import Client
    from django.urls import reverse

    proposals = [
        propose(manager_x, [card_a.household], make_rule(village_x, f"A0{i}", 5))[0]
        for i in range(3)
    ]
    data = {
        "action": "approve",
        "proposal": [p.pk for p in proposals],
        "idempotency_key": "double-click-key-0001",
    }

    def post():
        client = Client()
        client.force_login(supervisor_x)
        return client.post(reverse("points:approval_decide"), data).status_code

    results = run_threads([post] * twice)
    assert [r[1] for r in results] == [302] * twice
    assert Proposal.objects.filter(status=Proposal.Status.APPROVED).count() == 3
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == 3
    call_command("audit_ledger")


def test_single_approvals_and_batches_of_the_same_proposals_never_deadlock(
    transactional_db, card_a, card_b, manager_x, supervisor_x, village_x
):
    # A single proposal locks itself and its account in one statement, a batch its
    # proposals and then their accounts: both take proposals first, so they only queue.
    rule = make_rule(village_x, "A05", 5)
    pairs = [
        (
            propose(manager_x, [card_a.household], rule)[0],
            propose(manager_x, [card_b.household], rule)[0],
        )
        for _i in range(6)
    ]

    def approve(*proposals):
        return lambda: proposal_approve(proposal_ids=[p.pk for p in proposals], actor=supervisor_x)

    jobs = []
    for award_a, award_b in pairs:
        jobs += [approve(award_b, award_a), approve(award_a), approve(award_b)]
    results = run_threads(jobs)

    assert not Proposal.objects.filter(status=Proposal.Status.PROPOSED).exists()
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == 12
    refused = [r[1] for r in results if r[0] == "refused"]
    assert all("already decided" in str(error) for error in refused)
    for card in (card_a, card_b):
        assert Account.objects.get(household=card.household).balance == 100 + 6 * 5
    call_command("audit_ledger")


def _capped_writer(kind, manager, village, household, rule):
    """A writer that proposes `rule` for `household`, counting its monthly cap first: a
    proposal, a hygiene round (the rule for a pass) or an activity closing (one check-in)."""
    if kind == "proposal":
        return lambda: propose(manager, [household], rule)
    if kind == "round":
        lines = [RoundLine(household=household, checks=dict.fromkeys(CHECK_NAMES, True))]
        return lambda: inspection_round_record(
            village=village,
            group=household.group,
            date=today(),
            lines=lines,
            pass_rule=rule,
            fail_rule=None,
            actor=manager,
        )
    activity = activity_open(village=village, rule=rule, title="修路", actor=manager)
    activity_checkin(activity=activity, user=household.users.get(is_staff=False))
    return lambda: activity_close(activity=activity, actor=manager)


@pytest.mark.parametrize("writer", ["proposal", "round", "activity"])
def test_a_monthly_cap_is_counted_by_one_writer_at_a_time(
    transactional_db, monkeypatch, writer, card_a, manager_x, village_x
):
    """Found by a probe: two proposals for one household under one rule, at once, both
    passed its monthly cap (20 pending against 10), a batch the supervisor cannot approve
    whole. The accounts are locked before the cap is counted: the later writer counts the
    earlier and refuses (a proposal) or leaves the household out (a round, an activity)."""
    household = card_a.household
    rule = make_rule(village_x, "L01", 10, Rule.Category.VOLUNTARY_LABOUR, cap=10)
    other = _capped_writer(writer, manager_x, village_x, household, rule)
    # The first proposal is held once written, not yet committed; the other writer then
    # counts the cap.
    entered = held_in(monkeypatch, services, "proposals_refer_if_undecidable", seconds=1.0)

    def then_other():
        assert entered.wait(timeout=10)
        return other()

    first, second = run_threads([lambda: propose(manager_x, [household], rule), then_other])
    assert first[0] == "ok"
    assert Proposal.objects.filter(rule=rule, household=household).count() == 1
    if writer == "proposal":
        assert second[0] == "refused"
        assert "allows at most 10 points a month" in str(second[1])
    else:  # a round or an activity is not refused for the cap: it leaves the household out
        assert second[0] == "ok"
        assert "L01 already counted this month" in second[1].not_proposed[0]["why"]
