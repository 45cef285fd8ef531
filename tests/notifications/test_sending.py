"""What the sending does with each message (run here in the test's process; the worker
runs the same function: test_worker.py)."""

import datetime

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from notifications.sending import messages_send
from notifications.tasks import sms_send, sms_sweep
from points.services import proposal_approve
from tests.core.test_queue import _taken_by
from tests.notifications.provider import Provider
from tests.notifications.test_outbox import sms_jobs
from tests.points.conftest import propose
from villagers.models import Household

Sms = Notification.Sms


@pytest.fixture
def provider(settings):
    with Provider() as provider:
        settings.SMS_BACKEND = "aliyun"
        settings.SMS_ALIYUN = provider.aliyun_settings()
        yield provider


@pytest.fixture
def message_to_a(card_a, manager_x, supervisor_x, rule_clean):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    return Notification.objects.get(household=card_a.household)


def test_a_message_failing_every_time_is_given_up_after_the_last_attempt(
    settings, provider, message_to_a
):
    settings.SMS_MAX_ATTEMPTS = 3
    provider.fail_first = 99
    later = timezone.now() + datetime.timedelta(hours=1)  # past every back-off
    runs = [messages_send(now=later) for _i in range(3)]
    message_to_a.refresh_from_db()
    assert message_to_a.sms_status == Sms.FAILED and message_to_a.sms_attempts == 3
    assert "isp.SYSTEM_ERROR" in message_to_a.sms_error
    assert [run.retry for run in runs] == [[message_to_a.pk], [message_to_a.pk], []]
    assert runs[-1].failed == [message_to_a.pk] and len(provider.failed) == 3
    assert messages_send(now=later).sent == [] and len(provider.failed) == 3  # left alone


def test_runs_with_failures_queue_one_run_to_try_again(
    provider, card_a, card_b, manager_x, supervisor_x, rule_clean
):
    """Found: each run with a failure queued a `sms_send` of its own, so overlapping runs
    (the sweeps, the retries) piled up waiting rows. One waits now (its queueing lock), and
    sends every message due when it runs; a running one queues the next."""
    provider.fail_first = 99
    for household in (card_a.household, card_b.household):
        (proposal,) = propose(manager_x, [household], rule_clean)
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
        sms_sweep(timestamp=0)  # this household's message fails
    assert Notification.objects.filter(sms_status=Sms.PENDING, sms_attempts=1).count() == 2
    ((status, _at),) = sms_jobs()
    assert status == "todo"
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM procrastinate_jobs WHERE status = 'todo'")
        _taken_by(cursor.fetchone()[0], None)  # a worker runs it: the messages fail again
    Notification.objects.update(sms_due_at=timezone.now())
    sms_send()
    assert sorted(status for status, _at in sms_jobs()) == ["doing", "todo"]
    assert Notification.objects.filter(sms_status=Sms.PENDING, sms_attempts=2).count() == 2


def test_a_failed_message_waits_for_its_back_off(settings, provider, message_to_a):
    settings.SMS_RETRY_WAIT = 4
    provider.fail_first = 1
    assert messages_send().retry == [message_to_a.pk]
    message_to_a.refresh_from_db()
    wait = (message_to_a.sms_due_at - timezone.now()).total_seconds()
    assert message_to_a.sms_status == Sms.PENDING and 2 < wait <= 4
    assert messages_send().sent == []  # not yet
    later = timezone.now() + datetime.timedelta(seconds=5)
    assert messages_send(now=later).sent == [message_to_a.pk]
    assert len(provider.accepted) == 1


def test_opting_out_before_the_message_goes_stops_it(provider, message_to_a):
    household = message_to_a.household
    household.sms_opt_out = True
    household.save()
    assert messages_send().skipped == [message_to_a.pk]
    message_to_a.refresh_from_db()
    assert message_to_a.sms_status == Sms.SKIPPED and provider.accepted == []


def test_no_phone_no_text_message(provider, message_to_a):
    household = message_to_a.household
    household.phone = ""
    household.save()
    assert messages_send().skipped == [message_to_a.pk] and provider.accepted == []


@pytest.mark.parametrize("status", ["moved", "closed"])
def test_a_household_gone_before_its_message_is_sent_is_not_texted(provider, message_to_a, status):
    """Found by a probe: a message written before the household moved away went to its
    phone afterwards. The phone is no longer one the village writes to."""
    Household.objects.filter(pk=message_to_a.household_id).update(status=status)
    assert messages_send().skipped == [message_to_a.pk] and provider.accepted == []
    message_to_a.refresh_from_db()
    assert message_to_a.sms_status == Sms.SKIPPED


def test_in_the_quiet_hours_the_sending_waits_for_the_morning(settings, provider, message_to_a):
    hour = timezone.localtime().hour
    settings.SMS_QUIET_HOURS = (hour, (hour + 1) % 24)
    run = messages_send()
    assert run.sent == [] and run.held_until is not None
    message_to_a.refresh_from_db()
    assert message_to_a.sms_due_at == run.held_until and message_to_a.sms_status == Sms.PENDING
    assert provider.accepted == []
    settings.SMS_QUIET_HOURS = (0, 0)
    assert messages_send(now=run.held_until).sent == [message_to_a.pk]


@pytest.fixture
def three_messages_to_a(card_a, manager_x, supervisor_x, rule_clean):
    for _n in range(3):
        (proposal,) = propose(manager_x, [card_a.household], rule_clean)
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    return list(Notification.objects.filter(household=card_a.household).order_by("pk"))


def test_an_answer_cut_short_leaves_that_message_being_sent_and_the_batch_goes_on(
    provider, three_messages_to_a
):
    """Found by a probe: the error escaped the run, and every message it had claimed stayed
    "being sent" for good, the ones never tried too."""
    provider.cut_short_first = 1
    first, *others = three_messages_to_a
    run = messages_send()
    assert run.unknown == [first.pk] and sorted(run.sent) == [m.pk for m in others]
    statuses = dict(Notification.objects.values_list("pk", "sms_status"))
    assert statuses == {first.pk: Sms.UNKNOWN, **{m.pk: Sms.SENT for m in others}}
    later = timezone.now() + datetime.timedelta(hours=1)
    assert messages_send(now=later).sent == []  # it may have gone: never sent twice
    assert len(provider.accepted) == 3


def test_a_message_that_cannot_be_written_fails_alone(provider, three_messages_to_a, monkeypatch):
    from notifications import sending

    first, *others = three_messages_to_a
    written = sending.sms_text

    def sms_text(notification, **options):
        if notification.pk == first.pk:
            raise KeyError("placeholder")
        return written(notification, **options)

    monkeypatch.setattr(sending, "sms_text", sms_text)
    run = messages_send()
    assert run.retry == [first.pk] and sorted(run.sent) == [m.pk for m in others]
    first.refresh_from_db()
    assert first.sms_status == Sms.PENDING and "KeyError" in first.sms_error


def test_an_answer_later_than_the_timeout_leaves_the_message_being_sent(
    provider, message_to_a, monkeypatch
):
    """Found by a probe: the provider took the message and answered after the timeout (a
    slow link, a busy gateway). The timeout was taken for a failure, the message waited
    for its back-off and was sent again: the household had it twice. A timeout once the
    request is sent leaves the outcome unknown, and the message is never sent again."""
    import time

    from notifications import sms

    monkeypatch.setattr(sms, "TIMEOUT_SECONDS", 0.5)
    answer = provider.answer

    def taken_then_answered_late(params):
        result = answer(params)  # taken: it would be delivered
        time.sleep(1.5)
        return result

    provider.answer = taken_then_answered_late
    assert messages_send().unknown == [message_to_a.pk]
    provider.answer = answer
    later = timezone.now() + datetime.timedelta(hours=1)
    assert messages_send(now=later).sent == []
    message_to_a.refresh_from_db()
    assert message_to_a.sms_status == Sms.UNKNOWN and len(provider.accepted) == 1
    assert message_to_a.sms_error in ("TimeoutError", "URLError")


def test_a_message_left_being_sent_by_a_stopped_worker_is_called_unknown(
    provider, message_to_a, client_manager_x
):
    """A worker killed between sending and recording left the message "being sent" for
    good, and the manager's log never said that it might not have arrived. The next run
    past the time a live worker could take calls it unknown; it is never sent again."""
    from notifications import sending

    claimed, _skipped, _outdated = sending._claim(timezone.now(), set())
    assert [n.pk for n in claimed] == [message_to_a.pk]
    assert sending._attempt_begin(claimed[0])  # the worker stops while sending it
    assert messages_send().unknown == []  # a live worker may still be sending it
    message_to_a.refresh_from_db()
    assert message_to_a.sms_status == Sms.SENDING
    later = timezone.now() + sending.STALE + datetime.timedelta(seconds=1)
    run = messages_send(now=later)
    assert run.unknown == [message_to_a.pk] and run.sent == []
    message_to_a.refresh_from_db()
    assert message_to_a.sms_status == Sms.UNKNOWN and provider.accepted == []
    page = client_manager_x.get(reverse("notifications:log"), {"status": "unknown"})
    assert "Ask the household whether it arrived" in page.content.decode()
    assert messages_send(now=later).unknown == []  # told once


class _WorkerKilled(BaseException):
    """What a worker stopped mid-send leaves behind: nothing after the send runs."""


def test_a_stopped_workers_messages_never_tried_are_sent_by_the_next_run(
    provider, three_messages_to_a, monkeypatch
):
    """A worker claims a batch and sends it one message after another: stopped while
    sending the first, it left the others "being sent" too, and the next run called them
    all "not known whether it arrived" (the manager told to ask each household) though
    they had never gone, and none was ever sent. The one whose sending had begun is
    unknown; the others go back to the outbox and are sent."""
    from notifications import sending

    first, *others = three_messages_to_a

    class Stopping:
        def send(self, *, phone, text):
            raise _WorkerKilled

    monkeypatch.setattr(sending.sms, "backend", lambda: Stopping())
    with pytest.raises(_WorkerKilled):
        messages_send()
    monkeypatch.undo()
    assert set(Notification.objects.values_list("sms_status", flat=True)) == {Sms.SENDING}
    later = timezone.now() + sending.STALE + datetime.timedelta(seconds=1)
    run = messages_send(now=later)
    assert run.unknown == [first.pk] and sorted(run.sent) == [m.pk for m in others]
    rows = {n.pk: n for n in Notification.objects.all()}
    assert rows[first.pk].sms_status == Sms.UNKNOWN
    assert [(rows[m.pk].sms_status, rows[m.pk].sms_attempts) for m in others] == [
        (Sms.SENT, 1),
        (Sms.SENT, 1),
    ]
    assert len(provider.accepted) == 2


def test_a_slow_worker_never_sends_a_message_given_back_to_the_outbox(provider, message_to_a):
    """A worker slower than STALE over its batch finds the messages it had not begun given
    back (and maybe claimed again by another run): it does not send them."""
    from notifications import sending

    slow, _skipped, _outdated = sending._claim(timezone.now(), set())
    later = timezone.now() + sending.STALE + datetime.timedelta(seconds=1)
    again = sending._claim(later, set())[0] if not sending._stale_marked(later) else []
    assert [n.pk for n in again] == [message_to_a.pk]
    assert not sending._attempt_begin(slow[0])  # the slow worker's claim is over
    assert sending._attempt_begin(again[0])


def test_a_provider_that_cannot_be_reached_is_a_failure_tried_again(
    settings, provider, message_to_a
):
    """Nothing was sent when the connection is refused: the message waits for its back-off
    and goes on the next run."""
    settings.SMS_ALIYUN = {**settings.SMS_ALIYUN, "endpoint": "http://127.0.0.1:9/"}
    run = messages_send()
    assert run.retry == [message_to_a.pk] and run.unknown == []
    message_to_a.refresh_from_db()
    assert message_to_a.sms_status == Sms.PENDING and "URLError" in message_to_a.sms_error
    settings.SMS_ALIYUN = {**settings.SMS_ALIYUN, "endpoint": provider.url}
    later = timezone.now() + datetime.timedelta(hours=1)
    assert messages_send(now=later).sent == [message_to_a.pk]
    assert len(provider.accepted) == 1


def test_a_gateways_5xx_leaves_the_message_being_sent(provider, message_to_a):
    """Found by a second read: a 504 from a gateway after the request went out was taken
    for the provider's refusal and the message sent again; the provider may have taken it."""
    answer = provider.answer

    def taken_then_gateway_timeout(params):
        answer(params)
        return 504, {"Message": "Gateway Timeout"}

    provider.answer = taken_then_gateway_timeout
    assert messages_send().unknown == [message_to_a.pk]
    provider.answer = answer
    assert messages_send(now=timezone.now() + datetime.timedelta(hours=1)).sent == []
    assert len(provider.accepted) == 1


@pytest.mark.parametrize("phone", ["0571-88886666", "12345", "+852 9123 4567"])
def test_a_phone_that_takes_no_text_message_is_skipped_not_tried_five_times(
    provider, message_to_a, phone
):
    """Found by a probe: a household's phone may be a landline (the records allow it); its
    messages went to the provider, which refuses such a number every time, and each was
    tried SMS_MAX_ATTEMPTS times before the log called it failed."""
    Household.objects.filter(pk=message_to_a.household_id).update(phone=phone)
    assert messages_send().skipped == [message_to_a.pk]
    assert provider.accepted == [] and provider.failed == []
    message_to_a.refresh_from_db()
    assert message_to_a.sms_status == Sms.SKIPPED and message_to_a.sms_attempts == 0
    # The log says why, a landline included (it said "no phone" of a household with one).
    assert "no mobile phone" in message_to_a.get_sms_status_display()


@pytest.mark.parametrize("phone", ["+86 139 1234 5678", "0086-139-1234-5678", "139 1234 5678"])
def test_a_mobile_typed_with_spaces_or_the_country_code_is_sent_to_its_eleven_digits(
    provider, message_to_a, phone
):
    Household.objects.filter(pk=message_to_a.household_id).update(phone=phone)
    assert messages_send().sent == [message_to_a.pk]
    assert [params["PhoneNumbers"] for params in provider.accepted] == ["13912345678"]
