"""A family member working away: their own PIN on the household's card, on a 360 px phone,
and the counter recording them as the one who collected (兑换人).

Assertions read numbers, names and the database, so they hold in Chinese and in English.
"""

from django.urls import reverse

from points.models import Account
from store.models import Redemption
from tests.browser.conftest import assert_no_horizontal_scroll, screenshot
from tests.browser.test_journeys import staff_sign_in
from tests.factories import MemberFactory
from villagers.models import Member, User

SON_PIN = "1739"
SHOTS = "9-family-member"


def test_member_signs_in_on_a_phone_and_the_counter_records_them(
    live_server, desktop, phone, card_a, shelves
):
    household = card_a.household
    head = MemberFactory(household=household, name="王大山", relation=Member.Relation.HEAD)
    son = MemberFactory(
        household=household, name="王小明", relation=Member.Relation.CHILD, birth_year=1995
    )

    # The head asked: the manager gives the son a PIN of his own from the household's hub.
    staff = desktop
    staff_sign_in(staff, live_server, "manager_x")
    staff.goto(f"{live_server.url}{reverse('reports:household', args=[household.pk])}")
    with staff.expect_navigation():
        staff.click(f"a[href='{reverse('villagers:member_pin', args=[son.pk])}']")
    staff.fill("input[name=pin]", SON_PIN)
    staff.fill("input[name=pin_again]", SON_PIN)
    with staff.expect_navigation():
        staff.click("main form[method=post] button[type=submit] >> nth=0")
    assert staff.locator(".slip-pin").inner_text() == SON_PIN
    assert "王小明" in staff.inner_text(".slip")
    screenshot(staff, SHOTS, "01-member-pin-slip")
    assert User.objects.get(member=son).check_password(SON_PIN)

    # The son, in the city, signs in on his phone with the card number and his own PIN.
    phone.goto(f"{live_server.url}{reverse('card_login')}?card={card_a.number}")
    phone.fill("input[name=pin]", SON_PIN)
    screenshot(phone, SHOTS, "02-card-login")
    with phone.expect_navigation():
        phone.click("main form[method=post] button[type=submit]")
    assert phone.url.endswith(reverse("points:me"))
    assert phone.locator(".balance-figure").inner_text().split()[0] == "100"
    assert "王小明" in phone.inner_text(".signed-in-as")
    assert_no_horizontal_scroll(phone)
    screenshot(phone, SHOTS, "03-household-balance")

    # At the counter the manager records who collects: the head is chosen unless changed.
    staff.goto(f"{live_server.url}{reverse('store:counter_household', args=[household.pk])}")
    staff.click("#counter .zone-tabs a[href*='zone=grain_oil']")
    staff.wait_for_url("**zone=grain_oil**")
    row = staff.locator("#counter li", has_text=shelves["rice"].name)
    row.locator("button[type=submit]").click()
    staff.locator("#counter table tbody tr", has_text=shelves["rice"].name).wait_for()
    collector = staff.locator("select[name=collector]")
    assert collector.input_value() == str(head.pk)
    collector.select_option(str(son.pk))
    screenshot(staff, SHOTS, "04-counter-who-collects")
    with staff.expect_navigation():
        staff.click("form.confirm-form button[type=submit]")
    redemption = Redemption.objects.get(household=household)
    assert redemption.collected_by == son
    assert "王小明" in staff.inner_text(".collected-by")
    screenshot(staff, SHOTS, "05-receipt")

    # On the phone: the new balance, and the redemption with the son's name in the history.
    phone.reload()
    assert phone.locator(".balance-figure").inner_text().split()[0] == "80"
    assert Account.objects.get(household=household).balance == 80
    assert "王小明" in phone.locator(".history .collected-by").first.inner_text()
    assert_no_horizontal_scroll(phone)
    screenshot(phone, SHOTS, "06-history-collected-by")
