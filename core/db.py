"""Database-level guards shared by the apps (append-only tables, transient-failure retry,
telling an unreachable database from a refused statement, a duplicate saved meanwhile)."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    connections,
    migrations,
    transaction,
)
from django.db.models import F

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


def is_duplicate(error: IntegrityError) -> bool:
    """Whether the database refused a row because one with the same unique key exists."""
    return sqlstate(error) == "23505"  # unique_violation


class SavedMeanwhile(ValidationError):
    """The check's refusal of a row another request saved since the check first ran: the
    back office draws its form again rather than treating it as a refusal of its own
    (`core.admin.DuplicateSavedMeanwhileMixin`)."""


@contextmanager
def duplicate_checked_again(check: Callable[[], object]) -> Iterator[None]:
    """Run the block's writes in a savepoint; if the database refuses a duplicate, run the
    caller's `check` again, whose ValidationError then says why (as a SavedMeanwhile), and
    else re-raise.

    Two requests can both pass the check before either writes: a double-clicked form on a
    slow line, two villages registering one person. PostgreSQL makes the second INSERT wait
    for the first's transaction, then refuses it; by then the first's row is committed, so
    the check (reading afresh, READ COMMITTED) sees it and refuses in words, not a server
    error. Anything else the database refuses stays an error.
    """
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        if not is_duplicate(error):
            raise
        try:
            check()
        except ValidationError as refusal:
            raise SavedMeanwhile(refusal) from error
        raise


def unique_checks(obj) -> None:
    """`obj`'s checks of uniqueness (its unique fields, then its model's constraints), each
    message once and under the field it concerns, as a form shows it: a household number
    taken, as written or in another case, is refused under "number", in the same words."""
    refusals: dict[str, list[str]] = {}
    try:
        obj.validate_unique()
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            refusals.setdefault(field, []).extend(messages)
    model = type(obj)
    for constraint in model._meta.constraints:
        try:
            constraint.validate(model, obj)
        except ValidationError as error:
            refusals.setdefault(_field_concerned(model, constraint), []).extend(error.messages)
    said = set()
    for field, messages in refusals.items():
        refusals[field] = [m for m in dict.fromkeys(messages) if m not in said]
        said.update(refusals[field])
    refusals = {field: messages for field, messages in refusals.items() if messages}
    if refusals:
        raise ValidationError(refusals)


def full_check(obj) -> None:
    """`obj.full_clean()`, with its uniqueness checked by `unique_checks`: a duplicate saved
    by another request just before reads the same, under the same field, whether this check
    or the database (`duplicate_checked_again`) finds it. Django's own check of a constraint
    puts its message at the top of the form."""
    errors = {}
    for check in (
        lambda: obj.full_clean(validate_unique=False, validate_constraints=False),
        lambda: unique_checks(obj),
    ):
        try:
            check()
        except ValidationError as error:
            errors = error.update_error_dict(errors)
    if errors:
        raise ValidationError(errors)


def _field_concerned(model, constraint) -> str:
    """The one field of its own row a constraint compares (a household's number, beside
    the village it is unique in), else NON_FIELD_ERRORS (a check of several columns)."""
    names = set(getattr(constraint, "fields", ()))
    for expression in getattr(constraint, "expressions", ()):
        nodes = expression.flatten() if hasattr(expression, "flatten") else [expression]
        names.update(node.name for node in nodes if isinstance(node, F))
    own = [name for name in names if not model._meta.get_field(name).is_relation]
    return own[0] if len(own) == 1 else NON_FIELD_ERRORS


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

    TRUNCATE is left to the table owner (a deployment's migration role); the app never
    issues it. The test suite empties the tables between transactional tests with DELETE,
    triggers off (tests/tables_empty.py).
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


def sqlstate(error: Exception) -> str | None:
    """PostgreSQL's error code behind a Django database error (psycopg 3 or 2), if any."""
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def is_transient(error: Exception) -> bool:
    return sqlstate(error) in TRANSIENT_PGCODES


# admin_shutdown, crash_shutdown, cannot_connect_now (starting up, recovering after a crash).
UNREACHABLE_PGCODES = frozenset({"57P01", "57P02", "57P03"})


def is_database_unreachable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached (down, restarting, the connection
    lost), as opposed to a statement it refused (a deadlock, a timeout, bad data).

    A lost or refused connection comes with no error code, or one of class 08 (connection
    exception); a server shutting down or still starting up sends 57P01-57P03.
    """
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    code = sqlstate(error)
    return code is None or code.startswith("08") or code in UNREACHABLE_PGCODES


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
