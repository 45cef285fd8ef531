"""The task queue (core/queue.py): a job is written in the transaction of its effect, and one
a killed worker left "doing" is run again."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync
from django.db import connection, transaction
from procrastinate.contrib.django import app
from procrastinate.contrib.django.models import ProcrastinateJob
from procrastinate.manager import JobManager

from core.queue import NotInTransaction, enqueue, stalled_jobs_retry
from notifications.tasks import sms_sweep
from reports import exports
from reports.models import ExportJob
from reports.tasks import export_build


class RolledBack(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(queue_workers, county_admin):
    month = {"month": "2026-11"}
    waiting = ExportJob.objects.create(
        kind="county", requested_by=county_admin, county=county_admin.county, params=month
    )
    with pytest.raises(RolledBack), transaction.atomic():
        enqueue(export_build, job_id=waiting.pk)
        raise RolledBack
    # A committed export after it, which a worker does build: the worker was there.
    later = exports.export_job_start(
        kind="county", user=county_admin, county=county_admin.county, params=month
    )
    workers = queue_workers(1)
    workers.wait_until(lambda: ExportJob.objects.get(pk=later.pk).status == "done")
    workers.stop()
    waiting.refresh_from_db()
    assert waiting.status == "pending" and waiting.progress == 0
    assert f"job_id={waiting.pk})" not in workers.output()


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused(queue_workers, county_admin):
    """(`queue_workers` only empties the queue afterwards: no worker runs here.)"""
    job = ExportJob.objects.create(kind="county", requested_by=county_admin)
    with pytest.raises(NotInTransaction, match="reports.export_build"):
        enqueue(export_build, job_id=job.pk)
    with transaction.atomic():
        assert enqueue(export_build, job_id=job.pk) > 0


def _worker_gone_silent(seconds: int = 3600) -> int:
    """A worker as procrastinate registers one, last heard from `seconds` ago (killed)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT worker_id FROM procrastinate_register_worker_v1()")
        worker_id = cursor.fetchone()[0]
        cursor.execute(
            "UPDATE procrastinate_workers SET last_heartbeat = now() - %s * interval '1 second' "
            "WHERE id = %s",
            [seconds, worker_id],
        )
    return worker_id


def _taken_by(job_id: int, worker_id: int) -> None:
    """The job as a worker leaves it while running it ("doing", its worker's id)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
            [worker_id, job_id],
        )


def _queue_row(job_id: int):
    return ProcrastinateJob.objects.filter(pk=job_id).values("status", "attempts").first()


@pytest.mark.django_db(transaction=True)
def test_a_job_a_killed_worker_left_doing_is_run_again(queue_workers, county_admin):
    """Found: a worker killed mid-export left its job "doing" for good, and the export
    "running" until the page called it interrupted. Now the next worker runs it again, and
    the export is built."""
    export = exports.export_job_start(
        kind="county", user=county_admin, county=county_admin.county, params={"month": "2026-11"}
    )
    job_id = ProcrastinateJob.objects.get(task_name="reports.export_build").pk
    _taken_by(job_id, _worker_gone_silent())
    ExportJob.objects.filter(pk=export.pk).update(status="running", progress=40)  # its claim
    workers = queue_workers(1)
    workers.wait_until(lambda: ExportJob.objects.get(pk=export.pk).status == "done", seconds=60)
    workers.wait_until(lambda: _queue_row(job_id) is None, seconds=30)  # ended well: deleted


@pytest.mark.django_db(transaction=True)  # the sweep runs on a connection of its own
def test_stalled_jobs_retry_leaves_a_live_workers_jobs_alone(queue_workers, county_admin):
    """Only the silent worker's job goes back to the queue; a sweep whose next run already
    waits ends instead (its queueing lock allows one waiting run). (`queue_workers` only
    empties the queue afterwards: no worker runs here.)"""
    with transaction.atomic():
        silent_export = enqueue(export_build, job_id=1)
        live_export = enqueue(export_build, job_id=2)
        stalled_sweep = enqueue(sms_sweep, timestamp=0)
    _taken_by(silent_export, _worker_gone_silent())
    _taken_by(live_export, _worker_gone_silent(seconds=0))
    _taken_by(stalled_sweep, _worker_gone_silent())
    with transaction.atomic():
        waiting_sweep = enqueue(sms_sweep, timestamp=60)

    run = _in_a_thread_of_its_own(stalled_jobs_retry, app.job_manager)

    assert silent_export in run.retried and stalled_sweep in run.ended
    assert live_export not in run.retried + run.ended
    assert _queue_row(silent_export) == {"status": "todo", "attempts": 1}
    assert _queue_row(live_export)["status"] == "doing"
    assert _queue_row(stalled_sweep)["status"] == "aborted"
    assert _queue_row(waiting_sweep)["status"] == "todo"


class _PausedAfterItsList(JobManager):
    """The Django app's queue, for a sweep that waits, once it has read its list of stalled
    jobs, until told to go on (the sweep overlapping another: a slow database, a retry)."""

    def __init__(self):
        super().__init__(app.connector)
        self.listed, self.go_on = threading.Event(), threading.Event()

    async def get_stalled_jobs(self, **kwargs):
        stalled = await super().get_stalled_jobs(**kwargs)
        self.listed.set()
        assert await asyncio.to_thread(self.go_on.wait, 30)
        return stalled


def _in_a_thread_of_its_own(function, *args, **kwargs):
    """Run a coroutine function to its end from a thread of its own, on its own connection.
    Not from the test's thread while another runs one: after a browser test in the same
    process (Playwright's sync API), asgiref then finds an event loop running there."""

    def run():
        try:
            return async_to_sync(function)(*args, **kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_a_sweep_overlapping_another_leaves_the_job_a_live_worker_took_meanwhile(queue_workers):
    """Found: two runs of the sweep at once (its own retry, or two workers): the first
    queued a killed worker's job again and a live worker took it, then the second, from the
    list it had read before, queued it once more (procrastinate's retry checks only that it
    is "doing"), for a second run beside the live one. Now the second finds it no longer
    stalled and leaves it to its worker."""
    with transaction.atomic():
        job_id = enqueue(export_build, job_id=1)
    _taken_by(job_id, _worker_gone_silent())
    paused, second = _PausedAfterItsList(), {}

    def second_sweep():
        try:
            second["run"] = async_to_sync(stalled_jobs_retry)(paused)
        finally:
            connection.close()

    thread = threading.Thread(target=second_sweep)
    thread.start()
    assert paused.listed.wait(30)
    first = _in_a_thread_of_its_own(stalled_jobs_retry, app.job_manager)
    live = _worker_gone_silent(seconds=0)
    taken = _in_a_thread_of_its_own(app.job_manager.fetch_job, queues=None, worker_id=live)
    paused.go_on.set()
    thread.join(30)

    assert first.retried == [job_id] and taken.id == job_id
    assert (second["run"].retried, second["run"].left) == ([], [job_id])
    row = ProcrastinateJob.objects.values("status", "attempts", "worker_id").get(pk=job_id)
    assert row == {"status": "doing", "attempts": 1, "worker_id": live}


def test_an_export_run_again_takes_over_the_job_its_killed_run_claimed(county_admin):
    export = ExportJob.objects.create(
        kind="county",
        requested_by=county_admin,
        county=county_admin.county,
        params={"month": "2026-11"},
        status="running",
    )
    exports.export_job_run(export.pk)  # a second run beside a live first one: nothing
    assert ExportJob.objects.get(pk=export.pk).status == "running"
    exports.export_job_run(export.pk, resumed=True)
    assert ExportJob.objects.get(pk=export.pk).status == "done"
