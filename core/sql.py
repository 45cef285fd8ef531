"""The hand-written SQL of the project, and why each statement is not the ORM's.

The rule (STYLE.md 8): SQL by hand only where the ORM cannot say it or a measured gain on a
benchmarked path pays for it; column lists, table names and status values come from the
models, never typed in. Index:

- `rows_digest` / `rows_fingerprint`: md5 over every column of every row a cached page
  part shows (`t::text` of the table's rows). The ORM cannot hash a whole row; fetching
  the rows to hash them in Python would cost what the cache saves. Keys the cached parts of
  the villager page, the catalogue, the counter and the approval queue
  (tests/perf/test_fragment_freshness.py proves none goes stale).

Elsewhere: the append-only triggers (core.db, DDL in migrations) and the ledger checks of
`audit_ledger` (points.checks, store.checks), whose kinds and statuses are the models'.
"""

from django.db import connection
from django.db.models import QuerySet


def rows_digest(*querysets: QuerySet) -> tuple[str, list]:
    """SQL (and its parameters) for a digest of every column of every row of each queryset.

    Whole rows, not chosen fields: a field added to a model, or newly shown by a template,
    is covered without anyone remembering to list it. Each queryset only says which rows
    (its filter); the digest reads the model's table, named by its metadata.
    """
    parts, params = [], []
    for queryset in querysets:
        meta = queryset.model._meta
        table = connection.ops.quote_name(meta.db_table)
        pk = connection.ops.quote_name(meta.pk.column)
        rows, rows_params = queryset.order_by().values("pk").query.sql_with_params()
        parts.append(
            f"coalesce((SELECT md5(string_agg(md5(t::text), ',' ORDER BY t.{pk})) "  # noqa: S608
            f"FROM {table} t WHERE t.{pk} IN ({rows})), '-')"
        )
        params.extend(rows_params)
    return "concat_ws(':', " + ", ".join(parts) + ")", params


def rows_fingerprint(*querysets: QuerySet) -> str:
    """The digest of `rows_digest`, in one query: it changes whenever any of those rows do."""
    sql, params = rows_digest(*querysets)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)  # noqa: S608 (built from the models)
        return cursor.fetchone()[0]
