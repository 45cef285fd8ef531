"""Balances from the paper ledger (结转积分): preview, all-or-nothing import, one batch for the
supervisor, once only, and the batch on the notice."""

import html
import io

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import Workbook

from core.models import AuditEvent
from points import checks
from points.carryover import (
    carry_over_check,
    carry_over_import,
    carry_over_parse,
    carry_over_template_workbook,
)
from points.models import Account, Batch, CarryOver, CarryOverLine, Entry, Proposal, Rule
from points.views import carryover as carry_over_views
from reports.monthly import month_report_build
from store.services import reservation_create, zones_ensure
from tests.conftest import form_key, issue_card
from tests.factories import HouseholdFactory
from tests.points.test_concurrency import held_in, run_threads
from tests.security.concurrent import tabs_of
from tests.store.conftest import make_item
from villagers.services import card_recall

HEADER = ["户号", "户主姓名", "结转余额", "日期", "积分变动", "事由"]


def xlsx_file(rows, header=HEADER, name="paper.xlsx"):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def good_rows():
    """王大山 350 with its paper history; 李秀英 80, less than her card's 100."""
    return [
        ["X001", "王大山", 350, None, None, None],
        ["X001", "王大山", None, "2019-03-01", 100, "发卡基础分"],
        ["X001", "王大山", None, "2021-06-15", 300, "五好家庭"],
        ["X001", "王大山", None, "2023-01-20", -50, "兑换大米"],
        ["X002", "李秀英", "80", None, None, None],
    ]


@pytest.fixture
def cards(card_a, card_b):
    return card_a, card_b


def _upload(client, upload, paper_total):
    return client.post(
        reverse("points:carry_over_upload"), {"file": upload, "paper_total": paper_total}
    )


def _payload(client):
    return client.get(reverse("points:carry_over_preview")).context["payload"]


def _confirm(client, key=None):
    return client.post(
        reverse("points:carry_over_confirm"),
        {"payload": _payload(client), "idempotency_key": key or form_key()},
    )


def _balance(household):
    return Account.objects.get(household=household).balance


def test_a_valid_paper_ledger_becomes_one_batch_the_supervisor_approves(
    client_manager_x, client_supervisor_x, cards, household_a, household_b, village_x
):
    response = _upload(client_manager_x, xlsx_file(good_rows()), "430")
    assert response.url == reverse("points:carry_over_preview")
    preview = client_manager_x.get(response.url)
    check = preview.context["check"]
    assert check.is_valid
    # The paper total typed beside the file's, the grants it counts, what goes in the ledger.
    assert (check.paper_total, check.file_total, check.grants_total) == (430, 430, 200)
    assert check.carried_total == 230
    assert "Total of the paper ledger (typed)" in preview.text
    assert "its paper balance less its card" in preview.text  # the grant rule, explained
    assert not Proposal.objects.exists()  # nothing saved before the confirmation

    done = _confirm(client_manager_x)
    carry_over = CarryOver.objects.get()
    assert done.url == reverse("points:batch_detail", args=[carry_over.batch_id])
    assert (carry_over.paper_total, carry_over.file_total, carry_over.carried_total) == (
        430,
        430,
        230,
    )
    proposals = {p.household_id: p for p in Proposal.objects.filter(batch=carry_over.batch)}
    assert proposals[household_a.pk].points == 250 and proposals[household_b.pk].points == -20
    assert proposals[household_a.pk].status == Proposal.Status.PROPOSED
    # The history is a record beside the ledger, oldest first: it posts nothing.
    line = CarryOverLine.objects.get(household=household_a)
    assert [item["points"] for item in line.history] == [100, 300, -50]
    assert not Entry.objects.filter(kind=Entry.Kind.CARRIED).exists()
    assert _balance(household_a) == 100
    assert AuditEvent.objects.get(action="carryover.import").detail["carried"] == 230

    batch_page = client_supervisor_x.get(done.url)
    assert batch_page.context["carry_over"] == carry_over
    assert "Total of the file's balances" in batch_page.text
    assert "五好家庭" in batch_page.text

    approved = client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{carry_over.batch_id}", "idempotency_key": form_key()},
    )
    assert approved.status_code == 302
    assert _balance(household_a) == 350 and _balance(household_b) == 80
    entries = Entry.objects.filter(kind=Entry.Kind.CARRIED)
    assert sorted(entries.values_list("points", flat=True)) == [-20, 250]
    assert checks.check() == []  # the ledger's sums stay right

    notice = client_supervisor_x.get(reverse("reports:notice"))
    sections = {section.key: section for section in notice.context["sections"]}
    assert sections["carried"].totals[-3:] == [430, 200, 230]
    assert "Balances carried over" in notice.text
    summary = [row for row in sections["ledger"].rows if row[0] == "Balances carried over"]
    assert summary == [["Balances carried over", 2, 230]]
    # Carried over is not earned as an award: the awards section stays empty.
    assert sections["awards"].rows == []
    # The month report counts it on its own line, not as issued.
    today = timezone.localdate()
    flow = month_report_build(household_a.village, today.year, today.month).total
    assert flow.carried == 230 and flow.awarded == 0
    # So does the dashboard's table of the last twelve months.
    dashboard = client_supervisor_x.get(reverse("reports:dashboard"))
    assert dashboard.context["this_month"].carried == 230
    assert dashboard.context["year_total"].carried == 230
    assert "Carried over" in dashboard.text


def test_csv_with_english_headers_is_read_alike(client_manager_x, cards, household_a):
    text = "household number,head of household,balance\nX001,王大山,120\n"
    response = _upload(
        client_manager_x, SimpleUploadedFile("paper.csv", text.encode("utf-8-sig")), "120"
    )
    assert response.status_code == 302, response.context["form"].errors
    check = client_manager_x.get(reverse("points:carry_over_preview")).context["check"]
    assert check.is_valid and check.carried_total == 20


def test_one_bad_row_saves_nothing_and_each_row_says_why(
    client_manager_x, cards, group_x, village_x, manager_x
):
    HouseholdFactory(group=group_x, head_name="孙无卡", number="X003")  # no card yet
    rows = [
        ["X001", "王大山", 350, None, None, None],
        ["X002", "李秀英", "12.5", None, None, None],
        ["X009", "没这户", 10, None, None, None],
        ["X001", "王大山", 20, None, None, None],
        ["X002", "李四", None, "2021-01-01", 5, "x"],
        ["X003", "孙无卡", 40, None, None, None],
        ["X002", "李秀英", -3, None, None, None],
        ["X001", "王大山", 5, "2021-01-01", 5, ""],
    ]
    _upload(client_manager_x, xlsx_file(rows), "350")
    preview = client_manager_x.get(reverse("points:carry_over_preview"))
    check = preview.context["check"]
    assert not check.is_valid
    errors = {report.row.line: " ".join(report.errors) for report in check.reports}
    assert "not a whole number" in errors[3]
    assert "No household numbered X009" in errors[4]
    assert "already in row 2" in errors[5]
    assert "headed by 李秀英" in errors[6]
    assert "no points card yet" in errors[7]
    assert "already in row 3" in errors[8]  # X002 again (its first balance was bad)
    assert "either the balance or one dated line" in errors[9]
    assert errors[2] == ""
    assert "Nothing can be imported" in preview.text

    assert preview.context["payload"] == ""  # no confirmation is offered
    response = _confirm(client_manager_x)
    assert response.url == reverse("points:carry_over_upload")
    # The service itself refuses the whole file for one bad row.
    rows = carry_over_parse(xlsx_file(rows))
    with pytest.raises(ValidationError) as refused:
        carry_over_import(
            village=village_x, rows=rows, paper_total=350, file_name="x.xlsx", actor=manager_x
        )
    assert "Row 3: " in " ".join(refused.value.messages)
    assert not Proposal.objects.exists() and not CarryOver.objects.exists()
    assert not Batch.objects.exists() and not Rule.objects.exists()


def test_a_true_cell_is_no_balance_of_1_point(village_x, cards):
    """Found by a probe: a TRUE cell was read as 1 (FALSE as 0), so a ticked box in the
    balance column carried over 1 point and one in the change column added 1 to the history."""
    rows = [
        ["X001", "王大山", True, None, None, None],
        ["X002", "李秀英", 100, None, None, None],
        ["X002", "李秀英", None, "2021-01-01", True, "x"],
    ]
    check = carry_over_check(village_x, carry_over_parse(xlsx_file(rows)), 101)
    errors = [" ".join(report.errors) for report in check.reports]
    assert "Column 结转余额 (balance) holds TRUE" in errors[0]
    assert "Column 积分变动 (points) holds TRUE" in errors[2]
    assert not check.is_valid


def test_a_true_or_false_cell_gets_one_message_in_a_column_that_checks_its_values(village_x, cards):
    """Found by a review: a TRUE in a column that checks its own values (a balance, a date,
    points) got two messages, "holds TRUE" and "TRUE is not a whole number". The first says
    what to do; the second, about the same cell, said nothing more."""
    rows = [
        ["X001", "王大山", True, None, None, None],
        ["X002", True, None, False, True, "x"],
        [True, "李秀英", 100, None, None, None],
    ]
    check = carry_over_check(village_x, carry_over_parse(xlsx_file(rows)), 100)
    assert [len(report.errors) for report in check.reports] == [1, 3, 1]
    assert all("which Excel writes for a yes/no cell" in e for e in check.error_lines())


def test_a_true_balance_beside_a_dated_line_is_said_once(village_x, cards):
    """Found by a probe: a TRUE in the balance column of a row with a dated line also read
    "either the balance or one dated line": two messages for one cell. The line is read;
    a balance typed beside it is still refused as both."""
    rows = [
        ["X001", "王大山", True, "2019-03-01", 350, "扫雪"],
        ["X002", "李秀英", 100, None, None, True],
        ["X001", "王大山", 100, "2019-03-01", 20, "扫雪"],
    ]
    check = carry_over_check(village_x, carry_over_parse(xlsx_file(rows)), 100)
    errors = [report.errors for report in check.reports]
    assert len(errors[0]) == 1 and "Column 结转余额 (balance) holds TRUE" in errors[0][0]
    assert len(errors[1]) == 1 and "Column 事由 (what for) holds TRUE" in errors[1][0]
    assert errors[2] == ["A row gives either the balance or one dated line of history, not both."]


def test_a_true_or_false_cell_where_text_belongs_is_refused(village_x, cards):
    """Found by a review: once TRUE read as "TRUE", a line of history for TRUE (a ticked box
    in the 事由 column) was kept so, and a TRUE household number was only "not registered".
    Each such cell is a problem of its row, named by its column."""
    rows = [
        ["X001", "王大山", 350, None, None, None],
        ["X001", "王大山", None, "2019-03-01", 350, True],
        [False, "李秀英", 100, None, None, None],
    ]
    check = carry_over_check(village_x, carry_over_parse(xlsx_file(rows)), 450)
    errors = [" ".join(report.errors) for report in check.reports]
    assert errors[1] == (
        "Column 事由 (what for) holds TRUE, which Excel writes for a yes/no cell; "
        "this column takes no yes or no. Type what belongs there."
    )
    assert "Column 户号 (household number) holds FALSE" in errors[2]
    assert not check.is_valid


def test_the_signed_rows_are_the_managers_own(client_manager_x, client_manager_y, cards, manager_y):
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    payload = _payload(client_manager_x)
    tampered = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    for client, body in ((client_manager_y, payload), (client_manager_x, tampered)):
        response = client.post(
            reverse("points:carry_over_confirm"), {"payload": body, "idempotency_key": form_key()}
        )
        assert response.url == reverse("points:carry_over_upload")
    assert not CarryOver.objects.exists()


def test_a_negative_balance_and_history_that_does_not_add_up(village_x, cards):
    rows = carry_over_parse(
        xlsx_file(
            [
                ["X001", "王大山", 300, None, None, None],
                ["X001", "王大山", None, "2021-06-15", 250, "五好家庭"],
                ["X002", "李秀英", -3, None, None, None],
                ["X002", "李秀英", None, "2099-01-01", "abc", ""],
                ["X002", "李秀英", None, "1900-02-28", 5, "旧账"],
            ]
        )
    )
    check = carry_over_check(village_x, rows, 300)
    errors = [" ".join(report.errors) for report in check.reports]
    assert "add up to 250, but its balance is 300" in errors[0]
    assert "cannot be negative" in errors[2]
    assert "in the future" in errors[3] and "not a whole number other than 0" in errors[3]
    assert "1900-02-28 is before the earliest allowed, 2000-01-01" in errors[4]


def test_the_template_explains_itself_in_the_readers_words(village_x):
    """The sheet to fill keeps its Chinese name and headers (what to type); the sheet that
    explains them was named 说明 in the English workbook too."""
    with translation.override("en"):
        assert carry_over_template_workbook(village_x).sheetnames == [
            "结转积分",
            "How to fill it in",
        ]
    with translation.override("zh-hans"):
        assert carry_over_template_workbook(village_x).sheetnames == ["结转积分", "说明"]


def test_numbers_as_a_paper_ledger_writes_them(village_x, cards):
    """The template's cells are text, so "+300" stays "+300": a line's sign and the commas
    between thousands were refused as "not a whole number", and "12,5" read as 125. A
    balance of ten digits or more was "not a whole number" either, not too large."""
    rows = carry_over_parse(
        xlsx_file(
            [
                ["X001", "王大山", "1,200", None, None, None],
                ["X001", "王大山", None, "2021-06-15", "+1,250", "五好家庭"],
                ["X001", "王大山", None, "2023-01-20", "－５０", "兑换大米"],
                ["X002", "李秀英", "+１，１００", None, None, None],
            ]
        )
    )
    check = carry_over_check(village_x, rows, 2300)
    assert check.is_valid, check.error_lines()
    assert [plan.paper_balance for plan in check.plans] == [1200, 1100]
    assert [line["points"] for line in check.plans[0].history] == [1250, -50]

    rows = carry_over_parse(
        xlsx_file(
            [
                ["X001", "王大山", "12,5", None, None, None],
                ["X002", "李秀英", "2147483648", None, None, None],
                ["X002", "李秀英", None, "2021-06-15", "+2147483648", "x"],
                ["X001", "王大山", None, "2021-06-15", "1,2,0", "x"],
            ]
        )
    )
    errors = [" ".join(report.errors) for report in carry_over_check(village_x, rows, 0).reports]
    assert 'The balance "12,5" is not a whole number' in errors[0]
    assert "is more than 1000000 points" in errors[1] and "2147483648" not in errors[1]
    assert "points are more than 1000000" in errors[2] and "2147483648" not in errors[2]
    assert "not a whole number other than 0" in errors[3]


def test_points_and_days_as_villages_type_them(village_x, cards):
    """Found by a probe: a paper ledger's "5分", a minus typed as U+2212 (Word, WPS, a
    copied page), a day saved as CSV with its midnight ("2024/3/5 0:00") or typed as 8
    digits ("20240305") were refused as no number or no date. Only a plain trailing 分 is
    read: a word before the number ("扣5分") is told to be written -5."""
    rows = carry_over_parse(
        xlsx_file(
            [
                ["X001", "王大山", "350分", None, None, None],
                ["X001", "王大山", None, "2024/3/5 0:00", "+400分", "五好家庭"],
                ["X001", "王大山", None, "20240306", "\u221230", "兑换大米"],
                ["X001", "王大山", None, "2024-03-07 00:00:00", "－20 分", "兑换油"],
                ["X002", "李秀英", "+80 分", None, None, None],
            ]
        )
    )
    check = carry_over_check(village_x, rows, 430)
    assert check.is_valid, check.error_lines()
    assert [plan.paper_balance for plan in check.plans] == [350, 80]
    assert [(line["date"], line["points"]) for line in check.plans[0].history] == [
        ("2024-03-05", 400),
        ("2024-03-06", -30),
        ("2024-03-07", -20),
    ]

    rows = carry_over_parse(
        xlsx_file(
            [
                ["X001", "王大山", None, "2024-03-05", "扣5分", "x"],
                ["X001", "王大山", None, "2024/3/5 14:30", "分", "x"],
                ["X001", "王大山", None, "20241305", "5分分", "x"],
                ["X001", "王大山", None, "2024-03-05", "5分钟", "x"],
            ]
        )
    )
    errors = [" ".join(report.errors) for report in carry_over_check(village_x, rows, 0).reports]
    assert "Write a deduction as a number with a minus sign, such as -5." in errors[0]
    assert 'The date "2024/3/5 14:30" is not a date' in errors[1]
    assert 'The points "分" of the line are not a whole number' in errors[1]
    # Eight digits that make no day are no phone nor ID number: shown whole, or not at
    # all (a landline's local number may have 8), never with one digit hidden ("202*1305").
    assert 'The date "********" is not a date' in errors[2]
    assert 'The points "5分分" of the line are not a whole number' in errors[2]
    assert 'The points "5分钟" of the line are not a whole number' in errors[3]


def test_a_paper_total_that_is_not_the_files_is_refused_loudly(client_manager_x, cards):
    _upload(client_manager_x, xlsx_file(good_rows()), "431")
    preview = client_manager_x.get(reverse("points:carry_over_preview"))
    check = preview.context["check"]
    assert not check.is_valid and check.bad_rows == 0
    assert "you typed, 431, is not the total of the file" in preview.text
    assert "does not match" in preview.text
    _confirm(client_manager_x)
    assert not CarryOver.objects.exists()


def test_a_second_import_cannot_double_the_balances(
    client_manager_x, cards, manager_x, supervisor_x, village_x
):
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    key = form_key()
    _confirm(client_manager_x, key)
    # The key sent again with another body is refused and changes nothing.
    client_manager_x.post(
        reverse("points:carry_over_confirm"), {"payload": "another", "idempotency_key": key}
    )
    assert CarryOver.objects.count() == 1 and Proposal.objects.count() == 2

    # The same file uploaded again is refused household by household.
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    check = client_manager_x.get(reverse("points:carry_over_preview")).context["check"]
    assert not check.is_valid
    balance_rows = [report for report in check.reports if report.is_balance]
    assert len(balance_rows) == 2
    assert all("already has its balance carried over" in " ".join(r.errors) for r in balance_rows)
    rows = carry_over_parse(xlsx_file(good_rows()))
    with pytest.raises(ValidationError):
        carry_over_import(
            village=village_x, rows=rows, paper_total=430, file_name="x.xlsx", actor=manager_x
        )
    assert CarryOver.objects.count() == 1

    # Once the supervisor rejected the batch, the corrected paper ledger may come in.
    from points.services import proposal_reject

    proposal_reject(
        proposal_ids=Proposal.objects.values_list("pk", flat=True),
        actor=supervisor_x,
        reason="the paper total was misread",
    )
    carry_over_import(
        village=village_x, rows=rows, paper_total=430, file_name="x.xlsx", actor=manager_x
    )
    assert CarryOver.objects.count() == 2


def test_the_same_key_twice_replays_the_first_answer(client_manager_x, cards):
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    body = {"payload": _payload(client_manager_x), "idempotency_key": form_key()}
    first = client_manager_x.post(reverse("points:carry_over_confirm"), body)
    second = client_manager_x.post(reverse("points:carry_over_confirm"), body)
    assert first.url == second.url
    assert CarryOver.objects.count() == 1 and Proposal.objects.count() == 2


def test_two_tabs_of_one_preview_confirmed_at_once_import_once_and_say_so(
    transactional_db, client_manager_x, cards, monkeypatch
):
    """Found by a probe: the preview open in two tabs, both confirmed at the same moment, the
    ledger was imported once and the second tab was told the file had errors."""
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    first_tab, second_tab = tabs_of(client_manager_x, 2)
    url = reverse("points:carry_over_confirm")
    bodies = [
        {"payload": _payload(tab), "idempotency_key": form_key()} for tab in (first_tab, second_tab)
    ]
    # The first tab is held on its way into the import, its upload read; the second imports.
    entered = held_in(monkeypatch, carry_over_views, "carry_over_import", seconds=1.0)

    def second():
        entered.wait(timeout=10)
        return second_tab.post(url, bodies[1])

    (_, held), (_, imported) = run_threads([lambda: first_tab.post(url, bodies[0]), second])
    batch = CarryOver.objects.get().batch_id
    assert imported.url == reverse("points:batch_detail", args=[batch])
    assert held.url == reverse("points:carry_over_upload")
    said = [str(message) for message in get_messages(held.wsgi_request)]
    assert said == [
        f"The balances of this paper ledger were carried over already (batch of "
        f"{timezone.localdate().isoformat()}): nothing was imported again."
    ]
    assert Proposal.objects.count() == 2


def test_a_second_tab_of_one_preview_confirmed_after_the_first_says_it_was_carried_over(
    client_manager_x, cards
):
    """Noted by the team: the second tab, confirmed once the first had finished, read "this
    preview is out of date" (the upload had left the session), as if nothing was imported.
    A newer upload waiting in the session (a third tab) is kept."""
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    first_tab, second_tab = tabs_of(client_manager_x, 2)
    url = reverse("points:carry_over_confirm")
    bodies = [
        {"payload": _payload(tab), "idempotency_key": form_key()} for tab in (first_tab, second_tab)
    ]
    imported = first_tab.post(url, bodies[0])
    batch = CarryOver.objects.get().batch_id
    assert imported.url == reverse("points:batch_detail", args=[batch])
    second_tab.cookies = first_tab.cookies  # one browser: the first's session, upload gone
    _upload(second_tab, xlsx_file(good_rows()), "430")  # a newer upload, in a third tab
    late = second_tab.post(url, bodies[1])
    assert late.url == reverse("points:carry_over_upload")
    said = [str(message) for message in get_messages(late.wsgi_request)]
    assert said[-1] == (  # after the first's own answer, its page not drawn here
        f"The balances of this paper ledger were carried over already (batch of "
        f"{timezone.localdate().isoformat()}): nothing was imported again."
    )
    assert not any("out of date" in message for message in said)
    assert CarryOver.objects.count() == 1 and Proposal.objects.count() == 2
    assert second_tab.session.get(carry_over_views.SESSION_KEY) is not None


def test_a_balance_the_card_can_no_longer_bear_is_refused(
    client_manager_x, cards, household_b, manager_x
):
    from points.services import entry_post

    entry_post(
        account_id=Account.objects.get(household=household_b).pk,
        kind=Entry.Kind.REDEMPTION,
        points=-90,
        actor=manager_x,
    )
    _upload(client_manager_x, xlsx_file([["X002", "李秀英", 80, None, None, None]]), "80")
    check = client_manager_x.get(reverse("points:carry_over_preview")).context["check"]
    assert "would leave it below zero" in " ".join(check.reports[0].errors)


def test_the_carried_over_rule_is_nobody_elses_to_choose(
    client_manager_x, cards, village_x, manager_x
):
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    _confirm(client_manager_x)
    rule = Rule.objects.get(village=village_x, category=Rule.Category.CARRIED_OVER)
    assert not rule.active
    rules_page = client_manager_x.get(reverse("points:rule_list"))
    assert rule not in list(rules_page.context["rules"])
    edit = client_manager_x.post(
        reverse("points:rule_edit", args=[rule.pk]),
        {"code": rule.code, "category": rule.category, "description": "x", "points": 5,
         "active": "on"},
    )  # fmt: skip
    assert edit.status_code == 200  # refused with the form shown again
    rule.refresh_from_db()
    assert not rule.active


def test_only_the_manager_imports(client_supervisor_x, client_villager_a, cards):
    assert client_supervisor_x.get(reverse("points:carry_over_upload")).status_code == 403
    assert client_villager_a.get(reverse("points:carry_over_upload")).status_code in (302, 403)


def test_with_a_publicity_period_the_balances_wait_on_the_notice_then_are_credited(
    client_manager_x, cards, household_a, supervisor_x, village_x
):
    from points.publicity import proposals_credit_due
    from points.services import proposal_approve

    village_x.publicity_days = 3
    village_x.save(update_fields=["publicity_days"])
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    _confirm(client_manager_x)
    proposal_approve(proposal_ids=Proposal.objects.values_list("pk", flat=True), actor=supervisor_x)
    assert set(Proposal.objects.values_list("status", flat=True)) == {Proposal.Status.PUBLICITY}
    assert _balance(household_a) == 100
    due = Proposal.objects.first().credit_due_at
    proposals_credit_due(now=due)
    assert _balance(household_a) == 350
    assert Entry.objects.filter(kind=Entry.Kind.CARRIED).count() == 2
    assert checks.check() == []


def test_the_batch_page_says_what_is_in_the_ledger_beside_what_the_file_carries(
    client_manager_x,
    client_supervisor_x,
    cards,
    household_a,
    household_b,
    supervisor_x,
    villager_a,
    village_x,
):
    """Found by a probe: the batch page said "Carried over into the ledger: 230" before the
    supervisor had approved anything, and still after an upheld objection cancelled 李秀英's
    -20, when the ledger held 250. The file's figure is what is to be carried over; beside
    it, what the batch's lines put in the ledger so far, from their entries."""
    from points.publicity import objection_raise, objection_resolve, proposals_credit_due
    from points.services import proposal_approve

    village_x.publicity_days = 3
    village_x.save(update_fields=["publicity_days"])
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    batch_page = _confirm(client_manager_x).url

    def figures():
        page = client_supervisor_x.get(batch_page)
        totals = page.text[page.text.index('class="row carry-over-totals"') :]
        return page.context["carry_over_posted"], totals[: totals.index("</dl>")]

    posted, totals = figures()
    assert posted == 0 and "To carry over into the ledger" in totals
    proposal_approve(proposal_ids=Proposal.objects.values_list("pk", flat=True), actor=supervisor_x)
    objection = objection_raise(
        proposal_id=Proposal.objects.get(household=household_b).pk, actor=villager_a, reason="不对"
    )
    objection_resolve(objection_id=objection.pk, actor=supervisor_x, upheld=True, resolution="有误")
    proposals_credit_due(now=Proposal.objects.get(household=household_a).credit_due_at)
    posted, totals = figures()
    assert (
        posted
        == 250
        == sum(Entry.objects.filter(kind=Entry.Kind.CARRIED).values_list("points", flat=True))
    )
    assert '<dd class="col-5 col-md-8 fw-bold">230</dd>' in totals
    assert '<dd class="col-5 col-md-8 fw-bold carried-posted">250</dd>' in totals


def test_a_recalled_card_and_points_held_for_reservations_are_counted(
    village_x, cards, manager_x, villager_b
):
    """Found by a probe: a household whose card was recalled had its paper balance
    accepted, and a line that only the points held for a reservation could bear passed the
    check, to be refused at approval (where it blocked the whole batch)."""
    card_a, card_b = cards
    zones_ensure(village=village_x)
    soap = make_item(village_x, "daily", "香皂", 90, 1, manager_x)
    reservation_create(household=card_b.household, lines={soap.pk: 1}, actor=villager_b)
    card_recall(household=card_a.household, actor=manager_x, reason="搬走了")
    rows = carry_over_parse(
        xlsx_file(
            [
                ["X001", "王大山", 350, None, None, None],
                ["X002", "李秀英", 30, None, None, None],  # 30 - 100: -70, only 10 spendable
            ]
        )
    )
    check = carry_over_check(village_x, rows, 380)
    errors = [" ".join(report.errors) for report in check.reports]
    assert "no active points card" in errors[0]
    assert "can spend 10 points now" in errors[1]
    assert not check.is_valid and check.plans == []


def test_a_rejected_batch_frees_the_household_whose_balance_was_the_grant(
    village_x, cards, manager_x, supervisor_x
):
    """Found by a probe: a paper balance equal to the card's grant gets a line with no
    proposal; once the supervisor rejected the batch that line still counted, so the
    household could never be carried over again."""
    from points.services import proposal_reject

    def rows(balance_b):
        return carry_over_parse(
            xlsx_file(
                [
                    ["X001", "王大山", 350, None, None, None],
                    ["X002", "李秀英", balance_b, None, None, None],
                ]
            )
        )

    carry_over_import(
        village=village_x, rows=rows(100), paper_total=450, file_name="a.xlsx", actor=manager_x
    )
    # While the batch waits, both households are taken, the zero line's too.
    waiting = carry_over_check(village_x, rows(160), 510)
    assert all(
        "already has its balance carried over" in " ".join(r.errors) for r in waiting.reports
    )
    proposal_reject(
        proposal_ids=Proposal.objects.values_list("pk", flat=True), actor=supervisor_x, reason="x"
    )
    check = carry_over_check(village_x, rows(160), 510)
    assert check.is_valid, check.error_lines()


def test_a_file_where_no_balance_moves_points_is_refused(village_x, cards, manager_x):
    """Nobody would decide such a batch: its households would be taken for good by the
    manager alone."""
    rows = carry_over_parse(
        xlsx_file(
            [["X001", "王大山", 100, None, None, None], ["X002", "李秀英", 100, None, None, None]]
        )
    )
    check = carry_over_check(village_x, rows, 200)
    assert not check.is_valid
    assert "nothing to carry over" in " ".join(check.error_lines())
    with pytest.raises(ValidationError):
        carry_over_import(
            village=village_x, rows=rows, paper_total=200, file_name="a.xlsx", actor=manager_x
        )
    assert not CarryOver.objects.exists()


def test_the_notice_lists_every_household_of_the_batch_as_the_batch_page_does(
    client_manager_x, client_supervisor_x, cards, household_b, village_x
):
    """Found by a probe: the notice left out the household whose paper balance was the
    grant (no proposal, no entry), so its paper total (350) was not the batch's (450)."""
    rows = [["X001", "王大山", 350, None, None, None], ["X002", "李秀英", 100, None, None, None]]
    _upload(client_manager_x, xlsx_file(rows), "450")
    done = _confirm(client_manager_x)
    carry_over = CarryOver.objects.get()
    client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{carry_over.batch_id}", "idempotency_key": form_key()},
    )
    batch_page = client_supervisor_x.get(done.url)
    assert "李秀英" in batch_page.text and "nothing to carry over" in batch_page.text
    notice = client_supervisor_x.get(reverse("reports:notice"))
    carried = {section.key: section for section in notice.context["sections"]}["carried"]
    assert [row[1:] for row in carried.rows] == [
        ["王大山", "啊道", 350, 100, 250],
        [household_b.head_name, household_b.group.name, 100, 100, 0],
    ]
    # Paper balances, grants and points moved: the batch's figures, and the month report's.
    assert (
        carried.totals[-3:]
        == [
            carry_over.file_total,
            carry_over.grants_total,
            carry_over.carried_total,
        ]
        == [450, 200, 250]
    )
    today = timezone.localdate()
    assert month_report_build(village_x, today.year, today.month).total.carried == 250


def test_a_discarded_or_replaced_upload_is_not_imported_from_its_old_preview(
    client_manager_x, cards
):
    """Found by a probe: the preview's signed rows were confirmed after "Discard" said
    nothing was imported, and after a corrected file was uploaded in another tab."""
    _upload(client_manager_x, xlsx_file(good_rows()), "430")
    discarded = _payload(client_manager_x)
    client_manager_x.post(reverse("points:carry_over_cancel"))
    response = client_manager_x.post(
        reverse("points:carry_over_confirm"),
        {"payload": discarded, "idempotency_key": form_key()},
    )
    assert response.url == reverse("points:carry_over_upload")
    assert not CarryOver.objects.exists()

    typo = [["X001", "王大山", 3500, None, None, None]]
    _upload(client_manager_x, xlsx_file(typo), "3500")
    replaced = _payload(client_manager_x)
    _upload(client_manager_x, xlsx_file(good_rows()), "430")  # the corrected file, another tab
    current = _payload(client_manager_x)
    response = client_manager_x.post(
        reverse("points:carry_over_confirm"),
        {"payload": replaced, "idempotency_key": form_key()},
    )
    assert response.url == reverse("points:carry_over_upload")
    assert "out of date" in " ".join(m.message for m in get_messages(response.wsgi_request))
    assert not CarryOver.objects.exists()
    # The current preview still imports, once, and its key replays the first answer.
    body = {"payload": current, "idempotency_key": form_key()}
    first = client_manager_x.post(reverse("points:carry_over_confirm"), body)
    second = client_manager_x.post(reverse("points:carry_over_confirm"), body)
    assert (
        first.url
        == second.url
        == reverse("points:batch_detail", args=[CarryOver.objects.get().batch_id])
    )
    assert CarryOver.objects.get().file_total == 430


def test_a_household_number_typed_with_full_width_characters_is_found(village_x, cards):
    """The file's number is read as the roster and the household form store it."""
    rows = carry_over_parse(xlsx_file([["Ｘ００１", "王大山", 350, None, None, None]]))
    check = carry_over_check(village_x, rows, 350)
    assert check.is_valid, check.error_lines()


def test_a_household_number_in_small_letters_is_the_registered_one(village_x, cards, household_a):
    """Found by a review: "x001" was refused as no household of the village beside the
    registered X001, and an X001 balance with x001 lines of history made two households. Numbers
    are compared as the roster and the household form compare them: whatever their letters' case."""
    rows = [
        ["x001", "王大山", 350, None, None, None],
        ["X001", "王大山", None, "2019-03-01", 100, "发卡基础分"],
        ["x001", "王大山", None, "2021-06-15", 250, "五好家庭"],
    ]
    check = carry_over_check(village_x, carry_over_parse(xlsx_file(rows)), 350)
    assert check.is_valid, check.error_lines()
    (plan,) = check.plans
    assert plan.household == household_a
    assert [line["points"] for line in plan.history] == [100, 250]

    twice = carry_over_check(
        village_x,
        carry_over_parse(xlsx_file([*rows, ["X001", "王大山", 5, None, None, None]])),
        355,
    )
    assert "The balance of household X001 is already in row 2." in twice.error_lines()[-1]


def test_a_household_number_is_compared_in_capitals_as_the_database_writes_them(
    village_x, group_x, manager_x
):
    """Found by a review of the roster: "ß" is "SS" in Python's capitals and stays "ß" in the
    database's, so "Aß1" and "ASS1" are two households to the database, and a balance for
    Aß1 was read as ASS1's (refused for its head's name, or carried to the other household
    where both are headed by one name)."""
    first = HouseholdFactory(group=group_x, head_name="王大山", number="Aß1")
    second = HouseholdFactory(group=group_x, head_name="王大山", number="ASS1")
    for household in (first, second):
        issue_card(household, manager_x)
    rows = [["aß1", "王大山", 350, None, None, None], ["ASS1", "王大山", 80, None, None, None]]
    check = carry_over_check(village_x, carry_over_parse(xlsx_file(rows)), 430)
    assert check.is_valid, check.error_lines()
    assert {plan.household.number: plan.paper_balance for plan in check.plans} == {
        "Aß1": 350,
        "ASS1": 80,
    }


def test_a_cell_one_column_off_never_shows_an_id_number_or_phone(client_manager_x, cards):
    """As the roster's preview: every echoed cell is masked (villagers.masking.mask_cell)."""
    id_number = "610630196503040019"
    rows = [
        ["X001", "王大山", id_number, None, None, None],
        ["13900000001", "13900000002", 5, None, None, None],
        ["X002", "李秀英", None, "13900000003", "13900000004", "电话13900000005"],
    ]
    _upload(client_manager_x, xlsx_file(rows), "5")
    page = html.unescape(client_manager_x.get(reverse("points:carry_over_preview")).text)
    assert "The balance 6106**********0019 is more than 1000000 points" in page
    for secret in (id_number, *(f"1390000000{n}" for n in range(1, 6))):
        assert secret not in page


def test_the_import_s_queries_do_not_grow_with_its_households(
    client_manager_x, supervisor_x, group_x, manager_x, django_assert_max_num_queries
):
    """Found by a probe: confirming a paper ledger of 100 households took 2,344 queries and
    2 s (some 20 s for a village of 1,000): full_clean asked for each
    proposal's village, household, rule, batch and proposer and each of its constraints,
    which the import's check had settled for every row at once. 44 now, whatever the
    households."""
    households = [
        HouseholdFactory(group=group_x, number=f"P{index:02d}", head_name=f"户{index}")
        for index in range(12)
    ]
    for household in households:
        issue_card(household, manager_x)
    rows = [[household.number, household.head_name, 150] for household in households]
    _upload(client_manager_x, xlsx_file(rows, header=HEADER[:3]), str(150 * len(rows)))
    payload = _payload(client_manager_x)
    with django_assert_max_num_queries(50):
        response = client_manager_x.post(
            reverse("points:carry_over_confirm"),
            {"payload": payload, "idempotency_key": form_key()},
        )
    assert response.status_code == 302
    batch = CarryOver.objects.get().batch
    assert (
        sorted(Proposal.objects.filter(batch=batch).values_list("points", flat=True)) == [50] * 12
    )


def test_a_total_row_at_the_bottom_is_checked_and_not_imported(client_manager_x, cards):
    """Found by a probe: a paper ledger's 合计 row was read as a household numbered 合计 (no
    word of what to do) and its sum counted again, so the file's total was twice the paper's."""
    rows = [*good_rows(), ["合计", None, 430, None, None, None]]
    _upload(client_manager_x, xlsx_file(rows), "430")
    preview = client_manager_x.get(reverse("points:carry_over_preview"))
    check = preview.context["check"]
    assert check.is_valid, check.error_lines()
    assert (check.file_total, check.carried_total) == (430, 230)
    assert check.reports[-1].is_total
    assert "Total row: not imported" in preview.text
    _confirm(client_manager_x)
    assert CarryOverLine.objects.count() == 2 and CarryOver.objects.get().file_total == 430


def test_a_total_row_that_is_not_the_sum_of_the_balances_says_so(village_x, cards):
    rows = [*good_rows(), [None, "合　计", 431, None, None, None]]
    check = carry_over_check(village_x, carry_over_parse(xlsx_file(rows)), 430)
    assert not check.is_valid and check.file_total == 430
    assert check.error_lines() == [
        "Row 7: This is the file's total row: it gives 431, but the balances above it add up "
        "to 430. Check the balances against the paper ledger, or correct the total."
    ]


def test_a_head_s_name_spaced_out_is_the_registered_one(village_x, cards):
    """Found by a probe: a paper ledger spaces two-character names out (李　秀英, 王 大山), and
    every such row was refused as another head."""
    rows = [["X001", "王 大山", 350, None, None, None], ["X002", "李　秀英", 80, None, None, None]]
    check = carry_over_check(village_x, carry_over_parse(xlsx_file(rows)), 430)
    assert check.is_valid, check.error_lines()


def test_a_household_number_whose_zeros_a_number_cell_lost_is_found(
    village_x, group_x, manager_x, cards
):
    """Found by a probe: Excel keeps 007 typed in a number cell as 7, and every such row was
    refused as no household of the village. The zeros are put back when exactly one household
    has them; the head's name still has to agree."""
    seven = HouseholdFactory(group=group_x, head_name="孙七", number="007")
    issue_card(seven, manager_x)
    check = carry_over_check(
        village_x, carry_over_parse(xlsx_file([[7, "孙七", 150, None, None, None]])), 150
    )
    assert check.is_valid, check.error_lines()
    assert [plan.household for plan in check.plans] == [seven]
    # The same household under both spellings is one household, given twice.
    twice = carry_over_check(
        village_x,
        carry_over_parse(
            xlsx_file([["007", "孙七", 150, None, None, None], [7, "孙七", 150, None, None, None]])
        ),
        300,
    )
    assert twice.error_lines() == ["Row 3: The balance of household 007 is already in row 2."]
    # Two households it could be: neither is guessed.
    HouseholdFactory(group=group_x, head_name="孙七", number="07")
    check = carry_over_check(
        village_x, carry_over_parse(xlsx_file([[7, "孙七", 150, None, None, None]])), 150
    )
    assert check.error_lines() == ["Row 2: No household numbered 7 is registered in this village."]


def _sheets_file(sheets, active=0):
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    workbook.active = active
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("groups.xlsx", buffer.getvalue())


def test_a_ledger_kept_a_sheet_per_group_says_which_sheets_are_not_read(client_manager_x, cards):
    """Found by a probe: of a ledger with a sheet per village group, the open sheet alone was
    read, and the preview never said the others were left out."""
    upload = _sheets_file(
        [
            ("一组", [HEADER[:3], ["X001", "王大山", 350]]),
            ("二组", [["二组积分台账"], HEADER[:3], ["X002", "李秀英", 80]]),
            ("说明", [["户号", "household number", "必填"], ["户主姓名", "head", "必填"]]),
        ]
    )
    _upload(client_manager_x, upload, "350")
    preview = client_manager_x.get(reverse("points:carry_over_preview"))
    assert preview.context["check"].is_valid
    assert (
        'Only the sheet "一组" is read. The workbook\'s other sheets with the same columns are '
        "not: 二组."
    ) in html.unescape(preview.text)

    # A template's help sheet, one column a row, is no table left out.
    workbook = carry_over_template_workbook(None)
    workbook.active.append(["X001", "王大山", "350"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    _upload(client_manager_x, SimpleUploadedFile("t.xlsx", buffer.getvalue()), "350")
    preview = client_manager_x.get(reverse("points:carry_over_preview"))
    assert preview.context["check"].is_valid and "Only the sheet" not in preview.text
