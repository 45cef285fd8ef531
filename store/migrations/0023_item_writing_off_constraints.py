"""The database keeps what waits to be written off within the stock reservations leave, and
a correction's set-aside within its shortfall (filled by 0022)."""

import django.db.models.expressions
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("store", "0022_item_writing_off")]

    operations = [
        migrations.AddConstraint(
            model_name="item",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("writing_off__gte", 0),
                    (
                        "writing_off__lte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("stock"), "-", models.F("held")
                        ),
                    ),
                ),
                name="item_writing_off_within_stock",
            ),
        ),
        migrations.AddConstraint(
            model_name="stockcorrection",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("set_aside", 0),
                    (
                        "set_aside__lte",
                        django.db.models.expressions.CombinedExpression(
                            models.F("quantity"), "*", models.Value(-1)
                        ),
                    ),
                    _connector="OR",
                ),
                name="correction_set_aside_within_shortfall",
            ),
        ),
    ]
