"""The county overview: every village in one table, figures from aggregates, read-only links."""

import datetime
import hashlib
import io
import itertools
import re
import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db.models import Max, Sum
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.access import Role
from core.fragments import CSRF_SLOT
from core.months import add_months, local_start
from core.numbers import ratio, to_cents
from points.ledger import entry_post
from points.models import Account, Entry, Rule
from points.services import entry_reverse, proposal_approve
from reports.api_tokens import api_token_create
from reports.county import COLUMNS, EXACT_RATIOS
from reports.exports import export_job_run, export_job_start
from reports.models import ExportJob
from reports.selectors import COUNTY_SORTS, Period, points_flow
from reports.selectors_transparency import liability_cover
from store.models import StockMovement
from store.services import redemption_create, zones_ensure
from tests.conftest import issue_card, make_staff
from tests.factories import (
    CountyFactory,
    HouseholdFactory,
    PassedInspectionFactory,
    TownshipFactory,
    VillageFactory,
    VillageGroupFactory,
)
from tests.points.conftest import make_rule, propose
from tests.reports.conftest import (
    build_history,
    carry_over_approved,
    dated_entry,
    expected_flows,
    expected_redeemed_month,
    expected_stock_points,
    give_points,
    months_ago,
    table_rows,
)
from tests.store.conftest import make_item
from villagers.models import Card, Household
from villagers.oversight import Oversight
from wishwall.models import Wish

URL = reverse("reports:county_overview")


def _village_with_history(village=None, households=2):
    village = village or VillageFactory()
    manager = make_staff(Role.MANAGER, village=village, username=f"m{village.code}")
    supervisor = make_staff(Role.SUPERVISOR, village=village, username=f"s{village.code}")
    group = VillageGroupFactory(village=village)
    members = [HouseholdFactory(group=group) for _ in range(households)]
    for household in members:
        issue_card(household, manager)
        household.refresh_from_db()
    zones_ensure(village=village)
    items = [
        make_item(village, "grain_oil", f"米{village.code}", 20, 30, manager),
        make_item(village, "grain_oil", f"油{village.code}", 30, 20, manager),
        make_item(
            village, "appliances", f"壶{village.code}", 40, 2, manager, low_stock_threshold=3
        ),
    ]
    build_history(village, households=members, manager=manager, supervisor=supervisor, items=items)
    return village


def _expected_row(village) -> dict:
    month = timezone.localdate().replace(day=1)
    return {
        "household_count": Household.objects.filter(village=village, status="active").count(),
        "card_count": Card.objects.filter(household__village=village, status="active").count(),
        "issued": expected_flows(village)[month]["issued"],
        "redeemed": expected_redeemed_month(village, month),
        "stock_points": expected_stock_points(village),
        "wishes_open": Wish.objects.filter(village=village, status__in=["open", "matched"]).count(),
        # The latest time, whatever the order rows were written in (history is backdated).
        "last_activity": max(
            moment
            for moment in (
                Entry.objects.filter(account__village=village).aggregate(m=Max("created_at"))["m"],
                StockMovement.objects.filter(village=village).aggregate(m=Max("created_at"))["m"],
                Wish.objects.filter(village=village).aggregate(m=Max("created_at"))["m"],
            )
            if moment
        ),
    }


def test_county_figures_match_each_village(client_county, village_x, village_y, history_x, card_y):
    response = client_county.get(URL)
    assert response.status_code == 200
    rows = {village.pk: village for village in response.context["villages"]}
    assert set(rows) == {village_x.pk, village_y.pk}
    for village in (village_x, village_y):
        expected = _expected_row(village)
        for key, value in expected.items():
            assert getattr(rows[village.pk], key) == value, (village, key)
    assert rows[village_x.pk].pending == 1 and rows[village_y.pk].pending == 0
    assert rows[village_x.pk].issued == 235 and rows[village_x.pk].redeemed == 50
    total = response.context["total"]
    assert total.villages == 2
    assert (
        total.household_count
        == rows[village_x.pk].household_count + rows[village_y.pk].household_count
    )
    assert total.stock_points == expected_stock_points(village_x) + expected_stock_points(village_y)
    assert total.last_activity == max(v.last_activity for v in rows.values())
    page = response.content.decode()
    assert "County total" in page


def test_sorting_is_server_side(client_county, village_x, village_y, history_x, card_y):
    names = lambda response: [v.name for v in response.context["villages"]]  # noqa: E731
    assert names(client_county.get(URL)) == sorted([village_x.name, village_y.name])
    assert names(client_county.get(URL, {"sort": "-issued"}))[0] == village_x.name
    assert names(client_county.get(URL, {"sort": "issued"}))[0] == village_y.name
    assert names(client_county.get(URL, {"sort": "-pending"}))[0] == village_x.name
    # Unknown keys fall back to the name, never an error.
    assert client_county.get(URL, {"sort": "password"}).status_code == 200
    page = client_county.get(URL, {"sort": "-stock"}).content.decode()
    assert 'aria-sort="descending"' in page


def test_rows_open_the_village_read_only(client_county, village_x, village_y, history_x):
    page = client_county.get(URL).content.decode()
    assert f'name="village" value="{village_x.pk}"' in page
    response = client_county.post(
        reverse("villagers:village_pick"),
        {"village": village_y.pk, "next": reverse("reports:dashboard")},
    )
    assert response.url == reverse("reports:dashboard")
    assert client_county.get(response.url).context["village"] == village_y
    # An outside address is not followed.
    response = client_county.post(
        reverse("villagers:village_pick"),
        {"village": village_x.pk, "next": "https://evil.example/"},
    )
    assert response.url == reverse("home")
    dashboard = client_county.get(reverse("reports:dashboard"))
    assert dashboard.context["village"] == village_x
    # Read-only: the county admin cannot act in the village.
    assert client_county.get(reverse("points:approval_queue")).status_code == 403


def test_another_county_is_not_shown(client_county, village_x, village_y):
    other = VillageFactory(
        township=TownshipFactory(county=CountyFactory(name="黄龙县"), name="某乡")
    )
    response = client_county.get(URL)
    assert other.pk not in {v.pk for v in response.context["villages"]}
    # Nor can it be picked.
    assert (
        client_county.post(reverse("villagers:village_pick"), {"village": other.pk}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("client_name", "status"),
    [
        ("client_anon", 302),
        ("client_villager_a", 403),
        ("client_manager_x", 403),
        ("client_supervisor_x", 403),
        ("client_county", 200),
    ],
)
def test_only_county_admins(request, client_name, status, card_a):
    client = request.getfixturevalue(client_name)
    assert client.get(URL).status_code == status
    assert client.post(reverse("reports:county_export")).status_code in (status, 302)
    if status == 403:
        assert not ExportJob.objects.exists()


def test_county_queries_do_not_grow_with_villages(
    client_county, village_x, history_x, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20) as one:
        response = client_county.get(URL)
    assert len(response.context["villages"]) == 2
    baseline = len(one.captured_queries)
    for _ in range(4):
        _village_with_history()
    with django_assert_max_num_queries(baseline):
        response = client_county.get(URL, {"sort": "-activity"})
    assert len(response.context["villages"]) == 6
    assert all(
        v.issued == 235
        for v in response.context["villages"]
        if v.pk != history_x["kept"].village_id and v.card_count
    )


def test_county_export_runs_in_the_background(
    client_county, county_admin, village_x, history_x, client_manager_x
):
    response = client_county.post(reverse("reports:county_export"), {"sort": "-issued"})
    job = ExportJob.objects.get()
    assert job.kind == "county" and job.county == county_admin.county
    assert response.url == reverse("reports:export_status", args=[job.pk])
    export_job_run(job.pk)
    export_job_run(job.pk)  # a second run finds the job claimed and does nothing
    job.refresh_from_db()
    assert job.status == "done"
    download = client_county.get(reverse("reports:export_download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(download.content)).active
    headings = [cell.value for cell in sheet[2]]
    rows = table_rows(sheet)
    by_name = {row[1]: dict(zip(headings, row, strict=True)) for row in rows[:-1]}
    response = client_county.get(URL)
    page = response.context["villages"]
    for village in page:
        row = by_name[village.name]
        # Every column of the page (the last activity as a local time, to the second).
        for _key, label, attribute in COLUMNS[1:-1]:
            value = getattr(village, attribute)  # ratios are Decimals, numbers in the sheet
            if attribute in EXACT_RATIOS:  # the page's two places, the sheet's exact ratio
                part, whole = EXACT_RATIOS[attribute]
                value = ratio(getattr(village, part), getattr(village, whole))
                assert value is None or to_cents(Decimal(str(row[str(label)]))) == getattr(
                    village, attribute
                )
            assert row[str(label)] == (float(value) if isinstance(value, Decimal) else value)
        moment = village.last_activity
        local = timezone.localtime(moment).replace(tzinfo=None, microsecond=0) if moment else None
        assert row["Last activity"] == local
        # Then the trend, a column a month.
        months = [f"Issued {first:%Y-%m}" for first in village.trend_months]
        assert headings[-12:] == months
        assert [row[month] for month in months] == village.trend
    for heading, number_format in (("Hygiene passed", "0%"), ("Stock cover", '0.00"×"')):
        column = headings.index(heading) + 1
        assert {
            sheet.cell(row=r, column=column).number_format for r in range(3, len(rows) + 3)
        } == {number_format}
    assert rows[-1][0] == "County total"
    assert rows[-1][2] == sum(v.household_count for v in page)
    # Nobody else may see or download it.
    assert client_manager_x.get(reverse("reports:export_status", args=[job.pk])).status_code == 404
    assert (
        client_manager_x.get(reverse("reports:export_download", args=[job.pk])).status_code == 404
    )


def test_figures_are_reused_for_a_minute_and_the_page_says_when(
    client_county, county_admin, village_x, history_x, card_a, manager_x
):
    def issued_x(response):
        return next(v.issued for v in response.context["villages"] if v.pk == village_x.pk)

    first = client_county.get(URL)
    assert "Figures as of" in first.content.decode()
    give_points(card_a.household, 7, manager_x)
    # Within the minute the same sums are shown, with the time they were added up.
    again = client_county.get(URL, {"sort": "-issued"})
    assert issued_x(again) == issued_x(first)
    assert again.context["as_of"] == first.context["as_of"]
    # The kept table's forms carry this request's CSRF token, not the placeholder.
    assert CSRF_SLOT not in again.content.decode()
    assert again.content.decode().count('name="csrfmiddlewaretoken"') >= 2
    # Once they expire (here: the cache is emptied) they are added up afresh.
    cache.clear()
    fresh = client_county.get(URL)
    assert issued_x(fresh) == issued_x(first) + 7
    assert fresh.context["as_of"] > first.context["as_of"]
    # A village added to the county is shown at once, with figures added up for it.
    newcomer = _village_with_history()
    newcomer.township = village_x.township
    newcomer.save()
    shown = client_county.get(URL)
    assert newcomer.pk in {v.pk for v in shown.context["villages"]}
    # The .xlsx is what the page shows: the same figures, their time in its heading; once
    # they have expired it adds up afresh.
    give_points(card_a.household, 3, manager_x)

    def exported():
        sheet = county_sheet(county_admin, timezone.localdate())
        rows = sheet.iter_rows(min_row=3, values_only=True)
        return sheet["A1"].value, next(r for r in rows if r[1] == village_x.name)

    heading, row_x = exported()
    assert row_x[4] == issued_x(shown) == issued_x(fresh)
    assert f"figures as of {timezone.localtime(shown.context['as_of']):%Y-%m-%d %H:%M}" in heading
    cache.clear()
    _heading, row_x = exported()
    assert row_x[4] == issued_x(fresh) + 3


def county_sheet(county_admin, month: datetime.date):
    """The county .xlsx of `month`, built as the worker builds it: its sheet."""
    job = export_job_start(
        kind=ExportJob.Kind.COUNTY_OVERVIEW,
        user=county_admin,
        county=county_admin.county,
        params={"month": f"{month:%Y-%m}", "sort": "name"},
    )
    export_job_run(job.pk)
    job.refresh_from_db()
    return load_workbook(io.BytesIO(bytes(job.content))).active


def test_last_activity_is_the_latest_time_not_the_latest_row(
    client_county, village_x, village_y, card_a, manager_x
):
    account = Account.objects.get(household=card_a.household)
    latest = account.entries.latest("created_at").created_at
    # Posted last, but dated two years back (as the loaders do): not the latest activity.
    entry_post(
        account_id=account.pk,
        kind=Entry.Kind.AWARD,
        points=1,
        actor=manager_x,
        at=timezone.now() - datetime.timedelta(days=700),
    )
    rows = {village.pk: village for village in client_county.get(URL).context["villages"]}
    assert rows[village_x.pk].last_activity == latest


# --- points held, stock cover, deductions, hygiene passed and the trend --------------------


def _latest_inspection_passed(household, before: datetime.date):
    """Whether the household's latest inspection before `before` passed (None: never)."""
    inspections = [i for i in household.inspections.all() if i.date < before]
    if not inspections:
        return None
    return max(inspections, key=lambda i: (i.date, i.pk)).passed


def _expected_new_figures(village, month: datetime.date) -> dict:
    """The new columns worked out row by row in Python, from the ledger and the registry."""
    following = add_months(month, 1)
    flows = expected_flows(village)
    months = [add_months(month, -back) for back in range(11, -1, -1)]
    # The balances as the transparency page adds them (the history here backdates entries
    # without moving the cached balance, so the ledger's own sum would differ).
    cover = liability_cover(village)
    held = sum(account.balance for account in Account.objects.filter(village=village))
    assert held == cover["outstanding_points"]
    latest = [
        _latest_inspection_passed(household, following)
        for household in Household.objects.filter(village=village, status="active")
    ]
    inspected = [passed for passed in latest if passed is not None]
    trend = [flows[first]["issued"] for first in months]
    return {
        "points_held": held,
        "stock_cover": cover["points_cover"],
        "deducted": flows[month]["deducted"],
        "inspected": len(inspected),
        "inspections_passed": sum(inspected),
        "pass_rate": (to_cents(Decimal(sum(inspected)) / len(inspected)) if inspected else None),
        "trend_months": months,
        "trend": trend,
        "trend_total": sum(trend),
    }


@pytest.fixture
def two_villages(
    village_x, village_y, history_x, card_y, manager_x, manager_y, group_x, supervisor_x
):
    """Village X with the report history and a hygiene round of every kind; village Y with
    one card, a deduction, a little stock and no inspection but the card's own."""
    today = timezone.localdate()
    a = Household.objects.get(village=village_x, number="X001")
    b = Household.objects.get(village=village_x, number="X002")
    # A: failed two months back, passed since (the card's inspection, today): passed.
    PassedInspectionFactory(
        household=a, date=today - datetime.timedelta(days=62), kitchen_clean=False
    )
    # B: passed (its card's), then failed later today: the latest round failed.
    PassedInspectionFactory(household=b, date=today, toilet_clean=False)
    # A household that moved away is not counted, whatever its inspections.
    moved = HouseholdFactory(group=group_x, status=Household.Status.MOVED)
    PassedInspectionFactory(household=moved)
    HouseholdFactory(group=group_x)  # never inspected: not in the rate
    # Y: a deduction this month, and goods worth 50 points on the shelf.
    entry_post(
        account_id=card_y.household.account.pk,
        kind=Entry.Kind.DEDUCTION,
        points=-3,
        actor=manager_y,
    )
    zones_ensure(village=village_y)
    make_item(village_y, "daily", "肥皂", 5, 10, manager_y)
    return village_x, village_y


def test_the_new_figures_match_a_direct_count(client_county, two_villages):
    this_month = timezone.localdate().replace(day=1)
    pages = {}
    for month in (add_months(this_month, -1), this_month):
        response = client_county.get(URL, {"month": f"{month:%Y-%m}"})
        pages[month] = response.content.decode()
        rows = {village.pk: village for village in response.context["villages"]}
        for village in two_villages:
            expected = _expected_new_figures(village, month)
            for name, value in expected.items():
                assert getattr(rows[village.pk], name) == value, (village, month, name)
        total = response.context["total"]
        both = list(rows.values())
        assert total.points_held == sum(v.points_held for v in both)
        assert total.deducted == sum(v.deducted for v in both)
        assert total.stock_cover == (Decimal(total.stock_points) / total.points_held).quantize(
            Decimal("0.01")
        )
        inspected = sum(v.inspected for v in both)
        assert total.inspected == inspected
        assert total.pass_rate == (
            (Decimal(sum(v.inspections_passed for v in both)) / inspected).quantize(Decimal("0.01"))
            if inspected
            else None
        )
        assert total.trend == [sum(values) for values in zip(*(v.trend for v in both), strict=True)]
    # The hand-worked story this month: X holds what its ledger says, deducted its litter
    # fine (5), passed one household of two (B failed since); Y deducted 3 and covers 50/97.
    x, y = rows[two_villages[0].pk], rows[two_villages[1].pk]
    assert (x.deducted, x.inspected, x.inspections_passed, x.pass_rate) == (5, 2, 1, Decimal("0.5"))
    assert (y.points_held, y.deducted, y.stock_cover) == (97, 3, Decimal("0.52"))
    assert (y.inspected, y.inspections_passed) == (1, 1)
    # Twelve months, this one last: the opening grants and this month's awards are 235 (the
    # reversal of 15 is not netted into them); the award five months back shows, the one 14
    # months back does not.
    assert x.trend[-1] == x.issued == 235 and x.trend[-6] == 20 and x.trend_total == 255
    page = pages[this_month]
    assert "0.52×" in page and "50%" in page and "1/2" in page
    assert page.count('<svg class="sparkline"') == 3  # two villages and the total


def test_a_past_month_counts_the_inspections_up_to_its_end(client_county, two_villages):
    """Last month's rate: only A's failed round two months back was done by then."""
    last_month = add_months(timezone.localdate().replace(day=1), -1)
    rows = {
        v.pk: v
        for v in client_county.get(URL, {"month": f"{last_month:%Y-%m}"}).context["villages"]
    }
    x, y = rows[two_villages[0].pk], rows[two_villages[1].pk]
    assert (x.inspected, x.inspections_passed, x.pass_rate) == (1, 0, Decimal("0"))
    assert (y.inspected, y.pass_rate) == (0, None)
    page = client_county.get(URL, {"month": f"{last_month:%Y-%m}"}).content.decode()
    assert "0%" in page


def test_the_pass_rate_is_one_figure_on_the_page_and_in_the_xlsx(
    client_county, county_admin, village_x, group_x
):
    """23 of 40 households passed (57.5%): the page worked the rate out again in floats and
    said 57%, the .xlsx held 0.58 and Excel showed 58%."""
    for number in range(40):
        PassedInspectionFactory(household=HouseholdFactory(group=group_x), yard_clean=number < 23)
    page = client_county.get(URL).content.decode()
    shown = re.findall(r"(\d+)%<br><span[^>]*>23/40<", page)
    assert shown == ["58", "58"]  # village X's row and the total
    sheet = county_sheet(county_admin, timezone.localdate().replace(day=1))
    column = 1 + [key for key, _label, _attribute in COLUMNS].index("inspections")
    *villages, total = table_rows(sheet)
    (row_x,) = [row for row in villages if row[1] == village_x.name]
    for row in (row_x, total):
        assert row[column] == 0.575  # exact: a spreadsheet's average of it is the true one
        # As the cell's "0%" format shows it: Excel and LibreOffice round the number as
        # written to 15 digits, half up (0.575 is 57.4999...% as a binary fraction).
        assert f"{to_cents(Decimal(str(row[column]))) * 100:.0f}%" == "58%"
    assert sheet.cell(row=3, column=column + 1).number_format == "0%"


def test_the_xlsx_holds_the_exact_ratios_the_page_shows_to_two_places(
    client_county, county_admin, two_villages
):
    """Found by a review: the .xlsx held the cover and the pass rate rounded (0.52 for
    50/97), so a spreadsheet's sum or average of them was off. The cell holds the ratio,
    its number format shows it as the page does."""
    response = client_county.get(URL)
    total = response.context["total"]
    y = next(v for v in response.context["villages"] if v.pk == two_villages[1].pk)
    sheet = county_sheet(county_admin, timezone.localdate().replace(day=1))
    headings = [cell.value for cell in sheet[2]]
    cover, passed = headings.index("Stock cover"), headings.index("Hygiene passed")
    *villages, total_row = table_rows(sheet)
    (row_y,) = [row for row in villages if row[1] == y.name]
    assert (y.stock_points, y.points_held, y.stock_cover) == (50, 97, Decimal("0.52"))
    assert row_y[cover] == 50 / 97 != 0.52
    assert total_row[cover] == total.stock_points / total.points_held
    assert total_row[passed] == total.inspections_passed / total.inspected
    (y_cell,) = [cells[cover] for cells in sheet.iter_rows(min_row=3) if cells[1].value == y.name]
    assert y_cell.number_format == '0.00"×"' and y_cell.font.bold  # below 1×: red, as shown


def _pass_rates_shown(page: str) -> dict[str, tuple | None]:
    """{village name, or "total": (the rate shown, passed, inspected)} as the page's table
    shows them ("58%" over "23/40"); None where it shows "—" (nobody inspected)."""
    shown = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S):
        name = re.search(r'class="link-button">([^<]+)<', row)
        if name is None and "total-row" not in row and "County total" not in row:
            continue
        figure = re.search(r"(\d+)%<br><span[^>]*>(\d+)/(\d+)<", row)
        key = name.group(1) if name else "total"
        shown[key] = (f"{figure[1]}%", int(figure[2]), int(figure[3])) if figure else None
    return shown


def test_the_xlsx_holds_what_each_rate_is_over_as_the_page_shows_it(
    client_county, county_admin, two_villages
):
    """The probe of the county's month: the workbook held each village's pass rate but not
    the households inspected and passed it is over, and its notes did not say what each
    rate is over. It holds both counts as numbers, of the same month as the page, and its
    notes say what each rate divides (the total row its own sums)."""
    this_month = timezone.localdate().replace(day=1)
    for month in (add_months(this_month, -1), this_month):
        shown = _pass_rates_shown(
            client_county.get(URL, {"month": f"{month:%Y-%m}"}).content.decode()
        )
        assert set(shown) == {*(village.name for village in two_villages), "total"}
        sheet = county_sheet(county_admin, month)
        headings = [cell.value for cell in sheet[2]]
        at = headings.index("Hygiene passed")
        assert headings[at : at + 3] == [
            "Hygiene passed",
            "Households inspected",
            "Households passed",
        ]
        rows = table_rows(sheet)
        for row in rows:
            key = "total" if row[0] == "County total" else row[1]
            rate, inspected, passed = row[at : at + 3]
            assert isinstance(inspected, int) and isinstance(passed, int)
            if shown[key] is None:
                assert (rate, inspected, passed) == (None, 0, 0), (month, key)
            else:
                assert (f"{rate * 100:.0f}%", passed, inspected) == shown[key], (month, key)
    # This month's story (two_villages): X passed one of two, Y its one.
    x, y = (shown[village.name] for village in two_villages)
    assert (x, y, shown["total"]) == (("50%", 1, 2), ("100%", 1, 1), ("67%", 2, 3))
    notes = [row[0] for row in sheet.iter_rows(min_row=len(rows) + 4, values_only=True) if row[0]]
    (rate_note,) = [note for note in notes if note.startswith("Hygiene passed")]
    assert rate_note.startswith("Hygiene passed, Households inspected, Households passed: ")
    assert "households passed divided by households inspected" in rate_note
    assert "not an average of the villages' rates" in rate_note
    assert "below it" not in rate_note  # the page's words: the file has columns instead
    (cover_note,) = [note for note in notes if note.startswith("Stock cover")]
    assert "Stock value divided by points held" in cover_note
    assert "not an average of the villages' covers" in cover_note
    page = client_county.get(URL).content.decode()
    assert "both shown below it (passed/inspected)" in page


def test_every_column_sorts_both_ways(client_county, two_villages):
    """Sorted by the column's figure, biggest first or last; a village without the figure
    (no points held: no cover; nobody inspected: no rate) comes last either way. Every
    column in one test on one cast (built for each column, it took a tenth of this file's
    time); each column's failure is named."""
    wrong = []
    for key in [key for key, _label, _attribute in COLUMNS if key != "name"]:
        attribute = COUNTY_SORTS[key]
        orders = []
        for sort, descending in ((key, False), (f"-{key}", True)):
            response = client_county.get(URL, {"sort": sort})
            values = [getattr(v, attribute) for v in response.context["villages"]]
            known = [value for value in values if value is not None]
            if known != sorted(known, reverse=descending):
                wrong.append(f"{sort}: {known}")
            if values[len(known) :] != [None] * (len(values) - len(known)):
                wrong.append(f"{sort}: a village without the figure is not last: {values}")
            orders.append([v.pk for v in response.context["villages"]])
            direction = "descending" if descending else "ascending"
            if f'aria-sort="{direction}"' not in response.content.decode():
                wrong.append(f"{sort}: no aria-sort={direction}")
        values = {getattr(v, attribute) for v in response.context["villages"]}
        if len(values) > 1 and None not in values and orders[0] == orders[1]:
            wrong.append(f"{key}: the figures differ, yet the order does not turn round")
    assert not wrong, "\n".join(wrong)


def test_closed_months_are_kept_until_an_entry_is_posted_into_them(
    client_county, county_admin, two_villages, card_a, manager_x
):
    """A closed month's sums are kept in the cache and read back, until an entry is posted
    into that month (only the loaders backdate): then that month alone is added up again,
    on the page and in the .xlsx, which are exact. This month is always added up."""
    village_x = two_villages[0]
    this_month = timezone.localdate().replace(day=1)
    figures_key = f"county-figures:{county_admin.county_id}:{local_start(this_month).isoformat()}"

    def row_x():
        cache.delete(figures_key)  # the page's minute-old figures
        villages = client_county.get(URL, {"sort": "-held"}).context["villages"]
        return next(v for v in villages if v.pk == village_x.pk)

    before = row_x()
    # Mark two kept months, to see which are read back from the cache.
    overseen = Oversight(county_id=county_admin.county_id).villages()
    ids = ",".join(str(pk) for pk in sorted(overseen.values_list("pk", flat=True)))
    digest = hashlib.sha256(ids.encode()).hexdigest()[:16]
    touched, untouched = add_months(this_month, -2), add_months(this_month, -4)
    for month in (touched, untouched):
        key = f"county-month-flows:{month:%Y-%m}:{digest}"
        kept = cache.get(key)
        issued, deducted = kept["sums"].get(village_x.pk, (0, 0))
        kept["sums"][village_x.pk] = (issued + 1000, deducted)
        cache.set(key, kept)
    marked = row_x()
    assert marked.trend[-3] == before.trend[-3] + 1000
    assert marked.trend[-5] == before.trend[-5] + 1000
    # Backdated into the month before last (last month is closed from its 2nd day), and an
    # award posted now.
    account = Account.objects.get(household=card_a.household)
    moment = timezone.make_aware(
        datetime.datetime.combine(touched.replace(day=15), datetime.time(10))
    )
    entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=9, actor=None, at=moment)
    give_points(card_a.household, 4, manager_x)
    after = row_x()
    assert after.trend[-1] == before.trend[-1] + 4 and after.issued == before.issued + 4
    assert after.trend[-3] == before.trend[-3] + 9  # added up again
    assert after.trend[-5] == before.trend[-5] + 1000  # still read from the cache
    cache.delete_many([f"county-month-flows:{untouched:%Y-%m}:{digest}", figures_key])
    sheet = county_sheet(county_admin, this_month)
    headings = [cell.value for cell in sheet[2]]
    row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[1] == village_x.name)
    assert row[headings.index(f"Issued {touched:%Y-%m}")] == before.trend[-3] + 9
    assert row[headings.index(f"Issued {untouched:%Y-%m}")] == before.trend[-5]
    assert row[headings.index(f"Issued {this_month:%Y-%m}")] == before.trend[-1] + 4


def _ledger_before(village, month: datetime.date) -> int:
    """The village's points held when `month` began, straight from the ledger."""
    entries = Entry.objects.filter(account__village=village, created_at__lt=local_start(month))
    return entries.aggregate(points=Sum("points"))["points"] or 0


@pytest.fixture
def carried_over(
    village_x,
    village_y,
    card_a,
    card_b,
    card_y,
    manager_x,
    manager_y,
    supervisor_x,
    client_manager_x,
    client_supervisor_x,
):
    """Village X: an award three months back and a deduction two months back (balances kept
    in step), then this month an award reversed, a redemption and its paper ledger carried
    over (230); village Y: a deduction this month. Returns the villages."""
    a, b = card_a.household.account, card_b.household.account
    dated_entry(a, Entry.Kind.AWARD, 20, months_ago(3))
    dated_entry(b, Entry.Kind.DEDUCTION, -5, months_ago(2))
    rule = make_rule(village_x, "L01", 10, Rule.Category.VOLUNTARY_LABOUR)
    (proposal,) = propose(manager_x, [card_a.household], rule)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    proposal.refresh_from_db()
    entry_reverse(entry=proposal.entry, actor=supervisor_x, reason="wrong household")
    zones_ensure(village=village_x)
    rice = make_item(village_x, "grain_oil", "米", 20, 30, manager_x)
    redemption_create(
        village=village_x,
        household=card_b.household,
        lines={rice.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    entry_post(
        account_id=card_y.household.account.pk,
        kind=Entry.Kind.DEDUCTION,
        points=-3,
        actor=manager_y,
    )
    held = Account.objects.filter(village=village_x).aggregate(s=Sum("balance"))["s"]
    carry_over_approved(client_manager_x, client_supervisor_x)
    carried = Entry.objects.filter(account__village=village_x, kind=Entry.Kind.CARRIED)
    assert carried.aggregate(s=Sum("points"))["s"] == 230
    assert Account.objects.filter(village=village_x).aggregate(s=Sum("balance"))["s"] == held + 230
    return village_x, village_y


def test_carried_over_points_are_shown_and_the_points_held_add_up(
    client_county, county_admin, carried_over
):
    """After a village imported its paper ledger, its points held rose by the carried-over
    230 while no column (issued, deducted, redeemed) said so: the month did not add up. The
    carried-over points are a column (and the reversed and lapsed ones, which moved the
    balances unseen alike), beside the points held at the month's start: on the page, in
    the .xlsx and from the API, start + issued - deducted - redeemed + carried + reversed
    and lapsed is the month's end, the next month's start, and this month's points held."""
    village_x, village_y = two_villages = carried_over
    held_now = Account.objects.filter(village=village_x).aggregate(s=Sum("balance"))["s"]
    this_month = timezone.localdate().replace(day=1)
    months = [add_months(this_month, -back) for back in (4, 3, 2, 1, 0)]
    rows = {}
    for month in months:
        response = client_county.get(URL, {"month": f"{month:%Y-%m}"})
        rows[month] = {v.pk: v for v in response.context["villages"]}
        rows[month]["total"] = response.context["total"]
        for village in two_villages:
            row = rows[month][village.pk]
            # From the ledger, as the village's own reports count the month.
            (flow,) = points_flow(village, Period.month(month.year, month.month))
            assert row.points_held_at_start == _ledger_before(village, month), (village, month)
            assert (row.carried, row.reversed_and_lapsed, row.redeemed) == (
                flow.carried,
                flow.reversed_and_lapsed,
                flow.redeemed,
            ), (village, month)
    x = rows[this_month][village_x.pk]
    assert (x.carried, x.reversed_and_lapsed, x.redeemed) == (230, -10, 20)
    assert rows[this_month][village_y.pk].carried == 0

    def month_end(row):
        return (
            row.points_held_at_start
            + row.issued
            - row.deducted
            - row.redeemed
            + row.carried
            + row.reversed_and_lapsed
        )

    for key in (village_x.pk, village_y.pk, "total"):
        for month, following in itertools.pairwise(months):
            assert month_end(rows[month][key]) == rows[following][key].points_held_at_start
        assert month_end(rows[this_month][key]) == rows[this_month][key].points_held
    assert month_end(x) == held_now

    page = client_county.get(URL).content.decode()
    assert "Carried over in the month" in page and "Points held at the month&#x27;s start" in page
    assert "points held at the month&#x27;s start + issued - deducted - redeemed + carried " in (
        page
    )

    # The .xlsx: the same figures, as numbers, and the notes that say what they are.
    sheet = county_sheet(county_admin, this_month)
    headings = [cell.value for cell in sheet[2]]
    rows_xlsx = table_rows(sheet)
    by_name = {row[1]: dict(zip(headings, row, strict=True)) for row in rows_xlsx[:-1]}
    total_xlsx = dict(zip(headings, rows_xlsx[-1], strict=True))
    for label, attribute in (
        ("Carried over in the month", "carried"),
        ("Reversed and lapsed in the month", "reversed_and_lapsed"),
        ("Points held at the month's start", "points_held_at_start"),
        ("Points held", "points_held"),
    ):
        assert by_name[village_x.name][label] == getattr(x, attribute), label
        assert total_xlsx[label] == getattr(rows[this_month]["total"], attribute), label
    assert by_name[village_x.name]["Carried over in the month"] == 230
    notes = [row[0] for row in sheet.iter_rows(min_row=len(rows_xlsx) + 4, values_only=True)]
    (flows_note,) = [note for note in notes if note and note.startswith("Issued in the month")]
    assert "Carried over in the month" in flows_note
    assert "the balances brought from the paper ledger" in flows_note
    (start_note,) = [note for note in notes if note and note.startswith("Points held at the")]
    assert "= points held at the month's end" in start_note

    # The API: the same figures, beside those it had.
    key = api_token_create(name="县平台", actor=county_admin, county=county_admin.county)[1]
    answer = (
        Client()
        .get(
            "/api/v1/overview", {"month": f"{this_month:%Y-%m}"}, HTTP_AUTHORIZATION=f"Bearer {key}"
        )
        .json()
    )
    (api_x,) = [row for row in answer["villages"] if row["code"] == village_x.code]
    for name in ("carried", "reversed_and_lapsed", "points_held_at_start", "points_held"):
        assert api_x[name] == getattr(x, name), name
        assert answer["total"][name] == getattr(rows[this_month]["total"], name), name
    assert api_x["carried"] == 230
