from collections import defaultdict

from django.core.management.base import CommandError
from django.db import migrations, models
from django.db.models import Count, Q
from django.db.models.functions import Upper
from django.urls import NoReverseMatch, reverse


def _page(name, pk):
    try:
        return reverse(f"villagers:{name}", args=[pk])
    except NoReverseMatch:
        return f"({name} {pk})"


def _masked(number):
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}"


def registry_twins_refused(apps, schema_editor):
    """Before the database is asked to hold one person once (here) and one household number
    once whatever the case of its letters (0027): stop, naming every person and household
    that is there twice, for the villages to correct; both kinds at once, so one round of
    corrections is enough.

    An ID number's check letter is written X: a small x stored by an older form is made
    capital first, so the same person written both ways is found too.
    """
    Member = apps.get_model("villagers", "Member")
    Household = apps.get_model("villagers", "Household")
    Member.objects.filter(id_number__regex=r"x$").update(id_number=Upper("id_number"))
    repeated = (
        Member.objects.exclude(id_number="")
        .values("id_number")
        .annotate(times=Count("id"))
        .filter(times__gt=1)
        .values_list("id_number", flat=True)
    )
    people = defaultdict(list)
    for member in (
        Member.objects.filter(id_number__in=list(repeated))
        .select_related("household__village")
        .order_by("id_number", "household__village__code", "household__number", "pk")
    ):
        people[member.id_number].append(member)
    twins = (
        Household.objects.annotate(key=Upper("number"))
        .values("village", "key")
        .annotate(times=Count("id"))
        .filter(times__gt=1)
    )
    households = defaultdict(list)
    for twin in twins:
        for household in (
            Household.objects.filter(village=twin["village"], number__iexact=twin["key"])
            .select_related("village")
            .order_by("number", "pk")
        ):
            households[(household.village.code, twin["key"])].append(household)
    if not people and not households:
        return
    lines = [
        "The registry holds the same person or the same household number twice, which this "
        "version refuses. Keep the version you are upgrading from serving: on its pages, the "
        "manager of each village named below corrects each one (the member's ID number "
        "corrected or cleared, one household renumbered). Then run migrate again.",
    ]
    for index, (number, members) in enumerate(people.items(), start=1):
        lines.append(
            f"\nPerson {index}, ID number {_masked(number)}, registered {len(members)} times:"
        )
        lines += [
            f"  village {m.household.village.code} {m.household.village.name}, household "
            f"{m.household.number}, {m.name}: {_page('member_edit', m.pk)}"
            for m in members
        ]
    for (village, key), twins_of in households.items():
        lines.append(
            f"\nHousehold number {key} in village {village}, written {len(twins_of)} ways:"
        )
        lines += [
            f"  {h.number} ({h.head_name}): {_page('household_edit', h.pk)}" for h in twins_of
        ]
    raise CommandError("\n".join(lines))


class Migration(migrations.Migration):
    dependencies = [
        ("villagers", "0025_field_labels"),
    ]

    operations = [
        migrations.RunPython(registry_twins_refused, migrations.RunPython.noop),
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
