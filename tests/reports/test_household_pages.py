"""The staff's household pages: the hub of one household and the list with balances."""

import datetime
import html
import itertools
import re

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from points.models import Account, Entry, Proposal, Rule
from points.publicity import proposals_credit_due
from points.services import entry_post, proposal_approve
from tests.conftest import form_key, issue_card
from tests.factories import (
    HouseholdFactory,
    MemberFactory,
    ParticipationFactory,
    PassedInspectionFactory,
    VillageGroupFactory,
)
from tests.points.conftest import make_rule, propose
from wishwall.services import wish_post


def hub_url(household) -> str:
    return reverse("reports:household", args=[household.pk])


def _list(client, **params):
    return client.get(reverse("reports:household_list"), params)


def listed_ids(response) -> list[int]:
    """The households of a list page, in the order shown."""
    return [int(pk) for pk in re.findall(r'href="/village/households/(\d+)/"', response.text)]


@pytest.fixture
def client_county_x(client_county, village_x):
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    return client_county


@pytest.fixture
def history_a(card_a, manager_x, supervisor_x, village_x):
    """Household A: 100 opening + 10 credited; +5 proposed; -20 held; +30 in publicity."""
    household = card_a.household
    award = make_rule(village_x, "L01", 10, Rule.Category.VOLUNTARY_LABOUR, description="扫村道")
    proposal_approve(
        proposal_ids=[propose(manager_x, [household], award)[0].pk], actor=supervisor_x
    )
    clean = make_rule(village_x, "E01", 5, description="五净一规范合格")
    propose(manager_x, [household], clean)
    village_x.publicity_days = 3
    village_x.save(update_fields=["publicity_days"])
    litter = make_rule(village_x, "D01", -20, description="乱扔垃圾")
    (fine,) = proposal_approve(
        proposal_ids=[propose(manager_x, [household], litter)[0].pk], actor=supervisor_x
    )
    account = Account.objects.get(household=household)
    entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-100, actor=manager_x)
    fine.refresh_from_db()
    assert proposals_credit_due(now=fine.credit_due_at).held == [fine.pk]
    honour = make_rule(village_x, "H01", 30, Rule.Category.HONOURS, description="最美婆婆")
    proposal_approve(
        proposal_ids=[propose(manager_x, [household], honour)[0].pk], actor=supervisor_x
    )
    return household


# --- the hub --------------------------------------------------------------------------------


def test_hub_shows_points_card_members_inspections_participation_and_wishes(
    client_manager_x, history_a, villager_a, village_x
):
    household = history_a
    MemberFactory(household=household, name="王小梅", phone="13700001234")
    wish_post(
        household=household, actor=villager_a, title="一副老花镜", kind="health", story="看不清"
    )
    page = client_manager_x.get(hub_url(household))
    assert page.status_code == 200
    text = page.text
    balance = Account.objects.get(household=household).balance
    assert balance == 10
    assert re.search(rf'class="balance-figure">{balance}<', text)
    assert f"¥{balance * village_x.yuan_per_point:.2f}" in text
    waiting = dict(re.findall(r'data-waiting="(\w+)">([+-]\d+)<', text))
    assert waiting == {"proposed": "+5", "publicity": "+30", "held": "-20"}
    assert "乱扔垃圾" in text and "最美婆婆" in text  # the proposals waiting, listed
    assert text.count("<tr><td") == Entry.objects.filter(account__household=household).count()
    assert reverse("points:household_ledger", args=[household.pk]) in text
    card = household.cards.get()
    assert card.number in text and "not printed yet" in text
    assert "王小梅" in text and "137****1234" in text and "13700001234" not in text
    assert "一副老花镜" in text
    # Not yet on the wall: the state the villager and the wish's page show, not "open".
    wishes = text[text.index('id="wishes-heading"') :]
    assert "waiting for review" in wishes and "open" not in wishes.lower().split("</ul>")[0]
    assert "义务打扫村道" in text  # the participation the card was issued on


def test_hub_shows_awards_and_deductions_waiting_apart(
    client_manager_x, card_a, manager_x, supervisor_x, village_x
):
    """+50 and -50 waiting in the same state netted to +0: as if nothing waited."""
    household = card_a.household
    village_x.publicity_days = 3
    village_x.save(update_fields=["publicity_days"])
    award, deduction = make_rule(village_x, "A50", 50), make_rule(village_x, "D50", -50)
    propose(manager_x, [household], award)
    propose(manager_x, [household], deduction)
    approved = [propose(manager_x, [household], rule)[0].pk for rule in (award, deduction)]
    proposal_approve(proposal_ids=approved, actor=supervisor_x)
    text = client_manager_x.get(hub_url(household)).text
    waiting = dict(re.findall(r'data-waiting="(\w+)">([^<]*)<', text))
    assert waiting == {"proposed": "+50 -50", "publicity": "+50 -50", "held": "+0"}


def test_recent_ledger_is_the_latest_ten_with_a_link_to_the_rest(
    client_supervisor_x, card_a, manager_x
):
    account = Account.objects.get(household=card_a.household)
    for index in range(12):
        entry_post(
            account_id=account.pk,
            kind=Entry.Kind.AWARD,
            points=1,
            actor=manager_x,
            memo=f"memo-{index:02d}",
        )
    text = client_supervisor_x.get(hub_url(card_a.household)).text
    shown = re.findall(r"memo-(\d\d)", text)
    assert shown == [f"{index:02d}" for index in range(11, 1, -1)]
    assert "Older entries" in text


def _links(response) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', response.text))


def test_buttons_are_shown_to_the_roles_that_may_use_them(
    client_manager_x, client_supervisor_x, client_county_x, card_a
):
    household = card_a.household
    member = MemberFactory(household=household)
    counter = reverse("store:counter_household", args=[household.pk])
    propose_url = reverse("points:proposal_new") + f"?household={household.pk}"
    inspection = reverse("villagers:inspection_create", args=[household.pk])
    print_card = reverse("villagers:card_print", args=[card_a.pk])
    ledger = reverse("points:household_ledger", args=[household.pk])
    manager_only = {
        counter,
        inspection,
        reverse("villagers:participation_create", args=[household.pk]),
        reverse("villagers:household_edit", args=[household.pk]),
        reverse("villagers:member_create", args=[household.pk]),
        reverse("villagers:card_replace", args=[household.pk]),
        reverse("villagers:card_recall", args=[household.pk]),
        reverse("villagers:pin_reset", args=[household.pk]),
    }
    manager = _links(client_manager_x.get(hub_url(household)))
    assert manager_only | {propose_url, print_card, ledger} <= manager
    supervisor = _links(client_supervisor_x.get(hub_url(household)))
    assert {propose_url, print_card, ledger} <= supervisor
    assert not supervisor & manager_only
    county = _links(client_county_x.get(hub_url(household)))
    assert {print_card, ledger} <= county
    assert not county & (manager_only | {propose_url})
    member_id = reverse("villagers:member_view_id", args=[member.pk])
    assert member_id in client_manager_x.get(hub_url(household)).text
    assert member_id not in client_county_x.get(hub_url(household)).text


def test_a_household_without_a_card_offers_the_issue_or_says_what_is_missing(
    client_manager_x, client_supervisor_x, household_b
):
    issue = reverse("points:card_issue", args=[household_b.pk])
    page = client_manager_x.get(hub_url(household_b)).text
    assert "Before a card can be issued" in page and issue not in page
    assert reverse("store:counter_household", args=[household_b.pk]) not in page
    assert reverse("points:proposal_new") not in page.split("<main", 1)[1]
    PassedInspectionFactory(household=household_b)
    ParticipationFactory(household=household_b)
    assert issue in client_manager_x.get(hub_url(household_b)).text
    assert issue not in client_supervisor_x.get(hub_url(household_b)).text


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [
        ("client_anon", 302),
        ("client_villager_a", 403),
        ("client_villager_b", 403),
        ("client_manager_y", 404),
        ("client_county", 302),
    ],
)
def test_hub_refuses_who_may_not_see_it(request, card_a, card_b, client_name, expected):
    response = request.getfixturevalue(client_name).get(hub_url(card_a.household))
    assert response.status_code == expected
    if expected == 302:
        assert card_a.household.head_name not in response.text


def _hub_queries(client, household) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(hub_url(household)).status_code == 200
    return len(queries)


def test_hub_queries_are_bounded_and_do_not_grow_with_history(
    client_manager_x,
    card_a,
    manager_x,
    supervisor_x,
    villager_a,
    village_x,
    django_assert_max_num_queries,
):
    household = card_a.household
    before = _hub_queries(client_manager_x, household)
    account = Account.objects.get(household=household)
    rule = make_rule(village_x, "L01", 10, Rule.Category.VOLUNTARY_LABOUR)
    for index in range(15):
        entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=1, actor=manager_x)
        PassedInspectionFactory(household=household, toilet_clean=bool(index % 2))
        ParticipationFactory(household=household, activity=f"活动{index}")
        MemberFactory(household=household)
    for index in range(6):
        wish_post(
            household=household, actor=villager_a, title=f"心愿{index}", kind="health", story="x"
        )
    approved = propose(manager_x, [household], rule)
    proposal_approve(proposal_ids=[approved[0].pk], actor=supervisor_x)
    for _ in range(4):
        propose(manager_x, [household], rule)
    # 15: one for what waits at the township or the county (its card, its members' PINs).
    with django_assert_max_num_queries(15):
        after = _hub_queries(client_manager_x, household)
    assert after == before
    assert Proposal.objects.filter(household=household, status="proposed").count() == 4


def test_the_registry_addresses_lead_to_the_hub_and_the_list(
    client_manager_x, client_manager_y, card_a
):
    old = reverse("villagers:household_detail", args=[card_a.household.pk])
    response = client_manager_x.get(old)
    assert response.status_code == 302 and response.url == hub_url(card_a.household)
    assert client_manager_y.get(old).status_code == 404
    response = client_manager_x.get(reverse("villagers:household_list"), {"q": "王", "card": "yes"})
    assert response.url == reverse("reports:household_list") + "?q=%E7%8E%8B&card=yes"


def test_saving_on_the_registry_returns_to_the_hub(client_manager_x, household_a):
    response = client_manager_x.post(
        reverse("villagers:participation_create", args=[household_a.pk]),
        {"date": "2024-05-02", "activity": "义务植树", "idempotency_key": form_key()},
    )
    assert response.url == hub_url(household_a)


# --- the list -------------------------------------------------------------------------------


@pytest.fixture
def three_households(group_x, village_x, manager_x):
    """Different names, numbers, groups, balances and last activity; one without a card."""
    now = timezone.now()
    other = VillageGroupFactory(village=village_x, name="富庄")
    early = issue_card(
        HouseholdFactory(group=group_x, head_name="安一", number="X003"),
        manager_x,
        at=now - datetime.timedelta(days=40),
    ).household
    late = issue_card(
        HouseholdFactory(group=other, head_name="白二", number="X001", phone="13300004321"),
        manager_x,
        at=now - datetime.timedelta(days=2),
    ).household
    account = Account.objects.get(household=early)
    entry_post(
        account_id=account.pk,
        kind=Entry.Kind.AWARD,
        points=30,
        actor=manager_x,
        at=now - datetime.timedelta(days=20),
    )
    none = HouseholdFactory(group=other, head_name="陈三", number="X002")
    return {"early": early, "late": late, "none": none}


def test_list_shows_balance_and_last_activity(client_supervisor_x, three_households):
    page = _list(client_supervisor_x, sort="number")
    rows = re.findall(r"data-balance>([^<]+)</td>\s*<td data-activity>([^<]+)</td>", page.text)
    today = timezone.localdate()
    assert rows == [
        ("100", (today - datetime.timedelta(days=2)).isoformat()),  # X001
        ("—", "—"),  # X002, no card
        ("130", (today - datetime.timedelta(days=20)).isoformat()),  # X003
    ]


SORTS = [
    ("name", ["early", "late", "none"]),
    ("-name", ["none", "late", "early"]),
    ("number", ["late", "none", "early"]),
    ("-number", ["early", "none", "late"]),
    ("balance", ["late", "early", "none"]),
    ("-balance", ["early", "late", "none"]),
    ("activity", ["early", "late", "none"]),
    ("-activity", ["late", "early", "none"]),
    ("nonsense", ["late", "none", "early"]),
]


def test_list_sorts_in_both_directions(client_manager_x, three_households):
    """Every sort on one cast (built for each, it cost nine)."""
    wrong = []
    for sort, order in SORTS:
        page = _list(client_manager_x, sort=sort)
        expected = [three_households[key].pk for key in order]
        if page.status_code != 200 or listed_ids(page) != expected:
            wrong.append(f"{sort}: HTTP {page.status_code}, {listed_ids(page)} != {expected}")
    assert not wrong, "\n".join(wrong)


def test_group_sort_in_both_directions(client_manager_x, three_households):
    """Groups in the database's collation one way, then the other; numbers ascending within."""
    group_of = {h.pk: h.group.name for h in three_households.values()}

    def groups_in(response):
        ids = listed_ids(response)
        return [name for name, _rows in itertools.groupby(group_of[pk] for pk in ids)], ids

    forwards, forward_ids = groups_in(_list(client_manager_x, sort="group"))
    backwards, backward_ids = groups_in(_list(client_manager_x, sort="-group"))
    assert len(forwards) == 2 and backwards == forwards[::-1]
    same_group = [three_households["late"].pk, three_households["none"].pk]  # X001, X002
    for ids in (forward_ids, backward_ids):
        assert [pk for pk in ids if pk in same_group] == same_group


def test_headings_link_to_the_other_direction_and_keep_the_filters(
    client_manager_x, three_households
):
    text = _list(client_manager_x, sort="-balance", card="yes").text
    assert re.findall(
        r'aria-sort="(\w+)"[^>]*><a class="sort-link" href="[^"]+" data-sort="(\w+)"', text
    ) == [("descending", "balance")]
    links = {
        key: QueryDict(html.unescape(query[1:]))
        for query, key in re.findall(r'class="sort-link" href="([^"]+)" data-sort="(\w+)"', text)
    }
    assert {key: query["sort"] for key, query in links.items()} == {
        "name": "name",
        "number": "number",
        "group": "group",
        "balance": "balance",
        "activity": "-activity",
    }
    assert all(query["card"] == "yes" and "page" not in query for query in links.values())


def test_paging_is_stable_when_balances_are_equal(
    client_manager_x, group_x, manager_x, django_assert_max_num_queries
):
    for index in range(30):
        household = HouseholdFactory(group=group_x, number=f"P{index:03d}")
        MemberFactory.create_batch(2, household=household)
        issue_card(household, manager_x)
    with django_assert_max_num_queries(8):
        first = _list(client_manager_x, sort="-balance")
    with django_assert_max_num_queries(8):
        second = _list(client_manager_x, sort="-balance", page=2)
    seen = listed_ids(first) + listed_ids(second)
    assert len(seen) == len(set(seen)) == 30
    assert "sort=-balance" in first.text  # the pager keeps the order


def test_list_queries_do_not_grow_with_the_households(client_manager_x, group_x, manager_x):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert _list(client_manager_x, sort="-activity").status_code == 200
        return len(queries)

    issue_card(HouseholdFactory(group=group_x), manager_x)
    few = count()
    for _ in range(12):
        issue_card(HouseholdFactory(group=group_x), manager_x)
    assert count() == few


def test_search_by_name_card_phone_tail_and_group(client_manager_x, three_households):
    early, late, none = (three_households[key] for key in ("early", "late", "none"))
    MemberFactory(household=none, name="陈小明", phone="13600008765")

    def found(query):
        return set(listed_ids(_list(client_manager_x, q=query)))

    assert found("白二") == {late.pk}
    assert found("小明") == {none.pk}
    assert found(early.cards.get().number) == {early.pk}
    assert found("4321") == {late.pk}  # the household's phone
    assert found("８７６５") == {none.pk}  # a member's phone, typed in full-width digits
    assert found("富庄") == {late.pk, none.pk}
    assert found("1234") == set()  # 13912345678 ends in 5678


def test_list_keeps_the_filters(client_manager_x, three_households):
    early, late, none = (three_households[key] for key in ("early", "late", "none"))
    assert set(listed_ids(_list(client_manager_x, card="no"))) == {none.pk}
    group = late.group
    assert set(listed_ids(_list(client_manager_x, group=group.pk, card="yes"))) == {late.pk}
    assert early.pk in listed_ids(_list(client_manager_x, status="active"))


@pytest.mark.parametrize(
    ("client_name", "expected"),
    [("client_anon", 302), ("client_villager_a", 403), ("client_manager_y", 200)],
)
def test_list_is_for_staff_of_their_own_village(request, card_a, client_name, expected):
    response = request.getfixturevalue(client_name).get(reverse("reports:household_list"))
    assert response.status_code == expected
    assert card_a.household.head_name not in response.text


def test_the_full_ledger_leads_back_to_the_hub(client_supervisor_x, card_a):
    ledger = reverse("points:household_ledger", args=[card_a.household.pk])
    assert f'href="{hub_url(card_a.household)}"' in client_supervisor_x.get(ledger).text
