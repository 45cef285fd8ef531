"""The audit_ledger command: passes on a sound ledger, lists every kind of problem."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from points import checks
from points.carryover import carry_over_import, carry_over_parse
from points.models import Account, CarryOverLine, Entry, Proposal, SettlementLine
from points.services import entry_post, entry_reverse, proposal_approve
from points.settlement import settlement_approve, settlement_draft, settlements_post
from reports.referrals import referral_decide
from tests.conftest import behind_the_app, issue_card
from tests.points.conftest import make_rule, propose
from tests.points.test_carry_over import xlsx_file
from villagers.models import Referral, User, Village
from villagers.services import card_recall


def test_sound_ledger_passes(card_a, card_b, manager_x, supervisor_x, rule_clean, capsys):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    call_command("audit_ledger")
    assert "Ledger consistent" in capsys.readouterr().out


def test_cached_balance_drift_is_reported(card_a, card_b):
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE points_account SET balance = 150 WHERE household_id = %s",
            [card_a.household_id],
        )
    problems = checks.check()
    assert problems == [
        f"account {card_a.household.account.pk}: cached balance 150, entries sum to 100"
    ]
    with pytest.raises(CommandError, match="1 ledger problem"):
        call_command("audit_ledger")


def test_award_without_approved_proposal_is_reported(card_a, supervisor_x):
    entry = entry_post(
        account_id=card_a.household.account.pk,
        kind=Entry.Kind.AWARD,
        points=5,
        actor=supervisor_x,
    )
    assert checks.check() == [f"entry {entry.pk} (award) was posted without an approved proposal"]


def test_broken_running_balance_and_reversal_are_reported(card_a):
    """Rows written around the services (raw SQL inserts) are caught by the recomputation."""
    account = card_a.household.account
    opening = account.entries.get()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO points_entry (account_id, kind, points, balance_after, created_at, memo,"
            " reverses_id) VALUES (%s, 'reversal', -50, 60, now(), '', %s)",
            [account.pk, opening.pk],
        )
    problems = " | ".join(checks.check())
    assert "cached balance 100, entries sum to 50" in problems
    assert "balance_after 60, running sum 50" in problems
    assert "reversed kind opening" in problems


def approved(manager, supervisor, household, rule) -> Proposal:
    (proposal,) = propose(manager, [household], rule)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor)
    proposal.refresh_from_db()
    return proposal


# --- the second person (rule 8) ------------------------------------------------------------


def test_a_decision_by_its_proposer_is_named(card_a, card_b, manager_x, supervisor_x, rule_clean):
    """Who decided is checked; whose household they are is not: the admin may link a staff
    member to their household after the fact, and their past decisions were rightly made."""
    own = approved(manager_x, supervisor_x, card_a.household, rule_clean)
    approved(manager_x, supervisor_x, card_b.household, rule_clean)
    User.objects.filter(pk=supervisor_x.pk).update(household=card_b.household)
    assert checks.check() == []
    Proposal.objects.filter(pk=own.pk).update(decided_by=manager_x)
    assert checks.check() == [
        f"proposal {own.pk} (approved) was decided by user {manager_x.pk} (manager_x), who "
        "proposed it: a second person decides",
    ]
    with pytest.raises(CommandError, match="1 ledger problem"):
        call_command("audit_ledger")


def test_the_county_deciding_for_the_village_is_a_second_person(
    card_a, manager_x, supervisor_x, county_admin, rule_clean
):
    """The only supervisor lives in household A: its proposal goes up, the county approves."""
    User.objects.filter(pk=supervisor_x.pk).update(household=card_a.household)
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    referral = Referral.objects.get(kind=Referral.Kind.PROPOSAL, object_id=proposal.pk)
    referral_decide(referral_ids=[referral.pk], actor=county_admin, decision="approve")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by) == (Proposal.Status.APPROVED, county_admin)
    assert checks.check() == []


def test_a_reversal_by_the_proposer_is_named(
    card_a, card_b, villager_b, manager_x, supervisor_x, rule_clean
):
    wrong = approved(manager_x, supervisor_x, card_a.household, rule_clean)
    reversal = entry_reverse(entry=wrong.entry, actor=supervisor_x, reason="wrong household")
    assert checks.check() == []
    with behind_the_app():
        Entry.objects.filter(pk=reversal.pk).update(created_by=manager_x)
    assert checks.check() == [
        f"reversal {reversal.pk} of entry {wrong.entry_id} (award) was made by user "
        f"{manager_x.pk} (manager_x), who proposed it: a second person reverses",
    ]


# --- opening grants ------------------------------------------------------------------------


def _entry_insert(account, kind, points):
    """An entry written around the ledger, its account's balance kept in step."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO points_entry (account_id, kind, points, balance_after, created_at, memo)"
            " VALUES (%s, %s, %s, %s, now(), '') RETURNING id",
            [account.pk, kind, points, account.balance + points],
        )
        (entry_id,) = cursor.fetchone()
        cursor.execute(
            "UPDATE points_account SET balance = balance + %s WHERE id = %s", [points, account.pk]
        )
    account.refresh_from_db()
    return Entry.objects.get(pk=entry_id)


def test_a_second_opening_grant_is_named(card_a):
    account = card_a.household.account
    first = account.entries.get()
    second = _entry_insert(account, Entry.Kind.OPENING, 100)
    assert checks.check() == [
        f"account {account.pk} has 2 opening grants (entries {first.pk}, {second.pk}): a "
        "household is granted once, with its first card",
        f"opening entry {second.pk} (account {account.pk}, household {account.household_id}): "
        "entries were posted on the account before it; the grant comes with the household's "
        "first card",
    ]


def test_a_recalled_card_issued_again_gets_no_grant(card_a, manager_x):
    card_recall(household=card_a.household, actor=manager_x, reason="moved house")
    issue_card(card_a.household, manager_x, pin="1739")
    assert card_a.household.account.entries.count() == 1
    assert checks.check() == []


def test_an_opening_grant_without_a_card_is_named(household_b):
    account = Account.objects.create(household=household_b, village=household_b.village)
    opening = _entry_insert(account, Entry.Kind.OPENING, 100)
    assert checks.check() == [
        f"opening entry {opening.pk} (account {account.pk}, household {household_b.pk}): its "
        "household has no card; the grant comes with the household's first card"
    ]


def test_a_carried_over_balance_counting_another_grant_is_named(card_a, manager_x):
    rows = carry_over_parse(xlsx_file([["X001", "王大山", 350, None, None, None]]))
    carry_over_import(
        village=card_a.household.village,
        rows=rows,
        paper_total=350,
        file_name="paper.xlsx",
        actor=manager_x,
    )
    line = CarryOverLine.objects.get()
    assert (line.grant, line.proposal.points) == (100, 250)
    assert checks.check() == []
    CarryOverLine.objects.filter(pk=line.pk).update(grant=0)
    assert checks.check() == [
        f"carried-over line {line.pk} (household {card_a.household_id}) counts an opening "
        "grant of 0, but the household was granted 100"
    ]


# --- lapses at the yearly settlement -------------------------------------------------------


def test_a_lapse_without_its_settlement_line_is_named(card_a):
    account = card_a.household.account
    lapse = _entry_insert(account, Entry.Kind.LAPSE, -60)
    assert checks.check() == [
        f"lapse entry {lapse.pk} (account {account.pk}, 60 points lapsed): no settlement line "
        "posted it"
    ]


def test_a_lapse_beyond_its_line_or_a_line_posting_another_kind_is_named(
    card_a, card_b, manager_x, supervisor_x
):
    village = Village.objects.get(pk=manager_x.village_id)
    village.yearly_settlement = True
    village.save()
    award_rule = make_rule(village, "A80", 80)
    approved(manager_x, supervisor_x, card_a.household, award_rule)
    approved(manager_x, supervisor_x, card_b.household, award_rule)
    november = datetime.date(timezone.localdate().year, 11, 20)
    plan = settlement_draft(village=village, actor=manager_x, today=november)
    settlement_approve(settlement=plan, actor=supervisor_x, today=november)
    settlements_post(today=datetime.date(november.year + 1, 1, 1))
    line_a, line_b = plan.lines.order_by("account_id")
    assert (line_a.entry.points, line_b.entry.points) == (-80, -80)
    assert checks.check() == []
    SettlementLine.objects.filter(pk=line_a.pk).update(points=50)
    opening_b = card_b.household.account.entries.get(kind=Entry.Kind.OPENING)
    SettlementLine.objects.filter(pk=line_b.pk).update(entry=opening_b)
    assert checks.check() == [
        f"lapse entry {line_a.entry_id} (account {line_a.account_id}, 80 points lapsed): its "
        f"settlement line {line_a.pk} lets at most 50 lapse",
        f"lapse entry {line_b.entry_id} (account {line_b.account_id}, 80 points lapsed): no "
        "settlement line posted it",
        f"settlement line {line_b.pk} names entry {opening_b.pk} (opening), not a lapse",
    ]


# --- one village throughout ----------------------------------------------------------------


def test_an_account_of_another_village_is_named(card_a, village_y):
    account = card_a.household.account
    Account.objects.filter(pk=account.pk).update(village=village_y)
    assert checks.check() == [
        f"account {account.pk} is of village {village_y.pk}, its household "
        f"{card_a.household_id} of village {card_a.household.village_id}"
    ]


def test_a_proposal_moved_to_another_villages_household_is_named(
    card_a, card_y, manager_x, supervisor_x, rule_clean
):
    """Its entry moved with it, the balances kept right: only the villages tell."""
    proposal = approved(manager_x, supervisor_x, card_a.household, rule_clean)
    account_a, account_y = card_a.household.account, card_y.household.account
    with behind_the_app():
        Proposal.objects.filter(pk=proposal.pk).update(household=card_y.household)
        Entry.objects.filter(pk=proposal.entry_id).update(account=account_y, balance_after=105)
    Account.objects.filter(pk=account_a.pk).update(balance=100)
    Account.objects.filter(pk=account_y.pk).update(balance=105)
    village_x, village_y = card_a.household.village_id, card_y.household.village_id
    assert checks.check() == [
        f"proposal {proposal.pk} is of village {village_x}, its rule of village {village_x}, "
        f"its household of {village_y}, its batch of -"
    ]
