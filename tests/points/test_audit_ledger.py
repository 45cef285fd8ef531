"""The audit_ledger command: passes on a sound ledger, lists every kind of problem."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from points import checks
from points.models import Entry
from points.services import entry_post, proposal_approve
from tests.points.conftest import propose


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
