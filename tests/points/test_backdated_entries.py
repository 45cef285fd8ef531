"""`at` backdates a card and ledger entries, for loaders that replay history (the demo)."""

import datetime

from django.utils import timezone

from points.models import Entry
from points.services import entry_post
from tests.conftest import issue_card
from tests.factories import HouseholdFactory


def test_backdated_entry_carries_its_time(village_x, group_x, manager_x, supervisor_x):
    """`at` dates the card, the opening grant and later entries; the balance runs as ever."""
    start = timezone.now() - datetime.timedelta(days=300)
    household = HouseholdFactory(group=group_x)
    card = issue_card(household, manager_x, at=start)
    opening = household.account.entries.get()
    assert card.issued_at == opening.created_at == start
    later = start + datetime.timedelta(days=30)
    entry = entry_post(
        account_id=household.account.pk,
        kind=Entry.Kind.AWARD,
        points=5,
        actor=supervisor_x,
        at=later,
    )
    assert entry.created_at == later and entry.balance_after == 105
    assert (
        entry_post(
            account_id=household.account.pk, kind=Entry.Kind.AWARD, points=1, actor=supervisor_x
        ).created_at
        > later
    )  # without `at`, as every view posts: now
