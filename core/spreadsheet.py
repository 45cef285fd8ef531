"""Reading an uploaded table (.xlsx, .csv or .txt) into rows keyed by column, for the imports.

Shared by the roster import (villagers.roster) and the paper ledger's opening balances
(points.carryover): each names its columns (`Column`), and gets back one `SheetRow` per
non-empty row under a header row written in Chinese or English. Parsing never touches the
database; a file that is no table at all raises `SheetFileError` in plain words. Of a
workbook, the sheet read is the one the clerk sees on opening it (`_workbook_sheet`). A
TRUE or FALSE outside a yes/no column is a problem of its row (`yes_no_misplaced`), said
once (`RowErrors`).

An upload is untrusted, and a small file can unpack into a large one: a 200 KB workbook
holding one 200 MB cell, a 5 KB one whose only row is number 10,000,000. So before and while
reading, the work is bounded: a workbook's members may unpack to `MAX_UNPACKED` bytes (read
from the zip's directory before parsing; zipfile never reads past a member's stated size),
the sheet may reach row `MAX_ROW_NUMBER`, and the cells kept are at most `MAX_CELL` characters
each and `MAX_TEXT` in all. A file over a bound is refused whole with a plain message.

Between the preview and the confirmation the rows wait in the uploader's own session
(`pending_store`, `pending_rows`), tagged with the village, a one-time token and the time
of the upload, and are dropped after an hour.
"""

import csv
import datetime
import io
import logging
import re
import secrets
import zipfile
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from core.forms import number_text
from core.text import list_join, typed_text_clean

logger = logging.getLogger(__name__)

MAX_BYTES = 2 * 1024 * 1024
MAX_COLUMNS = 40
# The largest import (20,000 rows of the paper ledger, six columns) unpacks to about 7 MB;
# openpyxl reads some 2 MB a second, so a file at the bound takes seconds, not minutes.
MAX_UNPACKED = 16 * 1024 * 1024
MAX_MEMBERS = 1000  # files inside a workbook (a real one has a dozen or two)
MAX_ROW_NUMBER = 100_000  # blank rows included: far more than any import's rows
MAX_CELL = 1000  # characters: no column an import reads takes more than 200
MAX_TEXT = 4 * 1024 * 1024  # characters kept from the whole file (they wait in the session)
PENDING_FOR = datetime.timedelta(hours=1)
# Rows above the column names that name none of them (a title; the village, the date and who
# filled it in) are passed over, this many at most; the first row naming a column is the
# header, with the row below it when that row goes on naming columns (_header_below).
MAX_TITLE_ROWS = 3
EXCEL_DIGITS = 15  # significant digits a spreadsheet keeps of a number
# What the file picker offers (the `accept` of the upload forms) and `sheet_parse` reads: a
# workbook, a CSV, and a table saved as text (Excel's "Unicode text", tabs between cells).
ACCEPTED_SUFFIXES = (".xlsx", ".csv", ".txt")
ACCEPT = ",".join(ACCEPTED_SUFFIXES)
# A day as a clerk types it (2024-03-05, 2024/3/5, 2024.3.5, 2024年3月5日 or 5号; a date
# cell reads as the first), with the midnight a date cell saved as CSV gets (2024/3/5 0:00);
# a month (1965.03, 1965年3月: a roster's 出生年月).
DATE = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})[日号]?(?:\s+0?0:00(?::00)?)?")
# A day typed as 8 digits (20240305), read only when they make a real date.
DATE_DIGITS = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
YEAR_MONTH = re.compile(r"([0-9]{4})[-/.年]([0-9]{1,2})月?")
YEAR = re.compile(r"([0-9]{4})年?")


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # the Chinese header written in the template
    # The English header, also accepted; shown untranslated next to the Chinese one, in any
    # UI language, because it is what to type (a translation would read like a second alias).
    english: str
    aliases: tuple[str, ...]
    required: bool = False
    # A column of yes or no (is the household registered poor?) takes TRUE and FALSE, as
    # Excel keeps a ticked or unticked cell; anywhere else they are refused (yes_no_misplaced).
    yes_no: bool = False
    # A column of days (or of years, which a day gives): a number cell in it holding a day's
    # serial number (SERIAL_DAYS) is read as that day (sheet_parse).
    date: bool = False


# The serial numbers of 1954-10-03 to 2119-01-10: a date column's number cell within them is
# a day whose cell lost its date format (copied as values, or set to General), as no year
# (1965) nor 8-digit day (20240305) can be. Outside them nothing is guessed.
SERIAL_DAYS = range(20000, 80001)


class SheetFileError(Exception):
    """The file cannot be read as the expected table at all (message in plain words)."""


class SheetRows(list):
    """The rows read (SheetRow), and the file's column names that name no column of the
    import (`unread`): a column the clerk filled in under another name (手机号码 for 联系电话)
    is not imported, and the preview says so rather than leave its cells out unsaid. And
    what the file says of itself (`titles`): the sheet's name and the rows above the column
    names (啊道村户籍花名册), by which an import can tell another village's file."""

    def __init__(self, rows=(), unread=(), titles=()):
        super().__init__(rows)
        self.unread = list(unread)
        self.titles = list(titles)
        # Of a workbook: the sheet read, and its other visible sheets that head the import's
        # columns too (a ledger kept a sheet per village group), which are not read.
        self.sheet = ""
        self.unread_sheets: list[str] = []


MAX_UNREAD_NAME = 30  # characters of an unread column's name the preview shows
MAX_TITLE = 200  # characters kept of a title row or a sheet's name


# Rows a preview lists, of every row and of the rows with problems: a paper ledger of 20,000
# rows drew a page of 5.5 MB in 6 s. Every row is still checked; the totals count them all.
PREVIEW_ROWS = 1000


def preview_lines(reports, line, *, has_errors) -> tuple[list, list]:
    """The preview's rows of every row and of the rows with problems, PREVIEW_ROWS of each
    at most: `line` draws one report's row, `has_errors` says whether it has problems."""
    problems = [report for report in reports if has_errors(report)][:PREVIEW_ROWS]
    return [line(report) for report in reports[:PREVIEW_ROWS]], [line(r) for r in problems]


@dataclass
class SheetRow:
    line: int  # the row number as the spreadsheet shows it
    values: dict[str, str]
    # The columns whose cells the workbook held as numbers (not text): such a cell has lost
    # any leading 0 typed in it (a landline's), which an import may say.
    number_cells: frozenset[str] = frozenset()

    def as_data(self) -> list:
        return [self.line, self.values, sorted(self.number_cells)]

    @classmethod
    def from_data(cls, data, keys) -> "SheetRow":
        line, values, *rest = data
        numbers = rest[0] if rest and isinstance(rest[0], list) else []
        return cls(
            line=int(line),
            values={key: str(values.get(key, "")) for key in keys},
            number_cells=frozenset(key for key in numbers if key in keys),
        )


# A note in brackets after a column's name: 身份证号码（18位）, 联系电话(手机).
HEADER_NOTE = re.compile(r"[(（\[［【].*?[)）\]］】]")


def _normalise_header(value) -> str:
    """A column's name as it is compared: without a note in brackets, a mark of a required
    column (*) or a colon, and without white space: a wrapped header cell (户主 on one line,
    姓名 on the next) is the name typed in one."""
    text = HEADER_NOTE.sub("", str(value or "")).lower()
    return re.sub(r"[\s_*＊:：]+", "", text)


def _number_text(value: int | float) -> str:
    """A number cell as Excel and WPS show it: to 15 significant digits, the most they keep.

    The file holds the double behind the cell: a balance worked out as =100*1.1 is stored as
    110.00000000000001 and shown as 110. An 18-digit ID number typed into a number cell was
    cut to 15 digits when it was typed (its last three are 000), so it is read as shown,
    1.10105196503042E+17, which no column takes: its last digits are not in the file, and a
    cut number whose check digit happened to fit was registered as somebody's."""
    if isinstance(value, int) and abs(value) < 10**EXCEL_DIGITS:
        return str(value)
    return f"{value:.{EXCEL_DIGITS}g}".upper()


def cell_text(value) -> str:
    """A cell as text; numbers as the spreadsheet shows them (_number_text: no '.0' on a
    whole number), dates read as YYYY-MM-DD, TRUE and FALSE as shown (never as 1 and 0: a
    ticked cell is no number of points or year, and a CSV saved by Excel writes them so);
    text cleaned as typed text is (core.text.typed_text_clean: a cell of which nothing shows
    is empty, so a required column reports it missing)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number_text(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return typed_text_clean(str(value)).strip()


def date_read(text: str) -> datetime.date | None:
    """The day a cell gives (DATE or DATE_DIGITS; full-width digits read as digits), or
    None."""
    text = number_text(text)
    match = DATE.fullmatch(text) or DATE_DIGITS.fullmatch(text)
    if not match:
        return None
    try:
        return datetime.date(*map(int, match.groups()))
    except ValueError:
        return None


def year_read(text: str) -> int | None:
    """The year a cell gives: a year (1965, 1965年), a month (YEAR_MONTH) or a day
    (date_read), as a roster's birth year is written under 出生年份, 出生年月 or 出生日期;
    or None."""
    text = number_text(text)
    if (day := date_read(text)) is not None:
        return day.year
    month = YEAR_MONTH.fullmatch(text)
    if month and 1 <= int(month[2]) <= 12:
        return int(month[1])
    year = YEAR.fullmatch(text)
    return int(year[1]) if year else None


# What a paper table writes in its first column on the row under the others that adds them
# up (合计, 合  计 spaced out to fill the cell, 总计, 小计 under a group, 共计).
TOTAL_WORDS = frozenset(
    {"合计", "总计", "小计", "共计", "合計", "總計", "小計", "共計", "total", "sum", "subtotal"}
)


def is_total_text(text: str) -> bool:
    """Whether a cell names the row a total row: 合计, also spaced out (合　计) or with a
    colon (合计：)."""
    return re.sub(r"[\s:：]+", "", text).lower() in TOTAL_WORDS


def yes_no_misplaced(row: SheetRow, columns: tuple[Column, ...]) -> dict[str, str]:
    """What is wrong with a row's TRUE or FALSE outside its yes/no columns, in plain words,
    by column key.

    Excel turns a cell typed "true" or a ticked box into TRUE, and cell_text reads it so; in
    a household number, a name or a line's words it is a mistake (a household numbered
    TRUE), never what the clerk meant. A CSV holds the same TRUE as text: refused alike.
    Judged on the rows as stored, so the import's second check finds what the preview did."""
    return {
        column.key: _(
            "Column %(column)s holds %(value)s, which Excel writes for a yes/no cell; "
            "this column takes no yes or no. Type what belongs there."
        )
        % {"column": f"{column.header} ({column.english})", "value": row.values[column.key]}
        for column in columns
        if not column.yes_no and row.values[column.key].upper() in ("TRUE", "FALSE")
    }


class RowErrors(list):
    """A row's problems in plain words, starting with its misplaced TRUEs and FALSEs.

    Such a cell gets that one message: a column's check of its own value (a birth year, a
    balance, a date) adds its message through `about`, which leaves it out for the cell.
    "TRUE is not a year" after "holds TRUE" told the clerk nothing more.
    """

    def __init__(self, row: SheetRow, columns: tuple[Column, ...]):
        misplaced = yes_no_misplaced(row, columns)
        super().__init__(misplaced.values())
        self.misplaced = frozenset(misplaced)

    def about(self, key: str, message: str) -> None:
        """Add `message`, said by a check of the cell in column `key`, unless that cell holds a
        misplaced TRUE or FALSE."""
        if key not in self.misplaced:
            self.append(message)


def _not_a_workbook() -> SheetFileError:
    return SheetFileError(
        _("This file could not be read as an Excel (.xlsx) workbook. Save it again as .xlsx.")
    )


# The container of an old .xls, an .et of WPS, and of an .xlsx locked with a password to
# open it (the workbook inside, encrypted, beside a stream named EncryptionInfo).
COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTED = "EncryptionInfo".encode("utf-16-le")  # as the container's directory names it


def _compound_file(data: bytes) -> SheetFileError:
    """Why a file in the container of old .xls files cannot be read, whatever its name."""
    if ENCRYPTED in data:
        return SheetFileError(
            _(
                "This workbook is locked with a password to open it, and cannot be read. "
                "Open it, take the password off (Excel: File, Info, Protect Workbook, "
                "Encrypt with Password; WPS: File, Document Encryption), save it and upload "
                "it again."
            )
        )
    return _old_excel()


def _old_excel() -> SheetFileError:
    return SheetFileError(
        _("Old Excel .xls files cannot be read. In Excel choose Save As, then .xlsx.")
    )


def _too_many_rows() -> SheetFileError:
    return SheetFileError(
        _(
            "The sheet goes on beyond row %(max)d. Delete the rows below the table, "
            "or split it into smaller files, and upload it again."
        )
        % {"max": MAX_ROW_NUMBER}
    )


def _refusal_log(what: str, error: Exception) -> None:
    """Why an upload was refused, by the exception's class alone: a parser's message quotes
    what it could not read (a roster's ID number or phone in a cell typed as a number), and
    the log is no place for personal data."""
    logger.info("%s: %s", what, type(error).__name__)


def _unpacked_size_check(data: bytes) -> None:
    """Refuse a workbook that would unpack to more than MAX_UNPACKED, before parsing it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except Exception as error:  # any damage in an untrusted file means "not a workbook"
        _refusal_log("Upload is not a readable zip", error)
        raise _not_a_workbook() from error
    unpacked = sum(member.file_size for member in members)
    if len(members) > MAX_MEMBERS or unpacked > MAX_UNPACKED:
        logger.info("Workbook refused: %d members, %d bytes unpacked", len(members), unpacked)
        raise SheetFileError(
            _(
                "This workbook unpacks to %(size)d MB; an import may unpack to %(limit)d MB "
                "at most. Copy the table alone into a new workbook and upload that."
            )
            % {"size": -(-unpacked // (1024 * 1024)), "limit": MAX_UNPACKED // (1024 * 1024)}
        )


# The built-in number formats of Chinese, Japanese and Korean Excel that are dates (ECMA-376
# Part 1, 18.8.30: for zh-CN, 31 is yyyy"年"m"月"d"日", 57 is yyyy"年"m"月", 58 m"月"d"日").
# A workbook names them by number alone, and openpyxl knows only the formats every Excel
# has: a day typed as 2024年3月5日 in Chinese Excel or WPS was read as its serial number,
# 45356, and refused as no date (a birth month 1965年3月 as no year).
EAST_ASIAN_DATE_FORMATS = frozenset({27, 28, 29, 30, 31, 36, 50, 51, 52, 53, 54, 57, 58})


def _east_asian_dates_read(workbook) -> None:
    """Have openpyxl read the cells of the EAST_ASIAN_DATE_FORMATS as dates, as it reads the
    formats it knows (its index of the styles that are dates: private, as no public one is).
    An openpyxl without them reads those cells as numbers, refused in words as no date."""
    known, styles = (
        getattr(workbook, "_date_formats", None),
        getattr(workbook, "_cell_styles", None),
    )
    if known is None or styles is None:
        return
    workbook._date_formats = set(known) | {
        index
        for index, style in enumerate(styles)
        if getattr(style, "numFmtId", None) in EAST_ASIAN_DATE_FORMATS
    }


def _workbook_open(data: bytes):
    from openpyxl import load_workbook  # imported here: only the import pages need it

    _unpacked_size_check(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # any damage in an untrusted file means "not a workbook"
        _refusal_log("Upload is not a readable workbook", error)
        raise _not_a_workbook() from error
    _east_asian_dates_read(workbook)
    return workbook


def _workbook_sheet(workbook):
    """The sheet the clerk sees on opening the file: the active one (open when it was saved),
    or the first visible one. A hidden sheet (an old version kept out of sight) is never read."""
    if not workbook.worksheets:
        raise SheetFileError(_("The workbook has no sheet."))
    visible = [sheet for sheet in workbook.worksheets if sheet.sheet_state == "visible"]
    if not visible:
        raise SheetFileError(
            _("Every sheet of the workbook is hidden. Show the sheet with the table and save it.")
        )
    active = workbook.active
    return active if any(sheet is active for sheet in visible) else visible[0]


MERGE_PATTERN = re.compile(
    rb"<(?:\w+:)?mergeCell\s+ref=\"\$?([A-Z]{1,3})\$?([0-9]{1,7}):\$?([A-Z]{1,3})\$?([0-9]{1,7})\""
)
MAX_MERGED_CELLS = 1_000_000  # cells a workbook's merges may fill in all


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - ord("A") + 1
    return number


def _merged_ranges(data: bytes, sheet) -> list[tuple[int, int, int]]:
    """The sheet's merged cells that span rows, as (first row, last row, column) of the
    column its value is in: a roster saved by WPS or Excel with one household's number,
    group and head merged down its rows shows them on every row, so every row reads them.
    A merge across columns only (a title over the table) fills nothing."""
    path = getattr(sheet, "_worksheet_path", None)  # openpyxl's read-only sheet has no merges
    if not path:
        return []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = archive.read(path.lstrip("/"))  # its size is bounded (_unpacked_size_check)
    ranges = []
    cells = 0
    for first_column, first_row, last_column, last_row in MERGE_PATTERN.findall(xml):
        column = _column_number(first_column)
        first, last = int(first_row), min(int(last_row), MAX_ROW_NUMBER + 1)
        if last > first and column <= MAX_COLUMNS and _column_number(last_column) >= column:
            cells += last - first
            if cells > MAX_MERGED_CELLS:
                raise SheetFileError(
                    _("The sheet has too many merged cells. Unmerge them and upload it again.")
                )
            ranges.append((first, last, column))
    return sorted(ranges)


def _rows_from_sheet(sheet, merged=()):
    try:
        # The size the sheet states may be wrong (openpyxl would pad empty rows up to it);
        # missing rows before a row that is there are still padded: counted below.
        sheet.reset_dimensions()
        waiting = list(reversed(merged))  # by first row, the next one last
        filling = []  # [last row, column, the value] of the merges spanning this row
        for line, values in enumerate(
            sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1
        ):
            if line > MAX_ROW_NUMBER:
                raise _too_many_rows()
            if waiting or filling:
                values = list(values)
                filling = [merge for merge in filling if merge[0] >= line]
                for _last, column, value in filling:
                    if column <= len(values):
                        values[column - 1] = value
                while waiting and waiting[-1][0] <= line:
                    first, last, column = waiting.pop()
                    if first == line and column <= len(values):
                        filling.append([last, column, values[column - 1]])
            if values.count(None) < len(values):  # empty rows are skipped quickly
                numbers = {
                    index: value
                    for index, value in enumerate(values)
                    if isinstance(value, int | float) and not isinstance(value, bool)
                }
                yield line, [cell_text(value) for value in values], numbers
    except SheetFileError:
        raise
    except Exception as error:
        _refusal_log("Uploaded workbook is damaged", error)
        raise _not_a_workbook() from error


def _sheets_alike(workbook, read, columns) -> list[str]:
    """The names of the workbook's other visible sheets with a row naming every required
    column among their first rows: tables of the same kind that the import does not read
    (a paper ledger kept a sheet per village group). A template's help sheet names one column
    a row."""
    required = {column.key for column in columns if column.required}
    lookup = _header_lookup(columns)
    alike = []
    for sheet in workbook.worksheets:
        if sheet is read or sheet.sheet_state != "visible":
            continue
        for values in sheet.iter_rows(max_row=MAX_TITLE_ROWS + 2, values_only=True):
            names = (_normalise_header(cell_text(value)) for value in values[:MAX_COLUMNS])
            if required <= {lookup.get(name) for name in names}:
                alike.append(sheet.title[:MAX_TITLE])
                break
    return alike


def _rows_from_xlsx(data: bytes, columns, max_rows: int, no_rows: str) -> SheetRows:
    workbook = _workbook_open(data)
    try:
        sheet = _workbook_sheet(workbook)
        try:
            rows = _rows_from_sheet(sheet, _merged_ranges(data, sheet))
            parsed = _rows_with_header(rows, columns, max_rows, no_rows, epoch=workbook.epoch)
            parsed.titles.insert(0, sheet.title)
            parsed.sheet = sheet.title[:MAX_TITLE]
            parsed.unread_sheets = _sheets_alike(workbook, sheet, columns)
            return parsed
        except SheetFileError as error:
            if len(workbook.sheetnames) == 1:
                raise
            # Which sheet was read, when the workbook has several (the help sheet of a
            # template, left open when it was saved).
            raise SheetFileError(
                _('Sheet "%(sheet)s" (the one open when the file was saved): %(error)s')
                % {"sheet": sheet.title, "error": error}
            ) from error
    finally:
        workbook.close()


def _csv_encodings(data: bytes) -> tuple[str, ...]:
    """What a table saved as text may be written in: UTF-16 when it starts with its mark
    (Excel's "Unicode text"), else UTF-8 (with or without its mark) or, as Chinese Excel and
    WPS save a CSV by default, GB18030 (which reads GBK)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return ("utf-16",)
    return ("utf-8-sig", "gb18030")


def _csv_delimiter(text: str) -> str:
    """A comma, or a tab when the first line has more tabs than commas: Excel's "Unicode
    text" and "text (tab delimited)", and rows copied out of a sheet into Notepad."""
    first = text.lstrip("\r\n").split("\n", 1)[0]
    return "\t" if first.count("\t") > first.count(",") else ","


def _rows_from_csv(data: bytes):
    for encoding in _csv_encodings(data):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise SheetFileError(_("The CSV file's text could not be read. Save it as UTF-8 CSV."))
    if "\x00" in text:
        raise SheetFileError(_("This is not a CSV text file."))
    line = 0
    try:
        reader = csv.reader(io.StringIO(text), delimiter=_csv_delimiter(text))
        for line, values in enumerate(reader, start=1):
            if line > MAX_ROW_NUMBER:
                raise _too_many_rows()
            yield line, [cell_text(value) for value in values[:MAX_COLUMNS]], {}
    except csv.Error as error:
        raise SheetFileError(
            _("The CSV file is damaged near row %(line)d.") % {"line": line + 1}
        ) from error


def sheet_parse(upload, columns: tuple[Column, ...], *, max_rows: int, no_rows: str) -> SheetRows:
    """Read an uploaded file into rows of `columns` (SheetFileError for files that are no
    such table). `no_rows` is the message for a header without rows."""
    name = (getattr(upload, "name", "") or "").lower()
    if upload.size > MAX_BYTES:
        raise SheetFileError(
            _(
                "The file is too large (%(size)d KB); an import takes %(limit)d KB at most. "
                "Delete the pictures and the sheets and rows other than the table, or split "
                "it into smaller files, and upload it again."
            )
            % {"size": upload.size // 1024, "limit": MAX_BYTES // 1024}
        )
    if name.endswith(".xls"):
        raise _old_excel()
    data = upload.read(MAX_BYTES + 1)
    if not data.strip():
        raise SheetFileError(_("The file is empty."))
    if data[:8] == COMPOUND_FILE:
        raise _compound_file(data)
    if data[:4] == b"PK\x03\x04":
        return _rows_from_xlsx(data, columns, max_rows, no_rows)
    if name.endswith(".xlsx"):
        raise _not_a_workbook()
    if not name.endswith(ACCEPTED_SUFFIXES):
        raise SheetFileError(
            _("Upload an Excel (.xlsx), CSV (.csv) or tab-separated text (.txt) file.")
        )
    return _rows_with_header(_rows_from_csv(data), columns, max_rows, no_rows)


def _serial_day(value, epoch) -> str | None:
    """The day (YYYY-MM-DD) a date column's number cell gives as a serial number (a whole
    number within SERIAL_DAYS, counted from the workbook's `epoch`), or None."""
    if epoch is None or not float(value).is_integer() or int(value) not in SERIAL_DAYS:
        return None
    from openpyxl.utils.datetime import from_excel

    return from_excel(int(value), epoch).date().isoformat()


def _rows_with_header(rows, columns, max_rows: int, no_rows: str, epoch=None) -> SheetRows:
    """The rows under the header, each keyed by column; `rows` gives (line, the cells' text,
    {index: value} of its number cells), `epoch` is the workbook's first day (None for a
    text file, whose cells are all text)."""
    keys = [column.key for column in columns]
    dates = {column.key for column in columns if column.date}
    header = None
    candidate = None  # the first row naming a column: the header, or its upper row
    candidate_line = first_line = 0  # the candidate's row number; the first row's with text
    parsed = []
    text = 0
    titles = []  # rows above the column names that name no column: a sheet's title
    for line, values, numbers in rows:
        if not any(values):
            continue
        first_line = first_line or line
        if header is None:
            if candidate is None:
                if len(titles) < MAX_TITLE_ROWS and not _header_map(values, columns, whole=False):
                    titles.append(values)
                    continue
                candidate, candidate_line = values, line
                continue
            two_rows = _header_below(candidate, values, columns)
            names = two_rows or candidate
            header = _header_map(names, columns, line=candidate_line)  # says what is missing
            unread = [
                name[:MAX_UNREAD_NAME]
                for index, name in enumerate(names)
                if name and index not in header
            ]
            if two_rows is not None:
                continue
        if len(parsed) >= max_rows:
            raise SheetFileError(
                _("The file has more than %(max)d rows. Split it into smaller files.")
                % {"max": max_rows}
            )
        record = dict.fromkeys(keys, "")
        number_cells = set()
        for index, key in header.items():
            if index < len(values):
                value = values[index]
                if index in numbers:
                    day = _serial_day(numbers[index], epoch) if key in dates else None
                    if day is None:
                        number_cells.add(key)
                    else:
                        value = day
                if len(value) > MAX_CELL:
                    raise SheetFileError(
                        _(
                            "Row %(line)d has a cell of %(length)d characters; a cell of this "
                            "table holds %(max)d at most."
                        )
                        % {"line": line, "length": len(value), "max": MAX_CELL}
                    )
                text += len(value)
                record[key] = value
        if text > MAX_TEXT:
            raise SheetFileError(
                _("The file holds more text than an import takes. Split it into smaller files.")
            )
        parsed.append(SheetRow(line=line, values=record, number_cells=frozenset(number_cells)))
    if header is None:
        if candidate is not None:  # the column names, and no row below them
            _header_map(candidate, columns, line=candidate_line)
            raise SheetFileError(no_rows)
        if titles:  # no row names a column: the first is said to be no header
            _header_map(titles[0], columns, line=first_line)
        raise SheetFileError(_("The file is empty."))
    if not parsed:
        raise SheetFileError(no_rows)
    return SheetRows(parsed, unread, [" ".join(filter(None, title)) for title in titles])


def _header_lookup(columns) -> dict[str, str]:
    """Every accepted name of a column, as compared (_normalise_header) -> the column's key."""
    return {
        _normalise_header(name): column.key
        for column in columns
        for name in (column.header, column.english, column.key, *column.aliases)
    }


def _header_below(above: list[str], below: list[str], columns) -> list[str] | None:
    """The column names of a header two rows high, if `below` is its lower row; else None.

    A roster groups columns under a cell merged across them (家庭成员 over 姓名, 与户主关系
    and 性别), and merges the other names down both rows, which shows them on both. The
    lower row goes on naming columns: each of its cells is empty, the cell above it, or a
    column's name, and it names one the upper row does not. A row of data is never made of
    column names alone. A column is named by its two cells read as one (户主 over 姓名 is
    户主姓名), or else by its lower cell: what the grouping cell above divides. A lower row
    of the upper one's cells alone is a header merged down two rows, nothing divided."""
    lookup = _header_lookup(columns)
    named_above = {lookup.get(_normalise_header(value)) for value in above}
    names = [*above, *[""] * (len(below) - len(above))]
    adds = False
    copies = True
    for index, value in enumerate(below):
        upper = above[index] if index < len(above) else ""
        if not value or value == upper:
            continue
        copies = False
        name = next(
            (name for name in (upper + value, value) if _normalise_header(name) in lookup), None
        )
        if name is None:
            return None
        names[index] = name
        adds = adds or lookup[_normalise_header(name)] not in named_above
    return names if adds or copies else None


def _header_map(values: list[str], columns, *, whole: bool = True, line: int = 1) -> dict[int, str]:
    """Column index -> key, from the header row (Chinese or English names), row `line` of the
    file; `whole=False` only reads which columns the row names (none: a title above the
    table)."""
    lookup = _header_lookup(columns)
    header = {}
    seen = {}
    for index, value in enumerate(values):
        key = lookup.get(_normalise_header(value))
        if key is None:
            continue
        if not whole:
            return {index: key}
        if key in seen:
            raise SheetFileError(
                _('The column "%(name)s" appears twice (columns %(first)d and %(second)d).')
                % {"name": value, "first": seen[key] + 1, "second": index + 1}
            )
        seen[key] = index
        header[index] = key
    if not whole:
        return header
    missing = [column for column in columns if column.required and column.key not in seen]
    if missing and line > 1:
        # A title of more rows than MAX_TITLE_ROWS: "the first row" named the wrong one.
        raise SheetFileError(
            _(
                "Row %(line)d is read as the column names. Missing: %(missing)s. If the "
                "column names are on a lower row, delete rows of title above them: at most "
                "%(titles)d may stand there. Download the template to see the expected columns."
            )
            % {
                "line": line,
                "missing": list_join(f"{c.header} ({c.english})" for c in missing),
                "titles": MAX_TITLE_ROWS,
            }
        )
    if missing:
        raise SheetFileError(
            _(
                "The first row must hold the column names. Missing: %(missing)s. "
                "Download the template to see the expected columns."
            )
            % {"missing": list_join(f"{c.header} ({c.english})" for c in missing)}
        )
    return header


def row_append(sheet, values) -> None:
    """Append one row; text stays text and never stops the file being written.

    openpyxl stores any string that starts with "=" as a formula, so a name or a reason
    typed as "=HYPERLINK(...)" would reach Excel as a live one: such cells are written as
    strings with Excel's quote prefix (text on edit too). And it refuses the control
    characters XML cannot hold (a reason pasted with a stray \x01 made the whole notice's
    .xlsx fail): they are left out.
    """
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    sheet.append(
        [
            ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value
            for value in values
        ]
    )
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":
            cell.data_type = "s"
            cell.quotePrefix = True


def text_workbook(columns, title: str, rows: int = 1000):
    """A workbook whose first sheet has `columns`' headers over cells formatted as text
    (Excel would round an 18-digit number and drop a household number's leading zeros)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    row_append(sheet, [column.header for column in columns])
    for index, column in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = 20 if column.key == "id_number" else 12
        for row in range(2, rows + 2):
            sheet.cell(row=row, column=index).number_format = "@"
    return workbook


# --- the rows waiting between the preview and the confirmation --------------------------------


def pending_store(request, session_key: str, *, file_name: str, rows, **extra) -> None:
    """Keep the parsed rows in the uploader's session for the preview and confirmation, with
    the file's columns that are not read (SheetRows.unread) for the preview to name."""
    request.session[session_key] = {
        "village_id": request.village.pk,
        "file_name": file_name[:100],
        "token": secrets.token_urlsafe(16),
        "uploaded_at": timezone.now().timestamp(),
        "rows": [row.as_data() for row in rows],
        "unread": list(getattr(rows, "unread", [])),
        "titles": [title[:MAX_TITLE] for title in getattr(rows, "titles", [])],
        "sheet": getattr(rows, "sheet", ""),
        "unread_sheets": list(getattr(rows, "unread_sheets", [])),
        **extra,
    }


def pending_rows(
    request, session_key: str, keys
) -> tuple[list[SheetRow] | None, dict | None, bool]:
    """The rows this user uploaded for this village within the hour, if any, the stored
    upload, and whether an older upload was just dropped (it waits an hour at most)."""
    pending = request.session.get(session_key)
    if not pending:
        return None, None, False
    uploaded = pending.get("uploaded_at")
    age = timezone.now().timestamp() - uploaded if isinstance(uploaded, float) else None
    if age is None or age > PENDING_FOR.total_seconds():
        del request.session[session_key]
        return None, None, True
    if pending.get("village_id") != request.village.pk:
        return None, None, False
    return [SheetRow.from_data(data, keys) for data in pending["rows"]], pending, False
