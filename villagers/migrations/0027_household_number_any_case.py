"""A household number is one number however its letters are written: "x001" is X001, as the
roster and the household form now compare them. The database holds it too, beside the
constraint on the number as written (whose index the lookups and lists use).

Twins a database already holds (X001 and x001 in one village) are named by 0026, which stops
before either constraint is asked for; each is renumbered on its household page."""

from django.db import migrations, models
from django.db.models.functions import Upper


class Migration(migrations.Migration):
    dependencies = [("villagers", "0026_member_id_number_unique")]

    operations = [
        migrations.AddConstraint(
            model_name="household",
            constraint=models.UniqueConstraint(
                Upper("number"),
                models.F("village"),
                name="household_unique_number_any_case",
                violation_error_message="This household number is already used in this village.",
            ),
        )
    ]
