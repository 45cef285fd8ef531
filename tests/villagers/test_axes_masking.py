"""Attempt rows axes wrote before the PIN fields were named sensitive lose their digits
(villagers/migrations/0017), and keep everything else."""

import importlib

from axes.models import AccessAttempt
from django.apps import apps


def test_the_migration_masks_pins_kept_in_clear(db):
    migration = importlib.import_module("villagers.migrations.0017_mask_pins_in_axes_attempts")
    attempt = AccessAttempt.objects.create(
        username="card:101000016",
        ip_address="10.0.0.1",
        user_agent="x",
        get_data="",
        post_data="card_number=101000016\npin=4321\n---------\nold_pin=1234\npin=5678\npin_again=5678",
        http_accept="*/*",
        path_info="/accounts/card-login/",
        failures_since_start=2,
    )
    migration.mask_pins(apps, None)
    attempt.refresh_from_db()
    assert attempt.post_data == (
        "card_number=101000016\npin=********************\n---------\n"
        "old_pin=********************\npin=********************\npin_again=********************"
    )
