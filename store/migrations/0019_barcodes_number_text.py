"""Barcodes read as the item form and the counter's search read them (core.forms.number_text,
copied here as it is today: a migration does what it did when it was written): 0017 turned
only full-width digits into plain ones, leaving a full-width minus, plus or point, and white
space around, which no scan would match. One that would clash with another item of its
village keeps its text (its edit form says so)."""

from django.db import migrations

FULL_WIDTH = str.maketrans("０１２３４５６７８９－＋．", "0123456789-+.")


def number_text(value: str) -> str:
    return value.translate(FULL_WIDTH).strip()


def barcodes_as_read(apps, schema_editor):
    Item = apps.get_model("store", "Item")
    for item in Item.objects.exclude(barcode="").only("pk", "village_id", "barcode"):
        plain = number_text(item.barcode)
        if plain == item.barcode:
            continue
        taken = Item.objects.filter(village_id=item.village_id, barcode=plain).exists()
        if not taken:
            Item.objects.filter(pk=item.pk).update(barcode=plain)


class Migration(migrations.Migration):
    dependencies = [("store", "0018_item_held_db_default")]

    operations = [migrations.RunPython(barcodes_as_read, migrations.RunPython.noop)]
