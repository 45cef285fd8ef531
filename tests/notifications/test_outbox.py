"""The outbox is written with its event, in the event's transaction, in one INSERT."""

import datetime
import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import formats, timezone

from notifications.models import Notification
from notifications.sending import quiet_until
from notifications.tasks import sms_sweep
from notifications.texts import sms_text, text
from points.models import Proposal
from points.publicity import proposals_credit_due
from points.services import entry_reverse, proposal_approve
from store.models import Reservation
from store.services import (
    redemption_void,
    reservation_cancel,
    reservation_create,
    reservation_hand_over,
    reservations_remind,
)
from tests.conftest import issue_card
from tests.factories import HouseholdFactory
from tests.points.conftest import make_rule, propose
from tests.store.conftest import count, write_off
from tests.store.test_concurrency import run_at_once
from wishwall.services import wish_decline

Kind, Sms = Notification.Kind, Notification.Sms


class RolledBack(Exception):
    pass


def sms_jobs() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT status, scheduled_at FROM procrastinate_jobs "
            "WHERE task_name = 'notifications.sms_send' ORDER BY id"
        )
        return cursor.fetchall()


def test_an_approval_tells_each_household_with_its_new_balance_and_the_sweep_sends_it(
    card_a, card_b, manager_x, supervisor_x, rule_clean, rule_litter
):
    award = propose(manager_x, [card_a.household, card_b.household], rule_clean)
    fine = propose(manager_x, [card_b.household], rule_litter)
    proposal_approve(proposal_ids=[p.pk for p in award + fine], actor=supervisor_x)
    told = {(n.household_id, n.kind): n for n in Notification.objects.all()}
    assert set(told) == {
        (card_a.household_id, Kind.CREDITED),
        (card_b.household_id, Kind.CREDITED),
        (card_b.household_id, Kind.DEDUCTED),
    }
    a = told[(card_a.household_id, Kind.CREDITED)]
    assert a.params == {"points": 5, "rule": "courtyard kept clean", "balance": 105}
    assert a.sms_status == Sms.PENDING and a.read_at is None
    assert text(told[(card_b.household_id, Kind.DEDUCTED)]).startswith("20 points deducted")
    # The approval queues no job: the workers' sweep of every minute sends what is due.
    assert sms_jobs() == []
    sms_sweep(timestamp=0)
    statuses = set(Notification.objects.values_list("sms_status", flat=True))
    assert statuses <= {Sms.SENT, Sms.SKIPPED} and Sms.SENT in statuses


def test_a_rolled_back_approval_leaves_no_message_and_no_job(
    card_a, manager_x, supervisor_x, rule_clean
):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    with pytest.raises(RolledBack), transaction.atomic():
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
        assert Notification.objects.count() == 1  # written with the entry...
        raise RolledBack
    assert Notification.objects.count() == 0  # ...and gone with it
    assert sms_jobs() == []


def test_a_refused_batch_tells_nobody(card_a, card_b, manager_x, supervisor_x, rule_clean):
    too_big = make_rule(rule_clean.village, "D99", -500, description="more than the balance")
    proposals = propose(manager_x, [card_a.household], rule_clean) + propose(
        manager_x, [card_b.household], too_big
    )
    with pytest.raises(ValidationError, match="deduction refused"):
        proposal_approve(proposal_ids=[p.pk for p in proposals], actor=supervisor_x)
    assert Notification.objects.count() == 0 and sms_jobs() == []


def test_the_batch_writes_its_messages_in_the_approval_statement_whatever_its_size(
    village_x, group_x, manager_x, supervisor_x, rule_clean
):
    homes = [HouseholdFactory(group=group_x) for _i in range(12)]
    for home in homes:
        issue_card(home, manager_x)
    proposals = propose(manager_x, homes, rule_clean)
    with CaptureQueriesContext(connection) as queries:
        proposal_approve(proposal_ids=[p.pk for p in proposals], actor=supervisor_x)
    writes = [q["sql"] for q in queries if "notifications_notification" in q["sql"]]
    # One statement (prepared, then executed) writes the entries, balances, proposals, audit
    # events and messages: the messages cost no round trip of their own.
    assert len(writes) == 1 and 'WITH s0 AS (INSERT INTO "points_entry"' in writes[0]
    assert Notification.objects.filter(kind=Kind.CREDITED).count() == 12


def test_publicity_tells_the_deadline_then_crediting_tells_the_points(
    village_x, group_x, card_a, manager_x, supervisor_x, rule_clean
):
    village_x.publicity_days = 3
    village_x.save()
    homes = [card_a.household, *(HouseholdFactory(group=group_x) for _i in range(5))]
    for home in homes[1:]:
        issue_card(home, manager_x)
    proposals = propose(manager_x, homes, rule_clean)
    with CaptureQueriesContext(connection) as queries:
        proposal_approve(proposal_ids=[p.pk for p in proposals], actor=supervisor_x)
    inserts = [q["sql"] for q in queries if q["sql"].startswith('INSERT INTO "notifications')]
    assert len(inserts) == 1  # one bulk INSERT for the batch
    notice = Notification.objects.get(household=card_a.household)
    proposal = Proposal.objects.get(household=card_a.household)
    until = proposal.credit_due_at.isoformat()  # to the minute, as objections close
    assert notice.kind == Kind.PUBLICITY
    assert notice.params == {
        "points": 5,
        "rule": "courtyard kept clean",
        "until": until,
        "proposal": proposal.pk,
    }
    # In English as the pages write dates (aidao/formats/en), not "12/10/2026 2:15 p.m.".
    shown = f"{timezone.localtime(proposal.credit_due_at):%Y-%m-%d %H:%M}"
    assert f"objections possible until {shown}, credited" in text(notice)
    # A message written when it said the day alone still reads.
    notice.params["until"] = "2026-12-09"
    assert "objections possible until 2026-12-09, credited" in text(notice)
    Proposal.objects.filter(pk__in=[p.pk for p in proposals]).update(
        credit_due_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    assert len(proposals_credit_due().credited) == 6
    credited = Notification.objects.get(household=card_a.household, kind=Kind.CREDITED)
    assert credited.params["balance"] == 105


def test_a_redemption_tells_its_receipt_and_crossing_the_threshold_tells_the_staff(
    card_a, soap, manager_x, redeem
):
    redemption = redeem(card_a.household, {soap: 2}, manager_x)  # 8 -> 6: above 5
    receipt = Notification.objects.get(kind=Kind.REDEMPTION)
    assert receipt.params == {
        "receipt": redemption.number, "items": 2, "points": 4, "balance": 96,
    }  # fmt: skip
    assert not Notification.objects.filter(kind=Kind.LOW_STOCK).exists()
    redeem(card_a.household, {soap: 2}, manager_x)  # 6 -> 4: crosses the threshold
    redeem(card_a.household, {soap: 1}, manager_x)  # 4 -> 3: already low, no second alert
    (alert,) = Notification.objects.filter(kind=Kind.LOW_STOCK)
    assert alert.household_id is None and alert.sms_status == Sms.NONE
    assert alert.params == {"item": "肥皂", "stock": 4}


def test_a_write_off_crossing_the_threshold_tells_the_staff(
    card_a, soap, manager_x, supervisor_x, redeem
):
    """Found by a probe: only a redemption told, so goods written off below the threshold
    were never told, and the redemptions after it did not cross it any more."""
    write_off(soap, 5, "spoiled", "受潮", manager_x, supervisor_x)  # 8 -> 3: crosses it
    redeem(card_a.household, {soap: 1}, manager_x)  # 3 -> 2: already low
    (alert,) = Notification.objects.filter(kind=Kind.LOW_STOCK)
    assert alert.household_id is None and alert.sms_status == Sms.NONE
    assert alert.params == {"item": "肥皂", "stock": 3}


def test_a_stock_take_crossing_the_threshold_tells_the_staff(soap, manager_x, supervisor_x):
    count(soap, 7, "数错了", manager_x, supervisor_x)  # 8 -> 7: above 5, nothing
    assert not Notification.objects.filter(kind=Kind.LOW_STOCK).exists()
    count(soap, 2, "少了", manager_x, supervisor_x)  # 7 -> 2
    (alert,) = Notification.objects.filter(kind=Kind.LOW_STOCK)
    assert alert.params == {"item": "肥皂", "stock": 2}


def test_units_held_for_reservations_count_against_the_threshold(
    card_a, soap, villager_a, manager_x, redeem
):
    """Found in review: the alert went by the stock alone, so goods a reservation held (not
    on offer any more) never took an item low; it goes by what is available."""
    reservation_create(household=card_a.household, lines={soap.pk: 3}, actor=villager_a)
    (alert,) = Notification.objects.filter(kind=Kind.LOW_STOCK)  # 8 - 3 held: 5 left
    assert alert.params == {"item": "肥皂", "stock": 5}
    redeem(card_a.household, {soap: 1}, manager_x)  # 4 available: already low
    assert Notification.objects.filter(kind=Kind.LOW_STOCK).count() == 1


def test_a_redemption_beside_held_units_tells_by_what_is_available(
    card_a, soap, villager_a, manager_x, redeem
):
    reservation = reservation_create(
        household=card_a.household, lines={soap.pk: 2}, actor=villager_a
    )  # 8 - 2 held: 6 available, above 5
    assert not Notification.objects.filter(kind=Kind.LOW_STOCK).exists()
    redeem(card_a.household, {soap: 1}, manager_x)  # stock 7, 5 available: crosses
    (alert,) = Notification.objects.filter(kind=Kind.LOW_STOCK)
    assert alert.params == {"item": "肥皂", "stock": 5}
    # Handing the reservation over takes units that were not available: nothing crosses.
    reservation_hand_over(reservation=reservation, idempotency_key=uuid.uuid4(), actor=manager_x)
    assert Notification.objects.filter(kind=Kind.LOW_STOCK).count() == 1


def test_a_wish_matched_and_fulfilled_tells_its_household(fulfilled_wish_a, household_a):
    told = Notification.objects.filter(household=household_a).order_by("pk")
    assert [n.kind for n in told] == [Kind.WISH_MATCHED, Kind.WISH_FULFILLED]
    for notification in told:
        # The wish's id only: its words (they may name people) never go.
        assert notification.params == {"wish": fulfilled_wish_a.pk}
        assert "轮椅" not in sms_text(notification)


def test_a_declined_wish_tells_its_household_without_the_reason(
    matched_wish_a, household_a, supervisor_x
):
    """Found by a read: a matched wish declined told its household nothing, though it had
    been told of the match and waited for the goods."""
    wish_decline(wish=matched_wish_a, actor=supervisor_x, reason="捐赠人王某撤回了")
    told = Notification.objects.filter(household=household_a).order_by("pk")
    assert [n.kind for n in told] == [Kind.WISH_MATCHED, Kind.WISH_DECLINED]
    declined = told.last()
    assert declined.params == {"wish": matched_wish_a.pk}
    assert "王某" not in sms_text(declined)
    assert "declined" in text(declined)


def test_an_sms_names_nobody_and_is_worded_in_chinese(card_a, manager_x, supervisor_x, rule_clean):
    household = card_a.household
    household.head_name = "王小明"
    household.save()
    member_id = "610630198801011234"
    (proposal,) = propose(manager_x, [household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    message = sms_text(Notification.objects.get())
    assert message.startswith(household.village.name)
    assert "王小明" not in message and member_id not in message
    assert not re.search(r"1[3-9]\d{9}", message)  # no phone number either
    assert "余额" in message or "105" in message


@pytest.mark.parametrize(
    ("hours", "local", "until"),
    [
        ((21, 8), "22:30", "08:00 next day"),
        ((21, 8), "03:10", "08:00"),
        ((21, 8), "12:00", None),
        ((21, 8), "08:00", None),
        ((0, 6), "05:59", "06:00"),
        ((0, 0), "03:00", None),
    ],
)
def test_quiet_hours(settings, hours, local, until):
    settings.SMS_QUIET_HOURS = hours
    day = timezone.localtime().replace(month=6, day=10, second=0, microsecond=0)
    hour, minute = (int(x) for x in local.split(":"))
    now = day.replace(hour=hour, minute=minute)
    morning = quiet_until(now)
    if until is None:
        assert morning is None
    else:
        expected = day.replace(hour=int(until[:2]), minute=0)
        if until.endswith("next day"):
            expected += datetime.timedelta(days=1)
        assert morning == expected


def test_an_event_in_the_quiet_hours_is_sent_in_the_morning(
    settings, card_a, manager_x, supervisor_x, rule_clean
):
    hour = timezone.localtime().hour
    settings.SMS_QUIET_HOURS = (hour, (hour + 2) % 24)  # quiet now, until two hours on
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    message = Notification.objects.get()
    morning = quiet_until(timezone.now())
    assert message.sms_due_at == morning and message.sms_status == Sms.PENDING
    sms_sweep(timestamp=0)  # not yet: the sweeps send it once the morning has come
    message.refresh_from_db()
    assert message.sms_due_at == morning and message.sms_status == Sms.PENDING


def reserve(villager, lines):
    return reservation_create(
        household=villager.household,
        lines={item.pk: qty for item, qty in lines.items()},
        actor=villager,
    )


def test_a_reservation_tells_what_is_held_and_until_when(villager_a, soap):
    reservation = reserve(villager_a, {soap: 3})
    ready = Notification.objects.get(household=villager_a.household)
    assert ready.kind == Kind.RESERVATION_READY and ready.sms_status == Sms.PENDING
    assert ready.params == {
        "reservation": reservation.number,
        "items": 3,
        "points": 6,
        "until": reservation.expires_at.isoformat(),
    }
    until = formats.date_format(timezone.localtime(reservation.expires_at), "SHORT_DATETIME_FORMAT")
    assert text(ready) == (
        f"Reservation {reservation.number}: 3 pieces for 6 points, held for you until {until}. "
        "Collect them at the store."
    )


def test_a_rolled_back_or_refused_reservation_tells_nobody(villager_a, soap):
    with pytest.raises(RolledBack), transaction.atomic():
        reserve(villager_a, {soap: 1})
        assert Notification.objects.count() == 1  # written with the hold...
        raise RolledBack
    assert Notification.objects.count() == 0 and sms_jobs() == []  # ...and gone with it
    with pytest.raises(ValidationError):
        reserve(villager_a, {soap: 9})  # eight on the shelf
    assert Notification.objects.count() == 0 and sms_jobs() == []


def test_about_to_expire_is_told_once_in_the_last_day(village_x, villager_a, soap):
    reservation = reserve(villager_a, {soap: 2})  # kept three days
    expiring = Notification.objects.filter(kind=Kind.RESERVATION_EXPIRING)
    assert reservations_remind() == [] and not expiring.exists()  # not yet in its last day
    in_last_day = reservation.expires_at - datetime.timedelta(hours=20)
    assert reservations_remind(now=in_last_day) == [reservation.pk]
    (told,) = expiring
    assert told.household_id == villager_a.household_id and told.sms_status == Sms.PENDING
    assert told.params["points"] == 4 and told.params["reservation"] == reservation.number
    assert "is kept only until" in text(told)
    assert Reservation.objects.get(pk=reservation.pk).expiry_reminded_at == in_last_day
    # Later runs of the periodic task (every few minutes) do not tell it again.
    assert reservations_remind(now=in_last_day + datetime.timedelta(hours=1)) == []
    assert expiring.count() == 1


def test_two_reminder_runs_at_once_tell_once(transactional_db, villager_a, soap):
    reservation = reserve(villager_a, {soap: 1})
    later = reservation.expires_at - datetime.timedelta(hours=1)
    results = run_at_once([lambda: reservations_remind(now=later)] * 2)
    assert sorted(results, key=len) == [[], [reservation.pk]]
    assert Notification.objects.filter(kind=Kind.RESERVATION_EXPIRING).count() == 1


def test_no_reminder_for_a_closed_or_a_one_day_reservation(villager_a, soap):
    cancelled = reserve(villager_a, {soap: 1})
    reservation_cancel(reservation=cancelled, actor=villager_a)
    village = villager_a.household.village
    village.reservation_days = 1
    village.save()
    short = reserve(villager_a, {soap: 1})  # its ready message gave the time already
    for moment in (cancelled.expires_at, short.expires_at):
        assert reservations_remind(now=moment - datetime.timedelta(hours=1)) == []
    assert not Notification.objects.filter(kind=Kind.RESERVATION_EXPIRING).exists()


def test_a_reversal_and_a_void_tell_their_household(
    card_a, soap, manager_x, supervisor_x, rule_clean, redeem
):
    household = card_a.household
    (proposal,) = propose(manager_x, [household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    award = Proposal.objects.get(pk=proposal.pk).entry
    entry_reverse(entry=award, actor=supervisor_x, reason="王小明 was not at home")
    reversed_ = Notification.objects.get(household=household, kind=Kind.REVERSED)
    assert reversed_.params == {
        "points": -5, "date": str(timezone.localdate()), "balance": 100,
    }  # fmt: skip
    assert "-5 points" in text(reversed_) and "王小明" not in sms_text(reversed_)
    redemption = redeem(household, {soap: 2}, manager_x)
    redemption_void(redemption=redemption, actor=supervisor_x, reason="拿错了户")
    voided = Notification.objects.get(household=household, kind=Kind.VOIDED)
    assert voided.params == {"receipt": redemption.number, "points": 4, "balance": 100}
    assert voided.sms_status == Sms.PENDING
    assert "拿错了户" not in sms_text(voided)


def test_a_refused_reversal_tells_nobody(card_a, manager_x, supervisor_x, rule_clean):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    award = Proposal.objects.get(pk=proposal.pk).entry
    entry_reverse(entry=award, actor=supervisor_x, reason="wrong household")
    with pytest.raises(ValidationError):
        entry_reverse(entry=award, actor=supervisor_x, reason="again")
    assert Notification.objects.filter(kind=Kind.REVERSED).count() == 1


def test_figures_agree_with_their_words_and_receipts_read_as_printed():
    """Found in English: "Receipt 751: 1 pieces for 2 points" (the receipt prints 000751)."""
    from django.utils import translation

    redemption = Notification(
        kind=Notification.Kind.REDEMPTION,
        params={"receipt": "751", "items": 1, "points": 1, "balance": 9},
    )
    reversal = Notification(
        kind=Notification.Kind.REVERSED, params={"points": -1, "date": "2026-11-03", "balance": 8}
    )
    with translation.override("en"):
        assert text(redemption) == "Receipt 000751: 1 piece for 1 point. Balance: 9."
        assert text(reversal).startswith("A correction of -1 point:")
        redemption.params.update(items=3, points=6)
        assert text(redemption) == "Receipt 000751: 3 pieces for 6 points. Balance: 9."
    with translation.override("zh-hans"):
        assert text(redemption) == "小票 000751：3 件物品，共 6 分。余额：9 分。"


def test_the_sweeps_of_a_quiet_night_queue_no_job_each(
    settings, card_a, manager_x, supervisor_x, rule_clean
):
    """Every minute of the quiet hours the sweep found the hours quiet and queued one more
    `sms_send` job for the morning, messages or none: 660 jobs a night, all run at 08:00.
    Only a sweep that holds back messages due now queues one, for when they go."""
    hour = timezone.localtime().hour
    settings.SMS_QUIET_HOURS = (hour, (hour + 2) % 24)
    for _minute in range(3):
        sms_sweep(timestamp=0)  # nothing to send: nothing to queue
    assert sms_jobs() == []
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    for _minute in range(3):
        sms_sweep(timestamp=0)  # written for the morning already: the morning's sweep sends it
    assert sms_jobs() == []
    settings.SMS_QUIET_HOURS = (0, 0)
    Notification.objects.update(sms_due_at=timezone.now())  # due now, as before the hours
    settings.SMS_QUIET_HOURS = (hour, (hour + 2) % 24)
    sms_sweep(timestamp=0)
    sms_sweep(timestamp=0)
    morning = quiet_until(timezone.now())
    ((status, scheduled_at),) = sms_jobs()
    assert status == "todo" and abs(scheduled_at - morning) < datetime.timedelta(seconds=5)
    assert Notification.objects.get().sms_due_at == morning


def test_every_text_words_the_balance_and_the_reservation_alike():
    """Read side by side in Chinese: the lapse's text gave "余额：95。" where the others say
    "余额：95 分。"; two reservation texts said 预订单, the others and the pages 预订; the
    settlement's said "您家最多 5 分" (at most what?)."""
    from django.utils import translation

    from notifications.texts import BALANCE_KINDS

    params = {
        "points": -5,
        "balance": 95,
        "rule": "C01",
        "receipt": "751",
        "items": 1,
        "date": "2026-12-31",
        "until": "2026-12-10T18:00:00+08:00",
        "reservation": "R12",
        "expired": True,
        "keep": 100,
    }
    with translation.override("zh-hans"):
        for kind in BALANCE_KINDS:
            assert "余额：95 分。" in text(Notification(kind=kind, params=params)), kind
        reservation_kinds = [
            Kind.RESERVATION_READY,
            Kind.RESERVATION_EXPIRING,
            Kind.RESERVATION_CLOSED,
        ]
        for kind in reservation_kinds:
            assert text(Notification(kind=kind, params=params)).startswith("预订 R12"), kind
        planned = text(Notification(kind=Kind.SETTLEMENT_PLANNED, params={**params, "points": 5}))
        assert "最多清零 5 分" in planned
