"""Figures that disagreed between pages, each now counted one way on every page: households
(the active ones), the hygiene pass rate of a past month, redemptions voided in a later
month, and the balances carried over beside the rule categories."""

import io
import re
import uuid

from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.months import add_months
from points.models import CarryOver, Rule
from points.services import proposal_approve
from reports.selectors_transparency import liability_cover
from store.services import redemption_create, redemption_void
from tests.conftest import form_key, issue_card
from tests.factories import HouseholdFactory, PassedInspectionFactory
from tests.points.conftest import make_rule, propose
from tests.points.test_carry_over import good_rows, xlsx_file
from tests.reports.conftest import at
from tests.store.conftest import make_item, zones_x  # noqa: F401
from villagers.models import Household
from villagers.services import card_recall, household_save


def household_leaves(household, manager, status=Household.Status.MOVED):
    """As the manager marks a household moved away or closed: its card recalled first."""
    card_recall(household=household, actor=manager, reason="搬到县城")
    household.refresh_from_db()
    household.status = status
    household_save(household=household, actor=manager)


# --- households: the active ones, on every page ---------------------------------------------


def test_the_cover_counts_the_active_households_as_the_county_does(
    client_supervisor_x, client_county, village_x, card_a, card_b, manager_x
):
    """The cover read "2 households" where the county's overview read 1: it counted every
    account, a household that moved away included. Its points are still held: said so."""
    household_leaves(card_b.household, manager_x)
    county = {
        row.pk: row
        for row in client_county.get(reverse("reports:county_overview")).context["villages"]
    }
    assert county[village_x.pk].household_count == 1
    cover = liability_cover(village_x)
    assert cover["households"] == 1
    assert (cover["gone_households"], cover["gone_points"]) == (1, 100)
    assert cover["outstanding_points"] == 200  # every account's points are still owed
    page = client_supervisor_x.get(reverse("reports:cover")).content.decode()
    assert "worth ¥600.00 at ¥3.00 a point, 1 households" in page
    assert (
        "Of these, 100 points are still on the account of 1 household that moved away or closed."
        in page
    )


def test_the_month_workbook_says_the_points_on_accounts_of_households_gone(
    client_manager_x, card_a, card_b, manager_x
):
    household_leaves(card_b.household, manager_x)
    today = timezone.localdate()
    response = client_manager_x.get(
        reverse("reports:month_report_xlsx", args=[today.year, today.month])
    )
    sheet = load_workbook(io.BytesIO(response.content))["Cover (today)"]
    lines = {row[0]: row[1:] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert lines["Points held by households"] == (200, 600)
    assert lines["of which on the accounts of households that moved away or closed"] == (100, 300)


def test_a_village_with_every_household_active_says_nothing_of_households_gone(
    client_supervisor_x, village_x, card_a, card_b
):
    page = client_supervisor_x.get(reverse("reports:cover")).content.decode()
    assert "2 households" in page and "data-gone" not in page


def test_the_rank_is_among_the_active_households(
    client_villager_a, village_x, card_a, card_b, manager_x, supervisor_x
):
    """A read "rank 2 of 2 households" with B moved away: it was ranked among every account."""
    (proposal,) = propose(manager_x, [card_b.household], make_rule(village_x, "E01", 5))
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    rank = client_villager_a.get(reverse("points:me")).context["rank"]
    assert (rank.rank, rank.ranked) == (2, 2)
    household_leaves(card_b.household, manager_x)
    rank = client_villager_a.get(reverse("points:me")).context["rank"]
    assert (rank.rank, rank.ranked) == (1, 1)


def test_the_rank_follows_which_households_are_active_not_only_how_many(
    client_villager_a, group_x, card_a, card_b, manager_x
):
    """Found in review: the points earned were cached under the village's ledger version
    and the number of households ranked, so one household leaving as another came back
    (the same number, no entry posted) kept ranking the one gone and not the one back."""
    from points.ledger import entry_post
    from points.models import Account, Entry

    household_c = HouseholdFactory(group=group_x, head_name="张三丰", number="X003")
    issue_card(household_c, manager_x)
    for household, points in ((card_a.household, 10), (card_b.household, 5), (household_c, 20)):
        account = Account.objects.get(household=household)
        entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=points, actor=None)
    household_leaves(household_c, manager_x)
    rank = client_villager_a.get(reverse("points:me")).context["rank"]
    assert (rank.earned, rank.rank, rank.ranked) == (10, 1, 2)  # above B
    household_leaves(card_b.household, manager_x)
    household_c.refresh_from_db()
    household_c.status = Household.Status.ACTIVE  # back again
    household_save(household=household_c, actor=manager_x)
    rank = client_villager_a.get(reverse("points:me")).context["rank"]
    assert (rank.earned, rank.rank, rank.ranked) == (10, 2, 2)  # below C


def test_the_household_list_says_how_many_of_every_household_are_active(
    client_manager_x, card_a, card_b, manager_x
):
    household_leaves(card_b.household, manager_x)
    page = client_manager_x.get(reverse("reports:household_list")).content.decode()
    assert "2 households on record, 1 of them active (the others moved away or closed)" in page
    page = client_manager_x.get(reverse("reports:household_list"), {"status": "active"})
    assert "1 household<" in page.content.decode()


# --- the county's pass rate of a month gone by: the households the village had then --------

COUNTY = reverse("reports:county_overview")


def _county_row(client, month, village):
    response = client.get(COUNTY, {"month": f"{month:%Y-%m}"})
    return next(row for row in response.context["villages"] if row.pk == village.pk), response


def test_a_past_months_pass_rate_counts_the_households_the_village_had_then(
    client_county, village_x, card_a, card_b, manager_x
):
    """Last month A passed and B failed; B moved away this month. Last month's rate read
    1 of 1 (today's households): it is 1 of 2, as it was then. This month's is 1 of 1."""
    this_month = timezone.localdate().replace(day=1)
    last_month = add_months(this_month, -1)
    PassedInspectionFactory(household=card_a.household, date=last_month.replace(day=10))
    PassedInspectionFactory(
        household=card_b.household, date=last_month.replace(day=10), toilet_clean=False
    )
    household_leaves(card_b.household, manager_x)
    last, _response = _county_row(client_county, last_month, village_x)
    assert (last.inspections_passed, last.inspected, str(last.pass_rate)) == (1, 2, "0.50")
    now, _response = _county_row(client_county, this_month, village_x)
    assert (now.inspections_passed, now.inspected, str(now.pass_rate)) == (1, 1, "1.00")


def test_a_household_left_at_a_time_not_recorded_is_left_out_and_the_page_says_so(
    client_county, village_x, group_x, card_a
):
    """Marked moved before its leaving time was recorded: it may have been there last month
    or not. The rate leaves it out, and the notes say how many were left out."""
    last_month = add_months(timezone.localdate().replace(day=1), -1)
    gone = HouseholdFactory(group=group_x, status=Household.Status.MOVED)
    assert gone.left_at is None
    PassedInspectionFactory(household=gone, date=last_month.replace(day=10))
    PassedInspectionFactory(household=card_a.household, date=last_month.replace(day=10))
    row, response = _county_row(client_county, last_month, village_x)
    assert (row.inspections_passed, row.inspected) == (1, 1)
    assert response.context["left_unknown"] == 1
    assert (
        "1 inspected household moved away or closed before the app recorded when households "
        "leave: not knowing whether it was still there, the rate leaves it out."
    ) in response.content.decode()


def test_the_leaving_time_is_recorded_kept_and_forgotten_on_return(card_b, manager_x):
    household = card_b.household
    household_leaves(household, manager_x)
    household.refresh_from_db()
    left_at = household.left_at
    assert left_at is not None
    household.status = Household.Status.CLOSED  # moved, then closed: it left when it moved
    household.address = "县城"
    household_save(household=household, actor=manager_x)
    household.refresh_from_db()
    assert household.left_at == left_at
    household.status = Household.Status.ACTIVE  # back in the village
    household_save(household=household, actor=manager_x)
    household.refresh_from_db()
    assert household.left_at is None


# --- a redemption of an earlier month voided: one way on the store's summary and the report --


def test_a_void_of_an_earlier_months_redemption_is_shown_alike_on_both_pages(
    client_manager_x,
    village_x,
    card_a,
    manager_x,
    supervisor_x,
    zones_x,  # noqa: F811
):
    """Last month's rice (20 points) is voided this month, when 40 points of rice went out.
    The store's summary read 40 points redeemed and the void on a line of its own; the month
    report read 20 (the void taken off). Both now read 40, the void's 20 points given back,
    and 20 net; the workbook holds the void apart too."""
    rice = make_item(village_x, "grain_oil", "大米 10kg", 20, 50, manager_x)
    this_month = timezone.localdate().replace(day=1)
    last_month = add_months(this_month, -1)
    earlier = redemption_create(
        village=village_x,
        household=card_a.household,
        lines={rice.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=at(last_month, 10),
    )
    redemption_create(
        village=village_x,
        household=card_a.household,
        lines={rice.pk: 2},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    redemption_void(redemption=earlier, actor=supervisor_x, reason="记错了户")

    store = client_manager_x.get(reverse("store:summary_month"))
    summary = store.context["summary"]
    assert (summary["points"], summary["voided_earlier_points"], summary["points_net"]) == (
        40,
        20,
        20,
    )
    report = client_manager_x.get(
        reverse("reports:month_report", args=[this_month.year, this_month.month])
    )
    total = report.context["report"].total
    assert (total.redeemed_in_month, total.voided_earlier, total.redeemed) == (40, 20, 20)
    store_page, report_page = store.content.decode(), report.content.decode()
    for page in (store_page, report_page):
        assert "Net points redeemed (less the points given back)" in page
    assert '<dd class="col-5 fw-bold" data-redeemed-net>20</dd>' in store_page
    assert '<td class="num" data-redeemed-in-month>40</td>' in report_page
    assert '<td class="num" data-voided-earlier>20</td>' in report_page
    assert '<td class="num fw-bold" data-redeemed-net>20</td>' in report_page
    # Last month keeps its 20 points on both.
    store = client_manager_x.get(reverse("store:summary_month"), {"month": f"{last_month:%Y-%m}"})
    report = client_manager_x.get(
        reverse("reports:month_report", args=[last_month.year, last_month.month])
    )
    assert store.context["summary"]["points_net"] == 20
    assert report.context["report"].total.redeemed == 20
    assert "data-redeemed-net" not in report.content.decode()

    workbook = client_manager_x.get(
        reverse("reports:month_report_xlsx", args=[this_month.year, this_month.month])
    )
    sheet = load_workbook(io.BytesIO(workbook.content))["Points flow"]
    header, row = [[cell.value for cell in line] for line in sheet.iter_rows(min_row=2, max_row=3)]
    figures = dict(zip(header, row, strict=True))
    assert figures["Redeemed"] == 20
    assert figures["Earlier months' redemptions voided (points given back)"] == 20
    # The year report's page has the workbook's columns (it had only the net figure).
    year = client_manager_x.get(reverse("reports:year_report", args=[this_month.year]))
    html = year.content.decode().split('id="flow-heading"')[1].split("</table>")[0]
    heads = re.findall(r'<th scope="col" class="num">([^<]*)</th>', html)
    row = re.search(rf'<th scope="row">{this_month:%Y-%m}</th>(.*?)</tr>', html).group(1)
    cells = dict(zip(heads, re.findall(r'<td class="num">(-?\d+)</td>', row), strict=True))
    assert cells["Redeemed"] == "20"
    assert cells["Earlier months' redemptions voided (points given back)"] == "20"


# --- the balances carried over are no rule category ------------------------------------------


def test_the_carried_balances_stand_apart_from_the_rule_categories(
    client_manager_x, client_supervisor_x, village_x, card_a, card_b, manager_x, supervisor_x
):
    """The paper ledger's balances (250 and -20) were a row of "By rule category", so its
    total (240) was not what the rules gave (10). They are a line of their own below it."""
    upload = xlsx_file(good_rows())
    client_manager_x.post(
        reverse("points:carry_over_upload"), {"file": upload, "paper_total": "430"}
    )
    payload = client_manager_x.get(reverse("points:carry_over_preview")).context["payload"]
    client_manager_x.post(
        reverse("points:carry_over_confirm"), {"payload": payload, "idempotency_key": form_key()}
    )
    batch = CarryOver.objects.get().batch_id
    client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{batch}", "idempotency_key": form_key()},
    )
    rule = make_rule(village_x, "L01", 10, Rule.Category.VOLUNTARY_LABOUR)
    (proposal,) = propose(manager_x, [card_a.household], rule)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)

    today = timezone.localdate()
    response = client_manager_x.get(reverse("reports:month_report", args=[today.year, today.month]))
    report = response.context["report"]
    assert Rule.Category.CARRIED_OVER not in {row["category"] for row in report.categories}
    assert report.categories_total == {"count": 1, "points": 10}
    assert (report.carried["count"], report.carried["points"]) == (2, 230)
    assert report.total.carried == 230  # as the points flow counts it
    assert (
        "Balances carried over from the paper ledger, not by a rule (not in the total): "
        "2 households, 230 points."
    ) in response.content.decode()

    workbook = client_manager_x.get(
        reverse("reports:month_report_xlsx", args=[today.year, today.month])
    )
    sheet = load_workbook(io.BytesIO(workbook.content))["By rule category"]
    lines = {row[0]: row[1:] for row in sheet.iter_rows(min_row=3, values_only=True)}
    assert "Balance carried over" not in lines
    assert lines["Total"] == (1, 10)
    assert lines["Balances carried over from the paper ledger (no rule category)"] == (2, 230)
