"""The notice on a 360x740 phone (issue 19): each row a card, no sideways scrolling, sections
folding by their headings with the totals first, no Excel button for villagers, and the
published month reached without login from the address its paper notice prints as a QR code.
"""

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.months import previous_month
from reports.notice import notice_publish
from store.models import Donation
from store.services import donation_record, redemption_create
from tests.browser.conftest import (
    PHONE,
    _context,
    assert_no_horizontal_scroll,
    screenshot,
    sign_in,
)
from tests.conftest import issue_card
from tests.factories import HouseholdFactory
from tests.points.conftest import make_rule
from tests.reports.conftest import at, dated_approval

LAST = previous_month(timezone.localdate())

# Rows drawn as cards: each cell shows its column's name before its value, and no card is
# wider than the screen. Returns the problems found in the open sections.
CARDS_JS = """
() => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  for (const row of document.querySelectorAll("details[open] .notice-table tbody tr")) {
    const box = row.getBoundingClientRect();
    if (box.right > width + 0.5) problems.push(`row wider than the screen: ${row.innerText}`);
    if (getComputedStyle(row).display !== "block") problems.push(`not a card: ${row.innerText}`);
    const cell = row.querySelector("td[data-label]:not(:empty)");
    const label = cell && getComputedStyle(cell, "::before").content;
    if (!label || label === "none") problems.push(`a cell without its column: ${row.innerText}`);
  }
  return problems;
}
"""


@pytest.fixture
def month_on_the_board(village_now, group_x, manager_x, supervisor_x, shelves):
    """Last month, published: an award with a long reason, a deduction, a redemption and a
    money donation with a long thanks (the wide tables of the old notice)."""
    road = make_rule(village_now, "L01", 10, description="义务修缮村道及排水沟")
    litter = make_rule(village_now, "D01", -5, description="乱扔垃圾")
    households = []
    for number, name in (("X031", "欧阳大山"), ("X032", "李秀英"), ("X033", "张建华")):
        household = HouseholdFactory(group=group_x, head_name=name, number=number)
        issue_card(household, manager_x, at=at(previous_month(LAST), 20))
        household.refresh_from_db()
        households.append(household)
    approvers = {"manager": manager_x, "supervisor": supervisor_x}
    reason = "组织全组村民义务修缮村道，清理排水沟三百米，连续三天"
    dated_approval(households[0], road, at(LAST, 6), reason=reason, **approvers)
    dated_approval(households[2], litter, at(LAST, 8), reason="在河边乱扔垃圾", **approvers)
    redemption_create(
        village=village_now,
        household=households[1],
        lines={shelves["rice"].pk: 1, shelves["soap"].pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=at(LAST, 12),
    )
    from store.models import Donor

    donation_record(
        village=village_now,
        donor=Donor.objects.create(village=village_now, name="宜川县民政局", kind="government"),
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("8000.00"),
        thanks="衷心感谢宜川县民政局对我村爱心超市的大力支持，全体村民铭记于心",
        actor=manager_x,
        received_on=LAST.replace(day=4),
    )
    notice_publish(village=village_now, year=LAST.year, month=LAST.month, actor=supervisor_x)
    return {"households": households, "villager": households[0].users.get(is_staff=False)}


def open_every_section(page) -> None:
    folded = page.locator("details.notice-fold:not([open]) > summary")
    for _ in range(folded.count()):
        folded.first.click()
    assert folded.count() == 0


def assert_reads_as_cards(page) -> None:
    """No sideways scrolling with every section open, each row a card, totals first."""
    open_every_section(page)
    assert_no_horizontal_scroll(page)
    assert page.evaluate(CARDS_JS) == []
    balances = page.locator(".notice-balances")
    total = balances.locator("tfoot tr").bounding_box()
    first_row = balances.locator("tbody tr").first.bounding_box()
    assert total["y"] < first_row["y"]  # the totals card comes before the households'
    # The totals card keeps its heading (合计), which other .table-cards tables leave out.
    assert balances.locator("tfoot th[scope=row]").is_visible()
    assert balances.locator("thead").bounding_box()["height"] <= 1  # headings on the cards


def assert_folded_on_the_figures(page) -> None:
    """The page opens on the ledger's totals; the other sections are folded headings that
    still name their totals."""
    assert page.locator(".notice-ledger details.notice-fold[open]").count() == 1
    folded = page.locator("details.notice-fold:not([open])")
    assert folded.count() == page.locator("details.notice-fold").count() - 1
    assert page.locator(".notice-balances tbody tr").first.is_hidden()
    assert page.locator(".notice-balances .notice-headline").is_visible()
    assert_no_horizontal_scroll(page)


def test_a_villager_reads_the_notice_on_a_phone(
    live_server, phone, month_on_the_board, village_now
):
    page, shots = phone, "notice-phone"
    sign_in(page, live_server, month_on_the_board["villager"])
    page.goto(f"{live_server.url}{reverse('reports:notice')}")
    assert page.locator("a[href*='xlsx']").count() == 0  # no Excel button for villagers
    assert_folded_on_the_figures(page)
    screenshot(page, shots, "01-this-month-folded")

    # The month before is published: the villager's way back leads to it.
    with page.expect_navigation():
        page.click(f"a[href='{reverse('reports:notice_month', args=[LAST.year, LAST.month])}']")
    assert page.locator(".notice-published").is_visible()
    assert page.locator("a[href*='xlsx']").count() == 0
    assert_folded_on_the_figures(page)
    screenshot(page, shots, "02-published-month-folded")
    assert_reads_as_cards(page)
    text = page.inner_text("main")
    assert "组织全组村民义务修缮村道" in text and "衷心感谢宜川县民政局" in text
    screenshot(page, shots, "03-published-month-as-cards")

    # The address under the QR code is the public page a villager reaches from the paper.
    public = reverse("reports:notice_public", args=[village_now.code, LAST.year, LAST.month])
    assert page.inner_text(".notice-url") == f"{live_server.url}{public}"

    # In large type too.
    with page.expect_navigation():
        page.click("footer .large-type-switch button")
    assert_reads_as_cards(page)
    screenshot(page, shots, "04-large-type-as-cards")


def test_the_month_reports_notice_folds_on_a_phone_as_the_notice_does(
    live_server, phone, month_on_the_board, supervisor_x
):
    """The month report ends with the month's notice: its sections all open, a village's
    report ran to some 150 screens on a phone (100,000 px) before its own last figures."""
    page = phone
    sign_in(page, live_server, supervisor_x)
    page.goto(f"{live_server.url}{reverse('reports:month_report', args=[LAST.year, LAST.month])}")
    assert_folded_on_the_figures(page)
    screenshot(page, "notice-phone", "07-month-report-folded")
    page.emulate_media(media="print")
    assert page.locator(".notice-balances tbody tr").first.is_visible()  # A4 keeps it whole


def test_the_published_notice_from_its_qr_code_on_a_phone_without_login(
    live_server, browser, month_on_the_board, village_now
):
    public = reverse("reports:notice_public", args=[village_now.code, LAST.year, LAST.month])
    context = _context(browser, PHONE, is_mobile=True, has_touch=True)
    page, shots = context.new_page(), "notice-phone"
    response = page.goto(f"{live_server.url}{public}")
    assert response.status == 200 and page.url.endswith(public)
    assert page.locator("a[href*='xlsx']").count() == 0
    assert_folded_on_the_figures(page)
    screenshot(page, shots, "05-public-folded")
    assert_reads_as_cards(page)
    assert "欧**" in page.inner_text(".notice-balances")  # masked as the village chooses
    screenshot(page, shots, "06-public-as-cards")
    violations = context.policy_violations
    context.close()
    assert not violations, violations


def test_the_notice_folds_without_javascript(
    live_server, phone_no_js, month_on_the_board, village_now
):
    """Without JavaScript every section starts open, as cards, and folds by its heading."""
    page = phone_no_js
    public = reverse("reports:notice_public", args=[village_now.code, LAST.year, LAST.month])
    page.goto(f"{live_server.url}{public}")
    assert page.locator("details.notice-fold:not([open])").count() == 0
    assert_reads_as_cards(page)
    page.click(".notice-balances summary")
    assert page.locator(".notice-balances details.notice-fold[open]").count() == 0
    assert page.locator(".notice-balances tbody tr").first.is_hidden()


def test_every_section_prints_even_when_folded(
    live_server, desktop, month_on_the_board, village_now
):
    """A4 keeps the whole notice: folded sections unfold for print, with or without the script."""
    page = desktop
    public = reverse("reports:notice_public", args=[village_now.code, LAST.year, LAST.month])
    page.goto(f"{live_server.url}{public}")
    assert page.locator("details.notice-fold:not([open])").count() == 0  # open on a wide screen
    page.click(".notice-balances summary")
    assert page.locator(".notice-balances tbody tr").first.is_hidden()
    page.emulate_media(media="print")
    assert page.locator(".notice-balances tbody tr").first.is_visible()
    assert page.locator(".notice-balances thead").bounding_box()["height"] > 1  # a table on A4


def test_a_villager_hears_their_own_line_of_the_published_notice(
    live_server, phone, month_on_the_board
):
    """The household's own line stands above the folded sections and is read aloud in
    Chinese: its month in five figures, the same as its row in the list of balances."""
    from tests.browser.test_phone import SPEECH_STUB

    page, shots = phone, "notice-phone"
    page.add_init_script(SPEECH_STUB)
    sign_in(page, live_server, month_on_the_board["villager"])
    page.goto(f"{live_server.url}{reverse('reports:notice_month', args=[LAST.year, LAST.month])}")
    own = page.locator(".notice-own")
    assert own.is_visible()
    figures = own.locator("dd").all_inner_texts()
    assert figures[1] == "10"  # the road repair's award: earned last month
    household = month_on_the_board["households"][0]
    tail = household.cards.get().number[-4:]
    row = page.locator(".notice-balances tbody tr", has_text=tail)
    cells = row.locator("td").all_text_contents()  # the section is folded: read, not seen
    assert [cell.strip() for cell in cells][-5:] == figures
    assert_no_horizontal_scroll(page)
    screenshot(page, shots, "05-own-line")
    own.locator("button.read-aloud").click()
    spoken = page.evaluate("window.__spoken")
    assert len(spoken) == 1 and spoken[0]["lang"] == "zh-CN"
    assert f"月底有{figures[-1]}分" in spoken[0]["text"]
