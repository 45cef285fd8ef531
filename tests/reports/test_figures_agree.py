"""Figures that disagreed between pages, each now counted one way on every page: households
(the active ones), the hygiene pass rate of a past month, redemptions voided in a later
month, and the balances carried over beside the rule categories."""

import io

from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from points.services import proposal_approve
from reports.selectors_transparency import liability_cover
from tests.points.conftest import make_rule, propose
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


def test_the_household_list_says_how_many_of_every_household_are_active(
    client_manager_x, card_a, card_b, manager_x
):
    household_leaves(card_b.household, manager_x)
    page = client_manager_x.get(reverse("reports:household_list")).content.decode()
    assert "2 households on record, 1 of them active (the others moved away or closed)" in page
    page = client_manager_x.get(reverse("reports:household_list"), {"status": "active"})
    assert "1 household<" in page.content.decode()
