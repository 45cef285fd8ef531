"""The busy pages and services, statement by statement: could Citus route each to one shard?

docs/performance.md ("Past one database") plans to distribute the per-village tables by
village. This test keeps that plan honest: it runs the busy pages and services of village X
with the query log on and fails when a statement touches a per-village table without a
condition on its village (tests/perf/routing.py says how that is recognised), unless the
statement is one of the exceptions below, each with why.
"""

import datetime
import io
import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from core.months import previous_month
from points.activities import checkin_url
from points.models import Entry, Proposal, Rule
from points.services import declaration_accept, declaration_submit
from points.settlement import settlements_post
from reports.notice import notice_publish
from store.services import reservation_create, reservation_hand_over
from tests.conftest import form_key
from tests.perf import routing
from tests.points.conftest import make_rule, png_upload, propose
from villagers.models import Village

# Tables with no village column: every statement reaching them goes through their parent.
# Under Citus each gets a village_id filled from its parent, in its primary key.
TABLE_EXCEPTIONS = {
    table: f"no village_id: reached through its {parent}; needs the column to be distributed"
    for table, parent in routing.THROUGH_PARENT.items()
}
# Tables that have their village, found by other keys: {table: (the keys, why)}. A statement
# is excused when every key it finds the table by is listed. Under Citus each of these
# becomes a multi-shard statement (correct, but it asks every shard) until the statement
# also names the village, which the request always knows (the user's village, the row
# it came from): the plan's step "village in every key" (docs/performance.md).
KEY_EXCEPTIONS = {
    "villagers_household": (
        {"id", "group_id", "village_id"},
        "by its id: the signed-in user's household (every request), the counter's household "
        "from the URL, the ORM's joins to a row's household (select_related) and its check "
        "that a new proposal's household exists (full_clean), with its group and village "
        "(reference tables) joined on",
    ),
    "points_account": (
        {"id", "household_id", "village_id"},
        "by its household (the balance page, the counter, locking for a write) or its id (the "
        "writer's balance update, the yearly settlement's lock of the accounts on its plan "
        "and its lines joined to their accounts); village_id: the balance page's rank counts "
        "the accounts of the account's own village, a correlated condition, not a value",
    ),
    "points_proposal": (
        {"id", "household_id", "entry_id", "member_id", "rule_id"},
        "by its id (the writer's update, an ORM refresh), its household (the balance page's "
        "digest, the monthly cap) or its entry (the notice's and report's entry lines); "
        "member_id and rule_id are joins to the member and rule of a row found so",
    ),
    "points_batch": (
        {"id"},
        "joined by its id from a proposal (the approval queue), an activity or a carry-over, "
        "and the ORM's check that a new proposal's batch exists (full_clean)",
    ),
    "points_declaration": (
        {"id", "household_id", "submitted_by_id"},
        "by its id (review, the ORM's FOR UPDATE) or its household (the villager's own list)",
    ),
    "points_objection": ({"proposal_id"}, "counted per proposal in the approval queue"),
    "store_item": (
        {"id", "zone_id"},
        "joined by its id from a redemption or reservation line (the month report, the pick "
        "list), with its zone (a reference table)",
    ),
    "store_reservation": (
        {"id", "household_id"},
        "by its id (the hand-over's lock and update, its lines) or its household (the "
        "counter's and the villager's reservations)",
    ),
    "store_redemption": (
        {"entry_id", "idempotency_key"},
        "by the one-time key before a redemption (replay check: unique in the deployment) "
        "and by its entry (the notice's and report's entry lines)",
    ),
    "villagers_referral": (
        {"object_id"},
        "a proposal's or a settlement plan's open referral, found by the proposal or the plan",
    ),
    "notifications_notification": (
        {"household_id"},
        "the household's unread messages, counted for the bell on its pages (the household "
        "of the signed-in user or of the account read, a correlated condition)",
    ),
    "notifications_announcement": (
        {"village_id"},
        "the balance page's digest: the account's own village's announcements, a correlated "
        "condition, not a value",
    ),
    "reports_publishednotice": (
        {"id", "village_id"},
        "by its id: its signatures' notice, joined to its village (a reference table)",
    ),
}
# Single statements, excused by what they are rather than by a key the table is found by:
# {(table, the columns it is found by, how the statement begins): why}. The ORM's own
# statements by a row's primary key or a unique field get the village with the composite
# keys of step 2; a periodic task's read of the rows due looks at every village by design.
STATEMENT_EXCEPTIONS = {
    ("points_activity", "id", "UPDATE"): (
        "the ORM's save of the activity closed, by its primary key (the row was locked with "
        "its village before)"
    ),
    ("points_settlement", "id", "UPDATE"): (
        "the ORM's save of a plan approved or posted, by its primary key (the row was locked "
        "with its village before)"
    ),
    ("points_carryover", "batch_id", 'SELECT %s AS "a"'): (
        "the ORM's check that a new carry-over's batch has none yet (full_clean: the batch is "
        "a unique field), before it is saved"
    ),
    ("points_settlement", "approved_at, not_posted_at, posted_at, year", "SELECT"): (
        "the yearly task's plans due: every village's approved plan of the year that ended, "
        "each then posted in its village's own transaction"
    ),
}


def _is_statement(found: routing.Unrouted, table: str, by: str, begins: str) -> bool:
    return (found.table, found.by) == (table, by) and found.text.startswith(begins)


def _excused(found: routing.Unrouted) -> bool:
    if found.table in TABLE_EXCEPTIONS:
        return True
    if any(_is_statement(found, *statement) for statement in STATEMENT_EXCEPTIONS):
        return True
    keys, _why = KEY_EXCEPTIONS.get(found.table, (set(), ""))
    return bool(found.keys) and found.keys <= keys


def test_every_table_of_the_app_has_its_place_in_the_plan():
    """Found by a read of the docs: the tables added after the plan (reservations,
    activities, carry-overs, settlements, notifications, announcements and their lines)
    were in none of the lists, so no statement on them was checked. A new model's table
    fails here until it is placed."""
    from django.apps import apps

    places = [
        routing.BY_VILLAGE,
        set(routing.THROUGH_PARENT),
        routing.REFERENCE,
        set(routing.ELSEWHERE),
    ]
    apps_of_the_project = ("core", "villagers", "notifications", "points", "store", "wishwall")
    tables = {
        model._meta.db_table
        for app in (*apps_of_the_project, "reports")
        for model in apps.get_app_config(app).get_models()
    }
    placed = {table: [place for place in places if table in place] for table in tables}
    assert {table: len(found) for table, found in placed.items() if len(found) != 1} == {}
    for table, parent in routing.THROUGH_PARENT.items():
        model = next(m for m in apps.get_models() if m._meta.db_table == table)
        assert model._meta.get_field(parent).related_model._meta.db_table in routing.PER_VILLAGE


def test_the_checker_tells_a_routed_statement_from_one_that_is_not(village_x, card_a):
    household = card_a.household
    select = 'SELECT "id" FROM "villagers_household" h WHERE '
    assert routing.unrouted(select + '"village_id" = %s', [village_x.pk]) == []
    (by_key,) = routing.unrouted(select + '"id" = %s', [household.pk])
    assert by_key.table == "villagers_household"
    assert routing.unrouted(select + '"village_id" = ANY(%s)', [[village_x.pk]])
    # Joined on the village: PostgreSQL carries the constant to the other table.
    joined = (
        "SELECT a.id FROM points_account a JOIN villagers_household h "
        "ON h.id = a.household_id AND h.village_id = a.village_id WHERE h.village_id = %s"
    )
    assert routing.unrouted(joined, [village_x.pk]) == []
    (entries,) = routing.unrouted("SELECT id FROM points_entry WHERE account_id = %s", [1])
    assert entries.table == "points_entry"


@pytest.mark.django_db
def test_busy_pages_and_services_stay_in_their_village(
    client, client_villager_a, client_villager_b, client_manager_x, client_supervisor_x,
    card_a, card_b, village_x, manager_x, supervisor_x, villager_a, rule_clean, rice, oil,
):  # fmt: skip
    last = previous_month(timezone.localdate())
    household = card_a.household
    rule_meeting = make_rule(village_x, "C01", 2, Rule.Category.COLLECTIVE_ACTIVITY)
    # Turned on in the village's settings (the admin), not a busy page.
    Village.objects.filter(pk=village_x.pk).update(yearly_settlement=True, settlement_keep=50)
    with routing.QueryLog() as log:
        # The villager: balance, catalogue, a declaration.
        assert client_villager_a.get(reverse("points:me")).status_code == 200
        assert client_villager_a.get(reverse("store:catalogue")).status_code == 200
        assert client_villager_a.get(reverse("wishwall:wall")).status_code == 200
        assert client_villager_a.get(reverse("store:reserve")).status_code == 200
        reservation = reservation_create(household=household, lines={rice.pk: 1}, actor=villager_a)
        declaration = declaration_submit(
            user=villager_a, description="扫了村道", occurred_on=timezone.localdate()
        )
        # The manager: the counter with a cart, a redemption confirmed, declarations.
        counter = reverse("store:counter_household", args=[household.pk])
        for item in (rice, oil):
            client_manager_x.post(
                reverse("store:counter_cart", args=[household.pk]),
                {"action": "add", "item": item.pk, "quantity": 1, "next": counter},
            )
        page = client_manager_x.get(counter)
        assert page.status_code == 200
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', _confirm_form(page.text)))
        confirmed = client_manager_x.post(
            reverse("store:counter_confirm", args=[household.pk]), fields
        )
        assert confirmed.status_code == 302
        assert client_manager_x.get(reverse("points:declaration_list")).status_code == 200
        declaration_accept(
            declaration=declaration,
            actor=manager_x,
            rule=rule_clean,
            reason="扫了村道",
        )
        assert client_manager_x.get(reverse("store:pick_list")).status_code == 200
        reservation_hand_over(
            reservation=reservation, idempotency_key=uuid.uuid4(), actor=manager_x
        )
        # The supervisor: the approval queue, approve.
        propose(manager_x, [card_b.household], rule_clean)
        assert client_supervisor_x.get(reverse("points:approval_queue")).status_code == 200
        pending = [str(p) for p in card_a.household.proposals.values_list("pk", flat=True)]
        decided = client_supervisor_x.post(
            reverse("points:approval_decide"),
            {"action": "approve", "proposal": pending, "idempotency_key": form_key()},
        )
        assert decided.status_code == 302
        # An activity checked in by QR code; a village's paper past; the yearly settlement.
        _check_in(client_manager_x, client_villager_a, client_villager_b, rule_meeting)
        _paper_ledger(client_manager_x, client_supervisor_x)
        _settlement(client_manager_x, client_supervisor_x)
        # The month: report, notice draft, published, read by anyone.
        month = [last.year, last.month]
        assert client_manager_x.get(reverse("reports:month_report", args=month)).status_code == 200
        assert client_manager_x.get(reverse("reports:notice_month", args=month)).status_code == 200
        notice_publish(
            village=village_x,
            year=last.year,
            month=last.month,
            actor=supervisor_x,
            empty_confirmed=True,
        )
        public = reverse("reports:notice_public", args=[village_x.code, *month])
        assert client.get(public).status_code == 200
        assert client_villager_a.get(reverse("reports:notice_month", args=month)).status_code == 200

    # What the run did, read after the log: the check-ins proposed, the paper balances
    # carried over and the points lapsed.
    assert Proposal.objects.filter(batch__activity__village=village_x).count() == 2
    kinds = set(Entry.objects.values_list("kind", flat=True))
    assert {Entry.Kind.CARRIED, Entry.Kind.LAPSE} <= kinds
    found = [f for sql, params in log.statements for f in routing.unrouted(sql, params)]
    assert len(log.statements) > 100
    unexplained = {str(f) for f in found if not _excused(f)}
    assert not unexplained, "\n\n".join(sorted(unexplained))
    # The list keeps up with the code: an exception nothing needs any more is dropped.
    assert set(KEY_EXCEPTIONS) <= {f.table for f in found}
    for statement in STATEMENT_EXCEPTIONS:
        assert any(_is_statement(f, *statement) for f in found), statement


def _check_in(manager, villager_a, villager_b, rule):
    """The manager opens an activity and shows its QR code; two households scan it and check
    in (one with a photo); the manager reads who came and closes it into a batch."""
    opened = manager.post(
        reverse("points:activity_open"),
        {"title": "村民大会", "rule": rule.pk, "idempotency_key": form_key()},
    )
    qr_page = manager.get(opened.url)
    assert qr_page.status_code == 200
    activity = qr_page.context["activity"]
    for villager, photo in ((villager_a, {"photo": png_upload()}), (villager_b, {})):
        scanned = villager.get(checkin_url(activity, base=""))
        assert scanned.status_code == 200
        form = scanned.context["form"]
        sent = villager.post(
            reverse("points:checkin", args=[activity.pk]),
            {
                "checkin_pass": form["checkin_pass"].value(),
                "idempotency_key": form["idempotency_key"].value(),
                **photo,
            },
        )
        assert sent.status_code == 302
    assert manager.get(reverse("points:activity_list")).status_code == 200
    detail = reverse("points:activity_detail", args=[activity.pk])
    assert manager.get(detail).status_code == 200
    closed = manager.post(
        reverse("points:activity_close", args=[activity.pk]), {"idempotency_key": form_key()}
    )
    assert closed.url == detail
    assert manager.get(detail).status_code == 200


def _paper_ledger(manager, supervisor):
    """The manager uploads the village's paper ledger, reads the preview and imports it;
    the supervisor finds its batch in the queue, reads it and approves it."""
    rows = [["X001", "王大山", 350, None, None, None], ["X002", "李秀英", 200, None, None, None]]
    uploaded = manager.post(
        reverse("points:carry_over_upload"), {"file": _paper_file(rows), "paper_total": 550}
    )
    assert uploaded.url == reverse("points:carry_over_preview")
    preview = manager.get(uploaded.url)
    assert preview.context["check"].is_valid
    imported = manager.post(
        reverse("points:carry_over_confirm"),
        {"payload": preview.context["payload"], "idempotency_key": form_key()},
    )
    assert supervisor.get(reverse("points:approval_queue")).status_code == 200
    batch_page = supervisor.get(imported.url)
    assert batch_page.status_code == 200
    batch_id = batch_page.context["batch"].pk
    approved = supervisor.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{batch_id}", "idempotency_key": form_key()},
    )
    assert approved.status_code == 302
    assert manager.get(reverse("points:carry_over_upload")).status_code == 200


def _paper_file(rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["户号", "户主姓名", "结转余额", "日期", "积分变动", "事由"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return SimpleUploadedFile("paper.xlsx", buffer.getvalue())


def _settlement(manager, supervisor):
    """The manager draws up the year's plan, the supervisor approves it, and the daily task's
    posting, once the year has ended, lapses it (the posting of one village's plan; the
    task's look for the plans due reads every village's, by design)."""
    page = reverse("points:settlement")
    assert manager.get(page).status_code == 200
    drafted = manager.post(reverse("points:settlement_draft"), {"idempotency_key": form_key()})
    assert drafted.url == page
    shown = supervisor.get(page)
    assert shown.status_code == 200
    plan = shown.context["current"]
    approved = supervisor.post(
        reverse("points:settlement_approve"),
        {"drafted": plan.drafted_at.isoformat(), "idempotency_key": form_key()},
    )
    assert approved.url == page
    assert len(settlements_post(today=datetime.date(plan.year + 1, 1, 1))) == 1


def _confirm_form(html: str) -> str:
    form = html[html.index('class="confirm-form"') :]
    return form[: form.index("</form>")]
