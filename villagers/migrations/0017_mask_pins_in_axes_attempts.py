"""Mask the PINs django-axes wrote in clear into its attempt rows before
AXES_SENSITIVE_PARAMETERS named the PIN fields (the card login's `pin`, the PIN change's
`old_pin` and `pin_again`): those rows keep the attempt, not the digits."""

import re

from django.db import migrations

PIN_FIELD = re.compile(r"^((?:old_)?pin(?:_again)?)=.*$", re.MULTILINE)
MASK = "********************"


def mask_pins(apps, schema_editor):
    AccessAttempt = apps.get_model("axes", "AccessAttempt")
    for attempt in AccessAttempt.objects.filter(post_data__contains="pin").iterator():
        masked = PIN_FIELD.sub(lambda found: f"{found.group(1)}={MASK}", attempt.post_data)
        if masked != attempt.post_data:
            AccessAttempt.objects.filter(pk=attempt.pk).update(post_data=masked)


class Migration(migrations.Migration):
    dependencies = [
        ("villagers", "0016_referral_settlement"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(mask_pins, migrations.RunPython.noop)]
