"""The pickers that replaced the selects of every household or donor (core.picker), in a
real browser: with htmx the picker alone is fetched and swapped in; without JavaScript its
buttons and Enter send the whole form, which comes back as typed. Either way only the send
button records, with the row chosen."""

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from store.models import Donation
from tests.browser.conftest import htmx_settled, screenshot, sign_in, type_where_htmx_listens
from wishwall.models import Wish

BOTH = pytest.mark.parametrize("browser_page", ["desktop", "desktop_no_js"])


def _press(page, selector: str, *, navigates: bool) -> None:
    """Click a picker's button: a page without JavaScript comes back whole, htmx swaps."""
    if navigates:
        with page.expect_navigation():
            page.click(selector)
    else:
        page.click(selector)
        htmx_settled(page)


@BOTH
def test_a_donation_is_recorded_for_a_donor_found_by_a_search(
    live_server, request, browser_page, manager_x, donor_x
):
    page = request.getfixturevalue(browser_page)
    without_js = browser_page == "desktop_no_js"
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('store:donation_create')}")
    assert page.locator("select[name=donor]").count() == 0
    page.select_option("#id_kind", Donation.Kind.MONEY)
    page.fill("#id_value_yuan", "300")
    page.fill("#id_thanks", "感谢顺达农资")
    type_where_htmx_listens(page, "#id_donor", "顺达")
    # Enter in the search box searches (with htmx, as typing already did): nothing recorded.
    if without_js:
        with page.expect_navigation():
            page.press("#id_donor", "Enter")
    else:
        page.press("#id_donor", "Enter")
        htmx_settled(page)
    expect(page.locator(f"button[name=donor_pick][value='{donor_x.pk}']")).to_have_count(1)
    _press(page, f"button[name=donor_pick][value='{donor_x.pk}']", navigates=without_js)
    expect(page.locator(f"#pick-donor [data-chosen='{donor_x.pk}']")).to_have_count(1)
    assert page.input_value("#id_value_yuan") == "300"  # kept through the search and choice
    assert page.input_value("#id_thanks") == "感谢顺达农资"
    assert not Donation.objects.exists()
    screenshot(page, "pick-one", f"donation-donor-chosen-{browser_page}")
    with page.expect_navigation():
        page.click("main form button[name=send]")
    donation = Donation.objects.get()
    assert (donation.donor, donation.value_yuan) == (donor_x, Decimal("300"))


@BOTH
def test_a_wish_is_posted_for_a_household_found_by_a_search(
    live_server, request, browser_page, manager_x, card_a, card_b
):
    page = request.getfixturevalue(browser_page)
    without_js = browser_page == "desktop_no_js"
    household = card_b.household
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('wishwall:new')}")
    page.fill("input[name=title]", "一副老花镜")
    page.fill("textarea[name=story]", "看不清药盒。")
    type_where_htmx_listens(page, "#id_household", household.head_name)
    _press(page, "button[name=household_search]", navigates=without_js)
    _press(page, f"button[name=household_pick][value='{household.pk}']", navigates=without_js)
    expect(page.locator(f"#pick-household [data-chosen='{household.pk}']")).to_have_count(1)
    # Changed: the search is back, then the same household chosen again.
    _press(page, "button[name=household_change]", navigates=without_js)
    type_where_htmx_listens(page, "#id_household", household.head_name)
    _press(page, "button[name=household_search]", navigates=without_js)
    _press(page, f"button[name=household_pick][value='{household.pk}']", navigates=without_js)
    assert page.input_value("input[name=title]") == "一副老花镜"
    assert not Wish.objects.exists()
    with page.expect_navigation():
        page.click("main form button[name=send]")
    wish = Wish.objects.get()
    assert (wish.household, wish.title, wish.posted_on_behalf) == (household, "一副老花镜", True)
