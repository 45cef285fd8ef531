from django.db import migrations, models
from django.db.models import Count, Q


def refuse_duplicates(apps, schema_editor):
    """Stop, naming them, if some ID number is already registered more than once: the
    constraint cannot be built over them, and which registration is right is for the
    village to say (each member can be corrected on their household's page)."""
    Member = apps.get_model("villagers", "Member")
    repeated = (
        Member.objects.exclude(id_number="")
        .values("id_number")
        .annotate(times=Count("id"))
        .filter(times__gt=1)
        .values_list("id_number", flat=True)
    )
    members = (
        Member.objects.filter(id_number__in=list(repeated))
        .order_by("id_number", "household__village__code", "household__number")
        .values_list("id_number", "household__village__code", "household__number", "name")
    )
    if not members:
        return
    lines = [
        f"  {number[:4]}{'*' * (len(number) - 8)}{number[-4:]}: village {village}, "
        f"household {household}, {name}"
        for number, village, household, name in members
    ]
    raise RuntimeError(
        "Some ID numbers are registered for more than one member. Correct or clear them "
        "(the member's page in the household record), then migrate again:\n" + "\n".join(lines)
    )


class Migration(migrations.Migration):

    dependencies = [
        ("villagers", "0025_field_labels"),
    ]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="member",
            constraint=models.UniqueConstraint(
                condition=Q(("id_number", ""), _negated=True),
                fields=("id_number",),
                name="member_id_number_unique",
                violation_error_message="A person with this ID number is already registered.",
            ),
        ),
    ]
