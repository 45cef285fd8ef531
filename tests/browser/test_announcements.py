"""An announcement in a real chromium: the manager writes it, adds a photo and records their
voice (chromium's fake microphone, its permission prompt answered yes), and a villager sees
it first on a 360 px phone, photo and recording included; the store's TV shows it too."""

import re

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from notifications.models import Announcement, Notification
from tests.browser.conftest import (
    CHROMIUM_ARGS,
    DESKTOP,
    _chromium_path,
    _context,
    _page_in,
    assert_no_horizontal_scroll,
    screenshot,
    sign_in,
)

SHOTS = "announcements"
TEXT = "本周六早上8点全村义务劳动，请每户出一人。"


@pytest.fixture
def with_microphone(browser):
    """A desktop page in a chromium of its own whose microphone is the fake device."""
    args = [*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    own = browser.browser_type.launch(executable_path=_chromium_path(), args=args)
    yield from _page_in(_context(own, DESKTOP))
    own.close()


def photo_file(tmp_path):
    path = tmp_path / "notice.jpg"
    Image.new("RGB", (1200, 800), (30, 120, 200)).save(path, format="JPEG")
    return path


def test_the_manager_records_and_posts_and_the_villager_sees_it_first(
    live_server, with_microphone, phone, manager_x, villager_a, card_b, tmp_path
):
    page = with_microphone
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('notifications:announcement_new')}")
    page.locator("textarea[name=text]").fill(TEXT)
    page.locator("input[name=photo]").set_input_files(str(photo_file(tmp_path)))
    record = page.locator("button.voice-record")
    record.click()
    page.wait_for_timeout(2200)
    record.click()  # Stop
    preview = page.locator("audio.voice-preview")
    preview.wait_for(state="visible")
    assert page.locator("input[name=audio]").evaluate("input => input.files.length") == 1
    screenshot(page, SHOTS, "01-manager-recorded")
    with page.expect_navigation(url=re.compile(reverse("notifications:announcements"))):
        page.get_by_role("button", name=re.compile("Post the announcement|发布通知")).click()
    screenshot(page, SHOTS, "02-manager-list")

    announcement = Announcement.objects.get()
    assert announcement.text == TEXT and announcement.photo
    assert announcement.audio_type == "audio/webm" and announcement.audio.size > 1000
    told = Notification.objects.filter(kind=Notification.Kind.ANNOUNCEMENT)
    assert told.count() == 2  # households A and B

    villager = phone
    sign_in(villager, live_server, villager_a)
    villager.goto(f"{live_server.url}{reverse('points:me')}")
    card = villager.locator("article.announcement").first
    assert TEXT in card.inner_text()
    first = villager.locator("main article.announcement, main .balance-figure").first
    assert first.evaluate("node => node.tagName") == "ARTICLE"  # above the balance
    photo = card.locator("img.announcement-photo")
    photo.scroll_into_view_if_needed()
    villager.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=photo.element_handle()
    )
    audio = card.locator("audio")
    assert audio.count() == 1
    assert (
        villager.evaluate(
            "url => fetch(url).then(r => r.headers.get('content-type'))",
            audio.get_attribute("src"),
        )
        == "audio/webm"
    )
    assert card.locator("button.read-aloud").get_attribute("data-speak") == TEXT
    assert_no_horizontal_scroll(villager)
    screenshot(villager, SHOTS, "03-villager-home")

    month = timezone.localdate().replace(day=1) - timezone.timedelta(days=1)
    page.goto(
        f"{live_server.url}{reverse('reports:board_display', args=[month.year, month.month])}"
    )
    assert TEXT in page.locator(".board-announcement").inner_text()
    screenshot(page, SHOTS, "04-store-tv")
