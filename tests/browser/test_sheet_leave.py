"""A sheet's links that draw it again (the stock-take's zone tabs, the round's "start with every
check unticked") ask before they drop what was typed (static/js/sheet-leave.js).

Found by a browser probe: a zone tab or "untick all" clicked after counting half a zone, or
ticking half a group, reloaded the sheet and the typed work was gone without a word. Without
JavaScript the links still go where they say.
"""

from django.urls import reverse

from points.models import InspectionRound
from store.models import StockCorrection
from tests.browser.conftest import sign_in


def answering(page, accept: bool) -> list[str]:
    """Answer the next dialogs (accept or dismiss); the list collects what they asked."""
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.on("dialog", answer)
    return asked


def test_a_zone_tab_asks_before_it_drops_the_counts_typed(live_server, desktop, shelves, manager_x):
    page, rice = desktop, shelves["rice"]
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('store:stock_take_sheet')}?zone=grain_oil")
    # Nothing typed: the tabs go at once, no question.
    asked = answering(page, accept=False)
    with page.expect_navigation():
        page.click("a[href='?zone=toiletries']")
    with page.expect_navigation():
        page.click("a[href='?zone=grain_oil']")
    assert asked == []
    page.fill(f"#count-{rice.pk}", "47")
    page.fill(f"#reason-{rice.pk}", "老鼠咬破")

    page.click("a[href='?zone=toiletries']")  # asked, and "stay" answered

    assert len(asked) == 1 and asked[0]
    assert page.url.endswith("?zone=grain_oil")
    assert page.input_value(f"#count-{rice.pk}") == "47"
    assert page.input_value(f"#reason-{rice.pk}") == "老鼠咬破"


def test_leaving_anyway_goes_to_the_tab_and_saving_still_saves(
    live_server, desktop, shelves, manager_x
):
    page, rice = desktop, shelves["rice"]
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('store:stock_take_sheet')}?zone=grain_oil")
    page.fill(f"#count-{rice.pk}", "47")
    # Enter only checks the sheet: it comes back unsaved, and a tab still asks.
    with page.expect_navigation():
        page.press(f"#count-{rice.pk}", "Enter")
    asked = answering(page, accept=True)
    with page.expect_navigation():
        page.click("a[href='?zone=toiletries']")
    assert len(asked) == 1
    assert page.url.endswith("?zone=toiletries")
    assert not StockCorrection.objects.exists()
    # The save button is no link: it saves without a question.
    page.goto(f"{live_server.url}{reverse('store:stock_take_sheet')}?zone=grain_oil")
    page.fill(f"#count-{rice.pk}", "49")
    page.fill(f"#reason-{rice.pk}", "少了一袋")
    with page.expect_navigation():
        page.click("main form[method=post] button[name=save]")
    assert len(asked) == 1
    assert StockCorrection.objects.get().quantity == -1


def test_untick_all_asks_before_it_drops_the_round_typed(
    live_server, desktop, village_now, group_x, card_a, card_b, manager_x
):
    page, a = desktop, card_a.household
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('points:round_new_group', args=[group_x.pk])}")
    page.uncheck(f"#h{a.pk}-kitchen_clean")
    page.fill(f"#h{a.pk}-notes", "灶台油污")
    asked = answering(page, accept=False)

    page.click("a[href='?start=blank']")

    assert len(asked) == 1
    assert not page.url.endswith("?start=blank")
    assert not page.is_checked(f"#h{a.pk}-kitchen_clean")
    assert page.is_checked(f"#h{a.pk}-yard_clean")
    assert page.input_value(f"#h{a.pk}-notes") == "灶台油污"
    assert not InspectionRound.objects.exists()


def test_without_javascript_the_links_still_go(
    live_server, desktop_no_js, shelves, group_x, card_a, manager_x
):
    page = desktop_no_js
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('store:stock_take_sheet')}?zone=grain_oil")
    page.fill(f"#count-{shelves['rice'].pk}", "47")
    with page.expect_navigation():
        page.click("a[href='?zone=toiletries']")
    assert page.url.endswith("?zone=toiletries")
    page.goto(f"{live_server.url}{reverse('points:round_new_group', args=[group_x.pk])}")
    with page.expect_navigation():
        page.click("a[href='?start=blank']")
    assert page.locator("input.round-check:checked").count() == 0


def test_every_other_way_off_the_sheet_asks_too(live_server, desktop, shelves, manager_x):
    """The sheet's own links asked; the menu, the title bar, Back and closing the tab dropped
    the typed counts without a word. They get the browser's "Leave site?" question; the
    sheet's own save does not ask, nor does a link whose question was answered."""
    page, rice = desktop, shelves["rice"]
    sign_in(page, live_server, manager_x)
    sheet = f"{live_server.url}{reverse('store:stock_take_sheet')}?zone=grain_oil"
    page.goto(sheet)
    page.fill(f"#count-{rice.pk}", "47")
    asked = []

    def answer(dialog):  # "Leave site?" answered "stay", the sheet's own question "leave"
        asked.append(dialog.type)
        dialog.dismiss() if dialog.type == "beforeunload" else dialog.accept()

    page.on("dialog", answer)

    page.click("a.navbar-brand")  # asked, and "stay" answered

    page.wait_for_timeout(300)
    assert asked == ["beforeunload"]
    assert page.url == sheet
    assert page.input_value(f"#count-{rice.pk}") == "47"
    # The sheet's own link asks in its own words, once: leaving, the browser does not ask again.
    with page.expect_navigation():
        page.click("a[href='?zone=toiletries']")
    assert asked == ["beforeunload", "confirm"]
    # Found in review: any form sent counted as the sheet's save, so Sign out in the menu (or
    # the language switch) left the typed counts without a word. It asks; "stay" answered.
    page.goto(sheet)
    page.fill(f"#count-{rice.pk}", "49")
    page.click(".nav-menu summary")
    page.click("form[data-sign-out] button")
    page.wait_for_timeout(300)
    assert asked == ["beforeunload", "confirm", "beforeunload"]
    assert page.url == sheet
    # Saving asks nothing.
    page.fill(f"#reason-{rice.pk}", "少了一袋")
    with page.expect_navigation():
        page.click("main form[method=post] button[name=save]")
    assert asked == ["beforeunload", "confirm", "beforeunload"]
    assert StockCorrection.objects.get().quantity == -1
