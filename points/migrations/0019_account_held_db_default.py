"""The account's `held` column gets its database default on a database that applied 0012
before that migration was edited to add it (4a21b4a): a COPY naming only the columns it
fills (the demo's, generate_county's) failed there with a NULL. Harmless where it is
already set."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("points", "0018_held_entries")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE points_account ALTER COLUMN held SET DEFAULT 0",
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
