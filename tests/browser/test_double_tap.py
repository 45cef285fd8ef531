"""A double tap on a slow link sends a form once (static/js/send-once.js), so the page shows
the answer to the first tap. Seen on emulated 3G: a household changing its PIN tapped twice,
both requests reached the server, and the second, carrying the session the first had just
renewed, landed on the card login: signed out, not knowing whether the PIN had changed.

Assertions read the database and URLs, so they hold in Chinese and in English.
"""

from django.core.signals import request_started
from django.urls import reverse
from playwright.sync_api import expect

from core.models import AuditEvent
from tests.browser.conftest import sign_in
from tests.browser.test_villager_phone import throttle
from tests.conftest import PIN


def tap_twice(page, selector: str) -> None:
    """Two taps 0.3 s apart, as an impatient thumb: the second while the first is on its way."""
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.click(x, y)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)


def test_a_pin_changed_with_a_double_tap_on_3g_is_sent_once_and_stays_signed_in(
    live_server, phone, card_a, villager_a
):
    posts = []

    def on_request(sender, environ, **kwargs):
        if environ["REQUEST_METHOD"] == "POST":
            posts.append(environ["PATH_INFO"])

    sign_in(phone, live_server, villager_a)
    phone.goto(live_server.url + reverse("villagers:pin_change"))
    throttle(phone)
    phone.fill("input[name=old_pin]", PIN)
    phone.fill("input[name=pin]", "7315")
    phone.fill("input[name=pin_again]", "7315")
    request_started.connect(on_request)
    try:
        tap_twice(phone, "main form button[type=submit]")
        expect(phone).to_have_url(live_server.url + reverse("villagers:me"))
        phone.wait_for_timeout(1000)  # a second request would have reached the server by now
    finally:
        request_started.disconnect(on_request)
    assert posts == [reverse("villagers:pin_change")]
    assert phone.locator(".alert-success").count() == 1
    villager_a.refresh_from_db()
    assert villager_a.check_password("7315")
    assert AuditEvent.objects.filter(action="card.pin_change").count() == 1
