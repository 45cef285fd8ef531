"""The county's queue and the village's "sent up" page: what each item waiting reads, in a
number of queries that does not grow with the items."""

import pytest
from django.urls import reverse

from tests.conftest import issue_card
from tests.factories import HouseholdFactory
from villagers.models import Referral
from villagers.services import card_recall
from wishwall.models import Wish
from wishwall.services import wish_post

QUEUE = reverse("reports:county_queue")
SENT_UP = reverse("reports:village_referrals")
NEW_CARD = "A card, with a PIN chosen by the manager; its opening points are credited."
AGAIN = "A card issued again, with a PIN chosen by the manager; it keeps the household's points"


def sent_up(kind, object_id, household, manager):
    """An item waiting for the county, as the village's second-person rule sends it up."""
    return Referral.objects.create(
        village=household.village,
        household=household,
        kind=kind,
        object_id=object_id,
        why="the manager's own household",
        requested_by=manager,
    )


def items_sent_up(group, manager, count):
    """`count` card issues (every other one a card issued again after a recall) and as many
    wishes to match."""
    for number in range(count):
        household = HouseholdFactory(group=group)
        if number % 2:
            issue_card(household, manager)
            card_recall(household=household, actor=manager, reason="卡丢了")
        sent_up(Referral.Kind.CARD_ISSUE, household.pk, household, manager)
        wish = wish_post(
            household=household, actor=manager, title=f"书包 {number}", kind="study", story="上学"
        )
        sent_up(Referral.Kind.WISH_MATCH, wish.pk, household, manager)


@pytest.mark.parametrize(
    ("client_name", "url"), [("client_county", QUEUE), ("client_manager_x", SENT_UP)]
)
def test_the_items_waiting_cost_the_same_queries_however_many(
    request, client_name, url, group_x, manager_x, django_assert_max_num_queries
):
    """The probe of the county's month: each card issue waiting asked the database once
    more (whether the household had a card before) and so did each wish to match (its
    match, which it has not). Both are read with the items now."""
    client = request.getfixturevalue(client_name)
    items_sent_up(group_x, manager_x, 1)
    with django_assert_max_num_queries(40) as one:
        page = client.get(url).content.decode()
    assert page.count(NEW_CARD) == 1 and AGAIN not in page
    items_sent_up(group_x, manager_x, 6)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client.get(url).content.decode()
    assert page.count(NEW_CARD) == 4 and page.count(AGAIN) == 3
    assert Wish.objects.filter(match__isnull=True).count() == page.count("书包 ") == 7
