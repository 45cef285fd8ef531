"""Generate the county (or province) dataset: the registry, then 36 months of history, then
the caches."""

import datetime
import time

from django.db import connection, transaction
from django.utils import timezone

from demo.county.copyrows import BulkLoad
from demo.county.history import History
from demo.county.registry import VillagePlan, households_create, villages_create

# Villages: a province is ten counties of 47 (registry.VILLAGES_PER_COUNTY).
SIZES = {"village": 1, "county": 47, "province": 470}
HISTORY_MONTHS = 36
SEED = 2018
# The tables filled in bulk: their secondary indexes and foreign keys are rebuilt afterwards.
BULK_TABLES = [
    "villagers_household",
    "villagers_member",
    "villagers_inspection",
    "villagers_participation",
    "villagers_card",
    "villagers_user",
    "points_account",
    "points_batch",
    "points_entry",
    "points_proposal",
    "store_redemption",
    "store_redemptionline",
    "store_donation",
    "store_stockmovement",
]


def history_months(today: datetime.date, count: int = HISTORY_MONTHS) -> list[datetime.date]:
    """First days of the `count` months ending with the current one, oldest first."""
    first = today.replace(day=1)
    months = [first]
    while len(months) < count:
        months.append((months[-1] - datetime.timedelta(days=1)).replace(day=1))
    return months[::-1]


def _month_last(first: datetime.date) -> datetime.date:
    return (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)


def county_generate(*, size: str = "county", seed: int = SEED, log=print) -> dict[str, int]:
    """Fill an empty database; returns the row counts written. One transaction: all or nothing."""
    started = time.monotonic()
    today = timezone.localdate()
    with transaction.atomic(), connection.cursor() as cursor:
        first = history_months(today)[0]
        plans = villages_create(count=SIZES[size], seed=seed, first_month=first)
        with BulkLoad(cursor.cursor, BULK_TABLES):
            tables = plans_play(cursor.cursor, plans, today=today, log=log, started=started)
            elapsed = time.monotonic() - started
            log(f"  rows written; indexes and foreign keys next ({elapsed:.0f} s)")
    if not connection.in_atomic_block:  # VACUUM cannot run in a transaction (as in tests)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # fresh statistics and visibility maps
    counts = {table.name: table.count for table in tables}
    counts["seconds"] = round(time.monotonic() - started)
    return counts


def plans_play(cursor, plans: list[VillagePlan], *, today: datetime.date, log, started=None):
    """Register the villages' households, then play their months up to yesterday, oldest
    first, each village from its own first month; today's open proposals; the caches.

    Needs only the villages of `plans` (villages_create, villages_add): other villages of the
    database are left alone. Returns the tables written.
    """
    started = started or time.monotonic()
    yesterday = today - datetime.timedelta(days=1)
    offset = timezone.localtime().strftime("%z")
    first = min(plan.first_month for plan in plans)
    months = [m for m in history_months(today, months_between(first, today)) if m <= yesterday]
    registry = households_create(cursor, plans, offset)
    log(
        f"  registry: {len(plans)} villages, {registry[0].count} households, "
        f"{registry[1].count} people ({time.monotonic() - started:.0f} s)"
    )
    history = History(cursor, plans, offset)
    for index, month in enumerate(months):
        history.month_play(month, min(_month_last(month), yesterday))
        if index % 6 == 5:
            log(
                f"  history: {index + 1}/{len(months)} months, "
                f"{history.entries.count:,} entries ({time.monotonic() - started:.0f} s)"
            )
    history.pending_add(yesterday)
    history.caches_set()
    for table in registry:
        table.sequence_reset(cursor)
    return registry + history.tables


def months_between(first: datetime.date, today: datetime.date) -> int:
    """How many months from `first`'s to `today`'s, both counted."""
    return (today.year - first.year) * 12 + today.month - first.month + 1
