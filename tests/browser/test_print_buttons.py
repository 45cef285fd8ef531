"""Print buttons print through static/js/print.js (window.print): without JavaScript a button
would do nothing, so it is drawn hidden and the script shows it; a line beside it says how
to print from the browser instead, and the script hides that line (templates/_print_button.html).
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.browser.conftest import PHONE, _context, _page_in, sign_in
from tests.browser.pages import last_month


def printable_pages(world) -> list[str]:
    today = timezone.localdate()
    return [
        reverse("store:receipt", args=[world["redemption"].pk]) + "?paper=slip",
        reverse("villagers:card_print", args=[world["card"].pk]),
        reverse("reports:notice_month", kwargs=world["notice_last"]),
        reverse("reports:notice_public", kwargs=world["notice_published"]),
        reverse("reports:month_report", args=[today.year, today.month]),
        reverse("reports:year_report", args=[today.year]),
        last_month(world),
    ]


@pytest.fixture
def wechat_page(browser):
    from tests.browser.test_villager_phone import WECHAT

    yield from _page_in(_context(browser, PHONE, **WECHAT))


@pytest.mark.parametrize("browser_page", ["desktop", "desktop_no_js"])
def test_a_print_button_is_shown_only_where_it_prints(
    live_server, request, browser_page, world, manager_x
):
    page = request.getfixturevalue(browser_page)
    javascript = browser_page == "desktop"
    sign_in(page, live_server, manager_x)
    wrong = []
    for url in printable_pages(world):
        page.goto(live_server.url + url)
        page.wait_for_load_state("load")
        buttons = page.locator("[data-print]")
        hints = page.locator("[data-print-hint]")
        if buttons.count() != 1 or hints.count() != 1:
            wrong.append(f"{url}: {buttons.count()} print buttons, {hints.count()} lines")
        elif (buttons.is_visible(), hints.is_visible()) != (javascript, not javascript):
            wrong.append(f"{url}: button shown {buttons.is_visible()}, line {hints.is_visible()}")
    assert not wrong, "\n".join(wrong)


def test_wechats_browser_which_cannot_print_shows_no_print_button(
    live_server, wechat_page, world, villager_a
):
    """Found by a probe: in WeChat's built-in browser (an Android WebView) window.print()
    does nothing, so the notice's Print button did nothing for the villagers who read it
    there; and that browser has no menu to print from either."""
    page = wechat_page
    sign_in(page, live_server, villager_a)
    for url in (
        reverse("reports:notice"),
        reverse("reports:notice_public", kwargs=world["notice_published"]),
    ):
        page.goto(live_server.url + url)
        page.wait_for_load_state("load")
        assert page.locator("[data-print]").count() == 1
        assert not page.locator("[data-print]").is_visible(), url
        assert not page.locator("[data-print-hint]").is_visible(), url
