"""Barcodes saved with full-width digits (a scanner typing through a Chinese input method)
become plain digits: the item form and the counter's search now read them so, and an item
saved before would no longer be found by any scan. One that would clash with another item
of its village keeps its text (the manager sees both on the item list)."""

from django.db import migrations

FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def barcodes_plain(apps, schema_editor):
    Item = apps.get_model("store", "Item")
    for item in Item.objects.filter(barcode__regex="[０-９]").only("pk", "village_id", "barcode"):
        plain = item.barcode.translate(FULL_WIDTH_DIGITS).strip()
        taken = Item.objects.filter(village_id=item.village_id, barcode=plain).exists()
        if not taken:
            Item.objects.filter(pk=item.pk).update(barcode=plain)


class Migration(migrations.Migration):
    dependencies = [("store", "0016_redemption_line_zone_required")]

    operations = [migrations.RunPython(barcodes_plain, migrations.RunPython.noop)]
