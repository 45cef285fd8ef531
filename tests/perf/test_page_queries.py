"""The busy pages: how many queries each costs, and that cached parts follow the data.

The villager pages and the staff queue cache their rendered body under a fingerprint read
in one query, so a repeat visit costs the session, the user (with village, household and
roles) and that fingerprint. No timings here: `make bench` measures those.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from points.publicity import objection_raise, objection_resolve
from points.services import proposal_approve
from store.models import StockMovement
from store.services import reservation_create, stock_purchase
from tests.conftest import issue_card
from tests.factories import HouseholdFactory
from tests.perf.conftest import make_item
from tests.points.conftest import propose


def queries_of(client, url, django_assert_max_num_queries, limit):
    """The page's round trips, without the PREPAREs of its hand statements (core.sql.execute):
    those are made once per database connection, by whichever page first needs them."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    count = len([q for q in captured.captured_queries if not q["sql"].startswith("PREPARE ")])
    assert count <= limit, "\n".join(q["sql"][:120] for q in captured.captured_queries)
    return count, response


def add_households(group, manager, count):
    households = [HouseholdFactory(group=group) for _i in range(count)]
    for household in households:
        issue_card(household, manager)
    return households


def test_balance_page_costs_three_queries_once_cached(
    client_villager_a, card_a, manager_x, supervisor_x, rule_clean, django_assert_max_num_queries
):
    url = reverse("points:me")
    first, _page = queries_of(client_villager_a, url, django_assert_max_num_queries, 10)
    again, _page = queries_of(client_villager_a, url, django_assert_max_num_queries, 3)
    assert again == 3 < first
    for _i in range(25):  # history grows past a page
        proposal_approve(
            proposal_ids=[propose(manager_x, [card_a.household], rule_clean)[0].pk],
            actor=supervisor_x,
        )
    propose(manager_x, [card_a.household], rule_clean)  # one pending
    grown, page = queries_of(client_villager_a, url, django_assert_max_num_queries, 10)
    assert grown == first
    assert page.context["account"].balance == 100 + 25 * 5
    assert "Waiting for approval" in page.content.decode()


def test_balance_page_shows_a_new_entry_at_once(
    client_villager_a, card_a, manager_x, supervisor_x, rule_clean
):
    url = reverse("points:me")
    assert "seen by the manager" not in client_villager_a.get(url).content.decode()
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    assert "Waiting for approval" in client_villager_a.get(url).content.decode()
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    page = client_villager_a.get(url).content.decode()
    assert "Waiting for approval" not in page
    assert "seen by the manager" in page and "105" in page


def test_balance_page_follows_the_publicity_period_at_once(
    client_villager_a, village_x, card_a, manager_x, supervisor_x, rule_clean
):
    village_x.publicity_days = 3
    village_x.save()
    url = reverse("points:me")
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    assert "Waiting for approval" in client_villager_a.get(url).content.decode()
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    page = client_villager_a.get(url).content.decode()
    assert "Approved, in publicity" in page and "Waiting for approval" not in page
    objection = objection_raise(proposal_id=proposal.pk, actor=manager_x, reason="wrong house")
    objection_resolve(
        objection_id=objection.pk, actor=supervisor_x, upheld=True, resolution="objection upheld"
    )
    page = client_villager_a.get(url).content.decode()
    assert "objection upheld" in page and "credited on" not in page


def test_history_pages_by_entry_id(client_villager_a, card_a, manager_x, supervisor_x, rule_clean):
    for _i in range(24):  # with the opening grant: 25 entries, a page of 20 and one of 5
        proposal_approve(
            proposal_ids=[propose(manager_x, [card_a.household], rule_clean)[0].pk],
            actor=supervisor_x,
        )
    url = reverse("points:me")
    first = client_villager_a.get(url).context
    history = first["history"]
    assert len(history.entries) == 20 and history.newer is None and history.older
    older = client_villager_a.get(url, {"before": history.older}).context["history"]
    assert len(older.entries) == 5 and older.older is None
    assert older.entries[-1].kind == "opening"
    newer = client_villager_a.get(url, {"after": older.newer}).context["history"]
    assert [e.pk for e in newer.entries] == [e.pk for e in history.entries]


def test_catalogue_follows_stock_and_balance(
    client_villager_a, card_a, rice, manager_x, redeem, django_assert_max_num_queries
):
    url = reverse("store:catalogue")
    first, page = queries_of(client_villager_a, url, django_assert_max_num_queries, 8)
    again, _page = queries_of(client_villager_a, url, django_assert_max_num_queries, 3)
    assert again == 3 < first
    assert "You can take up to 5" in page.content.decode()  # 100 points, rice at 20
    redeem(card_a.household, {rice: 2}, manager_x)  # balance 60: up to 3 now
    assert "You can take up to 3" in client_villager_a.get(url).content.decode()
    kettle = make_item(card_a.household.village, "appliances", "电热水壶", 40, 0, manager_x)
    assert "Out of stock" in client_villager_a.get(url).content.decode()
    stock_purchase(
        item=kettle, quantity=1, fund_source=StockMovement.FundSource.COLLECTIVE,
        cost_yuan=Decimal("1.00"), actor=manager_x,
    )  # fmt: skip
    assert "Out of stock" not in client_villager_a.get(url).content.decode()


def test_counter_costs_six_queries_once_cached_and_one_more_for_reservations(
    client_manager_x, card_a, villager_a, rice, oil, manager_x, django_assert_max_num_queries
):
    household = card_a.household
    cart_url = reverse("store:counter_cart", args=[household.pk])
    for item in (rice, oil):
        client_manager_x.post(cart_url, {"action": "add", "item": item.pk, "quantity": 1})
    url = reverse("store:counter_household", args=[household.pk])
    first, _page = queries_of(client_manager_x, url, django_assert_max_num_queries, 12)
    # The session, the user, the household, the shelves' fingerprint (with the points its
    # reservations hold: none), the cart's items and, with a cart, the household's members
    # (who collects: 兑换人).
    again, page = queries_of(client_manager_x, url, django_assert_max_num_queries, 6)
    assert again == 6 < first
    html = page.content.decode()
    token = page.context["csrf_token"]
    assert html.count(f'name="csrfmiddlewaretoken" value="{token}"') >= 2 + 3
    assert "csrfslot" not in html  # the cached shelves got this request's token
    stock_purchase(
        item=rice, quantity=7, fund_source=StockMovement.FundSource.COLLECTIVE,
        cost_yuan=Decimal("1.00"), actor=manager_x,
    )  # fmt: skip
    assert "57 left" in client_manager_x.get(url).content.decode()
    # A reservation holds points: its lines are read too, and shown to hand over.
    reserved = reservation_create(household=household, lines={oil.pk: 1}, actor=villager_a)
    client_manager_x.get(url)  # the shelves drawn again: the reservation holds stock
    # ... then the reservations, their lines and the lines' items.
    count, page = queries_of(client_manager_x, url, django_assert_max_num_queries, 9)
    assert count == 9 and reserved.number in page.content.decode()


def test_approval_queue_follows_proposals(
    client_supervisor_x, card_a, card_b, manager_x, supervisor_x, group_x, rule_clean,
    django_assert_max_num_queries,
):  # fmt: skip
    url = reverse("points:approval_queue")
    # A batch from the start: its pass/fail counts cost one query per page, however many.
    first_proposal, _second = propose(manager_x, [card_a.household, card_b.household], rule_clean)
    first, _page = queries_of(client_supervisor_x, url, django_assert_max_num_queries, 13)
    again, _page = queries_of(client_supervisor_x, url, django_assert_max_num_queries, 3)
    assert again == 3 < first
    propose(manager_x, add_households(group_x, manager_x, 8), rule_clean)
    grown, page = queries_of(client_supervisor_x, url, django_assert_max_num_queries, 13)
    assert grown <= first  # fewer on a connection that has not yet prepared its statements
    assert len(page.content.decode().split('name="proposal"')) - 1 == 10
    proposal_approve(proposal_ids=[first_proposal.pk], actor=supervisor_x)
    html = client_supervisor_x.get(url).content.decode()
    assert f'value="{first_proposal.pk}"' not in html


def test_public_notice_queries_do_not_grow(
    client_villager_a, card_a, manager_x, supervisor_x, group_x, rule_clean, rule_litter,
    rice, redeem, django_assert_max_num_queries,
):  # fmt: skip
    today = timezone.localdate()
    url = reverse("reports:notice_month", args=[today.year, today.month])
    redeem(card_a.household, {rice: 1}, manager_x)
    # 16 when drawn: with the months published, the digest of what the notice shows, the
    # ledger's month by kind, the households' balances, the month's corrections, the
    # villager's cards (to find their own line) and the bell's unread count. 6 once drawn:
    # the session, the user, the months published, the digest, the cards and the bell. A
    # first visit prepares the session's statements (not counted: whether this connection
    # has them depends on the tests run before).
    client_villager_a.get(url)
    cache.clear()
    small, _page = queries_of(client_villager_a, url, django_assert_max_num_queries, 16)
    again, _page = queries_of(client_villager_a, url, django_assert_max_num_queries, 6)
    households = add_households(group_x, manager_x, 6)
    awards = propose(manager_x, households + [card_a.household], rule_clean)
    fines = propose(manager_x, households, rule_litter)
    proposal_approve(proposal_ids=[p.pk for p in awards + fines], actor=supervisor_x)
    for household in households:
        redeem(household, {rice: 1}, manager_x)
    large, page = queries_of(client_villager_a, url, django_assert_max_num_queries, 16)
    assert large == small
    assert page.content.decode().count("seen by the manager") == 13
    assert queries_of(client_villager_a, url, django_assert_max_num_queries, 6)[0] == again


def test_notice_month_is_cut_by_the_entry_time(
    client_supervisor_x, card_a, manager_x, supervisor_x, rule_clean
):
    """An approval decided just before midnight whose entry is posted just after belongs to
    the entry's month, though the query finds it through the decision time."""
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    (approved,) = proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    entry_month = timezone.localtime(approved.entry.created_at).date().replace(day=1)
    previous = entry_month - datetime.timedelta(days=1)
    type(approved).objects.filter(pk=approved.pk).update(
        decided_at=timezone.make_aware(datetime.datetime.combine(previous, datetime.time(23, 59)))
    )
    # The supervisor reads both (the earlier month is a draft until published).
    url = reverse("reports:notice_month", args=[entry_month.year, entry_month.month])
    assert "seen by the manager" in client_supervisor_x.get(url).content.decode()
    url = reverse("reports:notice_month", args=[previous.year, previous.month])
    page = client_supervisor_x.get(url)
    assert page.status_code == 200
    assert "seen by the manager" not in page.content.decode()


def test_health_check_needs_no_database(client_anon):
    """No `db` fixture: pytest-django would refuse any database access."""
    response = client_anon.get(reverse("healthz"))
    assert response.status_code == 200 and response.content == b"ok"


@pytest.mark.parametrize("name", ["points:me", "store:catalogue"])
def test_villager_pages_load_no_javascript_bundle(client_villager_a, card_a, name):
    assert "bootstrap.bundle" not in client_villager_a.get(reverse(name)).content.decode()
