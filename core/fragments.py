"""Rendered page parts kept in the cache under keys made of exactly what they show.

A view first asks the database, in one cheap query, for a fingerprint of the rows a part
shows (`rows_fingerprint`: a digest of every column of those rows) and renders the part only
when that fingerprint is new. A changed fingerprint is a new key, so a stale part is never
served, whichever field of those rows changed, and each app server may keep its own cache.
"""

import hashlib

from django.core.cache import cache
from django.db import connection
from django.db.models import QuerySet
from django.middleware.csrf import get_token
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

# Rendered in place of the CSRF token in cached parts with forms, filled in per request.
# Letters and digits only, so HTML escaping leaves it as it is.
CSRF_SLOT = "csrfslot7c1e9a4b"


def cached_part(name: str, fingerprint: str, render, timeout: int):
    """The cached part `name` for `fingerprint` (and the active language), else `render()`."""
    state = f"{name}:{get_language()}:{fingerprint}"
    key = f"part:{name}:" + hashlib.sha256(state.encode()).hexdigest()
    part = cache.get(key)
    if part is None:
        part = render()
        cache.set(key, part, timeout)
    return part


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


def csrf_fill(html: str, request) -> SafeString:
    """A cached part rendered with CSRF_SLOT, with this request's token in its forms."""
    # Safe: our own rendered template, and a token of letters and digits.
    return mark_safe(html.replace(CSRF_SLOT, get_token(request)))  # noqa: S308
