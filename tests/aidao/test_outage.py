"""The embedded PostgreSQL killed under load: the watchdog starts it again, the app serves
again without being restarted, and in between every page is the 503 "restarting" page.

Its own server (a data folder of its own, as tests/aidao/test_embedded_db.py does): killing
the suite's server would fail every other test running at the time.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.client import HTTPConnection
from pathlib import Path

import psutil
import pytest

from aidao.embedded_db import is_embedded
from aidao.pgtools import pg_binary
from tests.template_db import database_url, migrated_template

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 4

SESSION = """
from django.test import Client
from villagers.models import User
user = User.objects.create_superuser("outage", password="Correct-Horse-42")
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
"""


@pytest.fixture
def pgdata():
    folder = ROOT / ".pgdata-tests" / uuid.uuid4().hex[:8]
    yield folder
    for process in psutil.process_iter(["cmdline"]):  # whatever is left of its servers
        if str(folder) in " ".join(process.info["cmdline"] or []):
            process.kill()
    shutil.rmtree(folder, ignore_errors=True)


def _environment(pgdata: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(
        AIDAO_PGDATA=str(pgdata),
        DJANGO_SETTINGS_MODULE="aidao.settings",
        AIDAO_TESTING="1",  # static files from the source folders, no HTTPS redirect
        CONN_MAX_AGE="60",  # as in production: connections outlive the server they were to
        DEBUG="false",
        PYTHONUNBUFFERED="1",
        CREDIT_DUE_CRON="* * * * * */2",
    )
    return env


def _manage(env, *args, timeout=600) -> str:
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, session: str) -> tuple[int, str, str]:
    connection = HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("GET", "/admin/", headers={"Cookie": f"sessionid={session}"})
        response = connection.getresponse()
        return response.status, response.getheader("Retry-After", ""), response.read().decode()
    finally:
        connection.close()


def _postmaster_pid(pgdata: Path) -> int:
    return int((pgdata / "postmaster.pid").read_text().split()[0])


class Load:
    """CLIENTS threads asking for a page that reads the database, recording each answer."""

    def __init__(self, port: int, session: str):
        self.port, self.session = port, session
        self.answers: list[tuple[float, int, str, str]] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run) for _ in range(CLIENTS)]

    def _run(self):
        deadline = time.monotonic() + 300  # bounded whatever happens
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                status, retry_after, body = _get(self.port, self.session)
            except OSError as error:
                status, retry_after, body = 0, "", repr(error)
            self.answers.append((time.monotonic(), status, retry_after, body))
            time.sleep(0.05)

    def since(self, moment: float) -> list[int]:
        return [status for at, status, _r, _b in self.answers if at > moment]


def _wait(condition, seconds: float, what: str, load: Load):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    statuses = [status for _at, status, _r, _b in load.answers]
    raise AssertionError(f"{what} not seen in {seconds} s; answers {statuses[-40:]}")


RESTORE = """
import os, subprocess
from django.db import connection
settings = connection.settings_dict
subprocess.run(
    [os.environ["PG_RESTORE"], "--no-owner", "--host", settings["HOST"], "--username",
     settings["USER"], "--dbname", settings["NAME"], os.environ["SCHEMA_DUMP"]],
    check=True,
)
"""


def _schema_load(env: dict[str, str], pgdata: Path, django_db_blocker) -> None:
    """The new server's database as migrate leaves it: a copy of the suite's migrated
    template (tests/template_db.py), dumped and restored in a second or two; migrating it
    took about half of this test's time. Migrated when the suite's server is not the
    embedded one (the wheel's pg_dump refuses a newer server)."""
    if not is_embedded():
        _manage(env, "migrate", "--noinput")
        return
    with django_db_blocker.unblock():
        template = migrated_template()
    dump = pgdata.with_suffix(".dump")
    dump.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - the wheel's own pg_dump
        [pg_binary("pg_dump"), "--format=custom", "--file", str(dump)]
        + ["--dbname", database_url(template)],
        check=True,
    )
    try:
        restore = dict(env, PG_RESTORE=pg_binary("pg_restore"), SCHEMA_DUMP=str(dump))
        _manage(restore, "shell", "-c", RESTORE)
    finally:
        dump.unlink()


def test_the_app_serves_again_after_the_database_is_killed(pgdata, django_db_blocker):
    env = _environment(pgdata)
    _schema_load(env, pgdata, django_db_blocker)
    session = _manage(env, "shell", "-c", SESSION).strip().splitlines()[-1]
    port = _free_port()
    logs = ROOT / "test-artifacts" / "outage"
    logs.mkdir(parents=True, exist_ok=True)
    app = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "aidao.wsgi", "--workers", "2", "--threads", "2"]
        + ["--bind", f"127.0.0.1:{port}", "--timeout", "60"],
        cwd=ROOT,
        env=env,
        stdout=(logs / "gunicorn.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    # The worker is the embedded server's watchdog.
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "worker"],
        cwd=ROOT,
        env=env,
        stdout=(logs / "worker.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    load = Load(port, session)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if _get(port, session)[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        for thread in load.threads:
            thread.start()
        started = time.monotonic()
        _wait(lambda: load.since(started).count(200) >= 20, 60, "pages served", load)

        killed_pid = _postmaster_pid(pgdata)
        os.kill(killed_pid, signal.SIGKILL)
        killed_at = time.monotonic()

        _wait(lambda: 503 in load.since(killed_at), 60, "a 503 while the database is down", load)
        outage_seen = next(at for at, s, _r, _b in load.answers if at > killed_at and s == 503)
        _wait(
            lambda: load.since(outage_seen)[-20:].count(200) == 20,
            120,
            "pages served again after the restart",
            load,
        )
        restarted_pid = _postmaster_pid(pgdata)
        # The worker, too, works again by itself: a periodic job ends well after the restart.
        worker_log = logs / "worker.log"
        _wait(
            lambda: (
                "ended with status: Success"
                in worker_log.read_text().rpartition("started it again")[2]
            ),
            60,
            "a job run by the restarted worker",
            load,
        )
    finally:
        load.stop.set()
        for thread in load.threads:
            if thread.is_alive():
                thread.join(timeout=30)
        app.send_signal(signal.SIGTERM)
        app.wait(timeout=60)
        worker.send_signal(signal.SIGTERM)  # last to leave: it stops the server
        worker.wait(timeout=60)

    after_kill = [(s, r, b) for at, s, r, b in load.answers if at > killed_at]
    statuses = {s for s, _r, _b in after_kill}
    assert statuses <= {200, 503}, sorted(statuses)  # no 500, no refused connection
    outage = [(r, b) for s, r, b in after_kill if s == 503]
    assert all(retry_after == "30" for retry_after, _b in outage)
    assert all("系统正在重启" in body for _r, body in outage)  # zh-hans, the default language
    assert restarted_pid != killed_pid
    assert "started it again" in worker_log.read_text()
    # The app was never restarted: its two workers served throughout (gunicorn logs each
    # worker it boots, a replacement included).
    assert (logs / "gunicorn.log").read_text().count("Booting worker") == 2


def _raised_from(driver_error: Exception) -> Exception:
    """The Django error wrapping `driver_error`, as Django raises it."""
    from django.db import OperationalError

    try:
        raise OperationalError(str(driver_error)) from driver_error
    except OperationalError as error:
        return error


def test_only_an_unreachable_database_is_a_503():
    import psycopg
    from django.db import InterfaceError

    from core.db import is_database_unreachable

    assert is_database_unreachable(_raised_from(psycopg.OperationalError("connection refused")))
    assert is_database_unreachable(_raised_from(psycopg.errors.CannotConnectNow()))
    assert is_database_unreachable(_raised_from(psycopg.errors.AdminShutdown()))
    assert is_database_unreachable(InterfaceError("connection already closed"))
    # A statement the database refused is a bug or a retry, never "restarting".
    assert not is_database_unreachable(_raised_from(psycopg.errors.DeadlockDetected()))
    assert not is_database_unreachable(_raised_from(psycopg.errors.QueryCanceled()))
    assert not is_database_unreachable(ValueError("not a database error"))
