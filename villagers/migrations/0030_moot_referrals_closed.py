"""Close what waits at the county for nobody: a member's PIN for someone who has left the
household, a card for a household that moved away or closed. The services close these as
the leave or the move is recorded; this closes those recorded before they did."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone, translation
from django.utils.translation import gettext


def moot_referrals_close(apps, schema_editor):
    Referral = apps.get_model("villagers", "Referral")
    Member = apps.get_model("villagers", "Member")
    Household = apps.get_model("villagers", "Household")
    left = Member.objects.filter(left_on__isnull=False).values("pk")
    gone = Household.objects.exclude(status="active").values("pk")
    with translation.override(settings.LANGUAGE_CODE):
        moot = [
            ("member_pin", left, gettext("left the household")),
            ("card_issue", gone, gettext("the household moved away or closed")),
        ]
    for kind, objects, outcome in moot:
        for referral in Referral.objects.filter(kind=kind, status="open", object_id__in=objects):
            referral.request.pop("pin_hash", None)  # its secret goes as it stops waiting
            referral.status = "done"
            referral.decided_at = timezone.now()
            referral.outcome = outcome
            referral.save(update_fields=["request", "status", "decided_at", "outcome"])


class Migration(migrations.Migration):
    dependencies = [("villagers", "0029_unique_messages")]

    operations = [migrations.RunPython(moot_referrals_close, migrations.RunPython.noop)]
