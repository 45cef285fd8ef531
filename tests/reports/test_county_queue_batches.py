"""A batch sent up is decided as one at the township's or the county's queue (DESIGN.md
ledger rules 4 and 8): its proposals shown together with their total and one decision,
the services refusing a decision on part of them; a batch's proposal sent up alone (the
rest of its batch being the village's) is decided alone."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from points.models import Entry, Proposal
from points.services import proposal_approve, proposal_create, proposal_reject
from reports.referrals import referral_decide
from tests.conftest import form_key, issue_card
from tests.factories import HouseholdFactory
from tests.points.conftest import make_rule
from villagers.models import Referral, User

QUEUE = reverse("reports:county_queue")
DECIDE = reverse("reports:county_queue_decide")
OPEN, DONE = Referral.Status.OPEN, Referral.Status.DONE
WHOLE = "is one batch: its 3 proposals waiting for the township or the county are approved"


@pytest.fixture
def card_c(group_x, manager_x):
    return issue_card(HouseholdFactory(group=group_x, number="X003"), manager_x)


@pytest.fixture
def rule(village_x):
    return make_rule(village_x, "L01", 5, description="修村道")


def propose_batch(actor, cards, rule):
    return proposal_create(
        village=rule.village,
        households=[card.household for card in cards],
        rule=rule,
        reason="修村道两天",
        occurred_on=timezone.localdate(),
        actor=actor,
        batch_title="村道大扫除",
    )


@pytest.fixture
def batch_sent_up(supervisor_x, card_a, card_b, card_c, rule):
    """The village's only supervisor proposes a batch for three households: nobody of the
    village may decide any of it, so all three are sent up."""
    proposals = propose_batch(supervisor_x, [card_a, card_b, card_c], rule)
    referrals = list(
        Referral.objects.filter(
            kind=Referral.Kind.PROPOSAL, object_id__in=[p.pk for p in proposals]
        ).order_by("pk")
    )
    assert len(referrals) == 3 and {r.status for r in referrals} == {OPEN}
    return proposals, referrals


def post(client, referrals, decision, reason="", key=None):
    data = {
        "referral": [referral.pk for referral in referrals],
        "decision": decision,
        "reason": reason,
        "idempotency_key": key or form_key(),
    }
    return client.post(DECIDE, data, follow=True)


def said(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def statuses(proposals) -> set[str]:
    return set(
        Proposal.objects.filter(pk__in=[p.pk for p in proposals]).values_list("status", flat=True)
    )


def awards() -> int:
    return Entry.objects.filter(kind=Entry.Kind.AWARD).count()


@pytest.mark.parametrize("client_name", ["client_township", "client_county"])
def test_a_batch_sent_up_is_one_entry_of_the_queue_and_decided_as_one(
    request, client_name, batch_sent_up
):
    client = request.getfixturevalue(client_name)
    proposals, referrals = batch_sent_up
    response = client.get(QUEUE)
    page = response.content.decode()
    # One entry: the batch's title, reason, households, points and total; one form.
    (entry,) = response.context["waiting"]
    assert entry.is_batch and [r.pk for r in entry.referrals] == [r.pk for r in referrals]
    assert page.count('name="referral"') == 3 and page.count('name="decision"') == 1
    assert "Batch: 村道大扫除" in page and "修村道两天" in page
    assert "3 households, +15 points in all: approved or rejected together." in page
    for proposal in proposals:
        assert proposal.household.head_name in page
    assert "Approve whole batch" in page and "Reject whole batch" in page

    # Approved whole, once for a double click.
    key = form_key()
    response = post(client, referrals, "approve", key=key)
    assert "Decided: the village sees the outcome." in said(response)
    post(client, referrals, "approve", key=key)
    assert statuses(proposals) == {Proposal.Status.APPROVED} and awards() == 3
    actor = response.wsgi_request.user
    assert set(Referral.objects.values_list("status", "decided_by")) == {(DONE, actor.pk)}
    assert "Nothing is waiting for you." in client.get(QUEUE).content.decode()


def test_part_of_a_batch_is_refused_and_the_whole_rejected_with_a_reason(
    client_township, batch_sent_up
):
    proposals, referrals = batch_sent_up
    # One household of it approved, another rejected: each refused, nothing decided.
    for part, decision in ((referrals[:1], "approve"), (referrals[1:], "reject")):
        response = post(client_township, part, decision, reason="照片不清楚")
        assert any(WHOLE in line for line in said(response)), said(response)
        assert statuses(proposals) == {Proposal.Status.PROPOSED}
        assert set(Referral.objects.values_list("status", flat=True)) == {OPEN}
    # Rejecting the whole batch needs the reason; the choice is kept for it.
    response = post(client_township, referrals, "reject")
    assert "Give the reason for this decision: the village sees it." in said(response)
    assert '<option value="reject" selected>' in response.content.decode()
    assert statuses(proposals) == {Proposal.Status.PROPOSED}
    post(client_township, referrals, "reject", reason="没有照片")
    assert statuses(proposals) == {Proposal.Status.REJECTED} and awards() == 0
    assert set(Proposal.objects.values_list("rejection_reason", flat=True)) == {"没有照片"}
    assert set(Referral.objects.values_list("status", flat=True)) == {DONE}


def test_another_townships_officer_can_do_nothing_with_the_batch(client_township_z, batch_sent_up):
    proposals, referrals = batch_sent_up
    assert "村道大扫除" not in client_township_z.get(QUEUE).content.decode()
    response = post(client_township_z, referrals, "approve")
    assert any("This is another township's item" in line for line in said(response))
    assert statuses(proposals) == {Proposal.Status.PROPOSED} and awards() == 0
    assert set(Referral.objects.values_list("status", flat=True)) == {OPEN}


def test_the_services_refuse_the_township_part_of_a_batch(township_officer, batch_sent_up):
    """Whatever page or caller: the deciding services refuse a part of what a batch sent
    up, approved or rejected, and decide the whole."""
    proposals, referrals = batch_sent_up
    by_proposal = {referral.object_id: referral for referral in referrals}
    part = {pk: by_proposal[pk] for pk in list(by_proposal)[:2]}
    attempts = (
        lambda: proposal_approve(proposal_ids=list(part), actor=township_officer, referrals=part),
        lambda: proposal_reject(
            proposal_ids=list(part), actor=township_officer, reason="不对", referrals=part
        ),
        lambda: referral_decide(
            referral_ids=[referrals[0].pk], actor=township_officer, decision="approve"
        ),
    )
    for attempt in attempts:
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert any(WHOLE in line for line in refused.value.messages), refused.value.messages
        assert statuses(proposals) == {Proposal.Status.PROPOSED} and awards() == 0
    referral_decide(
        referral_ids=[r.pk for r in referrals], actor=township_officer, decision="approve"
    )
    assert statuses(proposals) == {Proposal.Status.APPROVED} and awards() == 3


def test_a_batchs_proposal_sent_up_alone_is_decided_alone(
    client_township, client_supervisor_x, manager_x, supervisor_x, card_a, card_b, card_c, rule
):
    """The manager's batch has the supervisor's own household in it: only that proposal
    goes up; the officer decides it alone, the supervisor the rest."""
    User.objects.filter(pk=supervisor_x.pk).update(household=card_a.household)
    proposals = propose_batch(manager_x, [card_a, card_b, card_c], rule)
    (referral,) = Referral.objects.all()
    assert referral.object_id == proposals[0].pk
    response = client_township.get(QUEUE)
    (entry,) = response.context["waiting"]
    assert not entry.is_batch
    assert (
        "Of the batch “村道大扫除”: only this household's proposal was sent up; the rest of "
        "the batch is the village's to decide." in response.content.decode()
    )
    post(client_township, [referral], "approve")
    assert Proposal.objects.get(pk=proposals[0].pk).status == Proposal.Status.APPROVED
    # The rest of the batch is the supervisor's, as a whole batch from the queue.
    client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{proposals[0].batch_id}", "idempotency_key": form_key()},
    )
    assert statuses(proposals) == {Proposal.Status.APPROVED} and awards() == 3


def test_the_village_sees_what_it_sent_up_of_a_batch_as_one(
    client_manager_x, batch_sent_up, django_assert_max_num_queries
):
    with django_assert_max_num_queries(40):
        response = client_manager_x.get(reverse("reports:village_referrals"))
    (entry,) = response.context["waiting"]
    page = response.content.decode()
    assert entry.is_batch and "Batch: 村道大扫除" in page
    assert "3 households, +15 points in all: approved or rejected together." in page
    assert "only this household's proposal was sent up" not in page
    assert 'name="decision"' not in page


def test_the_queue_of_batches_costs_the_same_queries_however_many_households(
    client_township,
    batch_sent_up,
    supervisor_x,
    group_x,
    manager_x,
    rule,
    django_assert_max_num_queries,
):
    with django_assert_max_num_queries(40) as one:
        client_township.get(QUEUE)
    more = [issue_card(HouseholdFactory(group=group_x), manager_x) for _ in range(4)]
    propose_batch(supervisor_x, more, rule)
    with django_assert_max_num_queries(len(one.captured_queries)):
        page = client_township.get(QUEUE).content.decode()
    assert page.count('name="decision"') == 2 and page.count('name="referral"') == 7
