"""Model instances from one plain-SQL row that joins several tables.

The busiest reads and the ledger's locks are written as plain SQL: the ORM spent longer
compiling them than PostgreSQL spent running them. `Joined` lists the models of such a
query, each under its table alias and linked to the row whose foreign key points at it, so
one row gives back the instances with their relations already cached.
"""

import functools
import hashlib
import re
import weakref
from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Joined:
    model: type
    alias: str
    owner: str | None = None  # alias of the instance whose foreign key points at this one
    field: str | None = None  # that foreign key's name on the owner's model


def columns_of(joined: list[Joined]) -> str:
    """The SELECT list for `joined`: every concrete column of each model, in model order."""
    return ", ".join(
        f'{part.alias}."{field.column}"'
        for part in joined
        for field in part.model._meta.concrete_fields
    )


def instances_from(row, joined: list[Joined]) -> dict:
    """{alias: instance or None} from the first columns of `row` (as laid out by columns_of).

    A LEFT JOIN that found nothing (the primary key is NULL) gives None.
    """
    instances, start = {}, 0
    for part in joined:
        fields = part.model._meta.concrete_fields
        values = row[start : start + len(fields)]
        start += len(fields)
        instances[part.alias] = (
            None
            if values[0] is None
            else part.model.from_db(connection.alias, [f.attname for f in fields], values)
        )
    for part in joined:
        owner = instances.get(part.owner) if part.owner else None
        if owner is not None:
            owner._meta.get_field(part.field).set_cached_value(owner, instances[part.alias])
    return instances


def width_of(joined: list[Joined]) -> int:
    """How many columns columns_of(joined) selects: extra columns follow them."""
    return sum(len(part.model._meta.concrete_fields) for part in joined)


# Raw connections -> names of the statements prepared on them (a new connection has none).
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@functools.cache
def _prepare_text(name: str, sql: str) -> tuple[str, str]:
    """PREPARE text with $n for each %(param)s of `sql`, and the EXECUTE text naming them."""
    params: list[str] = []

    def number(match) -> str:
        if match.group(1) not in params:
            params.append(match.group(1))
        return f"${params.index(match.group(1)) + 1}"

    # PREPARE is sent as it is, so a literal %% of `sql` becomes the % it stands for.
    body = re.sub(r"%\((\w+)\)s", number, sql).replace("%%", "%")
    # Named after the text too, so a changed statement is never run under an old plan.
    name = f"{name}_{hashlib.sha256(sql.encode()).hexdigest()[:12]}"
    execute = f"EXECUTE {name} ({', '.join(f'%({param})s' for param in params)})"
    return f"PREPARE {name} AS {body}", execute


def execute_prepared(cursor, name: str, sql: str, params: dict) -> None:
    """cursor.execute(sql, params), as a statement PostgreSQL plans once per connection.

    For the ledger's busiest statements (an approval's or a redemption's writes): planning
    those many-table statements anew on every call cost a fifth of a redemption. And for
    the reads of every page view (the session, its user, a page's fingerprint): planning
    took longer than running them, up to 0.45 ms a request for the session's user alone.
    Prepared statements live as long as the database connection (and survive a rolled-back
    transaction); behind a pooler, use session pooling.

    The one plan is generic: it cannot know a value given as a parameter, so a constant that
    picks a partial index (a status: 'proposed', 'active') is spelled out in `sql`.
    """
    prepare, execute = _prepare_text(name, sql)
    done = _prepared.setdefault(cursor.db.connection, set())
    if prepare not in done:
        # Setting up the connection, as Django's own SET statements do: not a query of the
        # caller's, so not logged nor counted (its EXECUTE is, every time).
        with cursor.db.wrap_database_errors:
            cursor.cursor.execute(prepare)
        done.add(prepare)
    cursor.execute(execute, params)
