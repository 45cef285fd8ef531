"""SQL built from the models, for the few statements the ORM makes too slow to build.

The rule (STYLE.md 8): SQL by hand only where a measured gain on a benchmarked path pays for
it, in one `sql.py` per app; table names, column lists and status values come from the
models, never typed in (`columns`, `insert`, `update_rows` read `_meta`), so a field added
to a model is selected and inserted without anyone remembering to. Each app's sql.py lists
its statements, why each is by hand, and the gain measured (docs/performance.md).

Why at all, measured on the county dataset on the benchmark's machine (2026-12-04):
- reading every signed-in request's user with its village, township, county, household and
  roles: 3.1 ms through the ORM (2.4 ms of it building the query), 0.63 ms as this SQL,
  0.24 ms prepared (`execute`);
- `make bench`, award approvals one a call: 0.17x pgbench through the ORM (nine round trips),
  0.37x as SQL built here (three), 0.56x prepared; 3-line redemptions 0.10x, 0.19x, 0.35x
  (targets 0.4x and 0.25x); the busy pages 12-14 ms through the ORM, 4-7 ms now, every page
  target met (docs/performance.md).
Prepared statements are a connection's: behind a pooler, session pooling.

Core's own statement, at the end: `SESSION_READ`, the unexpired session of a key (what
Django's database store reads through the ORM), read by every signed-in request through the
session engine (core.sessions): 0.25 ms prepared against 0.6 ms a request through the ORM
on the county dataset (docs/performance.md).
"""

import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.signals import connection_created
from django.db.models import Model
from psycopg.adapt import Transformer

from core.models import Session


@dataclass
class Statement:
    """One SQL statement and its parameters (%s placeholders)."""

    sql: str
    params: list = field(default_factory=list)


def literal(value: str) -> str:
    """A model's constant (a status, a kind) as an SQL string literal, spelled in the
    statement: a prepared statement's one generic plan can then use the partial index that
    names it, which a parameter would hide."""
    return "'" + str(value).replace("'", "''") + "'"


def quoted(name: str) -> str:
    """An SQL identifier, double-quoted (a table or column name from the models)."""
    return '"' + name.replace('"', '""') + '"'


def table(model: type[Model]) -> str:
    return quoted(model._meta.db_table)


def column(model: type[Model], name: str) -> str:
    """The quoted column of the model's field `name`."""
    return quoted(model._meta.get_field(name).column)


@functools.cache
def _select_list(model: type[Model], alias: str) -> str:
    return ", ".join(f"{alias}.{quoted(f.column)}" for f in model._meta.concrete_fields)


def columns(model: type[Model], alias: str) -> str:
    """The SELECT list of every concrete column of `model`, read from table alias `alias`."""
    return _select_list(model, alias)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


@functools.cache
def _attnames(model: type[Model]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def instance(model: type[Model], row: Sequence, start: int = 0):
    """The `model` instance whose columns (as `columns` lists them) begin at row[start];
    None when a LEFT JOIN found nothing (a NULL primary key)."""
    names = _attnames(model)
    values = row[start : start + len(names)]
    if values[0] is None:
        return None
    return model.from_db(DEFAULT_DB_ALIAS, names, values)


def whole_rows_digest(model: type[Model], where: str) -> str:
    """A subselect: md5 over every column of the rows of `model` matching `where` (SQL on
    table alias `t`), in id order; '-' for none. A cached page part keyed by it is never
    stale, whichever field of those rows changed."""
    pk = quoted(model._meta.pk.column)
    return (
        f"coalesce((SELECT md5(string_agg(md5(t::text), ',' ORDER BY t.{pk})) "  # noqa: S608
        f"FROM {table(model)} t WHERE {where}), '-')"
    )


# The texts of INSERT and UPDATE depend only on the model, the fields and the number of
# rows: each is built once per process (the tellers' Python work per call is what limits
# the ledger's throughput on a busy machine, docs/performance.md "Many tellers").


def _database():
    """The default database's wrapper, looked up once per statement: the `connection` proxy
    looks it up again at every attribute the fields' adapters read."""
    return connections[DEFAULT_DB_ALIAS]


@functools.cache
def _insert_fields(model: type[Model], with_pk: bool) -> tuple:
    return tuple(f for f in model._meta.concrete_fields if with_pk or not f.primary_key)


@functools.cache
def _insert_text(model: type[Model], with_pk: bool, count: int) -> str:
    fields = _insert_fields(model, with_pk)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    names = ", ".join(quoted(f.column) for f in fields)
    return f"INSERT INTO {table(model)} ({names}) VALUES {', '.join([row] * count)}"  # noqa: S608


def insert(model: type[Model], objs: Sequence[Model]) -> Statement:
    """INSERT of `objs` with every concrete column (the primary key when it is set),
    values as the ORM saves them (defaults, auto_now_add, JSON, enums)."""
    with_pk = objs[0].pk is not None
    fields, db = _insert_fields(model, with_pk), _database()
    params = [f.get_db_prep_save(f.pre_save(obj, add=True), db) for obj in objs for f in fields]
    return Statement(_insert_text(model, with_pk, len(objs)), params)


@functools.cache
def _update_fields(model: type[Model], names: tuple[str, ...]) -> tuple:
    """The primary key, then the fields `names`: the columns of the VALUES list."""
    meta = model._meta
    return (meta.pk, *(meta.get_field(name) for name in names))


@functools.cache
def _update_text(model: type[Model], names: tuple[str, ...], count: int) -> str:
    key, *fields = typed = _update_fields(model, names)
    row = "(" + ", ".join(f"%s::{_db_type(f)}" for f in typed) + ")"
    aliases = ", ".join(quoted(f.column) for f in typed)
    sets = ", ".join(f"{quoted(f.column)} = v.{quoted(f.column)}" for f in fields)
    pk = quoted(key.column)
    return (
        f"UPDATE {table(model)} SET {sets} FROM (VALUES {', '.join([row] * count)}) "  # noqa: S608
        f"AS v ({aliases}) WHERE {table(model)}.{pk} = v.{pk}"
    )


def update_rows(model: type[Model], objs: Sequence[Model], names: Iterable[str]) -> Statement:
    """UPDATE of fields `names` of `objs` (by primary key) to the values they hold now."""
    names = tuple(names)
    typed, db = _update_fields(model, names), _database()
    # One row per object: the last one given for a key holds its final values.
    objs = list({obj.pk: obj for obj in objs}.values())
    params = [f.get_db_prep_save(getattr(obj, f.attname), db) for obj in objs for f in typed]
    return Statement(_update_text(model, names, len(objs)), params)


def _db_type(field) -> str:
    """The column type, to type a VALUES list (a foreign key: its target's key type)."""
    if field.is_relation:
        return field.remote_field.model._meta.pk.rel_db_type(connection)
    return field.db_type(connection)


@dataclass(frozen=True)
class _Prepared:
    name: str
    prepare: str  # the PREPARE statement
    run: str  # the EXECUTE statement, with a %s per value
    named: tuple[str, ...] | None  # the names of its %(name)s parameters, or None for %s ones
    template: bytes  # `run` as bytes, for `template % literals` (its only % are the %s)


@functools.cache
def _prepared(sql: str) -> _Prepared:
    names: list[str] = []

    def numbered(match) -> str:
        if match.group(1) is None:  # %s: positional
            names.append("")
            return f"${len(names)}"
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    body = re.sub(r"%(?:\((\w+)\))?s", numbered, sql).replace("%%", "%")
    name = "aidao_" + hashlib.sha256(sql.encode()).hexdigest()[:20]
    named = tuple(names) if names and names[0] else None
    run = f"EXECUTE {name} ({', '.join(['%s'] * len(names))})" if names else f"EXECUTE {name}"
    return _Prepared(name, f"PREPARE {name} AS {body}", run, named, run.encode())


def _prepared_on(db) -> set[str]:
    """The statements prepared on `db`'s current connection (a new connection has none)."""
    if not hasattr(db, "prepared_statements"):
        db.prepared_statements = set()
    return db.prepared_statements


def _forget_prepared(sender, connection, **kwargs) -> None:
    connection.prepared_statements = set()


connection_created.connect(_forget_prepared, dispatch_uid="core.sql.forget_prepared")


def execute(cursor, sql: str, params) -> None:
    """`cursor.execute(sql, params)`, as a statement PostgreSQL plans once per connection.

    Planning these many-table statements took longer than running them (up to 3 ms for the
    approval queue's key, against 2 ms to run it): each is prepared on its connection the
    first time (one PREPARE, logged like any query), then only EXECUTEd, under the
    connection's generic plans (settings: plan_cache_mode). Prepared statements live as
    long as the connection and survive a rolled-back transaction; behind a pooler they need
    session pooling.
    """
    cursor.execute(_execute_text(cursor, sql, params))


def execute_in_turn(cursor, *statements: tuple[str, object]) -> list[list[tuple]]:
    """Run (sql, params) statements one after the other in one round trip; the rows of each.

    Each is `execute`d as above; sent as one message, PostgreSQL runs them in turn, each on
    a snapshot of its own (read committed), so a later one sees what committed while an
    earlier one waited for a lock. `IN_TURN` joins them (the query log shows one text).
    """
    cursor.execute(IN_TURN.join(_execute_text(cursor, sql, params) for sql, params in statements))
    results = []
    while True:  # a statement that returns no rows (no description) gives []
        results.append(cursor.fetchall() if cursor.description is not None else [])
        if not cursor.cursor.nextset():
            return results


IN_TURN = ";\n"


def _execute_text(cursor, sql: str, params) -> str:
    """The EXECUTE of `sql`'s prepared statement with `params` as literals, preparing it on
    this connection first if it is not yet."""
    statement = _prepared(sql)
    done = _prepared_on(_database())
    if statement.name not in done:
        cursor.execute(statement.prepare)
        done.add(statement.name)
    named = statement.named
    values = [params[n] for n in named] if named is not None else list(params)
    if not values:
        return statement.run
    # The values are quoted here, into a template split once per statement, as psycopg's
    # client-side binding would do (Transformer.as_literal): psycopg caches its split of a
    # query only up to 50 parameters, and a redemption's writes have ~110, so it ran a
    # regular expression over the whole EXECUTE at every call (0.1-0.3 ms of a teller's
    # Python, docs/performance.md "Many tellers").
    quote = Transformer.from_context(cursor.cursor).as_literal
    literals = tuple(b"NULL" if value is None else quote(value) for value in values)
    return (statement.template % literals).decode()


@functools.cache
def _together_text(parts: tuple[str, ...]) -> str:
    ctes = ", ".join(f"s{n} AS ({part} RETURNING 1)" for n, part in enumerate(parts))
    counts = ", ".join(f"(SELECT count(*) FROM s{n})" for n in range(len(parts)))  # noqa: S608
    return f"WITH {ctes} SELECT {counts}"  # noqa: S608


def run_together(statements: Sequence[Statement]) -> list[int]:
    """Run data-changing statements as one, in one round trip; the rows each touched.

    PostgreSQL runs the parts of one statement on one snapshot: none may depend on
    another's rows (they are written with the ids already drawn, see `next_id`).
    """
    params = [value for s in statements for value in s.params]
    with connection.cursor() as cursor:
        execute(cursor, _together_text(tuple(s.sql for s in statements)), params)
        return list(cursor.fetchone())


def next_id(model: type[Model]) -> str:
    """A select expression drawing the next id of `model`'s table, once per row selected,
    so rows written together (`run_together`) can point at each other."""
    meta = model._meta
    return f"nextval(pg_get_serial_sequence('{meta.db_table}', '{meta.pk.column}'))"


def ids_draw(model: type[Model], count: int) -> list[int]:
    """`count` new ids of `model`'s table, drawn ahead of the rows that will carry them."""
    with connection.cursor() as cursor:
        execute(cursor, f"SELECT {next_id(model)} FROM generate_series(1, %s)", [count])  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


# --- core's own statement (see the index above) -------------------------------------------

SESSION_READ = (
    f"SELECT {columns(Session, 's')} FROM {table(Session)} s "  # noqa: S608
    f"WHERE s.{column(Session, 'session_key')} = %(key)s"
    f" AND s.{column(Session, 'expire_date')} > %(now)s"
)
