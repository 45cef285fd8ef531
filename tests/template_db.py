"""The test databases are copies of one migrated template, not migrated one by one.

Migrating a new database runs every migration (about 20 s on an idle machine, 40 s or
more while the other worker migrates its own beside it); copying a migrated one (CREATE
DATABASE ... TEMPLATE) takes under a second. So the first worker to set its database up
migrates a template, named by a digest of the migrations, and every worker's test
database is created from it (Django's TEST TEMPLATE setting): `migrate` then finds nothing
to do. A change of any migration names a new template; with --reuse-db a test database
that exists is kept (and migrated as before), and no template is made for it.

The template is migrated by `manage.py migrate` in a subprocess on the test settings, as
any database is. The runs on one server take turns under a lock of the server's own (an
advisory lock), and the template appears under its name only once migrated (renamed from
a working name), so a run killed halfway leaves nothing another would copy; its working
copy is dropped by the next run, whoever is still connected to it. Templates of other
migrations are left alone (another checkout on the same server may be copying one); the
embedded server's go with `make clean`.
"""

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

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


def database_url(name: str) -> str:
    """A libpq URL of the suite's server for the database `name`: the DATABASE_URL given,
    its options (sslmode...) kept, or the embedded server's."""
    if os.environ.get("DATABASE_URL"):
        return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path=f"/{name}"))
    database = settings.DATABASES["default"]
    user = quote(database.get("USER") or "", safe="")
    password = quote(database.get("PASSWORD") or "", safe="")
    host = quote(database.get("HOST") or "", safe="/")
    return f"postgresql://{user}:{password}@/{name}?host={host}"  # a socket directory


def exists(cursor, name: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
    return cursor.fetchone() is not None


def kept_test_database() -> bool:
    """Whether this worker's test database exists already (kept by --reuse-db)."""
    database = settings.DATABASES["default"]
    name = database.get("TEST", {}).get("NAME") or f"test_{database['NAME']}"
    with connection._nodb_cursor() as cursor:  # Django's own way in before a test database
        return exists(cursor, name)


def migrated_template() -> str:
    """The name of a database migrated to the project's migrations, made if missing."""
    name = PREFIX + _migrations_digest()
    building = f"{name}_building"
    lock = int(hashlib.sha256(PREFIX.encode()).hexdigest()[:15], 16)
    with connection._nodb_cursor() as cursor:
        # The other worker, or another run on this server, waits here while one migrates;
        # the lock goes with this connection, however the run ends.
        cursor.execute("SELECT pg_advisory_lock(%s)", [lock])
        try:
            if exists(cursor, name):
                return name
            cursor.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{building}"')
            env = dict(os.environ, DATABASE_URL=database_url(building))
            env["DJANGO_SETTINGS_MODULE"] = "aidao.test_settings"
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
                cwd=settings.BASE_DIR,
                env=env,
                check=True,
            )
            cursor.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
            return name
        finally:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock])
