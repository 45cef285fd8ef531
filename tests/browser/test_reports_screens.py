"""Dashboard, a sheet of cards and the county overview in a real browser, desktop and phone.

Screenshots go to test-artifacts/screenshots/reports/ for people to look at.
"""

from io import BytesIO, StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from store.services import zones_ensure
from tests.browser.conftest import assert_accessible, assert_no_horizontal_scroll, screenshot
from tests.reports.conftest import build_history, table_rows
from tests.store.conftest import make_item
from villagers.models import User


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _sign_in(page, live_server, user, village=None):
    client = Client()
    client.force_login(user)
    if village is not None:
        client.post(reverse("villagers:village_pick"), {"village": village.pk})
    page.context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            },
            {"name": "django_language", "value": "en", "url": live_server.url},
        ]
    )


@pytest.fixture
def busy_village(card_a, card_b, village_x, manager_x, supervisor_x):
    zones_ensure(village=village_x)
    items = [
        make_item(village_x, "grain_oil", "大米 10kg", 20, 50, manager_x),
        make_item(village_x, "toiletries", "洗衣粉", 30, 20, manager_x),
        make_item(village_x, "appliances", "电热水壶", 40, 2, manager_x, low_stock_threshold=3),
    ]
    households = [card_a.household, card_b.household]
    for household in households:
        household.refresh_from_db()
    build_history(
        village_x, households=households, manager=manager_x, supervisor=supervisor_x, items=items
    )
    return village_x


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_dashboard_screens(request, device, live_server, busy_village, supervisor_x):
    page = request.getfixturevalue(device)
    _sign_in(page, live_server, supervisor_x)
    page.goto(f"{live_server.url}{reverse('reports:dashboard')}")
    assert page.locator("svg.chart-svg").count() == 2
    assert page.locator("svg.chart-svg rect").count() > 10
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    screenshot(page, "reports", f"dashboard-{device}")
    page.goto(f"{live_server.url}{reverse('reports:month_report_current')}")
    assert_no_horizontal_scroll(page)
    screenshot(page, "reports", f"month-report-{device}")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_card_sheet_screens(request, device, live_server, busy_village, manager_x, card_a, card_b):
    page = request.getfixturevalue(device)
    _sign_in(page, live_server, manager_x)
    page.goto(f"{live_server.url}{reverse('villagers:card_sheet_choose')}")
    assert_no_horizontal_scroll(page)
    screenshot(page, "reports", f"card-choose-{device}")
    with page.expect_navigation():
        page.click("button:has-text('Open the sheet')")
    assert page.locator("article.points-card").count() == 2
    box = page.locator("article.points-card").first.bounding_box()
    if device == "desktop":
        # 85.6 x 54 mm at 96 px an inch.
        assert abs(box["width"] - 85.6 / 25.4 * 96) < 2
        assert abs(box["height"] - 54 / 25.4 * 96) < 2
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    screenshot(page, "reports", f"card-sheet-{device}")
    if device == "desktop":
        page.emulate_media(media="print")
        screenshot(page, "reports", "card-sheet-print")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_county_overview_screens(
    request, device, live_server, busy_village, county_admin, village_y
):
    page = request.getfixturevalue(device)
    _sign_in(page, live_server, county_admin)
    page.goto(f"{live_server.url}{reverse('reports:county_overview')}")
    assert page.locator("tbody tr").count() == 2
    assert_no_horizontal_scroll(page)
    assert_accessible(page)
    screenshot(page, "reports", f"county-overview-{device}")
    if device == "desktop":
        with page.expect_navigation():
            page.click(f"button.link-button:text('{busy_village.name}')")
        assert page.url.endswith(reverse("reports:dashboard"))
        assert busy_village.name in page.locator("h1").inner_text()


def test_the_demo_county_compared_sorted_and_exported(desktop, live_server, queue_workers):
    """The demo county's three villages side by side, sorted by a heading, and its .xlsx:
    the export page refreshes itself until a worker has built the file, and offers it."""
    call_command("load_demo", stdout=StringIO())
    page = desktop
    _sign_in(page, live_server, User.objects.get(username="county"))
    page.goto(f"{live_server.url}{reverse('reports:county_overview')}")
    rows = page.locator("tbody tr")
    assert rows.count() == 3
    assert page.locator("tbody th button").all_inner_texts() == ["啊道村", "枣坪村", "柳湾村"]
    # A trend line of twelve months in every row and in the total.
    lines = page.locator("svg.sparkline polyline")
    assert lines.count() == 4
    assert all(len(points.split()) == 12 for points in lines.evaluate_all(
        "(lines) => lines.map((line) => line.getAttribute('points'))"
    ))  # fmt: skip
    assert_accessible(page)
    screenshot(page, "reports", "county-overview-demo")

    # Sorted by points held, biggest first, then the other way round.
    def held():
        headings = page.locator("thead th").all_inner_texts()
        column = 1 + next(i for i, text in enumerate(headings) if "Points held" in text)
        return [int(t) for t in page.locator(f"tbody td:nth-child({column})").all_inner_texts()]

    with page.expect_navigation():
        page.click("thead a:text('Points held')")
    assert held() == sorted(held(), reverse=True)
    assert page.locator("th[aria-sort='descending']").inner_text().startswith("Points held")
    screenshot(page, "reports", "county-overview-demo-by-held")
    with page.expect_navigation():
        page.click("thead a:text('Points held')")
    assert held() == sorted(held())

    # The export: the status page refreshes itself (no script) until the file is ready.
    queue_workers(1)
    with page.expect_navigation():
        page.click("button:has-text('Prepare .xlsx')")
    assert "/exports/" in page.url
    page.wait_for_selector("h1:text('The county overview is ready')", timeout=90_000)
    assert "Preparing" not in page.locator("h1").inner_text()
    screenshot(page, "reports", "county-export-ready")
    with page.expect_download() as download:
        page.click("a:has-text('Download')")
    # Saved under the county's own name (the header's UTF-8 one), not a name any county's
    # file could have.
    county = User.objects.get(username="county").county
    month = timezone.localdate()
    assert download.value.suggested_filename.startswith(f"{county.name}-")
    assert download.value.suggested_filename.endswith(f"-{month:%Y-%m}.xlsx")
    sheet = load_workbook(BytesIO(download.value.path().read_bytes())).active
    names = [row[1] for row in table_rows(sheet)][:-1]  # the villages, not the total or notes
    assert sorted(names) == sorted(["啊道村", "枣坪村", "柳湾村"])


def test_the_county_tables_chinese_headings_break_between_words(
    browser, live_server, busy_village, county_admin, village_y, settings
):
    """Found by the probe at 1366×768 on a county's figures: the headings broke inside their
    words (当月扣 / 除, 等待审 / 批, 未实现的心 / 愿); on a narrower screen even 农 / 户. They
    break between words only: where the table is then too wide, it scrolls sideways inside
    its box, the village's name staying in view, as on a phone."""
    settings.LANGUAGE_CODE = "zh-hans"
    context = browser.new_context(viewport={"width": 1100, "height": 768}, locale="zh-CN")
    page = context.new_page()
    try:
        _sign_in(page, live_server, county_admin)
        page.context.add_cookies(
            [{"name": "django_language", "value": "zh-hans", "url": live_server.url}]
        )
        page.goto(f"{live_server.url}{reverse('reports:county_overview')}")
        lines = page.evaluate(
            """() => [...document.querySelectorAll('.county-table thead .sort-link')].map(a => {
                const range = document.createRange();
                range.selectNodeContents(a);
                const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                return [a.textContent.trim(), tops.size];
            })"""
        )
        words = {text: count for text, count in lines if text.isalnum()}
        assert {"农户", "当月扣除", "等待审批", "未实现的心愿"} <= set(words)
        assert all(count == 1 for count in words.values()), words
        assert_no_horizontal_scroll(page)
        screenshot(page, "reports", "county-overview-1100-zh")
    finally:
        context.close()
