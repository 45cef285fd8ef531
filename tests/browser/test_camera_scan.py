"""Scanning a card's QR code with the camera (static/js/scan.js) in a real chromium.

Chromium's fake capture device plays a video file as the camera: each test writes a Y4M video
of a segno QR code holding a card's login URL (what the printed card carries) and starts its
own chromium on it. The fake-UI flag answers the permission prompt with yes, as a person would.

Which decoder ran: Debian's chromium on Linux has no BarcodeDetector (the shape-detection API
ships on Android, macOS and ChromeOS only), so the vendored jsQR path is the real one here.
The BarcodeDetector path is exercised through the page's code with a stand-in detector
installed before the page loads (STAND_IN_DETECTOR), which decodes the live video frame with
its own private copy of jsQR: what is tested is scan.js's use of the API (formats, detect() on
the playing video, rawValue), not chromium's detector, which this machine does not have.
"""

import io
from pathlib import Path

import pytest
import segno
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image

from points.models import Proposal
from tests.browser.conftest import (
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    _chromium_path,
    _context,
    _page_in,
    assert_no_horizontal_scroll,
    screenshot,
    sign_in,
)
from villagers.card_views import card_login_url

SHOTS = "camera-scan"
JSQR = Path(__file__).resolve().parents[2] / "static/vendor/jsQR.js"
WIDTH, HEIGHT = 640, 480

# Counts getUserMedia calls and keeps the streams it hands out, so a test can see that no
# camera was opened on page load and that every track was stopped (the real call is made).
STREAM_SPY = """
window.__streams = [];
if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) =>
    real(constraints).then((stream) => { window.__streams.push(stream); return stream; });
}
"""
NO_DETECTOR = "delete window.BarcodeDetector;"
STAND_IN_DETECTOR = """
(() => {
  const module = { exports: {} }, exports = module.exports;
  JSQR_SOURCE
  const decode = module.exports;
  window.BarcodeDetector = class BarcodeDetector {
    static getSupportedFormats() { return Promise.resolve(["qr_code", "ean_13"]); }
    constructor(options) { window.__detectorFormats = options.formats; }
    detect(source) {
      // Kept across the page change a read causes, for the test to count.
      sessionStorage.setItem("detections", Number(sessionStorage.getItem("detections")) + 1);
      const canvas = document.createElement("canvas");
      canvas.width = source.videoWidth; canvas.height = source.videoHeight;
      const context = canvas.getContext("2d");
      context.drawImage(source, 0, 0);
      const image = context.getImageData(0, 0, canvas.width, canvas.height);
      const code = decode(image.data, image.width, image.height);
      return Promise.resolve(code ? [{ format: "qr_code", rawValue: code.data }] : []);
    }
  };
})();
"""
TRACKS_LIVE = (
    "window.__streams.flatMap(s => s.getTracks()).filter(t => t.readyState === 'live').length"
)


def y4m_video(path: Path, text: str | None, frames: int = 15) -> Path:
    """A short Y4M video (4:2:0) of the QR code of `text` on white, or a blank picture."""
    picture = Image.new("RGB", (WIDTH, HEIGHT), "white")
    if text is not None:
        png = io.BytesIO()
        segno.make_qr(text, error="m").save(png, kind="png", scale=8, border=4)
        qr = Image.open(png).convert("RGB")
        side = min(HEIGHT - 40, qr.width)
        qr = qr.resize((side, side), Image.NEAREST)
        picture.paste(qr, ((WIDTH - side) // 2, (HEIGHT - side) // 2))
    y, cb, cr = picture.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    frame = b"FRAME\n" + y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    path.write_bytes(
        f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames
    )
    return path


def card_qr_text(card) -> str:
    """What the printed card's QR code holds (villagers.card_views.card_qr_svg)."""
    return card_login_url(RequestFactory().get("/"), card.number)


@pytest.fixture
def camera(browser, tmp_path):
    """Open a page in a chromium of its own whose camera plays `video` (None: no camera at
    all), with `detector`'s init script ("stand-in" or "none") and the stream spy. With
    `answer_yes` off, the camera question is left to Playwright, which refuses it."""
    launched = []
    pages = []

    def open_page(video, *, detector="none", viewport=DESKTOP, answer_yes=True, **options):
        args = [*CHROMIUM_ARGS]
        if answer_yes:
            args.append("--use-fake-ui-for-media-stream")
        if video is not None:
            args += [
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ]
        own = browser.browser_type.launch(executable_path=_chromium_path(), args=args)
        launched.append(own)
        context = _context(own, viewport, **options)
        if detector == "stand-in":
            context.add_init_script(STAND_IN_DETECTOR.replace("JSQR_SOURCE", JSQR.read_text()))
        else:
            context.add_init_script(NO_DETECTOR)
        context.add_init_script(STREAM_SPY)
        pages_of = _page_in(context)
        pages.append(pages_of)
        page = next(pages_of)
        page.decoder_requests = []
        page.on("request", lambda r: "jsQR" in r.url and page.decoder_requests.append(r.url))
        return page

    yield open_page
    for pages_of in pages:
        next(pages_of, None)  # closes the context, asserting it met no policy violation
    for own in launched:
        own.close()


def start_scanning(page):
    box = page.locator(".scan-camera")
    assert box.is_visible()
    assert page.evaluate("window.__streams.length") == 0, "a camera was opened on page load"
    box.locator(".scan-start").click()
    return box


@pytest.mark.parametrize("detector", ["stand-in", "none"])
def test_the_counter_scans_a_card_with_the_camera(
    live_server, camera, tmp_path, detector, card_a, manager_x
):
    """Scanning the card's QR code opens the household's counter page, with the browser's
    BarcodeDetector API (stand-in) or, without one, the vendored jsQR."""
    page = camera(y4m_video(tmp_path / "card.y4m", card_qr_text(card_a)), detector=detector)
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('store:counter')}")
    screenshot(page, SHOTS, f"01-counter-{detector}")
    household_page = reverse("store:counter_household", args=[card_a.household_id])
    with page.expect_navigation(url=f"**{household_page}"):
        start_scanning(page)
    assert page.locator("#counter h1").inner_text().startswith(card_a.household.head_name)
    screenshot(page, SHOTS, f"02-counter-household-{detector}")
    detections = page.evaluate("Number(sessionStorage.getItem('detections'))")
    if detector == "stand-in":
        assert detections >= 1
        assert page.decoder_requests == [], "jsQR was loaded though a BarcodeDetector reads QR"
    else:
        assert detections == 0
        assert page.decoder_requests and page.decoder_requests[0].endswith("jsQR.js")


def test_the_attendance_page_adds_each_scanned_card_once(
    live_server, camera, tmp_path, card_a, card_b, manager_x, rules
):
    """Each scan adds the card's number as a line of the activity's card numbers; the camera
    stops after each card; the batch then names the scanned household."""
    page = camera(y4m_video(tmp_path / "card.y4m", card_qr_text(card_a)))
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('points:activity_new')}")
    field = page.locator("textarea[name=card_numbers]")
    field.fill(card_b.number)
    box = start_scanning(page)
    page.wait_for_function(
        "n => document.querySelector('textarea[name=card_numbers]').value.includes(n)",
        arg=card_a.number,
    )
    assert field.input_value() == f"{card_b.number}\n{card_a.number}"
    assert card_a.number in box.locator(".scan-message").inner_text()
    assert page.evaluate(TRACKS_LIVE) == 0, "the camera is still on after the card was read"
    assert box.locator("video").is_hidden() and box.locator(".scan-start").is_visible()
    assert page.decoder_requests, "jsQR (the only decoder on this chromium) was not loaded"
    box.locator(".scan-start").click()  # the same card again: not added twice
    page.wait_for_function(f"() => {TRACKS_LIVE} === 0 && window.__streams.length === 2")
    assert field.input_value() == f"{card_b.number}\n{card_a.number}"
    screenshot(page, SHOTS, "03-attendance-scanned")

    page.fill("input[name=title]", "清扫村道")
    page.select_option("select[name=rule]", str(rules["labour"].pk))
    with page.expect_navigation():
        page.click("main form[method=post] button[name=send]")
    assert {p.household_id for p in Proposal.objects.all()} == {
        card_a.household_id,
        card_b.household_id,
    }


def test_the_household_search_finds_the_scanned_card(
    live_server, camera, tmp_path, card_a, card_b, manager_x
):
    page = camera(y4m_video(tmp_path / "card.y4m", card_qr_text(card_b)), viewport=PHONE)
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('reports:household_list')}")
    assert page.locator("table.household-table tbody tr").count() == 2
    with page.expect_navigation(url=f"**q={card_b.number}**"):
        start_scanning(page)
    rows = page.locator("table.household-table tbody tr")
    assert rows.count() == 1
    assert card_b.household.head_name in rows.inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, SHOTS, "04-household-search-scanned")


def test_cancel_stops_the_camera_and_a_foreign_code_is_not_taken(
    live_server, camera, tmp_path, manager_x
):
    """Another QR code (not a card's) is refused with a message and scanning goes on; Cancel
    stops the camera and nothing was filled in."""
    page = camera(y4m_video(tmp_path / "other.y4m", "https://example.com/shop"), viewport=PHONE)
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('store:counter')}")
    box = start_scanning(page)
    page.wait_for_selector(".scan-camera[data-scan-state=scanning]")
    page.wait_for_selector(".scan-message.text-danger")
    assert box.locator(".scan-message").inner_text() == "这不是积分卡的二维码，请扫描卡上的二维码。"
    assert page.evaluate(TRACKS_LIVE) == 1
    assert_no_horizontal_scroll(page)
    screenshot(page, SHOTS, "05-scanning-a-foreign-code")
    box.locator(".scan-cancel").click()
    assert page.evaluate(TRACKS_LIVE) == 0
    assert box.locator("video").is_hidden() and box.locator(".scan-start").is_visible()
    assert page.input_value("input[name=card]") == ""
    assert reverse("store:counter") == page.url.removeprefix(live_server.url)


def test_no_camera_says_so(live_server, camera, manager_x):
    """A device without a camera (this machine has none: chromium is given no fake one)."""
    page = camera(None)
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('store:counter')}")
    box = start_scanning(page)
    message = box.locator(".scan-message.text-danger")
    message.wait_for()
    assert message.inner_text() == "这台设备上没有找到摄像头。请输入卡号或使用扫码枪。"
    assert box.locator(".scan-start").is_visible()
    screenshot(page, SHOTS, "06-no-camera")


def test_a_refused_permission_says_so(live_server, camera, manager_x, tmp_path):
    """The person answers the browser's camera question with no."""
    page = camera(y4m_video(tmp_path / "blank.y4m", None), answer_yes=False)
    sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('reports:household_list')}")
    box = start_scanning(page)
    box.locator(".scan-message.text-danger").wait_for()
    assert box.locator(".scan-message").inner_text() == (
        "不能使用摄像头：请在浏览器设置中允许本网站使用摄像头，或输入卡号。"
    )
    assert box.locator(".scan-start").is_visible() and page.evaluate("window.__streams.length") == 0
    screenshot(page, SHOTS, "07-permission-refused")


def test_without_javascript_the_pages_have_no_camera_button(
    live_server, desktop_no_js, manager_x, card_a
):
    page = desktop_no_js
    sign_in(page, live_server, manager_x)
    for name in ("store:counter", "points:activity_new", "reports:household_list"):
        page.goto(f"{live_server.url}{reverse(name)}")
        assert page.locator(".scan-camera").is_hidden(), name
        assert page.get_by_role("button", name="用摄像头扫码").count() == 0, name
    page.goto(f"{live_server.url}{reverse('store:counter')}")
    page.fill("input[name=card]", card_qr_text(card_a))  # a USB scanner types the whole URL
    with page.expect_navigation():
        page.press("input[name=card]", "Enter")
    assert page.url.endswith(reverse("store:counter_household", args=[card_a.household_id]))
