"""Villager logins were named household-<id>: a name that told which household to guess at.

Every villager (non-staff) login gets a random name like the ones made from now on
(villagers.services.villager_username_new); villagers never type it, they sign in with
their card. Reversing keeps the random names: nothing depends on the old pattern.
"""

import secrets

from django.db import migrations


def rename_villager_logins(apps, schema_editor):
    User = apps.get_model("villagers", "User")
    logins = User.objects.filter(is_staff=False, username__startswith="household-")
    for user in logins.only("pk").iterator():
        User.objects.filter(pk=user.pk).update(username=f"v-{secrets.token_hex(8)}")


class Migration(migrations.Migration):
    dependencies = [
        ("villagers", "0004_ascii_digits"),
    ]

    operations = [
        migrations.RunPython(rename_villager_logins, migrations.RunPython.noop),
    ]
