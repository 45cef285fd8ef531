"""A township officer's morning: the township's villages compared, one looked into, and an
item one of them sent up decided (DESIGN.md ledger rule 8), in chromium.

Same style as test_journeys.py: typed and clicked as the officer would, screenshots under
test-artifacts/screenshots/7-township/, assertions on numbers and the database.
"""

from django.urls import reverse
from django.utils import timezone

from points.models import Proposal
from points.services import proposal_create
from tests.browser.conftest import assert_accessible, menu_follow, screenshot
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
