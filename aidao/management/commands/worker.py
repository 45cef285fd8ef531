"""Run the task queue's worker: exports, the periodic crediting, and whatever tasks the apps
declare (core/queue.py). Start one or more, on one machine or several; stop with SIGTERM or
Ctrl-C (the running jobs finish first).

The worker is procrastinate's, run here inside a loop that outlives the database: when
PostgreSQL goes away (a restart, a failover) procrastinate's worker stops with an error, and
this command starts it again with a fresh pool as soon as the database answers, waiting 1, 2,
4 ... up to 30 s between tries. Django's own connections, used by the tasks, are checked
before each job (CONN_HEALTH_CHECKS) and replaced when dead.

With the embedded PostgreSQL (no DATABASE_URL), the worker is also its watchdog: a thread
starts the server again when its postmaster is gone (aidao.embedded_db).
"""

import asyncio
import contextlib
import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand
from procrastinate.contrib.django import app

from aidao import embedded_db

logger = logging.getLogger("aidao.worker")

RETRY_DELAYS = (1, 2, 4, 8, 15, 30)
# A worker that ran this long before it stopped starts again after the shortest delay.
HEALTHY_RUN = 60


class Command(BaseCommand):
    help = "Run a task-queue worker (and, with the embedded database, its watchdog)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            metavar="NAME",
            help="Take jobs of this queue only (repeat for several); default: every queue.",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=2,
            help="Jobs run at once by this worker, each in a thread of its own (default 2).",
        )
        parser.add_argument(
            "--name", default=None, help="The worker's name in the logs and the jobs' table."
        )

    def handle(self, *args, queues=None, concurrency=2, name=None, **options):
        watchdog_stop = threading.Event()
        if embedded_db.is_embedded():
            threading.Thread(
                target=embedded_db.embedded_server_watch,
                args=(watchdog_stop,),
                name="embedded-postgresql-watchdog",
                daemon=True,
            ).start()
        # A finished job's row goes (a failed one stays, for `manage.py procrastinate` and
        # the back office to show): the periodic crediting alone would add 1,440 a day.
        options = {"queues": queues, "concurrency": concurrency, "name": name}
        options["delete_jobs"] = "successful"
        try:
            asyncio.run(self._serve({k: v for k, v in options.items() if v is not None}))
        finally:
            watchdog_stop.set()

    async def _serve(self, worker_options: dict) -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stopping.set)
        failures = 0
        while not stopping.is_set():
            started = time.monotonic()
            run = asyncio.create_task(self._run_worker(worker_options))
            stop = asyncio.create_task(stopping.wait())
            await asyncio.wait([run, stop], return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if stopping.is_set():
                run.cancel()  # procrastinate's worker then stops gracefully: jobs finish
                await asyncio.gather(run, return_exceptions=True)
                break
            error = run.exception()
            failures = 1 if time.monotonic() - started > HEALTHY_RUN else failures + 1
            delay = RETRY_DELAYS[min(failures, len(RETRY_DELAYS)) - 1]
            logger.warning(
                "The worker stopped (%s); starting it again in %d s.",
                f"{type(error).__name__}: {error}" if error else "a side task failed",
                delay,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=delay)
        self.stdout.write("Worker stopped.")

    async def _run_worker(self, worker_options: dict) -> None:
        """One life of procrastinate's worker, on a pool of its own (the Django app's
        connector defers jobs through Django's connection; a worker needs an async one)."""
        with app.replace_connector(app.connector.get_worker_connector()) as worker_app:
            async with worker_app.open_async():
                await worker_app.run_worker_async(install_signal_handlers=False, **worker_options)
