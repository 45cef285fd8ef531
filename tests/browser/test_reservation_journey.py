"""A reservation, end to end: the villager reserves on a 360 px phone, the manager opens the
household at the counter on a desktop (by typing the card, or by the camera) and hands the
goods over once; the villager is told."""

import re

from django.urls import reverse
from playwright.sync_api import expect

from points.models import Account
from store.models import Item, Redemption, Reservation
from tests.browser.conftest import assert_no_horizontal_scroll, screenshot
from tests.browser.test_camera_scan import (  # noqa: F401 - the camera fixture used here too
    camera,
    card_qr_text,
    start_scanning,
    y4m_video,
)
from tests.browser.test_journeys import staff_sign_in, submit
from tests.conftest import PIN


def reserve_press(page):
    """Press Reserve (Enter in a quantity only checks the choice)."""
    with page.expect_navigation():
        page.click("main form[method=post] button[name=save]")


def test_villager_reserves_on_the_phone_and_the_manager_hands_over(
    live_server, phone, desktop, card_a, shelves
):
    shots = "7-reservation"
    household = card_a.household
    page = phone
    page.goto(f"{live_server.url}{reverse('card_login')}")
    page.fill("input[name=card_number]", card_a.number)
    page.fill("input[name=pin]", PIN)
    submit(page)

    page.goto(f"{live_server.url}{reverse('store:catalogue')}")
    page.click(f"main a[href='{reverse('store:reserve')}']")
    page.fill(f"input[name=qty_{shelves['rice'].pk}]", "2")
    page.fill(f"input[name=qty_{shelves['soap'].pk}]", "1")
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "01-phone-reserve")
    # Enter in a quantity reserves nothing: the choice comes back as typed, with its total.
    with page.expect_navigation():
        page.press(f"input[name=qty_{shelves['soap'].pk}]", "Enter")
    assert not Reservation.objects.exists()
    assert page.input_value(f"input[name=qty_{shelves['rice'].pk}]") == "2"
    assert page.input_value(f"input[name=qty_{shelves['soap'].pk}]") == "1"
    assert str(2 * 20 + 8) in page.inner_text("main [role=status]")
    reserve_press(page)
    assert page.url.endswith(reverse("store:my_reservations"))
    reservation = Reservation.objects.get(household=household)
    assert reservation.total_points == 2 * 20 + 8 and reservation.is_open
    account = Account.objects.get(household=household)
    assert (account.balance, account.held) == (100, 48)
    assert Item.objects.get(pk=shelves["rice"].pk).held == 2
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "02-phone-my-reservations")

    page = desktop
    staff_sign_in(page, live_server, "manager_x")
    page.goto(f"{live_server.url}{reverse('store:pick_list')}")
    assert reservation.number in page.inner_text("main")
    screenshot(page, shots, "03-pick-list")
    page.goto(f"{live_server.url}{reverse('store:counter')}")
    page.fill("input[name=card]", card_a.number)
    with page.expect_navigation():
        page.press("input[name=card]", "Enter")
    assert page.locator(".balance-figure").inner_text().strip() == "52"  # 48 held
    section = page.locator("section[aria-labelledby=reservations-title]")
    assert reservation.number in section.inner_text()
    screenshot(page, shots, "04-counter-shows-the-reservation")
    hand_over = section.locator(f"form[action$='/reservations/{reservation.pk}/hand-over/']")
    form = page.evaluate("f => Object.fromEntries(new FormData(f))", hand_over.element_handle())
    action = hand_over.get_attribute("action")
    hand_over.locator("button").dblclick()
    # The second click's request cuts the first navigation short (ERR_ABORTED): wait for
    # where the page lands, as the counter's journey does, not for one navigation.
    expect(page).to_have_url(re.compile(r"/store/redemptions/\d+/$"))
    page.wait_for_load_state()
    redemption = Redemption.objects.get(household=household)
    assert redemption.total_points == 48
    screenshot(page, shots, "05-receipt")

    # The same confirm sent again: the first receipt, nothing charged twice.
    again = page.request.post(f"{live_server.url}{action}", form=form)
    assert again.ok and again.url.endswith(reverse("store:receipt", args=[redemption.pk]))
    assert Redemption.objects.filter(household=household).count() == 1
    account.refresh_from_db()
    assert (account.balance, account.held) == (52, 0)
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.FULFILLED
    assert reservation.redemption_id == redemption.pk


def test_reserved_on_the_phone_scanned_by_camera_handed_over_and_told(
    live_server,
    phone,
    camera,  # noqa: F811 - the fixture imported above
    tmp_path,
    card_a,
    shelves,
):
    """The issue's journey: a villager reserves on a 360 px phone; the manager, on a desktop
    whose camera (chromium's fake capture) sees the card's QR, scans it on the counter's start
    page, lands on the household's counter and hands the goods over; the villager's bell then
    tells of the reservation and of the receipt."""
    shots = "7-reservation-camera"
    household = card_a.household
    page = phone
    page.goto(f"{live_server.url}{reverse('card_login')}")
    page.fill("input[name=card_number]", card_a.number)
    page.fill("input[name=pin]", PIN)
    submit(page)
    page.goto(f"{live_server.url}{reverse('store:reserve')}")
    page.fill(f"input[name=qty_{shelves['rice'].pk}]", "1")
    page.fill(f"input[name=qty_{shelves['soap'].pk}]", "2")
    reserve_press(page)
    reservation = Reservation.objects.get(household=household)
    assert reservation.total_points == 20 + 2 * 8
    assert reservation.number in page.inner_text("main")
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "01-phone-reserved")

    counter = camera(y4m_video(tmp_path / "card.y4m", card_qr_text(card_a)))
    staff_sign_in(counter, live_server, "manager_x")
    counter.goto(f"{live_server.url}{reverse('store:counter')}")
    screenshot(counter, shots, "02-counter-start")
    household_page = reverse("store:counter_household", args=[household.pk])
    with counter.expect_navigation(url=f"**{household_page}"):
        start_scanning(counter)
    assert counter.decoder_requests, "the camera path (jsQR on this chromium) did not read it"
    section = counter.locator("section[aria-labelledby=reservations-title]")
    assert reservation.number in section.inner_text()
    screenshot(counter, shots, "03-counter-after-scan")
    hand_over = section.locator(f"form[action$='/reservations/{reservation.pk}/hand-over/']")
    with counter.expect_navigation(url=re.compile(r"/store/redemptions/\d+/$")):
        hand_over.locator("button").click()
    redemption = Redemption.objects.get(household=household)
    assert redemption.total_points == 36
    screenshot(counter, shots, "04-receipt")
    reservation.refresh_from_db()
    assert reservation.status == Reservation.Status.FULFILLED

    page.goto(f"{live_server.url}{reverse('store:catalogue')}")
    bell = page.locator("header a.bell")
    assert bell.locator(".bell-count").inner_text() == "2"  # the reservation, the receipt
    with page.expect_navigation():
        bell.click()
    told = page.locator(".notification-unread").all_inner_texts()
    assert len(told) == 2
    assert f"预订 {reservation.number}" in told[1] and "36 分" in told[1]
    assert f"小票 {redemption.number}" in told[0] and "余额：64" in told[0]  # as printed
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "05-phone-messages")
