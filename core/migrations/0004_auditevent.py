"""The audit log moves from the project package to core: state only, the table keeps its name."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_idempotency_key"),
        ("aidao", "0003_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "at",
                            models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="when"),
                        ),
                        (
                            "village_id",
                            models.BigIntegerField(
                                blank=True, db_index=True, null=True, verbose_name="village"
                            ),
                        ),
                        (
                            "action",
                            models.CharField(db_index=True, max_length=64, verbose_name="action"),
                        ),
                        (
                            "object_type",
                            models.CharField(blank=True, max_length=64, verbose_name="object type"),
                        ),
                        (
                            "object_id",
                            models.CharField(blank=True, max_length=64, verbose_name="object id"),
                        ),
                        (
                            "detail",
                            models.JSONField(blank=True, default=dict, verbose_name="detail"),
                        ),
                        (
                            "ip_address",
                            models.GenericIPAddressField(blank=True, null=True, verbose_name="from"),
                        ),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="who",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "audit event",
                        "verbose_name_plural": "audit log",
                        "db_table": "aidao_auditevent",
                        "ordering": ["-at", "-id"],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
