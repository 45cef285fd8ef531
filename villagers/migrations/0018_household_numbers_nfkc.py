"""Household numbers stored as typed with a Chinese input method's full-width characters
(X００１, １２) are stored as the household form and the roster now write them (NFKC, trimmed,
villagers.models.household_number_text): otherwise a paper ledger's "12" never finds "１２".

A number is changed only where its new spelling is free in the village; where another
household already has it (one household registered twice, under two spellings), both are
left as they are for a person to decide, and named on the console. Such a household's
form refuses to be saved until it is renumbered: its number, written plainly, is its twin's.
"""

import unicodedata
from collections import defaultdict

from django.db import migrations

MAX_LENGTH = 20  # Household.number's


def numbers_normalise(apps, schema_editor):
    Household = apps.get_model("villagers", "Household")
    rows = list(Household.objects.order_by("pk").values_list("pk", "village_id", "number"))
    taken = defaultdict(set)
    for _pk, village_id, number in rows:
        taken[village_id].add(number)
    left = []
    for pk, village_id, number in rows:
        normal = unicodedata.normalize("NFKC", number).strip()
        if normal == number:
            continue
        if not normal or len(normal) > MAX_LENGTH or normal in taken[village_id]:
            left.append(f"household {pk} ({number!r} in village {village_id})")
            continue
        Household.objects.filter(pk=pk).update(number=normal)
        taken[village_id].discard(number)
        taken[village_id].add(normal)
    if left:
        print(  # a migration's only way to tell the person running it
            "\nHousehold numbers left as typed (their plain spelling is another household's): "
            + "; ".join(left)
        )


class Migration(migrations.Migration):
    dependencies = [("villagers", "0017_mask_pins_in_axes_attempts")]

    operations = [migrations.RunPython(numbers_normalise, migrations.RunPython.noop)]
