"""The counter with a USB scanner, which types what it reads into the focused box and Enter:
goods' barcodes one after another, and the next household's card, with JavaScript and
without. Assertions read the page's structure, URLs and the database, not words.
"""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from store.models import Item, Redemption
from tests.browser.conftest import sign_in

BOTH = pytest.mark.parametrize("browser_page", ["desktop", "desktop_no_js"])


def counter_url(live_server, household, query=""):
    return f"{live_server.url}{reverse('store:counter_household', args=[household.pk])}{query}"


def scan(page, text: str) -> None:
    """What a scanner does: type into the focused box, then Enter, and wait for the page."""
    with page.expect_navigation():
        page.keyboard.type(text)
        page.keyboard.press("Enter")
    page.wait_for_load_state("load")


def shelf(page):
    return page.locator("#counter .list-group-item form")


@BOTH
def test_a_second_barcode_is_scanned_alone(
    live_server, request, browser_page, card_a, shelves, manager_x
):
    """The box opens empty and focused after each scan and each item put in the cart, so a
    barcode is never typed after the one before."""
    page = request.getfixturevalue(browser_page)
    rice, soap = shelves["rice"], shelves["soap"]
    Item.objects.filter(pk=rice.pk).update(barcode="6901234567892")
    Item.objects.filter(pk=soap.pk).update(barcode="6909876543210")
    sign_in(page, live_server, manager_x)
    page.goto(counter_url(live_server, card_a.household, "?zone=grain_oil"))
    search = page.locator("#item-search")
    expect(search).to_be_focused()

    scan(page, "6901234567892")
    expect(shelf(page)).to_have_count(1)
    expect(shelf(page).locator("input[name=item]")).to_have_value(str(rice.pk))
    expect(search).to_have_value("")
    expect(search).to_be_focused()
    assert page.locator("#item-searched").count() == 1  # what was searched, said beside it

    scan(page, "6909876543210")  # soap, from another zone than the tab open
    expect(shelf(page).locator("input[name=item]")).to_have_value(str(soap.pk))
    with page.expect_navigation():
        shelf(page).locator("button[type=submit]").click()
    page.locator("#counter table tbody tr").first.wait_for()
    expect(search).to_be_focused()
    scan(page, "6901234567892")
    expect(shelf(page).locator("input[name=item]")).to_have_value(str(rice.pk))

    page.click("#item-searched a")  # clear the search: the zone's shelves again
    page.wait_for_url(re.compile(r"\?zone=grain_oil$"))
    expect(page.locator("#item-searched")).to_have_count(0)


@BOTH
def test_the_next_households_card_scanned_into_the_goods_search(
    live_server, request, browser_page, card_a, card_b, shelves, manager_x
):
    """Their counter opens; the first household's cart is not charged, and the page says so
    (with JavaScript too, where htmx swaps only the counter)."""
    page = request.getfixturevalue(browser_page)
    sign_in(page, live_server, manager_x)
    page.goto(counter_url(live_server, card_a.household, "?zone=grain_oil"))
    with page.expect_navigation():
        page.locator("#counter li", has_text=shelves["rice"].name).locator("button").click()
    page.locator("#counter table tbody tr").first.wait_for()
    page.locator("#item-search").focus()
    scan(page, f"http://example.org/card/login/?card={card_b.number}")
    page.wait_for_url(counter_url(live_server, card_b.household))
    expect(page.locator("#counter .messages .alert-info")).to_have_count(1)
    expect(page.locator("#counter .messages .alert-warning")).to_have_count(1)
    assert page.locator("#counter table tbody tr").count() == 0  # their own cart, empty
    expect(page.locator("#item-search")).to_be_focused()
    assert not Redemption.objects.exists()
