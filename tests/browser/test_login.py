"""Signing in, in a real browser, on a phone and on a desktop."""

from tests.browser.conftest import (
    assert_accessible,
    assert_no_horizontal_scroll,
    screenshot,
)
from tests.conftest import PIN


def test_villager_signs_in_with_card_on_a_phone(live_server, phone, card_a):
    phone.goto(f"{live_server.url}/accounts/card-login/")
    assert_no_horizontal_scroll(phone)
    assert_accessible(phone)
    screenshot(phone, "login", "card-login-phone")
    phone.fill("input[name=card_number]", card_a.number)
    phone.fill("input[name=pin]", PIN)
    phone.click("button[type=submit]")
    phone.wait_for_load_state()
    assert "/accounts/" not in phone.url
    assert card_a.household.head_name in phone.content()


def test_staff_sign_in_and_language_switch(live_server, desktop, manager_x):
    desktop.goto(f"{live_server.url}/accounts/login/")
    assert_accessible(desktop)
    desktop.fill("input[name=username]", "manager_x")
    desktop.fill("input[name=password]", "Correct-Horse-42")
    desktop.click("main button[type=submit]")
    desktop.wait_for_load_state()
    assert "/accounts/login" not in desktop.url
    desktop.select_option("#language-select", "en")
    desktop.click("footer button[type=submit]")
    desktop.wait_for_load_state()
    assert desktop.locator("html").get_attribute("lang") == "en"
    screenshot(desktop, "login", "staff-home-desktop")
