"""Workbook helpers shared by the notice, the reports and the county export (openpyxl).

Cells hold plain values (numbers stay numbers) so a spreadsheet can add them up again.
Text stays text (core.spreadsheet.row_append): no name or reason becomes a formula.
"""

import datetime
import io
import re
import unicodedata
from decimal import Decimal
from urllib.parse import quote

from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.spreadsheet import row_append

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOLD = Font(bold=True)


def workbook_new() -> Workbook:
    """An empty workbook (no default sheet)."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    return workbook


def _cell(value):
    """openpyxl writes numbers, text and dates; lazy translations and other objects as text."""
    if value is None or isinstance(value, int | float | Decimal | str):
        return value
    if hasattr(value, "isoformat"):
        return value.replace(tzinfo=None) if getattr(value, "tzinfo", None) else value
    return str(value)


def _append(sheet, values) -> None:
    values = [_cell(value) for value in values]
    row_append(sheet, values)
    for cell, value in zip(sheet[sheet.max_row], values, strict=False):
        if isinstance(value, Decimal):  # yuan: two decimals, as the pages show them
            cell.number_format = "0.00"


def sheet_title(title, used: set[str]) -> str:
    """A sheet name Excel accepts: at most 31 characters, no []:*?/\\, no apostrophe first or
    last (Excel refuses the file, openpyxl writes it), unique in the book whatever the case."""
    name = "".join(c for c in str(title) if c not in "[]:*?/\\")[:31].strip("'") or _("Sheet")
    taken = {existing.casefold() for existing in used}
    candidate, n = name, 2
    while candidate.casefold() in taken:
        suffix = f" ({n})"
        candidate, n = name[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate)
    return candidate


# A column's width (in characters of Latin text) fits its header and cells, within these;
# read from the first rows only: a year's ledger has tens of thousands.
WIDTH_MIN, WIDTH_MAX, WIDTH_ROWS_READ = 8, 50, 500


def _shown_width(value) -> int:
    """How wide a cell's value shows: a Chinese character takes two Latin ones."""
    if value is None:
        return 0
    if isinstance(value, datetime.datetime):
        return len("yyyy-mm-dd hh:mm:ss")
    if isinstance(value, datetime.date):
        return len("yyyy-mm-dd")
    text = f"{value:.2f}" if isinstance(value, Decimal) else str(value)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _widths_fitted(columns, rows, totals, widths) -> list[float]:
    """Each column's width: wide enough for its header and its cells (Chinese text counts
    double), at least the width asked for. Left to the spreadsheet's default (8.43), a
    Chinese header or name showed cut off."""
    fitted = []
    for index, header in enumerate(columns):
        cells = [row[index] for row in [*rows[:WIDTH_ROWS_READ], totals or []] if index < len(row)]
        needed = max(_shown_width(cell) for cell in [header, *cells]) + 2
        asked = widths[index] if widths and index < len(widths) else 0
        fitted.append(max(asked, min(WIDTH_MAX, max(WIDTH_MIN, needed))))
    return fitted


def sheet_add(
    workbook: Workbook, *, title, heading: str, columns, rows, totals=None, widths=None, apart=()
):
    """One sheet: a bold heading line, a bold header row, the rows and an optional total row;
    `apart`: rows after an empty one below the total, which are not part of it. Columns are
    as wide as their header and cells need, `widths` at least."""
    used = set(workbook.sheetnames)
    sheet = workbook.create_sheet(title=sheet_title(title, used))
    _append(sheet, [heading])
    sheet["A1"].font = BOLD
    _append(sheet, columns)
    for cell in sheet[2]:
        cell.font = BOLD
    for row in rows:
        _append(sheet, row)
    if not rows:  # as the page says it: an empty sheet reads as a file cut short
        _append(sheet, [_("None.")])
    if totals:
        _append(sheet, totals)
        for cell in sheet[sheet.max_row]:
            cell.font = BOLD
    if apart:
        row_append(sheet, [])
        for row in apart:
            _append(sheet, row)
    for index, width in enumerate(_widths_fitted(columns, rows, totals, widths), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    return sheet


def _sheet_titles() -> dict:
    """Shorter names for the sections whose titles pass Excel's 31 characters in some
    language (the sheet's heading line keeps the whole title)."""
    return {
        "ledger": _("Points this month"),
        "reversals": _("Corrections"),
        "donations_traced": _("Where donations went"),
    }


def sections_add(workbook: Workbook, sections, heading_prefix: str) -> None:
    """The public notice's sections (points.selectors.NoticeSection), one sheet each."""
    short = _sheet_titles()
    for section in sections:
        sheet_add(
            workbook,
            title=short.get(section.key, section.title),
            heading=f"{heading_prefix} {section.title}",
            columns=section.columns,
            rows=section.rows,
            totals=section.totals,
        )


def workbook_bytes(workbook: Workbook) -> bytes:
    if not workbook.sheetnames:
        workbook.create_sheet(title=_("Report")[:31])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# What no file name may hold, on any system a file is sent on to: \ / : * ? " < > | and
# control characters (a line break would end the header).
NOT_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
# What the ASCII name keeps: letters, digits, dot, hyphen and underscore.
NOT_IN_ASCII_NAMES = re.compile(r"[^A-Za-z0-9._-]+")


def file_name(*parts) -> str:
    """An export's .xlsx name from whose it is, what and of when, joined by hyphens
    ("英旺乡-啊道村-公示-2024-05.xlsx"): a file sent up or kept beside another village's,
    township's or county's says which it is. Each part without what a file name may not hold."""
    cleaned = (NOT_IN_NAMES.sub(" ", str(part)).strip(" .") for part in parts)
    return "-".join(part for part in cleaned if part) + ".xlsx"


def ascii_file_name(*parts) -> str:
    """The same file's name in plain ASCII ("notice-101-2024-05.xlsx"): for the browsers and
    mail programs that do not read a header's UTF-8 name."""
    cleaned = (NOT_IN_ASCII_NAMES.sub("-", str(part)).strip("-.") for part in parts)
    return "-".join(part for part in cleaned if part) + ".xlsx"


def village_file_names(village, what, ascii_what: str, when: str) -> tuple[str, str]:
    """A village's file's names: (file_name by its township's and its own name, the ASCII
    one by its card code)."""
    return (
        file_name(village.township.name, village.name, what, when),
        ascii_file_name(ascii_what, village.code, when),
    )


def content_disposition(filename: str, fallback: str) -> str:
    """The download's header naming the file twice (RFC 6266): `filename*` in UTF-8, which
    every browser of the last decade saves it under, Chinese and all; `filename` in ASCII
    for older ones (Django's own helper gives one or the other, never both)."""
    ascii_name = NOT_IN_ASCII_NAMES.sub("-", fallback).strip("-.") or "export.xlsx"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def xlsx_response(content: bytes, filename: str, fallback: str) -> HttpResponse:
    """The workbook as a download named `filename` (file_name), `fallback` (ascii_file_name)
    for the programs that read only an ASCII name."""
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(filename, fallback)
    return response
