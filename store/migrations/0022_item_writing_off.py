"""Goods waiting to be written off (or found missing by a stock-take) are set aside: not on
offer until the supervisor decides. Each waiting shortfall or write-off sets its goods aside
(StockCorrection.set_aside), and Item.writing_off is their sum. The check constraints come in
0023, once every row is filled."""

from django.db import migrations, models


def set_aside_filled(apps, schema_editor):
    """The corrections waiting when the upgrade runs set their goods aside, the oldest first,
    as far as the shelf still has them (the stock less what reservations hold): one asked
    before goods were set aside may take more than is left, after sales made meanwhile. Its
    confirmation is then refused as it was before (only what is in stock can go)."""
    Item = apps.get_model("store", "Item")
    StockCorrection = apps.get_model("store", "StockCorrection")
    waiting = list(
        StockCorrection.objects.filter(status="pending", quantity__lt=0).order_by("pk")
    )
    items = Item.objects.select_for_update().filter(pk__in={c.item_id for c in waiting})
    room = {item.pk: max(item.stock - item.held, 0) for item in items.order_by("pk")}
    aside = dict.fromkeys(room, 0)
    for correction in waiting:
        taken = min(-correction.quantity, room[correction.item_id])
        room[correction.item_id] -= taken
        aside[correction.item_id] += taken
        if taken:
            StockCorrection.objects.filter(pk=correction.pk).update(set_aside=taken)
    for item_id, writing_off in aside.items():
        if writing_off:
            Item.objects.filter(pk=item_id).update(writing_off=writing_off)


class Migration(migrations.Migration):
    dependencies = [("store", "0021_unique_messages")]

    operations = [
        migrations.AddField(
            model_name="item",
            name="writing_off",
            field=models.IntegerField(
                db_default=0,
                default=0,
                editable=False,
                verbose_name="waiting to be written off",
            ),
        ),
        migrations.AddField(
            model_name="stockcorrection",
            name="set_aside",
            field=models.PositiveIntegerField(
                db_default=0, default=0, editable=False, verbose_name="set aside"
            ),
        ),
        migrations.RunPython(set_aside_filled, migrations.RunPython.noop),
    ]
