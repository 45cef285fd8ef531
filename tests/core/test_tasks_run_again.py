"""Every task of the queue is safe to run again (core.queue: a killed worker's job is queued
again by core.retry_stalled_jobs, and a sweep may overlap another).

For each task (grep `@task` in the apps' tasks.py): run twice, run again after a run that
stopped part-way (its body rolled back, or cut off after some of its work was committed, as
a killed worker leaves it), and run three times at the same moment (threads, each its own
connection) leave the ledger, the stock, the texts and the exports as one run does.
"""

import datetime
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from procrastinate.contrib.django import app

from core import queue as core_queue
from core.access import Role
from core.models import AuditEvent
from core.queue import enqueue
from core.tasks import retry_stalled_jobs
from notifications import sending
from notifications.models import Notification
from notifications.tasks import sms_send, sms_sweep
from points import activities, publicity, settlement
from points import checks as ledger_checks
from points.activities import activity_checkin, activity_open
from points.models import Account, Activity, Entry, Proposal, Rule, Settlement
from points.services import proposal_approve
from points.settlement import settlement_approve, settlement_draft
from points.tasks import close_activities, credit_due, settle_year
from reports import exports
from reports.models import ExportJob
from reports.tasks import export_build
from store import checks as store_checks
from store import services as store_services
from store.models import Item, Reservation
from store.services import RESERVATION_REMINDER, reservation_create, zones_ensure
from store.tasks import expire_reservations
from tests.conftest import make_staff
from tests.core.test_queue import (
    _in_a_thread_of_its_own,
    _queue_row,
    _taken_by,
    _worker_gone_silent,
)
from tests.notifications.provider import Provider
from tests.points.conftest import make_rule, propose
from tests.points.test_concurrency import run_threads
from tests.points.test_publicity_concurrency import assert_credited_once, due_proposals
from tests.queue_worker import queue_tables_empty
from tests.store.conftest import make_item
from villagers.services import card_recall

Sms = Notification.Sms
NEW_YEAR = datetime.date(timezone.localdate().year + 1, 1, 1)
NOVEMBER = datetime.date(timezone.localdate().year, 11, 20)


class WorkerKilled(BaseException):
    """The worker stops here: nothing after it runs, and no `except Exception` catches it."""


class RolledBack(Exception):
    pass


def _audits(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def _texts(kind: str) -> int:
    return Notification.objects.filter(kind=kind).count()


def _stopping(real: Callable, call: int) -> Callable:
    """`real`, except that its `call`-th call stops the worker instead."""
    calls = itertools.count(1)

    def stopping(*args, **kwargs):
        if next(calls) == call:
            raise WorkerKilled
        return real(*args, **kwargs)

    return stopping


@dataclass
class Case:
    arrange: Callable  # (request) -> world (a dict)
    run: Callable  # (world, attempt): one run of the task; `attempt` > 0 when queued again
    stop: Callable  # (monkeypatch, world): the next run stops part-way, some work committed
    expect: Callable  # (world): the books as one run leaves them
    rolled_back_ok: bool = True  # its body can be rolled back (an SMS sent cannot)
    after_stop: Callable | None = None  # (world): what time does before the next run


# --- points.credit_due ----------------------------------------------------------------------


def _credit_arrange(request):
    fixtures = [request.getfixturevalue(n) for n in ("village_x", "group_x", "manager_x")]
    proposals, expected = due_proposals(
        *fixtures, request.getfixturevalue("supervisor_x"), households=2, each=2
    )
    return {"proposals": proposals, "expected": expected}


def _credit_expect(world):
    assert_credited_once(world["proposals"], world["expected"])
    assert _texts(Notification.Kind.CREDITED) == _audits("proposal.credit") == 4


CREDIT_DUE = Case(
    arrange=_credit_arrange,
    run=lambda world, attempt: credit_due(timestamp=0),
    stop=lambda m, world: m.setattr(
        publicity, "_credit_locked", _stopping(publicity._credit_locked, 2)
    ),
    expect=_credit_expect,
)


# --- points.settle_year ---------------------------------------------------------------------


def _settle_arrange(request):
    """Village X posts its plan (A: 250 points, B: 130, 100 kept); village Y turned the
    settlement off after approving its plan (called off). The task runs on New Year's Day."""
    manager_x, supervisor_x = (request.getfixturevalue(n) for n in ("manager_x", "supervisor_x"))
    card_a, card_b, card_y = (request.getfixturevalue(n) for n in ("card_a", "card_b", "card_y"))
    manager_y = request.getfixturevalue("manager_y")
    supervisor_y = make_staff(Role.SUPERVISOR, village=manager_y.village, username="supervisor_y")
    plans = []
    for manager, supervisor, awards in (
        (manager_x, supervisor_x, {card_a.household: 150, card_b.household: 30}),
        (manager_y, supervisor_y, {card_y.household: 40}),
    ):
        village = manager.village
        village.yearly_settlement, village.settlement_keep, village.publicity_days = True, 100, 0
        village.save()
        for household, points in awards.items():
            (proposal,) = propose(manager, [household], make_rule(village, f"A{points}", points))
            proposal_approve(proposal_ids=[proposal.pk], actor=supervisor)
        plan = settlement_draft(village=village, actor=manager, today=NOVEMBER)
        plans.append(settlement_approve(settlement=plan, actor=supervisor, today=NOVEMBER))
    manager_y.village.yearly_settlement = False
    manager_y.village.save()
    request.getfixturevalue("monkeypatch").setattr(
        "django.utils.timezone.localdate", lambda *args: NEW_YEAR
    )
    return {"posted": plans[0], "called_off": plans[1], "households": (card_a, card_b, card_y)}


def _settle_expect(world):
    posted = Settlement.objects.get(pk=world["posted"].pk)
    called_off = Settlement.objects.get(pk=world["called_off"].pk)
    assert posted.posted_at is not None and called_off.not_posted_at is not None
    assert called_off.posted_at is None
    lapses = Entry.objects.filter(kind=Entry.Kind.LAPSE)
    assert sorted(lapses.values_list("points", flat=True)) == [-150, -30]
    balances = dict(Account.objects.values_list("household_id", "balance"))
    assert [balances[card.household_id] for card in world["households"]] == [100, 100, 140]
    assert _texts(Notification.Kind.POINTS_LAPSED) == 2
    assert _texts(Notification.Kind.SETTLEMENT_OFF) == 1
    assert _audits("settlement.post") == _audits("settlement.close") == 1
    assert ledger_checks.check() == []


SETTLE_YEAR = Case(
    arrange=_settle_arrange,
    run=lambda world, attempt: settle_year(timestamp=0),
    # Village Y's plan called off and committed, village X's never posted.
    stop=lambda m, world: m.setattr(
        settlement,
        "_settlement_post",
        _stopping(settlement._settlement_post, 1),
    ),
    expect=_settle_expect,
)


# --- points.close_activities ----------------------------------------------------------------


def _close_arrange(request):
    manager_x, villager_a = (request.getfixturevalue(n) for n in ("manager_x", "villager_a"))
    activities = []
    # Two rules: a household already proposed for a rule and day is left out of a closing.
    for code, title in (("C01", "村民大会"), ("C02", "义务植树")):
        rule = make_rule(manager_x.village, code, 2, Rule.Category.COLLECTIVE_ACTIVITY)
        activity = activity_open(village=manager_x.village, rule=rule, title=title, actor=manager_x)
        activity_checkin(activity=activity, user=villager_a)
        activities.append(activity)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Activity.objects.filter(pk__in=[a.pk for a in activities]).update(date=yesterday)
    return {"household": villager_a.household}


def _close_expect(world):
    assert set(Activity.objects.values_list("status", flat=True)) == {Activity.Status.CLOSED}
    proposals = Proposal.objects.filter(household=world["household"])
    assert proposals.count() == 2 and proposals.values("batch").distinct().count() == 2
    assert _audits("activity.close") == 2


CLOSE_ACTIVITIES = Case(
    arrange=_close_arrange,
    run=lambda world, attempt: close_activities(timestamp=0),
    stop=lambda m, world: m.setattr(
        activities,
        "activity_close",
        _stopping(activities.activity_close, 2),
    ),
    expect=_close_expect,
)


# --- store.expire_reservations --------------------------------------------------------------


def _expire_arrange(request):
    """A: two reservations past their date and one entering its last day; B: one, its card
    recalled."""
    village_x, manager_x = (request.getfixturevalue(n) for n in ("village_x", "manager_x"))
    villager_a, villager_b = (request.getfixturevalue(n) for n in ("villager_a", "villager_b"))
    zones_ensure(village=village_x)
    rice = make_item(village_x, "daily", "大米", 10, 50, manager_x)

    def reserve(user):
        return reservation_create(household=user.household, lines={rice.pk: 1}, actor=user)

    past = [reserve(villager_a), reserve(villager_a)]
    last_day, stranded = reserve(villager_a), reserve(villager_b)
    now = timezone.now()
    Reservation.objects.filter(pk__in=[r.pk for r in past]).update(
        expires_at=now - datetime.timedelta(minutes=1)
    )
    Reservation.objects.filter(pk=last_day.pk).update(
        expires_at=now + RESERVATION_REMINDER / 2, created_at=now - datetime.timedelta(days=3)
    )
    card_recall(household=villager_b.household, actor=manager_x, reason="搬走了")
    return {"past": past, "last_day": last_day, "stranded": stranded, "rice": rice}


def _expire_expect(world):
    status = dict(Reservation.objects.values_list("pk", "status"))
    assert [status[r.pk] for r in world["past"]] == ["expired", "expired"]
    assert (status[world["last_day"].pk], status[world["stranded"].pk]) == ("open", "cancelled")
    held = dict(Account.objects.values_list("household_id", "held"))
    assert (held[world["last_day"].household_id], held[world["stranded"].household_id]) == (10, 0)
    assert Item.objects.get(pk=world["rice"].pk).held == 1
    assert _texts(Notification.Kind.RESERVATION_CLOSED) == 2
    assert _texts(Notification.Kind.RESERVATION_EXPIRING) == 1
    assert _audits("reservation.expired") == 2 and _audits("reservation.cancelled") == 1
    assert store_checks.check() == [] and ledger_checks.check() == []


EXPIRE_RESERVATIONS = Case(
    arrange=_expire_arrange,
    run=lambda world, attempt: expire_reservations(timestamp=0),
    stop=lambda m, world: m.setattr(
        store_services,
        "_reservation_close",
        _stopping(store_services._reservation_close, 2),
    ),
    expect=_expire_expect,
)


# --- notifications.sms_sweep and sms_send ---------------------------------------------------


def _sms_arrange(request):
    settings = request.getfixturevalue("settings")
    provider = Provider().__enter__()
    request.addfinalizer(lambda: provider.__exit__(None, None, None))
    settings.SMS_BACKEND = "aliyun"
    settings.SMS_ALIYUN = provider.aliyun_settings()
    settings.SMS_QUIET_HOURS = (0, 0)
    card_a, manager_x = (request.getfixturevalue(n) for n in ("card_a", "manager_x"))
    supervisor_x = request.getfixturevalue("supervisor_x")
    rule = make_rule(manager_x.village, "E01", 5)
    for _n in range(3):
        (proposal,) = propose(manager_x, [card_a.household], rule)
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    return {"provider": provider}


def _sms_expect(world):
    rows = list(Notification.objects.values_list("sms_status", "sms_attempts"))
    assert rows == [(Sms.SENT, 1)] * 3
    assert len(world["provider"].accepted) == 3


def _sms_stale(world):
    """The next run comes once a live worker would have finished its batch (sending.STALE)."""
    Notification.objects.filter(sms_status=Sms.SENDING).update(
        sms_tried_at=F("sms_tried_at") - sending.STALE - datetime.timedelta(seconds=1)
    )


def _sms_case(task) -> Case:
    return Case(
        arrange=_sms_arrange,
        run=lambda world, attempt: task() if task is sms_send else task(timestamp=0),
        # The first text sent and recorded; the other two claimed, never begun.
        stop=lambda m, world: m.setattr(
            sending, "_attempt_begin", _stopping(sending._attempt_begin, 2)
        ),
        expect=_sms_expect,
        rolled_back_ok=False,
        after_stop=_sms_stale,
    )


# --- reports.export_build -------------------------------------------------------------------


def _export_arrange(request):
    county_admin = request.getfixturevalue("county_admin")
    export = exports.export_job_start(
        kind="county", user=county_admin, county=county_admin.county, params={"month": "2026-11"}
    )
    builds = []
    real = exports._builder

    def counted(kind):
        build = real(kind)

        def counting(*args):
            builds.append(kind)
            return build(*args)

        return counting

    request.getfixturevalue("monkeypatch").setattr(exports, "_builder", counted)
    request.addfinalizer(queue_tables_empty)
    return {"export": export, "builds": builds}


def _export_run(world, attempt):
    context = SimpleNamespace(job=SimpleNamespace(attempts=attempt))
    export_build(context, job_id=world["export"].pk)


def _export_expect(world):
    export = ExportJob.objects.get(pk=world["export"].pk)
    assert (export.status, export.progress) == ("done", 100) and export.content
    assert len(world["builds"]) == 1


EXPORT_BUILD = Case(
    arrange=_export_arrange,
    run=_export_run,
    # Claimed (running), then stopped before its file was built.
    stop=lambda m, world: m.setattr(exports, "_builder", _stopping(exports._builder, 1)),
    expect=_export_expect,
)


# --- core.retry_stalled_jobs ----------------------------------------------------------------


def _stalled_arrange(request):
    request.getfixturevalue("county_admin")
    with transaction.atomic():
        job_ids = [enqueue(export_build, job_id=n) for n in (1, 2)]
    silent = _worker_gone_silent()
    for job_id in job_ids:
        _taken_by(job_id, silent)
    request.addfinalizer(queue_tables_empty)
    return {"jobs": job_ids}


def _stalled_run(world, attempt):
    # From a thread of its own, as a worker runs it: not from the test's thread, where a
    # browser test before it in the same process leaves Playwright's event loop registered
    # and asgiref then refuses (or hands the sweep's queries to another connection).
    _in_a_thread_of_its_own(retry_stalled_jobs.func, SimpleNamespace(app=app), timestamp=0)


def _stalled_stop(m, world):
    real = core_queue._if_still_stalled
    calls = itertools.count(1)

    async def stopping(*args, **kwargs):
        if next(calls) == 2:
            raise WorkerKilled
        return await real(*args, **kwargs)

    m.setattr(core_queue, "_if_still_stalled", stopping)


def _stalled_expect(world):
    assert [_queue_row(job_id) for job_id in world["jobs"]] == [
        {"status": "todo", "attempts": 1}
    ] * 2


RETRY_STALLED_JOBS = Case(
    arrange=_stalled_arrange,
    run=_stalled_run,
    stop=_stalled_stop,  # the first job queued again, the second not
    expect=_stalled_expect,
    rolled_back_ok=False,  # its run, on a connection of its own, commits as it goes
)


CASES = {
    "points.credit_due": CREDIT_DUE,
    "points.settle_year": SETTLE_YEAR,
    "points.close_activities": CLOSE_ACTIVITIES,
    "store.expire_reservations": EXPIRE_RESERVATIONS,
    "notifications.sms_sweep": _sms_case(sms_sweep),
    "notifications.sms_send": _sms_case(sms_send),
    "reports.export_build": EXPORT_BUILD,
    "core.retry_stalled_jobs": RETRY_STALLED_JOBS,
}
# Run on a connection of their own (_stalled_run): what they read must be committed.
ON_THEIR_OWN_CONNECTION = {"core.retry_stalled_jobs"}
every_task = pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            id=name,
            marks=[pytest.mark.django_db(transaction=True)]
            if name in ON_THEIR_OWN_CONNECTION
            else [],
        )
        for name, case in CASES.items()
    ],
)


def test_every_task_is_here():
    """A task added later is added to CASES (and so proven safe to run again)."""
    assert {name for name in app.tasks if "." in name and "builtin" not in name} == set(CASES)


@every_task
def test_run_twice(case, request):
    world = case.arrange(request)
    case.run(world, 0)
    case.run(world, 1)
    case.expect(world)


@every_task
def test_run_again_after_a_run_that_stopped_part_way(case, request, monkeypatch):
    world = case.arrange(request)
    if case.rolled_back_ok:
        with pytest.raises(RolledBack), transaction.atomic():
            case.run(world, 0)
            raise RolledBack
        world.get("builds", []).clear()  # what the rolled-back run built went with it
    with monkeypatch.context() as patched, pytest.raises(WorkerKilled):
        case.stop(patched, world)
        case.run(world, 0)
    if case.after_stop:
        case.after_stop(world)
    case.run(world, 1)
    case.expect(world)


@every_task
@pytest.mark.django_db(transaction=True)
def test_three_runs_at_the_same_moment(case, request):
    world = case.arrange(request)
    run_threads([lambda attempt=attempt: case.run(world, attempt) for attempt in (0, 1, 0)])
    case.expect(world)


@pytest.mark.django_db(transaction=True)
def test_an_export_run_again_while_its_first_run_still_builds_it_builds_nothing(
    request, monkeypatch
):
    """Found: a worker taken for dead (silent for core.queue.STALLED_AFTER, e.g. while the
    database was away) but still building had its job queued again, and the run again took
    the export over and built the whole county a second time beside it. It now builds
    nothing while the first run builds (its session holds the export's lock)."""
    world = _export_arrange(request)
    building, finish = threading.Event(), threading.Event()
    counted = exports._builder

    def slow(kind):
        build = counted(kind)

        def waiting(*args):
            if not building.is_set():  # the first run's build lasts until told to finish
                building.set()
                assert finish.wait(30)
            return build(*args)

        return waiting

    monkeypatch.setattr(exports, "_builder", slow)

    def first_run():
        try:
            _export_run(world, 0)
        finally:
            connection.close()

    first = threading.Thread(target=first_run)
    first.start()
    assert building.wait(30)
    _export_run(world, 1)  # queued again by core.retry_stalled_jobs
    assert ExportJob.objects.get(pk=world["export"].pk).status == "running"
    finish.set()
    first.join(30)
    _export_expect(world)
