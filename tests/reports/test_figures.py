"""Figures that misled (issue 18), each shown right: reversals apart from what they cancel,
pending declarations counted, donated money used and left, full dates, the board's words."""

import datetime
import re
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from points.models import Declaration
from points.services import declaration_submit, entry_reverse, proposal_approve
from reports.notice import notice_sections
from reports.transparency import thanks_token
from store.models import Donation, Donor, StockMovement
from store.services import donation_record
from tests.points.conftest import make_rule, propose
from tests.reports.conftest import backdated_entry, months_ago
from tests.reports.test_dashboard import _figure

DASHBOARD = reverse("reports:dashboard")


def test_a_month_holding_only_a_reversal_issues_nothing_and_shows_the_reversal(
    client_supervisor_x, card_a, village_x, supervisor_x
):
    """The dashboard read "issued this month -5": last month's award reversed this month."""
    award = backdated_entry(card_a.household.account, "award", 5, months_ago(1))
    entry_reverse(entry=award, actor=supervisor_x, reason="记错")
    response = client_supervisor_x.get(DASHBOARD)
    this_month = response.context["this_month"]
    assert this_month.awarded == 0
    assert this_month.issued == this_month.opening == 100  # card A's opening grant only
    assert this_month.reversed_awards == 5 and this_month.reversals == 1
    page = response.content.decode()
    assert _figure(page, "Issued this month") == 100
    assert _figure(page, "Reversals this month") == 1
    assert "5 points taken back from awards" in page
    last_month = response.context["flows"][-2]
    assert last_month.awarded == last_month.issued == 5  # the award stays in its month


def test_pending_declarations_are_counted_on_the_dashboard(
    client_manager_x, villager_a, villager_b, card_b, manager_x
):
    today = timezone.localdate()
    for user in (villager_a, villager_a, villager_b):
        declaration_submit(user=user, description="帮邻居收麦", occurred_on=today)
    Declaration.objects.filter(household=villager_b.household).update(
        status=Declaration.Status.DECLINED, decline_reason="重复"
    )
    response = client_manager_x.get(DASHBOARD)
    assert response.context["declarations"]["count"] == 2
    page = response.content.decode()
    assert _figure(page, "Declarations to review") == 2
    assert reverse("points:declaration_list") in page


# --- donated money: used and left --------------------------------------------------------------


def test_a_money_donation_shows_what_its_purchases_used_and_what_is_left(
    story, client_manager_x, client_anon, village_x
):
    """M1 gave ¥500; P2 bought rice for ¥160 from it: ¥160 used, ¥340 left, on every page."""
    gift = story["M1"]
    paid = StockMovement.objects.filter(paid_by=gift).values_list("cost_yuan", flat=True)
    assert sum(paid) == Decimal("160.00")

    listing = client_manager_x.get(reverse("store:donation_list")).content.decode()
    assert "Used for goods: ¥160.00 · left: ¥340.00" in listing

    traced = client_manager_x.get(reverse("reports:donations_traced")).content.decode()
    assert "¥160.00 spent on goods, ¥340.00 left" in traced

    thanks = client_anon.get(reverse("reports:donation_thanks", args=[thanks_token(gift)]))
    assert "¥160.00 of it bought goods for the store; ¥340.00 is still to be spent." in (
        thanks.content.decode()
    )

    today = timezone.localdate()
    sections = notice_sections(village_x, today.year, today.month)
    traced_section = next(s for s in sections if s.key == "donations_traced")
    column = traced_section.columns.index("Money left (yuan)")
    row = next(r for r in traced_section.rows if r[1] == "张建国")
    assert row[column] == Decimal("340.00") and row[column - 1] == Decimal("160.00")


def test_money_used_on_the_list_adds_up_to_the_purchases_from_donated_money(
    story, client_manager_x, village_x, manager_x
):
    """The dashboard's stock bought with donated money is the money the donations show used."""
    donation_record(
        village=village_x,
        donor=Donor.objects.create(village=village_x, name="刘秀兰", kind="person"),
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("200.00"),
        thanks="谢谢",
        actor=manager_x,
    )
    page = client_manager_x.get(reverse("store:donation_list")).content.decode()
    used = [Decimal(value) for value in re.findall(r"Used for goods: ¥([\d.]+)", page)]
    left = [Decimal(value) for value in re.findall(r"left: ¥([\d.]+)", page)]
    bought = StockMovement.objects.filter(
        village=village_x, fund_source=StockMovement.FundSource.DONATED_MONEY
    ).values_list("cost_yuan", flat=True)
    assert sum(used) == sum(bought) == Decimal("160.00")
    assert sorted(left) == [Decimal("200.00"), Decimal("340.00")]


# --- full dates ----------------------------------------------------------------------------------


def test_the_notice_writes_full_dates(client_villager_a, village_x, manager_x):
    """A donation of the 4th read "12-04": now it reads the year too."""
    today = timezone.localdate()
    day = today.replace(day=1) if today.day == 1 else today - datetime.timedelta(days=1)
    donation_record(
        village=village_x,
        donor=Donor.objects.create(village=village_x, name="宜川县民政局", kind="government"),
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("8000.00"),
        thanks="感谢",
        actor=manager_x,
        received_on=day,
    )
    page = client_villager_a.get(reverse("reports:notice")).content.decode()
    assert f'<td data-label="Date">{day.isoformat()}</td>' in page
    assert not re.search(r"<td[^>]*>\d\d-\d\d</td>", page)


# --- the red and black board ---------------------------------------------------------------------


def _board_in_chinese(client, month):
    client.cookies["django_language"] = "zh-hans"
    url = reverse("reports:board_display", args=[month.year, month.month])
    return client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()


def test_the_board_is_named_once_in_the_ui_language_and_counts_times(
    client_villager_a, card_a, card_b, manager_x, supervisor_x, village_x
):
    litter = make_rule(village_x, "D01", -5, description="乱扔垃圾")
    fines = propose(manager_x, [card_a.household, card_b.household], litter)
    fines += propose(manager_x, [card_a.household], litter)
    proposal_approve(proposal_ids=[p.pk for p in fines], actor=supervisor_x)
    month = timezone.localdate().replace(day=1)
    page = _board_in_chinese(client_villager_a, month)
    heading = re.search(r'<h1 class="board-title">(.*?)</h1>', page).group(1)
    assert heading.count("红黑榜") == 1 and "紅黑榜" not in page
    assert '<th scope="col" class="board-count">次数</th>' in page
    assert "户数" not in page
    assert re.search(r'<td class="board-count">3</td>', page)  # three deductions, two households

    client_villager_a.cookies["django_language"] = "en"
    english = client_villager_a.get(
        reverse("reports:board_display", args=[month.year, month.month])
    ).content.decode()
    assert "紅黑榜" not in english and "红黑榜" not in english
    assert "how many times, no names" in english
