"""Property: after ANY sequence of operations the cached balance equals the sum of entries."""

import contextlib

from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from points import checks
from points.models import Account, Entry, Proposal
from points.services import entry_post, entry_reverse, proposal_approve, proposal_reject
from tests.points.conftest import make_rule, propose

operations = st.lists(
    st.one_of(
        st.tuples(st.just("propose"), st.integers(0, 1), st.integers(-60, 40)),
        st.tuples(st.just("approve"), st.integers(0, 50), st.integers(1, 3)),
        st.tuples(st.just("reject"), st.integers(0, 50)),
        st.tuples(st.just("reverse"), st.integers(0, 50)),
        st.tuples(st.just("redeem"), st.integers(0, 1), st.integers(1, 80)),
    ),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
def test_balance_equals_sum_after_every_operation(
    ops, card_a, card_b, manager_x, supervisor_x, village_x
):
    households = [card_a.household, card_b.household]
    with transaction.atomic():
        award = make_rule(village_x, "P+", 1)
        fine = make_rule(village_x, "P-", -1)
        for op in ops:
            # A refusal must leave everything as it was: checked below like any other step.
            with contextlib.suppress(ValidationError):
                _apply(op, households, award, fine, manager_x, supervisor_x)
            for account in Account.objects.filter(household__in=households):
                entries = list(account.entries.order_by("id"))
                assert account.balance == sum(e.points for e in entries) >= 0
                assert not entries or entries[-1].balance_after == account.balance
            assert checks.check() == []
        transaction.set_rollback(True)


def _apply(op, households, award, fine, manager, supervisor):
    kind = op[0]
    pending = list(Proposal.objects.filter(status=Proposal.Status.PROPOSED).order_by("id"))
    if kind == "propose":
        points = op[2] or 1
        rule = award if points > 0 else fine
        propose(
            manager,
            [households[op[1]]],
            rule,
            points=points,
            override_reason="" if abs(points) == 1 else "size of the deed",
        )
    elif kind == "approve" and pending:
        start = op[1] % len(pending)
        chosen = pending[start : start + op[2]]
        proposal_approve(proposal_ids=[p.pk for p in chosen], actor=supervisor)
    elif kind == "reject" and pending:
        chosen = pending[op[1] % len(pending)]
        proposal_reject(proposal_ids=[chosen.pk], actor=supervisor, reason="not verified")
    elif kind == "reverse":
        entries = list(
            Entry.objects.filter(account__household__in=households)
            .exclude(kind__in=[Entry.Kind.OPENING, Entry.Kind.REVERSAL])
            .order_by("id")
        )
        if entries:
            entry_reverse(entry=entries[op[1] % len(entries)], actor=supervisor, reason="error")
    elif kind == "redeem":
        account = Account.objects.get(household=households[op[1]])
        entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-op[2], actor=manager)
