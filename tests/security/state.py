"""A fingerprint of the business tables, to prove a refused request wrote nothing."""

from django.apps import apps
from django.db import connection

APPS = ("villagers", "points", "store", "wishwall", "aidao")


def business_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for label in APPS
        for model in apps.get_app_config(label).get_models()
        if not model._meta.proxy
    )


def database_state() -> dict[str, tuple[int, str]]:
    """table -> (row count, md5 of all its rows): any insert, update or delete changes it."""
    state = {}
    with connection.cursor() as cursor:
        for table in business_tables():
            cursor.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) "  # noqa: S608
                f'FROM "{table}" t'
            )
            state[table] = cursor.fetchone()
    return state


def state_changes(before: dict, after: dict) -> list[str]:
    return [table for table in before if before[table] != after[table]]
