"""The county admin's and the township officer's month, walked with cases found by a probe
on a generated county (47 villages, seven townships, three years): the items sent up as the
officer reads them, the village picker, the exports and their workbooks.
"""

import io
import re
import unicodedata

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from openpyxl import load_workbook

from core.months import previous_month
from reports.county import COLUMNS
from reports.exports import export_job_run
from reports.models import ExportJob
from reports.notice import notice_publish
from tests.conftest import form_key
from tests.factories import VillageFactory
from villagers.models import Referral, User

QUEUE = reverse("reports:county_queue")
VILLAGE_REFERRALS = reverse("reports:village_referrals")
PICK = reverse("villagers:village_pick")


def _in_chinese(client):
    client.cookies["django_language"] = "zh-hans"
    return client


@pytest.fixture
def decided(village_x, household_b, manager_x, township_officer):
    """A PIN reset of household B, sent up and done by the township officer."""
    return Referral.objects.create(
        village=village_x,
        household=household_b,
        kind=Referral.Kind.PIN_RESET,
        object_id=household_b.pk,
        why="送县里",
        requested_by=manager_x,
        status=Referral.Status.DONE,
        decided_by=township_officer,
        decided_at=timezone.now(),
    )


def test_an_item_decided_reads_decided_not_the_time_of_a_decision(
    decided, client_township, client_manager_x, village_x
):
    """Found by the probe: the decided list's outcome read "审批时间: 已批准" ("time of
    approval: approved"): the status "decided" shared its msgid with the fields `decided_at`,
    whose Chinese is the time's."""
    with translation.override("zh-hans"):
        for client, url in ((client_township, QUEUE), (client_manager_x, VILLAGE_REFERRALS)):
            page = _in_chinese(client).get(url).content.decode()
            assert "审批时间" not in page, url
            assert '<td data-label="结果">已处理</td>' in page, url  # the outcome's cell


def _pin_sent_up(card, manager, client_manager):
    """The household's new PIN, sent up by the page: the village's only manager lives there."""
    User.objects.filter(pk=manager.pk).update(household=card.household)
    url = reverse("villagers:pin_reset", args=[card.household.pk])
    client_manager.post(url, {"pin": "3971", "pin_again": "3971", "idempotency_key": form_key()})
    return Referral.objects.get(kind=Referral.Kind.PIN_RESET, status=Referral.Status.OPEN)


@pytest.mark.parametrize(
    "language, barred, yours",
    [
        ("zh-hans", "王大山 是 manager_x 的家", "是您自己家"),
        ("en", "王大山 is the household of manager_x", "your own household"),
    ],
)
def test_the_officer_reads_who_was_barred_not_your_own_household(
    card_a, manager_x, client_manager_x, client_township, settings, language, barred, yours
):
    """Found by the probe: an item refused by the second-person rule went up with the
    refusal its sender read ("王大山 is your own household: someone else must decide it"),
    which the officer read as their own household. It names the person barred now, in the
    deployment's language (the record's, whoever reads it)."""
    settings.LANGUAGE_CODE = language
    with translation.override(language):
        client_township.cookies["django_language"] = language
        _pin_sent_up(card_a, manager_x, client_manager_x)
        page = client_township.get(QUEUE).content.decode()
    assert barred in page and yours not in page


def test_the_villages_to_look_into_are_listed_by_township(
    client_county, client_township, village_x, village_y, village_z
):
    """Found by the probe: the 47 villages of a county were listed by code, seven townships
    shuffled together ("英旺乡 · 啊道村, 丹州街道 · 后渠村, 秋林镇 · 北寨村, 英旺乡 · …").
    Each township is a heading now, its villages under it."""
    later = VillageFactory(name="东村", code="404", township=village_x.township)
    page = client_county.get(PICK).content.decode()
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", page)
    assert headings == sorted({village_x.township.name, village_z.township.name})
    groups = dict(
        re.findall(
            r"<h2[^>]*>([^<]+)</h2>\s*<div class=\"list-group\"[^>]*>(.*?)</div>", page, re.S
        )
    )
    for village in (village_x, village_y, later):
        assert f">{village.name}</button>" in groups[village.township.name]
    assert f">{village_z.name}</button>" in groups[village_z.township.name]
    assert f">{village_z.name}</button>" not in groups[village_x.township.name]
    # The township officer's own township, with its villages only.
    page = client_township.get(PICK).content.decode()
    assert re.findall(r"<h2[^>]*>([^<]+)</h2>", page) == [village_x.township.name]
    assert village_z.name not in page and f">{later.name}</button>" in page


def test_the_export_page_says_whose_file_it_is_and_of_when(
    client_township, township_officer, client_county, village_x
):
    """Found by the probe: the township overview's export page named the county (宜川縣)
    under its heading, and no export page said the month or year the file is of."""
    month = f"{timezone.localdate():%Y-%m}"
    client_township.post(reverse("reports:county_export"), {"month": month})
    client_county.post(reverse("reports:county_export"), {"month": month})
    client_township.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    client_township.post(reverse("reports:year_report_xlsx", args=[2025]))
    county = village_x.township.county.name
    for client, kind, subject in (
        (client_township, ExportJob.Kind.TOWNSHIP_OVERVIEW, f"{village_x.township.name} · {month}"),
        (client_county, ExportJob.Kind.COUNTY_OVERVIEW, f"{county} · {month}"),
        (client_township, ExportJob.Kind.YEAR_REPORT, f"{village_x.name} · 2025"),
    ):
        job = ExportJob.objects.get(kind=kind)
        page = client.get(reverse("reports:export_status", args=[job.pk])).content.decode()
        assert subject in page, kind
        if kind != ExportJob.Kind.COUNTY_OVERVIEW:
            assert county not in page, kind


def test_a_published_month_with_nothing_donated_keeps_its_totals_numbers(
    village_x, supervisor_x, client_township
):
    """Found by the probe: a published month's workbook read a total of no donations as the
    text "0.00" (a spreadsheet adds it as nothing); the draft's, as a number. A column's type
    is read from its total where no row shows it (most villages' months have no donation)."""
    last = previous_month(timezone.localdate())
    url = reverse("reports:notice_xlsx", args=[last.year, last.month])
    client_township.post(PICK, {"village": village_x.pk})
    draft = _cells(client_township.get(url))
    notice_publish(
        village=village_x,
        year=last.year,
        month=last.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )
    published = _cells(client_township.get(url))
    assert published == draft
    texts = [
        (title, value)
        for title, rows in published.items()
        for row in rows[1:]
        for value in row
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value)
    ]
    assert not texts


def _cells(response) -> dict:
    """{sheet: its cells below the heading line}, as a spreadsheet reads them."""
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    return {
        sheet.title: [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
        for sheet in workbook.worksheets
    }


def _shown(text) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in str(text or ""))


def test_the_workbooks_columns_are_wide_enough_for_their_chinese_headers(
    settings, county_admin, client_county, village_x, card_a
):
    """Found by the probe: the notice's sheets (in the notice's and the month report's
    workbooks) set no column width, and the county's twelve "发放 2025-12" columns neither:
    at the spreadsheet's default (8.43), their Chinese headers and names showed cut off."""
    settings.LANGUAGE_CODE = "zh-hans"
    last = previous_month(timezone.localdate())
    with translation.override("zh-hans"):
        _in_chinese(client_county).post(
            reverse("reports:county_export"), {"month": f"{last:%Y-%m}"}
        )
        job = ExportJob.objects.get()
        export_job_run(job.pk)
        county = client_county.get(reverse("reports:export_download", args=[job.pk]))
        client_county.post(PICK, {"village": village_x.pk})
        notice = client_county.get(reverse("reports:notice_xlsx", args=[last.year, last.month]))
    for response in (county, notice):
        workbook = load_workbook(io.BytesIO(response.content))
        for sheet in workbook.worksheets:
            for cell in sheet[2]:
                # Unset, openpyxl reads 13 where a spreadsheet shows 8.43.
                assert cell.column_letter in sheet.column_dimensions, (sheet.title, cell.value)
                width = sheet.column_dimensions[cell.column_letter].width
                assert width >= min(50, _shown(cell.value)), (sheet.title, cell.value, width)


def test_a_past_months_workbook_says_which_figures_are_todays(
    settings, county_admin, client_county, village_x, card_a
):
    """Found by the probe: the page says under its table that the households, the points
    held, the stock… are today's whatever the month; the workbook of a month gone by
    (2023-01) held them with no word, read as that month's. It has the page's notes below
    its total now (but the sparklines'), and the cover below 1× in red as on the page."""
    settings.LANGUAGE_CODE = "en"
    last = previous_month(timezone.localdate())
    with translation.override("en"):
        page = client_county.get(reverse("reports:county_overview"), {"month": f"{last:%Y-%m}"})
        client_county.post(reverse("reports:county_export"), {"month": f"{last:%Y-%m}"})
    job = ExportJob.objects.get()
    export_job_run(job.pk)
    sheet = load_workbook(io.BytesIO(bytes(ExportJob.objects.get().content))).active
    lines = [row[0] for row in sheet.iter_rows(values_only=True)]
    total = next(i for i, line in enumerate(lines) if line == "County total")
    assert lines[total + 1] is None  # an empty row: the notes are not part of the total
    notes = lines[total + 2 :]
    today = next(note for note in notes if "Today's figures, whatever the month shown" in note)
    assert today.startswith("Households, Cards, Points held, Waiting for approval")
    assert not any("each line scaled" in note for note in notes)  # the page's sparklines
    for note in page.context["notes"]:
        assert escape(note["meaning"]) in page.content.decode()
    # Village X's 100 points and no stock: a cover of 0×, red as on the page.
    keys = [key for key, _label, _attribute in COLUMNS]
    cover = sheet.cell(row=3, column=2 + keys.index("cover"))
    assert cover.value == 0 and cover.font.color.rgb.endswith("DC3545")


def test_what_is_asked_starts_a_line_with_a_capital(
    decided, card_a, manager_x, client_manager_x, client_township, settings
):
    """Found by the probe, in English: each item began "reset a card's PIN · 王大山": the
    kinds are worded to go inside a sentence. They start the line and the table's cell."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        _pin_sent_up(card_a, manager_x, client_manager_x)
        page = client_township.get(QUEUE).content.decode()
    assert "<strong>Reset a card&#x27;s PIN</strong>" in page  # waiting
    assert '<td data-label="What was asked">Reset a card&#x27;s PIN</td>' in page  # decided
    assert "reset a card" not in page
