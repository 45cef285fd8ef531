"""The household's `sms_opt_out` column gets its database default on a database that applied
0008 before that migration was edited to add it (f5aed7d): a COPY naming only the columns
it fills (the demo's, generate_county's) failed there with a NULL. Harmless where it is
already set."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("villagers", "0022_village_yuan_per_point_above_zero")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE villagers_household ALTER COLUMN sms_opt_out SET DEFAULT false",
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
