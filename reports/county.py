"""The county overview: every village of the county in one sortable table, and its .xlsx.

For county administrators; a township officer sees the same page over the township's
villages (villagers.oversight). The figures cost the same queries whatever the number of
villages (see reports.selectors.county_figures); each row opens the village read-only.
The .xlsx holds the same table, over the same villages.
"""

import datetime
import re
from decimal import Decimal

from django.db.models import Min
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from openpyxl.styles import Font

from core.access import overseer_required
from core.fragments import CSRF_SLOT, cached_part, csrf_fill
from core.months import MONTH, asked_within, month_after, month_before
from core.numbers import ratio, to_cents
from core.text import list_join
from reports import xlsx
from reports.charts import sparkline
from reports.exports import export_job_start
from reports.models import ExportJob
from reports.selectors import COUNTY_SORTS, Period, county_figures, county_total, county_villages
from villagers.models import County, Township
from villagers.oversight import Oversight, oversight_of

# A stock cover below 1× in the .xlsx, as the page shows it (text-danger, bold).
COVER_SHORT = Font(bold=True, color="DC3545")

# The page's figures may be this old (seconds): the county's month is tens of thousands of
# rows to add up, and the page says when they were. The .xlsx holds the same figures.
FIGURES_MAX_AGE = 60

COLUMNS = [
    # (sort key, heading, attribute on the village row)
    ("name", gettext_lazy("Village"), "name"),
    ("households", gettext_lazy("Households"), "household_count"),
    ("cards", gettext_lazy("Cards"), "card_count"),
    ("issued", gettext_lazy("Issued in the month"), "issued"),
    ("deducted", gettext_lazy("Deducted in the month"), "deducted"),
    ("redeemed", gettext_lazy("Redeemed in the month"), "redeemed"),
    ("carried", gettext_lazy("Carried over in the month"), "carried"),
    ("reversed", gettext_lazy("Reversed and lapsed in the month"), "reversed_and_lapsed"),
    ("held_start", gettext_lazy("Points held at the month's start"), "points_held_at_start"),
    ("held", gettext_lazy("Points held"), "points_held"),
    ("pending", gettext_lazy("Waiting for approval"), "pending"),
    ("stock", gettext_lazy("Stock value (points)"), "stock_points"),
    ("cover", gettext_lazy("Stock cover"), "stock_cover"),
    ("inspections", gettext_lazy("Hygiene passed"), "pass_rate"),
    ("wishes", gettext_lazy("Open wishes"), "wishes_open"),
    ("trend", gettext_lazy("Issued in 12 months"), "trend_total"),
    ("activity", gettext_lazy("Last activity"), "last_activity"),
]

# What the columns mean, under the table and under the .xlsx's total (a month gone by's file
# read today's points held as that month's): (the columns' keys, what they hold).
NOTES = [
    (
        ("issued", "deducted", "redeemed", "carried", "reversed"),
        gettext_lazy(
            "The month shown, from the ledger: a correction made in a later month counts in "
            "that month. Carried over: the balances brought from the paper ledger, less the "
            "cards' opening grants (negative where a paper balance was lower). Reversed and "
            "lapsed: the points given back by reversing deductions, less those taken back by "
            "reversing awards and those lapsed at a yearly settlement."
        ),
    ),
    (
        ("held_start",),
        gettext_lazy(
            "Every account's balance when the month began. It adds up: points held at the "
            "month's start + issued - deducted - redeemed + carried over + reversed and "
            "lapsed = points held at the month's end, which is the next month's start, and "
            "for this month the points held today."
        ),
    ),
    (
        ("households", "cards", "held", "pending", "stock", "wishes", "activity"),
        gettext_lazy(
            "Today's figures, whatever the month shown: the active households and cards, the "
            "balances of every account (those of households that moved away or closed too), "
            "the proposals waiting, the shelves at points prices, the wishes open and the "
            "latest entry."
        ),
    ),
    (
        ("cover",),
        gettext_lazy(
            "Stock value divided by points held, as on the village's points cover page: below "
            "1× (in red) the shelves could not honour every point held. The total row divides "
            "its own sums: it is not an average of the villages' covers."
        ),
    ),
    (
        ("inspections",),
        gettext_lazy(
            "The rate is households passed divided by households inspected, both shown below "
            "it (passed/inspected). Inspected: the households inspected by the end of the "
            "month that had not moved away or closed by then; passed: those of them whose "
            "latest inspection passed all six checks. The total row divides its own sums: it "
            "is not an average of the villages' rates."
        ),
    ),
    (
        ("trend",),
        gettext_lazy(
            "Points issued each month over the twelve months ending with this one, each line "
            "scaled to its own busiest month; the number is their sum."
        ),
    ),
]
# The notes of what only the page draws (the sparklines): not in the .xlsx.
PAGE_ONLY_NOTES = {"trend"}

# The .xlsx's columns after the pass rate: what it is over, which the page shows below the
# rate ("23/40"), as numbers a spreadsheet adds up.
RATE_COUNTS = [
    ("inspected", gettext_lazy("Households inspected"), "inspected"),
    ("passed", gettext_lazy("Households passed"), "inspections_passed"),
]
# The .xlsx's own words where it shows a figure otherwise than the page: the counts have
# columns of their own there.
WORKBOOK_NOTES = {
    "inspections": (
        ("inspections", "inspected", "passed"),
        gettext_lazy(
            "The rate is households passed divided by households inspected. Inspected: the "
            "households inspected by the end of the month that had not moved away or closed "
            "by then; passed: those of them whose latest inspection passed all six checks. "
            "The total row divides its own sums: it is not an average of the villages' rates."
        ),
    ),
}


def notes(left_unknown: int, *, workbook: bool = False) -> list[dict]:
    """The NOTES in the reader's language: the columns' headings, what they hold, and for
    the pass rate the households it leaves out (`left_unknown`); the .xlsx's own where it
    has them (`workbook`)."""
    labels = {key: label for key, label, _attribute in [*COLUMNS, *RATE_COUNTS]}
    shown = []
    for keys, meaning in NOTES:
        if workbook:
            keys, meaning = WORKBOOK_NOTES.get(keys[0], (keys, meaning))
        note = {"key": keys[0], "columns": list_join(labels[key] for key in keys)}
        note["meaning"], note["apart"] = str(meaning), ""
        if keys[0] == "inspections" and left_unknown:
            note["apart"] = ngettext(
                "%(n)s inspected household moved away or closed before the app recorded when "
                "households leave: not knowing whether it was still there, the rate leaves it "
                "out.",
                "%(n)s inspected households moved away or closed before the app recorded when "
                "households leave: not knowing whether they were still there, the rate leaves "
                "them out.",
                left_unknown,
            ) % {"n": left_unknown}
        shown.append(note)
    return shown


# What ?month= may be: the overview's months run from January 2000 to this one.
MONTH_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
MONTH_RULE = "YYYY-MM, from 2000-01 to this month"


def month_parsed(value: str | None) -> datetime.date:
    """The first day of the month `value` (YYYY-MM; this month when empty); ValueError
    saying what a month must be when it is malformed, before 2000 or in the future."""
    today = timezone.localdate()
    if not value:
        return today.replace(day=1)
    first = None
    if re.fullmatch(MONTH_PATTERN, value):
        first = datetime.date(int(value[:4]), int(value[5:]), 1)
    if first is None or first > today or first.year < 2000:
        raise ValueError(f"month must be {MONTH_RULE}, not {value!r}")
    return first


def records_start(oversight: Oversight) -> datetime.date:
    """When the records of the villages `oversight` reads begin: the earliest one's start
    (one query). A township's officer reaches back to their own villages' first month, not
    the deployment's."""
    first = oversight.villages().aggregate(first=Min("started_on"))["first"]
    return first or timezone.localdate()


def overview_month(value: str | None, since: datetime.date) -> datetime.date:
    """?month=YYYY-MM, this month by default; else a month the overseen villages' records
    reach, from the earliest one's first, `since` (core.months.asked_within says which do)."""
    if not value:
        return timezone.localdate().replace(day=1)
    return asked_within(
        value,
        unit=MONTH,
        since=since,
        link=lambda first: f"{reverse('reports:county_overview')}?month={first:%Y-%m}",
    )


def _sort(value: str | None) -> str:
    value = value or "name"
    return value if value.lstrip("-") in COUNTY_SORTS else "name"


def _headers(sort: str, month: datetime.date) -> list[dict]:
    """Column headings with the link that sorts by them (again: the other way round)."""
    headers = []
    for key, label, _attribute in COLUMNS:
        current = sort.lstrip("-") == key
        descending = sort.startswith("-")
        target = f"-{key}" if current and not descending else key
        if not current and key != "name":
            target = f"-{key}"  # figures: biggest first on the first click
        headers.append(
            {
                "key": key,
                "label": label,
                "url": f"?sort={target}&month={month:%Y-%m}",
                "current": current,
                "descending": current and descending,
                "numeric": key not in ("name", "activity"),
            }
        )
    return headers


@overseer_required
def county_overview(request):
    """The county's villages for its admin; the township's for a township officer."""
    oversight = oversight_of(request.user)
    since = records_start(oversight)
    month = overview_month(request.GET.get("month"), since)
    sort = _sort(request.GET.get("sort"))
    figures, as_of = county_figures(
        oversight, month=Period.month(month.year, month.month), max_age=FIGURES_MAX_AGE
    )

    def table() -> str:
        villages = county_villages(oversight, figures, sort)
        total = county_total(villages)
        for row in [*villages, total]:
            row.sparkline = _trend_line(row)
        context = {
            "villages": villages,
            "total": total,
            "headers": _headers(sort, month),
            "dashboard_url": reverse("reports:dashboard"),
            "is_township": oversight.is_township,
            "csrf_token": CSRF_SLOT,
        }
        return render_to_string("reports/_county_table.html", context, request=request)

    # A row per village cost more to render than the cached figures to read: the table is
    # kept as long as the figures it shows (its key changes with them).
    key = f"{oversight.key}:{month}:{sort}:{as_of}"
    rows = cached_part("county-table", key, table, FIGURES_MAX_AGE)
    left_unknown = sum(row["inspected_left_unknown"] for row in figures.values())
    return render(
        request,
        "reports/county_overview.html",
        {
            "scope_name": _scope_name(oversight),
            "is_township": oversight.is_township,
            "as_of": as_of,
            "table": csrf_fill(rows, request),
            "sort": sort,
            "month": month,
            # Back to the deployment's earliest village's first month, no further.
            "previous": month_before(month, since),
            "following": month_after(month),
            # Inspected households whose leaving time was never recorded: the note on the
            # pass rate says they are left out.
            "left_unknown": left_unknown,
            "notes": notes(left_unknown),
        },
    )


def _scope_name(oversight: Oversight) -> str:
    """The county's or the township's name, for the heading."""
    if oversight.is_township:
        return Township.objects.get(pk=oversight.township_id).name
    return County.objects.get(pk=oversight.county_id).name


def _trend_line(row):
    """The row's points issued per month as a sparkline, its figures in words."""
    months = list_join(
        f"{first:%Y-%m}: {value}" for first, value in zip(row.trend_months, row.trend, strict=True)
    )
    label = _("Points issued each month, %(months)s") % {"months": months}
    return sparkline(row.trend, label=label)


@require_POST
@overseer_required
def county_export(request):
    """Start the overview's .xlsx (the county's, or the township's for its officer) in the
    background and show its progress."""
    oversight = oversight_of(request.user)
    month = overview_month(request.POST.get("month"), records_start(oversight))
    params = {"month": f"{month:%Y-%m}", "sort": _sort(request.POST.get("sort"))}
    if oversight.is_township:
        township = Township.objects.select_related("county").get(pk=oversight.township_id)
        kind, county = ExportJob.Kind.TOWNSHIP_OVERVIEW, township.county
        params["township"] = township.pk
    else:
        kind, county = ExportJob.Kind.COUNTY_OVERVIEW, request.user.county
    job = export_job_start(kind=kind, user=request.user, county=county, params=params)
    return redirect("reports:export_status", pk=job.pk)


def county_export_build(job: ExportJob, progress) -> tuple[str, bytes]:
    """The background job's work (see reports.exports): the county table as a workbook, the
    trend as one column a month after the table's.

    The figures are the page's (at most FIGURES_MAX_AGE old, their time in the heading), so
    the file says what the admin saw; the workbook is kept as long as they are, under a key
    of everything it shows.
    """
    month = datetime.datetime.strptime(job.params["month"], "%Y-%m").date()
    sort = _sort(job.params.get("sort"))
    progress(10, _("Adding up every village"))
    if job.params.get("township"):
        oversight = Oversight(township_id=job.params["township"])
        title, total_label = _("Township overview"), _("Township total")
    else:
        oversight = Oversight(county_id=job.county_id)
        title, total_label = _("County overview"), _("County total")
    scope_name = _scope_name(oversight)
    figures, as_of = county_figures(
        oversight, month=Period.month(month.year, month.month), max_age=FIGURES_MAX_AGE
    )
    villages = county_villages(oversight, figures, sort)
    left_unknown = sum(row["inspected_left_unknown"] for row in figures.values())
    shown = [(v.pk, v.code, v.name, v.township.name) for v in villages]
    key = f"{oversight.key}:{scope_name}:{month}:{sort}:{as_of.isoformat()}:{shown}:{title}"
    # Whose it is: the county's, or the township's of the county (a county reads many).
    whose = [job.county.name, *([scope_name] if job.params.get("township") else [])]
    filename = xlsx.file_name(*whose, title, f"{month:%Y-%m}")

    def build() -> bytes:
        total = county_total(villages)
        rows = []
        for number, village in enumerate(villages, start=1):
            rows.append([village.township.name, *_export_cells(village)])
            if number % 10 == 0:
                progress(10 + 80 * number // len(villages), _("Writing the villages"))
        totals = [total_label, _("%(n)d villages") % {"n": total.villages}]
        totals += _export_cells(total)[1:]
        workbook = xlsx.workbook_new()
        as_of_text = _("figures as of %(time)s") % {
            "time": f"{timezone.localtime(as_of):%Y-%m-%d %H:%M}"
        }
        sheet = xlsx.sheet_add(
            workbook,
            title=title,
            heading=f"{scope_name} {title} {month:%Y-%m} ({as_of_text})",
            columns=[_("Township")]
            + [label for _key, label, _attribute in _export_columns()]
            + [f"{_('Issued')} {first:%Y-%m}" for first in total.trend_months],
            rows=rows,
            totals=totals,
            widths=[14, 14, 12, 10, 16, 16, 18, 18, 18, 18, 12, 18, 18, 12, 12, 12, 12, 12, 16, 18],
            apart=_notes_rows(left_unknown),
        )
        # As the page shows them: the pass rate as a percentage, the cover as "1.25×", in
        # red below 1× as shown (the note says so); the cells hold the exact ratios.
        keys = [key for key, _label, _attribute in _export_columns()]
        for key, number_format in (("inspections", "0%"), ("cover", '0.00"×"')):
            column = 2 + keys.index(key)
            # The villages' rows and the total (below a "None." row when there is none).
            last = 3 + max(len(rows), 1)
            for (cell,) in sheet.iter_rows(min_row=3, max_row=last, min_col=column, max_col=column):
                cell.number_format = number_format
                short = isinstance(cell.value, int | float | Decimal) and to_cents(cell.value) < 1
                if key == "cover" and short:
                    cell.font = COVER_SHORT
        progress(95, _("Saving the file"))
        return xlsx.workbook_bytes(workbook)

    return filename, cached_part("county-xlsx", key, build, FIGURES_MAX_AGE)


def _notes_rows(left_unknown: int) -> list[list[str]]:
    """The page's notes below the workbook's total, one line each (but the sparklines')."""
    rows = []
    for note in notes(left_unknown, workbook=True):
        if note["key"] in PAGE_ONLY_NOTES:
            continue
        parts = {"columns": note["columns"], "meaning": note["meaning"]}
        rows.append([_("%(columns)s: %(meaning)s") % parts])
        if note["apart"]:
            rows.append([note["apart"]])
    return rows


def _export_columns() -> list[tuple]:
    """The table's columns as the .xlsx has them: the pass rate followed by what it is
    over."""
    at = [key for key, _label, _attribute in COLUMNS].index("inspections") + 1
    return [*COLUMNS[:at], *RATE_COUNTS, *COLUMNS[at:]]


# The ratios the page shows to two places (reports.selectors._ratio), held exactly in the
# .xlsx: (attribute, its part, its whole). A cell rounded to 0.58 summed or averaged in the
# spreadsheet gave a figure the villages' counts do not.
EXACT_RATIOS = {
    "stock_cover": ("stock_points", "points_held"),
    "pass_rate": ("inspections_passed", "inspected"),
}


def _export_cell(row, attribute):
    if attribute in EXACT_RATIOS:
        part, whole = EXACT_RATIOS[attribute]
        return ratio(getattr(row, part), getattr(row, whole))
    return getattr(row, attribute, None)


def _export_cells(row) -> list:
    """A village's (or the total's) cells: the table's columns, then the trend's months."""
    cells = [_export_cell(row, attribute) for _key, _label, attribute in _export_columns()]
    cells[-1] = _local(row.last_activity)
    return cells + list(row.trend)


def _local(moment):
    return timezone.localtime(moment).replace(tzinfo=None, microsecond=0) if moment else None
