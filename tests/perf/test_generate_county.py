"""The county generator, at one village: a consistent ledger and store, and no overwriting;
and a province's registry: counties of 47 villages, the first the county's."""

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from core.months import local_start
from demo.county.generate import SEED, county_generate, history_months
from demo.county.registry import VILLAGES_PER_COUNTY, villages_create
from points import checks as points_checks
from points.models import Account, Entry, Proposal
from store import checks as store_checks
from store.models import Item, Redemption
from villagers.models import County, Household, Township, User, Village


@pytest.mark.django_db
def test_one_village_with_three_years_is_consistent():
    counts = county_generate(size="village", log=lambda line: None)
    assert Village.objects.get().name == "啊道村"
    # Its records, and its month pages, begin with the first month of its history.
    first = history_months(timezone.localdate())[0]
    assert Village.objects.get().started_on == first
    assert not Entry.objects.filter(created_at__lt=local_start(first)).exists()
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


class _RolledBack(Exception):
    pass


def _village_names() -> list[tuple[str, str, str]]:
    return list(
        Village.objects.order_by("code").values_list("code", "name", "township__county__name")
    )


@pytest.mark.django_db
def test_a_province_is_counties_of_47_villages_and_its_first_is_the_county():
    """Past 47 villages a second county begins, with its own administrator and townships;
    the first county's villages are drawn as in the county dataset (村 101 is 啊道村)."""
    first = datetime.date(2024, 1, 1)
    try:
        with transaction.atomic():
            villages_create(count=VILLAGES_PER_COUNTY, seed=SEED, first_month=first)
            county = _village_names()
            raise _RolledBack
    except _RolledBack:
        pass
    plans = villages_create(count=VILLAGES_PER_COUNTY + 2, seed=SEED, first_month=first)
    assert [plan.index for plan in plans] == list(range(VILLAGES_PER_COUNTY + 2))
    province = _village_names()
    assert province[:VILLAGES_PER_COUNTY] == county
    assert county[0] == ("101", "啊道村", "宜川县")
    second = County.objects.exclude(name="宜川县").get()
    assert [row[0] for row in province[VILLAGES_PER_COUNTY:]] == ["148", "149"]
    assert {row[2] for row in province[VILLAGES_PER_COUNTY:]} == {second.name}
    assert User.objects.get(username="county02").county == second
    assert Township.objects.filter(county=second).count() == 7
