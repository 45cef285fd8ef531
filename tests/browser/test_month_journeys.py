"""The cadre's month in a few screens: the hygiene round of a group and a zone's stock-take.

Same style as test_journeys.py: typed and clicked as the manager and the supervisor would,
screenshots under test-artifacts/screenshots/<journey>/, assertions on numbers and the
database rather than words.
"""

from django.urls import reverse

from points.models import Account, InspectionRound, Proposal
from store.models import StockCorrection
from tests.browser.conftest import menu_follow, screenshot
from tests.browser.test_journeys import staff_sign_in
from tests.conftest import issue_card
from tests.factories import HouseholdFactory
from tests.points.conftest import make_rule
from tests.store.conftest import make_item


def sign_out(page):
    page.context.clear_cookies()


def save_sheet(page):
    """Press a sheet's save button (Enter in one of its boxes only checks it)."""
    with page.expect_navigation():
        page.click("main form[method=post] button[name=save]")


def traffic(page) -> dict[str, list[str]]:
    """What the person costs from now on: each page shown (a main-frame navigation, the page
    a POST redirects to included) and each POST the browser sends, form or fetch."""
    seen = {"screens": [], "posts": []}
    page.on("framenavigated", lambda frame: frame.parent_frame or seen["screens"].append(frame.url))
    page.on(
        "request", lambda request: request.method == "POST" and seen["posts"].append(request.url)
    )
    return seen


def test_monthly_round_of_a_group_ends_in_an_approved_batch(
    live_server, desktop, village_now, group_x, card_a, card_b, manager_x, supervisor_x
):
    page, shots = desktop, "6-hygiene-round"
    passing = make_rule(village_now, "HJ01", 5, cap=5, description="月度“五净一规范”检查达标")
    failing = make_rule(village_now, "KF03", -3, description="月度“五净一规范”检查不达标")
    household_c = issue_card(
        HouseholdFactory(group=group_x, head_name="孙小红", number="X003"), manager_x
    ).household
    a, b = card_a.household, card_b.household

    # Manager, screen 1: the groups of the village, each with its round of the month.
    staff_sign_in(page, live_server, "manager_x")
    menu_follow(page, reverse("points:round_list"))
    screenshot(page, shots, "01-groups")
    # Screen 2: the group's sheet, every household and its six checks, all clean to start.
    with page.expect_navigation():
        page.click(f"a[href='{reverse('points:round_new_group', args=[group_x.pk])}']")
    assert page.locator("main tbody tr").count() == 3
    assert page.locator("input.round-check:checked").count() == 3 * 6
    page.select_option("select[name=pass_rule]", str(passing.pk))
    page.select_option("select[name=fail_rule]", str(failing.pk))
    # Keyboard: the kitchen of household B is not clean; Tab runs along its row.
    page.focus(f"#h{b.pk}-yard_clean")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == f"h{b.pk}-kitchen_clean"
    page.keyboard.press("Space")
    page.fill(f"#h{b.pk}-notes", "灶台油污")
    # Enter in the note only checks the sheet: nothing saved, nothing typed lost.
    with page.expect_navigation():
        page.press(f"#h{b.pk}-notes", "Enter")
    assert not InspectionRound.objects.exists()
    assert page.input_value(f"#h{b.pk}-notes") == "灶台油污"
    assert not page.is_checked(f"#h{b.pk}-kitchen_clean")
    page.uncheck(f"#h{household_c.pk}-toilet_clean")
    screenshot(page, shots, "02-sheet")
    # One POST saves; screen 3: the saved round and its batch.
    save_sheet(page)
    round_ = InspectionRound.objects.get()
    assert page.url.endswith(reverse("points:round_detail", args=[round_.pk]))
    screenshot(page, shots, "03-round-saved")
    proposals = {p.household_id: p.points for p in round_.batch.proposals.all()}
    assert proposals == {a.pk: 5, b.pk: -3, household_c.pk: -3}
    assert not round_.inspections.get(household=b).kitchen_clean

    # Supervisor: the queue shows the batch with its counts; one POST approves it whole.
    sign_out(page)
    staff_sign_in(page, live_server, "supervisor_x")
    page.goto(f"{live_server.url}{reverse('points:approval_queue')}")
    outcome = page.locator(".batch-outcome").inner_text()
    assert "1" in outcome and "2" in outcome
    screenshot(page, shots, "04-queue-with-the-batch")
    with page.expect_navigation():
        page.click(f"button[name=batch_action][value='approve:{round_.batch_id}']")
    screenshot(page, shots, "05-batch-approved")
    statuses = set(round_.batch.proposals.values_list("status", flat=True))
    assert statuses == {Proposal.Status.APPROVED}
    balances = {
        account.household_id: account.balance
        for account in Account.objects.filter(household__in=[a, b, household_c])
    }
    assert balances == {a.pk: 105, b.pk: 97, household_c.pk: 97}


def test_a_whole_zone_is_counted_and_the_supervisor_confirms_the_differences(
    live_server, desktop, village_now, shelves, manager_x, supervisor_x
):
    page, shots = desktop, "7-stock-take"
    oil = make_item(village_now, "grain_oil", "菜籽油 5L", 30, 20, manager_x, unit="桶")
    flour = make_item(village_now, "grain_oil", "面粉 5kg", 12, 15, manager_x, unit="袋")
    rice = shelves["rice"]

    staff_sign_in(page, live_server, "manager_x")
    page.goto(f"{live_server.url}{reverse('store:stock_list')}")
    page.click(f"a[href='{reverse('store:stock_take_sheet')}']")
    with page.expect_navigation():
        page.click("a[href='?zone=grain_oil']")
    assert page.locator("main tbody tr").count() == 3
    # Only the differences are typed: oil is two short (one leaked), flour one over.
    page.fill(f"#count-{oil.pk}", "18")
    page.fill(f"#count-{flour.pk}", "16")
    page.fill(f"#reason-{flour.pk}", "上月少记一袋")
    screenshot(page, shots, "01-sheet-with-a-difference-without-reason")
    save_sheet(page)
    assert page.locator("tr.table-danger").count() == 1  # oil: a reason is needed
    assert not StockCorrection.objects.exists()
    page.fill(f"#reason-{oil.pk}", "漏油")
    page.select_option(f"#cause-{oil.pk}", "damaged")
    screenshot(page, shots, "02-sheet-ready")
    save_sheet(page)
    assert page.url.endswith(reverse("store:corrections"))
    screenshot(page, shots, "03-differences-waiting")
    assert StockCorrection.objects.filter(status="pending").count() == 2
    oil.refresh_from_db()
    assert oil.stock == 20  # nothing moves before the second person confirms

    sign_out(page)
    staff_sign_in(page, live_server, "supervisor_x")
    menu_follow(page, reverse("store:corrections"))
    assert page.locator("input[name=correction]:checked").count() == 2
    screenshot(page, shots, "04-supervisor-confirms")
    with page.expect_navigation():
        page.click("button[name=action][value=confirm]")
    screenshot(page, shots, "05-confirmed")
    for item, stock in ((oil, 18), (flour, 16), (rice, 50)):
        item.refresh_from_db()
        assert item.stock == stock
    kinds = set(StockCorrection.objects.values_list("movement__kind", flat=True))
    assert kinds == {"write_off", "adjustment"}


def test_the_round_of_a_50_household_group_costs_three_screens_and_one_post(
    live_server, desktop, village_now, group_x, card_a, card_b, manager_x, supervisor_x
):
    """The issue's budget: at most 3 screens and 2 POSTs for the manager, 2 for the supervisor.

    Measured: the manager 3 screens (groups, sheet, saved round) and 1 POST; the supervisor
    2 screens (queue, queue after approving) and 1 POST; signing in is not counted.
    """
    page, shots = desktop, "6-hygiene-round-50"
    passing = make_rule(village_now, "HJ01", 5, cap=5, description="月度“五净一规范”检查达标")
    failing = make_rule(village_now, "KF03", -3, description="月度“五净一规范”检查不达标")
    households = [card_a.household, card_b.household] + [
        issue_card(HouseholdFactory(group=group_x, number=f"X{n:03}"), manager_x).household
        for n in range(3, 51)
    ]
    dirty = households[::10]  # five households with a dirty kitchen

    staff_sign_in(page, live_server, "manager_x")
    manager = traffic(page)
    menu_follow(page, reverse("points:round_list"))
    with page.expect_navigation():
        page.click(f"a[href='{reverse('points:round_new_group', args=[group_x.pk])}']")
    assert page.locator("main tbody tr").count() == 50
    page.select_option("select[name=pass_rule]", str(passing.pk))
    page.select_option("select[name=fail_rule]", str(failing.pk))
    for household in dirty:
        page.uncheck(f"#h{household.pk}-kitchen_clean")
    screenshot(page, shots, "01-sheet-of-50")
    save_sheet(page)
    round_ = InspectionRound.objects.get()
    assert page.url.endswith(reverse("points:round_detail", args=[round_.pk]))
    screenshot(page, shots, "02-round-saved")
    assert len(manager["screens"]) == 3, manager["screens"]
    assert len(manager["posts"]) == 1, manager["posts"]

    sign_out(page)
    staff_sign_in(page, live_server, "supervisor_x")
    supervisor = traffic(page)
    menu_follow(page, reverse("points:approval_queue"))
    with page.expect_navigation():
        page.click(f"button[name=batch_action][value='approve:{round_.batch_id}']")
    screenshot(page, shots, "03-batch-of-50-approved")
    assert len(supervisor["screens"]) == 2, supervisor["screens"]
    assert len(supervisor["posts"]) == 1, supervisor["posts"]

    proposals = round_.batch.proposals.all()
    assert {p.status for p in proposals} == {Proposal.Status.APPROVED}
    assert sorted(p.points for p in proposals) == [-3] * 5 + [5] * 45
    balances = Account.objects.filter(household__in=households).values_list("balance", flat=True)
    assert sorted(balances) == [97] * 5 + [105] * 45
