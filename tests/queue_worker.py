"""Real task-queue workers for tests: `manage.py worker` processes on the test database.

A test that needs its jobs run uses `transaction=True` (a worker is another connection: it
sees only committed rows) and the `queue_workers` fixture of tests/conftest.py:

    @pytest.mark.django_db(transaction=True)
    def test_something(queue_workers):
        queue_workers(2)                 # two worker processes, until the test ends
        ... commit an effect that enqueues a job, then wait_until(...) it is done

The workers tick the periodic tasks every 2 s (CREDIT_DUE_CRON, RESERVATION_EXPIRY_CRON,
STALLED_JOBS_CRON).
Each writes its log to test-artifacts/workers/, shown when a wait runs out. Jobs left in
the queue's tables are removed when the test ends (the flush between transactional tests
leaves them alone).
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "test-artifacts" / "workers"
FAST_CRON = "* * * * * */2"


def test_database_url() -> str:
    """The URL of the database this test runs on (the embedded server's socket folder)."""
    settings = connection.settings_dict
    host = settings["HOST"] or settings["OPTIONS"].get("host", "")
    user, password = quote(settings["USER"] or ""), quote(settings["PASSWORD"] or "")
    return f"postgresql://{user}:{password}@/{settings['NAME']}?host={quote(host)}"


def worker_environment(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "DJANGO_SETTINGS_MODULE": "aidao.test_settings",
        "CREDIT_DUE_CRON": FAST_CRON,
        "RESERVATION_EXPIRY_CRON": FAST_CRON,
        "STALLED_JOBS_CRON": FAST_CRON,
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


class Workers:
    def __init__(self, name: str):
        self.name = name
        self.processes: list[subprocess.Popen] = []
        self.logs: list[Path] = []

    def start(self, count: int = 1, *args: str, env: dict[str, str] | None = None) -> None:
        """`env`: more environment for the workers (e.g. the SMS provider's address)."""
        LOGS.mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            log = LOGS / f"{self.name}-{len(self.processes)}.log"
            self.logs.append(log)
            self.processes.append(
                subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                    [sys.executable, "manage.py", "worker", *args],
                    cwd=ROOT,
                    env=worker_environment(**(env or {})),
                    stdout=log.open("w"),
                    stderr=subprocess.STDOUT,
                )
            )

    def output(self, tail: int | None = None) -> str:
        """The workers' logs, each cut to its last `tail` characters if given."""
        return "\n".join(f"--- {log.name}\n{log.read_text()[-(tail or 0) :]}" for log in self.logs)

    def wait_until(self, condition: Callable[[], object], seconds: float = 90) -> object:
        """Poll `condition` until it is true; fail with the workers' logs when it never is."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if value := condition():
                return value
            dead = [p.args for p in self.processes if p.poll() is not None]
            assert not dead, f"a worker exited early\n{self.output(4000)}"
            time.sleep(0.2)
        raise AssertionError(f"not done after {seconds} s\n{self.output(4000)}")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def queue_tables_empty() -> None:
    """Remove every job and schedule mark the workers left (tests only)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_periodic_defers, procrastinate_workers "
            "CASCADE"
        )
