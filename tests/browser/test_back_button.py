"""Back after a form that moves goods or money, then the button again: done once, not twice.

The pages are sent no-store, so Back draws the form afresh with a new one-time key; a
browser that filled the old values back in would make the second press a new, valid
request. Forms with a one-time key say autocomplete="off" (checked on every page by the
permission matrix), which this real chromium honours: the form comes back empty.
"""

from django.urls import reverse
from playwright.sync_api import expect

from store.models import Donation, StockMovement
from tests.browser.conftest import screenshot, sign_in, type_where_htmx_listens

SHOTS = "back-button"


def test_back_and_send_again_records_a_stock_in_and_a_donation_once(
    live_server, desktop, manager_x, shelves, donor_x
):
    page = desktop
    sign_in(page, live_server, manager_x)
    rice = shelves["rice"]

    page.goto(f"{live_server.url}{reverse('store:stock_in')}")
    page.select_option("#id_item", str(rice.pk))
    page.fill("#id_quantity", "20")
    page.select_option("#id_fund_source", StockMovement.FundSource.COLLECTIVE)
    page.fill("#id_cost_yuan", "200")
    page.get_by_role("button", name="入库").click()
    page.wait_for_load_state()
    page.go_back()
    assert page.input_value("#id_quantity") == ""
    assert page.input_value("#id_cost_yuan") == ""
    screenshot(page, SHOTS, "stock-in-after-back")
    page.get_by_role("button", name="入库").click()
    page.wait_for_load_state()
    assert StockMovement.objects.filter(item=rice, quantity=20).count() == 1

    page.goto(f"{live_server.url}{reverse('store:donation_create')}")
    type_where_htmx_listens(page, "#id_donor", "顺达")
    page.click(f"button[name=donor_pick][value='{donor_x.pk}']")
    expect(page.locator(f"#pick-donor [data-chosen='{donor_x.pk}']")).to_have_count(1)
    page.select_option("#id_kind", Donation.Kind.MONEY)
    page.fill("#id_value_yuan", "100")
    page.fill("#id_thanks", "感谢顺达农资")
    page.get_by_role("button", name="登记").click()
    page.wait_for_load_state()
    page.go_back()
    assert page.input_value("#id_value_yuan") == ""
    assert page.input_value("#id_thanks") == ""
    page.get_by_role("button", name="登记").click()
    page.wait_for_load_state()
    assert Donation.objects.filter(donor=donor_x).count() == 1
