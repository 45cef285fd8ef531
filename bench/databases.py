"""The benchmark's own databases, on the same PostgreSQL server as the app's.

Without DATABASE_URL that is the embedded server of this checkout, which stays up while the
benchmark process holds it; subprocesses reach a bench database through DATABASE_URL.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

BASE_DIR = Path(__file__).resolve().parent.parent


def server_url() -> str:
    """The server's URL (starting the embedded one and holding it for this process's life)."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from aidao.embedded_db import embedded_database_url

    return embedded_database_url()


def database_url(name: str) -> str:
    parts = urlsplit(server_url())
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_recreate(name: str) -> None:
    """Drop `name` if it exists and create it empty."""
    connection = psycopg2.connect(server_url())
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()


def django_env(name: str, **extra: str) -> dict[str, str]:
    """Environment for a Django subprocess on bench database `name`, production-like."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(name),
        DJANGO_SETTINGS_MODULE="aidao.settings",
        DEBUG="false",
        SECRET_KEY="bench-only-secret-key-not-for-production-5b0e8d1c7a",  # noqa: S106
        ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def manage(name: str, *args: str, env_extra: dict | None = None, capture: bool = False):
    """Run `manage.py args` on bench database `name`; raises if it fails."""
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args],
        env=django_env(name, **(env_extra or {})),
        cwd=BASE_DIR,
        check=True,
        text=True,
        capture_output=capture,
    )
