"""The red/black board equals what the ledger says, computed here independently."""

import datetime
from collections import defaultdict

import pytest
from django.urls import reverse
from django.utils import timezone

from points.models import Account, Entry
from points.publicity import proposals_credit_due
from points.services import entry_reverse, proposal_approve
from reports.selectors_transparency import board_month
from tests.conftest import issue_card
from tests.factories import HouseholdFactory
from tests.points.conftest import make_rule, propose
from villagers.models import Village


@pytest.fixture
def ledger(village_x, group_x, card_a, card_b, manager_x, supervisor_x):
    """Awards and deductions this month for several households, a reversal, and an entry of
    last month that must not count."""
    homes = [card_a.household, card_b.household]
    for index in range(4):
        home = HouseholdFactory(group=group_x, number=f"B{index:02d}", head_name=f"赵{index}虎")
        issue_card(home, manager_x)
        homes.append(home)
    clean = make_rule(village_x, "E01", 5)
    honour = make_rule(village_x, "H01", 30)
    litter = make_rule(village_x, "D01", -5, description="乱扔垃圾")
    burning = make_rule(village_x, "D02", -10, description="焚烧秸秆")
    awarded = propose(manager_x, homes[:5], clean) + propose(manager_x, homes[1:3], honour)
    fined = propose(manager_x, [homes[5]], litter) + propose(manager_x, homes[3:6], burning)
    mistaken = propose(manager_x, [homes[4]], honour)
    proposal_approve(proposal_ids=[p.pk for p in awarded + fined + mistaken], actor=supervisor_x)
    mistaken[0].refresh_from_db()
    entry_reverse(entry=mistaken[0].entry, actor=supervisor_x, reason="记错")
    last_month = timezone.localtime().replace(day=1) - datetime.timedelta(days=3)
    account = Account.objects.get(household=homes[0])
    Entry.objects.create(
        account=account, kind=Entry.Kind.AWARD, points=99, balance_after=999, created_at=last_month
    )
    return homes


def expected_from_ledger(village, year, month):
    """Straight from the entries: awards and deductions posted in the month, not reversed."""
    earned, fines = defaultdict(int), defaultdict(int)
    for entry in Entry.objects.select_related("account__household", "proposal__rule"):
        when = timezone.localtime(entry.created_at)
        if (when.year, when.month) != (year, month) or Entry.objects.filter(
            reverses=entry
        ).exists():
            continue
        if entry.account.village_id != village.pk:
            continue
        if entry.kind == Entry.Kind.AWARD:
            earned[entry.account.household.head_name] += entry.points
        elif entry.kind == Entry.Kind.DEDUCTION:
            fines[entry.proposal.rule.code] += 1
    return dict(earned), dict(fines)


def test_board_figures_equal_the_ledger(ledger, village_x):
    today = timezone.localdate()
    board = board_month(village_x, today.year, today.month)
    earned, fines = expected_from_ledger(village_x, today.year, today.month)
    assert {row["household_head"]: row["points"] for row in board["red"]} == earned
    assert {row["code"]: row["count"] for row in board["black"]} == fines
    assert [row["points"] for row in board["red"]] == sorted(earned.values(), reverse=True)
    assert board["red"][0]["rank"] == 1
    # Ties share a rank: two households earned 35, the three others 5.
    assert [row["rank"] for row in board["red"]] == [1, 1, 3, 3, 3]


def test_last_month_has_only_its_own_entry(ledger, village_x):
    last = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    board = board_month(village_x, last.year, last.month)
    assert [(row["household_head"], row["points"]) for row in board["red"]] == [("王大山", 99)]
    assert board["black"] == []


def this_month_url():
    today = timezone.localdate()
    return reverse("reports:board_month", args=[today.year, today.month])


def test_board_opens_on_the_last_completed_month(ledger, client_villager_a):
    page = client_villager_a.get(reverse("reports:board")).content.decode()
    last = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    assert f"{last:%Y-%m} ·" in page
    assert "王大山" in page and "李秀英" not in page  # only last month's entry


def test_black_list_names_only_when_the_village_shows_them(ledger, village_x, client_villager_a):
    fined_name = ledger[5].head_name
    page = client_villager_a.get(this_month_url()).content.decode()
    assert "D02" in page and fined_name not in page
    village_x.black_list_names = True
    village_x.save()
    page = client_villager_a.get(this_month_url()).content.decode()
    assert fined_name in page


def test_names_turned_on_never_name_a_deduction_made_while_they_were_off(
    ledger, village_x, client_county, client_villager_a, card_a, manager_x, supervisor_x
):
    """Found by a probe of the settings: turned on in the admin, names appeared beside every
    deduction of this month and of every month before, made when the board promised none."""
    fined_before = ledger[5].head_name
    url = reverse("admin:villagers_village_change", args=[village_x.pk])
    form = client_county.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data = {name: value for name, value in data.items() if value is not False}
    assert client_county.post(url, data | {"black_list_names": "on"}).status_code == 302
    village_x.refresh_from_db()
    assert village_x.black_list_names and village_x.black_list_names_since is not None
    [fine] = propose(manager_x, [card_a.household], make_rule(village_x, "D03", -3))
    proposal_approve(proposal_ids=[fine.pk], actor=supervisor_x)
    page = client_villager_a.get(this_month_url()).content.decode()
    assert card_a.household.head_name in page.split("board-black")[1]  # fined since: named
    assert fined_before not in page  # fined before: counted only
    assert "D02" in page and "names of those from" in page
    last = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    board = board_month(village_x, last.year, last.month)
    assert not board["show_names"]
    # Turned off and on again: from the new moment only.
    assert client_county.post(url, data).status_code == 302
    village_x.refresh_from_db()
    assert village_x.black_list_names_since is None
    assert client_county.post(url, data | {"black_list_names": "on"}).status_code == 302
    page = client_villager_a.get(this_month_url()).content.decode()
    assert card_a.household.head_name not in page.split("board-black")[1]


def test_a_deduction_decided_before_names_and_credited_after_is_not_named(
    village_x, card_b, manager_x, supervisor_x
):
    """Found by a second read: with a publicity period the entry is made when the deduction
    is credited, days after it was decided and listed without a name."""
    village_x.publicity_days = 3  # the staff's village (the same object)
    village_x.save()
    [fine] = propose(manager_x, [card_b.household], make_rule(village_x, "D04", -2))
    [fine] = proposal_approve(proposal_ids=[fine.pk], actor=supervisor_x)
    Village.objects.filter(pk=village_x.pk).update(
        black_list_names=True, black_list_names_since=timezone.now()
    )
    fine.refresh_from_db()
    assert proposals_credit_due(now=fine.credit_due_at + datetime.timedelta(seconds=1)).credited
    village_x.refresh_from_db()
    at = fine.credit_due_at
    [row] = board_month(village_x, at.year, at.month)["black"]
    assert (row["code"], row["count"], row["names"]) == ("D04", 1, [])


def test_tv_version_shows_the_same_board(ledger, client_villager_a):
    today = timezone.localdate()
    page = client_villager_a.get(
        reverse("reports:board_display", args=[today.year, today.month])
    ).content.decode()
    assert "board-display" in page and "李秀英" in page and "@media print" not in page


def test_board_query_count_does_not_grow(
    ledger,
    client_villager_a,
    django_assert_max_num_queries,
    village_x,
    group_x,
    manager_x,
    supervisor_x,
):
    village_x.black_list_names = True
    village_x.save()
    url = this_month_url()
    client_villager_a.get(url)
    with django_assert_max_num_queries(12) as small:
        client_villager_a.get(url)
    more = []
    for index in range(15):
        home = HouseholdFactory(group=group_x, number=f"M{index:02d}")
        issue_card(home, manager_x)
        more.append(home)
    rules = [make_rule(village_x, f"K{n}", -1) for n in range(3)]
    proposals = [p for rule in rules for p in propose(manager_x, more, rule)]
    proposals += propose(manager_x, more, make_rule(village_x, "E09", 2))
    proposal_approve(proposal_ids=[p.pk for p in proposals], actor=supervisor_x)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client_villager_a.get(url)


def test_board_of_a_future_or_impossible_month_is_404(client_villager_a):
    assert client_villager_a.get(reverse("reports:board_month", args=[2999, 1])).status_code == 404
    assert client_villager_a.get(reverse("reports:board_month", args=[2024, 13])).status_code == 404


def test_a_later_correction_leaves_a_months_board_as_its_notice(
    village_x, group_x, household_a, household_b, manager_x, supervisor_x, client_supervisor_x
):
    """Found by a probe: reversing last month's award this month took it off last month's
    red list (its ranks and total moved) while last month's published notice keeps it. A
    month's board counts only reversals made within the month, as its notice does; a later
    one is the later month's news (ledger rule 7)."""
    from core.months import previous_month
    from reports.notice import notice_publish
    from tests.reports.conftest import at, dated_approval
    from villagers.models import Village

    last = previous_month(timezone.localdate())
    Village.objects.filter(pk=village_x.pk).update(publicity_days=0)
    village_x.refresh_from_db()
    for household in (household_a, household_b):
        issue_card(household, manager_x, at=at(previous_month(last), 10))
    ok = {"manager": manager_x, "supervisor": supervisor_x}
    road = dated_approval(
        household_a, make_rule(village_x, "A01", 30), at(last, 3), reason="r", **ok
    )
    dated_approval(household_b, make_rule(village_x, "A02", 5), at(last, 4), reason="y", **ok)
    fine = dated_approval(
        household_b, make_rule(village_x, "D01", -5), at(last, 5), reason="l", **ok
    )
    notice = notice_publish(village=village_x, year=last.year, month=last.month, actor=supervisor_x)
    awards = next(s for s in notice.document["sections"] if s["key"] == "awards")
    before = board_month(village_x, last.year, last.month)
    assert before["awarded"] == awards["totals"][-1] == 35
    assert before["red"][0]["household_head"] == household_a.head_name
    assert before["deductions"] == 1

    entry_reverse(entry=road.entry, actor=supervisor_x, reason="wrong household")
    entry_reverse(entry=fine.entry, actor=supervisor_x, reason="wrong")

    assert board_month(village_x, last.year, last.month) == before
    page = client_supervisor_x.get(reverse("reports:board_month", args=[last.year, last.month]))
    assert page.status_code == 200 and household_a.head_name in page.text
