"""The audit log moved to core.AuditEvent: state only, the table and its trigger stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("aidao", "0003_append_only"),
        ("core", "0004_auditevent"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
