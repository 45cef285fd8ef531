"""A fingerprint of the business tables, to prove a refused request wrote nothing."""

from django.apps import apps
from django.db import connection

APPS = ("core", "villagers", "points", "store", "wishwall", "aidao")
# Not business: a session row changes when a page keeps something for the next request.
NOT_BUSINESS = {"core_session"}


def business_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy and model._meta.db_table not in NOT_BUSINESS
    )


def tables_state(tables, using=None) -> dict[str, tuple[int, str]]:
    """table -> (row count, md5 of all its rows): any insert, update or delete changes it."""
    rows = "coalesce(string_agg(t::text, ',' ORDER BY t::text), '')"
    # Table names come from our own models, never from input.
    query = " UNION ALL ".join(
        f"SELECT '{table}', count(*), md5({rows}) FROM \"{table}\" t"  # noqa: S608
        for table in tables
    )
    with (using or connection).cursor() as cursor:
        cursor.execute(query)  # one round trip for every table
        return {table: (count, digest) for table, count, digest in cursor.fetchall()}


def database_state() -> dict[str, tuple[int, str]]:
    return tables_state(business_tables())


def state_changes(before: dict, after: dict) -> list[str]:
    return [table for table in before if before[table] != after[table]]
