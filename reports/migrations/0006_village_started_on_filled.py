"""Each village's start (villagers 0033): the day of its earliest record, whichever kind it
is, so that every month its records reach stays on its pages (a published notice counts: it
stays reachable too). A village with no record keeps the day it was migrated. Here, in the
layer that knows every app's records."""

import datetime

from django.db import migrations
from django.db.models import Min
from django.utils import timezone

# (app, model, the path to its village, the field that dates it)
RECORDS = [
    ("points", "Entry", "account__village", "created_at"),
    ("points", "Proposal", "village", "proposed_at"),
    ("villagers", "Household", "village", "created_at"),
    ("villagers", "Card", "household__village", "issued_at"),
    ("store", "Donation", "village", "received_on"),
    ("store", "Donation", "village", "created_at"),
    ("store", "Redemption", "village", "created_at"),
    ("store", "StockMovement", "village", "created_at"),
    ("reports", "PublishedNotice", "village", "month"),
]
# core.months.EARLIEST_DAY when this was written: no record of the scheme is older.
EARLIEST_DAY = datetime.date(2000, 1, 1)


def started_on_filled(apps, schema_editor):
    Village = apps.get_model("villagers", "Village")
    earliest = {}
    for app, model, village, field in RECORDS:
        rows = (
            apps.get_model(app, model)
            .objects.order_by()
            .values(village)
            .annotate(first=Min(field))
            .values_list(village, "first")
        )
        for village_id, first in rows:
            if village_id is None or first is None:
                continue
            if isinstance(first, datetime.datetime):
                first = timezone.localdate(first)
            earliest[village_id] = min(first, earliest.get(village_id, first))
    for village_id, first in earliest.items():
        Village.objects.filter(pk=village_id, started_on__gt=first).update(
            started_on=max(first, EARLIEST_DAY)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0005_audit_events_placed_by_token"),
        ("villagers", "0033_village_started_on"),
        ("points", "0022_account_balance_not_editable"),
        ("store", "0024_glosses_simplified"),
    ]

    operations = [migrations.RunPython(started_on_filled, migrations.RunPython.noop)]
