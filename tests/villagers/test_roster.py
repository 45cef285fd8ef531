"""Roster import: preview with row errors, all-or-nothing confirm, malformed files."""

import datetime
import html
import io
import logging
import re
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from core.models import AuditEvent
from tests.factories import HouseholdFactory, MemberFactory, VillageGroupFactory
from tests.security.concurrent import at_once, tabs_of
from tests.villagers.conftest import valid_id
from villagers.models import Household, Member
from villagers.roster import (
    MAX_BYTES,
    MAX_ROWS,
    RosterFileError,
    roster_check,
    roster_parse,
    roster_template_workbook,
)
from villagers.services import roster_import

HEADER = ["户号", "村民小组", "户主姓名", "姓名", "与户主关系", "性别", "出生年份", "身份证号",
          "联系电话", "住址", "贫困户", "脱贫年份"]  # fmt: skip
ID_1 = valid_id("61063019650304001")
ID_2 = valid_id("61063019680912002")


def good_rows():
    return [
        ["R001", "啊道", "张三", "张三", "户主", "男", "1965", ID_1, "13900000001", "一组1号", "是", "2019"],  # noqa: E501
        ["R001", "啊道", "张三", "李四", "配偶", "女", "1968", ID_2, "", "", "", ""],
        ["R001", "啊道", "张三", "张小", "子女", "男", "1990", "", "", "", "", ""],
        ["R002", "富莊", "王五", "", "", "男", "1970", "", "", "二组5号", "否", ""],
    ]  # fmt: skip


def xlsx_file(rows, header=HEADER, name="roster.xlsx"):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def csv_file(text, name="roster.csv", encoding="utf-8-sig"):
    return SimpleUploadedFile(name, text.encode(encoding))


@pytest.fixture
def groups(group_x, village_x):
    return [group_x, VillageGroupFactory(village=village_x, name="富莊")]


def _upload(client, upload):
    return client.post(reverse("villagers:roster_upload"), {"file": upload})


def _confirm(client, token, **kwargs):
    """Confirm as the preview's form does: the upload's token is its one-time key too."""
    body = {"token": token, "idempotency_key": token}
    return client.post(reverse("villagers:roster_confirm"), body, **kwargs)


def test_valid_xlsx_imports_every_row(client_manager_x, manager_x, village_x, groups):
    response = _upload(client_manager_x, xlsx_file(good_rows()))
    assert response.url == reverse("villagers:roster_preview")
    preview = client_manager_x.get(response.url)
    assert preview.context["check"].is_valid
    assert ID_1 not in preview.text  # masked on the preview too
    assert Household.objects.count() == 0  # nothing saved before the confirmation

    token = client_manager_x.session["roster_upload"]["token"]
    done = _confirm(client_manager_x, token)
    assert done.url == reverse("reports:household_list")
    first = Household.objects.get(village=village_x, number="R001")
    assert first.head_name == "张三" and first.is_poor and first.poverty_exit_year == 2019
    assert first.phone == "13900000001" and first.address == "一组1号"
    assert [(m.name, m.relation, m.sex) for m in first.members.order_by("id")] == [
        ("张三", "head", "M"),
        ("李四", "spouse", "F"),
        ("张小", "child", "M"),
    ]
    second = Household.objects.get(number="R002")
    assert second.group.name == "富莊" and not second.is_poor
    assert second.members.get().name == "王五"
    assert Member.objects.filter(household__village=village_x).count() == 4
    event = AuditEvent.objects.get(action="roster.import")
    assert event.detail == {"households": 2, "members": 4} and event.actor == manager_x
    assert "roster_upload" not in client_manager_x.session


def test_one_bad_row_changes_nothing_and_says_why(client_manager_x, groups, household_a):
    rows = good_rows()
    rows[1][1] = "不存在组"  # unknown group
    rows[2][6] = "19x0"  # bad birth year
    rows[3][0] = household_a.number  # already registered
    response = _upload(client_manager_x, xlsx_file(rows))
    preview = client_manager_x.get(response.url)
    check = preview.context["check"]
    assert not check.is_valid
    text = html.unescape(preview.text)
    assert 'Unknown village group "不存在组"' in text
    assert 'Birth year "19x0" is not a year' in text
    assert f"Household number {household_a.number} is already registered" in text
    assert "Import all rows" not in text
    errors = {report.row.line: report.errors for report in check.reports}
    assert errors[2] == []  # the head's row itself is fine
    assert errors[3] and errors[4] and errors[5]

    token = client_manager_x.session["roster_upload"]["token"]
    _confirm(client_manager_x, token)
    assert Household.objects.count() == 1  # only household_a
    assert not AuditEvent.objects.filter(action="roster.import").exists()


def test_row_errors_in_plain_words(village_x, groups):
    rows = [
        ["R1", "啊道", "", "某", "子女", "男", "1990", "", "", "", "", ""],
        ["R2", "啊道", "甲", "甲", "户主", "男", "1990", "610630199001011230", "", "", "也许", ""],
        ["R3", "啊道", "乙", "乙", "户主", "", "", "", "abc", "", "", ""],
        ["R3", "啊道", "乙", "丙", "户主", "女", "1991", "", "", "", "", ""],
        ["R4", "啊道", "丁", "丁", "户主", "男", "1959", ID_1, "", "", "", ""],
        ["R5", "啊道", "戊", "戊", "户主", "男", "1965", ID_1, "", "", "", ""],
    ]  # fmt: skip
    upload = xlsx_file(rows)
    check = roster_check(village_x, roster_parse(upload))
    errors = {report.row.line: " | ".join(report.errors) for report in check.reports}
    assert "head of household's name is missing" in errors[2]
    assert "not a valid 18-character ID number" in errors[3]
    assert 'Registered poor "也许"' in errors[3]
    assert "sex is missing" in errors[4] and "birth year is missing" in errors[4]
    assert "phone number is not valid" in errors[4]
    assert "already has its head in row 4" in errors[5]
    assert "does not match the ID number" in errors[6]
    assert "same ID number is already in row 6" in errors[7]


@pytest.mark.parametrize("make_file", [xlsx_file, "csv"])
def test_a_cell_of_which_nothing_shows_is_empty_and_the_rest_is_cleaned(
    village_x, groups, make_file
):
    """A head's name of a word joiner or a Hangul filler read as given (the forms empty such
    a value, core.text): the household would have been registered with a blank head."""
    rows = [
        ["R1", "啊道", "\u2060", "甲", "户主", "男", "1990", "", "", "", "", ""],
        ["R2", "啊道", "\u3164\u200d", "乙", "户主", "男", "1990", "", "", "", "", ""],
        ["R3", "啊道", "丙\u202e", "丙", "户主", "男", "1990", "", "", "\u2800", "", ""],
    ]  # fmt: skip
    if make_file == "csv":
        upload = csv_file("\n".join(",".join(row) for row in [HEADER, *rows]))
    else:
        upload = make_file(rows)
    check = roster_check(village_x, roster_parse(upload))
    errors = {report.row.line: " | ".join(report.errors) for report in check.reports}
    assert "head of household's name is missing" in errors[2]
    assert "head of household's name is missing" in errors[3]
    assert errors[4] == ""
    values = check.reports[2].row.values
    assert (values["head_name"], values["address"]) == ("丙", "")


def test_english_headers_and_gbk_csv(village_x, groups, manager_x):
    text = (
        "Household number,Group,Head,Name,Relation,Sex,Birth year,ID number\n"
        f"E1,啊道,赵一,赵一,head,M,1965,{ID_1}\n"
        "E1,啊道,赵一,赵二,daughter,F,1992,\n"
    )
    rows = roster_parse(csv_file(text, encoding="gb18030"))
    households = roster_import(village=village_x, rows=rows, actor=manager_x)
    assert [h.number for h in households] == ["E1"]
    assert households[0].members.count() == 2


def test_sex_and_birth_year_from_id_number(village_x, groups):
    text = f"户号,村民小组,户主姓名,身份证号\nE2,啊道,钱一,{ID_1}\n"
    check = roster_check(village_x, roster_parse(csv_file(text)))
    assert check.is_valid
    member = check.households[0]["members"][0]
    assert member["birth_year"] == 1965 and member["sex"] == "M"
    assert member["relation"] == "head" and member["name"] == "钱一"


def test_service_refuses_rows_that_became_invalid(village_x, groups, manager_x):
    rows = roster_parse(xlsx_file(good_rows()))
    Household.objects.create(village=village_x, group=groups[0], number="R002", head_name="抢先")
    with pytest.raises(ValidationError, match="R002 is already registered"):
        roster_import(village=village_x, rows=rows, actor=manager_x)
    assert Household.objects.count() == 1 and Member.objects.count() == 0


def _zip_without_workbook():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("r.xlsx", b"this is plain text"), "could not be read as an Excel"),
        (SimpleUploadedFile("r.xlsx", _zip_without_workbook()), "could not be read as an Excel"),
        (SimpleUploadedFile("r.xlsx", b"PK\x03\x04" + b"\x00" * 200), "could not be read"),
        (SimpleUploadedFile("r.xls", b"\xd0\xcf\x11\xe0old"), "Old Excel .xls"),
        (SimpleUploadedFile("r.pdf", b"%PDF-1.4"), "Excel (.xlsx), CSV (.csv) or tab-separated"),
        (SimpleUploadedFile("r.csv", b"  \n"), "The file is empty"),
        (SimpleUploadedFile("r.csv", b"\xff\xfe\x00\x00\xff"), "text could not be read"),
        (SimpleUploadedFile("r.csv", b"a,b\x00c\n"), "not a CSV"),
        (SimpleUploadedFile("r.csv", "户号,村民小组,户主姓名\n".encode()), "no rows"),
        (SimpleUploadedFile("r.csv", "名字,年龄\n张,3\n".encode()), "Missing: 户号"),
        (SimpleUploadedFile("r.csv", "户号,户号,村民小组,户主姓名\n".encode()), "appears twice"),
        (SimpleUploadedFile("r.csv", b"a" * (MAX_BYTES + 1)), "too large"),
    ],
)
def test_malformed_files_get_a_clear_message(client_manager_x, groups, upload, message):
    response = _upload(client_manager_x, upload)
    assert response.status_code == 200
    assert message in response.text
    assert "roster_upload" not in client_manager_x.session


def test_too_many_rows(groups):
    text = "户号,村民小组,户主姓名\n" + "".join(f"N{i},啊道,某\n" for i in range(MAX_ROWS + 1))
    with pytest.raises(RosterFileError, match="more than"):
        roster_parse(csv_file(text))


def test_template_download_has_the_columns(client_manager_x, groups):
    response = client_manager_x.get(reverse("villagers:roster_template"))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    workbook = load_workbook(io.BytesIO(response.content))
    header = [cell.value for cell in workbook.worksheets[0][1]]
    assert header == HEADER
    # The sheet to fill keeps its Chinese name; the one explaining it is in the reader's words.
    assert workbook.sheetnames == ["花名册", "How to fill it in"]
    assert "富莊" in str(list(workbook["How to fill it in"].values))


def test_the_template_and_the_page_say_how_numbers_and_heads_are_written(
    client_manager_x, groups, village_x
):
    """Found by a review: neither said that a household number is one whatever the case of
    its letters, nor that each household needs a row of its own for its head, whose name is
    the 户主姓名; rows breaking either rule are merged or refused, so the clerk is told first."""
    case = "Capital and small letters are the same: x001 is X001."
    head = "Each household needs a row of its own for its head, with relation 户主"
    response = client_manager_x.get(reverse("villagers:roster_template"))
    sheet = load_workbook(io.BytesIO(response.content))["How to fill it in"]
    notes = {row[0]: row[3] for row in sheet.values}
    assert case in notes["户号"] and head in notes["户主姓名"]
    page = html.unescape(client_manager_x.get(reverse("villagers:roster_upload")).text)
    assert f"户号 (household number) * — Same number on every row of one household. {case}" in page
    assert head in page and "村民小组 (village group) * — 啊道" in page
    with translation.override("zh-hans"):
        notes = {row[0]: row[3] for row in roster_template_workbook(village_x)["说明"].values}
    assert "字母不分大小写：x001 就是 X001。" in notes["户号"]
    assert "每户都要有户主本人的一行" in notes["户主姓名"]


def _said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_confirmation_sent_again_imports_once_and_says_so(client_manager_x, groups):
    """Found by a probe: sent again after the import (a retry), the confirmation was told
    "this preview is out of date"; it now goes where the first went and says so."""
    _upload(client_manager_x, xlsx_file(good_rows()))
    preview = client_manager_x.get(reverse("villagers:roster_preview"))
    token = preview.context["token"]
    assert f'name="idempotency_key" value="{token}"' in preview.text
    first = _confirm(client_manager_x, token)
    assert _said(first) == ["Imported 2 households with 4 people."]
    again = _confirm(client_manager_x, token)
    assert again.url == first.url == reverse("reports:household_list")
    assert _said(again)[-1] == "This import was already recorded."  # after the first's
    assert Household.objects.count() == 2 and Member.objects.count() == 4
    assert AuditEvent.objects.filter(action="roster.import").count() == 1


def test_two_tabs_confirming_at_once_import_once_and_both_are_told_so(
    transactional_db, client_manager_x, groups
):
    """Found by a probe: confirmed from two tabs at the same moment, the roster was imported
    once and the second tab was told "nothing was imported: the roster has errors"."""
    _upload(client_manager_x, xlsx_file(good_rows()))
    token = client_manager_x.session["roster_upload"]["token"]
    body = {"token": token, "idempotency_key": token}
    answers = at_once(tabs_of(client_manager_x, 2), reverse("villagers:roster_confirm"), body)
    assert [answer.url for answer in answers] == [reverse("reports:household_list")] * 2
    assert sorted(message for answer in answers for message in _said(answer)) == [
        "Imported 2 households with 4 people.",
        "This import was already recorded.",
    ]
    assert Household.objects.count() == 2 and Member.objects.count() == 4


def test_confirm_needs_the_current_token_and_village(client_manager_x, client_manager_y, groups):
    _upload(client_manager_x, xlsx_file(good_rows()))
    stale = _confirm(client_manager_x, "the-token-of-an-earlier-upload")
    assert stale.url == reverse("villagers:roster_upload")
    assert Household.objects.count() == 0
    # Another manager's session holds nothing to confirm.
    assert client_manager_y.get(reverse("villagers:roster_preview")).status_code == 302


def test_cancel_discards_the_upload(client_manager_x, groups):
    _upload(client_manager_x, xlsx_file(good_rows()))
    client_manager_x.post(reverse("villagers:roster_cancel"))
    assert "roster_upload" not in client_manager_x.session
    assert Household.objects.count() == 0


REAL_NOW = timezone.now


def _clock_moved(monkeypatch, minutes):
    """Move the clock the roster pages read `minutes` ahead of the real one (no sleeping)."""
    monkeypatch.setattr(timezone, "now", lambda: REAL_NOW() + datetime.timedelta(minutes=minutes))


@pytest.mark.parametrize("page", ["preview", "confirm"])
def test_a_pending_upload_is_dropped_after_an_hour(client_manager_x, groups, monkeypatch, page):
    """A whole village's ID numbers wait in the session one hour, not the session's twelve."""
    _upload(client_manager_x, xlsx_file(good_rows()))
    token = client_manager_x.session["roster_upload"]["token"]
    _clock_moved(monkeypatch, 59)
    assert client_manager_x.get(reverse("villagers:roster_preview")).status_code == 200
    _clock_moved(monkeypatch, 61)
    if page == "preview":
        response = client_manager_x.get(reverse("villagers:roster_preview"), follow=True)
    else:
        response = _confirm(client_manager_x, token, follow=True)
    assert response.redirect_chain[-1][0] == reverse("villagers:roster_upload")
    shown = [str(message) for message in response.context["messages"]]
    assert any("upload waits one hour at most" in message for message in shown), shown
    assert "roster_upload" not in client_manager_x.session
    assert not Household.objects.filter(number="R001").exists()


def test_the_ascii_digits_of_id_numbers_phones_and_years(village_x, groups):
    wide = str.maketrans("0123456789", "０１２３４５６７８９")
    arabic = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
    rows = good_rows()[:1]
    rows[0][6], rows[0][7], rows[0][8] = (
        "1965".translate(wide),
        ID_1.translate(wide),
        "13900000001".translate(wide),
    )
    check = roster_check(village_x, roster_parse(xlsx_file(rows)))
    assert check.is_valid, check.error_lines()
    member = check.households[0]["members"][0]
    assert (member["birth_year"], member["id_number"], member["phone"]) == (
        1965,
        ID_1,
        "13900000001",
    )
    for column in (6, 7, 8):
        rows = good_rows()[:1]
        rows[0][column] = str(rows[0][column]).translate(arabic)
        assert not roster_check(village_x, roster_parse(xlsx_file(rows))).is_valid, column


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in text)


def test_a_person_registered_anywhere_is_not_registered_again(village_x, groups, household_y):
    """Found by a probe: the register was searched with the number as typed (full-width
    digits slipped through) and only in the importing village."""
    MemberFactory(household=household_y, id_number=ID_2)
    rows = [
        ["R1", "啊道", "张三", "张三", "户主", "男", "1965", _fullwidth(ID_1), "", "", "", ""],
        ["R2", "啊道", "李四", "李四", "户主", "女", "1968", ID_2, "", "", "", ""],
    ]  # fmt: skip
    MemberFactory(household__group=groups[0], id_number=ID_1)
    check = roster_check(village_x, roster_parse(xlsx_file(rows)))
    errors = [" | ".join(report.errors) for report in check.reports]
    assert all("already registered" in text for text in errors), errors


def test_a_registered_id_number_is_said_to_be_in_this_village_or_another(
    client_manager_x, groups, household_a, household_y
):
    """Found by a probe: "already registered" did not say where, so a roster meant for
    another village read like people entered twice here. Where is said, this village or
    another; whose household it is, or which village, is not."""
    MemberFactory(household=household_a, id_number=ID_1)
    MemberFactory(household=household_y, id_number=ID_2)
    rows = good_rows()
    rows[0][6] = rows[1][6] = ""  # the birth years: the ID numbers'
    preview = client_manager_x.get(_upload(client_manager_x, xlsx_file(rows)).url)
    check = preview.context["check"]
    assert check.error_lines() == [
        "Row 2: A person with this ID number is already registered in this village.",
        "Row 3: A person with this ID number is already registered in another village.",
    ]
    text = html.unescape(preview.text)
    for other in (household_y.village.name, household_y.head_name, household_y.number):
        assert other not in text


def test_a_roster_most_of_whose_id_numbers_other_villages_have_is_said_to_be_theirs(
    client_manager_x, groups, household_y, village_z
):
    """Found by a probe: another village's roster, its groups and household numbers free
    here, was told "already registered" row by row and nothing more. When more than half
    of the file's ID numbers (three at least) are registered in other villages, the
    preview says the file looks like another village's roster, without naming it."""
    ids = [valid_id(f"6106301965030400{n}") for n in range(1, 5)]
    rows = [
        [f"R{n}", "啊道", f"户主{n}", f"户主{n}", "户主", "", "", id_number, "", "", "", ""]
        for n, id_number in enumerate(ids)
    ]
    for id_number in ids[:3]:
        MemberFactory(household=household_y, id_number=id_number)
    preview = client_manager_x.get(_upload(client_manager_x, xlsx_file(rows)).url)
    problem = (
        "3 of the file's 4 ID numbers are already registered in other villages: this "
        "file looks like another village's roster. Check that it is this village's file."
    )
    assert preview.context["check"].problems == [problem]
    text = html.unescape(preview.text)
    assert problem in text and household_y.village.name not in text

    # Found in review: counted by village ("in one other village"), the answer told whether
    # the people of a file live in the same village: two ID numbers known to be village Y's
    # beside a third said whether that person lives in Y. It is the same either way.
    Member.objects.filter(id_number=ids[2]).update(
        household=HouseholdFactory(group=VillageGroupFactory(village=village_z))
    )
    assert roster_check(groups[0].village, roster_parse(xlsx_file(rows))).problems == [problem]
    # Too few of them are no other village's roster.
    assert roster_check(groups[0].village, roster_parse(xlsx_file(rows[:2]))).problems == []


def test_an_id_number_born_before_1900_or_after_today_is_not_valid(village_x, groups):
    """Found by a probe: 1850 passed the preview and failed the import with no word why
    (the manager was stuck); 2090 would have registered someone not yet born."""
    rows = [
        ["R1", "啊道", "甲", "甲", "户主", "男", "", valid_id("61063018500101123"), "", "", "", ""],
        ["R2", "啊道", "乙", "乙", "户主", "男", "", valid_id("61063020900101123"), "", "", "", ""],
    ]  # fmt: skip
    check = roster_check(village_x, roster_parse(xlsx_file(rows)))
    assert not check.is_valid
    for report in check.reports:
        assert "not a valid 18-character ID number" in " ".join(report.errors)


# --- files that are small to send and large to read (core.spreadsheet's bounds) ---------------


def _sheet_rewritten(data: bytes, change, name="xl/worksheets/sheet1.xml") -> bytes:
    """The workbook with its first sheet's XML (or member `name`) passed through `change`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == name:
                content = change(content.decode()).encode()
            archive.writestr(item.filename, content)
    return buffer.getvalue()


def test_a_workbook_that_unpacks_to_much_more_is_refused_before_it_is_read(
    client_manager_x, groups, monkeypatch
):
    """Found by a probe: a 200 KB workbook holding one 200 MB cell was read whole (GBs of
    memory in the preview). The zip's own directory says what it unpacks to."""
    import openpyxl

    from core.spreadsheet import MAX_UNPACKED

    big = "A" * (MAX_UNPACKED + 1)
    data = _sheet_rewritten(
        xlsx_file(good_rows()).read(), lambda xml: xml.replace("<t>张三</t>", f"<t>{big}</t>", 1)
    )
    assert len(data) < 100 * 1024

    def never(*args, **kwargs):
        raise AssertionError("the workbook was parsed")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    response = _upload(client_manager_x, SimpleUploadedFile("r.xlsx", data))
    assert response.status_code == 200
    assert "This workbook unpacks to 17 MB" in response.text
    assert "roster_upload" not in client_manager_x.session


def test_a_row_far_down_the_sheet_is_refused_at_once(groups):
    """Found by a probe: a 5 KB workbook whose only row was number 10,000,000 took 27 s."""
    import time

    data = _sheet_rewritten(
        xlsx_file(good_rows()[:1]).read(),
        lambda xml: re.sub(r'(<row r="|<c r="[A-Z]+)2"', r'\g<1>10000000"', xml),
    )
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert '<row r="10000000"' in sheet_xml and len(data) < 10 * 1024
    started = time.monotonic()
    with pytest.raises(RosterFileError, match="beyond row 100000"):
        roster_parse(SimpleUploadedFile("r.xlsx", data))
    assert time.monotonic() - started < 2


def test_blank_rows_before_the_bound_and_a_wrong_stated_size_are_read(groups):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append(good_rows()[0])
    for column, value in enumerate(good_rows()[3], start=1):
        sheet.cell(row=50_000, column=column, value=value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    # A sheet that claims to reach the last row Excel has is not padded out to it.
    data = _sheet_rewritten(buffer.getvalue(), lambda xml: xml.replace(':L50000"', ':AN1048576"'))
    rows = roster_parse(SimpleUploadedFile("r.xlsx", data))
    assert [row.line for row in rows] == [2, 50_000]


@pytest.mark.parametrize("where", ["xlsx", "csv"])
def test_a_cell_longer_than_any_column_takes_is_refused(groups, where):
    from core.spreadsheet import MAX_CELL

    rows = good_rows()
    rows[1][9] = "长" * (MAX_CELL + 1)  # the address
    if where == "xlsx":
        upload = xlsx_file(rows)
    else:
        lines = [",".join(HEADER)] + [",".join(row) for row in rows]
        upload = csv_file("\n".join(lines) + "\n")
    with pytest.raises(RosterFileError, match=f"Row 3 has a cell of {MAX_CELL + 1} characters"):
        roster_parse(upload)


def test_a_text_repeated_in_every_cell_cannot_fill_the_session(groups):
    """A shared string is stored once in the file, and kept once per cell."""
    long_text = "长" * 900
    rows = [[f"R{i}", "啊道", long_text, long_text, *[long_text] * 8] for i in range(500)]
    with pytest.raises(RosterFileError, match="more text than an import takes"):
        roster_parse(xlsx_file(rows))


# --- which sheet of a workbook is read ----------------------------------------------------------


def _workbook(*sheets, active=0):
    """A workbook of (title, rows, hidden) sheets, saved with sheet `active` open."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows, hidden in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append(HEADER)
        for row in rows:
            sheet.append(row)
        if hidden:
            sheet.sheet_state = "hidden"
    workbook.active = active
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("roster.xlsx", buffer.getvalue())


def test_the_sheet_open_when_saved_is_read_never_a_hidden_one(groups):
    """Found by a probe: a hidden first sheet (an old version kept out of sight) was read
    instead of the one the clerk sees."""
    old = [["OLD1", "啊道", "旧户主", "", "", "男", "1950"]]
    new = [["R001", "啊道", "张三", "", "", "男", "1965"]]
    hidden_first = _workbook(("旧版", old, True), ("花名册", new, False), active=1)
    assert [row.values["household_number"] for row in roster_parse(hidden_first)] == ["R001"]
    # Of two visible sheets, the one open when the file was saved.
    two = _workbook(("2023", old, False), ("2024", new, False), active=1)
    assert [row.values["household_number"] for row in roster_parse(two)] == ["R001"]


def test_a_sheet_without_the_table_is_named_and_all_hidden_is_refused(groups):
    template = _workbook(("花名册", good_rows(), False), ("说明", [], False), active=1)
    with pytest.raises(RosterFileError, match='Sheet "说明" .*no rows of people'):
        roster_parse(template)
    # openpyxl will not write it: hidden in the workbook's own XML.
    data = _sheet_rewritten(
        _workbook(("花名册", good_rows(), False), ("旧版", [], True)).read(),
        lambda xml: xml.replace('state="visible"', 'state="hidden"'),
        name="xl/workbook.xml",
    )
    with pytest.raises(RosterFileError, match="Every sheet of the workbook is hidden"):
        roster_parse(SimpleUploadedFile("roster.xlsx", data))


# --- household numbers typed with full-width characters -------------------------------------


def test_a_full_width_household_number_is_the_registered_one(
    village_x, groups, household_a, manager_x
):
    """Found by a probe: the roster stored "X００１" as typed, a second household beside X001."""
    rows = roster_parse(xlsx_file([["Ｘ００１", "啊道", "王大山", "", "", "男", "1965"]]))
    check = roster_check(village_x, rows)
    assert "Household number X001 is already registered" in " ".join(check.error_lines())
    # Two spellings of one number in the file are one household, stored plain.
    rows = roster_parse(
        xlsx_file(
            [
                ["１２", "啊道", "张三", "张三", "户主", "男", "1965"],
                ["12", "啊道", "张三", "李四", "配偶", "女", "1968"],
            ]
        )
    )
    (household,) = roster_import(village=village_x, rows=rows, actor=manager_x)
    assert household.number == "12" and household.members.count() == 2


def test_the_migration_stores_full_width_numbers_plain_where_that_number_is_free(
    village_x, group_x, household_a, capsys
):
    import importlib

    from django.apps import apps

    from tests.factories import HouseholdFactory

    migration = importlib.import_module("villagers.migrations.0018_household_numbers_nfkc")
    typed = HouseholdFactory(group=group_x, number="１２")
    twice = HouseholdFactory(group=group_x, number="Ｘ００１")  # household_a is X001
    plain = HouseholdFactory(group=group_x, number="R7")
    migration.numbers_normalise(apps, None)
    for household in (typed, twice, plain, household_a):
        household.refresh_from_db()
    assert (typed.number, twice.number, plain.number, household_a.number) == (
        "12",
        "Ｘ００１",
        "R7",
        "X001",
    )
    assert f"household {twice.pk}" in capsys.readouterr().out


def test_a_cell_one_column_off_never_shows_an_id_number_or_phone(client_manager_x, groups):
    """Found by a probe: with the birth year left out, the ID number slid into its column
    and was shown in full in the error and the table, and so would a phone in any column."""
    text = (
        ",".join(HEADER[:9])
        + "\n"
        + f"R1,啊道,张三,张三,户主,男,{ID_1},13900000001\n"
        + "R2,13900000002,王五,13900000003,13900000004,13900000005,1970,,\n"
    )
    _upload(client_manager_x, csv_file(text))
    page = html.unescape(client_manager_x.get(reverse("villagers:roster_preview")).text)
    assert 'Birth year "6106**********' in page
    for secret in (ID_1, "13900000001", "13900000002", "13900000003", "13900000004"):
        assert secret not in page
    assert "13900000005" not in page  # in the sex column, echoed in its message


@pytest.mark.parametrize("number", ["R0000123", "6106300101001"])
def test_a_household_number_is_echoed_as_typed_an_id_number_in_its_place_is_not(
    number, client_manager_x, groups, household_a
):
    """Found by a second read: every echoed cell was masked, household numbers too, so
    "Household number R******* is already registered" named nothing the clerk could find.
    A household number is no personal data; one with a phone's or an ID number's digits
    (a column off) still is masked."""
    from villagers.models import Household

    Household.objects.filter(pk=household_a.pk).update(number=number)
    rows = good_rows()
    rows[0][0] = rows[1][0] = rows[2][0] = number  # R001's three rows, now that number
    rows[3][0] = "610630196503040019"  # R002's row: an ID number in the number's column
    preview = client_manager_x.get(_upload(client_manager_x, xlsx_file(rows)).url)
    text = html.unescape(preview.text)
    assert f"Household number {number} is already registered" in text
    assert "610630196503040019" not in text and "6106**********0019" in text


def _xlsx_with_a_number_cell(text: str) -> SimpleUploadedFile:
    """A roster whose ID number cell says it holds a number (t="n"), as another program may
    write it: openpyxl fails on it with a message quoting the cell."""
    upload = xlsx_file([[*good_rows()[0][:7], "ID-CELL", *good_rows()[0][8:]]])
    source = zipfile.ZipFile(io.BytesIO(upload.read()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                cell = f'<c r="H2" t="n"><v>{text}</v></c>'
                data = re.sub(r'<c r="H2"[^>]*>.*?</c>', cell, data.decode()).encode()
            target.writestr(item, data)
    return SimpleUploadedFile("roster.xlsx", buffer.getvalue())


def test_a_damaged_cell_is_logged_without_what_it_holds(client_manager_x, groups, caplog):
    """Found by a probe: the parser's message, logged as the reason for the refusal, quoted
    the cell, so an ID number ending in X typed as a number went to the server's log."""
    id_number = ID_1[:17] + "X"  # not a number: openpyxl fails on it
    caplog.set_level(logging.DEBUG)
    response = _upload(client_manager_x, _xlsx_with_a_number_cell(id_number))
    assert "could not be read as an Excel" in response.text
    assert "Uploaded workbook is damaged: ValueError" in caplog.text
    assert id_number not in caplog.text


# --- cells Excel keeps as TRUE or FALSE ------------------------------------------------------


def test_a_true_or_false_cell_is_read_as_it_shows_never_as_1_or_0(village_x, groups):
    """Found by a probe: a TRUE cell was read as "1" (FALSE as "0"), so a TRUE household
    number joined household 1's rows, and a TRUE birth year was echoed as "1", which the
    sheet shows nowhere. In the registered-poor column TRUE and FALSE still mean yes and no."""
    rows = [
        [True, "啊道", "张三", "", "", "男", "1965"],
        ["1", "啊道", "李四", "", "", "女", "1968"],
        ["R3", "啊道", "王五", "", "", "男", True, "", "", "", True, False],
        ["R4", "啊道", "赵六", "", "", "男", "1970", "", "", "", True, ""],
        ["R5", "啊道", "钱七", "", "", "男", "1970", "", "", "", False, ""],
    ]
    check = roster_check(village_x, roster_parse(xlsx_file(rows)))
    assert [h["number"] for h in check.households] == ["TRUE", "1", "R3", "R4", "R5"]
    errors = {report.row.line: report.errors for report in check.reports}
    assert errors[2] == [
        "Column 户号 (household number) holds TRUE, which Excel writes for a yes/no cell; "
        "this column takes no yes or no. Type what belongs there."
    ]
    assert errors[3] == errors[5] == errors[6] == []
    assert errors[4] == [
        "Column 出生年份 (birth year) holds TRUE, which Excel writes for a yes/no cell; "
        "this column takes no yes or no. Type what belongs there.",
        "Column 脱贫年份 (year lifted out of poverty) holds FALSE, which Excel writes for a "
        "yes/no cell; this column takes no yes or no. Type what belongs there.",
    ]
    assert [h["is_poor"] for h in check.households[3:]] == [True, False]


def test_a_true_or_false_cell_where_text_belongs_is_refused(village_x, groups, manager_x):
    """Found by a review: once TRUE read as "TRUE", a household numbered TRUE, a head or a
    person named TRUE or FALSE, an address of TRUE were registered so. Each such cell is a
    problem of its row, named by its column, in a workbook or a CSV; the registered-poor
    column still reads TRUE and FALSE as yes and no."""
    rows = [
        ["R1", "啊道", True, True, "户主", "男", "1965", "", "", "", True],
        ["R1", "啊道", True, False, "配偶", "女", "1968"],
        ["R2", "啊道", "王五", "", "", "男", "1970", "", "", "", False],
    ]
    parsed = roster_parse(xlsx_file(rows))
    errors = {r.row.line: " | ".join(r.errors) for r in roster_check(village_x, parsed).reports}
    assert "Column 户主姓名 (head of household) holds TRUE" in errors[2]
    assert "Column 姓名 (name) holds TRUE" in errors[2]
    assert "Column 姓名 (name) holds FALSE" in errors[3]
    assert errors[4] == ""
    with pytest.raises(ValidationError, match="Row 2: Column 户主姓名"):
        roster_import(village=village_x, rows=parsed, actor=manager_x)
    assert not Household.objects.exists()

    text = "户号,村民小组,户主姓名,性别,出生年份,住址,贫困户\nR3,啊道,赵六,男,1970,TRUE,TRUE\n"
    check = roster_check(village_x, roster_parse(csv_file(text)))
    assert check.error_lines() == [
        "Row 2: Column 住址 (address) holds TRUE, which Excel writes for a yes/no cell; "
        "this column takes no yes or no. Type what belongs there."
    ]
    assert check.households[0]["is_poor"] is True


def test_a_true_or_false_cell_gets_one_message_in_a_column_that_checks_its_values(
    village_x, groups
):
    """Found by a review: a TRUE in a column that checks its own values (a birth year, a
    sex, an ID number) got two messages, "holds TRUE" and "TRUE is not a year". The first
    says what to do; the second, about the same cell, said nothing more."""
    misplaced = "Column %s holds %s, which Excel writes for a yes/no cell; this column takes no yes or no. Type what belongs there."  # noqa: E501
    rows = [
        ["R1", "啊道", "张三", "", "", "男", "1965"],
        ["R1", True, "张三", "李四", False, True, True, True, False, "", "", ""],
        ["R2", "啊道", "王五", "", "", "男", "1970", "", "", "", "", True],
        ["R3", True, "赵六", "", "", "男", "1970"],
        ["R3", "啊道", "赵六", "钱七", "配偶", "女", "1971"],
    ]  # fmt: skip
    errors = {
        report.row.line: report.errors
        for report in roster_check(village_x, roster_parse(xlsx_file(rows))).reports
    }
    assert errors[3] == [
        misplaced % ("村民小组 (village group)", "TRUE"),
        misplaced % ("与户主关系 (relation to head)", "FALSE"),
        misplaced % ("性别 (sex)", "TRUE"),
        misplaced % ("出生年份 (birth year)", "TRUE"),
        misplaced % ("身份证号 (ID number)", "TRUE"),
        misplaced % ("联系电话 (phone)", "FALSE"),
    ]
    assert errors[4] == [misplaced % ("脱贫年份 (year lifted out of poverty)", "TRUE")]
    assert errors[5] == [misplaced % ("村民小组 (village group)", "TRUE")]
    assert errors[6] == []


# --- each household's head: one row, the one the head's column names ------------------------


def test_a_household_needs_one_row_for_the_head_its_column_names(village_x, groups, manager_x):
    """Found by a probe: a household whose rows had no 户主 row, or whose 户主 row named
    someone else than its 户主姓名 column, was registered so (a household without a head
    member, or with two names for its head); two 户主 rows were already refused."""
    rows = [
        ["R1", "啊道", "张三", "李四", "配偶", "女", "1968"],  # no head row at all
        ["R1", "啊道", "张三", "张小", "子女", "男", "1990"],
        ["R2", "啊道", "王五", "王五", "子女", "男", "1970"],  # the named head, not as head
        ["R3", "啊道", "赵六", "钱七", "户主", "男", "1970"],  # the head row, another name
        ["R4", "啊道", "孙八", "", "", "男", "1970"],  # an empty name: the head
    ]  # fmt: skip
    parsed = roster_parse(xlsx_file(rows))
    check = roster_check(village_x, parsed)
    errors = {report.row.line: " | ".join(report.errors) for report in check.reports}
    assert errors[2] == "Household R1 has no row for its head, 张三 (relation 户主)."
    assert errors[3] == ""
    assert errors[4] == "Household R2 has no row for its head, 王五 (relation 户主)."
    assert errors[5] == "The head's row names 钱七, but the household's head (户主姓名) is 赵六."
    assert errors[6] == ""
    with pytest.raises(ValidationError, match="Row 2: Household R1 has no row for its head"):
        roster_import(village=village_x, rows=parsed, actor=manager_x)
    assert not Household.objects.exists() and not Member.objects.exists()


def test_a_person_listed_twice_without_an_id_number_is_refused(village_x, groups, manager_x):
    """Found by a probe: a member's row pasted twice registered the member twice (with an ID
    number the second row was refused). Another household's namesake, or one born another
    year, is someone else."""
    rows = [
        ["R1", "啊道", "张三", "", "", "男", "1965"],
        ["R1", "啊道", "张三", "张小", "子女", "男", "1990"],
        ["R1", "啊道", "张三", "张小", "子女", "男", "1990"],
        ["R1", "啊道", "张三", "张小", "子女", "男", "1991"],
        ["R2", "啊道", "王五", "", "", "男", "1970"],
        ["R2", "啊道", "王五", "张小", "子女", "男", "1990"],
    ]  # fmt: skip
    parsed = roster_parse(xlsx_file(rows))
    check = roster_check(village_x, parsed)
    errors = {report.row.line: " | ".join(report.errors) for report in check.reports}
    assert errors[4] == (
        "The same person (name, relation, sex and birth year) is already in row 3. "
        "If they are two people, write their ID numbers."
    )
    assert [line for line, text in errors.items() if text] == [4]
    with pytest.raises(ValidationError, match="Row 4: The same person"):
        roster_import(village=village_x, rows=parsed, actor=manager_x)
    assert not Household.objects.exists() and not Member.objects.exists()


def test_a_person_listed_twice_once_with_an_id_number_is_refused(village_x, groups, manager_x):
    """Found by a review: the check above compared rows without ID numbers only, so a row
    with an ID number and the same person pasted again without one both imported, in
    either order. Two rows with two ID numbers are two people (twins given one name)."""
    id_3 = valid_id("61063019900101003")
    id_5 = valid_id("61063019900101005")
    rows = [
        ["R1", "啊道", "张三", "", "", "男", "1965"],
        ["R1", "啊道", "张三", "张小", "子女", "男", "1990", id_3],
        ["R1", "啊道", "张三", "张小", "子女", "男", "1990"],
        ["R2", "啊道", "王五", "", "", "男", "1970"],
        ["R2", "啊道", "王五", "王小", "子女", "男", "1990"],
        ["R2", "啊道", "王五", "王小", "子女", "男", "", id_5],
        ["R3", "啊道", "赵六", "", "", "男", "1970"],
        ["R3", "啊道", "赵六", "赵小", "子女", "男", "1990", valid_id("61063019900101007")],
        ["R3", "啊道", "赵六", "赵小", "子女", "男", "1990", valid_id("61063019900101009")],
    ]  # fmt: skip
    parsed = roster_parse(xlsx_file(rows))
    check = roster_check(village_x, parsed)
    errors = {report.row.line: " | ".join(report.errors) for report in check.reports}
    assert errors[4] == (
        "The same person (name, relation, sex and birth year) is already in row 3, with an "
        "ID number. If they are two people, write this row's ID number too; if not, delete "
        "this row."
    )
    assert errors[7] == (
        "The same person (name, relation, sex and birth year) is already in row 6, without "
        "an ID number. If they are two people, write row 6's ID number too; if not, delete "
        "row 6."
    )
    assert [line for line, text in errors.items() if text] == [4, 7]
    with pytest.raises(ValidationError, match="Row 4: The same person"):
        roster_import(village=village_x, rows=parsed, actor=manager_x)
    assert not Household.objects.exists() and not Member.objects.exists()


def test_a_household_number_in_small_letters_is_the_one_in_capitals(
    village_x, groups, household_a, manager_x
):
    """Found by a probe: "a12" and "A12" in one file were two households, and "x001" a
    second household beside the registered X001 (as the household form compares numbers)."""
    rows = roster_parse(xlsx_file([["x001", "啊道", "王大山", "", "", "男", "1965"]]))
    check = roster_check(village_x, rows)
    assert check.error_lines() == [
        "Row 2: Household number X001 is already registered in this village."
    ]  # noqa: E501
    rows = roster_parse(
        xlsx_file(
            [
                ["a12", "啊道", "张三", "张三", "户主", "男", "1965"],
                ["A12", "啊道", "张三", "李四", "配偶", "女", "1968"],
            ]
        )
    )
    (household,) = roster_import(village=village_x, rows=rows, actor=manager_x)
    assert household.number == "a12" and household.members.count() == 2


def test_a_household_number_is_compared_in_capitals_as_the_database_writes_them(
    client_manager_x, village_x, groups, manager_x
):
    """Found by a review: Python's capitals and PostgreSQL's differ for a few letters ("ß" is
    "SS" to Python and stays "ß" to the database). "aß1" beside the registered "Aß1" passed
    the roster's check, and the database's refusal ended the confirmation in a server error;
    "Aß1" and "ASS1", two numbers to the database, were read as one household."""
    HouseholdFactory(group=groups[0], number="Aß1", head_name="赵六")
    response = _upload(client_manager_x, xlsx_file([["aß1", "啊道", "张三", "", "", "男", "1965"]]))
    preview = client_manager_x.get(response.url)
    assert preview.context["check"].error_lines() == [
        "Row 2: Household number Aß1 is already registered in this village."
    ]
    response = _confirm(client_manager_x, preview.context["token"])
    assert response.status_code == 302 and response.url == reverse("villagers:roster_preview")
    assert Household.objects.count() == 1

    rows = [
        ["ASS1", "啊道", "张三", "", "", "男", "1965"],
        ["Bß2", "啊道", "王五", "", "", "男", "1970"],
        ["BSS2", "啊道", "钱七", "", "", "男", "1972"],
        ["bß2", "啊道", "王五", "李四", "配偶", "女", "1971"],
    ]
    parsed = roster_parse(xlsx_file(rows))
    households = roster_import(village=village_x, rows=parsed, actor=manager_x)
    numbers = {h.number: sorted(h.members.values_list("name", flat=True)) for h in households}
    assert numbers == {"ASS1": ["张三"], "Bß2": ["李四", "王五"], "BSS2": ["钱七"]}


def test_a_row_whose_relation_cannot_be_read_is_not_also_a_missing_head(
    village_x, groups, manager_x
):
    """Found by a probe: a head's row with TRUE or an unknown word as its relation also read
    "has no row for its head": two messages for one cell. A household whose rows all read
    well still hears that its head's row is missing."""
    rows = [
        ["R1", "啊道", "张三", "张三", True, "男", "1968"],  # TRUE where 户主 belongs
        ["R2", "啊道", "王五", "王五", "头头", "男", "1970"],  # a word that is no relation
        ["R3", "啊道", "赵六", "钱七", "配偶", "女", "1970"],  # truly no head row
    ]  # fmt: skip
    check = roster_check(village_x, roster_parse(xlsx_file(rows)))
    errors = {report.row.line: report.errors for report in check.reports}
    assert len(errors[2]) == 1 and "holds TRUE" in errors[2][0]
    assert len(errors[3]) == 1 and errors[3][0].startswith("Unknown relation to the head")
    assert errors[4] == ["Household R3 has no row for its head, 赵六 (relation 户主)."]


# --- a roster as a village keeps it: a title above, a household's cells merged down ------------


def test_a_title_above_the_columns_and_merged_household_cells_are_read_as_shown(village_x, groups):
    """Found by a probe: a roster saved by WPS with a title row over the table was refused
    ("the first row must hold the column names"), and with a household's number, group and
    head merged down its rows, every row but the first was "missing" them."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["啊道村户籍花名册"])
    sheet.merge_cells("A1:L1")
    sheet.append(["填报日期：2026年12月"])
    sheet.append(HEADER)
    rows = good_rows()
    for index, row in enumerate(rows):
        sheet.append([None, None, None, *row[3:]] if index in (1, 2) else row)
    for column in "ABC":
        sheet.merge_cells(f"{column}4:{column}6")
    sheet.merge_cells("J7:K7")  # across columns only: the next column stays its own
    buffer = io.BytesIO()
    workbook.save(buffer)
    parsed = roster_parse(SimpleUploadedFile("roster.xlsx", buffer.getvalue()))
    assert [row.line for row in parsed] == [4, 5, 6, 7]
    assert [row.values["household_number"] for row in parsed] == ["R001"] * 3 + ["R002"]
    assert [row.values["head_name"] for row in parsed] == ["张三"] * 3 + ["王五"]
    check = roster_check(village_x, parsed)
    assert check.is_valid, check.error_lines()
    # A first row of several cells naming no column is a title: the row read as the column
    # names is said (the first naming one, 户主 as a relation).
    with pytest.raises(RosterFileError, match="Row 2 is read as the column names. Missing: 户号"):
        roster_parse(xlsx_file(good_rows(), header=["a", "b", "c"]))


def test_a_landline_in_a_number_cell_is_refused_a_mobile_is_read(client_manager_x, groups):
    """Found by a probe: a landline typed into a number cell, 08511234567, is kept as
    8511234567 and was registered so. A phone cell holding a number that cannot be a mobile
    (11 digits from 1) is refused, telling the clerk to format the column as text; a mobile
    in a number cell and a landline typed as text are read. Also at the confirmation, which
    reads the rows kept in the session."""
    rows = good_rows()
    rows[0][8] = 13900000001  # a mobile, in a number cell
    rows[3][8] = "08511234567"  # a landline typed as text
    response = _upload(client_manager_x, xlsx_file(rows))
    check = client_manager_x.get(response.url).context["check"]
    assert check.is_valid, check.error_lines()
    assert [h["phone"] for h in check.households] == ["13900000001", "08511234567"]

    for number in (8511234567, 8613900000001, 5123456):
        rows = good_rows()
        rows[3][8] = number
        response = _upload(client_manager_x, xlsx_file(rows))
        preview = client_manager_x.get(response.url)
        assert preview.context["check"].error_lines() == [
            "Row 5: The phone number is in a cell formatted as a number, which drops a "
            "leading 0 (0851… is kept as 851…). Format the phone column as text, type the "
            "number again and upload the file again."
        ], number
    _confirm(client_manager_x, client_manager_x.session["roster_upload"]["token"])
    assert not Household.objects.exists()


def _roster_named(*, title="", sheet="", name="roster.xlsx") -> SimpleUploadedFile:
    workbook = Workbook()
    if sheet:
        workbook.active.title = sheet
    if title:
        workbook.active.append([title])
    for row in [HEADER, *good_rows()]:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


NAMES_ANOTHER = "The file names 富村 (in its name, its sheet's name or the title above its columns)"


@pytest.mark.parametrize(
    "upload",
    [
        {"title": "迎旺乡富村户籍花名册"},
        {"sheet": "富村"},
        {"name": "富村花名册.xlsx"},
    ],
)
def test_a_roster_naming_another_village_is_imported_only_once_checked(
    client_manager_x, groups, village_y, upload
):
    """Found by a probe: a roster made for another village (its title 富村户籍花名册) went into
    this one without a word, its groups and household numbers fitting. When the file's
    name, its sheet's name or the title above its columns names another village and not
    this one, the preview says so, and the import waits for a box ticked to say the roster
    was checked to be this village's."""
    _upload(client_manager_x, _roster_named(**upload))
    preview = client_manager_x.get(reverse("villagers:roster_preview"))
    text = html.unescape(preview.text)
    assert f"{NAMES_ANOTHER}, not 啊道村: it may be another village's roster." in text
    assert "I have checked: this roster is 啊道村's." in text
    token = client_manager_x.session["roster_upload"]["token"]
    refused = _confirm(client_manager_x, token)
    assert refused.url == reverse("villagers:roster_preview")
    assert _said(refused) == [
        "Nothing was imported: the file names another village. Tick the box once you have "
        "checked that the roster is this village's."
    ]
    assert not Household.objects.exists()
    body = {"token": token, "idempotency_key": token, "other_village_checked": "on"}
    client_manager_x.post(reverse("villagers:roster_confirm"), body)
    assert Household.objects.filter(village=groups[0].village).count() == 2


@pytest.mark.parametrize(
    "upload",
    [
        {"title": "啊道村户籍花名册（原富村二组）"},  # names this village too
        {"title": "啊道村户籍花名册", "name": "富村.xlsx"},
        {"title": "富莊组花名册"},  # this village's group, another village's name
        {"title": "2026年花名册", "sheet": "Sheet1"},
    ],
)
def test_a_roster_naming_this_village_or_none_is_imported_as_ever(
    client_manager_x, groups, village_y, upload
):
    from tests.factories import VillageFactory

    VillageFactory(name="富莊")
    _upload(client_manager_x, _roster_named(**upload))
    text = html.unescape(client_manager_x.get(reverse("villagers:roster_preview")).text)
    assert "The file names" not in text and "I have checked" not in text
    _confirm(client_manager_x, client_manager_x.session["roster_upload"]["token"])
    assert Household.objects.filter(village=groups[0].village).count() == 2


def test_an_old_15_digit_id_number_is_named_as_such(village_x, groups, client_manager_x):
    """Found by a probe: a first-generation card's 15 digits were told "not a valid
    18-character number; if Excel shows 6.1E+17, format the column as text": nothing the
    clerk could do. They are told to write the current card's number or leave it empty."""
    rows = good_rows()
    rows[1][7] = "610630680912002"
    check = roster_check(village_x, roster_parse(xlsx_file(rows)))
    assert check.error_lines() == [
        "Row 3: This is an old 15-digit ID number. Write the 18-character number from the "
        "person's current ID card, or leave the cell empty (it is optional)."
    ]


def test_the_import_s_queries_do_not_grow_with_its_rows(
    client_manager_x, groups, django_assert_max_num_queries
):
    """Found by a probe: a roster of 3,000 rows took 4 s to confirm, 6,023 queries: one for
    each household's village and group and each member's household, which the roster's
    check and the import itself had settled. 23 now, whatever the rows."""
    rows = [
        [f"N{index:03d}", "啊道", f"户主{index}", f"户主{index}", "户主", "男", "1970"]
        for index in range(60)
    ] + [
        [f"N{index:03d}", "啊道", f"户主{index}", f"妻{index}", "配偶", "女", "1972"]
        for index in range(60)
    ]
    response = _upload(client_manager_x, xlsx_file(rows, header=HEADER[:7]))
    assert client_manager_x.get(response.url).context["check"].is_valid
    token = client_manager_x.session["roster_upload"]["token"]
    with django_assert_max_num_queries(30):
        assert _confirm(client_manager_x, token).status_code == 302
    assert Member.objects.filter(household__number__startswith="N").count() == 120


def test_a_total_row_at_the_bottom_is_not_imported(client_manager_x, village_x, groups):
    """Found by a probe: a roster's 合计 row (3户 5人) was refused as a person with no group,
    relation, sex or birth year, four messages that never said it was the total row."""
    rows = [*good_rows(), ["合计", "", "2户", "4人", "", "", "", "", "", "", "", ""]]
    _upload(client_manager_x, xlsx_file(rows))
    preview = client_manager_x.get(reverse("villagers:roster_preview"))
    assert preview.context["check"].is_valid
    assert "Total row: not imported" in preview.text
    _confirm(client_manager_x, client_manager_x.session["roster_upload"]["token"])
    assert Household.objects.filter(village=village_x).count() == 2
    assert Member.objects.filter(household__village=village_x).count() == 4


def test_a_file_of_its_total_row_alone_imports_nothing(village_x, groups):
    rows = roster_parse(xlsx_file([["合计", "", "0户", "", "", "", "", "", "", "", "", ""]]))
    check = roster_check(village_x, rows)
    assert not check.is_valid
    assert check.problems == ["The file has column names but no rows of people."]


def test_a_roster_kept_a_sheet_per_group_says_which_sheets_are_not_read(client_manager_x, groups):
    workbook = Workbook()
    workbook.active.title = "啊道"
    workbook.active.append(HEADER)
    workbook.active.append(good_rows()[0])
    other = workbook.create_sheet("富莊")
    other.append(HEADER)
    other.append(good_rows()[3])
    buffer = io.BytesIO()
    workbook.save(buffer)
    _upload(client_manager_x, SimpleUploadedFile("roster.xlsx", buffer.getvalue()))
    preview = client_manager_x.get(reverse("villagers:roster_preview"))
    assert len(preview.context["check"].households) == 1
    assert 'Only the sheet "啊道" is read' in html.unescape(preview.text)
    assert "are not: 富莊." in preview.text


def test_names_spaced_out_to_line_up_are_registered_as_names(client_manager_x, village_x, groups):
    """Found by a probe: a roster that spaces two-character names out to the width of three
    (冯　明, 王 强) registered them so, and a search for 冯明 or 王强 found nobody."""
    rows = [
        ["R010", "啊道", "冯　明", "冯　明", "户主", "男", "1965", "", "", "", "", ""],
        ["R010", "啊道", "冯明", "李 秀英", "配偶", "女", "1968", "", "", "", "", ""],
        ["R011", "啊道", "Maria  Lopez", "", "", "女", "1970", "", "", "", "", ""],
    ]
    _upload(client_manager_x, xlsx_file(rows))
    assert client_manager_x.get(reverse("villagers:roster_preview")).context["check"].is_valid
    _confirm(client_manager_x, client_manager_x.session["roster_upload"]["token"])
    household = Household.objects.get(village=village_x, number="R010")
    assert household.head_name == "冯明"
    assert [m.name for m in household.members.order_by("id")] == ["冯明", "李秀英"]
    assert Household.objects.get(number="R011").head_name == "Maria Lopez"
    found = client_manager_x.get(reverse("reports:household_list"), {"q": "李秀英"})
    assert [h.number for h in found.context["page"]] == ["R010"]
