"""A township officer's morning: the township's villages compared, one looked into, and an
item one of them sent up decided (DESIGN.md ledger rule 8), in chromium.

Same style as test_journeys.py: typed and clicked as the officer would, screenshots under
test-artifacts/screenshots/7-township/, assertions on numbers and the database.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from points.models import Proposal
from points.services import proposal_create
from tests.browser.conftest import (
    _context,
    _page_in,
    assert_accessible,
    assert_no_horizontal_scroll,
    menu_follow,
    screenshot,
    sign_in,
)
from tests.browser.test_journeys import balance_of, staff_sign_in
from tests.conftest import issue_card
from tests.factories import HouseholdFactory
from tests.points.conftest import make_rule
from villagers.models import Referral, User


def test_township_officer_compares_two_villages_and_decides_a_sent_up_item(
    live_server,
    desktop,
    village_now,
    village_y,
    village_z,
    card_a,
    card_b,
    card_y,
    manager_x,
    supervisor_x,
    manager_y,
    township_officer,
):
    page, shots = desktop, "7-township"
    # Village X: a third household, and the supervisor's own household's award, which nobody
    # of the village may approve: it goes up from the start.
    issue_card(HouseholdFactory(group=card_a.household.group, number="X003"), manager_x)
    User.objects.filter(pk=supervisor_x.pk).update(household=card_a.household)
    (proposal,) = proposal_create(
        village=village_now,
        households=[card_a.household],
        rule=make_rule(village_now, "L01", 10, description="修村道"),
        reason="修村道两天",
        occurred_on=timezone.localdate(),
        actor=manager_x,
    )
    referral = Referral.objects.get(kind="proposal", object_id=proposal.pk)

    # Screen 1: the township overview, village X and Y side by side (Z is another township's).
    staff_sign_in(page, live_server, "township")
    assert page.url.endswith(reverse("reports:county_overview"))
    rows = page.locator("table.county-table tbody tr")
    assert rows.count() == 2
    names = rows.locator("th button").all_inner_texts()
    assert sorted(names) == sorted([village_now.name, village_y.name])
    assert village_z.name not in page.content()
    screenshot(page, shots, "01-township-overview")
    assert_accessible(page)

    # Sort by households, most first: X (3) above Y (1); its total adds up both.
    page.click("table.county-table thead a[href*='sort=-households']")
    first = page.locator("table.county-table tbody tr").first
    assert first.locator("th button").inner_text() == village_now.name
    total = page.locator("table.county-table tfoot tr")
    assert "2" in total.locator("th").inner_text()
    screenshot(page, shots, "02-sorted-by-households")

    # Screen 3: village X opened from its row: its dashboard, read-only.
    with page.expect_navigation():
        first.locator("th button").click()
    assert page.url.endswith(reverse("reports:dashboard"))
    assert village_now.name in page.locator("main").inner_text()
    screenshot(page, shots, "03-village-dashboard")

    # Screen 4: the township queue, the item sent up with why; the officer approves it.
    menu_follow(page, reverse("reports:county_queue"))
    item = page.locator("main li.list-group-item:has(form)", has_text="修村道两天")
    assert item.count() == 1
    screenshot(page, shots, "04-township-queue")
    item.locator("select[name=decision]").select_option("approve")
    with page.expect_navigation():
        item.locator("button[type=submit]").click()
    screenshot(page, shots, "05-decided")

    referral.refresh_from_db()
    assert (referral.status, referral.decided_by) == (Referral.Status.DONE, township_officer)
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.APPROVED
    assert balance_of(card_a.household) == 110
    assert page.locator("main li.list-group-item:has(form)", has_text="修村道两天").count() == 0


@pytest.fixture
def phone_390(browser):
    """A 390 px wide phone (an iPhone 12 to 15's width), where the probe read the queue."""
    yield from _page_in(
        _context(browser, {"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    )


def test_the_officer_decides_a_batch_as_one_and_reads_the_decided_on_a_phone(
    live_server, phone_390, village_now, card_a, card_b, manager_x, supervisor_x, township_officer
):
    """The supervisor's own batch of three goes up whole: on a phone the officer reads it
    as one card (households, points, total) and rejects it with one decision; what was
    decided reads as cards, each cell the card's width, never a column a character wide."""
    page, shots = phone_390, "7-township"
    card_c = issue_card(HouseholdFactory(group=card_a.household.group, number="X003"), manager_x)
    proposals = proposal_create(
        village=village_now,
        households=[card.household for card in (card_a, card_b, card_c)],
        rule=make_rule(village_now, "L01", 10, description="修村道"),
        reason="修村道两天",
        occurred_on=timezone.localdate(),
        actor=supervisor_x,
        batch_title="村道大扫除",
    )
    assert Referral.objects.filter(status=Referral.Status.OPEN).count() == 3

    sign_in(page, live_server, township_officer)
    page.goto(f"{live_server.url}{reverse('reports:county_queue')}")
    batch = page.locator("main li.referral-batch")
    assert batch.count() == 1 and page.locator("main select[name=decision]").count() == 1
    assert batch.locator("table.batch-households tbody tr").count() == 3
    assert "+30" in batch.locator("table.batch-households tfoot").inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "06-phone-batch-waiting")

    batch.locator("select[name=decision]").select_option("reject")
    batch.locator("input[name=reason]").fill("照片看不清")
    with page.expect_navigation():
        batch.locator("button[type=submit]").click()
    statuses = {p.status for p in Proposal.objects.filter(pk__in=[p.pk for p in proposals])}
    assert statuses == {Proposal.Status.REJECTED}
    assert balance_of(card_a.household) == 100

    # The decided: three cards whose cells span the card, their words on one line or two.
    rows = page.locator("main table.referrals-decided tbody tr")
    assert rows.count() == 3
    assert_no_horizontal_scroll(page)
    card_width = rows.first.bounding_box()["width"]
    assert card_width > 330
    for cell in rows.first.locator("td").all():
        box = cell.bounding_box()
        assert box["width"] > card_width * 0.85, cell.inner_text()
        assert box["height"] < 80, cell.inner_text()
    screenshot(page, shots, "07-phone-decided")
    assert_accessible(page)
