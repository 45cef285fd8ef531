"""A balance never passes what an account holds (points.ledger.MAX_BALANCE): an award that
would take it there is refused or held in plain words, never a database error that stops
the crediting run for every village."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications.models import Notification
from notifications.texts import text
from points import checks
from points.ledger import MAX_BALANCE
from points.models import Account, Proposal
from points.publicity import proposals_credit_due
from points.services import proposal_approve
from tests.points.conftest import make_rule, propose


def _approve(*proposals, supervisor):
    for proposal in proposals:
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor)


def test_an_award_past_the_limit_is_held_and_the_run_credits_the_others(
    village_x, card_a, card_b, manager_x, supervisor_x
):
    village_x.publicity_days = 3
    village_x.save()
    huge = make_rule(village_x, "X01", 2_000_000_000)  # a mistyped rule: zeros too many
    small = make_rule(village_x, "S01", 5)
    (first,) = propose(manager_x, [card_a.household], huge)
    (second,) = propose(manager_x, [card_a.household], huge)
    (other,) = propose(manager_x, [card_b.household], small)
    _approve(first, second, other, supervisor=supervisor_x)

    run = proposals_credit_due(now=timezone.now() + datetime.timedelta(days=4))

    assert run.credited == [first.pk, other.pk] and run.held == [second.pk]
    second.refresh_from_db()
    assert second.status == Proposal.Status.HELD
    assert str(MAX_BALANCE) in second.hold_reason
    assert Account.objects.get(household=card_a.household).balance == 2_000_000_100
    assert Account.objects.get(household=card_b.household).balance == 105
    told = Notification.objects.filter(
        household=card_a.household, kind=Notification.Kind.HELD
    ).get()
    assert "cannot hold so many points" in text(told)
    assert checks.check() == []


def test_an_award_past_the_limit_is_refused_at_approval(village_x, card_a, manager_x, supervisor_x):
    huge = make_rule(village_x, "X01", 2_000_000_000)
    first, second = propose(manager_x, [card_a.household], huge) + propose(
        manager_x, [card_a.household], huge
    )
    proposal_approve(proposal_ids=[first.pk], actor=supervisor_x)
    with pytest.raises(ValidationError, match="award refused. Too many points"):
        proposal_approve(proposal_ids=[second.pk], actor=supervisor_x)
    second.refresh_from_db()
    assert second.status == Proposal.Status.PROPOSED
    assert Account.objects.get(household=card_a.household).balance == 2_000_000_100
    assert checks.check() == []


def test_a_proposal_failing_for_a_reason_nobody_foresaw_never_stops_the_run(
    village_x, card_a, card_b, manager_x, supervisor_x, monkeypatch
):
    """Noted by the probe that found the limit: the crediting run stopped at the first
    proposal that failed in an unforeseen way, and none after it, of any village, was ever
    credited (each night it failed again at the same one). It is logged and left as it
    was; the others are credited, and the job then fails for the operator to see."""
    from points import publicity
    from points.tasks import credit_due

    village_x.publicity_days = 3
    village_x.save()
    rule = make_rule(village_x, "S01", 5)
    (broken,) = propose(manager_x, [card_a.household], rule)
    (other,) = propose(manager_x, [card_b.household], rule)
    _approve(broken, other, supervisor=supervisor_x)
    credit = publicity._credit_locked

    def failing_for_one(proposal, **kwargs):
        if proposal.pk == broken.pk:
            raise RuntimeError("something nobody foresaw")
        return credit(proposal, **kwargs)

    monkeypatch.setattr(publicity, "_credit_locked", failing_for_one)
    later = timezone.now() + datetime.timedelta(days=4)
    monkeypatch.setattr(publicity.timezone, "now", lambda: later)
    with pytest.raises(RuntimeError, match=f"proposals \\[{broken.pk}\\] failed"):
        credit_due(timestamp=0)
    broken.refresh_from_db()
    other.refresh_from_db()
    assert broken.status == Proposal.Status.PUBLICITY
    assert other.status == Proposal.Status.APPROVED
    assert checks.check() == []
