"""A labour day checked in by QR code: the manager opens it and shows the code, a villager's
phone opens the code's link (as the camera app does), signs in with the card and checks in
with a photo; the son of the same household is told it is done; the manager closes it and
the supervisor approves the batch.

Assertions read numbers, names and the database, so they hold in Chinese and in English.
"""

from django.urls import reverse
from playwright.sync_api import Error as PlaywrightError

from points.activities import checkin_url
from points.models import Activity, CheckIn, Entry
from tests.browser.conftest import assert_no_horizontal_scroll, screenshot, sign_in
from tests.conftest import PIN
from tests.factories import MemberFactory
from tests.points.conftest import png_upload
from villagers.models import Member
from villagers.services import member_pin_set


def away_from_a_renewing_page(page, url):
    """Go to `url` from a page that reloads itself: a navigation the reload interrupts
    (under load; Chromium says so, or reports the navigation aborted) is made again."""
    for _attempt in range(3):
        try:
            page.goto(url)
            return
        except PlaywrightError as error:
            interrupted = ("interrupted by another navigation", "net::ERR_ABORTED")
            if not any(words in str(error) for words in interrupted):
                raise
    page.goto(url)


SHOTS = "10-activity-checkin"


def test_a_labour_day_checked_in_by_qr_code_and_approved(
    live_server,
    desktop,
    phone,
    phone_no_js,
    card_a,
    card_b,
    villager_a,
    manager_x,
    supervisor_x,
    rules,
    tmp_path,
):
    son = MemberFactory(
        household=card_a.household, name="王小明", relation=Member.Relation.CHILD, birth_year=1995
    )
    son_login = member_pin_set(member=son, actor=manager_x, pin="1739")

    # The manager opens today's labour day and shows its QR code.
    staff = desktop
    sign_in(staff, live_server, manager_x)
    staff.goto(f"{live_server.url}{reverse('points:activity_list')}")
    with staff.expect_navigation():
        staff.click(f"main a[href='{reverse('points:activity_open')}']")
    staff.fill("input[name=title]", "清理河道")
    staff.select_option("select[name=rule]", str(rules["labour"].pk))
    staff.fill("input[name=place]", "河边")
    with staff.expect_navigation():
        staff.click("main form[method=post] button[type=submit]")
    activity = Activity.objects.get()
    assert staff.url.endswith(reverse("points:activity_qr", args=[activity.pk]))
    assert staff.locator(".checkin-qr svg").count() == 1
    assert staff.locator("meta[http-equiv=refresh]").count() == 0
    with staff.expect_navigation():
        staff.click("a[href='?rotate=1']")  # the screen at the labour day renews it itself
    assert staff.locator("meta[http-equiv=refresh]").count() == 1
    screenshot(staff, SHOTS, "01-qr-code")

    # Villager A's phone opens the code's link: the card login first, then the check-in.
    link = checkin_url(activity, base=live_server.url)
    phone.goto(link)
    assert reverse("card_login") in phone.url
    phone.fill("input[name=card_number]", card_a.number)
    phone.fill("input[name=pin]", PIN)
    with phone.expect_navigation():
        phone.click("main form[method=post] button[type=submit]")
    assert phone.url.startswith(f"{live_server.url}{reverse('points:checkin', args=[activity.pk])}")
    photo = tmp_path / "river.png"
    photo.write_bytes(png_upload().read())
    phone.set_input_files("input[name=photo]", str(photo))
    assert_no_horizontal_scroll(phone)
    screenshot(phone, SHOTS, "02-check-in-form")
    with phone.expect_navigation():
        phone.click("main form[method=post] button[type=submit]")
    assert phone.url.endswith(reverse("points:me"))
    assert "清理河道" in phone.inner_text("main")
    screenshot(phone, SHOTS, "03-checked-in")
    checkin = CheckIn.objects.get()
    assert checkin.user == villager_a and checkin.photo

    # The son, on his own phone (no JavaScript), scans the same code: already done.
    sign_in(phone_no_js, live_server, son_login)
    phone_no_js.goto(link)
    assert phone_no_js.locator("main .alert-warning").count() == 1
    assert phone_no_js.locator("input[name=checkin_pass]").count() == 0
    assert_no_horizontal_scroll(phone_no_js)
    screenshot(phone_no_js, SHOTS, "04-son-already-checked-in")
    assert CheckIn.objects.count() == 1

    # Household B checks in too (signed in already), without a photo.
    sign_in(phone, live_server, card_b.household.users.get(is_staff=False))
    phone.goto(link)
    with phone.expect_navigation():
        phone.click("main form[method=post] button[type=submit]")
    assert CheckIn.objects.count() == 2

    # The manager closes check-in: one batch for the supervisor.
    # Away from the code that renews itself: the screen's own reload may meet this one.
    away_from_a_renewing_page(
        staff, f"{live_server.url}{reverse('points:activity_detail', args=[activity.pk])}"
    )
    assert card_a.household.head_name in staff.inner_text("main table")
    staff.click("details.activity-close summary")  # asked once more: it cannot be undone
    with staff.expect_navigation():
        staff.click(f"form[action='{reverse('points:activity_close', args=[activity.pk])}'] button")
    activity.refresh_from_db()
    assert activity.batch.proposals.count() == 2
    screenshot(staff, SHOTS, "05-closed-into-a-batch")

    # The supervisor approves the whole batch from the queue.
    sign_in(staff, live_server, supervisor_x)
    staff.goto(f"{live_server.url}{reverse('points:approval_queue')}")
    screenshot(staff, SHOTS, "06-approval-queue")
    with staff.expect_navigation():
        staff.click(f"button[name=batch_action][value='approve:{activity.batch_id}']")
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == 2
    assert set(activity.batch.proposals.values_list("status", flat=True)) == {"approved"}
