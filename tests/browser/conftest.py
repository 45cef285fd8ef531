"""Real-browser tests: Playwright driving Debian's chromium against Django's live server.

With no chromium on the machine the tests are skipped with the reason; under CI=true a
missing browser fails instead, so CI can never pass by skipping them. Screenshots of key
pages go to test-artifacts/screenshots/ (git-ignored) for people to look at.
"""

import os
import shutil
from pathlib import Path

import pytest

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
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


@pytest.fixture(scope="session")
def browser():
    path = _chromium_path()
    if path is None:
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


def _context(browser, viewport, **options):
    context = browser.new_context(viewport=viewport, locale="zh-CN", **options)
    context.set_default_timeout(15_000)
    return context


@pytest.fixture
def desktop(browser):
    context = _context(browser, DESKTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser):
    context = _context(browser, PHONE, is_mobile=True, has_touch=True)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_no_js(browser):
    context = _context(browser, PHONE, is_mobile=True, has_touch=True, java_script_enabled=False)
    yield context.new_page()
    context.close()


def screenshot(page, journey: str, name: str) -> Path:
    """Save a full-page screenshot for review: test-artifacts/screenshots/<journey>/<name>.png."""
    folder = SCREENSHOTS / journey
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page) -> None:
    """axe-core finds no serious or critical violation on the current page."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert not bad, f"{page.url}:\n" + "\n".join(bad)


def assert_no_horizontal_scroll(page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} scrolls sideways by {overflow}px"
