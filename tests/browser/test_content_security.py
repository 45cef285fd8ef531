"""Every page of the permission table loads in chromium without a Content-Security-Policy
violation, for every role that may open it, the admin's pages included. A role that differs
from another only by whose household or village it is (villager B, village Y's manager, the
other township's officer) opens the same templates and is swept once, as its twin.

The pages come from tests/security/url_table.py (a new URL is in as soon as it has a row) with
the security sweep's cast, which holds one of every object. One browser context per role;
chromium's console and the `securitypolicyviolation` event are both watched
(tests/browser/conftest.py). To stay quick, each admin page (Django's templates, the same for
every staff role) is opened once, by the first role the table lets in. Downloads (.xlsx) are
not pages, and neither are photos: chromium shows an image opened on its own in a viewer of
its own that styles itself inline, which the policy rightly refuses; the image still shows.
Those the table holds (NOT_PAGES) are fetched without the browser.

A page the accessibility sweep opens as the same role (tests/browser/test_accessibility.py,
on the village with one of everything) is left to it: every browser page of the suite
fails on a policy violation (tests/browser/conftest.py, `_page_in`), so it is watched there.
"""

import pytest

from tests.browser.conftest import DESKTOP, _context
from tests.browser.pages import COUNTY_SWEEP, MANAGER_PAGES, SUPERVISOR_SWEEP, VILLAGER_PAGES
from tests.security import conftest as security
from tests.security.matrix import discover, requests_for

ROLES = security.ROLES
# The same role for another household or village opens the same templates with fewer of the
# cast's objects (the table has them to test who may see what): swept once, by the first.
SAME_PAGES_AS = {"villager_b": "villager_a", "manager_y": "manager_x", "township_z": "township_x"}
SWEPT = [role for role in ROLES if role not in SAME_PAGES_AS]
cast = security.cast  # the security sweep's fixture: one of every object behind a URL
# The roles the accessibility sweep signs in as, and the pages it opens for each.
ACCESSIBILITY_SWEEP = {
    "villager_a": VILLAGER_PAGES,
    "manager_x": MANAGER_PAGES,
    "supervisor_x": SUPERVISOR_SWEEP,
    "county_x": COUNTY_SWEEP,
}


# What the table's URLs answer that is not a page: photos, a recording, .xlsx downloads,
# JSON, a script, plain text. Chromium would show each in a viewer of its own, whose policy
# violations are not the app's (its image viewer styles itself inline), or download it: they
# are fetched with the role's session, without a browser (a fifth of the sweep's time went
# to opening them), and must answer 200 with what is not HTML. One that is not listed is
# still opened, and its answer recognised as no page.
NOT_PAGES = {
    "admin:jsi18n",
    "api:openapi-json",
    "healthz",
    "manifest",
    "notifications:announcement_audio",
    "notifications:announcement_photo",
    "points:carry_over_template",
    "points:checkin_photo",
    "points:declaration_photo",
    "points:proposal_photo",
    "reports:export_download",
    "reports:month_report_xlsx",
    "reports:notice_xlsx",
    "villagers:roster_template",
    "wishwall:fulfilment_photo",
    "wishwall:photo",
}

# The admin's delete confirmation and history are the same template for every model (no
# form widgets of the model's own): one of each is opened. Its list, add and change pages
# draw each model's own fields and widgets, and are all opened.
ADMIN_GENERIC = ("/delete/", "/history/")


def _swept_for_accessibility(role) -> set[str]:
    """The URL names the accessibility sweep opens as `role`."""
    pages = ACCESSIBILITY_SWEEP.get(role, [])
    return {spec if isinstance(spec, str) else spec[0] for spec in pages if not callable(spec)}


def _pages_of(cast, role) -> tuple[list[str], list[str]]:
    """The URLs `role` opens in the browser, and those of NOT_PAGES it fetches."""
    requests, missing = requests_for(cast, discover())
    assert not missing
    pages, not_pages, generic_seen = [], [], set()
    elsewhere = _swept_for_accessibility(role)
    for request in requests:
        if request.get[role] != "200" or request.key in elsewhere:
            continue
        admitted = [other for other in ROLES if request.get[other] == "200"]
        if request.url.startswith("/admin/") and admitted[0] != role:
            continue  # opened by an earlier role
        generic = next((op for op in ADMIN_GENERIC if request.url.endswith(op)), None)
        if generic is not None:
            if generic in generic_seen:
                continue
            generic_seen.add(generic)
        (not_pages if request.key in NOT_PAGES else pages).append(request.url)
    return pages, not_pages


# The roles in two tests, each on one cast (built for each role, the casts took a tenth of
# the sweep's time), so the suite's two workers still share the sweep: about half its
# time each (the manager's pages, with the admin's, are the most).
HALVES = {
    1: [role for role in SWEPT if role in ("manager_x", "supervisor_x", "anon", "villager_a")]
}
HALVES[2] = [role for role in SWEPT if role not in HALVES[1]]


@pytest.mark.parametrize("half", sorted(HALVES))
def test_every_page_of_the_role_loads_without_a_policy_violation(
    live_server, browser, cast, half, settings
):
    settings.LANGUAGE_CODE = "en"  # the table's expectations are read in English elsewhere
    failures = []
    for role in HALVES[half]:
        failures += _role_swept(live_server, browser, cast, role, settings)
    assert not failures, "\n".join(failures)


def test_the_halves_sweep_every_role_once():
    assert sorted(HALVES[1] + HALVES[2]) == sorted(SWEPT)


def _role_swept(live_server, browser, cast, role, settings) -> list[str]:
    """What the role's pages answered wrongly, and their policy violations, one line each."""
    from playwright.sync_api import Error as PlaywrightError

    urls, fetched = _pages_of(cast, role)
    assert urls, role
    client = cast.client(role)
    failures, not_pages = [], set()
    for url in fetched:
        response = client.get(url)
        response.close()  # a photo's file
        if response.status_code != 200:
            failures.append(f"{role}: {url}: HTTP {response.status_code}")
        elif response.headers.get("Content-Type", "").startswith("text/html"):
            failures.append(f"{role}: {url}: a page now; take its name out of NOT_PAGES")
    context = _context(browser, DESKTOP)
    if role != "anon":
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
        )
    page = context.new_page()
    try:
        for url in urls:
            try:
                response = page.goto(live_server.url + url, wait_until="load")
            except PlaywrightError as error:
                if "Download is starting" in str(error):
                    continue  # an .xlsx: not a page
                raise
            if response is None or response.status != 200:
                failures.append(f"{role}: {url}: HTTP {response.status if response else '?'}")
            elif not response.headers.get("content-type", "").startswith("text/html"):
                not_pages.add(live_server.url + url)
    finally:
        violations = [
            violation
            for violation in context.policy_violations
            if violation.split(": ", 1)[0] not in not_pages
        ]
        context.close()
    if violations:
        failures.append(f"{role}: {len(violations)} policy violations:")
        failures += violations
    return failures


def test_the_twins_left_out_open_no_page_their_role_does_not(cast):
    """What makes leaving them out safe: every page they may open, the swept role opens too."""
    requests, _missing = requests_for(cast, discover())
    for role, twin in SAME_PAGES_AS.items():
        theirs = {request.key for request in requests if request.get[role] == "200"}
        swept = {request.key for request in requests if request.get[twin] == "200"}
        assert theirs, role
        assert theirs <= swept, (role, theirs - swept)


def test_the_pages_left_to_the_accessibility_sweep_are_pages_of_the_table(cast):
    """A name the accessibility sweep opens is a URL of the table (a misspelt one would
    leave nothing out here and check nothing there)."""
    requests, _missing = requests_for(cast, discover())
    keys = {request.key for request in requests}
    for role in ACCESSIBILITY_SWEEP:
        left = _swept_for_accessibility(role)
        assert left and left <= keys, (role, left - keys)


def test_what_is_fetched_without_the_browser_is_named_in_the_table():
    """A misspelt name in NOT_PAGES would leave its URL to the browser, unnoticed."""
    names = {pattern.name or pattern.route for pattern in discover()}
    assert names >= NOT_PAGES, NOT_PAGES - names
