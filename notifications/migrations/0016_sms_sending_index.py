"""The messages "being sent", read by every sending run (notifications.sending._stale_marked):
a small partial index, built without blocking the writes of a large outbox."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("notifications", "0015_settlement_called_off"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="notification",
            index=models.Index(
                condition=models.Q(("sms_status", "sending")),
                fields=["sms_tried_at"],
                name="notification_sms_sending",
            ),
        ),
    ]
