"""A village whose black list named households before 0021 gets the moment names were turned
on, read from the audit log's last change of the setting (the admin has recorded each one):
the deductions made while the board named nobody are not named afterwards. A village turned
on with no such event (by hand, by a script) is left empty: every deduction is named, as
before."""

from django.db import migrations


def names_since_filled(apps, schema_editor):
    Village = apps.get_model("villagers", "Village")
    AuditEvent = apps.get_model("core", "AuditEvent")
    for village in Village.objects.filter(black_list_names=True, black_list_names_since=None):
        turned_on = (
            AuditEvent.objects.filter(
                village_id=village.pk,
                action__in=["village.update", "village.create"],
                detail__changed__has_key="black_list_names",
            )
            .order_by("-at", "-pk")
            .values_list("at", flat=True)
            .first()
        )
        if turned_on is not None:
            Village.objects.filter(pk=village.pk).update(black_list_names_since=turned_on)


class Migration(migrations.Migration):
    dependencies = [
        ("villagers", "0023_household_sms_opt_out_db_default"),
        ("core", "0005_auditevent_place"),
    ]

    operations = [migrations.RunPython(names_since_filled, migrations.RunPython.noop)]
