"""Sending the outbox's text messages (run by the `notifications.sms_sweep` and `sms_send` tasks).

Each message is sent at most once: a worker claims it (pending -> sending) in a short
transaction, taking only rows no other worker holds (SKIP LOCKED), sends it with no
transaction open, then records the answer. A failure puts it back to pending, not before
its back-off; the task then queues a run for then (one at most waits). After
SMS_MAX_ATTEMPTS tries it is failed for good. A send that ends in an error after the request
was sent (an answer late or cut short) is `unknown`: never sent again, since it may have
gone, and the manager's log says so. A worker killed while sending leaves its batch "being
sent"; the next run finds it there past `STALE`: the message whose sending had begun
(`_attempt_begin`) is called unknown too, and those it had claimed and never tried go back
to pending and are sent. The rest of the batch is still sent, and a message that could not
even be written is a failure of its own. A message whose words are no longer true when it
could go is `outdated`, never sent: the time it gives to act by has passed (checked here), or
what it tells of is over (a reservation closed, an entry cancelled, a settlement called
off: their services mark it, `notifications_outdate`). A text giving the household's balance
tried again after a newer one has gone says no balance: it would arrive last and read as the
balance now (`_balance_overtaken`).
"""

import datetime
import logging
import re
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import sms
from notifications.models import Notification
from notifications.texts import BALANCE_KINDS, sms_text, true_until
from villagers.models import Household

logger = logging.getLogger(__name__)

BATCH = 50
Sms = Notification.Sms
# Longer than a live worker takes over a claimed batch (each send gives up after its timeout).
STALE = datetime.timedelta(seconds=2 * BATCH * sms.TIMEOUT_SECONDS)


def quiet_until(now: datetime.datetime) -> datetime.datetime | None:
    """The end of the quiet hours (SMS_QUIET_HOURS, local time) when `now` is in them."""
    start, end = settings.SMS_QUIET_HOURS
    local = timezone.localtime(now)
    hour = local.hour
    quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not quiet:
        return None
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += datetime.timedelta(days=1)
    return morning


def retry_wait(attempts: int) -> datetime.timedelta:
    """The back-off after a failed try: SMS_RETRY_WAIT seconds, that many times more each try."""
    return datetime.timedelta(seconds=settings.SMS_RETRY_WAIT ** (attempts + 1))


@dataclass
class SendRun:
    sent: list[int] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    outdated: list[int] = field(default_factory=list)  # no longer true when it could go
    retry: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)  # it may have gone: never sent again
    held_until: datetime.datetime | None = None  # messages due now held for the morning
    retry_at: datetime.datetime | None = None  # the earliest back-off of `retry`


def _claim(
    now: datetime.datetime, tried: set[int]
) -> tuple[list[Notification], list[int], list[int]]:
    """Take up to BATCH due messages not `tried` in this run: the ones to send (now
    `sending`), the ids of those skipped because the household opted out, has no mobile
    phone or is no longer the village's (moved away or closed since the message was written: its
    phone is no longer one the village writes to), and the ids of those out of date: the time
    they give to act by has passed (held by an outage or the quiet hours)."""
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
            .select_related("household", "village")
            .filter(sms_status=Sms.PENDING, sms_due_at__lte=now, household__isnull=False)
            .exclude(pk__in=tried)
            .order_by("sms_due_at", "pk")[:BATCH]
        )
        skipped = [n for n in rows if not _sendable(n)]
        outdated = [n for n in rows if n not in skipped and _out_of_date(n, now)]
        claimed = [n for n in rows if n not in skipped and n not in outdated]
        for notification in skipped:
            notification.sms_status = Sms.SKIPPED
        for notification in outdated:
            notification.sms_status, notification.sms_due_at = Sms.OUTDATED, None
        for notification in claimed:
            notification.sms_status = Sms.SENDING
            notification.sms_attempts += 1
            notification.sms_tried_at = timezone.now()
        Notification.objects.bulk_update(
            rows, ["sms_status", "sms_attempts", "sms_tried_at", "sms_due_at"]
        )
    return claimed, [n.pk for n in skipped], [n.pk for n in outdated]


def _out_of_date(notification: Notification, now: datetime.datetime) -> bool:
    try:
        deadline = true_until(notification)
    except Exception:  # noqa: BLE001 (its words cannot be written either: a failure when sent)
        return False
    return deadline is not None and deadline <= now


def _sendable(notification: Notification) -> bool:
    household = notification.household
    return (
        household.status == Household.Status.ACTIVE
        and not household.sms_opt_out
        and bool(_phone(notification))
    )


def skipped_why(notification: Notification) -> str:
    """Why a household's text message was not sent, as its household stands now, for the
    delivery log: the status alone ("no text messages, no mobile phone or moved away") left
    the manager guessing whether a mobile number was the fix. "" when none holds any more
    (a mobile number entered since: the next message goes)."""
    household = notification.household
    if household.status != Household.Status.ACTIVE:
        return _("The household has moved away or is closed in the register.")
    if household.sms_opt_out:
        return _("The household chose no text messages (on its messages page).")
    if not household.phone.strip():
        return _("No phone number in the register: enter a mobile number on the household's page.")
    if not _phone(notification):
        return _(
            "The number in the register is no mobile number: enter a mobile number on the "
            "household's page."
        )
    return ""


# A mainland mobile number, as typed (spaces, dashes, +86 or 0086 before it): a landline or
# a short number, which the village's records allow, cannot take a text message, and the
# provider refuses it every time (Aliyun: isv.MOBILE_NUMBER_ILLEGAL).
MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")


def _phone(notification: Notification) -> str:
    """The household's mobile number as the provider takes it (11 digits); "" for none."""
    mobile = MOBILE.fullmatch(re.sub(r"[ \-]", "", notification.household.phone))
    return mobile.group(1) if mobile else ""


def _hold_until(morning: datetime.datetime, now: datetime.datetime) -> int:
    """Put off the messages due now to the end of the quiet hours; how many."""
    return Notification.objects.filter(sms_status=Sms.PENDING, sms_due_at__lte=now).update(
        sms_due_at=morning
    )


def messages_send(*, now: datetime.datetime | None = None) -> SendRun:
    """Send every due message (see the module's text); what became of each."""
    run = SendRun()
    provider = sms.backend()
    run.unknown += _stale_marked(now or timezone.now())
    tried: set[int] = set()  # a failure waits for the next run, never retried in this one
    while True:
        at = now or timezone.now()
        morning = quiet_until(at)
        if morning is not None:
            # Only when some were held: a sweep of every minute of a quiet night queued a
            # job for the morning each time, messages or none (the messages written in the
            # quiet hours are due in the morning already; the morning's sweeps send them).
            if _hold_until(morning, at):
                run.held_until = morning
            return run
        claimed, skipped, outdated = _claim(at, tried)
        tried.update(n.pk for n in claimed)
        run.skipped += skipped
        run.outdated += outdated
        if not claimed and not skipped and not outdated:
            return run
        for notification in claimed:
            try:
                phone = _phone(notification)
                text = sms_text(notification, balance=not _balance_overtaken(notification))
            except Exception as error:  # noqa: BLE001 (this message's failure, not the batch's)
                logger.exception("SMS of notification %s could not be written", notification.pk)
                _record_failure(notification, f"{type(error).__name__}: {error}", run)
                continue
            if not _attempt_begin(notification):
                continue  # given back to the outbox meanwhile (_stale_marked): not sent here
            try:
                reference = provider.send(phone=phone, text=text)
            except sms.SmsError as error:
                _record_failure(notification, str(error), run)
                continue
            except Exception as error:  # noqa: BLE001 (the provider may have taken it: never twice)
                logger.exception("SMS of notification %s: outcome unknown", notification.pk)
                notification.sms_status = Sms.UNKNOWN
                # Its class only: the words of an error from the line may quote the request.
                notification.sms_error = type(error).__name__[:200]
                notification.save(update_fields=["sms_status", "sms_error"])
                run.unknown.append(notification.pk)
                continue
            notification.sms_status = Sms.SENT
            notification.sms_sent_at = timezone.now()
            notification.sms_reference = reference[:64]
            notification.sms_error = ""
            notification.save(
                update_fields=["sms_status", "sms_sent_at", "sms_reference", "sms_error"]
            )
            run.sent.append(notification.pk)


def _balance_overtaken(notification: Notification) -> bool:
    """Whether a newer text giving the household's balance has gone (or may have: being
    sent, or not known): this one's balance, older, would arrive last and read as the
    household's balance now (a text that failed and is tried again after its back-off).
    Its event is still told, without the balance; the household's list keeps it, beside
    its time. Newer is a larger id: the events that give a balance write their messages
    under the household's account lock, so one after another."""
    if notification.kind not in BALANCE_KINDS:
        return False
    gone = Q(sms_status__in=[Sms.SENT, Sms.UNKNOWN]) | Q(
        sms_status=Sms.SENDING, sms_due_at__isnull=True
    )
    return (
        Notification.objects.filter(
            household_id=notification.household_id, kind__in=BALANCE_KINDS, pk__gt=notification.pk
        )
        .filter(gone)
        .exists()
    )


def _attempt_begin(notification: Notification) -> bool:
    """Mark the claimed `notification`'s sending as begun (its `sms_due_at` cleared, the time
    kept): from here a worker that stops leaves it unknown; before, it was never tried.
    False when its claim was given back meanwhile (`_stale_marked`, the batch taking longer
    than STALE): it is someone else's to send now."""
    now = timezone.now()
    begun = Notification.objects.filter(
        pk=notification.pk,
        sms_status=Sms.SENDING,
        sms_due_at__isnull=False,
        sms_tried_at=notification.sms_tried_at,  # this claim, not a later one
    ).update(sms_due_at=None, sms_tried_at=now)
    notification.sms_due_at, notification.sms_tried_at = None, now
    return bool(begun)


def _stale_marked(now: datetime.datetime) -> list[int]:
    """Messages left "being sent" by a worker that stopped: the one whose sending had begun
    is unknown, never sent again; the ones claimed with it and never tried go back to the
    outbox (this run sends them). The ids called unknown."""
    stale = Notification.objects.filter(sms_status=Sms.SENDING)
    before = Q(sms_tried_at__lt=now - STALE)
    begun = before & Q(sms_due_at__isnull=True)
    unkept = Q(sms_tried_at__isnull=True)  # claimed before a claim's time was kept: may have gone
    marked = list(stale.filter(begun | unkept).values_list("pk", flat=True))
    if marked:
        logger.warning("SMS of notifications %s: the sending was cut off", marked)
        Notification.objects.filter(pk__in=marked, sms_status=Sms.SENDING).update(
            sms_status=Sms.UNKNOWN
        )
    untried = stale.filter(before, sms_due_at__isnull=False)
    given_back = untried.update(sms_status=Sms.PENDING, sms_attempts=F("sms_attempts") - 1)
    if given_back:
        logger.warning("SMS: %d messages claimed by a stopped worker sent again", given_back)
    return marked


def _record_failure(notification: Notification, error: str, run: SendRun) -> None:
    logger.warning("SMS of notification %s failed: %s", notification.pk, error)
    notification.sms_error = error[:200]
    if notification.sms_attempts >= settings.SMS_MAX_ATTEMPTS:
        notification.sms_status = Sms.FAILED
        run.failed.append(notification.pk)
    else:
        notification.sms_status = Sms.PENDING
        notification.sms_due_at = timezone.now() + retry_wait(notification.sms_attempts - 1)
        run.retry.append(notification.pk)
        run.retry_at = min(run.retry_at or notification.sms_due_at, notification.sms_due_at)
    notification.save(update_fields=["sms_status", "sms_error", "sms_due_at"])
