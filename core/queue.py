"""The task queue: background work in PostgreSQL itself, run by `manage.py worker`.

The queue is procrastinate (its Django integration): a job is a row of `procrastinate_jobs`
in the app's own database, so there is no broker to run and nothing to lose between the
database and a broker.

Declaring a task: in the app's `tasks.py` (found by procrastinate at start-up), with `task`
below and a stable `name` (the name is what the job row stores, so moving the function to
another module does not orphan the jobs already queued):

    from core.queue import enqueue, task

    @task(name="reports.export_build", queue="exports")
    def export_build(*, job_id: int) -> None: ...

A periodic task adds `periodic` (a cron line; every worker runs the schedule, the database
lets exactly one of them queue each tick) and takes the tick as `timestamp`.

Enqueueing: `enqueue(export_build, job_id=job.pk)` inside the `transaction.atomic()` block
of the service whose effect the job follows. The job row is written by the same connection
in the same transaction: a rolled-back effect leaves no job, and a committed one always has
its job (no window between a commit and an `on_commit` hook where a crash loses it).
Workers hear of the job when the transaction commits (LISTEN/NOTIFY), or poll within 5 s.

Arguments are JSON (ids and plain values, never model instances): the worker reads the
rows afresh. A task may run more than once (a retry, a worker killed mid-way and the job
started again), so it must be safe to repeat: claim its row first, as exports do.
tests/core/test_tasks_run_again.py runs every task twice, again after a run cut off
part-way, and three at once; a task it does not list fails it.

Running: `manage.py worker` (aidao/management/commands/worker.py) on one machine or several;
each takes jobs with `SELECT ... FOR UPDATE SKIP LOCKED`, so none runs twice at once.
Tests run a real worker process: tests/queue_worker.py.

A worker killed mid-job (SIGKILL, a machine gone) leaves its job "doing" for good: each
worker says it is alive every 10 s, and `stalled_jobs_retry` (the periodic task
core.retry_stalled_jobs) queues again the jobs of a worker silent for STALLED_AFTER.
"""

import datetime
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from procrastinate import exceptions, jobs
from procrastinate.contrib.django import app

logger = logging.getLogger(__name__)

DEFAULT_QUEUE = "default"


def task(*, name: str, queue: str = DEFAULT_QUEUE, retry: int = 0, **options) -> Callable:
    """Declare a task (a plain function taking keyword arguments); see the module's text.

    `retry`: how many times a failed run is tried again (procrastinate's retry strategy; a
    dict or RetryStrategy for back-off). `options` go to procrastinate's `app.task`
    (queueing_lock, lock, priority, pass_context).
    """
    return app.task(name=name, queue=queue, retry=retry, **options)


def periodic(*, cron: str, periodic_id: str = "") -> Callable:
    """Run a task on a schedule (put above `task`). `cron` has five fields, or six with
    seconds last. Each tick is queued once whichever number of workers run."""
    return app.periodic(cron=cron, periodic_id=periodic_id)


class NotInTransaction(RuntimeError):
    """`enqueue` was called outside an atomic block."""


@functools.cache
def cron_longest_gap(cron: str) -> datetime.timedelta:
    """The longest wait between two ticks of `cron` over a week (a cron of every minute: a
    minute; "0 8,20 * * *": twelve hours): how long a periodic task's work may wait for it
    while the worker keeps up."""
    from croniter import croniter

    start = datetime.datetime(2026, 1, 5)  # a Monday: a week of ticks, whatever the day
    ticks = croniter(cron, start)
    previous, longest = start, datetime.timedelta(0)
    for _ in range(CRON_TICKS_READ):
        tick = ticks.get_next(datetime.datetime)
        longest = max(longest, tick - previous)
        previous = tick
        if tick - start > datetime.timedelta(days=7):
            break
    return longest


# Ticks read for cron_longest_gap: a week of a cron every minute is more; by then the gaps
# are known to be short.
CRON_TICKS_READ = 2000


def enqueue(task_function, *, schedule_in: dict | None = None, **kwargs: Any) -> int:
    """Queue one run of `task_function(**kwargs)` in the caller's transaction; its job id.

    Refused outside `transaction.atomic()`: a job belongs to the effect that calls for it,
    and is written (or rolled back) with it. `schedule_in`: not before, e.g. {"days": 3}.
    """
    if not connection.in_atomic_block:
        raise NotInTransaction(
            f"enqueue({task_function.name}) outside transaction.atomic(): "
            "queue the job in the transaction of the effect it follows."
        )
    deferrer = task_function.configure(schedule_in=schedule_in) if schedule_in else task_function
    return deferrer.defer(**kwargs)


# Seconds without a heartbeat after which a worker's running jobs are stalled: procrastinate's
# default, three of its heartbeats (every 10 s), as its workers prune silent ones after.
STALLED_AFTER = 30


# Queue again / end one listed job only if it is still stalled, in one statement: its row
# locked, then still "doing" for a worker silent for `seconds` (or none: pruned). Another
# sweep may have queued it again since the list was read, and a live worker taken it:
# procrastinate's own retry and finish check only "doing", and would queue a second run of
# it beside the live one. The action is procrastinate's own function (events, aborts).
_STILL_STALLED = """
WITH still_stalled AS MATERIALIZED (
    SELECT job.id FROM procrastinate_jobs job
     WHERE job.id = %(job_id)s AND job.status = 'doing'
       AND (job.worker_id IS NULL OR job.worker_id IN (
            SELECT id FROM procrastinate_workers
             WHERE last_heartbeat < now() - make_interval(secs => %(seconds)s)))
       FOR NO KEY UPDATE OF job
)
SELECT {action} AS done FROM still_stalled
"""
_RETRY_IF_STALLED = _STILL_STALLED.format(
    action="procrastinate_retry_job_v2(id, now(), NULL, NULL, NULL)"
)
_END_IF_STALLED = _STILL_STALLED.format(action="procrastinate_finish_job_v1(id, 'aborted', false)")


@dataclass
class StalledRun:
    retried: list[int] = field(default_factory=list)
    # A run of the same sweep waits already (its queueing lock): it does the work; this one
    # ends "aborted" (the queue keeps one waiting run of a sweep).
    ended: list[int] = field(default_factory=list)
    # No longer stalled when its turn came: queued again by another sweep (and perhaps taken
    # by a live worker) since the list was read. Left alone.
    left: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


async def _if_still_stalled(job_manager, statement: str, job_id: int) -> bool:
    rows = await job_manager.connector.execute_query_all_async(
        query=statement, job_id=job_id, seconds=STALLED_AFTER
    )
    return bool(rows)


async def stalled_jobs_retry(job_manager) -> StalledRun:
    """Queue again the jobs left "doing" by a worker no longer heard from (killed mid-job).

    Every task is safe to run again (each claims or locks its rows and re-checks them), so a
    job started once more does its work or finds it done. Two sweeps may overlap (the
    task's own retry, two workers): each job is re-checked as it is queued again, so a job
    a live worker took meanwhile stays its. `job_manager`: the running app's (the worker's
    pool), or the Django app's in a test.
    """
    run = StalledRun()
    for job in await job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER):
        try:
            waiting = job.queueing_lock and await job_manager.list_jobs_async(
                queueing_lock=job.queueing_lock, status=jobs.Status.TODO.value
            )
            if not await _if_still_stalled(
                job_manager, _END_IF_STALLED if waiting else _RETRY_IF_STALLED, job.id
            ):
                run.left.append(job.id)
            elif waiting:
                run.ended.append(job.id)
            else:
                run.retried.append(job.id)
        except exceptions.ConnectorException:
            logger.exception("stalled job %s (%s) not queued again", job.id, job.task_name)
            run.failed.append(job.id)
    return run
