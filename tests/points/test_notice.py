"""The public notice (公示): content, scoping, print stylesheet and the .xlsx download."""

import io

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from points.services import entry_reverse, proposal_approve
from tests.points.conftest import propose


def approved_month(card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter):
    award = propose(manager_x, [card_a.household], rule_clean, reason="院子干净")[0]
    fine = propose(manager_x, [card_b.household], rule_litter, reason="乱扔垃圾")[0]
    propose(manager_x, [card_b.household], rule_clean, reason="still pending")
    proposal_approve(proposal_ids=[award.pk, fine.pk], actor=supervisor_x)
    return award, fine


def test_notice_lists_approved_awards_and_deductions(
    client_villager_a, card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter
):
    approved_month(card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter)
    page = client_villager_a.get(reverse("reports:notice")).content.decode()
    assert "王大山" in page and "院子干净" in page
    assert "李秀英" in page and "乱扔垃圾" in page and "-20" in page
    assert "啊道" in page  # the group
    assert "still pending" not in page
    assert "css/aidao.css" in page and "no-print" in page
    css = (settings.BASE_DIR / "static/css/aidao.css").read_text(encoding="utf-8")
    assert ".notice-table" in css.split("@media print")[-1]


def test_the_notice_tables_are_the_shared_phone_cards(
    client_villager_a, card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter
):
    """On a phone the notice's rows are the cards of every .table-cards table (aidao.css):
    notice.css adds only its own rules (totals first, empty cells hidden), not a second set."""
    approved_month(card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter)
    page = client_villager_a.get(reverse("reports:notice")).content.decode()
    assert 'class="table table-sm table-bordered table-cards notice-table"' in page
    css = (settings.BASE_DIR / "static/css/notice.css").read_text(encoding="utf-8")
    for card_rule in ("[data-label]::before", "thead { position", "tr { border"):
        assert card_rule not in css


def test_reversed_entries_are_marked(
    client_supervisor_x, card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter
):
    award, _fine = approved_month(card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter)
    award.refresh_from_db()
    entry_reverse(entry=award.entry, actor=supervisor_x, reason="wrong")
    page = client_supervisor_x.get(reverse("reports:notice")).content.decode()
    assert "院子干净 (reversed)" in page


def test_notice_is_per_village(
    client_manager_y, card_a, card_b, card_y, manager_x, supervisor_x, rule_clean, rule_litter
):
    approved_month(card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter)
    page = client_manager_y.get(reverse("reports:notice")).content.decode()
    assert "王大山" not in page and "院子干净" not in page


def test_notice_xlsx_download(
    client_villager_b, card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter
):
    approved_month(card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter)
    today = timezone.localdate()
    response = client_villager_b.get(reverse("reports:notice_xlsx", args=[today.year, today.month]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == [
        "Points this month",  # Excel's 31 characters: a shorter name where needed
        "Points awarded",
        "Points deducted",
        "Corrections",
        "In publicity, open to objection",
        "Cancelled before crediting",
        "Goods redeemed",
        "Donations received, with thanks",
        "Where donations went",
        "Balances of every household",
    ]
    # The heading line keeps the whole title; a section with nothing says so.
    assert workbook["Corrections"]["A1"].value.endswith(
        "Corrections: reversals and voided redemptions"
    )
    cancelled = list(workbook["Cancelled before crediting"].iter_rows(min_row=3, values_only=True))
    assert [row[0] for row in cancelled] == ["None."]
    awards, deductions = workbook.worksheets[1:3]
    award_rows = list(awards.iter_rows(min_row=3, values_only=True))
    assert award_rows[0][1:4] == ("王大山", "啊道", "E01 五净一规范 inspection passed")
    assert award_rows[0][5] == 5
    assert award_rows[-1][-1] == 5  # the total
    assert [row[5] for row in deductions.iter_rows(min_row=3, values_only=True)] == [-20, -20]


def test_notice_refuses_anonymous_and_future_months(client_anon, client_villager_a):
    assert client_anon.get(reverse("reports:notice")).status_code == 302
    future = timezone.localdate().year + 1
    assert (
        client_villager_a.get(reverse("reports:notice_month", args=[future, 1])).status_code == 404
    )
    assert (
        client_villager_a.get(reverse("reports:notice_month", args=[2024, 13])).status_code == 404
    )
