"""A text message whose words are no longer true when it could go is not sent: a long
outage or the quiet hours held it past the time it gives, or what it tells of is over.
Found by a probe: "held for you until 18:00" went out at 19:00, after the worker came back."""

import datetime
import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.sending import messages_send
from notifications.texts import text
from points.models import Account, Entry, Proposal
from points.publicity import (
    objection_raise,
    objection_resolve,
    proposal_cancel,
    proposal_held_credit,
    proposals_credit_due,
)
from points.services import entry_post, proposal_approve
from points.settlement import settlement_approve, settlement_draft, settlements_called_off
from store.services import (
    reservation_cancel,
    reservation_create,
    reservation_hand_over,
    reservations_expire,
    reservations_remind,
)
from tests.notifications.test_sending import provider  # noqa: F401 (fixture)
from tests.points.conftest import propose
from tests.store.conftest import rice, zones_x  # noqa: F401 (fixtures)
from wishwall.services import wish_decline, wish_fulfil, wish_match, wish_moderate, wish_post

Sms = Notification.Sms
Kind = Notification.Kind
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def reservation(card_a, villager_a, rice):  # noqa: F811
    return reservation_create(household=card_a.household, lines={rice.pk: 1}, actor=villager_a)


def _texts(kind) -> list[Notification]:
    return list(Notification.objects.filter(kind=kind))


def test_a_reservation_text_held_past_its_time_is_not_sent(provider, reservation):  # noqa: F811
    (ready,) = _texts(Kind.RESERVATION_READY)
    run = messages_send(now=reservation.expires_at + MINUTE)  # the worker was down till then
    ready.refresh_from_db()
    assert run.outdated == [ready.pk] and run.sent == [] and provider.accepted == []
    assert ready.sms_status == Sms.OUTDATED and ready.sms_attempts == 0
    assert messages_send(now=reservation.expires_at + 2 * MINUTE).sent == []  # for good


def test_a_reservation_text_still_true_is_sent(provider, reservation):  # noqa: F811
    (ready,) = _texts(Kind.RESERVATION_READY)
    assert messages_send(now=reservation.expires_at - MINUTE).sent == [ready.pk]


@pytest.mark.parametrize("closed_by", ["hand_over", "cancel", "expiry"])
def test_the_texts_of_a_reservation_closed_before_they_went_are_not_sent(
    provider,  # noqa: F811
    reservation,
    manager_x,
    closed_by,
):
    """Handed over, cancelled or expired: "collect them at the store" would send the
    household for goods no longer held. What tells of the closing still goes."""
    reminded_at = reservation.expires_at - datetime.timedelta(hours=2)
    assert reservations_remind(now=reminded_at) == [reservation.pk]
    if closed_by == "hand_over":
        reservation_hand_over(
            reservation=reservation, idempotency_key=uuid.uuid4(), actor=manager_x
        )
    elif closed_by == "cancel":
        reservation_cancel(reservation=reservation, actor=manager_x)
    else:
        reservations_expire(now=reservation.expires_at)
    told = _texts(Kind.RESERVATION_READY) + _texts(Kind.RESERVATION_EXPIRING)
    assert [n.sms_status for n in told] == [Sms.OUTDATED, Sms.OUTDATED]
    run = messages_send(now=reservation.expires_at + MINUTE)
    assert run.sent and not set(run.sent) & {n.pk for n in told}
    assert len(provider.accepted) == len(run.sent)


@pytest.fixture
def announced(village_x, card_a, manager_x, supervisor_x, rule_clean):
    village_x.publicity_days = 3
    village_x.save()
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    proposal.refresh_from_db()
    return proposal


def test_an_announced_entry_whose_objection_time_passed_is_not_texted(provider, announced):  # noqa: F811
    (publicity,) = _texts(Kind.PUBLICITY)
    run = messages_send(now=announced.credit_due_at + MINUTE)
    assert run.outdated == [publicity.pk] and provider.accepted == []


def test_an_announced_entry_cancelled_before_its_text_went_is_not_texted(
    provider,  # noqa: F811
    announced,
    villager_b,
    supervisor_x,
):
    """ "Approved for your household ... credited after that", sent after it was cancelled."""
    objection = objection_raise(proposal_id=announced.pk, actor=villager_b, reason="没看见")
    objection_resolve(objection_id=objection.pk, actor=supervisor_x, upheld=True, resolution="x")
    assert Proposal.objects.get(pk=announced.pk).status == Proposal.Status.CANCELLED
    (publicity,) = _texts(Kind.PUBLICITY)
    assert publicity.sms_status == Sms.OUTDATED
    assert _texts(Kind.CANCELLED)[0].sms_status == Sms.PENDING  # this one tells what happened


def test_a_settlement_called_off_before_its_text_went_is_not_texted(
    provider,  # noqa: F811
    village_x,
    card_a,
    manager_x,
    supervisor_x,
):
    year = datetime.date.today().year
    november = datetime.date(year, 11, 20)
    village_x.yearly_settlement = True
    village_x.settlement_keep = 50
    village_x.save()
    plan = settlement_draft(village=village_x, actor=manager_x, today=november)
    settlement_approve(settlement=plan, actor=supervisor_x, today=november)
    (planned,) = _texts(Kind.SETTLEMENT_PLANNED)
    village_x.yearly_settlement = False
    village_x.save()
    assert settlements_called_off(today=november) == [plan]
    planned.refresh_from_db()
    assert planned.sms_status == Sms.OUTDATED
    # And one held past the year's end is out of date by its date alone.
    Notification.objects.filter(pk=planned.pk).update(
        sms_status=Sms.PENDING, sms_due_at=planned.created_at
    )
    run = messages_send(
        now=datetime.datetime(year + 1, 1, 1, 1, tzinfo=datetime.UTC)  # 09:00 in China
    )
    assert planned.pk in run.outdated and planned.pk not in run.sent


def test_the_log_says_why_a_text_was_not_sent(provider, reservation, client_manager_x):  # noqa: F811
    messages_send(now=reservation.expires_at + MINUTE)
    page = client_manager_x.get(reverse("notifications:log")).content.decode()
    assert "not sent: out of date before it could go" in page


@pytest.mark.parametrize("then", ["decline", "fulfil"])
def test_a_wish_match_undone_or_overtaken_before_its_text_went_is_not_texted(
    provider,  # noqa: F811
    matched_wish_a,
    household_b,
    villager_b,
    manager_x,
    supervisor_x,
    donor_x,
    then,
):
    """Declined before "matched with a donor" went, the household read it, then "declined";
    fulfilled, "matched" came with the news it leads to. The message of the other
    household's wish, matched too, still goes."""
    other = wish_match(
        wish=wish_moderate(
            wish=wish_post(
                household=household_b, actor=villager_b, title="书包", kind="study", story="上学"
            ),
            actor=manager_x,
            hide_household=False,
        ),
        actor=supervisor_x,
        donor=donor_x,
    )
    if then == "decline":
        wish_decline(wish=matched_wish_a, actor=supervisor_x, reason="捐赠人撤回了")
        news = Kind.WISH_DECLINED
    else:
        wish_fulfil(
            wish=matched_wish_a,
            actor=supervisor_x,
            date=datetime.date.today(),
            given="轮椅一辆",
            thanks="谢谢",
        )
        news = Kind.WISH_FULFILLED
    matched = {n.params["wish"]: n for n in _texts(Kind.WISH_MATCHED)}
    assert matched[matched_wish_a.pk].sms_status == Sms.OUTDATED
    assert matched[other.pk].sms_status == Sms.PENDING
    (told,) = _texts(news)
    run = messages_send()
    assert sorted(run.sent) == sorted([matched[other.pk].pk, told.pk])


@pytest.fixture
def held(village_x, card_a, manager_x, supervisor_x, rule_litter):
    """A deduction of 20 held at crediting: the balance (10) cannot bear it."""
    village_x.publicity_days = 3
    village_x.save()
    (fine,) = propose(manager_x, [card_a.household], rule_litter)
    proposal_approve(proposal_ids=[fine.pk], actor=supervisor_x)
    fine.refresh_from_db()
    account = Account.objects.get(household=card_a.household)
    entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-90, actor=manager_x)
    assert proposals_credit_due(now=fine.credit_due_at).held == [fine.pk]
    return fine


@pytest.mark.parametrize("then", ["credit", "cancel"])
def test_a_held_text_not_sent_when_its_entry_was_credited_or_cancelled_first(
    provider,  # noqa: F811
    held,
    card_a,
    manager_x,
    supervisor_x,
    then,
):
    """ "Is held: the supervisor credits it later or cancels it", sent after either."""
    if then == "credit":
        account = Account.objects.get(household=card_a.household)
        entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=50, actor=manager_x)
        proposal_held_credit(proposal_id=held.pk, actor=supervisor_x)
        news = Kind.DEDUCTED
    else:
        proposal_cancel(proposal_id=held.pk, actor=supervisor_x, reason="改为批评教育")
        news = Kind.CANCELLED
    (held_text,) = _texts(Kind.HELD)
    assert held_text.sms_status == Sms.OUTDATED
    (told,) = _texts(news)
    assert told.sms_status == Sms.PENDING


def test_an_objection_dismissed_then_the_entry_cancelled_is_not_texted_it_stands(
    provider,  # noqa: F811
    announced,
    villager_b,
    supervisor_x,
):
    """Dismissed ("the entry stands"), then another objection upheld: the entry is cancelled
    before the first answer went."""
    first = objection_raise(proposal_id=announced.pk, actor=villager_b, reason="没看见")
    objection_resolve(objection_id=first.pk, actor=supervisor_x, upheld=False, resolution="")
    second = objection_raise(proposal_id=announced.pk, actor=villager_b, reason="问过邻居了")
    objection_resolve(objection_id=second.pk, actor=supervisor_x, upheld=True, resolution="x")
    answers = {n.params["upheld"]: n for n in _texts(Kind.OBJECTION_ANSWERED)}
    assert answers[False].sms_status == Sms.OUTDATED
    assert answers[True].sms_status == Sms.PENDING


def _sms_words(accepted: dict) -> str:
    return json.loads(accepted["TemplateParam"])["content"]


def test_a_balance_text_tried_again_after_a_newer_one_went_says_no_balance(
    provider,  # noqa: F811
    card_a,
    manager_x,
    supervisor_x,
    rule_clean,
):
    """Credited twice (105, then 110); the first text failed and was tried again after its
    back-off, once the second had gone: "balance 105" arrived last, as the balance now. It
    still tells of its 5 points, without the balance; the household's list keeps it."""
    for _time in range(2):
        (proposal,) = propose(manager_x, [card_a.household], rule_clean)
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    first, second = sorted(_texts(Kind.CREDITED), key=lambda n: n.pk)
    provider.fail_first = 1
    run = messages_send()
    assert run.retry == [first.pk] and run.sent == [second.pk]
    assert "余额：110" in _sms_words(provider.accepted[0])
    later = timezone.now() + datetime.timedelta(hours=1)
    assert messages_send(now=later).sent == [first.pk]
    words = _sms_words(provider.accepted[1])
    assert "已入账" in words and "余额" not in words and "105" not in words
    assert "Balance: 105" in text(first)


def test_balance_texts_sent_in_their_order_each_give_their_balance(
    provider,  # noqa: F811
    card_a,
    manager_x,
    supervisor_x,
    rule_clean,
):
    for _time in range(2):
        (proposal,) = propose(manager_x, [card_a.household], rule_clean)
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    assert len(messages_send().sent) == 2
    assert ["余额：105" in _sms_words(sent) for sent in provider.accepted] == [True, False]
    assert "余额：110" in _sms_words(provider.accepted[1])
