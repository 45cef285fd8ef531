"""The test databases are copies of one migrated template, not migrated one by one.

Migrating a new database runs every migration (about 20 s on an idle machine, 40 s or
more while the other worker migrates its own beside it); copying a migrated one (CREATE
DATABASE ... TEMPLATE) takes under a second. So the first worker to set its database up
migrates a template, named by a digest of the migrations, and every worker's test
database is created from it (Django's TEST TEMPLATE setting): `migrate` then finds nothing
to do. A change of any migration names a new template (the old ones are dropped); with
--reuse-db an existing test database is kept and migrated as before.

The template is migrated by `manage.py migrate` in a subprocess on the test settings, as
any database is; the workers take turns through a file lock, and the template appears
under its name only once migrated (renamed from a working name), so a run killed halfway
leaves nothing another would copy.
"""

import fcntl
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

import django
from django.conf import settings
from django.db import connection

PREFIX = "aidao_template_"


def _migrations_digest() -> str:
    """A digest of every migration file of the project and of Django's version."""
    digest = hashlib.sha256(django.get_version().encode())
    for path in sorted(Path(settings.BASE_DIR).glob("*/migrations/*.py")):
        digest.update(str(path.relative_to(settings.BASE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _url(database: dict, name: str) -> str:
    """A DATABASE_URL of the server `database` (a settings dict) for the database `name`."""
    user = quote(database.get("USER") or "", safe="")
    password = quote(database.get("PASSWORD") or "", safe="")
    host, port = database.get("HOST") or "", database.get("PORT") or ""
    if host.startswith("/"):  # a socket directory (the embedded server)
        return f"postgresql://{user}:{password}@/{name}?host={quote(host, safe='/')}"
    return f"postgresql://{user}:{password}@{host}{':' if port else ''}{port}/{name}"


def _databases(cursor) -> set[str]:
    cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [PREFIX + "%"])
    return {name for (name,) in cursor.fetchall()}


def migrated_template() -> str:
    """The name of a database migrated to the project's migrations, made if missing."""
    name = PREFIX + _migrations_digest()
    database = settings.DATABASES["default"]
    server = f"{database.get('HOST')}:{database.get('PORT')}".encode()
    lock = Path(tempfile.gettempdir()) / f"aidao-template-{hashlib.sha256(server).hexdigest()[:12]}"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # the other worker waits here while one migrates
        with connection._nodb_cursor() as cursor:
            present = _databases(cursor)
            if name in present:
                return name
            for old in present:  # older migrations' templates and a run killed halfway
                cursor.execute(f'DROP DATABASE "{old}"')
            building = f"{name}_building"
            cursor.execute(f'CREATE DATABASE "{building}"')
        env = dict(os.environ, DATABASE_URL=_url(database, building))
        env["DJANGO_SETTINGS_MODULE"] = "aidao.test_settings"
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
        )
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
    return name
