"""The files a village really has, through the pages of both imports (core.spreadsheet):
saved by Excel or WPS, with what a clerk's hands and a Chinese input method put in them."""

import html
import io
import re
import zipfile
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from tests.conftest import form_key
from tests.factories import valid_id
from tests.points.test_carry_over import good_rows as paper_rows
from tests.villagers.conftest import english  # noqa: F401  (autouse: English messages)
from tests.villagers.test_roster import HEADER as ROSTER_HEADER
from tests.villagers.test_roster import good_rows as roster_rows
from villagers.models import Member

PAPER_HEADER = ["户号", "户主姓名", "结转余额", "日期", "积分变动", "事由"]


@pytest.fixture
def groups(group_x, village_x):
    from tests.factories import VillageGroupFactory

    return [group_x, VillageGroupFactory(village=village_x, name="富莊")]


def workbook_bytes(rows, header, *, above=(), merges=()) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in [*above, *([header] if header else []), *rows]:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def excel_saved(data: bytes, values: dict[str, str]) -> bytes:
    """The workbook with number cells' stored values as Excel writes them: openpyxl writes a
    number to the 15 digits shown, Excel the double behind it (`values`: what openpyxl wrote
    -> what Excel would have)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for written, excel in values.items():
                    assert f"<v>{written}</v>".encode() in content
                    content = content.replace(
                        f"<v>{written}</v>".encode(), f"<v>{excel}</v>".encode()
                    )
            archive.writestr(item.filename, content)
    return buffer.getvalue()


def roster_upload(client, data: bytes, name="roster.xlsx"):
    return client.post(reverse("villagers:roster_upload"), {"file": SimpleUploadedFile(name, data)})


def paper_upload(client, data: bytes, paper_total, name="paper.xlsx"):
    return client.post(
        reverse("points:carry_over_upload"),
        {"file": SimpleUploadedFile(name, data), "paper_total": paper_total},
    )


def previewed(client, response):
    """The preview's check of an upload the page took."""
    assert response.status_code == 302, response.context["form"].errors
    return client.get(response.url).context["check"]


def refusal(response) -> str:
    assert response.status_code == 200
    return " ".join(response.context["form"].errors["file"])


# --- numbers as the spreadsheet shows them ---------------------------------------------------


def _id_whose_cut_passes_its_check() -> tuple[str, str]:
    """An ID number, and its first 15 digits followed by 000 (as Excel keeps it typed into a
    number cell) that happen to end in their own check digit."""
    for serial in range(1000):
        whole = valid_id(f"11010519650304{serial:03d}")
        cut = whole[:15] + "000"
        if valid_id(cut[:17]) == cut and cut != whole:
            return whole, cut
    raise AssertionError("none found")


def test_an_id_number_cut_by_a_number_cell_is_refused_never_registered(client_manager_x, groups):
    """Found by a probe: an ID number typed into a number cell keeps 15 digits, stored as
    1.10105196503042E+17; read as 110105196503042000, one in eleven such numbers passed the
    check digit and was registered as the person's."""
    _whole, cut = _id_whose_cut_passes_its_check()
    rows = roster_rows()
    rows[0][7] = 12345  # a number cell, its value as Excel stores it put in below
    data = excel_saved(workbook_bytes(rows, ROSTER_HEADER), {"12345": "1.10105196503042E+17"})
    check = previewed(client_manager_x, roster_upload(client_manager_x, data))
    assert not check.is_valid
    assert check.error_lines() == [
        "Row 2: The ID number is not a valid 18-character ID number. If Excel shows it like "
        "6.1E+17, format the column as text and type it again."
    ]
    assert cut not in client_manager_x.get(reverse("villagers:roster_preview")).text
    assert not Member.objects.filter(id_number=cut).exists()


def test_a_number_worked_out_by_a_formula_is_read_as_shown(
    client_manager_x, card_a, card_b, household_a
):
    """Found by a probe: a balance worked out as =100*1.1 is stored as 110.00000000000001
    and shown as 110; it was refused as 'not a whole number'."""
    rows = [["X001", "王大山", 110, None, None, None], ["X002", "李秀英", 80, None, None, None]]
    data = excel_saved(workbook_bytes(rows, PAPER_HEADER), {"110": "110.00000000000001"})
    check = previewed(client_manager_x, paper_upload(client_manager_x, data, "190"))
    assert check.is_valid, check.error_lines()
    assert {plan.household: plan.paper_balance for plan in check.plans}[household_a] == 110


# --- what a Chinese input method types --------------------------------------------------------


def _id_ending_in_x(first14="61063019650304") -> str:
    return next(
        number
        for serial in range(100)
        if (number := valid_id(f"{first14}{serial:03d}")).endswith("X")
    )


def _full_width(text: str) -> str:
    """As typed in a Chinese input method's full-width mode: digits, X and spaces."""
    return "".join(
        "\u3000" if char == " " else chr(ord(char) + 0xFEE0) if char.isalnum() else char
        for char in text
    )


def test_an_id_number_and_phone_typed_full_width_are_read_as_typed_half_width(
    client_manager_x, groups, household_b
):
    """Found by a probe: an ID number typed in full-width mode ends in Ｘ, and a number or a
    phone typed in groups has full-width spaces: the ID number was refused as 'not a valid
    18-character ID number. If Excel shows it like 6.1E+17...', the phone as not valid. Read
    as the full-width digits already were, by the roster and the member form alike."""
    id_number = _id_ending_in_x()
    grouped = f"{id_number[:6]} {id_number[6:14]} {id_number[14:]}"
    rows = roster_rows()[:1]
    rows[0][1:8] = ["啊道", "张三", "张三", "户主", "男", "1965", _full_width(grouped)]
    rows[0][8] = _full_width("139 0000 0001")
    response = roster_upload(client_manager_x, workbook_bytes(rows, ROSTER_HEADER))
    check = previewed(client_manager_x, response)
    assert check.is_valid, check.error_lines()
    member = check.households[0]["members"][0]
    assert (member["id_number"], member["phone"]) == (id_number, "139 0000 0001")

    url = reverse("villagers:member_create", kwargs={"pk": household_b.pk})
    other = _id_ending_in_x("61063019900101")
    typed = _full_width(other).replace("Ｘ", "ｘ")  # the form's field takes 18 characters
    data = {"name": "李小花", "relation": "child", "sex": "F", "birth_year": "1990"}
    data |= {"id_number": typed, "phone": _full_width("139 1234 5670")}
    response = client_manager_x.post(url, {**data, "idempotency_key": form_key()})
    assert response.status_code == 302, response.context["form"].errors
    member = Member.objects.get(household=household_b)
    assert (member.id_number, member.phone) == (other, "139 1234 5670")


# --- the column names as a village writes them -------------------------------------------------

ROSTER_TOP = ["户号", "村民小组", "户主姓名", "家庭成员", None, None, None, "身份证号", "联系电话",
              "住址", "贫困户", "脱贫年份"]  # fmt: skip
ROSTER_BELOW = [None, None, None, "姓名", "与户主关系", "性别", "出生年份"]
PAPER_TOP = ["户号", "户主姓名", "结转余额", "纸质台账明细", None, None]
PAPER_BELOW = [None, None, None, "日期", "积分变动", "事由"]


def _two_rows_high(top, below, merged_across):
    """Merged as a clerk does: the grouping cell across its columns, the rest down both rows."""
    letters = "ABCDEFGHIJKL"[: len(top)]
    first, last = merged_across
    down = [f"{letter}1:{letter}2" for letter in letters if not first <= letter <= last]
    return {"header": None, "above": [top, below], "merges": [*down, f"{first}1:{last}1"]}


def test_a_header_two_rows_high_is_read_as_shown(
    client_manager_x, groups, card_a, card_b, household_a
):
    """Found by a probe: a roster grouping 姓名, 与户主关系, 性别 and 出生年份 under a cell
    家庭成员 merged across them read its second header row as a person ('Unknown village
    group "村民小组"', six messages) and left those four columns unread; the paper ledger's
    dated lines under one grouping cell alike."""
    data = workbook_bytes(roster_rows(), **_two_rows_high(ROSTER_TOP, ROSTER_BELOW, "DG"))
    check = previewed(client_manager_x, roster_upload(client_manager_x, data))
    assert check.is_valid, check.error_lines()
    assert [report.row.line for report in check.reports] == [3, 4, 5, 6]
    assert [m["name"] for m in check.households[0]["members"]] == ["张三", "李四", "张小"]

    data = workbook_bytes(paper_rows(), **_two_rows_high(PAPER_TOP, PAPER_BELOW, "DF"))
    check = previewed(client_manager_x, paper_upload(client_manager_x, data, "430"))
    assert check.is_valid, check.error_lines()
    history = {plan.household: plan.history for plan in check.plans}[household_a]
    assert [line["what"] for line in history] == ["发卡基础分", "五好家庭", "兑换大米"]

    # A header two rows tall, each name merged down both: its lower row is no person either.
    merges = [f"{letter}1:{letter}2" for letter in "ABCDEFGHIJKL"]
    data = workbook_bytes(roster_rows(), None, above=[ROSTER_HEADER, []], merges=merges)
    check = previewed(client_manager_x, roster_upload(client_manager_x, data))
    assert check.is_valid, check.error_lines()
    assert [report.row.line for report in check.reports] == [3, 4, 5, 6]


def test_a_title_of_several_cells_and_names_wrapped_or_with_a_note_are_read(
    client_manager_x, groups
):
    """Found by a probe: a line 填报单位：啊道村 填报日期：2024.3.5 in four cells above the
    table was read as the header ('the first row must hold the column names'); a header cell
    wrapped onto two lines (户主 over 姓名 in one cell) named no column, and one with a note
    (身份证号码（18位）) was left unread without a word, its ID numbers with it."""
    header = [*ROSTER_HEADER]
    header[0], header[2], header[7], header[8] = (
        "*户号",
        "户主\n姓名",
        "身份证号码（18位）",
        "联系电话(手机)",
    )
    above = [["啊道村户籍花名册"], ["填报单位：", "啊道村", "填报日期：", "2024.3.5"]]
    data = workbook_bytes(roster_rows(), header, above=above)
    check = previewed(client_manager_x, roster_upload(client_manager_x, data))
    assert check.is_valid, check.error_lines()
    head = check.households[0]["members"][0]
    assert (head["id_number"], head["phone"]) == (roster_rows()[0][7], "13900000001")


def test_the_preview_names_the_columns_it_does_not_read(client_manager_x, groups, card_a, card_b):
    """Found by a probe: a column filled in under a name the import does not know (微信号
    beside 联系电话, where the clerk wrote the phones) was left out without a word, its cells
    with it; a 序号 or a 备注 alike, harmlessly. The preview names them, on both imports."""
    header = ["序号", *ROSTER_HEADER[:8], "微信号", *ROSTER_HEADER[9:], "民族"]
    rows = [
        [str(index), *row[:8], "13900000009", *row[9:], "汉"]
        for index, row in enumerate(roster_rows())
    ]
    response = roster_upload(client_manager_x, workbook_bytes(rows, header))
    page = client_manager_x.get(response.url)
    assert page.context["check"].is_valid
    said = "These columns of the file are not read: 序号, 微信号, 民族."
    assert said in html.unescape(page.text)

    rows = [[*row, "补记"] for row in paper_rows()]
    response = paper_upload(client_manager_x, workbook_bytes(rows, [*PAPER_HEADER, "备注"]), "430")
    page = client_manager_x.get(response.url)
    assert page.context["check"].is_valid
    assert "These columns of the file are not read: 备注." in html.unescape(page.text)
    # A file read whole says nothing of it.
    response = paper_upload(client_manager_x, workbook_bytes(paper_rows(), PAPER_HEADER), "430")
    assert "not read" not in client_manager_x.get(response.url).text


def test_a_roster_s_usual_column_names_and_birth_dates_are_read(client_manager_x, groups):
    """Found by a probe: a roster's 出生年月 (1965.03), 身份证, 手机号码 and 家庭住址 named no
    column: the ID numbers, phones and addresses were left out, and every row without an ID
    number was refused as 'the birth year is missing'. A birth year written as a day
    (1968年9月12日) was refused, though the same day in a date cell was read."""
    header = [*ROSTER_HEADER]
    header[6:10] = ["出生年月", "身份证", "手机号码", "家庭住址"]
    rows = roster_rows()
    rows[0][6], rows[1][6], rows[2][6], rows[3][6] = "1965.03", "1968年9月12日", "1990年", "1970-1"
    check = previewed(
        client_manager_x, roster_upload(client_manager_x, workbook_bytes(rows, header))
    )
    assert check.is_valid, check.error_lines()
    first, second = check.households
    assert [member["birth_year"] for member in first["members"]] == [1965, 1968, 1990]
    assert second["members"][0]["birth_year"] == 1970
    assert first["members"][0]["id_number"] == roster_rows()[0][7]
    assert (first["phone"], first["address"]) == ("13900000001", "一组1号")
    for month in ("1965.13", "1965年0月", "1965.3.32"):
        rows[0][6] = month
        response = roster_upload(client_manager_x, workbook_bytes(rows, header))
        assert not previewed(client_manager_x, response).is_valid, month


# --- files saved another way -----------------------------------------------------------------

COMPOUND_FILE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
OLD_EXCEL = COMPOUND_FILE + b"\x00" * 504 + "Workbook".encode("utf-16-le") + b"\x00" * 400
LOCKED = COMPOUND_FILE + b"\x00" * 504 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 400


def _upload_to(client, which: str, data: bytes, name: str):
    if which == "roster":
        return roster_upload(client, data, name)
    return paper_upload(client, data, "430", name)


@pytest.mark.parametrize("which", ["roster", "paper"])
@pytest.mark.parametrize(
    ("data", "name", "said"),
    [
        (OLD_EXCEL, "roster.xlsx", "Old Excel .xls files cannot be read"),
        (OLD_EXCEL, "roster.csv", "Old Excel .xls files cannot be read"),
        (LOCKED, "roster.xlsx", "This workbook is locked with a password to open it"),
    ],
)
def test_an_old_or_locked_workbook_is_refused_with_its_cause(
    client_manager_x, groups, which, data, name, said
):
    """Found by a probe: an old .xls saved under .xlsx was told to be saved again as .xlsx
    (which it said it was), under .csv that its text could not be read; a workbook locked
    with a password to open it, saved again as told, was refused again the same way."""
    assert said in refusal(_upload_to(client_manager_x, which, data, name))


def test_a_table_saved_as_unicode_or_tab_separated_text_is_read(client_manager_x, groups):
    """Found by a probe: Excel's "Unicode text" (UTF-16, tabs between the cells) was refused
    as unreadable, and rows copied into Notepad (tabs, UTF-8) as having no column names."""
    lines = ["\t".join(ROSTER_HEADER), *("\t".join(row) for row in roster_rows())]
    text = "\r\n".join(lines) + "\r\n"
    for data, name in [
        (b"\xff\xfe" + text.encode("utf-16-le"), "roster.txt"),
        (text.encode("utf-8"), "roster.csv"),
        (text.replace("\t", ",").encode("gbk"), "roster.csv"),
    ]:
        check = previewed(client_manager_x, roster_upload(client_manager_x, data, name))
        assert check.is_valid and len(check.reports) == 4, (name, check.error_lines())


def _upload_page(client, which: str):
    name = "villagers:roster_upload" if which == "roster" else "points:carry_over_upload"
    return html.unescape(client.get(reverse(name)).text)


@pytest.mark.parametrize("which", ["roster", "paper"])
def test_the_file_picker_offers_every_kind_of_file_read(client_manager_x, groups, which):
    """Found by a probe: the picker offered .xlsx and .csv only (on a phone, a .txt saved as
    Excel's "Unicode text" could not be chosen) and the page named those two, though a
    table saved as text is read. The picker, the page and the refusal name what is read."""
    page = _upload_page(client_manager_x, which)
    accept = re.search(r'accept="([^"]*)"', page)[1]
    assert accept.split(",") == [".xlsx", ".csv", ".txt"]
    assert ".xlsx, .csv or .txt" in page  # the field's label
    assert "tab-separated text (.txt)" in page  # the page's words
    text = "\t".join(ROSTER_HEADER) + "\n" + "\t".join(roster_rows()[3]) + "\n"
    for suffix in accept.split(","):
        data = text.encode() if suffix != ".xlsx" else workbook_bytes(roster_rows(), ROSTER_HEADER)
        response = roster_upload(client_manager_x, data, f"roster{suffix}")
        assert response.status_code == 302, suffix
    said = refusal(roster_upload(client_manager_x, text.encode(), "roster.pdf"))
    assert "Excel (.xlsx), CSV (.csv) or tab-separated text (.txt)" in said


# --- large files ---------------------------------------------------------------------------------


def test_fifty_thousand_rows_are_refused_in_words_at_once(client_manager_x, groups):
    """A whole township's table, 50,000 rows, saved as CSV (under the 2 MB bound): refused in
    words by either import, well within a request, nothing kept for a preview."""
    import time

    roster = "\n".join([",".join(ROSTER_HEADER[:3]), *(f"B{i},啊道,人{i}" for i in range(50_000))])
    paper = "\n".join([",".join(PAPER_HEADER[:3]), *(f"B{i},人{i},{i}" for i in range(50_000))])
    for which, text, said in [
        ("roster", roster, "The file has more than 3000 rows. Split it into smaller files."),
        ("paper", paper, "The file has more than 20000 rows. Split it into smaller files."),
    ]:
        started = time.monotonic()
        response = _upload_to(client_manager_x, which, text.encode("gbk"), "big.csv")
        assert refusal(response) == said
        assert time.monotonic() - started < 2, which
    assert not {"roster_upload", "carry_over_upload"} & set(client_manager_x.session.keys())


def test_a_preview_lists_so_many_rows_and_says_so(
    client_manager_x, groups, card_a, card_b, monkeypatch
):
    """Found by a probe: a paper ledger of 20,000 rows (the most it takes) drew a preview of
    5.5 MB in 6 s, every row listed twice over; the roster's 3,000 rows alike. A preview lists
    core.spreadsheet.PREVIEW_ROWS of every row and of the rows with problems, and says so."""
    monkeypatch.setattr("core.spreadsheet.PREVIEW_ROWS", 2)
    rows = roster_rows()
    rows[1][1] = rows[2][1] = rows[3][1] = "不存在组"
    page = client_manager_x.get(
        roster_upload(client_manager_x, workbook_bytes(rows, ROSTER_HEADER)).url
    )
    assert len(page.context["lines"]) == len(page.context["problems"]) == 2
    assert page.context["bad_rows"] == 3  # counted whole
    text = html.unescape(page.text)
    assert "The first 2 of 3 rows are shown here; every row was checked." in text
    assert "The first 2 of 4 rows are shown here; every row was checked." in text

    response = paper_upload(client_manager_x, workbook_bytes(paper_rows(), PAPER_HEADER), "430")
    page = client_manager_x.get(response.url)
    assert page.context["check"].is_valid and page.context["payload"]  # every row imported
    assert len(page.context["lines"]) == 2 and page.context["problems"] == []
    assert "The first 2 of 5 rows are shown here" in html.unescape(page.text)


# --- dates as Chinese Excel keeps them ---------------------------------------------------------


def _east_asian_date_cell(rows, header, cell: str, serial: int, format_id: int) -> bytes:
    """A workbook whose `cell` holds the day's serial number under built-in format
    `format_id`, as Chinese Excel saves a day typed as 2024年3月5日 (31) or a month typed as
    1965年3月 (57): by number alone, no format code in the file."""
    workbook = Workbook()
    sheet = workbook.active
    for row in [header, *rows]:
        sheet.append(row)
    sheet[cell] = serial
    sheet[cell].number_format = "0.00"  # built-in 2, the one cell with it, renumbered below
    buffer = io.BytesIO()
    workbook.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/styles.xml":
                assert content.count(b'<xf numFmtId="2" ') == 1
                content = content.replace(
                    b'<xf numFmtId="2" ', f'<xf numFmtId="{format_id}" '.encode()
                )
            archive.writestr(item.filename, content)
    return out.getvalue()


def test_a_day_or_month_typed_in_chinese_excel_is_read_as_a_date(
    client_manager_x, groups, card_a, card_b, household_a
):
    """Found by a probe: Chinese Excel and WPS keep a day typed as 2024年3月5日 under their
    built-in format 31, which openpyxl does not know: the paper ledger's line read 45356 and
    was refused as 'not a date like 2021-03-15', the roster's birth month 1965年3月 (57) as
    no year."""
    data = _east_asian_date_cell(paper_rows(), PAPER_HEADER, "D3", 45356, 31)  # 2024-03-05
    check = previewed(client_manager_x, paper_upload(client_manager_x, data, "430"))
    assert check.is_valid, check.error_lines()
    history = {plan.household: plan.history for plan in check.plans}[household_a]
    assert [line["date"] for line in history] == ["2021-06-15", "2023-01-20", "2024-03-05"]

    rows = roster_rows()
    data = _east_asian_date_cell(rows, ROSTER_HEADER, "G5", 25628, 57)  # 1970-03-01
    check = previewed(client_manager_x, roster_upload(client_manager_x, data))
    assert check.is_valid, check.error_lines()
    assert check.households[1]["members"][0]["birth_year"] == 1970


def _number_in(rows, header, cell: str, value, *, epoch=None) -> bytes:
    """A workbook whose `cell` is a plain number cell (General) holding `value`."""
    workbook = Workbook()
    if epoch is not None:
        workbook.epoch = epoch
    sheet = workbook.active
    for row in [header, *rows]:
        sheet.append(row)
    sheet[cell] = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_day_s_serial_number_in_a_date_column_is_read_as_that_day(
    client_manager_x, groups, card_a, card_b, household_a
):
    """Found by a probe: a date cell whose format was lost (pasted as values, set to
    General) shows its serial number, 45356 for 2024-03-05, and was refused as no date.
    Read as a day in a date column only, and only from 20000 to 80000 (no year and no day
    of 8 digits); by the workbook's own calendar (a Mac workbook counts from 1904)."""
    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    for value, epoch in [(45356, None), (45356.0, None), (43894, CALENDAR_MAC_1904)]:
        data = _number_in(paper_rows(), PAPER_HEADER, "D3", value, epoch=epoch)
        check = previewed(client_manager_x, paper_upload(client_manager_x, data, "430"))
        assert check.is_valid, (value, check.error_lines())
        history = {plan.household: plan.history for plan in check.plans}[household_a]
        assert [line["date"] for line in history] == ["2021-06-15", "2023-01-20", "2024-03-05"]

    for value in (19999, 80001, 45356.5):
        data = _number_in(paper_rows(), PAPER_HEADER, "D3", value)
        check = previewed(client_manager_x, paper_upload(client_manager_x, data, "430"))
        assert f'The date "{value}" is not a date' in " ".join(check.error_lines()), value

    # A roster's 出生日期 (a date column: its year is read), and no other column.
    header = [*ROSTER_HEADER[:6], "出生日期", *ROSTER_HEADER[7:]]
    data = _number_in(roster_rows(), header, "G5", 25628)  # 1970-03-01
    check = previewed(client_manager_x, roster_upload(client_manager_x, data))
    assert check.is_valid, check.error_lines()
    assert check.households[1]["members"][0]["birth_year"] == 1970
    data = _number_in(roster_rows(), ROSTER_HEADER, "K5", 25628)  # 贫困户
    check = previewed(client_manager_x, roster_upload(client_manager_x, data))
    assert 'Registered poor "25628"' in " ".join(check.error_lines())


def test_an_openpyxl_without_its_private_date_index_reads_those_days_as_numbers():
    """Found by the second read: the Chinese date formats are read through openpyxl's private
    `_date_formats` and `_cell_styles`; an openpyxl without them made every .xlsx import a
    server error. Those days are then numbers, refused in words as no date."""
    from core.spreadsheet import _east_asian_dates_read

    without = SimpleNamespace()
    _east_asian_dates_read(without)
    assert vars(without) == {}
    partly = SimpleNamespace(_date_formats={14}, _cell_styles=[SimpleNamespace(numFmtId=31)])
    _east_asian_dates_read(partly)
    assert partly._date_formats == {14, 0}


def test_a_title_too_tall_names_the_row_read_as_the_column_names(client_manager_x, groups):
    """Found by a probe: with six rows of title above the table, the file was refused as "the
    first row must hold the column names", though the first row was a title, as allowed, and
    the column names were there, on row 7."""
    above = [["啊道村户籍花名册"], ["宜川县英旺乡"], ["2023年度"], ["填表人：王会计"], ["审核人"]]
    above.append(["单位：户"])
    data = workbook_bytes(roster_rows(), ROSTER_HEADER, above=above)
    response = roster_upload(client_manager_x, data)
    assert response.status_code == 200
    assert (
        "Row 4 is read as the column names. Missing: 户号 (household number), 村民小组 "
        "(village group), 户主姓名 (head of household). If the column names are on a lower "
        "row, delete rows of title above them: at most 3 may stand there."
    ) in html.unescape(response.text)


def test_a_file_too_large_says_what_to_do(client_manager_x, groups):
    """Found by a probe: a 5 MB ledger was refused with its size and the limit alone."""
    response = roster_upload(client_manager_x, b"x" * (5 * 1024 * 1024), name="roster.csv")
    assert (
        "The file is too large (5120 KB); an import takes 2048 KB at most. Delete the pictures "
        "and the sheets and rows other than the table, or split it into smaller files"
    ) in html.unescape(response.text)
