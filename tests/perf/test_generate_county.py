"""The county generator, at one village: a consistent ledger and store, and no overwriting."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from demo.county.generate import county_generate
from points import checks as points_checks
from points.models import Account, Entry, Proposal
from store import checks as store_checks
from store.models import Item, Redemption
from villagers.models import Household, Village


@pytest.mark.django_db
def test_one_village_with_three_years_is_consistent():
    counts = county_generate(size="village", log=lambda line: None)
    assert Village.objects.get().name == "啊道村"
    assert Household.objects.count() == 154
    assert counts["points_entry"] == Entry.objects.count() > 25_000
    assert Redemption.objects.count() > 4_000
    assert Proposal.objects.filter(status="proposed").count() == 25
    # Pending ones wait for a decider; every decided one has its supervisor and time.
    assert not Proposal.objects.filter(status="proposed", decided_by__isnull=False).exists()
    assert not Proposal.objects.filter(status="proposed", decided_at__isnull=False).exists()
    assert not Proposal.objects.exclude(status="proposed").filter(decided_by__isnull=True).exists()
    assert points_checks.check() == []
    assert store_checks.check() == []
    for account in Account.objects.all()[:20]:
        assert account.balance == sum(account.entries.values_list("points", flat=True))
    assert all(item.stock >= 0 for item in Item.objects.all())


def test_refuses_a_database_with_villages(village_x):
    with pytest.raises(CommandError, match="empty database"):
        call_command("generate_county", "--size", "village")


def test_healthz_answers_without_database_or_session(client):
    # No django_db mark: pytest-django refuses any database access, so this proves none.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok"
    assert "no-cache" in response["Cache-Control"]
    assert client.post("/healthz").status_code == 405
