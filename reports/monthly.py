"""The village's monthly and year reports: on screen (printable on A4) and as .xlsx.

A monthly report is the public notice of the month plus totals by rule category, by zone
and by fund source, and the donations with their donors. A year report has the same totals
over the year and the points flow month by month; its .xlsx is built in the background.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from core.access import may_object, staff_required
from core.fragments import cached_part
from core.months import YEAR, asked_within, month_after, month_before, month_in_path
from core.numbers import ratio, to_cents
from points.models import Rule
from reports import xlsx
from reports.dashboard import STAFF, flow_chart
from reports.exports import export_job_start
from reports.models import ExportJob
from reports.notice import (
    document_sections,
    notice_sections,
    published_notice,
    sections_for_page,
    workbook_sections,
)
from reports.selectors import (
    Flow,
    Period,
    donations_by_donor,
    flow_total,
    points_flow,
    purchases_by_fund_source,
    redemptions_by_zone,
    report_state,
    totals_by_category,
)
from reports.selectors_transparency import liability_cover
from store.models import Donor

Progress = Callable[[int, str], None]
# How long a rendered report or workbook is kept: its key changes with what it shows (the
# digest of reports.selectors.report_state), so this only lets the cache forget old ones.
PART_SECONDS = 24 * 60 * 60
# Part of the workbooks' cache keys: raised when their sheets change, so a workbook cached
# by the code before (Redis outlives a deploy) is not served for another day.
WORKBOOK_LAYOUT = 6
# The line below the rule categories, on the page and in the .xlsx.
CARRIED_APART = gettext_noop("Balances carried over from the paper ledger (no rule category)")


def _no_progress(percent: int, step: str) -> None:
    """The default progress reporter when nobody is watching."""


@dataclass
class Report:
    village: object
    period: Period
    title: str
    flows: list[Flow]
    total: Flow
    categories: list[dict]  # the rule categories, whose total is what rules awarded and deducted
    carried: dict  # the balances carried over from the paper ledger: no rule category
    zones: list[dict]
    purchases: list[dict]
    donors: list[dict]
    sections: list = field(default_factory=list)
    published: object = None  # the month's PublishedNotice, when its sections come from it

    @property
    def zones_total(self) -> dict:
        return {
            "points": sum(z["points"] for z in self.zones),
            "quantity": sum(z["quantity"] for z in self.zones),
        }

    @property
    def categories_total(self) -> dict:
        return {
            "count": sum(c["count"] for c in self.categories),
            "points": sum(c["points"] for c in self.categories),
        }

    @property
    def purchases_total(self) -> dict:
        return {
            "count": sum(p["count"] for p in self.purchases),
            "quantity": sum(p["quantity"] for p in self.purchases),
            "cost": sum((p["cost"] for p in self.purchases), Decimal(0)),
        }

    @property
    def donors_total(self) -> dict:
        return {
            "count": sum(d["count"] for d in self.donors),
            "money": sum(d["money"] for d in self.donors),
            "goods": sum(d["goods"] for d in self.donors),
        }


def report_build(village, period: Period, *, title: str, with_notice: bool, progress=None):
    """Every figure of a report, in a fixed number of queries (the notice's included)."""
    progress = progress or _no_progress
    progress(5, _("Points flow"))
    flows = points_flow(village, period)
    progress(25, _("Totals by rule category"))
    # The carried-over balances are proposed under a rule of their own (points.carryover),
    # not earned by the village's rules: apart, so the categories add up to what rules gave.
    categories, carried = [], {"count": 0, "points": 0}
    for row in totals_by_category(village, period):
        if row["category"] == Rule.Category.CARRIED_OVER:
            carried = row
        else:
            categories.append(row)
    progress(40, _("Redemptions by zone"))
    zones = redemptions_by_zone(village, period)
    progress(55, _("Purchases and donations"))
    purchases = purchases_by_fund_source(village, period)
    donors = donations_by_donor(village, period)
    sections, published = [], None
    if with_notice:
        progress(65, _("Public notice"))
        published = published_notice(village, period.start)
        sections = (
            document_sections(published.document)
            if published
            else notice_sections(village, period.start.year, period.start.month)
        )
    return Report(
        village=village,
        period=period,
        title=title,
        flows=flows,
        total=flow_total(flows),
        categories=categories,
        carried=carried,
        zones=zones,
        purchases=purchases,
        donors=donors,
        sections=sections,
        published=published,
    )


def _flow_figures(flow: Flow) -> list[int]:
    """A flow's figures in the columns' order: issued, then what it is made of, and apart;
    the points redeemed (net of every void in the month), then what the voids of earlier
    months' redemptions gave back, as the month report's page and the store's summary show
    them."""
    return [
        flow.issued,
        flow.awarded,
        flow.opening,
        flow.deducted,
        flow.reversed_awards,
        flow.reversed_deductions,
        flow.redeemed,
        flow.voided_earlier,
        flow.carried,
        flow.lapsed,
    ]


def cover_sheets_add(workbook, cover: dict, heading: str) -> None:
    """The points owed today and the stock that covers them, as the month report's page shows
    them (reports.selectors_transparency.liability_cover): the lines, then the stock by source.
    The heading says when "today" was: a workbook is kept while nothing it shows changes."""
    as_of = _("figures as of %(time)s") % {"time": f"{timezone.localtime():%Y-%m-%d %H:%M}"}
    title = _("Points owed and their cover (today)")
    # Exact in the cell, two places as shown (its number format below): see core.numbers.ratio.
    cover_ratio = ratio(cover["stock_points_value"], cover["outstanding_points"])
    held = [
        [_("Points held by households"), cover["outstanding_points"], cover["outstanding_yuan"]]
    ]
    if cover["gone_points"]:  # as the page says it, below the points held
        held.append(
            [
                _("of which on the accounts of households that moved away or closed"),
                cover["gone_points"],
                to_cents(cover["gone_points"] * cover["yuan_per_point"]),
            ]
        )
    sheet = xlsx.sheet_add(
        workbook,
        title=_("Cover (today)"),
        heading=f"{heading} · {title} ({as_of})",
        columns=[_("Line"), _("Points"), _("Yuan")],
        rows=[
            *held,
            [_("Awards in publicity, not yet credited"), cover["in_publicity_awards"], ""],
            [
                _("Deductions in publicity, not yet taken off"),
                cover["in_publicity_deductions"],
                "",
            ],
            [_("Goods on the shelves"), cover["stock_points_value"], cover["stock_cost_yuan"]],
            [
                _("Cover: the shelves' points value ÷ the points held"),
                _("No points are held.") if cover_ratio is None else cover_ratio,
                "",
            ],
        ],
        widths=[44, 12, 14],
    )
    sheet.cell(row=sheet.max_row, column=2).number_format = '0.00"×"'  # as the pages show it
    xlsx.sheet_add(
        workbook,
        title=_("Stock by source"),
        heading=f"{heading} · {_('Stock on the shelves by where the money came from')}",
        columns=[_("Source"), _("Units"), _("Cost (yuan)"), _("Points value")],
        rows=[
            [row["label"], row["quantity"], row["cost_yuan"], row["points_value"]]
            for row in cover["sources"]
        ],
        totals=[_("Total"), "", cover["stock_cost_yuan"], cover["stock_points_value"]],
        widths=[36, 10, 14, 14],
    )


def report_workbook(report: Report, progress=None, *, cover: dict | None = None) -> bytes:
    """The report as an .xlsx: one sheet per table, numbers as numbers; with `cover` (a
    month's), the points owed today and their cover after the points flow, as on the page."""
    progress = progress or _no_progress
    heading = f"{report.village.name} {report.title}"
    workbook = xlsx.workbook_new()
    progress(75, _("Writing the workbook"))
    xlsx.sheet_add(
        workbook,
        title=_("Points flow"),
        heading=f"{heading} · {_('Points flow')}",
        columns=[
            _("Month"),
            _("Issued"),
            _("of which awards"),
            _("of which opening"),
            _("Deducted"),
            _("Awards reversed"),
            _("Deductions reversed"),
            _("Redeemed"),
            _("Earlier months' redemptions voided (points given back)"),
            _("Carried over"),
            _("Lapsed"),
        ],
        rows=[[f"{f.month:%Y-%m}", *_flow_figures(f)] for f in report.flows],
        totals=[_("Total"), *_flow_figures(report.total)],
        widths=[12, 10, 14, 16, 10, 16, 18, 10, 22, 12, 10],
    )
    if cover is not None:
        cover_sheets_add(workbook, cover, heading)
    xlsx.sheet_add(
        workbook,
        title=_("By rule category"),
        heading=f"{heading} · {_('By rule category')}",
        columns=[_("Category"), _("Approved"), _("Points")],
        rows=[[capfirst(c["label"]), c["count"], c["points"]] for c in report.categories],
        totals=[_("Total"), report.categories_total["count"], report.categories_total["points"]],
        apart=(
            [[_(CARRIED_APART), report.carried["count"], report.carried["points"]]]
            if report.carried["count"]
            else []
        ),
        widths=[28, 10, 10],
    )
    xlsx.sheet_add(
        workbook,
        title=_("By zone"),
        heading=f"{heading} · {_('Redemptions by zone')}",
        columns=[_("Zone"), _("Pieces"), _("Points")],
        rows=[[z["label"], z["quantity"], z["points"]] for z in report.zones],
        totals=[_("Total"), report.zones_total["quantity"], report.zones_total["points"]],
        widths=[32, 10, 10],
    )
    xlsx.sheet_add(
        workbook,
        title=_("By fund source"),
        heading=f"{heading} · {_('Goods bought, by fund source')}",
        columns=[_("Fund source"), _("Purchases"), _("Pieces"), _("Cost (yuan)")],
        rows=[
            [p["label"], p["count"], p["quantity"], Decimal(p["cost"])] for p in report.purchases
        ],
        totals=[
            _("Total"),
            report.purchases_total["count"],
            report.purchases_total["quantity"],
            report.purchases_total["cost"],
        ],
        widths=[36, 10, 10, 12],
    )
    xlsx.sheet_add(
        workbook,
        title=_("Donors"),
        heading=f"{heading} · {_('Donations by donor')}",
        columns=[
            _("Donor"),
            _("Donor kind"),
            _("Donations"),
            _("Money (yuan)"),
            _("Goods value (yuan)"),
        ],
        rows=[
            [d["donor__name"], d["kind_label"], d["count"], d["money"], d["goods"]]
            for d in report.donors
        ],
        totals=[
            _("Total"),
            "",
            report.donors_total["count"],
            report.donors_total["money"],
            report.donors_total["goods"],
        ],
        widths=[28, 20, 10, 14, 16],
    )
    if report.sections:
        progress(85, _("Writing the public notice"))
        xlsx.sections_add(workbook, workbook_sections(report.sections), heading)
    return xlsx.workbook_bytes(workbook)


def _donor_kind_labels(report: Report) -> Report:
    labels = dict(Donor.Kind.choices)
    for donor in report.donors:
        donor["kind_label"] = str(labels.get(donor["donor__kind"], donor["donor__kind"]))
    return report


def month_title(first: datetime.date) -> str:
    return _("Monthly report %(month)s") % {"month": f"{first:%Y-%m}"}


def year_title(year: int) -> str:
    return _("Year report %(year)s") % {"year": year}


def month_report_build(village, year: int, month: int, progress=None) -> Report:
    first = datetime.date(year, month, 1)
    return _donor_kind_labels(
        report_build(
            village,
            Period.month(year, month),
            title=month_title(first),
            with_notice=True,
            progress=progress,
        )
    )


def year_report_build(village, year: int, progress=None) -> Report:
    return _donor_kind_labels(
        report_build(
            village,
            Period.year(year),
            title=year_title(year),
            with_notice=False,
            progress=progress,
        )
    )


def report_key(village, period: Period) -> str:
    """The cache key of a report's body or workbook: the village, the period and the digest
    of every row the report shows (one query)."""
    return f"{village.pk}:{period.start}:{period.end}:{report_state(village, period)}"


def month_workbook(village, first: datetime.date) -> bytes:
    """The month report's .xlsx, from the cache while nothing it shows has changed."""
    period = Period.month(first.year, first.month)
    return cached_part(
        f"month-report-xlsx-{WORKBOOK_LAYOUT}",
        report_key(village, period),
        lambda: report_workbook(
            month_report_build(village, first.year, first.month), cover=liability_cover(village)
        ),
        PART_SECONDS,
    )


def year_workbook(village, year: int, progress=None) -> bytes:
    """The year report's .xlsx, from the cache while nothing it shows has changed."""
    return cached_part(
        f"year-report-xlsx-{WORKBOOK_LAYOUT}",
        report_key(village, Period.year(year)),
        lambda: report_workbook(year_report_build(village, year, progress=progress), progress),
        PART_SECONDS,
    )


def _check_year(village, year: int) -> int:
    """A year the village's records reach (core.months.asked_within), else its page."""
    return asked_within(
        f"{year:04d}",
        unit=YEAR,
        since=village.started_on,
        link=lambda first: reverse("reports:year_report", args=[first.year]),
    ).year


def _month(village, year: int, month: int):
    """A month the village's records reach (core.months.asked_within), else its page."""
    return month_in_path(year, month, since=village.started_on, page="reports:month_report")


@staff_required(*STAFF)
def month_report(request, year=None, month=None):
    """The month's report; its body is kept in the cache under the digest of every row it
    shows, the liability of today included."""
    today = timezone.localdate()
    # No month in the address: this month. A month of 0 in it is no month (a 404).
    if year is None:
        year, month = today.year, today.month
    village = request.village
    first = _month(village, year, month)
    period = Period.month(first.year, first.month)
    # The points owed and the shelves' cover are today's (the ledger and the stock as they
    # stand), not the month's: a month gone by says so beside them, or a reader took them for
    # that month's end.
    past = first < today.replace(day=1)

    def body() -> str:
        report = month_report_build(village, first.year, first.month)
        context = {
            "report": report,
            "sections": sections_for_page(report.sections),
            "month": first,
            "liability": liability_cover(village),
            "liability_of_today_only": past,
            "may_object": may_object(request.user),
        }
        return render_to_string("reports/_month_report_body.html", context, request)

    # The body differs by reader only in the objection links; a month's body drawn while it
    # was the current month has no note on today's figures.
    key = f"{report_key(village, period)}:{may_object(request.user)}:{past}"
    return render(
        request,
        "reports/month_report.html",
        {
            "title": month_title(first),
            "body": cached_part("month-report", key, body, PART_SECONDS),
            "village": village,
            "month": first,
            "previous": month_before(first, village.started_on),
            "following": month_after(first),
        },
    )


@staff_required(*STAFF)
def month_report_xlsx(request, year, month):
    """A month is small: the workbook is built while the browser waits (or read from the
    cache while nothing it shows has changed)."""
    first, village = _month(request.village, year, month), request.village
    names = xlsx.village_file_names(village, _("Monthly report"), "report", f"{first:%Y-%m}")
    return xlsx.xlsx_response(month_workbook(village, first), *names)


@staff_required(*STAFF)
def year_report(request, year):
    village = request.village
    year = _check_year(village, year)
    today = timezone.localdate()

    def body() -> str:
        report = year_report_build(village, year)
        title = _("Points flow in %(year)s") % {"year": year}
        context = {
            "report": report,
            "flow_chart": flow_chart(report.flows, key="year-flow", title=title),
            "today": today,
            # The months before the village's first have no report to link to.
            "first_month": village.started_on.replace(day=1),
        }
        return render_to_string("reports/_year_report_body.html", context, request)

    key = f"{report_key(village, Period.year(year))}:{today}"
    return render(
        request,
        "reports/year_report.html",
        {
            "title": year_title(year),
            "body": cached_part("year-report", key, body, PART_SECONDS),
            "village": village,
            "year": year,
            "previous": year - 1 if year > village.started_on.year else None,
            "following": year + 1 if year < today.year else None,
        },
    )


@require_POST
@staff_required(*STAFF)
def year_report_xlsx(request, year):
    """A year of rows can take a while: build the workbook in the background."""
    year = _check_year(request.village, year)
    job = export_job_start(
        kind=ExportJob.Kind.YEAR_REPORT,
        user=request.user,
        village=request.village,
        params={"year": year},
    )
    return redirect("reports:export_status", pk=job.pk)


def year_export_build(job: ExportJob, progress: Progress) -> tuple[str, bytes]:
    """The background job's work (see reports.exports): the year report's workbook."""
    year = int(job.params["year"])
    filename, _ascii = xlsx.village_file_names(job.village, _("Year report"), "report", str(year))
    return filename, year_workbook(job.village, year, progress)
