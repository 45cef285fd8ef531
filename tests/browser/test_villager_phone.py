"""The villager's phone (issue 19) on a 360 px screen: a whole visit in WeChat's browser (the
card's QR code, the PIN, balance and rank, history, a declaration whose photo the phone
shrinks), a too-large photo without JavaScript, in by the card in two screens, photos that
upload on an emulated 3G link (Chrome DevTools Protocol), the balance page's first load on
that link and 14 px badges. (The purged stylesheet is compared with the whole of Bootstrap
on every villager page by the accessibility sweep: tests/browser/purged.py.)

The figures of the two timed tests are printed and saved to
test-artifacts/screenshots/phone-3g/figures.json; docs/performance.md records them.
"""

import functools
import io
import json
import re
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.core.files.uploadhandler import FileUploadHandler
from django.core.signals import request_started
from django.urls import reverse
from PIL import Image
from playwright.sync_api import expect

from points.models import Account, Declaration, Entry
from tests.browser.conftest import (
    PHONE,
    SCREENSHOTS,
    _context,
    _page_in,
    assert_no_horizontal_scroll,
    broken_badges,
    screenshot,
    sign_in,
)
from tests.conftest import PIN
from villagers.card_views import card_login_url

# About 400 kbit/s down, 250 kbit/s up and 400 ms latency: a village's 3G (issue 19).
SLOW_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 250_000 / 8,
}
FIGURES = SCREENSHOTS / "phone-3g" / "figures.json"
# WeChat's built-in browser on an Android phone (its X5/XWEB engine is Chromium).
WECHAT_UA = (
    "Mozilla/5.0 (Linux; Android 12; M2012K11AC Build/SKQ1.211006.001; wv) AppleWebKit/537.36"
    " (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023"
    " MMWEBSDK/20230405 MMWEBID/2585 MicroMessenger/8.0.35.2360(0x2800235B) WeChat/arm64"
    " Weixin NetType/4G Language/zh_CN ABI/arm64"
)
WECHAT = {"is_mobile": True, "has_touch": True, "user_agent": WECHAT_UA}


@pytest.fixture
def wechat(browser):
    yield from _page_in(_context(browser, PHONE, **WECHAT))


@pytest.fixture
def wechat_no_js(browser):
    yield from _page_in(_context(browser, PHONE, java_script_enabled=False, **WECHAT))


RECEIVED = []  # (file name, content type, bytes) of every file the live server was sent


class RecordingUploadHandler(FileUploadHandler):
    """Keeps a copy of each uploaded file as it arrived, before the app re-encodes it; the
    next handler in the list still receives every chunk."""

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.chunks = []

    def receive_data_chunk(self, raw_data, start):
        self.chunks.append(raw_data)
        return raw_data

    def file_complete(self, file_size):
        RECEIVED.append((self.file_name, self.content_type, b"".join(self.chunks)))


@pytest.fixture
def received_files(settings):
    RECEIVED.clear()
    settings.FILE_UPLOAD_HANDLERS = [
        f"{__name__}.RecordingUploadHandler",
        *settings.FILE_UPLOAD_HANDLERS,
    ]
    yield RECEIVED
    RECEIVED.clear()


@functools.cache
def _camera_jpeg(size: tuple[int, int]) -> bytes:
    grain = Image.merge("RGB", [Image.effect_noise(size, 12) for _i in range(3)])
    gradient = Image.linear_gradient("L").resize(size).convert("RGB")
    drawn = io.BytesIO()
    Image.blend(grain, gradient, 0.6).save(drawn, "JPEG", quality=92)
    return drawn.getvalue()


def camera_photo(path: Path, size=(4000, 3000)) -> Path:
    """A phone-camera-sized JPEG (a gradient with grain, a few MB), drawn once a run (1.7 s)
    and written where each test wants it."""
    path.write_bytes(_camera_jpeg(size))
    return path


def test_a_villager_visit_in_wechat_from_the_cards_qr_code_to_a_declaration(
    live_server, wechat, world, settings, received_files, tmp_path
):
    """Scan the card, type the PIN, read balance, rank and history, declare with a photo the
    phone shrinks; every page fits 360 px (the CSP is checked when the fixture closes)."""
    page, shots = wechat, "phone-wechat-visit"
    card, household = world["card"], world["household"]
    settings.CARD_LOGIN_BASE_URL = live_server.url  # what the printed card's QR code holds

    page.goto(card_login_url(None, card.number))  # what WeChat's scanner opens
    assert page.input_value("input[name=card_number]") == card.number
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "01-scanned-card")
    page.fill("input[name=pin]", PIN)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.url == live_server.url + reverse("points:me")

    balance = Account.objects.get(household=household).balance
    assert page.inner_text(".balance-figure").split()[0] == str(balance)
    rank = page.locator(".household-rank")
    awards = Entry.objects.filter(account__household=household, kind=Entry.Kind.AWARD)
    earned = sum(awards.values_list("points", flat=True))
    assert earned != balance  # the store has been visited: the rank must not read the balance
    assert re.search(rf"\b{earned}\b", rank.inner_text())
    assert rank.locator(".small").inner_text().strip()  # the sentence saying how it ranks
    redemption = page.locator(".history-entry", has=page.locator(".history-items"))
    items = redemption.locator(".history-items li").all_inner_texts()
    assert any("大米 10kg × 1" in item for item in items) and any("× 2" in i for i in items)
    receipt = redemption.locator("a.btn").get_attribute("href")
    assert receipt == reverse("store:receipt", args=[world["redemption"].pk])
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "02-balance-rank-history")
    with page.expect_navigation():
        redemption.locator("a.btn").click()
    assert page.locator("main").inner_text().count("大米 10kg") == 1
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "03-receipt")

    photo = camera_photo(tmp_path / "IMG_20260501_101500.jpg")
    page.goto(live_server.url + reverse("points:declaration_new"))
    page.fill("textarea[name=description]", "帮五保户挑水")
    page.set_input_files("input[name=photo]", str(photo))
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "04-declaration")
    page.click("main form button[type=submit]")
    page.wait_for_url(live_server.url + reverse("points:me"))
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "05-declared")

    ((name, content_type, sent),) = received_files
    assert (name, content_type) == ("photo.jpg", "image/jpeg")
    assert len(sent) < photo.stat().st_size / 4 and len(sent) < 400 * 1024
    with Image.open(io.BytesIO(sent)) as shrunk:
        assert shrunk.format == "JPEG"
        assert 1590 <= max(shrunk.size) <= 1600
        assert abs(shrunk.size[0] / shrunk.size[1] - 4 / 3) < 0.01
    declaration = Declaration.objects.get(description="帮五保户挑水")
    assert declaration.household == household


def test_without_javascript_a_too_large_photo_gets_a_clear_message_and_nothing_is_saved(
    live_server, wechat_no_js, world, villager_a, settings, received_files, tmp_path
):
    page = wechat_no_js
    settings.MAX_PHOTO_BYTES = 1024 * 1024
    photo = camera_photo(tmp_path / "IMG_20260501_101500.jpg")  # sent as it is: no script
    assert photo.stat().st_size > settings.MAX_PHOTO_BYTES
    before = Declaration.objects.count()
    sign_in(page, live_server, villager_a)
    page.goto(live_server.url + reverse("points:declaration_new"))
    page.fill("textarea[name=description]", "帮五保户挑水")
    page.set_input_files("input[name=photo]", str(photo))
    with page.expect_navigation():
        page.click("main form button[type=submit]")
    assert page.url.endswith(reverse("points:declaration_new"))
    assert [len(sent) for _n, _t, sent in received_files] == [photo.stat().st_size]
    error = page.locator(".invalid-feedback").inner_text().replace("\xa0", " ")
    assert re.fullmatch(r"照片有 \d\.\d MB，最大只能 1\.0 MB。", error), error
    assert page.input_value("textarea[name=description]") == "帮五保户挑水"
    assert_no_horizontal_scroll(page)
    screenshot(page, "phone-wechat-visit", "06-no-js-photo-too-large")
    assert Declaration.objects.count() == before


def throttle(page):
    """Put the page's network on the slow link (DevTools' network emulation)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    return cdp


def record(name: str, value) -> None:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[name] = value
    FIGURES.write_text(json.dumps(figures, indent=1))
    print(f"{name}: {value}")


def focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.name")


def test_from_the_front_door_to_the_balance_in_two_screens(live_server, phone, card_a):
    shots = "phone-front-door"
    phone.goto(live_server.url + "/")
    assert focused(phone) == "card_number"
    assert phone.locator(f"a[href='{reverse('login')}']").count() == 1  # the staff's way in
    screenshot(phone, shots, "01-front-door")
    phone.fill("input[name=card_number]", card_a.number)
    phone.fill("input[name=pin]", PIN)
    with phone.expect_navigation():
        phone.click("main button[type=submit]")
    assert phone.url == live_server.url + reverse("points:me")
    assert phone.locator(".balance-figure").is_visible()
    screenshot(phone, shots, "02-balance")


def test_the_cards_qr_code_opens_the_login_ready_for_the_pin(live_server, phone, card_a, settings):
    settings.CARD_LOGIN_BASE_URL = live_server.url  # what the printed card holds
    scanned = card_login_url(None, card_a.number)
    assert scanned == f"{live_server.url}/accounts/card-login/?card={card_a.number}"
    phone.goto(scanned)
    assert phone.input_value("input[name=card_number]") == card_a.number
    assert focused(phone) == "pin"
    screenshot(phone, "phone-front-door", "03-scanned-card")
    phone.keyboard.type(PIN)
    with phone.expect_navigation():
        phone.keyboard.press("Enter")
    assert phone.url == live_server.url + reverse("points:me")


def eight_megabyte_photo(path: Path) -> Path:
    """A 4000 x 3000 phone-camera-sized JPEG of 8 MB or more (noise does not compress)."""
    noise = Image.merge("RGB", [Image.effect_noise((4000, 3000), 40) for _i in range(3)])
    gradient = Image.linear_gradient("L").resize((4000, 3000)).convert("RGB")
    Image.blend(noise, gradient, 0.5).save(path, "JPEG", quality=95)
    assert path.stat().st_size >= 8_000_000
    return path


@contextmanager
def post_sizes():
    """The Content-Length of every POST the live server receives while the block runs."""
    sizes = []

    def on_request(sender, environ, **kwargs):
        if environ["REQUEST_METHOD"] == "POST":
            sizes.append(int(environ.get("CONTENT_LENGTH") or 0))

    request_started.connect(on_request)
    try:
        yield sizes
    finally:
        request_started.disconnect(on_request)


def test_an_8_mb_photo_reaches_the_server_on_3g_in_under_20_seconds(
    live_server, phone, card_a, villager_a, tmp_path
):
    photo = eight_megabyte_photo(tmp_path / "IMG_20260501_101500.jpg")
    with post_sizes() as sizes:
        sign_in(phone, live_server, villager_a)
        phone.goto(live_server.url + reverse("points:declaration_new"))
        throttle(phone)
        phone.fill("textarea[name=description]", "帮邻居收麦子")
        phone.set_input_files("input[name=photo]", str(photo))
        began = time.monotonic()
        phone.click("main form button[type=submit]")
        phone.wait_for_selector("progress", state="visible")
        screenshot(phone, "phone-3g", "01-photo-progress")
        values = []  # the bar moves while the photo goes up (polled: no eval under the CSP)
        while phone.url.endswith(reverse("points:declaration_new")) and len(values) < 400:
            value = phone.evaluate("(document.querySelector('progress') || {}).value")
            if value is not None:
                values.append(value)
            phone.wait_for_timeout(100)
        phone.wait_for_url(live_server.url + reverse("points:me"), timeout=30_000)
        seconds = time.monotonic() - began
    screenshot(phone, "phone-3g", "02-declared")
    record("declaration with an 8 MB photo, upload to the next page (s)", round(seconds, 1))
    record("bytes sent for that photo", sizes[-1])
    assert any(0 < value < 100 for value in values), values
    assert sizes and sizes[-1] < 400 * 1024
    assert seconds < 20
    declaration = Declaration.objects.get()
    with Image.open(declaration.photo.path) as stored:
        assert max(stored.size) <= 1600


def test_a_photo_upload_can_be_cancelled(live_server, phone, card_a, villager_a, tmp_path):
    photo = tmp_path / "photo.jpg"
    Image.effect_noise((1600, 1200), 60).convert("RGB").save(photo, "JPEG", quality=95)
    sign_in(phone, live_server, villager_a)
    phone.goto(live_server.url + reverse("points:declaration_new"))
    throttle(phone)
    phone.fill("textarea[name=description]", "帮邻居收麦子")
    phone.set_input_files("input[name=photo]", str(photo))
    phone.click("main form button[type=submit]")
    phone.locator(".photo-progress button").click()
    phone.wait_for_selector(".photo-error")
    assert phone.url.endswith(reverse("points:declaration_new"))
    assert not Declaration.objects.exists()
    assert phone.locator("main form button[type=submit]").is_enabled()


def test_an_answer_that_is_not_a_page_is_never_written_as_one(
    live_server, phone, card_a, villager_a, tmp_path
):
    """A proxy on the way may answer the upload itself, in plain text: the script says the
    sending failed, and does not write that text into the page as HTML."""
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (800, 600), "green").save(photo, "JPEG")
    sign_in(phone, live_server, villager_a)
    url = live_server.url + reverse("points:declaration_new")
    phone.goto(url)
    phone.route(
        url,
        lambda route: (
            route.fulfill(
                status=413, content_type="text/plain", body='<b id="written">413 Too Large</b>'
            )
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    phone.fill("textarea[name=description]", "帮邻居收麦子")
    phone.set_input_files("input[name=photo]", str(photo))
    phone.click("main form button[type=submit]")
    phone.wait_for_selector(".photo-error")
    assert "没有保存任何内容" in phone.locator(".photo-error").inner_text()  # nothing was saved
    assert phone.locator("#written").count() == 0
    assert phone.locator("main form button[type=submit]").is_enabled()
    assert not Declaration.objects.exists()


def test_a_photo_too_large_even_when_shrunk_is_refused_before_sending(
    live_server, phone, card_a, villager_a, tmp_path, settings
):
    settings.MAX_PHOTO_BYTES = 10_000
    photo = tmp_path / "photo.jpg"
    Image.effect_noise((1600, 1200), 60).convert("RGB").save(photo, "JPEG", quality=95)
    posts = []
    sign_in(phone, live_server, villager_a)
    phone.goto(live_server.url + reverse("points:declaration_new"))
    phone.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    phone.fill("textarea[name=description]", "帮邻居收麦子")
    phone.set_input_files("input[name=photo]", str(photo))
    phone.click("main form button[type=submit]")
    phone.wait_for_selector(".photo-error")
    assert posts == [] and not Declaration.objects.exists()


def test_the_balance_page_shows_its_figure_within_3_seconds_on_3g(
    live_server, phone, world, villager_a
):
    sign_in(phone, live_server, villager_a)
    throttle(phone)  # a first visit: nothing cached
    began = time.monotonic()
    phone.goto(live_server.url + reverse("points:me"), wait_until="load")
    paint = phone.evaluate(
        """() => new Promise(resolve => new PerformanceObserver((list) => {
             const entries = list.getEntries();
             resolve(entries[entries.length - 1].startTime);
           }).observe({type: "largest-contentful-paint", buffered: true}))"""
    )
    loaded = time.monotonic() - began
    assert phone.locator(".balance-figure").is_visible()
    record("balance page first load: largest paint (s)", round(paint / 1000, 2))
    record("balance page first load: load event (s)", round(loaded, 2))
    assert paint < 3000


def test_badges_are_at_least_14_px(live_server, phone, world, villager_a):
    sign_in(phone, live_server, villager_a)
    phone.goto(live_server.url + reverse("points:me"))
    sizes = phone.eval_on_selector_all(
        ".badge", "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert sizes and min(sizes) >= 14


def test_a_status_beside_a_line_is_not_broken_over_two_lines(
    live_server, phone, card_a, villager_a
):
    """Found on the demo's phone: a declaration's "待审核" stood beside its text squeezed to
    two characters wide, "待审" over "核" (and a wish's status beside a long title)."""
    from django.utils import timezone

    from points.services import declaration_submit
    from wishwall.services import wish_post

    declaration_submit(
        user=villager_a, description="自家新栽了两亩花椒树苗", occurred_on=timezone.localdate()
    )
    wish_post(
        household=card_a.household,
        actor=villager_a,
        title="一辆上学骑的自行车，孩子每天走山路",
        kind="study",
        story="孩子每天走五里山路去镇上上学。",
    )
    sign_in(phone, live_server, villager_a)
    problems = []
    for url in (reverse("points:me"), reverse("wishwall:mine")):
        phone.goto(live_server.url + url)
        problems += [f"{url}: {badge}" for badge in broken_badges(phone)]
    assert not problems, "\n".join(problems)


def test_a_double_tap_while_the_photo_is_made_smaller_sends_it_once(
    live_server, phone, card_a, villager_a, tmp_path
):
    """Seen on 3G: the second tap of a double tap, made while the phone was still shrinking
    the photo, sent the form natively with the original photo (2.4 MB) beside the shrunk one
    (80 KB), the two racing on the slow link. Now the second tap sends nothing more."""
    photo = camera_photo(tmp_path / "IMG_20260501_101500.jpg")
    with post_sizes() as posts:
        sign_in(phone, live_server, villager_a)
        phone.goto(live_server.url + reverse("points:declaration_new"))
        throttle(phone)
        phone.fill("textarea[name=description]", "帮邻居收麦子")
        phone.set_input_files("input[name=photo]", str(photo))
        phone.dblclick("main form button[type=submit]")
        # Where the browser ends up, not one navigation: a native sending is aborted on the way.
        expect(phone).to_have_url(live_server.url + reverse("points:me"), timeout=30_000)
    assert len(posts) == 1 and posts[0] < 400 * 1024, posts
    assert Declaration.objects.count() == 1


def test_a_heic_photo_the_phone_cannot_read_is_refused_before_sending(
    live_server, phone, card_a, villager_a, tmp_path
):
    """Found by a probe: a HEIC photo, which neither chromium nor the server can read, was
    sent whole (a few MB on 3G) to be refused as "not a photo". The phone now says what it
    is and what to do, before sending anything."""
    photo = tmp_path / "IMG_0003.HEIC"
    photo.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200_000)
    posts = []
    sign_in(phone, live_server, villager_a)
    phone.goto(live_server.url + reverse("points:declaration_new"))
    phone.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    phone.fill("textarea[name=description]", "帮邻居收麦子")
    phone.set_input_files("input[name=photo]", str(photo))
    phone.click("main form button[type=submit]")
    error = phone.locator(".photo-error")
    expect(error).to_contain_text("HEIC")
    expect(error).to_contain_text("截")  # a screenshot: the way out
    assert posts == [] and not Declaration.objects.exists()
    assert phone.locator("main form button[type=submit]").is_enabled()
