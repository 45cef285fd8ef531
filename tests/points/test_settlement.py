"""The opt-in yearly settlement: drafted, approved a month ahead by the second person, posted
once by the task at the year's end; what was earned is never touched."""

import datetime
import html
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from core.models import AuditEvent
from notifications.models import Notification
from notifications.texts import text
from points.models import Account, Entry, Settlement
from points.selectors import household_honours, household_rank, ledger_month, villager_state
from points.services import proposal_approve
from points.settlement import (
    posting_last_day,
    settlement_approve,
    settlement_draft,
    settlements_called_off,
    settlements_post,
)
from points.tasks import settle_year
from reports.monthly import month_report_build, year_report_build
from store.services import reservation_create, zones_ensure
from tests.conftest import form_key
from tests.points.conftest import make_rule, propose
from tests.points.test_concurrency import run_threads
from tests.store.conftest import make_item
from villagers.models import Referral, Village
from villagers.second_person import SecondPersonRequired, referral_open

THIS_YEAR = timezone.localdate().year
NOVEMBER = datetime.date(THIS_YEAR, 11, 20)
NEW_YEAR = datetime.date(THIS_YEAR + 1, 1, 1)


@pytest.fixture(autouse=True)
def _english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def settling_village(village_x):
    village_x.yearly_settlement = True
    village_x.settlement_keep = 100
    village_x.publicity_days = 0  # approvals credit at once
    village_x.save()
    return village_x


def award(manager, supervisor, household, points, category=None):
    rule = make_rule(manager.village, f"A{points}", points, category=category)
    (proposal,) = propose(manager, [household], rule)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor)


@pytest.fixture
def balances(settling_village, card_a, card_b, villager_a, manager_x, supervisor_x):
    """A: 100 + 150 (an honour), 20 of it held by a reservation; B: 100 + 30."""
    award(manager_x, supervisor_x, card_a.household, 150, category="honours")
    award(manager_x, supervisor_x, card_b.household, 30)
    zones_ensure(village=settling_village)
    item = make_item(settling_village, "daily", "肥皂", 20, 5, manager_x)
    reservation_create(household=card_a.household, lines={item.pk: 1}, actor=villager_a)
    return Account.objects.get(household=card_a.household), Account.objects.get(
        household=card_b.household
    )


def approved_plan(manager, supervisor):
    plan = settlement_draft(village=manager.village, actor=manager, today=NOVEMBER)
    return settlement_approve(settlement=plan, actor=supervisor, today=NOVEMBER)


def test_the_plan_lapses_only_the_spendable_points_above_the_kept_amount(
    balances, manager_x, supervisor_x
):
    account_a, account_b = balances
    plan = approved_plan(manager_x, supervisor_x)
    # A: 250 - 20 held - 100 kept; B: 130 - 100 kept.
    assert {line.account_id: line.points for line in plan.lines.all()} == {
        account_a.pk: 130,
        account_b.pk: 30,
    }
    told = Notification.objects.filter(kind=Notification.Kind.SETTLEMENT_PLANNED)
    assert {n.household_id: n.params["points"] for n in told} == {
        account_a.household_id: 130,
        account_b.household_id: 30,
    }
    assert not Entry.objects.filter(kind=Entry.Kind.LAPSE).exists()  # nothing before the end

    assert settlements_post(today=NEW_YEAR) == [plan]
    account_a.refresh_from_db()
    account_b.refresh_from_db()
    assert (account_a.balance, account_a.held, account_b.balance) == (120, 20, 100)
    lapses = Entry.objects.filter(kind=Entry.Kind.LAPSE)
    assert sorted(lapses.values_list("points", flat=True)) == [-130, -30]
    lapsed = Notification.objects.filter(kind=Notification.Kind.POINTS_LAPSED)
    assert {n.household_id: n.params["points"] for n in lapsed} == {
        account_a.household_id: 130,
        account_b.household_id: 30,
    }
    call_command("audit_ledger")  # balances and entries agree, holds still covered


def test_a_second_run_posts_nothing(balances, manager_x, supervisor_x):
    approved_plan(manager_x, supervisor_x)
    assert len(settlements_post(today=NEW_YEAR)) == 1
    settle_year(timestamp=0)  # the task, on the real day: the plan is posted already
    assert settlements_post(today=NEW_YEAR) == []
    assert Entry.objects.filter(kind=Entry.Kind.LAPSE).count() == 2
    assert Notification.objects.filter(kind=Notification.Kind.POINTS_LAPSED).count() == 2


def test_points_earned_in_the_new_year_never_lapse_however_late_the_worker_runs(
    balances, manager_x, supervisor_x, card_b, monkeypatch
):
    """Found by a probe: the lapse was counted from the balance when the worker ran. With
    the worker down until 3 January, points B earned on 2 January lapsed under last year's
    plan (and a cron read in UTC ran at 08:15 in China every year)."""
    _, account_b = balances
    approved_plan(manager_x, supervisor_x)  # B: 30 planned (130 above the kept 100)
    (deduction,) = propose(manager_x, [card_b.household], make_rule(manager_x.village, "D30", -30))
    proposal_approve(proposal_ids=[deduction.pk], actor=supervisor_x)  # December: B at 100
    china = datetime.timezone(datetime.timedelta(hours=8))
    second = datetime.datetime(THIS_YEAR + 1, 1, 2, 10, tzinfo=china)
    monkeypatch.setattr("django.utils.timezone.now", lambda: second)
    award(manager_x, supervisor_x, card_b.household, 50)  # earned in the new year
    third = datetime.datetime(THIS_YEAR + 1, 1, 3, 9, tzinfo=china)
    monkeypatch.setattr("django.utils.timezone.now", lambda: third)
    settle_year(timestamp=0)  # the worker back on 3 January
    account_b.refresh_from_db()
    assert account_b.balance == 150
    assert not Entry.objects.filter(account=account_b, kind=Entry.Kind.LAPSE).exists()


def test_a_lapse_is_read_aloud_as_points_taken_off(
    balances, manager_x, supervisor_x, client_villager_a
):
    """Found by a probe: the read-aloud line of a lapse said the points were added."""
    approved_plan(manager_x, supervisor_x)
    settlements_post(today=NEW_YEAR)
    page = client_villager_a.get(reverse("points:me")).content.decode()
    spoken = [html.unescape(line) for line in re.findall(r'data-speak-line="([^"]*)"', page)]
    (lapse,) = [line for line in spoken if "年度结算" in line]
    assert "减 130 分" in lapse


def test_next_years_plan_waits_until_this_years_has_lapsed(balances, manager_x, supervisor_x):
    """Found by a probe: in December, with this year's plan approved and not yet posted, a
    plan for next year could be drawn (a stale page, a direct POST) from balances that still
    held the points about to lapse, and each household was told twice of the same points."""
    approved_plan(manager_x, supervisor_x)
    december = datetime.date(THIS_YEAR, 12, 6)
    with pytest.raises(ValidationError, match="has not lapsed its points yet"):
        settlement_draft(village=manager_x.village, actor=manager_x, today=december)
    assert not Settlement.objects.filter(year=THIS_YEAR + 1).exists()
    # Never posted in its days (a worker down all January), it blocks nothing after them.
    late = posting_last_day(THIS_YEAR) + datetime.timedelta(days=1)
    drawn = settlement_draft(village=manager_x.village, actor=manager_x, today=late)
    assert drawn.year == THIS_YEAR + 1


def test_approving_the_plan_is_asked_once_more_saying_it_cannot_be_taken_back(
    balances, manager_x, client_supervisor_x, monkeypatch
):
    """Found by a probe: one click approved the plan and told every household on it that
    its points lapse, which only the county's turning the settlement off takes back."""
    settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: NOVEMBER)
    page = html.unescape(client_supervisor_x.get(reverse("points:settlement")).content.decode())
    asked = re.search(
        r"<details[^>]*>\s*<summary[^>]*>Approve the plan and tell the households</summary>"
        r"(.*?)</details>",
        page,
        re.S,
    )
    assert asked and f'action="{reverse("points:settlement_approve")}"' in asked[1]
    assert "It cannot be taken back" in asked[1] and "Yes, approve it" in asked[1]


def test_the_supervisors_dashboard_says_a_plan_waits_for_their_approval(
    balances, manager_x, supervisor_x, client_supervisor_x, client_manager_x, monkeypatch
):
    """Found by a probe: the manager read "the supervisor approves it", and nothing told the
    supervisor, whose approval has a deadline (a month before the year's end)."""
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: NOVEMBER)
    dashboard = reverse("reports:dashboard")
    said = f"The yearly settlement plan of {THIS_YEAR} is drawn up and waits for your approval"
    assert said not in client_supervisor_x.get(dashboard).content.decode()
    plan = settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    page = client_supervisor_x.get(dashboard).content.decode()
    assert said in page and reverse("points:settlement") in page
    assert said not in client_manager_x.get(dashboard).content.decode()
    settlement_approve(settlement=plan, actor=supervisor_x, today=NOVEMBER)
    assert said not in client_supervisor_x.get(dashboard).content.decode()


def test_the_dashboard_asks_the_supervisor_who_may_approve_the_plan_not_one_who_may_not(
    balances, manager_x, supervisor_x, card_a, monkeypatch
):
    """A supervisor whose household is on the plan may not approve it while another
    supervisor may: their dashboard said the plan "waits for your approval", and the
    button then refused them, naming the other. Said to the other; to them only when
    nobody else may (their button then sends it up)."""
    from django.test import Client

    from core.access import Role
    from tests.conftest import make_staff

    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: NOVEMBER)
    supervisor_x.household = card_a.household
    supervisor_x.save()
    settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    said = f"The yearly settlement plan of {THIS_YEAR} is drawn up and waits for your approval"
    dashboard = reverse("reports:dashboard")

    def page_of(user):
        client = Client()
        client.force_login(user)
        return client.get(dashboard).content.decode()

    assert said in page_of(supervisor_x)  # nobody else may: they send it up
    other = make_staff(Role.SUPERVISOR, village=manager_x.village, username="supervisor_x2")
    assert said in page_of(other)
    assert said not in page_of(supervisor_x)


def test_in_december_a_plan_never_approved_is_not_offered_for_approval(
    balances, manager_x, client_supervisor_x, monkeypatch
):
    """Found by a probe: in December the page showed this year's unapproved plan as waiting
    for approval, with a button that then said there was nothing to approve."""
    settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    monkeypatch.setattr(
        "django.utils.timezone.localdate", lambda *args: datetime.date(THIS_YEAR, 12, 6)
    )
    page = client_supervisor_x.get(reverse("points:settlement")).content.decode()
    assert reverse("points:settlement_approve") not in page
    assert "Never approved: nothing lapsed." in page


@pytest.mark.parametrize(
    ("today", "said"),
    [
        (datetime.date(THIS_YEAR, 12, 6), "the households are told."),
        (NEW_YEAR, "Approved: the year has ended, and it is posted on the next run"),
        (
            posting_last_day(THIS_YEAR) + datetime.timedelta(days=1),
            "Approved, but not posted in the days after the year's end",
        ),
    ],
)
def test_an_approved_plan_not_yet_posted_says_why(
    balances, manager_x, supervisor_x, client_supervisor_x, monkeypatch, today, said
):
    """Found by a probe: on New Year's Day before the task ran the plan still waited "for the
    year's end", and one a worker down for weeks never posted read as if the village had
    turned the settlement off."""
    approved_plan(manager_x, supervisor_x)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: today)
    page = html.unescape(client_supervisor_x.get(reverse("points:settlement")).content.decode())
    assert said in page
    assert "the settlement was off" not in page


def test_on_new_years_day_a_plan_of_a_village_turned_off_says_nothing_lapses(
    balances, manager_x, supervisor_x, client_supervisor_x, monkeypatch
):
    """Found by a second read: the plan promised a posting the task would not make."""
    approved_plan(manager_x, supervisor_x)
    Village.objects.filter(pk=manager_x.village_id).update(yearly_settlement=False)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: NEW_YEAR)
    page = html.unescape(client_supervisor_x.get(reverse("points:settlement")).content.decode())
    assert "unless it is turned on again before tonight's run, the plan is called off" in page
    assert "it is posted on the next run" not in page
    assert settlements_post(today=NEW_YEAR) == []


def test_a_lapse_is_offered_no_reversal(balances, manager_x, supervisor_x, client_supervisor_x):
    """Found by a probe: the household's page offered the supervisor "Reverse" on a lapse,
    which the ledger refuses (only awards and deductions are reversed)."""
    approved_plan(manager_x, supervisor_x)
    settlements_post(today=NEW_YEAR)
    lapse = Entry.objects.filter(kind=Entry.Kind.LAPSE).first()
    page = client_supervisor_x.get(
        reverse("points:household_ledger", args=[lapse.account.household_id])
    ).content.decode()
    assert reverse("points:entry_reverse", args=[lapse.pk]) not in page
    award = Entry.objects.filter(account=lapse.account, kind=Entry.Kind.AWARD).first()
    assert reverse("points:entry_reverse", args=[award.pk]) in page


def test_a_household_that_spent_since_loses_less_never_more_than_approved(
    balances, manager_x, supervisor_x, card_b
):
    account_a, account_b = balances
    approved_plan(manager_x, supervisor_x)
    award(manager_x, supervisor_x, card_b.household, 50)  # earned after the plan: kept
    deduct = make_rule(manager_x.village, "D25", -25)
    (proposal,) = propose(manager_x, [card_b.household], deduct)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    settlements_post(today=NEW_YEAR)
    account_b.refresh_from_db()
    # 130 + 50 - 25 = 155: at most the 30 approved lapse, not the 55 above 100 now.
    assert account_b.balance == 125


def test_what_was_earned_is_never_touched(balances, manager_x, supervisor_x, card_a):
    household = card_a.household
    earned_before = household_rank(villager_state(household)).earned
    honours_before = list(household_honours(household))
    today = timezone.localdate()
    month_before = {
        h.household_id: h.earned
        for h in ledger_month(household.village, today.year, today.month).households
    }
    approved_plan(manager_x, supervisor_x)
    settlements_post(today=NEW_YEAR)
    assert household_rank(villager_state(household)).earned == earned_before == 150
    assert list(household_honours(household)) == honours_before != []
    month = ledger_month(household.village, today.year, today.month)
    assert {h.household_id: h.earned for h in month.households} == month_before
    line = month.lines[(Entry.Kind.LAPSE, None)]
    assert (line.count, line.points) == (2, -160)


def test_the_notice_shows_the_lapsed_points_as_their_own_line(
    balances, manager_x, supervisor_x, client_supervisor_x
):
    approved_plan(manager_x, supervisor_x)
    settlements_post(today=NEW_YEAR)
    page = client_supervisor_x.get(reverse("reports:notice")).content.decode()
    assert "Points lapsed at the yearly settlement" in page
    assert "-160" in page


def test_the_month_and_year_reports_count_the_lapsed_points(
    balances, settling_village, manager_x, supervisor_x, client_supervisor_x
):
    today = timezone.localdate()
    before = month_report_build(settling_village, today.year, today.month).total
    approved_plan(manager_x, supervisor_x)
    settlements_post(today=NEW_YEAR)
    after = month_report_build(settling_village, today.year, today.month).total
    assert after.lapsed == before.lapsed + 160
    assert (after.issued, after.deducted, after.redeemed) == (
        before.issued,
        before.deducted,
        before.redeemed,
    )
    assert year_report_build(settling_village, today.year).total.lapsed == after.lapsed
    page = client_supervisor_x.get(
        reverse("reports:month_report", args=[today.year, today.month])
    ).content.decode()
    assert "Points lapsed at the yearly settlement" in page
    dashboard = client_supervisor_x.get(reverse("reports:dashboard"))
    assert dashboard.context["this_month"].lapsed == after.lapsed
    assert "Lapsed" in dashboard.content.decode()


def test_a_village_without_the_setting_sees_nothing_lapse(
    village_y, card_y, manager_y, card_a, balances, manager_x, supervisor_x
):
    with pytest.raises(ValidationError, match="its points accumulate"):
        settlement_draft(village=village_y, actor=manager_y, today=NOVEMBER)
    approved_plan(manager_x, supervisor_x)
    settlements_post(today=NEW_YEAR)
    account_y = Account.objects.get(household=card_y.household)
    assert account_y.balance == 100
    assert not Entry.objects.filter(account=account_y, kind=Entry.Kind.LAPSE).exists()
    assert not Notification.objects.filter(
        household=card_y.household,
        kind__in=[Notification.Kind.SETTLEMENT_PLANNED, Notification.Kind.POINTS_LAPSED],
    ).exists()


def test_turned_off_before_the_year_ends_nothing_lapses(
    balances, manager_x, supervisor_x, settling_village
):
    approved_plan(manager_x, supervisor_x)
    settling_village.yearly_settlement = False
    settling_village.save()
    assert settlements_post(today=NEW_YEAR) == []
    assert not Entry.objects.filter(kind=Entry.Kind.LAPSE).exists()


def test_a_plan_the_switch_kept_from_posting_never_lapses_later(
    balances, manager_x, supervisor_x, settling_village, client_manager_x, monkeypatch
):
    """Found by a probe: turned off before the year's end and on again in March, the village
    saw last year's plan posted then: households told their points lapse on 31 December
    lost them months later. A plan posts only in the month after its year's end (a worker
    down on New Year's Day still posts it); later, never."""
    approved_plan(manager_x, supervisor_x)
    settling_village.yearly_settlement = False
    settling_village.save()
    assert settlements_post(today=NEW_YEAR) == []
    settling_village.yearly_settlement = True
    settling_village.save()
    assert settlements_post(today=datetime.date(THIS_YEAR + 1, 3, 10)) == []
    assert not Entry.objects.filter(kind=Entry.Kind.LAPSE).exists()
    # The page, that March, says so.
    march = datetime.date(THIS_YEAR + 1, 3, 10)
    monkeypatch.setattr("points.views.settlement.timezone.localdate", lambda *a: march)
    page = client_manager_x.get(reverse("points:settlement")).content.decode()
    assert "Called off: the settlement was turned off, so nothing lapsed." in page


def test_a_plan_the_switch_kept_from_posting_on_new_years_day_stays_unposted(
    balances, manager_x, supervisor_x, settling_village
):
    """Found by a second read: off on New Year's Day and on again on 25 January, within the
    days a late worker may still post, the plan posted then. The first run after the year's
    end closes it unposted when the settlement is off."""
    plan = approved_plan(manager_x, supervisor_x)
    settling_village.yearly_settlement = False
    settling_village.save()
    assert settlements_post(today=NEW_YEAR) == []
    plan.refresh_from_db()
    assert plan.not_posted_at is not None and plan.posted_at is None
    settling_village.yearly_settlement = True
    settling_village.save()
    assert settlements_post(today=datetime.date(THIS_YEAR + 1, 1, 25)) == []
    assert not Entry.objects.filter(kind=Entry.Kind.LAPSE).exists()
    assert AuditEvent.objects.filter(action="settlement.close").count() == 1


def test_a_plan_is_still_posted_after_a_worker_was_down_on_new_years_day(
    balances, manager_x, supervisor_x
):
    plan = approved_plan(manager_x, supervisor_x)
    assert settlements_post(today=datetime.date(THIS_YEAR + 1, 1, 20)) == [plan]
    assert Entry.objects.filter(kind=Entry.Kind.LAPSE).exists()


def test_unapproved_or_late_plans_never_lapse(balances, manager_x, supervisor_x):
    plan = settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    assert settlements_post(today=NEW_YEAR) == []  # drafted, never approved
    with pytest.raises(ValidationError, match="too late"):
        settlement_approve(
            settlement=plan, actor=supervisor_x, today=datetime.date(THIS_YEAR, 12, 1)
        )
    assert not Entry.objects.filter(kind=Entry.Kind.LAPSE).exists()
    assert not Notification.objects.filter(kind=Notification.Kind.SETTLEMENT_PLANNED).exists()


def test_the_manager_drafts_and_only_the_supervisor_approves(balances, manager_x, supervisor_x):
    with pytest.raises(PermissionDenied):
        settlement_draft(village=manager_x.village, actor=supervisor_x, today=NOVEMBER)
    plan = settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    with pytest.raises(PermissionDenied):
        settlement_approve(settlement=plan, actor=manager_x, today=NOVEMBER)
    settlement_approve(settlement=plan, actor=supervisor_x, today=NOVEMBER)
    with pytest.raises(ValidationError, match="approved already"):
        settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)


def test_the_page_shows_the_plan(balances, manager_x, supervisor_x, client_manager_x, card_a):
    approved_plan(manager_x, supervisor_x)
    page = client_manager_x.get(reverse("points:settlement")).content.decode()
    assert card_a.household.head_name in page and "130" in page and "Approved by" in page
    assert Settlement.objects.get().approved_by == supervisor_x


def test_a_posted_plan_says_what_lapsed_beside_what_was_planned(
    balances, manager_x, supervisor_x, client_supervisor_x, card_b, monkeypatch
):
    """Found by a probe: posted, the plan's table totalled the 160 points planned and left
    its lapsed column without a total, and in January the plan read "2026: up to 160 points
    planned. Posted.": the 135 that lapsed (B spent 25 since the plan) were on no page."""
    approved_plan(manager_x, supervisor_x)
    deduct = make_rule(manager_x.village, "D25", -25)
    (proposal,) = propose(manager_x, [card_b.household], deduct)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    settlements_post(today=NEW_YEAR)
    assert -sum(Entry.objects.filter(kind=Entry.Kind.LAPSE).values_list("points", flat=True)) == 135

    def page_on(day):
        monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: day)
        return html.unescape(client_supervisor_x.get(reverse("points:settlement")).text)

    table = page_on(NOVEMBER)  # the plan's year: its table
    footer = table[table.index("<tfoot>") : table.index("</tfoot>")]
    assert '<td class="text-end">160</td>' in footer
    assert '<td class="text-end settlement-lapsed">135</td>' in footer
    january = page_on(NEW_YEAR)  # next year's page lists it among the earlier plans
    assert f"{THIS_YEAR}: up to 160 points planned. Posted: 135 points lapsed." in january


def test_lapsed_points_are_said_one_way_on_every_page(
    balances,
    settling_village,
    manager_x,
    supervisor_x,
    client_supervisor_x,
    client_villager_a,
    card_a,
    card_b,
    monkeypatch,
):
    """Found by a probe: the settlement's table showed the lapsed points as -135 where the
    list of plans said "135 points lapsed". Beside the word "lapsed" (the settlement's
    table and list, the month and year reports, the dashboard, the message) the figure is
    the points that lapsed; where lines add up to a balance (the notice's ledger, a
    household's history) a lapse is taken off as a deduction is, with its minus."""
    approved_plan(manager_x, supervisor_x)
    (proposal,) = propose(manager_x, [card_b.household], make_rule(manager_x.village, "D25", -25))
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    settlements_post(today=NEW_YEAR)  # A: 130 lapse, B: 5 (of the 30 planned)
    today = timezone.localdate()  # the month the lapses are posted in

    def page_text(client, name, *args):
        page = html.unescape(client.get(reverse(name, args=args)).text)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))

    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: NOVEMBER)
    table = client_supervisor_x.get(reverse("points:settlement")).text  # the plan's year
    monkeypatch.undo()
    rows = re.findall(r"<tr><td>[^<]*</td><td[^>]*>(\d+)</td><td[^>]*>([^<]*)</td></tr>", table)
    assert sorted(rows) == [("130", "130"), ("30", "5")]
    assert 'settlement-lapsed">135<' in table
    month = page_text(client_supervisor_x, "reports:month_report", today.year, today.month)
    assert "Points lapsed at the yearly settlement 135 " in month  # the month's figures
    assert "Points lapsed at the yearly settlement 2 -135 " in month  # its ledger's lines
    assert "Deductions 1 -25 " in month  # as a deduction there
    year = client_supervisor_x.get(reverse("reports:year_report", args=[THIS_YEAR]))
    assert year.context["report"].total.lapsed == 135
    assert "-135" not in page_text(client_supervisor_x, "reports:year_report", THIS_YEAR)
    history = page_text(client_villager_a, "points:me")
    assert "lapsed at the yearly settlement -130 " in history
    told = Notification.objects.get(
        kind=Notification.Kind.POINTS_LAPSED, household=card_a.household
    )
    assert text(told).startswith("Yearly settlement: 130 points lapsed.")


def test_a_supervisor_with_a_household_on_the_plan_may_not_approve_it(
    balances, manager_x, supervisor_x, card_a
):
    supervisor_x.household = card_a.household
    supervisor_x.save()
    plan = settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    with pytest.raises(SecondPersonRequired):
        settlement_approve(settlement=plan, actor=supervisor_x, today=NOVEMBER)
    plan.refresh_from_db()
    assert plan.approved_at is None
    assert not Notification.objects.filter(kind=Notification.Kind.SETTLEMENT_PLANNED).exists()


def test_a_plan_nobody_of_the_village_may_approve_is_sent_up_and_decided_there(
    balances, manager_x, supervisor_x, card_a, client_supervisor_x, client_township, client_county
):
    supervisor_x.household = card_a.household
    supervisor_x.save()
    plan = settlement_draft(village=manager_x.village, actor=manager_x)
    response = client_supervisor_x.post(
        reverse("points:settlement_approve"),
        {"idempotency_key": form_key(), "drafted": plan.drafted_at.isoformat()},
        follow=True,
    )
    assert "it was sent up" in response.content.decode()
    referral = Referral.objects.get(kind=Referral.Kind.SETTLEMENT, object_id=plan.pk)
    assert referral.status == Referral.Status.OPEN and referral.household == card_a.household
    # Found by a probe: the page went on saying "Waiting for the supervisor's approval" and
    # offered the supervisor the approval that only sends it up again.
    page = response.content.decode()
    assert "Waiting for the township or the county" in page
    assert "Waiting for the supervisor's approval." not in page
    assert reverse("points:settlement_approve") not in page
    assert reverse("reports:village_referrals") in page
    plan.refresh_from_db()
    assert plan.approved_at is None

    # The township officer reads it in their queue, and approves it there.
    queue = client_township.get(reverse("reports:county_queue")).content.decode()
    assert f"Settlement of {plan.year}: above 100 points, at most 160 points of 2" in queue
    decided = client_township.post(
        reverse("reports:county_queue_decide"),
        {"referral": referral.pk, "decision": "do", "idempotency_key": form_key()},
        follow=True,
    )
    assert decided.status_code == 200
    plan.refresh_from_db()
    referral.refresh_from_db()
    assert plan.approved_by.username == "township" and plan.approved_at is not None
    assert referral.status == Referral.Status.DONE
    told = Notification.objects.filter(kind=Notification.Kind.SETTLEMENT_PLANNED)
    assert told.count() == plan.lines.count() == 2
    # Decided once: the county admin finds nothing left to decide.
    again = client_county.post(
        reverse("reports:county_queue_decide"),
        {"referral": referral.pk, "decision": "do", "idempotency_key": form_key()},
        follow=True,
    )
    assert "already decided" in again.content.decode()
    assert Settlement.objects.get().approved_by.username == "township"


def test_an_overseer_with_a_household_on_the_plan_neither_approves_nor_refuses_it(
    balances,
    manager_x,
    supervisor_x,
    card_a,
    card_b,
    township_officer,
    client_supervisor_x,
    client_township,
):
    """Refusing it keeps their household's points from lapsing, as approving lapses them."""
    supervisor_x.household = card_a.household
    supervisor_x.save()
    township_officer.household = card_b.household
    township_officer.save()
    plan = settlement_draft(village=manager_x.village, actor=manager_x)
    client_supervisor_x.post(
        reverse("points:settlement_approve"),
        {"idempotency_key": form_key(), "drafted": plan.drafted_at.isoformat()},
    )
    referral = Referral.objects.get(kind=Referral.Kind.SETTLEMENT, object_id=plan.pk)
    for decision in ("do", "refuse"):
        response = client_township.post(
            reverse("reports:county_queue_decide"),
            {
                "referral": referral.pk,
                "decision": decision,
                "reason": "不该失效",
                "idempotency_key": form_key(),
            },
            follow=True,
        )
        assert "your own household" in response.content.decode()
    referral.refresh_from_db()
    plan.refresh_from_db()
    assert referral.status == Referral.Status.OPEN and plan.approved_at is None


def test_a_plan_drawn_again_while_sent_up_is_sent_up_no_longer(
    balances, manager_x, supervisor_x, card_a
):
    """The township decides the plan the village sent up, never one drawn again since."""
    supervisor_x.household = card_a.household
    supervisor_x.save()
    plan = settlement_draft(village=manager_x.village, actor=manager_x)
    with pytest.raises(SecondPersonRequired) as refused:
        settlement_approve(settlement=plan, actor=supervisor_x)
    referral = referral_open(error=refused.value, actor=supervisor_x)
    settlement_draft(village=manager_x.village, actor=manager_x)
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DONE and "drawn again" in referral.outcome
    plan.refresh_from_db()
    assert plan.approved_at is None


def test_a_double_click_drafts_one_plan_and_two_runs_at_once_post_it_once(
    transactional_db, balances, manager_x, supervisor_x
):
    village = manager_x.village
    results = run_threads(
        [lambda: settlement_draft(village=village, actor=manager_x, today=NOVEMBER)] * 3
    )
    assert [r[0] for r in results] == ["ok"] * 3
    plan = Settlement.objects.get()
    settlement_approve(settlement=plan, actor=supervisor_x, today=NOVEMBER)
    run_threads([lambda: settlements_post(today=NEW_YEAR)] * 3)
    assert Entry.objects.filter(kind=Entry.Kind.LAPSE).count() == 2
    assert Notification.objects.filter(kind=Notification.Kind.POINTS_LAPSED).count() == 2
    call_command("audit_ledger")


def test_a_plan_drawn_up_in_december_is_next_years(balances, manager_x, supervisor_x):
    december = datetime.date(THIS_YEAR, 12, 5)
    plan = settlement_draft(village=manager_x.village, actor=manager_x, today=december)
    assert plan.year == THIS_YEAR + 1
    settlement_approve(settlement=plan, actor=supervisor_x, today=december)
    assert settlements_post(today=datetime.date(THIS_YEAR + 1, 12, 31)) == []  # not yet
    assert [p.pk for p in settlements_post(today=datetime.date(THIS_YEAR + 2, 1, 1))] == [plan.pk]


def test_a_plan_drawn_again_after_the_supervisor_read_it_is_not_approved_unread(
    balances, manager_x, supervisor_x, card_b
):
    """Found by a probe: the approval took whatever plan stood at that moment, so a plan
    drawn again (B's points grown) was approved with figures the supervisor never saw."""
    read = settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    award(manager_x, supervisor_x, card_b.household, 500)
    settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    with pytest.raises(ValidationError, match="drawn up again after this page was shown"):
        settlement_approve(
            settlement=read, actor=supervisor_x, today=NOVEMBER, drafted_at=read.drafted_at
        )
    plan = Settlement.objects.get(pk=read.pk)
    assert plan.approved_at is None
    assert not Notification.objects.filter(kind=Notification.Kind.SETTLEMENT_PLANNED).exists()
    settlement_approve(
        settlement=plan, actor=supervisor_x, today=NOVEMBER, drafted_at=plan.drafted_at
    )
    assert plan.lines.get(account__household=card_b.household).points == 530


def test_a_double_clicked_draft_draws_the_plan_once(balances, client_manager_x):
    """Found by a probe: the view ignored the one-time key, so a double click drew the plan
    twice (two audit events, and a new time that the approval form it was shown with no
    longer names). The second click is now told the plan was drawn up already."""
    url = reverse("points:settlement_draft")
    page = client_manager_x.get(reverse("points:settlement")).content.decode()
    form = re.search(rf'<form[^>]*action="{re.escape(url)}"[^>]*>(.*?)</form>', page, re.S)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form.group(1)).group(1)
    first = client_manager_x.post(url, {"idempotency_key": key})
    drafted_at = Settlement.objects.get().drafted_at
    second = client_manager_x.post(url, {"idempotency_key": key}, follow=True)
    assert second.redirect_chain == [(first.url, 302)]
    assert "The plan was already drawn up; it was not drawn again." in second.content.decode()
    assert Settlement.objects.get().drafted_at == drafted_at
    assert AuditEvent.objects.filter(action="settlement.draft").count() == 1


def test_the_approve_button_carries_the_plan_it_was_shown_with(
    balances, manager_x, client_supervisor_x, client_manager_x
):
    client_manager_x.post(reverse("points:settlement_draft"), {"idempotency_key": form_key()})
    page = client_supervisor_x.get(reverse("points:settlement")).content.decode()
    drafted = re.search(r'name="drafted" value="([^"]+)"', page).group(1)
    again = {"idempotency_key": form_key()}
    client_manager_x.post(reverse("points:settlement_draft"), again)  # drawn again meanwhile
    url = reverse("points:settlement_approve")
    stale = client_supervisor_x.post(
        url, {"idempotency_key": form_key(), "drafted": drafted}, follow=True
    )
    assert "drawn up again after this page was shown" in stale.content.decode()
    assert Settlement.objects.get().approved_at is None
    for bad in ("", "yesterday", "2026-13-40T00:00:00"):
        answer = client_supervisor_x.post(
            url, {"idempotency_key": form_key(), "drafted": bad}, follow=True
        )
        assert "The form is out of date" in answer.content.decode()
    page = client_supervisor_x.get(reverse("points:settlement")).content.decode()
    drafted = re.search(r'name="drafted" value="([^"]+)"', page).group(1)
    client_supervisor_x.post(url, {"idempotency_key": form_key(), "drafted": drafted})
    assert Settlement.objects.get().approved_at is not None


def test_a_plan_called_off_tells_its_households_the_next_night(
    balances, manager_x, supervisor_x, settling_village, client_supervisor_x, card_a
):
    """Found by a probe: each household on an approved plan was told its points lapse at the
    year's end; the village then turned the settlement off, the plan was closed unposted at
    the year's end, and nobody was told. Villagers went on spending to save points that
    were never at risk. The task's next daily run calls the plan off and tells them."""
    plan = approved_plan(manager_x, supervisor_x)
    told = Notification.objects.filter(kind=Notification.Kind.SETTLEMENT_OFF)
    assert settlements_called_off() == []  # on: nothing to call off
    settling_village.yearly_settlement = False
    settling_village.save()
    page = html.unescape(client_supervisor_x.get(reverse("points:settlement")).content.decode())
    assert "unless it is turned on again before tonight's run" in page
    settle_year(timestamp=0)  # the daily run
    plan.refresh_from_db()
    assert plan.not_posted_at is not None and plan.posted_at is None
    assert sorted(told.values_list("household_id", flat=True)) == sorted(
        plan.lines.values_list("account__household_id", flat=True)
    )
    assert text(told.filter(household=card_a.household).get()) == (
        f"The yearly settlement on {THIS_YEAR}-12-31 is called off: no points lapse. "
        "Your points stay yours to spend."
    )
    assert AuditEvent.objects.filter(action="settlement.close").count() == 1
    page = html.unescape(client_supervisor_x.get(reverse("points:settlement")).content.decode())
    assert "the settlement was turned off, so nothing lapses" in page
    # Turned on again before the year's end: the plan stays called off.
    settling_village.yearly_settlement = True
    settling_village.save()
    assert settlements_called_off() == []
    assert settlements_post(today=NEW_YEAR) == []
    assert not Entry.objects.filter(kind=Entry.Kind.LAPSE).exists()
    assert told.count() == plan.lines.count()


def test_a_plan_never_approved_is_left_as_it_is_and_nobody_told(
    balances, manager_x, settling_village
):
    """Its households were never told anything: nothing to tell them."""
    settlement_draft(village=manager_x.village, actor=manager_x, today=NOVEMBER)
    settling_village.yearly_settlement = False
    settling_village.save()
    assert settlements_called_off() == []
    assert not Notification.objects.filter(kind=Notification.Kind.SETTLEMENT_OFF).exists()


def test_a_plan_past_its_posting_days_is_not_called_off_years_later(
    balances, manager_x, supervisor_x, settling_village, monkeypatch
):
    """A plan never posted in the days after its year's end (the worker was down) lapses
    nothing already: a village that turns the settlement off later must not tell each
    household on it, that night, that a settlement long past "is called off"."""
    plan = approved_plan(manager_x, supervisor_x)
    march = datetime.date(THIS_YEAR + 1, 3, 10)
    assert march > posting_last_day(THIS_YEAR)
    settling_village.yearly_settlement = False
    settling_village.save()
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: march)
    settle_year(timestamp=0)  # the daily run, that March
    plan.refresh_from_db()
    assert plan.not_posted_at is None
    assert not Notification.objects.filter(kind=Notification.Kind.SETTLEMENT_OFF).exists()
    # Within its posting days it is still called off (the households were told it lapses).
    assert settlements_called_off(today=NEW_YEAR) == [plan]


def test_a_plan_that_fails_to_post_fails_the_nightly_job_after_the_others(
    balances, manager_x, supervisor_x, monkeypatch
):
    """As the crediting job: a plan that fails in a way nobody foresaw is logged, the others
    are posted, and the job then fails for the operator to see (it only logged)."""
    from points import settlement as module

    plan = approved_plan(manager_x, supervisor_x)

    def failing(pk, village_id):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(module, "_settlement_post", failing)
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args: NEW_YEAR)
    with pytest.raises(RuntimeError, match=rf"settlements \[{plan.pk}\] failed"):
        settle_year(timestamp=0)
    plan.refresh_from_db()
    assert plan.posted_at is None and plan.not_posted_at is None
