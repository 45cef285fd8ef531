"""No model is copied by hand into SQL: the statements written by hand take their tables,
columns and values from the models (core.sql), and a field added to a model is written by
every INSERT of it (STYLE.md 8)."""

import ast
import re
import uuid
from pathlib import Path

import pytest
from django.apps import apps
from django.utils import timezone

from core import sql
from core.models import AuditEvent
from points.models import Entry
from store.models import Redemption, RedemptionLine, StockMovement
from tests.conftest import PROJECT_PACKAGES

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = PROJECT_PACKAGES
WRITTEN_BY_HAND = [Entry, Redemption, RedemptionLine, StockMovement, AuditEvent]


def production_sources():
    for package in PRODUCTION:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path, path.read_text(encoding="utf-8")


@pytest.mark.parametrize("model", WRITTEN_BY_HAND, ids=lambda m: m.__name__)
def test_every_insert_writes_every_column_of_its_model(model):
    obj = model(pk=1)
    statement = sql.insert(model, [obj])
    named = re.search(r"\((.*?)\) VALUES", statement.sql).group(1)
    assert [name.strip('"') for name in named.split(", ")] == [
        field.column for field in model._meta.concrete_fields
    ]
    assert len(statement.params) == len(model._meta.concrete_fields)


def test_a_field_with_a_python_default_gets_its_default_not_null(db):
    """The redemption's writes once put '' for fields by hand; now each field's own default."""
    redemption = Redemption(
        pk=1,
        village_id=1,
        household_id=1,
        entry_id=1,
        total_points=3,
        idempotency_key=uuid.uuid4(),
        request_hash="h",
        created_by_id=1,
        created_at=timezone.now(),
    )
    statement = sql.insert(Redemption, [redemption])
    values = dict(
        zip([f.column for f in Redemption._meta.concrete_fields], statement.params, strict=True)
    )
    assert values["void_reason"] == ""  # the model's default, not a NULL


def test_no_table_of_a_model_is_named_in_production_code():
    """Table names come from `_meta`: a renamed or moved model cannot leave SQL behind."""
    tables = {
        model._meta.db_table
        for model in apps.get_models()
        if model._meta.app_config.name in PRODUCTION
    }
    found = {
        str(path.relative_to(ROOT)): sorted(
            name for name in tables if re.search(rf"\b{name}\b", text)
        )
        for path, text in production_sources()
        if path.name != "models.py"  # where a moved model keeps its first table name
    }
    assert {path: names for path, names in found.items() if names} == {}


def test_data_changing_sql_is_written_only_by_core_sql():
    """INSERT and UPDATE statements come from core.sql's builders, nowhere else."""
    typed = {
        str(path.relative_to(ROOT))
        for path, text in production_sources()
        if path != ROOT / "core" / "sql.py"
        and re.search(r"\b(INSERT INTO|DELETE FROM|UPDATE \w+ SET)\b", text)
    }
    assert typed == set()


def test_statements_by_hand_are_built_in_a_sql_py():
    """A statement reading a model's table by hand is built in its app's sql.py, where the
    index says why (STYLE.md 8): core.sql's table and column builders are called nowhere
    else. The session store once built its read in core/sessions.py."""
    builders = {"table", "column", "columns", "whole_rows_digest", "next_id"}
    found = []
    for path, text in production_sources():
        if path.name == "sql.py":
            continue
        for node in ast.walk(ast.parse(text)):
            func = getattr(node, "func", None)
            if (
                isinstance(node, ast.Call)
                and isinstance(func, ast.Attribute)
                and func.attr in builders
                and ast.unparse(func.value) == "sql"
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "core.sql":
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno}"
                    for alias in node.names
                    if alias.name in builders
                ]
    assert found == []


def test_a_prepared_statement_quotes_each_value_as_psycopg_would(db):
    """`sql.execute` binds the values itself (past psycopg's 50-parameter cache): quotes,
    percent signs, backslashes, None, dates, decimals and JSON come back as they went in,
    and a value cannot end the literal it is in."""
    import datetime
    import json
    from decimal import Decimal

    from django.db import connection

    tricky = ["it's", "100%", "%s", "%(x)s", "a\\b", "'); DROP TABLE x; --", "积分", ""]
    typed = [(text, "text") for text in tricky] + [
        (None, "text"),
        (Decimal("1.50"), "numeric"),
        (datetime.date(2026, 12, 5), "date"),
        (True, "boolean"),
    ]
    typed += [(n, "integer") for n in range(60)]  # more than psycopg caches the split of
    values = [value for value, _type in typed]
    query = "SELECT " + ", ".join(f"%s::{type_}" for _value, type_ in typed)
    with connection.cursor() as cursor:
        sql.execute(cursor, query, values)
        assert list(cursor.fetchone()) == values
        sql.execute(cursor, "SELECT %(doc)s::jsonb", {"doc": json.dumps({"a": "'%s'"})})
        assert json.loads(cursor.fetchone()[0]) == {"a": "'%s'"}  # Django reads jsonb as text


def test_statements_sent_in_turn_give_each_its_rows(db):
    """`sql.execute_in_turn`: one round trip, each statement's rows apart; one that returns
    none (a write with no RETURNING) gives [] (fetching it was an error)."""
    from django.db import connection

    with connection.cursor() as cursor:
        assert sql.execute_in_turn(
            cursor,
            ("SELECT %(n)s::int, 'x'", {"n": 7}),
            (f"UPDATE {sql.table(AuditEvent)} SET id = id WHERE id = %(id)s", {"id": -1}),  # noqa: S608
            ("SELECT generate_series(1, %(n)s)", {"n": 3}),
        ) == [[(7, "x")], [], [(1,), (2,), (3,)]]


def test_the_values_are_bound_exactly_as_psycopg_binds_them(db):
    """Every kind of value the writers pass (lists of ids and roles, aware datetimes, UUIDs,
    JSON, bytes, enums, negative numbers): the EXECUTE sent is the one psycopg's own
    client-side binding (mogrify) would have sent."""
    import datetime
    from decimal import Decimal

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from psycopg.types.json import Jsonb

    values = [
        [1, 2, 3],
        ["manager", "supervisor"],
        timezone.now(),
        datetime.date(2026, 12, 5),
        uuid.uuid4(),
        Jsonb({"a": "'%s'", "b": [1, None]}),
        b"\x00\x01'",
        Entry.Kind.REDEMPTION,
        -7,
        Decimal("-0.50"),
        None,
        False,
        "it's 100% \\ done",
    ]
    query = "SELECT " + ", ".join(["%s"] * len(values))
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        sql.execute(cursor, query, values)
        sent = captured.captured_queries[-1]["sql"]
        name = sent.split(" (", 1)[0]
        expected = cursor.cursor.mogrify(f"{name} ({', '.join(['%s'] * len(values))})", values)
    assert sent.startswith("EXECUTE aidao_") and sent == expected
