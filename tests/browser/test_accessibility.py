"""Every page each role can open passes axe-core (no serious or critical violation), and
every villager and manager page is drawn by the purged stylesheet as by the whole of
Bootstrap (tests/browser/purged.py).

The village of `tests.browser.pages.world` holds one of everything a page can show (a pending
batch, an approved proposal with its photo, a declaration, goods, a redemption, a donation,
wishes in every state), so each page is checked with content, not empty. Villager pages are
checked on a 360 px phone, where they must not scroll sideways (nor any box in them) and
each control is big enough for a finger (the large type size: tests/browser/test_phone.py);
staff pages on a desktop.
On every page, Enter in a text box must not press a button that names an action (approve,
remove, confirm): a form of several buttons starts with a default that names none.
The pages every staff role shares are checked as the manager (tests/browser/pages.py,
SUPERVISOR_SWEEP and COUNTY_SWEEP).
"""

import re

import pytest
from django.urls import reverse

from tests.browser.conftest import (
    accessibility_problems,
    assert_accessible,
    assert_no_horizontal_scroll,
    broken_badges,
    enter_key_problems,
    horizontal_overflow,
    sideways_boxes,
    sign_in,
    small_lone_links,
    small_touch_targets,
)
from tests.browser.pages import (
    COUNTY_SWEEP,
    MANAGER_PAGES,
    SUPERVISOR_SWEEP,
    VILLAGER_PAGES,
    urls_of,
)
from tests.browser.purged import ORIGINAL_CSS, PurgedComparison


def _check_pages(page, live_server, urls, *, phone=False, purged=None):
    """Open each page; collect every problem so one run lists all of them. With `purged`
    (a PurgedComparison), each page is also drawn with the purged stylesheet and with the
    whole of Bootstrap, and must look the same. On a phone, each control is also big enough
    for a finger (in the usual type size; tests/browser/test_phone.py checks the large)."""
    failures = []
    for url in urls:
        response = page.goto(live_server.url + url)
        if response is None or response.status != 200:
            failures.append(f"{url}: HTTP {response.status if response else '?'}")
            continue
        problems = accessibility_problems(page) + enter_key_problems(page)
        if phone and horizontal_overflow(page) > 0:
            problems.append(f"scrolls sideways by {horizontal_overflow(page)}px")
        if phone:
            problems += [f"a part scrolls sideways: {box}" for box in sideways_boxes(page)]
        if phone:
            problems += [f"touch target too small: {t}" for t in small_touch_targets(page)]
            problems += [f"link standing alone too small: {t}" for t in small_lone_links(page)]
            problems += [f"a badge broken over two lines: {b}" for b in broken_badges(page)]
        if phone and page.locator("a[target=_blank], a[download]").count():
            # WeChat's built-in browser opens no new windows and handles downloads poorly.
            problems.append("a villager link opens a new window or downloads a file")
        if purged is not None and purged.differs():
            problems.append(f"drawn differently by the purged stylesheet ({purged.folder})")
        failures.extend(f"{url}: {problem}" for problem in problems)
    if purged is not None:
        purged.assert_each_page_drawn_again()
    assert not failures, "\n".join(failures)


def test_villager_pages_on_a_phone(live_server, phone, world, villager_a):
    sign_in(phone, live_server, villager_a)
    urls = urls_of(world, VILLAGER_PAGES)
    _check_pages(phone, live_server, urls, phone=True, purged=PurgedComparison(phone, "villager"))


def test_signed_out_pages_on_a_phone(live_server, phone):
    urls = [reverse("login"), reverse("card_login"), "/no-such-page/"]
    failures = []
    for url in urls:
        phone.goto(live_server.url + url)
        try:
            assert_accessible(phone)
            assert_no_horizontal_scroll(phone)
            assert not small_lone_links(phone), small_lone_links(phone)  # "Back to the start"
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("half", [1, 2])
def test_manager_pages(live_server, desktop, world, manager_x, half):
    """In two halves (every other page), so the suite's two workers share the longest sweep."""
    sign_in(desktop, live_server, manager_x)
    urls = urls_of(world, MANAGER_PAGES)[half - 1 :: 2]
    purged = PurgedComparison(desktop, f"manager-{half}")
    _check_pages(desktop, live_server, urls, purged=purged)


def test_roster_preview_page(live_server, desktop, world, manager_x, tmp_path):
    """The preview is reached only by uploading a file: one good row, one with an error."""
    roster = tmp_path / "roster.csv"
    roster.write_text("户号,村民小组,户主姓名\nX030,啊道,刘德\nX031,没有这个组,张\n", "utf-8")
    sign_in(desktop, live_server, manager_x)
    desktop.goto(live_server.url + reverse("villagers:roster_upload"))
    desktop.set_input_files("input[type=file]", str(roster))
    with desktop.expect_navigation():
        desktop.click("main form[method=post] button[type=submit]")
    assert desktop.url.endswith(reverse("villagers:roster_preview"))
    assert_accessible(desktop)


def test_supervisor_pages(live_server, desktop, world, supervisor_x):
    sign_in(desktop, live_server, supervisor_x)
    _check_pages(desktop, live_server, urls_of(world, SUPERVISOR_SWEEP))


# What the first secretary decides on, often from a phone: the queue, a proposal's and a
# batch's own pages, objections and held entries, write-offs, declarations, wishes, the
# month's notice and reports.
SUPERVISOR_PHONE_PAGES = [
    "points:approval_queue",
    "points:publicity",
    "store:corrections",
    ("points:declaration_review", "declaration"),
    ("points:batch_detail", "batch"),
    ("points:proposal_detail", "waiting"),
    "wishwall:queue",
    ("wishwall:match", "wish_open"),
    ("reports:notice_month", "notice_draft"),
    "reports:month_report_current",
    "reports:audit",
    "villagers:card_sheet_choose",
]


def test_supervisor_pages_on_a_phone(live_server, phone, world, supervisor_x, villager_a):
    """The first secretary's pages fit 360 px and every control is big enough for a finger:
    the queue's and the corrections' tick boxes were 25 px, as were the choices to settle an
    objection and the audit log's filter."""
    from points.publicity import objection_raise

    objection_raise(proposal_id=world["in_publicity"].pk, actor=villager_a, reason="没看见扫雪")
    sign_in(phone, live_server, supervisor_x)
    failures = []
    for url in urls_of(world, SUPERVISOR_PHONE_PAGES):
        response = phone.goto(live_server.url + url)
        if response is None or response.status != 200:
            failures.append(f"{url}: HTTP {response.status if response else '?'}")
            continue
        if horizontal_overflow(phone) > 0:
            failures.append(f"{url}: scrolls sideways by {horizontal_overflow(phone)}px")
        failures += [f"{url}: touch target too small: {t}" for t in small_touch_targets(phone)]
    assert not failures, "\n".join(failures)


def test_county_admin_pages(live_server, desktop, world, county_admin, village_now):
    sign_in(desktop, live_server, county_admin, village=village_now)
    _check_pages(desktop, live_server, urls_of(world, COUNTY_SWEEP))


def test_staff_pages_on_a_phone_do_not_scroll_sideways(live_server, phone, world, manager_x):
    """Managers work from their phones too: the daily pages fit 360 px."""
    sign_in(phone, live_server, manager_x)
    failures = []
    for url in urls_of(world, MANAGER_PAGES):
        phone.goto(live_server.url + url)
        try:
            assert_no_horizontal_scroll(phone)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)


def test_the_purged_comparison_sees_a_rule_the_purge_left_out(live_server, phone):
    """What the sweeps' comparison rests on: the sign-in page drawn by the purged file is
    the same as by the whole of Bootstrap, and drawn by the purged file short of one rule
    (its button's colour, taken out as the page loads) it is told apart. On a phone, the
    pictures leave the page a phone's (a picture beyond the viewport turned the touch
    emulation off: the sweep's later pages had a mouse's pointer)."""
    coarse = "() => matchMedia('(pointer: coarse)').matches"
    comparison = PurgedComparison(phone, "rule-left-out")
    phone.goto(live_server.url + reverse("login"))
    assert phone.evaluate(coarse)
    assert not comparison.differs()
    assert phone.evaluate(coarse)

    purged = (ORIGINAL_CSS.parent / "bootstrap.purged.min.css").read_text()
    short = re.sub(r"\.btn-danger\{[^}]*\}", "", purged)
    assert short != purged
    phone.route(
        re.compile(r"bootstrap\.purged\.min\.css$"),
        lambda route: route.fulfill(body=short, content_type="text/css"),
    )
    phone.goto(live_server.url + reverse("login"))
    assert comparison.differs()
