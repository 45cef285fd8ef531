"""The villager's bell on a 360 px phone: shown with its count, opened, read; no CSP violation."""

import re

from django.urls import reverse

from points.services import proposal_approve
from tests.browser.conftest import assert_no_horizontal_scroll, screenshot, sign_in
from tests.points.conftest import make_rule, propose


def test_the_bell_shows_new_messages_and_reading_them_clears_it(
    live_server, phone, village_x, card_a, manager_x, supervisor_x, villager_a
):
    page = phone
    rule = make_rule(village_x, "E01", 5, description="courtyard kept clean")
    (proposal,) = propose(manager_x, [card_a.household], rule)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    sign_in(page, live_server, villager_a)
    page.goto(f"{live_server.url}{reverse('points:me')}")
    bell = page.locator("header a.bell")
    assert bell.is_visible() and bell.locator(".bell-count").inner_text() == "1"
    box = bell.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44 and box["x"] + box["width"] <= 360
    assert_no_horizontal_scroll(page)
    screenshot(page, "notifications", "01-balance-with-bell")
    with page.expect_navigation():
        bell.click()
    assert page.url.endswith(reverse("notifications:mine"))
    assert page.locator(".notification-unread").count() == 1
    assert_no_horizontal_scroll(page)
    screenshot(page, "notifications", "02-messages")
    with page.expect_navigation():
        # The browser asks for Chinese: the button's name in either language.
        page.get_by_role("button", name=re.compile("Mark all as read|全部标为已读")).click()
    assert page.locator(".notification-unread").count() == 0
    assert page.locator("header a.bell .bell-count").count() == 0
    screenshot(page, "notifications", "03-read")
