"""The item's `held` column gets its database default on a database that applied 0012
before that migration was edited to add it (4a21b4a). Harmless where it is already set."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("store", "0017_barcodes_plain_digits")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE store_item ALTER COLUMN held SET DEFAULT 0",
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
