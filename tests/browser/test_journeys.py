"""End-to-end journeys in a real browser, one per person's daily task.

Each journey types and clicks as its person would and saves screenshots of the key pages to
test-artifacts/screenshots/<journey>/. Assertions read numbers, URLs and the database rather
than words, so they hold in Chinese (the browser asks for zh-CN) and in English.
"""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from points.models import Account, Proposal
from store.models import Redemption
from store.services import redemption_create
from tests.browser.conftest import (
    assert_no_horizontal_scroll,
    htmx_settled,
    menu_follow,
    screenshot,
    type_where_htmx_listens,
)
from tests.conftest import PASSWORD, PIN
from tests.points.conftest import propose
from villagers.models import Card, Household
from wishwall import services as wish_services
from wishwall.models import Wish


def staff_sign_in(page, live_server, username):
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert reverse("login") not in page.url


def submit(page):
    """Press the main form's submit button and wait for the next page."""
    with page.expect_navigation():
        page.click("main form[method=post] button[type=submit]")


def propose_press(page):
    """Press the proposal or activity form's send button (its picker's buttons and Enter
    send nothing)."""
    with page.expect_navigation():
        page.click("main form[method=post] button[name=send]")


def pk_in(url: str) -> int:
    return int(re.search(r"/(\d+)/", url).group(1))


def balance_of(household) -> int:
    return Account.objects.get(household=household).balance


def test_manager_registers_a_household_and_proposes_an_activity(
    live_server, desktop, village_now, group_x, card_a, rules
):
    page, shots = desktop, "1-manager-registry"
    staff_sign_in(page, live_server, "manager_x")

    page.goto(f"{live_server.url}{reverse('villagers:household_create')}")
    page.fill("input[name=number]", "X020")
    page.select_option("select[name=group]", str(group_x.pk))
    page.fill("input[name=head_name]", "周桂兰")
    page.fill("input[name=address]", "啊道组8号")
    screenshot(page, shots, "01-household-form")
    submit(page)
    household = Household.objects.get(village=village_now, number="X020")
    assert page.url.endswith(reverse("reports:household", args=[household.pk]))

    page.click(f"a[href='{reverse('villagers:inspection_create', args=[household.pk])}']")
    for check in ("yard", "bedroom", "kitchen", "toilet", "person"):
        page.check(f"input[name={check}_clean]")
    page.check("input[name=belongings_in_order]")
    screenshot(page, shots, "02-inspection-form")
    submit(page)
    page.click(f"a[href='{reverse('villagers:participation_create', args=[household.pk])}']")
    page.fill("input[name=activity]", "义务打扫村道")
    submit(page)
    assert household.inspections.get().passed
    assert household.participations.count() == 1
    screenshot(page, shots, "03-household-ready-for-a-card")

    page.click(f"a[href='{reverse('points:card_issue', args=[household.pk])}']")
    page.fill("input[name=pin]", "1739")
    page.fill("input[name=pin_again]", "1739")
    submit(page)
    card = Card.objects.get(household=household, status=Card.Status.ACTIVE)
    assert card.number in page.content()
    screenshot(page, shots, "04-card-to-print")

    page.goto(f"{live_server.url}{reverse('points:household_ledger', args=[household.pk])}")
    assert page.locator(".balance-figure").inner_text().split()[0] == "100"
    assert page.locator(".history li").count() == 1
    screenshot(page, shots, "05-account-opening-points")

    page.goto(f"{live_server.url}{reverse('points:activity_new')}")
    page.fill("input[name=title]", "清扫村道")
    page.select_option("select[name=rule]", str(rules["labour"].pk))
    page.fill("input[name=place]", "村委会")
    # The picker: type the name, the matches appear (htmx), add the household.
    type_where_htmx_listens(page, "#household-find", "周桂兰")
    page.locator(f"#household-results button[name=add][value='{household.pk}']").click()
    page.locator(f"#picked-fields input[name=households][value='{household.pk}']").wait_for(
        state="attached"
    )
    htmx_settled(page)
    page.fill("textarea[name=card_numbers]", card_a.number)
    screenshot(page, shots, "06-activity-form")
    propose_press(page)
    proposals = Proposal.objects.filter(batch__title="清扫村道")
    assert {p.household_id for p in proposals} == {household.pk, card_a.household_id}
    assert all(p.status == Proposal.Status.PROPOSED for p in proposals)
    assert page.url.endswith(reverse("points:batch_detail", args=[proposals[0].batch_id]))
    assert page.locator("main tbody tr").count() == 2
    screenshot(page, shots, "07-batch-sent-for-approval")
    assert balance_of(card_a.household) == 100  # nothing counts before approval


def test_supervisor_approves_a_batch_and_rejects_one_item(
    live_server, desktop, village_now, card_a, card_b, manager_x, supervisor_x, rules
):
    from tests.conftest import issue_card
    from tests.factories import HouseholdFactory

    household_c = issue_card(
        HouseholdFactory(group=card_a.household.group, head_name="孙小红", number="X003"),
        manager_x,
    ).household
    households = [card_a.household, card_b.household, household_c]
    proposals = propose(
        manager_x, households, rules["labour"], batch_title="清扫村道", reason="清扫村道"
    )
    page, shots = desktop, "2-supervisor-approval"
    staff_sign_in(page, live_server, "supervisor_x")

    page.goto(f"{live_server.url}{reverse('reports:notice')}")
    assert "孙小红" not in page.inner_text("main")
    screenshot(page, shots, "01-notice-before")

    menu_follow(page, reverse("points:approval_queue"))
    assert page.locator("main tbody input[name=proposal]").count() == 3
    screenshot(page, shots, "02-queue")

    rejected = next(p for p in proposals if p.household_id == card_b.household_id)
    page.check(f"input[name=proposal][value='{rejected.pk}']")
    page.fill("input[name=rejection_reason]", "当天不在村里")
    with page.expect_navigation():
        page.click("button[name=action][value=reject]")
    assert page.locator("main tbody input[name=proposal]").count() == 2
    with page.expect_navigation():
        page.click("button[name=batch_action][value^=approve]")
    screenshot(page, shots, "03-queue-empty")
    assert page.locator("main tbody input[name=proposal]").count() == 0

    statuses = dict(Proposal.objects.filter(batch__title="清扫村道").values_list("pk", "status"))
    assert statuses.pop(rejected.pk) == Proposal.Status.REJECTED
    assert set(statuses.values()) == {Proposal.Status.APPROVED}
    assert Proposal.objects.get(pk=rejected.pk).rejection_reason == "当天不在村里"
    assert balance_of(card_a.household) == 110
    assert balance_of(card_b.household) == 100

    page.goto(f"{live_server.url}{reverse('points:batch_detail', args=[rejected.batch_id])}")
    assert "当天不在村里" in page.inner_text("main")
    screenshot(page, shots, "04-batch-decided")

    page.goto(f"{live_server.url}{reverse('reports:notice')}")
    notice = page.inner_text("main")
    assert "孙小红" in notice and card_a.household.head_name in notice
    assert card_b.household.head_name not in notice  # rejected: never credited, never posted
    screenshot(page, shots, "05-notice-after")


@pytest.mark.parametrize("browser_page", ["phone", "phone_no_js"])
def test_villager_on_a_phone(live_server, request, browser_page, card_a, shelves):
    page = request.getfixturevalue(browser_page)
    shots = f"3-villager-{browser_page.replace('_', '-')}"
    page.goto(f"{live_server.url}{reverse('card_login')}")
    page.fill("input[name=card_number]", card_a.number)
    page.fill("input[name=pin]", PIN)
    screenshot(page, shots, "01-card-login")
    submit(page)

    assert page.url.endswith(reverse("points:me"))
    assert page.locator(".balance-figure").inner_text().split()[0] == "100"
    assert "300.00" in page.inner_text("main")  # 100 points at 3 yuan each
    assert page.locator(".history li").count() == 1  # the opening entry
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "02-balance-and-history")

    menu_follow(page, reverse("store:catalogue"))
    rice = page.locator("main li", has_text="大米 10kg")
    kettle = page.locator("main li", has_text="电热水壶")
    assert rice.locator(".badge.text-bg-success").count() == 1  # can take some
    assert kettle.locator(".badge.text-bg-success").count() == 0  # 150 points: not yet
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "03-catalogue")

    menu_follow(page, reverse("wishwall:mine"))
    page.click(f"main a[href='{reverse('wishwall:new')}']")
    page.fill("input[name=title]", "一副老花镜")
    page.select_option("select[name=kind]", "health")
    page.fill("textarea[name=story]", "奶奶看不清针线。")
    screenshot(page, shots, "04-wish-form")
    submit(page)
    assert page.url.endswith(reverse("wishwall:mine"))
    assert "一副老花镜" in page.inner_text("main")
    assert Wish.objects.get(title="一副老花镜").household_id == card_a.household_id
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "05-my-wishes")


@pytest.mark.parametrize("browser_page", ["desktop", "desktop_no_js"])
def test_counter_redemption_is_charged_once(live_server, request, browser_page, card_a, shelves):
    """With JavaScript the page blocks a second click; without it the server's one-time key must."""
    page = request.getfixturevalue(browser_page)
    shots = "4-counter" if browser_page == "desktop" else "4-counter-no-js"
    household = card_a.household
    staff_sign_in(page, live_server, "manager_x")
    page.goto(f"{live_server.url}{reverse('store:counter')}")
    # A USB scanner types the number and presses Enter.
    page.fill("input[name=card]", card_a.number)
    with page.expect_navigation():
        page.press("input[name=card]", "Enter")
    assert page.url.endswith(reverse("store:counter_household", args=[household.pk]))
    # Where the scanner types goods' barcodes next: the search field, ready.
    search = page.locator("#item-search")
    expect(search).to_be_focused()

    for zone, item, quantity in (("grain_oil", "rice", 2), ("toiletries", "soap", 1)):
        page.click(f"#counter .zone-tabs a[href*='zone={zone}']")
        page.wait_for_url(f"**zone={zone}**")
        # The zone's shelves swapped in (not only the address changed): fill those.
        page.locator(f"#counter .zone-tabs a.btn-danger[href*='zone={zone}']").wait_for()
        htmx_settled(page)  # then the quantity typed stays where it was typed
        row = page.locator("#counter li", has_text=shelves[item].name)
        row.locator("input[name=quantity]").fill(str(quantity))
        row.locator("button[type=submit]").click()
        page.locator("#counter table tbody tr", has_text=shelves[item].name).wait_for()
        expect(search).to_be_focused()
    assert page.locator("#counter table tbody tr").count() == 2
    if browser_page == "desktop":  # a search: found, the box empty again for the next scan
        page.keyboard.type(shelves["soap"].name)
        page.keyboard.press("Enter")
        page.wait_for_url("**q=**")
        expect(page.locator("#item-searched")).to_contain_text(shelves["soap"].name)
        expect(search).to_have_value("")
        expect(search).to_be_focused()
    screenshot(page, shots, "01-cart-from-two-zones")

    confirm = page.locator("form.confirm-form")
    form = page.evaluate("f => Object.fromEntries(new FormData(f))", confirm.element_handle())
    action = confirm.get_attribute("action")
    # An impatient double-click. Without JavaScript the second submission aborts the first
    # navigation, so wait for where the browser ends up rather than for one navigation
    # (waiting for a navigation can meet the aborted one: net::ERR_ABORTED).
    confirm.locator("button").dblclick()
    expect(page).to_have_url(re.compile(r"/store/redemptions/\d+/$"))
    page.wait_for_load_state()
    redemption = Redemption.objects.get(household=household)
    assert page.url.endswith(reverse("store:receipt", args=[redemption.pk]))
    assert redemption.total_points == 2 * 20 + 8
    assert balance_of(household) == 100 - 48
    screenshot(page, shots, "02-receipt")

    # The same confirm form sent again (a resubmitted page, a retry): the first receipt, no charge.
    again = page.request.post(f"{live_server.url}{action}", form=form)
    assert again.ok and again.url.endswith(reverse("store:receipt", args=[redemption.pk]))
    assert Redemption.objects.filter(household=household).count() == 1
    assert balance_of(household) == 52

    page.goto(f"{live_server.url}{reverse('store:receipt', args=[redemption.pk])}?paper=slip")
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden()
    assert page.locator("footer").is_hidden()
    assert page.locator("main .btn").first.is_hidden()
    assert page.locator(".receipt").is_visible()
    assert redemption.number in page.inner_text(".receipt")
    screenshot(page, shots, "03-receipt-print")
    page.emulate_media(media="screen")


def test_supervisor_matches_and_fulfils_a_wish(
    live_server, desktop, card_a, villager_a, supervisor_x, donor_x
):
    wish = wish_services.wish_post(
        household=card_a.household,
        actor=villager_a,
        title="一辆轮椅",
        kind=Wish.Kind.HEALTH,
        story="父亲腿脚不便，出不了门。",
    )
    page, shots = desktop, "5-wish-echo"
    staff_sign_in(page, live_server, "supervisor_x")
    page.goto(f"{live_server.url}{reverse('wishwall:queue')}")
    page.click(f"main a[href='{reverse('wishwall:detail', args=[wish.pk])}']")
    screenshot(page, shots, "01-wish-to-check")
    with page.expect_navigation():
        page.click(f"form[action='{reverse('wishwall:approve', args=[wish.pk])}'] button")

    page.click(f"a[href='{reverse('wishwall:match', args=[wish.pk])}']")
    type_where_htmx_listens(page, "#id_donor", "顺达")  # the donor is searched, not scrolled for
    page.click(f"button[name=donor_pick][value='{donor_x.pk}']")
    expect(page.locator(f"#pick-donor [data-chosen='{donor_x.pk}']")).to_have_count(1)
    page.fill("textarea[name=note]", "月底前送到")
    screenshot(page, shots, "02-match")
    propose_press(page)
    wish.refresh_from_db()
    assert wish.status == Wish.Status.MATCHED

    page.click(f"a[href='{reverse('wishwall:fulfil', args=[wish.pk])}']")
    page.fill("input[name=date]", timezone.localdate().isoformat())
    page.fill("input[name=given]", "轮椅一辆")
    page.fill("textarea[name=thanks]", "谢谢顺达农资的好心人！")
    screenshot(page, shots, "03-fulfil")
    submit(page)
    wish.refresh_from_db()
    assert wish.status == Wish.Status.FULFILLED

    page.goto(f"{live_server.url}{reverse('wishwall:echo')}")
    echo = page.inner_text("main")
    assert "一辆轮椅" in echo and "谢谢顺达农资的好心人！" in echo and donor_x.name in echo
    screenshot(page, shots, "04-echo-wall")


def test_manager_works_from_the_household_hub(live_server, desktop, card_a, card_b, rules):
    """The hub of one household and each of its buttons: counter, propose, inspect, card."""
    from tests.factories import MemberFactory

    page, shots = desktop, "household_hub"
    household = card_a.household
    spouse = MemberFactory(household=household, name="李梅", relation="spouse")
    MemberFactory(household=card_b.household, name="李梅")  # the same name in another household
    staff_sign_in(page, live_server, "manager_x")
    hub = f"{live_server.url}{reverse('reports:household', args=[household.pk])}"

    page.goto(f"{live_server.url}{reverse('reports:household_list')}?sort=-balance")
    with page.expect_navigation():
        page.click(f"main a[href='{reverse('reports:household', args=[household.pk])}']")
    assert page.url == hub
    assert page.locator(".balance-figure").inner_text() == "100"
    assert "300.00" in page.inner_text("main")  # 100 points at 3 yuan each
    assert page.locator(".recent-ledger tbody tr").count() == 1  # the opening grant
    screenshot(page, shots, "01-hub")

    with page.expect_navigation():
        page.click(f"a[href='{reverse('store:counter_household', args=[household.pk])}']")
    assert page.url.endswith(reverse("store:counter_household", args=[household.pk]))
    assert page.locator("#counter .balance-figure").inner_text() == "100"
    screenshot(page, shots, "02-counter")

    page.goto(hub)
    with page.expect_navigation():
        page.click(f"a[href='{reverse('points:proposal_new')}?household={household.pk}']")
    picked = page.locator("#picked-fields input[name=households]")
    assert picked.count() == 1
    member_options = page.locator("#member-field select[name=member] option")
    assert member_options.count() == 2  # the whole household and the spouse: no one else
    # A second household found by typing (htmx): the member list goes, a batch has none.
    type_where_htmx_listens(page, "#household-find", card_b.household.head_name)
    page.locator(f"#household-results button[value='{card_b.household.pk}']").click()
    expect(page.locator("#picked-fields input[name=households]")).to_have_count(2)
    assert page.locator("#member-field select").count() == 0
    screenshot(page, shots, "03-propose-two-households")
    page.locator(f"#household-picker button[name=remove][value='{card_b.household.pk}']").click()
    page.locator("#member-field select[name=member]").wait_for()
    htmx_settled(page)
    page.select_option("select[name=member]", str(spouse.pk))
    page.select_option("select[name=rule]", str(rules["clean"].pk))
    page.fill("input[name=reason]", "院落干净整齐")
    screenshot(page, shots, "04-propose-one-household")
    propose_press(page)
    proposal = Proposal.objects.get(household=household)
    assert proposal.member == spouse and proposal.status == Proposal.Status.PROPOSED
    assert not Proposal.objects.filter(household=card_b.household).exists()

    page.goto(hub)
    assert page.locator("[data-waiting=proposed]").inner_text() == "+5"
    inspect = reverse("villagers:inspection_create", args=[household.pk])
    page.click(f".household-actions a[href='{inspect}']")
    for check in ("yard", "bedroom", "kitchen", "toilet", "person"):
        page.check(f"input[name={check}_clean]")
    submit(page)
    assert page.url == hub
    assert household.inspections.count() == 2  # the card's, and this one
    screenshot(page, shots, "05-hub-after-inspection")

    with page.expect_navigation():
        page.click(f".card-actions a[href='{reverse('villagers:card_print', args=[card_a.pk])}']")
    assert card_a.number in page.inner_text("main") and page.locator("main svg").count() == 1
    screenshot(page, shots, "06-card-print")


def test_proposal_picker_works_without_javascript(
    live_server, desktop_no_js, card_a, card_b, rules
):
    """Search, add, and the member list once one household is chosen: the picker's buttons
    send the whole form, which comes back as typed (a reason typed first is kept)."""
    from tests.factories import MemberFactory

    page, shots = desktop_no_js, "household_hub"
    member = MemberFactory(household=card_b.household, name="李梅")
    staff_sign_in(page, live_server, "manager_x")
    page.goto(f"{live_server.url}{reverse('points:proposal_new')}")
    assert page.locator("#member-field select").count() == 0
    page.select_option("select[name=rule]", str(rules["clean"].pk))
    page.fill("input[name=reason]", "院落干净整齐")
    page.fill("#household-find", card_b.number)
    with page.expect_navigation():
        page.press("#household-find", "Enter")
    assert page.locator("#household-find").input_value() == card_b.number  # kept
    with page.expect_navigation():
        page.click(f"#household-results button[value='{card_b.household.pk}']")
    assert page.locator("#picked-fields input[name=households]").count() == 1
    assert page.locator("select[name=member] option").count() == 2
    assert page.input_value("input[name=reason]") == "院落干净整齐"  # kept through both
    assert page.input_value("select[name=rule]") == str(rules["clean"].pk)
    assert not Proposal.objects.exists()
    page.select_option("select[name=member]", str(member.pk))
    screenshot(page, shots, "07-propose-without-javascript")
    propose_press(page)
    assert Proposal.objects.get().member == member


# The button pressed, lost on its way into what the photo script sends, as older browsers
# lose it: FormData's second argument (the button) is read only since Chrome 112 (WeChat's
# XWEB is on 107), the submit event's `submitter` only since Chrome 81 and Safari 15.4.
OLD_BROWSERS = {
    "form-data-without-button": """
(() => {
  const Native = window.FormData;
  window.FormData = function (form) { return new Native(form); };
  window.FormData.prototype = Native.prototype;
})();
""",
    "submit-event-without-submitter": """
Object.defineProperty(SubmitEvent.prototype, "submitter", { get: () => undefined });
""",
}


@pytest.mark.parametrize("old_browser", sorted(OLD_BROWSERS))
def test_a_proposal_with_a_photo_is_sent_where_the_browser_loses_the_button(
    live_server, desktop, card_a, rules, tmp_path, old_browser
):
    """Found by a review: the proposal form sends only when its send button is named in the
    post (its picker's buttons and Enter are not), and the script that shrinks a photo sent
    the form with FormData(form, event.submitter), which older browsers build without the
    button: a proposal with a photo came back as typed, never sent, however often the
    button was pressed. The script now adds the button pressed itself."""
    from PIL import Image

    page = desktop
    page.add_init_script(OLD_BROWSERS[old_browser])
    photo = tmp_path / "IMG_0001.jpg"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(photo, "JPEG")
    staff_sign_in(page, live_server, "manager_x")
    household = card_a.household
    page.goto(f"{live_server.url}{reverse('points:proposal_new')}?household={household.pk}")
    page.select_option("select[name=rule]", str(rules["clean"].pk))
    page.fill("input[name=reason]", "院落干净整齐")
    page.set_input_files("input[name=photo]", str(photo))
    page.click("main form[method=post] button[name=send]")
    page.wait_for_url(f"{live_server.url}{reverse('points:proposals_mine')}", timeout=15_000)
    proposal = Proposal.objects.get(household=household)
    assert proposal.photo and proposal.reason == "院落干净整齐"


@pytest.fixture(params=["back-forward-cache", "no-cache"])
def counter_browser(request, browser):
    """A desktop page; with the back-forward cache on as in an everyday browser (Playwright
    turns it off by default, which would hide a page shown again from it)."""
    from tests.browser.conftest import CHROMIUM_ARGS, DESKTOP, _chromium_path, _context, _page_in

    if request.param == "no-cache":
        yield from _page_in(_context(browser, DESKTOP))
        return
    own = browser.browser_type.launch(
        executable_path=_chromium_path(),
        args=CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"],
    )
    try:
        yield from _page_in(_context(own, DESKTOP))
    finally:
        own.close()


def test_back_after_a_confirmed_redemption_shows_the_new_balance(
    live_server, counter_browser, card_a, shelves
):
    page, household = counter_browser, card_a.household
    staff_sign_in(page, live_server, "manager_x")
    page.goto(f"{live_server.url}{reverse('store:counter_household', args=[household.pk])}")
    page.click("#counter .zone-tabs a[href*='zone=grain_oil']")
    page.wait_for_url("**zone=grain_oil**")
    row = page.locator("#counter li", has_text=shelves["rice"].name)
    row.locator("button[type=submit]").click()
    page.locator("#counter table tbody tr").first.wait_for()
    assert page.locator("#counter .balance-figure").inner_text() == "100"
    with page.expect_navigation():
        page.locator("form.confirm-form button").click()
    assert re.search(r"/store/redemptions/\d+/$", page.url)
    assert balance_of(household) == 80

    # Back: whether the browser fetches the page or shows it from its back-forward cache,
    # the teller sees the balance after the redemption and an empty cart.
    page.go_back(wait_until="commit")
    expect(page.locator("#counter .balance-figure")).to_have_text("80")
    assert page.url.endswith(
        f"{reverse('store:counter_household', args=[household.pk])}?zone=grain_oil"
    )
    assert page.locator("#counter table tbody tr").count() == 0
    # No copy of the counter kept in the tab's storage by htmx either.
    assert page.evaluate("sessionStorage.getItem('htmx-history-cache')") is None
    screenshot(page, "household_hub", "08-counter-after-back")


def test_supervisor_publishes_last_month_and_anyone_opens_it_without_login(
    live_server, browser, desktop, village_now, group_x, manager_x, supervisor_x, shelves
):
    """Ledger rule 7: last month is reviewed as a draft, published once, then read by anyone
    from the address printed as a QR code on the paper notice, in a browser with no login."""
    from core.months import previous_month
    from reports.models import PublishedNotice
    from tests.browser.conftest import _context
    from tests.conftest import issue_card
    from tests.factories import HouseholdFactory
    from tests.points.conftest import make_rule
    from tests.reports.conftest import at, dated_approval

    last = previous_month(timezone.localdate())
    road = make_rule(village_now, "L01", 10, description="修村道")
    households = []
    for number, name in (("X031", "王大山"), ("X032", "李秀英")):
        household = HouseholdFactory(group=group_x, head_name=name, number=number)
        issue_card(household, manager_x, at=at(previous_month(last), 20))
        household.refresh_from_db()
        households.append(household)
    approvers = {"manager": manager_x, "supervisor": supervisor_x}
    dated_approval(households[0], road, at(last, 6), reason="修村道", **approvers)
    redemption_create(
        village=village_now,
        household=households[1],
        lines={shelves["rice"].pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=at(last, 12),
    )

    page, shots = desktop, "notice"
    staff_sign_in(page, live_server, "supervisor_x")
    draft = reverse("reports:notice_month", args=[last.year, last.month])
    page.goto(f"{live_server.url}{draft}")
    publish = f"form[action='{reverse('reports:notice_publish', args=[last.year, last.month])}']"
    assert page.locator(publish).is_visible()
    assert page.locator(".notice-balances tbody tr").count() == 2
    screenshot(page, shots, "01-draft-to-review")

    # Publishing cannot be undone: the button asks for the box to be ticked first.
    page.click(f"{publish} button")
    assert not PublishedNotice.objects.filter(village=village_now, month=last).exists()
    page.check("#notice-confirm")
    with page.expect_navigation():
        page.click(f"{publish} button")
    notice = PublishedNotice.objects.get(village=village_now, month=last)
    assert page.url.endswith(draft)
    assert page.locator(publish).count() == 0  # published once: no second button
    assert page.locator(".notice-qr svg").is_visible()
    screenshot(page, shots, "02-published-and-signed")

    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden() and page.locator("nav.no-print").is_hidden()
    assert page.locator(".notice-signatures").is_visible()
    screenshot(page, shots, "03-printed-on-a4")
    page.emulate_media(media="screen")

    # A fresh browser: no cookies, no login, the address from the QR code.
    public = reverse("reports:notice_public", args=[village_now.code, last.year, last.month])
    stranger = _context(browser, {"width": 1280, "height": 900}).new_page()
    response = stranger.goto(f"{live_server.url}{public}")
    assert response.status == 200 and stranger.url.endswith(public)
    assert "public" in response.headers["cache-control"]
    text = stranger.inner_text("main")
    assert "王**" in text and "李**" in text and "王大山" in text  # the balance list masks
    assert supervisor_x.display_name in stranger.inner_text(".notice-signatures")
    assert notice.signatures.get().name == supervisor_x.display_name
    balances = stranger.locator(".notice-balances tbody tr")
    assert balances.count() == 2
    tails = {h.cards.get().number[-4:] for h in households}
    assert {balances.nth(i).locator("td").nth(1).inner_text() for i in range(2)} == tails
    assert stranger.locator(".notice-qr svg").is_visible()
    screenshot(stranger, shots, "04-opened-without-login")
    violations = stranger.context.policy_violations
    stranger.context.close()
    assert not violations, violations
