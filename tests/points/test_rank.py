"""Honour, not balance: the villager's rank counts the points earned this year (awards credited
since 1 January, reversed ones left out), never what is left after shopping."""

import datetime

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from points.ledger import entry_post
from points.models import Account, Entry
from points.services import entry_reverse, proposal_approve
from tests.points.conftest import propose
from tests.store.conftest import make_item, redeem, rice, zones_x  # noqa: F401


def rank_of(client):
    return client.get(reverse("points:me")).context["rank"]


def award(manager, supervisor, household, rule):
    (proposal,) = propose(manager, [household], rule)
    (approved,) = proposal_approve(proposal_ids=[proposal.pk], actor=supervisor)
    return approved.entry


def test_rank_follows_points_earned_not_the_balance(
    client_villager_a, client_villager_b, card_a, card_b, manager_x, supervisor_x, rule_clean,
    rice, redeem,  # noqa: F811
):  # fmt: skip
    before = rank_of(client_villager_a)
    assert (before.earned, before.rank, before.ranked) == (0, 1, 2)  # a tie: both first
    award(manager_x, supervisor_x, card_a.household, rule_clean)
    assert (rank_of(client_villager_a).earned, rank_of(client_villager_a).rank) == (5, 1)
    assert (rank_of(client_villager_b).earned, rank_of(client_villager_b).rank) == (0, 2)
    # A spends at the store: fewer points left than B, still first by what it earned.
    redeem(card_a.household, {rice: 2}, manager_x)
    assert Account.objects.get(household=card_a.household).balance < 100
    assert rank_of(client_villager_a).rank == 1 and rank_of(client_villager_b).rank == 2


def test_a_reversed_award_no_longer_counts(
    client_villager_a, card_a, card_b, manager_x, supervisor_x, rule_clean
):
    entry = award(manager_x, supervisor_x, card_a.household, rule_clean)
    award(manager_x, supervisor_x, card_b.household, rule_clean)
    award(manager_x, supervisor_x, card_b.household, rule_clean)
    assert (rank_of(client_villager_a).earned, rank_of(client_villager_a).rank) == (5, 2)
    entry_reverse(entry=entry, actor=supervisor_x, reason="wrong household")
    assert (rank_of(client_villager_a).earned, rank_of(client_villager_a).rank) == (0, 2)


def test_last_years_awards_do_not_count(client_villager_a, card_a, card_b):
    last_year = timezone.now().replace(month=1, day=1) - datetime.timedelta(days=2)
    account = Account.objects.get(household=card_b.household)
    entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=50, actor=None, at=last_year)
    rank = rank_of(client_villager_a)
    assert (rank.earned, rank.rank) == (0, 1)  # B's 50 points were earned last year
    entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=1, actor=None)
    assert rank_of(client_villager_a).rank == 2


def test_the_page_says_how_it_ranks_and_hides_the_rank_if_the_village_says_so(
    card_a, villager_a, village_x
):
    client = Client()
    client.force_login(villager_a)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(reverse("points:me"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "按今年获得的积分排名" in html
    village_x.show_rank = False
    village_x.save(update_fields=["show_rank"])
    response = client.get(reverse("points:me"))
    assert "rank" not in response.context and "按今年获得的积分排名" not in response.text
