"""Real-browser tests: Playwright driving Debian's chromium against Django's live server
(its headless shell, `browser`; the whole browser where a test starts its own).

With no chromium on the machine the tests are skipped with the reason; under CI=true a
missing browser fails instead, so CI can never pass by skipping them. Screenshots of key
pages go to test-artifacts/screenshots/ (git-ignored) for people to look at.
"""

import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.browser.pages import world  # noqa: F401  (the village with one of everything)

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_path() -> str | None:
    """Debian's chromium: the whole browser, for the tests that start one of their own (a
    camera or microphone and the question to allow it, the back-forward cache)."""
    return _first_installed(os.environ.get("CHROMIUM"), "chromium", "chromium-browser")


def _shell_path() -> str | None:
    """The browser of the other tests: chromium's headless shell (Debian's package
    chromium-headless-shell, from the same source: the same Blink and V8 without the
    desktop browser around them, the one Playwright itself runs headless tests in). It
    draws a page with about half the CPU of the whole browser (the browser tests on two
    workers: 213 s in the shell, 345 s in the whole browser, on 2026-12-08); where it is
    not installed, the whole browser does the same work."""
    shell = _first_installed(os.environ.get("CHROMIUM_HEADLESS_SHELL"), "chromium-headless-shell")
    return shell or _chromium_path()


def _first_installed(*candidates: str | None) -> str | None:
    for candidate in candidates:
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="session")
def browser():
    path = _shell_path()
    if _chromium_path() is None:  # the tests that start their own want the whole browser
        message = "no chromium on this machine (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests cannot run: {message}")
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by
    # the test itself (fixtures, assertions) are still plain synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Reports each Content-Security-Policy violation to the test (Playwright's own init scripts and
# evaluate() are not subject to the page's policy).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => window.reportPolicyViolation(
  `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`
  + (e.sample ? ` (${e.sample})` : "")));
"""
POLICY_WORDS = ("Content Security Policy", "Permissions-Policy", "permissions policy")


def watch_policies(context) -> list[str]:
    """Every CSP violation (the DOM event, and chromium's console message, which also comes
    without JavaScript) and every Permissions-Policy complaint in this browser context."""
    violations = []
    context.expose_binding(
        "reportPolicyViolation",
        lambda source, text: violations.append(f"{source['page'].url}: {text}"),
    )
    context.add_init_script(CSP_LISTENER)

    def on_console(message):
        if any(words in message.text for words in POLICY_WORDS):
            violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", on_console)
    return violations


def _context(browser, viewport, **options):
    context = browser.new_context(viewport=viewport, locale="zh-CN", **options)
    context.set_default_timeout(15_000)
    context.policy_violations = watch_policies(context)
    return context


def _page_in(context):
    """The context's page; on teardown, the journey must have met no policy violation."""
    yield context.new_page()
    violations = context.policy_violations
    context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


@pytest.fixture
def desktop(browser):
    yield from _page_in(_context(browser, DESKTOP))


@pytest.fixture
def desktop_no_js(browser):
    yield from _page_in(_context(browser, DESKTOP, java_script_enabled=False))


@pytest.fixture
def phone(browser):
    yield from _page_in(_context(browser, PHONE, is_mobile=True, has_touch=True))


@pytest.fixture
def phone_no_js(browser):
    options = {"is_mobile": True, "has_touch": True, "java_script_enabled": False}
    yield from _page_in(_context(browser, PHONE, **options))


def type_where_htmx_listens(page, selector: str, text: str) -> None:
    """Fill a field whose typing htmx answers, once the page has loaded.

    htmx binds its triggers when the document has loaded; a click that navigates returns as
    soon as the new page commits, and text filled before that fires no request at all.
    """
    page.wait_for_load_state("load")
    page.fill(selector, text)


def htmx_settled(page) -> None:
    """Wait until htmx has swapped in and settled what it fetched.

    On settling htmx focuses the new part's autofocus field (the counter's search, the
    picker's find box): a fill that began before would type into that field instead.
    """
    busy = page.locator(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added")
    expect(busy).to_have_count(0)  # a locator, not wait_for_function: the CSP forbids eval


def menu_follow(page, url: str) -> None:
    """Open the menu (a <details>), follow its link to `url` and wait for that page to load.

    Without the wait, a count or text read right after the click can run while the new page
    is still being parsed, and find nothing (it happened under load).
    """
    page.click("details.nav-menu summary")
    with page.expect_navigation():
        page.click(f".nav-menu a[href='{url}']")


def screenshot(page, journey: str, name: str) -> Path:
    """Save a full-page screenshot for review: test-artifacts/screenshots/<journey>/<name>.jpg.

    A JPEG: chromium encodes a full page as PNG in about twice the time (143 against 75 ms
    measured), and the suite takes some 120 of these. Pictures compared pixel for pixel
    (tests/browser/purged.py) stay PNG.
    """
    folder = SCREENSHOTS / journey
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jpg"
    page.screenshot(path=str(path), full_page=True, type="jpeg", quality=90)
    return path


# axe-core's default rules, less those that can only find minor or moderate problems (a
# rule's impact is declared with it and is what it reports): the sweeps fail on serious and
# critical ones only, and the others (`region` above all, which visits every element) took
# about a third of axe's time on a page.
AXE_RUN = """() => {
  const off = {};
  for (const rule of axe._audit.rules) {
    if (rule.impact !== "serious" && rule.impact !== "critical") off[rule.id] = {enabled: false};
  }
  return axe.run(document, {resultTypes: ["violations"], rules: off});
}"""


def axe_loaded(page) -> None:
    """axe-core on the current page. The first call in a browser context also makes it an
    init script of the context, so every later page of it starts with axe: chromium keeps
    the compiled code of an init script, and evaluating the 570 KB file anew on each page
    of a sweep took about 80 ms a page, a third of what axe costs there."""
    from axe_playwright_python.base import AXE_SCRIPT

    context = page.context
    if not getattr(context, "axe_on_every_page", False):
        context.add_init_script(AXE_SCRIPT)
        context.axe_on_every_page = True
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the current page, one line each."""
    axe_loaded(page)
    results = page.evaluate(AXE_RUN)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def assert_accessible(page) -> None:
    """axe-core finds no serious or critical violation on the current page."""
    problems = accessibility_problems(page)
    assert not problems, f"{page.url}:\n" + "\n".join(problems)


# Enter in a form's field (a text box, a tick box) presses its first submit button (HTML's
# implicit submission, `form.elements` order: buttons joined by form="…" too). In a form of
# several buttons that first one must name no action (templates/_enter_default.html): Enter
# never decides. A form of buttons alone (a list to choose from) has no field to press it in.
ENTER_DEFAULTS = """() => Array.from(document.forms).flatMap((form) => {
  const elements = Array.from(form.elements);
  const buttons = elements.filter((e) => ["submit", "image"].includes(e.type));
  const notFields = ["hidden", "submit", "image", "button", "reset", "file"];
  const fields = elements.filter((e) => e.tagName === "INPUT" && !notFields.includes(e.type));
  if (buttons.length < 2 || !fields.length || !buttons[0].name) return [];
  return [`Enter in a form to ${form.getAttribute("action") || "this page"} presses `
    + `${buttons[0].name}=${buttons[0].value}: put templates/_enter_default.html first`];
})"""


def enter_key_problems(page) -> list[str]:
    """Forms of the current page where Enter in a text box presses a button naming an action."""
    return page.evaluate(ENTER_DEFAULTS)


# Controls a finger must hit: buttons, fields, the menu, menu and pagination links. Links inside
# running text are exempt, as WCAG's target-size rule exempts inline links, and so is a form's
# hidden Enter default (templates/_enter_default.html: 1 px, out of sight and of the Tab order).
# A tick box or a choice is hit by its line (.form-check) or the label it sits in.
SMALL_TARGETS_JS = """
() => Array.from(document.querySelectorAll(
    'button, input:not([type=hidden]), select, textarea, summary, a.btn, a.nav-link, .page-link'
  ))
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .filter(el => !el.matches('[data-enter-default]'))
  .map(el => {
    const target = el.matches('input[type=checkbox], input[type=radio]')
      ? (el.closest('.form-check, label') || el) : el;
    const box = target.getBoundingClientRect();
    return {html: el.outerHTML.slice(0, 90), width: box.width, height: box.height};
  })
  .filter(t => t.height < 44 || t.width < 44)
"""


def small_touch_targets(page) -> list[dict]:
    """Controls of the current page smaller than 44 x 44 CSS pixels (a fingertip)."""
    return page.evaluate(SMALL_TARGETS_JS)


# Links that stand alone (the whole of their paragraph, heading or list item: "My
# reservations", "← Back", a wish's title) are a page's way on, not words in a sentence.
SMALL_LONE_LINKS_JS = """
() => Array.from(document.querySelectorAll('a[href]'))
  .filter(el => el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden')
  .filter(el => !el.matches('.visually-hidden-focusable'))
  .filter(el => el.parentElement.textContent.trim() === el.textContent.trim())
  .map(el => {
    const box = el.getBoundingClientRect();
    return {html: el.outerHTML.slice(0, 90), width: box.width, height: box.height};
  })
  .filter(t => t.height < 44 || t.width < 44)
"""


# A badge broken over two lines ("待审/核"): squeezed by the text beside it in a flex row.
BROKEN_BADGES_JS = """
() => Array.from(document.querySelectorAll('.badge'))
  .filter(el => el.getClientRects().length)
  .filter(el => {
    const lineHeight = parseFloat(getComputedStyle(el).fontSize) * 1.5;
    const padding = parseFloat(getComputedStyle(el).paddingTop) * 2;
    return el.getBoundingClientRect().height > lineHeight + padding + 1;
  })
  .filter(el => el.textContent.trim().length <= 8)  // a long one may wrap rather than overflow
  .map(el => el.outerHTML.slice(0, 90))
"""


def broken_badges(page) -> list[str]:
    """Short badges of the current page that are drawn on more than one line."""
    return page.evaluate(BROKEN_BADGES_JS)


def small_lone_links(page) -> list[dict]:
    """Links standing alone on the current page smaller than a fingertip (44 x 44 px)."""
    return page.evaluate(SMALL_LONE_LINKS_JS)


def horizontal_overflow(page) -> int:
    """How many CSS pixels the page scrolls sideways (0 when it fits the viewport)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


# Boxes that scroll sideways inside a page which itself fits (a table in .table-responsive):
# the page passes horizontal_overflow, yet the reader swipes the box to see its columns.
SIDEWAYS_BOXES_JS = """
() => Array.from(document.querySelectorAll('body *'))
  .filter(el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX))
  .filter(el => el.getClientRects().length && el.scrollWidth > el.clientWidth + 1)
  .map(el => `${el.outerHTML.slice(0, 60)}... by ${el.scrollWidth - el.clientWidth}px`)
"""


def sideways_boxes(page) -> list[str]:
    """Parts of the current page that scroll sideways inside it, each with by how much."""
    return page.evaluate(SIDEWAYS_BOXES_JS)


def assert_no_horizontal_scroll(page) -> None:
    overflow = horizontal_overflow(page)
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"


def sign_in(page, live_server, user, *, village=None) -> None:
    """Start the page's browser session as `user` without typing (the journeys type their logins).

    A county admin is given `village` to look into, as the village picker does.
    """
    from django.test import Client

    client = Client()
    client.force_login(user)
    if village is not None:
        client.post(reverse("villagers:village_pick"), {"village": village.pk})
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def village_now(village_x):
    """Village X crediting approved points at once (no publicity period) so journeys see them."""
    village_x.publicity_days = 0
    village_x.save(update_fields=["publicity_days"])
    return village_x


@pytest.fixture
def shelves(village_now, manager_x):
    """Goods in three of the six zones, one of them out of reach of a 100-point card."""
    from store.services import zones_ensure
    from tests.store.conftest import make_item

    zones_ensure(village=village_now)
    return {
        "rice": make_item(village_now, "grain_oil", "大米 10kg", 20, 50, manager_x, unit="袋"),
        "soap": make_item(village_now, "toiletries", "洗衣粉", 8, 30, manager_x, unit="袋"),
        "kettle": make_item(village_now, "appliances", "电热水壶", 150, 2, manager_x),
    }


@pytest.fixture
def rules(village_now):
    from points.models import Rule
    from tests.points.conftest import make_rule

    return {
        "labour": make_rule(
            village_now, "L01", 10, Rule.Category.VOLUNTARY_LABOUR, description="义务打扫村道"
        ),
        "clean": make_rule(village_now, "E01", 5, description="五净一规范检查合格"),
    }


@pytest.fixture
def donor_x(village_now):
    from store.models import Donor

    return Donor.objects.create(village=village_now, name="宜川县顺达农资有限公司", kind="company")
