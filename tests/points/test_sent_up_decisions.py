"""A proposal sent up to the township or the county is theirs to decide (DESIGN.md rule 8):
the services refuse the village's supervisor it, from whatever page drawn before, and a
send-up and a decision at the same moment make one or the other, never both."""

import re
import threading
import time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.access import Role
from points import services
from points.models import Entry, Proposal
from points.services import proposal_approve, proposal_reject
from points.views import approvals
from tests.conftest import form_key, make_staff
from tests.points.conftest import propose
from tests.points.test_concurrency import held_in, run_threads
from villagers.models import Referral
from villagers.second_person import referral_open

SENT_UP = "This waits for the township or the county to decide: nothing was changed."


def send_up(proposal, by):
    return Referral.objects.create(
        village=proposal.village,
        household=proposal.household,
        kind=Referral.Kind.PROPOSAL,
        object_id=proposal.pk,
        why="test: sent up",
        requested_by=by,
    )


def said(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_services_refuse_the_village_a_proposal_sent_up(
    card_a, manager_x, supervisor_x, county_admin, rule_clean
):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    referral = send_up(proposal, manager_x)
    for decide in (
        lambda: proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x),
        lambda: proposal_reject(proposal_ids=[proposal.pk], actor=supervisor_x, reason="不对"),
    ):
        with pytest.raises(ValidationError) as refused:
            decide()
        assert any(SENT_UP in line for line in refused.value.messages)
    proposal.refresh_from_db()
    referral.refresh_from_db()
    assert proposal.status == "proposed" and referral.status == "open"
    # The county decides it, and its referral is closed with it.
    proposal_approve(
        proposal_ids=[proposal.pk], actor=county_admin, referrals={proposal.pk: referral}
    )
    referral.refresh_from_db()
    assert referral.status == "done"
    assert Proposal.objects.get(pk=proposal.pk).status == "approved"


def test_the_queue_drawn_before_a_send_up_decides_nothing_of_it(
    client_supervisor_x, card_a, card_b, manager_x, rule_clean
):
    first, second = (
        propose(manager_x, [card.household], rule_clean)[0] for card in (card_a, card_b)
    )
    client_supervisor_x.get(reverse("points:approval_queue"))
    send_up(first, manager_x)
    # The queue's count says which of all waiting are the township's or the county's (each
    # one's page says "nothing else waits for you" past them).
    queue = client_supervisor_x.get(reverse("points:approval_queue")).text
    assert (
        "2 proposals wait for a decision in all. 1 of them waits for the township or the county."
        in queue
    )
    response = client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"action": "approve", "proposal": [first.pk, second.pk], "idempotency_key": form_key()},
        follow=True,
    )
    assert any(SENT_UP in line for line in said(response)), said(response)
    # The choice is made whole or not at all: nothing was decided.
    assert set(Proposal.objects.values_list("status", flat=True)) == {"proposed"}
    assert Referral.objects.get().status == "open"
    assert not Entry.objects.filter(kind=Entry.Kind.AWARD).exists()


def test_a_batch_decides_what_was_not_sent_up_and_says_so(
    client_supervisor_x, card_a, card_b, manager_x, rule_capped
):
    waiting, rest = propose(manager_x, [card_a.household, card_b.household], rule_capped)
    send_up(waiting, manager_x)
    response = client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{rest.batch_id}", "idempotency_key": form_key()},
        follow=True,
    )
    assert "1 approved; the points are in the ledger." in said(response)
    assert (
        "1 of this batch waits for the township or the county to decide: it was left as it is."
        in said(response)
    )
    assert Proposal.objects.get(pk=rest.pk).status == "approved"
    assert Proposal.objects.get(pk=waiting.pk).status == "proposed"
    assert Referral.objects.get().status == "open"


def _sent_up_error(supervisor, proposal):
    """The refusal the only supervisor gets for their own household's proposal: one to send
    up. Another supervisor is then appointed, who may decide it."""
    supervisor.household = proposal.household
    supervisor.save(update_fields=["household"])
    with pytest.raises(ValidationError) as refused:
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor)
    (error,) = refused.value.second_person
    assert error.referable
    return error, make_staff(Role.SUPERVISOR, village=proposal.village, username="sup_new")


def test_a_decision_holding_the_proposal_is_not_sent_up_behind(
    transactional_db, monkeypatch, card_a, manager_x, supervisor_x, rule_clean
):
    """The decision locks the proposal first: the send-up waits for it, then finds it
    decided and sends nothing up (before, the referral stayed open over an approved item)."""
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    error, other = _sent_up_error(supervisor_x, proposal)
    entered = held_in(monkeypatch, services, "_approval_caps_check", seconds=1.0)

    def then_send_up():
        assert entered.wait(timeout=10)
        return referral_open(error=error, actor=supervisor_x)

    decision, sending = run_threads(
        [lambda: proposal_approve(proposal_ids=[proposal.pk], actor=other), then_send_up]
    )
    assert decision[0] == "ok"
    assert sending[0] == "refused" and "already decided" in str(sending[1])
    assert Proposal.objects.get(pk=proposal.pk).status == "approved"
    assert not Referral.objects.filter(status=Referral.Status.OPEN).exists()


def test_a_send_up_holding_the_proposal_is_not_decided_behind(
    transactional_db, card_a, manager_x, supervisor_x, rule_clean
):
    """The send-up locks the proposal first: the decision waits for it, then reads the
    referral (after its lock, not in the locking statement's older snapshot) and is refused
    in the page's words (before, it approved and left the referral open)."""
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    error, other = _sent_up_error(supervisor_x, proposal)
    locked = threading.Event()
    recheck = error.recheck

    def held_recheck():
        recheck()
        locked.set()
        time.sleep(1.0)

    error.recheck = held_recheck

    def then_decide():
        assert locked.wait(timeout=10)
        return proposal_approve(proposal_ids=[proposal.pk], actor=other)

    sending, decision = run_threads(
        [lambda: referral_open(error=error, actor=supervisor_x), then_decide]
    )
    assert sending[0] == "ok"
    assert decision[0] == "refused" and SENT_UP in str(decision[1])
    assert Proposal.objects.get(pk=proposal.pk).status == "proposed"
    assert Referral.objects.get().status == "open"
    assert not Entry.objects.filter(kind=Entry.Kind.AWARD).exists()


def test_the_queues_pager_keeps_the_filters_not_the_reason_asked(
    monkeypatch, client_supervisor_x, card_a, card_b, manager_x, rule_clean
):
    monkeypatch.setattr(approvals, "QUEUE_PAGE_SIZE", 1)
    for card in (card_a, card_b):
        propose(manager_x, [card.household], rule_clean)
    page = client_supervisor_x.get(
        reverse("points:approval_queue"), {"rule": rule_clean.pk, "reason": "1"}
    ).text
    pager = re.search(r'<nav aria-label="Pages".*?</nav>', page, re.S).group(0)
    assert f'href="?rule={rule_clean.pk}&amp;page=2"' in pager
    assert "reason" not in pager


def test_my_proposals_link_to_their_pages(client_manager_x, card_a, manager_x, rule_clean):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    page = client_manager_x.get(reverse("points:proposals_mine")).text
    assert f'href="{reverse("points:proposal_detail", args=[proposal.pk])}"' in page
