"""The township officer: the county overview over the township's villages, their notices and
audit logs, and the items they send up (DESIGN.md ledger rule 8), decided with the
second-person rule and a one-time key; never another township's.
"""

import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.audit import audit_record
from core.models import AuditEvent
from core.months import previous_month
from points.models import Proposal, Rule
from points.services import proposal_create
from reports.exports import export_job_run
from reports.models import ExportJob
from reports.notice import notice_publish
from tests.conftest import _client_for, form_key, issue_card, make_staff
from tests.factories import CountyFactory, HouseholdFactory, VillageGroupFactory
from tests.reports.conftest import table_rows
from villagers.models import Referral, User

OVERVIEW = reverse("reports:county_overview")
QUEUE = reverse("reports:county_queue")
DECIDE = reverse("reports:county_queue_decide")
PICK = reverse("villagers:village_pick")
OPEN, DONE = Referral.Status.OPEN, Referral.Status.DONE


@pytest.fixture
def rule(village_x):
    return Rule.objects.create(
        village=village_x, code="E01", category="environment", description="yard", points=5
    )


@pytest.fixture
def sent_up(card_a, manager_x, supervisor_x, rule):
    """Household A's proposal, sent up from the start: the village's only supervisor lives
    in household A."""
    User.objects.filter(pk=supervisor_x.pk).update(household=card_a.household)
    (proposal,) = proposal_create(
        village=card_a.household.village,
        households=[card_a.household],
        rule=rule,
        reason="clean yard",
        occurred_on=timezone.localdate(),
        actor=manager_x,
    )
    return Referral.objects.get(kind="proposal", object_id=proposal.pk, status=OPEN)


@pytest.fixture
def card_z(village_z):
    household = HouseholdFactory(group=VillageGroupFactory(village=village_z), number="Z001")
    return issue_card(household, make_staff("Manager", village=village_z, username="manager_z"))


def balance(card) -> int:
    card.household.account.refresh_from_db()
    return card.household.account.balance


def decide(client, referral, decision, key=None, reason=""):
    data = {"referral": referral.pk, "decision": decision, "reason": reason}
    return client.post(DECIDE, data | {"idempotency_key": key or form_key()}, follow=True)


def test_the_township_overview_is_the_county_overview_over_its_villages(
    client_township, client_county, client_township_z, village_x, village_y, village_z, card_a
):
    response = client_township.get(OVERVIEW)
    assert response.status_code == 200
    rows = {village.pk: village for village in response.context["villages"]}
    assert set(rows) == {village_x.pk, village_y.pk}
    page = response.content.decode()
    assert "Township overview" in page and "Township total" in page
    assert village_z.name not in page
    # The same figures as the county admin's rows of the same villages.
    county_rows = {v.pk: v for v in client_county.get(OVERVIEW).context["villages"]}
    assert set(county_rows) == {village_x.pk, village_y.pk, village_z.pk}
    for pk, row in rows.items():
        for figure in ("household_count", "card_count", "issued", "points_held", "pending"):
            assert getattr(row, figure) == getattr(county_rows[pk], figure), figure
    assert rows[village_x.pk].points_held == 100
    assert response.context["total"].points_held == 100
    # The other township's officer compares only theirs.
    other = client_township_z.get(OVERVIEW)
    assert [village.pk for village in other.context["villages"]] == [village_z.pk]


def test_the_officer_exports_the_townships_table_for_themselves_only(
    client_township, client_township_z, township_officer, village_x, village_y, village_z, card_a
):
    page = client_township.get(OVERVIEW).content.decode()
    assert reverse("reports:county_export") in page
    response = client_township.post(reverse("reports:county_export"), {"sort": "-held"})
    job = ExportJob.objects.get()
    assert (job.kind, job.params["township"]) == ("township", village_x.township_id)
    assert response.url == reverse("reports:export_status", args=[job.pk])
    export_job_run(job.pk)
    download = client_township.get(reverse("reports:export_download", args=[job.pk]))
    assert download.status_code == 200
    assert "township-" in download["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(download.content)).active
    assert sheet.title == "Township overview"
    assert sheet.cell(row=1, column=1).value.startswith(village_x.township.name)
    rows = table_rows(sheet)
    assert sorted(row[1] for row in rows[:-1]) == sorted([village_x.name, village_y.name])
    assert rows[-1][0] == "Township total" and rows[-1][1] == "2 villages"
    held = [cell.value for cell in sheet[2]].index("Points held")
    assert village_x.name in [row[1] for row in rows] and rows[-1][held] == 100
    # The other township's officer neither sees nor downloads it.
    status = reverse("reports:export_status", args=[job.pk])
    assert client_township_z.get(status).status_code == 404
    download = reverse("reports:export_download", args=[job.pk])
    assert client_township_z.get(download).status_code == 404


def test_the_officer_looks_into_the_townships_villages_only(
    client_township, client_township_z, village_x, village_z
):
    response = client_township.post(PICK, {"village": village_x.pk, "next": OVERVIEW})
    assert response.status_code == 302
    dashboard = client_township.get(reverse("reports:dashboard"))
    assert dashboard.status_code == 200 and dashboard.context["village"] == village_x
    assert client_township.post(PICK, {"village": village_z.pk}).status_code == 404
    assert client_township_z.post(PICK, {"village": village_x.pk}).status_code == 404
    # A village of another township slipped into the session is no village at all.
    session = client_township_z.session
    session["county_village_id"] = village_x.pk
    session.save()
    assert client_township_z.get(reverse("reports:dashboard")).status_code == 302
    # Reading, not running the village: the registry and the counter are not theirs.
    assert client_township.get(reverse("reports:household_list")).status_code == 403
    assert client_township.get(reverse("store:counter")).status_code == 403


def test_the_officer_decides_what_the_township_sent_up_once(
    client_township, client_township_z, township_officer, sent_up, card_a
):
    assert "clean yard" in client_township.get(QUEUE).content.decode()
    assert "clean yard" not in client_township_z.get(QUEUE).content.decode()

    # Another township's officer can do nothing with it.
    response = decide(client_township_z, sent_up, "approve")
    assert "This is another township&#x27;s item" in response.content.decode()
    sent_up.refresh_from_db()
    assert sent_up.status == OPEN and balance(card_a) == 100

    key = form_key()
    decide(client_township, sent_up, "approve", key=key)
    decide(client_township, sent_up, "approve", key=key)  # a double click: one effect
    assert balance(card_a) == 105
    sent_up.refresh_from_db()
    assert (sent_up.status, sent_up.decided_by) == (DONE, township_officer)
    proposal = Proposal.objects.get(pk=sent_up.object_id)
    assert proposal.decided_by == township_officer
    assert AuditEvent.objects.filter(action="proposal.approve", actor=township_officer).exists()


def test_another_townships_item_is_said_to_be_so_and_nothing_of_it_is_shown(
    client_township, client_township_z, sent_up, card_a, village_x
):
    """Found by a probe: another township's officer deciding an item of township X's (a
    form of the other queue, an address passed on) was told it was decided or not found.
    Open or decided, it is said to be another township's, naming nothing of it, and
    nothing is written; another county's admin is told it is another county's."""
    other_county = make_staff(
        "County admin", county=CountyFactory(name="别县"), username="county_other"
    )
    elsewhere = {
        "another township's": client_township_z,
        "another county's": _client_for(other_county),
    }
    for whose, client in elsewhere.items():
        for reason in ("", "照片看不清"):
            response = decide(client, sent_up, "reject", reason=reason)
            page = response.content.decode()
            assert f"This is {whose} item".replace("'", "&#x27;") in page, whose
            assert "clean yard" not in page and village_x.name not in page
            assert card_a.household.head_name not in page
    sent_up.refresh_from_db()
    assert sent_up.status == OPEN and balance(card_a) == 100
    # Decided by its own township, it stays another township's to township Z.
    decide(client_township, sent_up, "approve")
    page = decide(client_township_z, sent_up, "approve").content.decode()
    assert "This is another township&#x27;s item" in page
    assert balance(card_a) == 105
    # The officer's own queue's words for an item decided meanwhile are as before.
    page = decide(client_township, sent_up, "approve").content.decode()
    assert "already decided or not found" in page


def test_the_second_person_rule_binds_the_officer_too(
    client_township, client_county, township_officer, county_admin, sent_up, card_a
):
    """An officer whose own household it is may not decide it: the county admin does."""
    User.objects.filter(pk=township_officer.pk).update(household=card_a.household)
    response = decide(client_township, sent_up, "approve")
    assert "your own household" in response.content.decode()
    sent_up.refresh_from_db()
    assert sent_up.status == OPEN and balance(card_a) == 100
    decide(client_county, sent_up, "approve")
    sent_up.refresh_from_db()
    assert (sent_up.status, sent_up.decided_by) == (DONE, county_admin)
    assert balance(card_a) == 105


def test_a_refusal_needs_a_reason_and_stays_in_the_township(
    client_township, client_township_z, sent_up, card_a
):
    refused = decide(client_township, sent_up, "reject")
    assert Referral.objects.get(pk=sent_up.pk).status == OPEN
    # Found by a probe: the refusal redirected to an empty form; the choice is kept now,
    # as is a reason typed with a refused decision.
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Give the reason for this decision" in page
    assert '<option value="reject" selected>' in page
    refused = decide(client_township, sent_up, "nonsense", reason="照片看不清")
    assert 'value="照片看不清"' in refused.content.decode()
    decide(client_township, sent_up, "reject", reason="no photo of the yard")
    sent_up.refresh_from_db()
    assert sent_up.status == DONE
    assert Proposal.objects.get(pk=sent_up.object_id).status == Proposal.Status.REJECTED
    assert balance(card_a) == 100


def test_the_officer_reads_the_townships_audit_log_only(
    client_township, village_x, village_y, village_z, manager_x, card_z
):
    audit_record(action="test.x", actor=manager_x, village_id=village_x.pk, detail={})
    audit_record(action="test.z", actor=manager_x, village_id=village_z.pk, detail={})
    response = client_township.get(reverse("reports:audit"))
    assert response.status_code == 200
    actions = {row["event"].action for row in response.context["rows"]}
    assert "test.x" in actions and "test.z" not in actions
    choices = set(response.context["form"].fields["village"].queryset)
    assert choices == {village_x, village_y}


def test_the_officer_reads_the_villages_notices(client_township, village_x, supervisor_x):
    last = previous_month(timezone.localdate())
    notice_publish(
        village=village_x,
        year=last.year,
        month=last.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )
    client_township.post(PICK, {"village": village_x.pk})
    response = client_township.get(reverse("reports:notice_month", args=[last.year, last.month]))
    assert response.status_code == 200 and response.context["published"] is not None
    page = response.content.decode()
    # Reading only: no button to publish, countersign or object.
    assert reverse("reports:notice_countersign", args=[last.year, last.month]) not in page
    assert "/object/" not in page


def test_home_sends_the_officer_to_the_overview(client_township):
    response = client_township.get(reverse("home"))
    assert response.url == OVERVIEW


def test_the_county_admin_appoints_township_officers_of_the_county(
    client_county, township_officer, village_z
):
    """The back office's user page offers the two roles and only the county's townships."""
    from core.access import Role
    from tests.factories import CountyFactory, TownshipFactory

    elsewhere = TownshipFactory(county=CountyFactory(name="延長縣"), name="某鄉")
    url = reverse("admin:villagers_user_change", args=[township_officer.pk])
    form = client_county.get(url).context["adminform"].form
    townships = set(form.fields["township"].queryset)
    assert village_z.township in townships and elsewhere not in townships
    groups = {group.name for group in form.fields["groups"].queryset}
    assert {Role.TOWNSHIP_OFFICER, Role.PARTY_SECRETARY} <= groups
    assert Role.COUNTY_ADMIN not in groups


def test_the_referral_queues_read_typed_numbers_masked(
    client_township, client_manager_x, village_x, household_b, manager_x
):
    """Found by a second read: what a village typed into an item sent up (a reason, what
    was given) and a decided item's outcome reached the township officer with a phone in
    full, which the wish's own page masks."""
    phone = "13911112222"
    Referral.objects.create(
        village=village_x,
        household=household_b,
        kind=Referral.Kind.WISH_MATCH,
        object_id=0,
        why="送县里",
        request={"reason": f"请拨 {phone}", "given": f"轮椅 {phone}"},
        requested_by=manager_x,
    )
    Referral.objects.create(
        village=village_x,
        household=household_b,
        kind=Referral.Kind.WISH_MATCH,
        object_id=1,
        why="送县里",
        requested_by=manager_x,
        status=Referral.Status.DONE,
        decided_at=timezone.now(),
        outcome=f"联系 {phone}",
    )
    for client, name in (
        (client_township, "county_queue"),
        (client_manager_x, "village_referrals"),
    ):
        page = client.get(reverse(f"reports:{name}")).content.decode()
        assert "请拨" in page and "联系" in page, name
        assert phone not in page, name
