"""Monthly and year reports: figures match the ledger and the store rows; .xlsx holds them."""

import datetime
import io
import re
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.months import month_span
from core.numbers import to_cents
from points.models import Entry, Proposal
from reports.exports import export_job_run
from reports.models import ExportJob
from reports.monthly import month_report_build, year_report_build
from reports.selectors import Period
from reports.selectors_transparency import liability_cover
from store.models import Donation, StockMovement, Zone
from store.services import item_save, redemption_create, redemption_void
from tests.conftest import issue_card
from tests.factories import HouseholdFactory
from tests.reports.conftest import at, expected_flows, expected_zone_points, local_month


def _today():
    return timezone.localdate()


def _rows(sheet) -> dict:
    """First column -> the rest of the row, for rows below the two heading lines."""
    return {row[0]: row[1:] for row in sheet.iter_rows(min_row=3, values_only=True)}


def _expected_categories(village, period) -> dict:
    start, end = period.bounds
    totals = defaultdict(lambda: [0, 0])
    for proposal in Proposal.objects.filter(village=village, status="approved").select_related(
        "entry", "rule"
    ):
        if start <= proposal.entry.created_at < end:
            totals[proposal.rule.category][0] += 1
            totals[proposal.rule.category][1] += proposal.points
    return totals


def _expected_purchases(village, period) -> dict:
    start, end = period.bounds
    totals = defaultdict(lambda: Decimal(0))
    for movement in StockMovement.objects.filter(village=village, kind="purchase"):
        if start <= movement.created_at < end:
            totals[movement.fund_source] += movement.cost_yuan
    return totals


def test_month_report_figures(history_x, village_x):
    today = _today()
    report = month_report_build(village_x, today.year, today.month)
    period = Period.month(today.year, today.month)
    month = today.replace(day=1)
    assert report.total.issued == expected_flows(village_x)[month]["issued"]
    assert report.total.redeemed == expected_flows(village_x)[month]["redeemed"] == 50

    categories = {row["category"]: [row["count"], row["points"]] for row in report.categories}
    expected = _expected_categories(village_x, period)
    assert {k: v for k, v in categories.items() if v[0]} == dict(expected)
    assert categories["labour"] == [2, 20] and categories["deductions"] == [1, -5]

    start, end = period.bounds
    zones = {row["label"]: row["points"] for row in report.zones if row["points"]}
    assert zones == dict(expected_zone_points(village_x, start, end))

    purchases = {row["source"]: row["cost"] for row in report.purchases if row["count"]}
    assert purchases == dict(_expected_purchases(village_x, period))
    assert purchases["civil_affairs"] == Decimal("200.00")
    assert "donated_money" not in purchases  # bought last month

    donors = {row["donor__name"]: row for row in report.donors}
    money = sum(d.value_yuan for d in Donation.objects.filter(village=village_x, kind="money"))
    assert donors["爱心人士101"]["money"] == money == Decimal("1300.00")
    assert donors["爱心人士101"]["count"] == 2
    assert donors["爱心企业101"]["goods"] == Decimal("600.00")
    keys = [section.key for section in report.sections]
    assert keys[:4] == ["ledger", "awards", "deductions", "reversals"]
    assert {"redemptions", "donations", "balances"} <= set(keys)


def test_a_void_made_in_a_later_month_is_that_months_and_leaves_the_earlier_one_as_published(
    card_a, rice, manager_x, supervisor_x, village_x, client_county
):
    """A month's "redeemed" is what the store took in less what that month's voids gave back,
    as its public notice says: a void made later changed the published month's figure."""
    today = _today()
    last = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    redemption = redemption_create(
        village=village_x,
        household=card_a.household,
        lines={rice.pk: 2},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=at(last, 10),
    )
    redemption_void(redemption=redemption, actor=supervisor_x, reason="刷错了卡")
    before = month_report_build(village_x, last.year, last.month)
    now = month_report_build(village_x, today.year, today.month)
    assert (before.total.redeemed, now.total.redeemed) == (40, -40)
    # The zones add up to it, in each month.
    assert [sum(zone["points"] for zone in report.zones) for report in (before, now)] == [40, -40]
    assert expected_flows(village_x)[last]["redeemed"] == 40
    county = client_county.get(reverse("reports:county_overview")).context
    (row,) = [v for v in county["villages"] if v.pk == village_x.pk]
    assert row.redeemed == -40


def test_an_item_moved_to_another_zone_leaves_the_months_before_as_they_were(
    card_a, rice, zones_x, manager_x, supervisor_x, village_x
):
    """Found by a probe: the zones were read from each item as it is now, so moving rice
    to another shelf moved last month's redemptions of it too, in a published month."""
    today = _today()
    last = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    redemption_create(
        village=village_x,
        household=card_a.household,
        lines={rice.pk: 2},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=at(last, 10),
    )

    def by_zone(year, month):
        report = month_report_build(village_x, year, month)
        return {row["zone"].code: row["points"] for row in report.zones if row["points"]}

    assert by_zone(last.year, last.month) == {"grain_oil": 40}
    rice.zone = Zone.objects.get(village=village_x, code="daily")
    item_save(item=rice, actor=manager_x)
    redemption_create(
        village=village_x,
        household=card_a.household,
        lines={rice.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    assert by_zone(last.year, last.month) == {"grain_oil": 40}
    assert by_zone(today.year, today.month) == {"daily": 20}
    year = {
        row["zone"].code: row["points"] for row in year_report_build(village_x, today.year).zones
    }
    if last.year == today.year:
        assert (year["grain_oil"], year["daily"]) == (40, 20)


def test_year_report_figures(history_x, village_x):
    year = _today().year
    report = year_report_build(village_x, year)
    flows = expected_flows(village_x)
    for flow in report.flows:
        assert flow.issued == flows[flow.month]["issued"]
        assert flow.deducted == flows[flow.month]["deducted"]
        assert flow.redeemed == flows[flow.month]["redeemed"]
    in_year = [v for month, v in flows.items() if month.year == year]
    assert report.total.issued == sum(v["issued"] for v in in_year)
    assert report.total.redeemed == sum(v["redeemed"] for v in in_year)
    assert report.sections == []


def test_month_report_page_and_print_stylesheet(client_supervisor_x, history_x):
    response = client_supervisor_x.get(reverse("reports:month_report_current"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Approved points by rule category" in page
    assert "Goods bought, by fund source" in page
    assert "爱心人士101" in page
    assert "Public notice of the month" in page
    assert "css/reports.css" in page
    css = (client_supervisor_x.get("/static/css/reports.css").getvalue()).decode()
    assert "@page { size: A4" in css


def test_month_report_xlsx_holds_the_same_numbers(client_manager_x, history_x, village_x):
    today = _today()
    response = client_manager_x.get(
        reverse("reports:month_report_xlsx", args=[today.year, today.month])
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    report = month_report_build(village_x, today.year, today.month)
    flow = _rows(workbook["Points flow"])
    assert flow[f"{today:%Y-%m}"] == (
        report.total.issued,
        report.total.awarded,
        report.total.opening,
        report.total.deducted,
        report.total.reversed_awards,
        report.total.reversed_deductions,
        report.total.redeemed,
        report.total.voided_earlier,
        report.total.carried,
        report.total.lapsed,
    )
    categories = _rows(workbook["By rule category"])
    assert categories["Voluntary labour"] == (2, 20)  # capitalised, as on the page
    assert categories["Total"] == (
        report.categories_total["count"],
        report.categories_total["points"],
    )
    zones = _rows(workbook["By zone"])
    assert zones["Total"][1] == 50
    funds = _rows(workbook["By fund source"])
    assert Decimal(str(funds["Civil-affairs subsidy (民政)"][2])) == Decimal("200")
    yuan = [row[3] for row in workbook["By fund source"].iter_rows(min_row=3)]
    assert yuan and all(cell.number_format == "0.00" for cell in yuan), [
        (c.value, type(c.value), c.number_format) for c in yuan
    ]
    donors = _rows(workbook["Donors"])
    assert donors["爱心人士101"][1:3] == (2, 1300)
    # The points owed today and their cover, as the page shows them, after the flow.
    assert workbook.sheetnames[:3] == ["Points flow", "Cover (today)", "Stock by source"]
    cover = liability_cover(village_x)
    assert cover["outstanding_points"] > 0 and cover["sources"]
    lines = _rows(workbook["Cover (today)"])
    assert lines["Points held by households"] == (
        cover["outstanding_points"],
        float(cover["outstanding_yuan"]),
    )
    assert lines["Goods on the shelves"] == (
        cover["stock_points_value"],
        float(cover["stock_cost_yuan"]),
    )
    # The exact ratio (a spreadsheet's sums start from it); two places as shown.
    assert lines["Cover: the shelves' points value ÷ the points held"][0] == (
        cover["stock_points_value"] / cover["outstanding_points"]
    )
    sheet = workbook["Cover (today)"]
    assert sheet.cell(row=sheet.max_row, column=2).number_format == '0.00"×"'
    assert "(figures as of " in sheet["A1"].value
    by_source = _rows(workbook["Stock by source"])
    assert {label: row for label, row in by_source.items() if label != "Total"} == {
        row["label"]: (row["quantity"], float(row["cost_yuan"]), row["points_value"])
        for row in cover["sources"]
    }
    assert by_source["Total"][1:] == (float(cover["stock_cost_yuan"]), cover["stock_points_value"])
    # The notice's sheets follow the report's own.
    assert "Goods redeemed" in workbook.sheetnames


def test_the_month_reports_cover_cell_holds_the_exact_ratio(
    client_manager_x, history_x, village_x, group_x, manager_x
):
    """Found by a review: the cell held the cover rounded to two places, so a sheet adding
    villages' covers or working from them was off. One more card's opening points make
    the ratio one that two places do not hold."""
    issue_card(HouseholdFactory(group=group_x), manager_x)
    cover = liability_cover(village_x)
    exact = Decimal(cover["stock_points_value"]) / cover["outstanding_points"]
    assert to_cents(exact) != exact
    today = _today()
    response = client_manager_x.get(
        reverse("reports:month_report_xlsx", args=[today.year, today.month])
    )
    sheet = load_workbook(io.BytesIO(response.content))["Cover (today)"]
    cell = sheet.cell(row=sheet.max_row, column=2)
    assert cell.value == float(exact) and cell.number_format == '0.00"×"'


def test_year_report_page_and_background_xlsx(client_supervisor_x, supervisor_x, history_x):
    year = _today().year
    response = client_supervisor_x.get(reverse("reports:year_report", args=[year]))
    assert response.status_code == 200
    assert '<svg class="chart-svg"' in response.content.decode()
    url = reverse("reports:year_report_xlsx", args=[year])
    assert client_supervisor_x.get(url).status_code == 405
    response = client_supervisor_x.post(url)
    job = ExportJob.objects.get()
    assert response.url == reverse("reports:export_status", args=[job.pk])
    assert job.requested_by == supervisor_x and job.status == "pending"
    status = client_supervisor_x.get(response.url).content.decode()
    assert 'http-equiv="refresh"' in status
    export_job_run(job.pk)  # the thread's work, run here inside the test transaction
    job.refresh_from_db()
    assert job.status == "done" and job.progress == 100
    status = client_supervisor_x.get(response.url).content.decode()
    assert 'http-equiv="refresh"' not in status
    download = client_supervisor_x.get(reverse("reports:export_download", args=[job.pk]))
    workbook = load_workbook(io.BytesIO(download.content))
    report = year_report_build(history_x["kept"].village, year)
    assert _rows(workbook["Points flow"])["Total"][0] == report.total.issued


@pytest.mark.parametrize(
    ("client_name", "status"),
    [("client_anon", 302), ("client_villager_a", 403), ("client_manager_y", 200)],
)
def test_report_access(request, client_name, status, history_x, card_y):
    client = request.getfixturevalue(client_name)
    response = client.get(reverse("reports:month_report_current"))
    assert response.status_code == status
    if status == 200:  # another village's manager sees their own village only
        assert "爱心人士101" not in response.content.decode()
        assert response.context["report"].total.redeemed == 0


def test_future_and_bad_months_are_404(client_supervisor_x):
    today = _today()
    assert (
        client_supervisor_x.get(
            reverse("reports:month_report", args=[today.year + 1, 1])
        ).status_code
        == 404
    )
    assert (
        client_supervisor_x.get(reverse("reports:month_report", args=[2024, 13])).status_code == 404
    )
    # Found by a probe: a 0 stood for this year's or this month's.
    for year, month in ((0, 2), (today.year, 0), (0, 0)):
        url = reverse("reports:month_report", args=[year, month])
        assert client_supervisor_x.get(url).status_code == 404, url
    assert (
        client_supervisor_x.get(reverse("reports:year_report", args=[today.year + 1])).status_code
        == 404
    )


def test_report_queries_do_not_grow_with_entries(
    client_supervisor_x,
    history_x,
    village_x,
    redeem,
    rice,
    card_a,
    manager_x,
    django_assert_max_num_queries,
):
    url = reverse("reports:month_report_current")
    with django_assert_max_num_queries(40) as first:
        client_supervisor_x.get(url)
    for _ in range(3):
        redeem(card_a.household, {rice: 1}, manager_x)
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client_supervisor_x.get(url)
    assert response.context["report"].total.redeemed == 50 + 3 * 20
    assert local_month(timezone.now()) == _today().replace(day=1)


def test_month_report_lines_add_up_and_a_reversal_is_its_own_line(
    client_supervisor_x, history_x, village_x
):
    """It read "issued 95 / of which opening 100": a reversal netted into issued."""
    report = client_supervisor_x.get(reverse("reports:month_report_current")).context["report"]
    total = report.total
    assert total.issued == total.awarded + total.opening == 35 + 200
    assert total.reversed_awards == 15  # the virtue award taken back, on its own line
    page = client_supervisor_x.get(reverse("reports:month_report_current")).content.decode()
    lines = dict(
        re.findall(r'<th scope="row"[^>]*>([^<]+)</th><td class="num[^"]*">(-?\d+)</td>', page)
    )
    assert int(lines["Issued (awards + opening points)"]) == int(lines["Awards"]) + int(
        lines["Opening points of new cards"]
    )
    assert int(lines["Awards reversed (points taken back)"]) == 15

    # Together the lines are what households held at the month's end less what they held at
    # its start, as the ledger's rows have it (the voided redemption nets to nothing), and as
    # the notice's ledger summary has it.
    start, end = month_span(_today().year, _today().month)
    in_month = Entry.objects.filter(account__village=village_x, created_at__gte=start)
    posted = sum(entry.points for entry in in_month.filter(created_at__lt=end))
    change = (
        total.issued
        - total.deducted
        - total.reversed_awards
        + total.reversed_deductions
        - total.redeemed
    )
    assert change == posted == 165
    ledger = next(section for section in report.sections if section.key == "ledger")
    assert ledger.totals[-1] - ledger.rows[0][-1] == change


def test_text_that_looks_like_a_formula_stays_text_in_the_xlsx(
    client_manager_x, history_x, village_x
):
    """A donor typed as "=HYPERLINK(...)" reaches the county's Excel as the text
    that was typed, never as a live formula (openpyxl stores "=..." strings as formulas)."""
    from store.models import Donor

    typed = '=HYPERLINK("http://example.com/steal","点此领奖")'
    Donor.objects.filter(village=village_x, name="爱心人士101").update(name=typed)
    # A control character pasted into a name (XML cannot hold it) must not break the file.
    other = Donor.objects.filter(village=village_x, donations__isnull=False).exclude(name=typed)
    Donor.objects.filter(pk=other.first().pk).update(name="爱心\x01企业")
    today = _today()
    response = client_manager_x.get(
        reverse("reports:month_report_xlsx", args=[today.year, today.month])
    )
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    cells = [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    typed_cells = [cell for cell in cells if cell.value == typed]
    assert typed_cells
    assert all(cell.data_type == "s" and cell.quotePrefix for cell in typed_cells)
    assert "爱心企业" in {cell.value for cell in cells}


def test_the_cover_counts_in_publicity_only_what_is_in_its_publicity_period(
    village_x, card_a, card_b, manager_x, supervisor_x, rice
):
    """Found by a probe: a held deduction (out of its period, waiting for the supervisor)
    was netted in: +100 in publicity and -30 held showed as 70 in publicity."""
    import datetime
    import uuid

    from points.publicity import proposals_credit_due
    from points.services import proposal_approve
    from store.services import redemption_create
    from tests.points.conftest import make_rule, propose

    village_x.publicity_days = 3
    village_x.save()
    (deduction,) = propose(manager_x, [card_b.household], make_rule(village_x, "D30", -30))
    proposal_approve(proposal_ids=[deduction.pk], actor=supervisor_x)
    redemption_create(  # 80 of its 100 points spent meanwhile: the deduction cannot be borne
        village=village_x,
        household=card_b.household,
        lines={rice.pk: 4},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    proposals_credit_due(now=timezone.now() + datetime.timedelta(days=4))
    assert Proposal.objects.get(pk=deduction.pk).status == Proposal.Status.HELD
    (award,) = propose(manager_x, [card_a.household], make_rule(village_x, "A100", 100))
    proposal_approve(proposal_ids=[award.pk], actor=supervisor_x)
    cover = liability_cover(village_x)
    assert (cover["in_publicity_awards"], cover["in_publicity_deductions"]) == (100, 0)


def test_awards_and_deductions_in_publicity_are_shown_apart(
    client_supervisor_x, client_manager_x, village_x, card_a, card_b, manager_x, supervisor_x
):
    """+50 awarded and -50 deducted in publicity netted to 0: the cover page, the month
    report and its workbook showed nothing in publicity. Each is shown on its own line."""
    from points.services import proposal_approve
    from tests.points.conftest import make_rule, propose

    village_x.publicity_days = 3
    village_x.save()
    (award,) = propose(manager_x, [card_a.household], make_rule(village_x, "A50", 50))
    (deduction,) = propose(manager_x, [card_b.household], make_rule(village_x, "D50", -50))
    proposal_approve(proposal_ids=[award.pk, deduction.pk], actor=supervisor_x)
    cover = liability_cover(village_x)
    assert (cover["in_publicity_awards"], cover["in_publicity_deductions"]) == (50, -50)
    today = _today()
    for page in (
        client_supervisor_x.get(reverse("reports:cover")),
        client_manager_x.get(reverse("reports:month_report", args=[today.year, today.month])),
    ):
        assert page.status_code == 200
        shown = dict(re.findall(r'data-publicity="(\w+)">[^<]*: ([+-]\d+)<', page.text))
        assert shown == {"awards": "+50", "deductions": "-50"}
    response = client_manager_x.get(
        reverse("reports:month_report_xlsx", args=[today.year, today.month])
    )
    lines = _rows(load_workbook(io.BytesIO(response.content))["Cover (today)"])
    assert lines["Awards in publicity, not yet credited"][0] == 50
    assert lines["Deductions in publicity, not yet taken off"][0] == -50


def test_a_past_month_says_its_points_owed_and_cover_are_todays(
    client_supervisor_x, history_x, village_x, monkeypatch
):
    """Found by a probe: last month's report showed the points held, the deductions in
    publicity and the shelves' cover of today as if they were that month's. A month gone by
    now says plainly that they are today's figures; the month's body cached while it was the
    current month (no note) is not served once the month is over."""
    today = _today()
    this_month = reverse("reports:month_report", args=[today.year, today.month])
    current = client_supervisor_x.get(this_month).content.decode()
    assert "data-today-figures" not in current
    last = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    past = client_supervisor_x.get(reverse("reports:month_report", args=[last.year, last.month]))
    note = re.search(r"<p [^>]*data-today-figures>([^<]*)</p>", past.content.decode())
    assert note and f"not those at the end of {last:%B %Y}" in note.group(1)
    in_chinese = client_supervisor_x.get(
        reverse("reports:month_report", args=[last.year, last.month]),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()
    assert f"不是{last.year}年{last.month}月底的" in in_chinese  # not "2026-11 月底"
    # A month later, with nothing changed in the books, this month is a past one too.
    next_first = (today.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: next_first)
    later = client_supervisor_x.get(this_month).content.decode()
    assert "data-today-figures" in later
