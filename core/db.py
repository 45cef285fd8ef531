"""Database-level guards shared by the apps (append-only tables, transient-failure retry)."""

import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError, connections, migrations

T = TypeVar("T")

# The largest id a bigint primary key holds. A larger number from a request names no row,
# but as a parameter of a prepared statement (typed bigint) it is an error, not "no row".
BIGINT_MAX = 2**63 - 1


def is_row_id(value: int) -> bool:
    """Whether `value` could be the id of a row (1 .. bigint's largest)."""
    return 0 < value <= BIGINT_MAX


def row_id_or_none(text) -> int | None:
    """An id from a request's text (a query parameter, a ticked box), else None.

    ASCII digits only: str.isdigit() also accepts '²', which int() refuses (a 500), and
    no larger than an id can be.
    """
    text = str(text or "")
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if is_row_id(value) else None


REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION aidao_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def append_only(table: str) -> migrations.RunSQL:
    """A migration operation making `table` refuse UPDATE and DELETE in PostgreSQL.

    TRUNCATE is left to the table owner (a deployment's migration role, and the test
    runner's flush between transactional tests); the app never issues it.
    """
    return migrations.RunSQL(
        sql=f"""
        CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION aidao_refuse_change();
        """,
        reverse_sql=f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
    )


# serialization_failure and deadlock_detected: PostgreSQL rolled the transaction back whole.
TRANSIENT_PGCODES = frozenset({"40001", "40P01"})


def is_transient(error: Exception) -> bool:
    return getattr(error.__cause__, "pgcode", None) in TRANSIENT_PGCODES


def retry_transient(action: Callable[[], T], *, attempts: int = 3, using: str = "default") -> T:
    """Run `action` (one whole transaction) again, a bounded number of times, when PostgreSQL
    aborted it as a serialization failure or deadlock.

    The services lock accounts and items in a fixed order at READ COMMITTED, so neither should
    happen; this is the safety net if a deployment runs stricter isolation. Inside an outer
    atomic block the outer transaction is aborted too, so nothing is retried there.
    """
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except OperationalError as error:
            if not is_transient(error) or attempt == attempts or connections[using].in_atomic_block:
                raise
            time.sleep(0.05 * attempt)
    raise AssertionError("unreachable")
