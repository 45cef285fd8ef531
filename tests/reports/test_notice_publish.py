"""Publishing a month's notice (DESIGN.md ledger rule 7): frozen, signed, public, and
corrected only in later months; its totals are the ledger's.

Last month's history is laid down as the demo loader writes history (dated rows: ledger
entries with their approved proposals, a redemption dated through the service), and the
corrections after publishing go through the services.
"""

import datetime
import io
import re
import threading
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.models import AuditEvent
from core.months import month_span, previous_month
from points.ledger import entry_post
from points.models import Entry, Rule
from points.services import entry_reverse, proposal_approve
from reports import checks as reports_checks
from reports.models import NoticeSignature, PublishedNotice
from reports.notice import notice_publish, notice_sections, section_plain
from store.models import Donation, Donor
from store.services import donation_record, redemption_create, redemption_void
from tests.conftest import behind_the_app, form_key, issue_card, make_staff
from tests.factories import HouseholdFactory
from tests.points.conftest import make_rule, propose
from tests.reports.conftest import at, dated_approval, dated_entry
from tests.security.concurrent import at_once
from villagers.models import Household, Village

LAST = previous_month(timezone.localdate())
BEFORE = previous_month(LAST)


@pytest.fixture
def month_history(village_x, group_x, manager_x, supervisor_x, rice):
    """Three households with cards from the month before last; last month: awards (one
    reversed within the month), a deduction, two redemptions (one voided within the
    month) and a money donation."""
    Village.objects.filter(pk=village_x.pk).update(publicity_days=0)
    village_x.refresh_from_db()
    clean = make_rule(village_x, "E01", 5, description="院子干净")
    labour = make_rule(village_x, "L01", 10, Rule.Category.VOLUNTARY_LABOUR, description="修路")
    litter = make_rule(village_x, "D01", -20, description="乱扔垃圾")
    households = [
        HouseholdFactory(group=group_x, head_name=name, number=f"N0{index}")
        for index, name in enumerate(["王大山", "李秀英", "张建华"], start=1)
    ]
    for household in households:
        issue_card(household, manager_x, at=at(BEFORE, 15))
        household.refresh_from_db()
    wang, li, zhang = households
    ok = {"manager": manager_x, "supervisor": supervisor_x}
    award = dated_approval(wang, labour, at(LAST, 3), reason="修村道", **ok)
    dated_approval(li, clean, at(LAST, 4), reason="院子干净", **ok)
    wrong = dated_approval(zhang, clean, at(LAST, 5), reason="记错了人", **ok)
    dated_entry(
        zhang.account, Entry.Kind.REVERSAL, -5, at(LAST, 6), reverses=wrong.entry, memo="记错了人"
    )
    dated_approval(li, litter, at(LAST, 7), reason="乱扔垃圾", **ok)
    kept = redemption_create(
        village=village_x,
        household=wang,
        lines={rice.pk: 2},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=at(LAST, 9),
    )
    voided = redemption_create(
        village=village_x,
        household=zhang,
        lines={rice.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=at(LAST, 10),
    )
    redemption_void(redemption=voided, actor=supervisor_x, reason="刷错了卡", at=at(LAST, 11))
    donation_record(
        village=village_x,
        donor=Donor.objects.create(village=village_x, name="宜川县民政局", kind="government"),
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("8000.00"),
        thanks="感谢民政局",
        actor=manager_x,
        received_on=LAST.replace(day=4),
    )
    return {"households": households, "award": award, "kept": kept, "clean": clean}


def said(response) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def publish_page(client, village, month=LAST):
    return client.get(
        reverse("reports:notice_public", args=[village.code, month.year, month.month])
    )


def publish(client, month=LAST):
    url = reverse("reports:notice_publish", args=[month.year, month.month])
    return client.post(url, {"idempotency_key": form_key(), "confirm": "yes"})


def _section(sections, key):
    return next(section for section in sections if section.key == key)


def ledger_by_kind(village, month) -> dict:
    """{(kind, kind reversed or None): (count, points)} of the month, straight from the rows."""
    start, end = month_span(month.year, month.month)
    lines = defaultdict(lambda: [0, 0])
    for entry in Entry.objects.filter(account__village=village).select_related("reverses"):
        if start <= entry.created_at < end:
            line = lines[(entry.kind, entry.reverses.kind if entry.reverses else None)]
            line[0] += 1
            line[1] += entry.points
    return lines


def balances_at(village, moment) -> dict[int, int]:
    """{household id: the sum of its entries before `moment`}."""
    balances = defaultdict(int)
    for entry in Entry.objects.filter(account__village=village).select_related("account"):
        if entry.created_at < moment:
            balances[entry.account.household_id] += entry.points
    return balances


# --- the totals are the ledger's ------------------------------------------------------------


def test_the_notices_totals_equal_the_ledgers_for_the_month(month_history, village_x):
    sections = notice_sections(village_x, LAST.year, LAST.month)
    expected = ledger_by_kind(village_x, LAST)
    start, end = month_span(LAST.year, LAST.month)
    at_start, at_end = balances_at(village_x, start), balances_at(village_x, end)

    ledger = _section(sections, "ledger")
    rows = {row[0]: row[1:] for row in ledger.rows}
    assert rows["Held by households at the start of the month"][1] == sum(at_start.values()) == 300
    for label, key in [
        ("Opening points of new cards", ("opening", None)),
        ("Awards", ("award", None)),
        ("Deductions", ("deduction", None)),
        ("Goods redeemed at the store", ("redemption", None)),
        ("Awards reversed", ("reversal", "award")),
        ("Deductions reversed", ("reversal", "deduction")),
        ("Redemptions voided", ("reversal", "redemption")),
    ]:
        assert list(rows[label]) == expected.get(key, [0, 0]), label
    assert ledger.totals[-1] == sum(at_end.values())
    assert sum(row[2] for row in ledger.rows) == ledger.totals[-1]  # the lines add up
    assert rows["Awards"] == [3, 20] and rows["Awards reversed"] == [1, -5]

    # Each section's total is its line of the ledger.
    assert _section(sections, "awards").totals[-1] == rows["Awards"][1]
    assert _section(sections, "deductions").totals[-1] == rows["Deductions"][1] == -20
    assert _section(sections, "redemptions").totals[-1] == -rows["Goods redeemed at the store"][1]
    corrections = _section(sections, "reversals")
    assert corrections.totals[-1] == rows["Awards reversed"][1] + rows["Redemptions voided"][1]
    assert len(corrections.rows) == 2

    # Every household: start + earned - deducted - spent = end, as the ledger has them.
    balances = _section(sections, "balances")
    assert balances.columns[:3] == ["Household", "Card (last 4 digits)", "Group"]
    households = {h.pk: h for h in month_history["households"]}
    for row in balances.rows:
        household = next(h for h in households.values() if row[1] == h.cards.get().number[-4:])
        first, earned, deducted, spent, last = row[3:]
        assert first == at_start[household.pk] and last == at_end[household.pk]
        assert first + earned - deducted - spent == last
    assert balances.totals[-1] == sum(at_end.values()) == ledger.totals[-1]


def test_the_published_notice_is_the_draft_as_it_stood(
    month_history, village_x, client_supervisor_x
):
    """Stored, not recomputed: the document holds every line the draft showed."""
    draft = [section_plain(s) for s in notice_sections(village_x, LAST.year, LAST.month)]
    assert publish(client_supervisor_x).status_code == 302
    document = PublishedNotice.objects.get(village=village_x, month=LAST).document
    assert document["sections"] == draft
    assert document["month"] == f"{LAST:%Y-%m}" and document["village"] == village_x.name
    ledger = next(section for section in document["sections"] if section["key"] == "ledger")
    end = month_span(LAST.year, LAST.month)[1]
    assert ledger["totals"][-1] == sum(balances_at(village_x, end).values())


def _workbook_cells(response) -> dict:
    """{sheet: its cells below the heading line}, as a spreadsheet reads them."""
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content))
    return {
        sheet.title: [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
        for sheet in workbook.worksheets
    }


def test_the_published_workbook_holds_the_drafts_numbers_and_dates(
    month_history, client_supervisor_x
):
    """Stored as text, a published notice's yuan went into its workbooks as text ("8000.00"):
    a spreadsheet summed the donations to nothing, where the draft's workbook had numbers."""
    notice_xlsx = reverse("reports:notice_xlsx", args=[LAST.year, LAST.month])
    report_xlsx = reverse("reports:month_report_xlsx", args=[LAST.year, LAST.month])
    draft = _workbook_cells(client_supervisor_x.get(notice_xlsx))
    draft_report = _workbook_cells(client_supervisor_x.get(report_xlsx))
    assert publish(client_supervisor_x).status_code == 302
    published = _workbook_cells(client_supervisor_x.get(notice_xlsx))
    assert published == draft
    donations = published["Donations received, with thanks"]
    assert donations[1][5] == Decimal("8000.00") and donations[-1][5] == Decimal("8000.00")
    assert donations[1][0] == datetime.datetime.combine(LAST.replace(day=4), datetime.time())
    report = _workbook_cells(client_supervisor_x.get(report_xlsx))
    for title in draft:  # the report's sheets of the notice, as its draft's
        assert report[title] == draft_report[title] == draft[title]


# --- frozen: later corrections appear in their own month ---------------------------------------


def _body(response) -> bytes:
    assert response.status_code == 200
    return response.content


def test_a_published_month_never_changes_later_corrections_appear_in_their_own_month(
    month_history, village_x, client_supervisor_x, client_anon, manager_x, supervisor_x
):
    response = publish(client_supervisor_x)
    assert response.status_code == 302
    before = _body(publish_page(client_anon, village_x))
    assert "修村道" in before.decode() and "Balances of every household" in before.decode()

    # After publishing: the award is reversed, the kept redemption voided, a late credit
    # posted, a household renamed, and the village names households in full.
    wang, li, zhang = month_history["households"]
    entry_reverse(entry=month_history["award"].entry, actor=supervisor_x, reason="不是他修的")
    redemption_void(redemption=month_history["kept"], actor=supervisor_x, reason="退货")
    (late,) = propose(manager_x, [li], month_history["clean"], reason="补记上月")
    proposal_approve(proposal_ids=[late.pk], actor=supervisor_x)
    Household.objects.filter(pk=wang.pk).update(head_name="王大海")
    Village.objects.filter(pk=village_x.pk).update(notice_names=Village.NoticeNames.FULL)

    after = _body(publish_page(client_anon, village_x))
    assert after == before  # byte for byte

    # The corrections are this month's news.
    today = timezone.localdate()
    current = notice_sections(Village.objects.get(pk=village_x.pk), today.year, today.month)
    corrections = _section(current, "reversals")
    assert [row[4] for row in corrections.rows] == ["不是他修的", "退货"]
    assert any(row[4] == "补记上月" for row in _section(current, "awards").rows)
    # While the month before stays as published, in the app too.
    in_app = client_supervisor_x.get(reverse("reports:notice_month", args=[LAST.year, LAST.month]))
    assert "不是他修的" not in in_app.content.decode()
    assert in_app.context["published"].pk == PublishedNotice.objects.get().pk


def test_a_month_is_published_once_and_only_when_it_has_ended(
    month_history, village_x, client_supervisor_x
):
    today = timezone.localdate()
    refused = publish(client_supervisor_x, today.replace(day=1))
    assert "still running" in said(refused)
    assert not PublishedNotice.objects.exists()

    publish(client_supervisor_x)
    first = PublishedNotice.objects.get()
    again = publish(client_supervisor_x)  # another key: a second publication
    assert "already published" in said(again) and "appears on this month's notice" in said(again)
    assert PublishedNotice.objects.get() == first
    assert NoticeSignature.objects.count() == 1
    assert AuditEvent.objects.filter(action="notice.publish").count() == 1


def test_publishing_asks_for_the_figures_to_be_confirmed(month_history, client_supervisor_x):
    """It cannot be undone: without the ticked box nothing is published, and the page asks."""
    draft = client_supervisor_x.get(reverse("reports:notice_month", args=[LAST.year, LAST.month]))
    assert 'name="confirm" value="yes" id="notice-confirm" required' in draft.text
    url = reverse("reports:notice_publish", args=[LAST.year, LAST.month])
    refused = client_supervisor_x.post(url, {"idempotency_key": form_key()})
    assert "Tick the box" in said(refused) and not PublishedNotice.objects.exists()
    assert publish(client_supervisor_x).status_code == 302
    assert PublishedNotice.objects.get().month == LAST


def _printed_marks(page: str) -> list[str]:
    """The words of the notice's lines shown on paper only (aidao.css .print-only)."""
    return [
        re.sub(r"<[^>]+>", "", mark)
        for mark in re.findall(r'<p class="print-only[^"]*">(.*?)</p>', page, re.S)
    ]


def test_a_draft_or_the_running_month_says_so_on_paper(
    month_history, village_x, client_supervisor_x, client_villager_a
):
    """The screen's "Draft: not published yet" is not printed (no-print): a draft, or the
    running month, printed and put on the board read as the month's notice. On paper each
    says what it is; the published notice does not."""
    draft = _printed_marks(client_supervisor_x.get(_draft(LAST)).text)
    assert len(draft) == 1 and draft[0].startswith("Draft, not published")
    running = reverse("reports:notice")
    for client in (client_supervisor_x, client_villager_a):  # villagers print the running month too
        marks = _printed_marks(client.get(running).text)
        assert len(marks) == 1 and marks[0].startswith("This month is still running")
    publish(client_supervisor_x)
    assert _printed_marks(client_supervisor_x.get(_draft(LAST)).text) == []


def test_a_month_skipped_is_pointed_out_before_the_next_is_published(
    month_history, village_x, supervisor_x, client_supervisor_x
):
    """Publishing last month while the month before is a draft, though an earlier one is
    published, leaves a gap: the draft says which month is missing and links to it."""
    gap = reverse("reports:notice_month", args=[BEFORE.year, BEFORE.month])
    assert "is not published yet" not in client_supervisor_x.get(_draft(LAST)).text
    earlier = previous_month(BEFORE)
    notice_publish(
        village=village_x,
        year=earlier.year,
        month=earlier.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )
    page = client_supervisor_x.get(_draft(LAST)).text
    warning = page[page.index('class="mb-2 notice-gap"') :]
    assert f"The notice of {BEFORE:%Y-%m} is not published yet." in warning
    assert f'href="{gap}">Publish the months in order' in warning
    notice_publish(village=village_x, year=BEFORE.year, month=BEFORE.month, actor=supervisor_x)
    assert "is not published yet" not in client_supervisor_x.get(_draft(LAST)).text


def _draft(month):
    return reverse("reports:notice_month", args=[month.year, month.month])


def test_the_same_key_twice_publishes_once(month_history, client_supervisor_x):
    url = reverse("reports:notice_publish", args=[LAST.year, LAST.month])
    data = {"idempotency_key": form_key(), "confirm": "yes"}
    client_supervisor_x.post(url, data)
    replay = client_supervisor_x.post(url, data)
    assert "already published" in said(replay)
    assert PublishedNotice.objects.count() == 1


def test_only_the_villages_supervisor_publishes(
    month_history, village_x, village_y, client_manager_x, client_county, manager_x
):
    assert publish(client_manager_x).status_code == 403
    assert publish(client_county).status_code == 403
    other = make_staff("Supervisor", village=village_y, username="supervisor_y")
    with pytest.raises(ValidationError, match="Only the village's supervisor"):
        notice_publish(village=village_x, year=LAST.year, month=LAST.month, actor=other)
    with pytest.raises(ValidationError, match="Only the village's supervisor"):
        notice_publish(village=village_x, year=LAST.year, month=LAST.month, actor=manager_x)
    assert not PublishedNotice.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_publishing_at_once_one_wins(month_history, village_x, supervisor_x):
    second = make_staff("Supervisor", village=village_x, username="supervisor_x2")
    clients = []
    for user in (supervisor_x, second):
        client = Client()
        client.force_login(user)
        clients.append(client)
    url = reverse("reports:notice_publish", args=[LAST.year, LAST.month])
    at_once(clients, url, {"idempotency_key": form_key(), "confirm": "yes"})
    notice = PublishedNotice.objects.get()
    assert notice.published_by in (supervisor_x, second)
    assert list(NoticeSignature.objects.values_list("signed_by", flat=True)) == [
        notice.published_by_id
    ]
    assert AuditEvent.objects.filter(action="notice.publish").count() == 1


# --- who sees what ------------------------------------------------------------------------------


def test_published_notice_is_public_without_login_and_cacheable(
    month_history, village_x, client_supervisor_x, client_anon, client_villager_a
):
    assert publish_page(client_anon, village_x).status_code == 404  # not published yet
    draft = reverse("reports:notice_month", args=[LAST.year, LAST.month])
    assert client_villager_a.get(draft).status_code == 403  # a draft is the staff's
    assert client_supervisor_x.get(draft).status_code == 200
    publish(client_supervisor_x)

    response = publish_page(client_anon, village_x)
    assert response.status_code == 200
    assert "public" in response["Cache-Control"] and "no-store" not in response["Cache-Control"]
    assert "csrfmiddlewaretoken" not in response.content.decode()
    signed_in = publish_page(client_villager_a, village_x)
    assert "no-store" in signed_in["Cache-Control"]
    assert client_villager_a.get(draft).status_code == 200  # published: the village reads it
    assert (
        client_anon.get(
            reverse("reports:notice_public", args=["999", LAST.year, LAST.month])
        ).status_code
        == 404
    )
    assert client_anon.get(draft).status_code == 302  # the in-app page still needs a login


def test_published_page_is_signed_dated_and_carries_its_qr_code(
    month_history, village_x, client_supervisor_x, client_anon, supervisor_x
):
    publish(client_supervisor_x)
    notice = PublishedNotice.objects.get()
    signature = notice.signatures.get()
    assert signature.role == "supervisor" and signature.name == supervisor_x.display_name
    page = publish_page(client_anon, village_x).content.decode()
    when = timezone.localtime(signature.signed_at).strftime("%Y-%m-%d %H:%M")
    assert f"{supervisor_x.display_name}</span> · signed {when}" in page
    assert "Village party secretary" in page and 'class="notice-sign-line"' in page
    assert '<svg viewBox="' in page and 'class="segno"' in page
    path = reverse("reports:notice_public", args=[village_x.code, LAST.year, LAST.month])
    assert f"http://testserver{path}" in page
    # Full dates everywhere: the donation of the 4th reads 2025-..-04, never "..-04" alone.
    assert f'<td data-label="Date">{LAST.replace(day=4).isoformat()}</td>' in page
    assert not re.search(r"<td[^>]*>\d\d-\d\d</td>", page)


@pytest.mark.parametrize(
    ("names", "shown", "hidden"),
    [
        (Village.NoticeNames.FULL, ["王大山", "李秀英"], []),
        (Village.NoticeNames.SURNAME, ["王**", "李**"], ["王大山", "李秀英"]),
        (Village.NoticeNames.HIDDEN, [], ["王**", "王大山"]),
    ],
)
def test_the_balance_list_names_households_as_the_village_chooses(
    month_history, village_x, names, shown, hidden
):
    Village.objects.filter(pk=village_x.pk).update(notice_names=names)
    village = Village.objects.get(pk=village_x.pk)
    balances = _section(notice_sections(village, LAST.year, LAST.month), "balances")
    cells = [str(cell) for row in balances.rows for cell in row]
    for name in shown:
        assert name in cells
    for name in hidden:
        assert name not in cells
    tails = {household.cards.get().number[-4:] for household in month_history["households"]}
    assert tails <= set(cells)  # the card's last four digits, whatever the names
    assert ("Household" in balances.columns) is (names != Village.NoticeNames.HIDDEN)


def test_villagers_links_lead_only_to_months_they_may_open(
    month_history, client_supervisor_x, client_villager_a
):
    page = client_villager_a.get(reverse("reports:notice"))
    assert page.context["previous"] is None  # nothing published yet
    publish(client_supervisor_x)
    page = client_villager_a.get(reverse("reports:notice"))
    assert page.context["previous"] == LAST
    last = client_villager_a.get(reverse("reports:notice_month", args=[LAST.year, LAST.month]))
    assert last.context["previous"] is None
    assert last.context["following"] == timezone.localdate().replace(day=1)


# --- on a phone (issue 19): the page the browser tests draw as cards ----------------------------


def test_each_cell_names_its_column_and_each_section_its_total(
    month_history, client_supervisor_x, client_anon, client_villager_a, village_x
):
    """A phone shows each row as a card whose cells carry their column (data-label), and each
    folded section (<details>) still tells its total; villagers get no Excel button."""
    publish(client_supervisor_x)
    page = publish_page(client_anon, village_x).content.decode()
    assert page.count('<details class="notice-fold" open>') == page.count("notice-section ")
    assert '<td data-label="Reason">修村道</td>' in page
    ledger = re.search(r'<section class="notice-section notice-ledger.*?</summary>', page, re.S)
    assert "Held by households at the end of the month · Points <strong>" in ledger.group(0)
    # The totals line's first filled cell names it; its figures carry their columns.
    assert re.search(r'<th scope="row">Total</th><th scope="col" data-label="Group"></th>'
                     r'<th scope="col" data-label="At the start">300</th>', page)  # fmt: skip

    xlsx = reverse("reports:notice_xlsx", args=[LAST.year, LAST.month])
    in_app = reverse("reports:notice_month", args=[LAST.year, LAST.month])
    assert xlsx not in client_villager_a.get(in_app).content.decode()
    assert xlsx in client_supervisor_x.get(in_app).content.decode()
    assert "xlsx" not in page


def _villager_client(household) -> Client:
    client = Client()
    client.force_login(household.users.get(is_staff=False))
    return client


def _own_figures(response) -> list[str]:
    return re.findall(r"<dd>(-?\d+)</dd>", response.content.decode())


def _ledger_month(household, first):
    """The household's month read straight from its ledger: start, earned, deducted, spent, end."""
    start, following = month_span(first.year, first.month)
    entries = list(Entry.objects.filter(account=household.account).select_related("reverses"))
    opening = sum(e.points for e in entries if e.created_at < start)
    moves = [e for e in entries if start <= e.created_at < following]
    basis = defaultdict(int)
    for entry in moves:
        basis[(entry.reverses.kind if entry.reverses else entry.kind)] += entry.points
    earned = basis[Entry.Kind.OPENING] + basis[Entry.Kind.AWARD]
    return [
        opening,
        earned,
        -basis[Entry.Kind.DEDUCTION],
        -basis[Entry.Kind.REDEMPTION],
        opening + sum(e.points for e in moves),
    ]


def test_a_villager_finds_and_hears_their_own_line_of_the_notice(
    month_history, client_supervisor_x, client_manager_x, village_x
):
    """Signed in, a household sees its own line of the list of balances above the sections,
    with the same figures as the ledger, in the sentence read aloud too; another household
    sees its own; staff and strangers on the public page see no such line."""
    publish(client_supervisor_x)
    page = reverse("reports:notice_month", args=[LAST.year, LAST.month])
    wang, li, _zhang = month_history["households"]
    heard = {}
    for household in (wang, li):
        expected = _ledger_month(household, LAST)
        for response in (
            _villager_client(household).get(page),
            publish_page(_villager_client(household), village_x),
        ):
            assert response.status_code == 200
            assert _own_figures(response) == [str(figure) for figure in expected]
            spoken = re.search(r'data-speak="([^"]*)"', response.content.decode()).group(1)
            assert all(str(figure) in spoken for figure in expected)
        heard[household.pk] = spoken
    assert heard[wang.pk] != heard[li.pk]
    assert "月底" in heard[wang.pk]  # read in Chinese whatever the page's language
    for response in (client_manager_x.get(page), publish_page(Client(), village_x)):
        assert response.status_code == 200 and b"notice-own" not in response.content


@pytest.mark.django_db(transaction=True)
def test_a_write_dated_in_the_month_still_committing_at_publication_is_on_the_notice(
    month_history, village_x, supervisor_x
):
    """Found by a probe: an approval dated 23:59:59.95 on the month's last day committed a
    second later, after the month's notice was published: its points were on no notice.
    Publishing now waits for the village's accounts and items, which every writer locks
    before it takes its time."""
    wang = month_history["households"][0]
    end = month_span(LAST.year, LAST.month)[1]
    holding, published = threading.Event(), threading.Event()

    def late_write():
        try:
            with transaction.atomic():
                entry_post(
                    account_id=wang.account.pk,
                    kind=Entry.Kind.AWARD,
                    points=7,
                    actor=None,
                    at=end - datetime.timedelta(milliseconds=50),
                )
                holding.set()
                published.wait(1.0)  # the commit lands after publishing began
        finally:
            connection.close()

    writer = threading.Thread(target=late_write)
    writer.start()
    assert holding.wait(10)
    notice = notice_publish(village=village_x, year=LAST.year, month=LAST.month, actor=supervisor_x)
    published.set()
    writer.join(10)
    ledger = next(s for s in notice.document["sections"] if s["key"] == "ledger")
    assert ledger["totals"][-1] == sum(balances_at(village_x, end).values())
    assert Entry.objects.filter(account=wang.account, points=7).exists()


class _ClockAtTheMonthsEnd:
    """django.utils.timezone as points.publicity sees it: 50 ms before last month's end (the
    cancellation began just before midnight, the supervisor publishes just after)."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def now(self):
        return month_span(LAST.year, LAST.month)[1] - datetime.timedelta(milliseconds=50)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["objection upheld", "held deduction cancelled"])
def test_a_cancellation_dated_in_the_month_still_committing_at_publication_is_on_the_notice(
    monkeypatch, how, village_x, card_a, manager_x, supervisor_x
):
    """Found by a probe: a cancellation dated 23:59:59.95 on the month's last day that
    committed while the month was being published was on no notice: the published one
    still showed the entry in publicity, the next month's drew cancellations by their date.
    A cancellation now locks the household's account before it takes its time, as the
    ledger's writers do, and publishing waits for it."""
    from points import publicity
    from points.models import Proposal
    from points.publicity import objection_raise, objection_resolve, proposal_cancel
    from tests.points.test_concurrency import held_in

    end = month_span(LAST.year, LAST.month)[1]
    village_x.publicity_days = 7
    village_x.save(update_fields=["publicity_days"])
    points = 10 if how == "objection upheld" else -10
    (proposal,) = propose(manager_x, [card_a.household], make_rule(village_x, "X01", points))
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    if how == "objection upheld":
        Proposal.objects.filter(pk=proposal.pk).update(decided_at=end - datetime.timedelta(days=8))
        objection = objection_raise(proposal_id=proposal.pk, actor=manager_x, reason="not him")

        def cancel():
            objection_resolve(
                objection_id=objection.pk, actor=supervisor_x, upheld=True, resolution="wrong house"
            )
    else:
        Proposal.objects.filter(pk=proposal.pk).update(
            status=Proposal.Status.HELD,
            hold_reason="not enough points",
            decided_at=end - datetime.timedelta(days=20),
            credit_due_at=end - datetime.timedelta(days=13),
        )

        def cancel():
            proposal_cancel(proposal_id=proposal.pk, actor=supervisor_x, reason="moved away")

    monkeypatch.setattr(publicity, "timezone", _ClockAtTheMonthsEnd(timezone))
    # Held after its cancellation is written (its audit record), before it commits.
    written = held_in(monkeypatch, publicity, "audit_record", seconds=1.5)
    failed = []

    def cancel_in_its_own_connection():
        try:
            cancel()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            failed.append(error)
        finally:
            connection.close()

    canceller = threading.Thread(target=cancel_in_its_own_connection)
    canceller.start()
    assert written.wait(10)
    notice = notice_publish(village=village_x, year=LAST.year, month=LAST.month, actor=supervisor_x)
    canceller.join(20)
    assert not failed
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.CANCELLED and proposal.cancelled_at < end
    sections = {section["key"]: section for section in notice.document["sections"]}
    assert len(sections["cancelled"]["rows"]) == 1
    assert sections["publicity"]["rows"] == []


# --- audit_ledger: a published month's figures are still its rows' -------------------------


def _figures(notice) -> dict:
    """The figures reports.checks compares, read from the stored document."""
    sections = {section["key"]: section for section in notice.document["sections"]}
    ledger = sections["ledger"]
    return {
        "start": ledger["rows"][0][2],
        "entries": sum(row[1] for row in ledger["rows"][1:]),
        "points": sum(row[2] for row in ledger["rows"][1:]),
        "end": ledger["totals"][2],
        "redemptions": len(sections["redemptions"]["rows"]),
        "redeemed": sections["redemptions"]["totals"][5],
        "donations": len(sections["donations"]["rows"]),
        "donated": sections["donations"]["totals"][5],
    }


def test_the_audit_finds_a_published_month_as_its_rows_give_it(
    month_history, village_x, manager_x, supervisor_x
):
    """Corrections made after publishing are the news of their own month: nothing to report."""
    notice = notice_publish(village=village_x, year=LAST.year, month=LAST.month, actor=supervisor_x)
    assert _figures(notice) == {
        "start": 300,
        "entries": 8,
        "points": -45,
        "end": 255,
        "redemptions": 2,
        "redeemed": 60,
        "donations": 1,
        "donated": "8000.00",
    }
    entry_reverse(entry=month_history["award"].entry, actor=supervisor_x, reason="不是他修的")
    redemption_void(redemption=month_history["kept"], actor=supervisor_x, reason="退货")
    Household.objects.filter(pk=month_history["households"][0].pk).update(head_name="王大海")
    assert reports_checks.check() == []
    call_command("audit_ledger", stdout=io.StringIO())


def test_rows_dated_into_a_published_month_afterwards_are_named(
    month_history, village_x, manager_x, supervisor_x, rice
):
    """Written around the services (which refuse a closed month, or date a write now): an
    entry, a redemption and a donation dated inside the month, after it was published."""
    notice = notice_publish(village=village_x, year=LAST.year, month=LAST.month, actor=supervisor_x)
    wang, li, _zhang = month_history["households"]
    dated_entry(li.account, Entry.Kind.AWARD, 5, at(LAST, 20))
    redemption_create(
        village=village_x,
        household=wang,
        lines={rice.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=at(LAST, 21),
    )
    Donation.objects.create(
        village=village_x,
        donor=Donor.objects.get(village=village_x),
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("50.00"),
        thanks="谢谢",
        received_on=LAST.replace(day=22),
    )
    # And one dated in the month before, which the published month's start counted.
    dated_entry(li.account, Entry.Kind.AWARD, 3, at(BEFORE, 20))
    assert reports_checks.check() == [
        f"published notice {notice.pk} (village {village_x.code}, {LAST:%Y-%m}): the month's "
        "rows no longer give its published figures: points held at the start 300 published, "
        "303 now; ledger entries 8 published, 10 now; points of the entries -45 published, "
        "-60 now; points held at the end 255 published, 243 now; redemptions 2 published, 3 now; "
        "points redeemed 60 published, 80 now; donations 1 published, 2 now; yuan donated "
        "8000.00 published, 8050.00 now"
    ]
    # With the ledger's own two: each award was posted without an approved proposal.
    with pytest.raises(CommandError, match="3 ledger problem"):
        call_command("audit_ledger", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_published_document_altered_is_named(month_history, village_x, supervisor_x):
    notice = notice_publish(village=village_x, year=LAST.year, month=LAST.month, actor=supervisor_x)
    document = dict(notice.document, sections=[])
    with behind_the_app():
        PublishedNotice.objects.filter(pk=notice.pk).update(document=document)
    label = f"published notice {notice.pk} (village {village_x.code}, {LAST:%Y-%m})"
    assert reports_checks.check() == [
        f"{label}: the month's rows no longer give its published figures: points held at the "
        "start missing published, 300 now; ledger entries missing published, 8 now; points of "
        "the entries missing published, -45 now; points held at the end missing published, 255 "
        "now; redemptions missing published, 2 now; points redeemed missing published, 60 now; "
        "donations missing published, 1 now; yuan donated missing published, 8000.00 now"
    ]
    with behind_the_app():
        PublishedNotice.objects.filter(pk=notice.pk).update(document={"sections": "none"})
    assert reports_checks.check() == [f"{label}: its document is not of layout 1"]


def test_the_notice_tells_a_phone_without_javascript_how_to_print_in_its_words(
    client_villager_a,
):
    """Found on the phone: without JavaScript the notice said to press Ctrl+P, a key no
    phone has. The line now names the browser's menu (on a phone, under Share)."""
    page = client_villager_a.get(reverse("reports:notice")).text
    hint = page.split("data-print-hint>")[1].split("</span>")[0]
    assert "Ctrl" not in hint and "choose Print in the browser" in hint
