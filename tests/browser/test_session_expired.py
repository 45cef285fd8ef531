"""A session that expires mid-form: the household picker's search (htmx) takes the whole page
to the login, which comes back to the form (core.access answers htmx with HX-Redirect).

Found by a browser probe: the search followed the redirect to the login page, found no picker
in it and swapped that nothing in; the picker vanished with the households chosen, the tab
read "Staff login", and nothing said why.
"""

import re

from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.conftest import PASSWORD


def test_a_search_after_the_session_expired_goes_to_the_login_and_back(
    live_server, desktop, card_a, card_b, manager_x
):
    page = desktop
    sign_in(page, live_server, manager_x)
    form = f"{reverse('points:proposal_new')}?household={card_a.household.pk}"
    page.goto(live_server.url + form)
    page.wait_for_load_state("load")  # htmx binds its buttons once the page has loaded
    # The session ends (expired, or signed out in another tab); the CSRF cookie stays.
    kept = [cookie for cookie in page.context.cookies() if cookie["name"] != "sessionid"]
    page.context.clear_cookies()
    page.context.add_cookies(kept)
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
