"""The embedded PostgreSQL: shared by several processes, stopped by the last one to leave."""

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg2
import pytest

ROOT = Path(__file__).resolve().parents[2]

ATTACH = """
import os
import sys
from aidao.embedded_db import embedded_database_url
print(embedded_database_url(), flush=True)
if sys.stdin.readline().strip() == "os._exit":
    os._exit(1)  # as runserver leaves when its port is taken: no exit hooks run
"""


@pytest.fixture
def pgdata():
    """A data folder inside the checkout, as in real use (pytest's tmp folders are private
    to root, which the server's own system user cannot enter)."""
    folder = ROOT / ".pgdata-tests" / uuid.uuid4().hex[:8]
    yield folder
    postmaster = folder / "postmaster.pid"
    if postmaster.exists():  # a failed test left its server running: stop it (fast shutdown)
        os.kill(int(postmaster.read_text().split()[0]), signal.SIGINT)
        deadline = time.monotonic() + 15
        while postmaster.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    shutil.rmtree(folder, ignore_errors=True)


def _attach(pgdata: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "AIDAO_PGDATA": str(pgdata)}
    process = subprocess.Popen(
        [sys.executable, "-c", ATTACH],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return process, process.stdout.readline().strip()


def _leave(process: subprocess.Popen) -> None:
    process.stdin.write("\n")
    process.stdin.flush()
    assert process.wait(timeout=30) == 0


def _answers(url: str) -> bool:
    try:
        with psycopg2.connect(url, connect_timeout=3) as connection, connection.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone() == (1,)
    except psycopg2.OperationalError:
        return False


def test_server_survives_first_process_and_stops_with_the_last(pgdata):
    first, url = _attach(pgdata)
    second, second_url = _attach(pgdata)
    assert url.startswith("postgresql://") and url == second_url
    assert _answers(url)

    _leave(first)  # like the autoreloader's parent or one gunicorn worker going away
    assert _answers(url)

    _leave(second)
    deadline = time.monotonic() + 15
    while (pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (pgdata / "postmaster.pid").exists(), "the last process did not stop the server"
    assert not _answers(url)


def test_production_refuses_to_start_without_a_secret_key():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG", "AIDAO_TESTING"}
    }
    env["DATABASE_URL"] = "postgresql://unused@localhost/unused"
    result = subprocess.run(
        [sys.executable, "-c", "import aidao.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_sigterm_and_a_killed_process_still_let_the_server_stop(pgdata):
    killed, url = _attach(pgdata)
    killed.kill()  # SIGKILL: no chance to detach
    killed.wait(timeout=30)
    survivor, _url = _attach(pgdata)
    assert _answers(url)
    survivor.terminate()  # SIGTERM, as a service manager or `timeout` sends
    survivor.wait(timeout=30)
    deadline = time.monotonic() + 15
    while (pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (pgdata / "postmaster.pid").exists()


def test_a_process_that_left_without_detaching_after_the_others_came_is_forgotten(pgdata):
    """Found with `make run` on a taken port: runserver, attached after the worker, left by
    os._exit and stayed on the list of attached processes, so the worker, stopped next, was
    not the last and the server ran on with nobody attached."""
    survivor, url = _attach(pgdata)
    quitter, _url = _attach(pgdata)
    quitter.stdin.write("os._exit\n")
    quitter.stdin.flush()
    assert quitter.wait(timeout=30) == 1
    assert _answers(url)
    _leave(survivor)
    deadline = time.monotonic() + 15
    while (pgdata / "postmaster.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not (pgdata / "postmaster.pid").exists(), "the last process did not stop the server"
