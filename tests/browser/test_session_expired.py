"""A session that expires mid-form: the household picker's search (htmx) takes the whole page
to the login, which comes back to the form (core.access answers htmx with HX-Redirect); a
villager's form sent from a page left open overnight comes back as it was typed.

Found by a browser probe: the search followed the redirect to the login page, found no picker
in it and swapped that nothing in; the picker vanished with the households chosen, the tab
read "Staff login", and nothing said why.
"""

import re

from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD, PIN
from wishwall.models import Wish


def _session_ends(page) -> None:
    """The session ends (expired, or signed out in another tab); the CSRF cookie stays."""
    kept = [cookie for cookie in page.context.cookies() if cookie["name"] != "sessionid"]
    page.context.clear_cookies()
    page.context.add_cookies(kept)


def _card_login(page, card) -> None:
    """Sign in on the card login the page is on, with the card's PIN."""
    page.fill("input[name=card_number]", card.number)
    page.fill("input[name=pin]", PIN)
    with page.expect_navigation():
        page.click("main button[type=submit]")


def test_a_search_after_the_session_expired_goes_to_the_login_and_back(
    live_server, desktop, card_a, card_b, manager_x
):
    page = desktop
    sign_in(page, live_server, manager_x)
    form = f"{reverse('points:proposal_new')}?household={card_a.household.pk}"
    page.goto(live_server.url + form)
    page.wait_for_load_state("load")  # htmx binds its buttons once the page has loaded
    _session_ends(page)
    page.fill("#household-find", card_b.household.head_name)
    page.click("button[name=search]")
    expect(page).to_have_url(re.compile(re.escape(live_server.url + reverse("login") + "?next=")))
    page.fill("input[name=username]", manager_x.username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.url == live_server.url + form  # back on the form, its household chosen
    chosen = page.locator("#picked-fields input[name=households]")
    assert chosen.count() == 1 and chosen.get_attribute("value") == str(card_a.household.pk)


def test_a_wish_sent_from_a_page_left_open_overnight_comes_back_as_typed(
    live_server, phone, card_a, villager_a, card_b, villager_b
):
    """Found by the phone's 3G probe: a wish sent after the sign-in had ended landed on the
    card login without a word, and the form came back empty once signed in again; one
    refused by the CSRF check (a sign-in elsewhere changes the token) read "Not allowed".
    Both now say nothing was saved, and the form comes back as typed (static/js/send-once.js).
    """
    page = phone
    new_wish = live_server.url + reverse("wishwall:new")
    sign_in(page, live_server, villager_a)
    page.goto(new_wish)
    page.fill("input[name=title]", "一副老花镜")
    page.fill("textarea[name=story]", "眼睛看不清了。")
    _session_ends(page)  # the night: the session has ended, the CSRF cookie stays
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.url.startswith(live_server.url + reverse("card_login"))
    expect(page.locator("[data-sent-lost]")).to_be_visible()
    _card_login(page, card_a)
    assert page.url == new_wish
    expect(page.locator("[data-put-back]")).to_be_visible()
    assert page.input_value("input[name=title]") == "一副老花镜"
    assert page.input_value("textarea[name=story]") == "眼睛看不清了。"

    # Signed in again on another page meanwhile: this page's CSRF token is no longer the
    # cookie's, and the form is refused.
    page.context.add_cookies([{"name": "csrftoken", "value": "b" * 32, "url": live_server.url}])
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page.locator("[data-sent-lost]")).to_be_visible()
    with page.expect_navigation():
        page.click("main a.btn-primary")  # back to the form
    assert page.url == new_wish
    assert page.input_value("textarea[name=story]") == "眼睛看不清了。"
    assert not Wish.objects.exists()
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert Wish.objects.get().title == "一副老花镜"

    # The same tab, the next person (a family's shared phone, an office PC): what was typed
    # comes back only to whoever typed it (found by the second read).
    page.goto(new_wish)
    page.fill("textarea[name=story]", "家里的事，不想让别人看到。")
    _session_ends(page)
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    expect(page.locator("[data-sent-lost]")).to_be_visible()
    _card_login(page, card_b)
    assert page.url == new_wish
    expect(page.locator("[data-put-back]")).to_have_count(0)
    assert page.input_value("textarea[name=story]") == ""
