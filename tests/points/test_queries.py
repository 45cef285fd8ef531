"""Query counts of the busy pages stay flat as rows grow."""

from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from points.services import proposal_approve
from tests.conftest import issue_card
from tests.factories import HouseholdFactory, MemberFactory
from tests.points.conftest import png_upload, propose


def add_households(group, manager, count):
    households = [HouseholdFactory(group=group) for _i in range(count)]
    for household in households:
        issue_card(household, manager)
    return households


def count_queries(client, url, django_assert_max_num_queries, limit):
    with django_assert_max_num_queries(limit) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("name", ["approval_queue"])
def test_approval_queue_queries_do_not_grow(
    name, client_supervisor_x, card_a, manager_x, group_x, rule_clean, django_assert_max_num_queries
):
    url = reverse(f"points:{name}")
    propose(manager_x, [card_a.household], rule_clean, photo=png_upload())
    small = count_queries(client_supervisor_x, url, django_assert_max_num_queries, 15)
    households = add_households(group_x, manager_x, 12)
    propose(manager_x, households, rule_clean, photo=png_upload())
    for household in households[:5]:
        member = MemberFactory(household=household)
        propose(manager_x, [household], rule_clean, member=member)
    large = count_queries(client_supervisor_x, url, django_assert_max_num_queries, 15)
    assert large <= small + 1  # the batch rows' counts: one query, however many batches


@pytest.mark.parametrize("filters", [{}, {"page": "2"}, {"group": "0", "page": "2"}])
def test_approval_queue_queries_do_not_depend_on_the_page_size(
    filters,
    client_supervisor_x,
    card_a,
    manager_x,
    group_x,
    rule_clean,
    monkeypatch,
    django_assert_max_num_queries,
):
    """A page of 3 and a page of 50 of the same queue cost the same queries: the rows come
    with their households, balances, members, batches and proposers, whatever their number."""
    from points.views import approvals

    households = add_households(group_x, manager_x, 8)
    for start in (0, 4):  # two batches, and proposals of no batch with members
        propose(manager_x, households[start : start + 4], rule_clean, photo=png_upload())
    for household in households[:4]:
        propose(manager_x, [household], rule_clean, member=MemberFactory(household=household))
    if "group" in filters:
        filters = {**filters, "group": str(group_x.pk)}
    url = f"{reverse('points:approval_queue')}?{urlencode(filters)}"
    client_supervisor_x.get(url)  # the session's statements prepared (core.sql): not counted
    counts = []
    for size in (3, 50):
        monkeypatch.setattr(approvals, "QUEUE_PAGE_SIZE", size)
        cache.clear()  # drawn afresh, not from the cached parts
        counts.append(count_queries(client_supervisor_x, url, django_assert_max_num_queries, 16))
    assert counts[0] == counts[1]


def test_history_page_queries_do_not_grow(
    client_villager_a, card_a, manager_x, supervisor_x, rule_clean, django_assert_max_num_queries
):
    url = reverse("points:me")
    small = count_queries(client_villager_a, url, django_assert_max_num_queries, 20)
    for _i in range(12):
        proposal_approve(
            proposal_ids=[propose(manager_x, [card_a.household], rule_clean)[0].pk],
            actor=supervisor_x,
        )
    propose(manager_x, [card_a.household], rule_clean)
    large = count_queries(client_villager_a, url, django_assert_max_num_queries, 20)
    assert large <= small + 1  # the pending list appears: one query, whatever its length
    staff_url = reverse("points:household_ledger", args=[card_a.household_id])
    from django.test import Client

    client = Client()
    client.force_login(supervisor_x)
    count_queries(client, staff_url, django_assert_max_num_queries, 20)


def test_public_notice_queries_do_not_grow(
    client_villager_a,
    card_a,
    manager_x,
    supervisor_x,
    group_x,
    rule_clean,
    rule_litter,
    django_assert_max_num_queries,
):
    url = reverse("reports:notice")
    # 16 when drawn: the notice also reads the months published, the digest of what it
    # shows, the ledger's month by kind, every household's balances and the month's
    # corrections (one query each), and the bell. A first visit prepares the session's
    # statement on this connection (core.sql): not counted. Drawn afresh each time here.
    client_villager_a.get(url)
    cache.clear()
    small = count_queries(client_villager_a, url, django_assert_max_num_queries, 16)
    households = add_households(group_x, manager_x, 10)
    awards = propose(manager_x, households + [card_a.household], rule_clean)
    fines = propose(manager_x, households, rule_litter)
    proposal_approve(proposal_ids=[p.pk for p in awards + fines], actor=supervisor_x)
    cache.clear()
    large = count_queries(client_villager_a, url, django_assert_max_num_queries, 16)
    assert large == small
    today = timezone.localdate()
    xlsx = reverse("reports:notice_xlsx", args=[today.year, today.month])
    with django_assert_max_num_queries(14):
        assert client_villager_a.get(xlsx).status_code == 200
