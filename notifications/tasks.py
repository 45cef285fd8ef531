"""The notifications' background work (see core/queue.py for how tasks are declared and run)."""

import datetime
import logging

from django.db import transaction
from django.utils import timezone
from procrastinate.exceptions import AlreadyEnqueued

from core.queue import enqueue, periodic, task
from notifications.sending import messages_send

logger = logging.getLogger(__name__)


def _send() -> None:
    run = messages_send()
    if run.sent or run.failed or run.skipped or run.outdated or run.unknown:
        logger.info(
            "SMS: sent %d, skipped %d, out of date %d, failed %d, not known whether sent %d",
            len(run.sent),
            len(run.skipped),
            len(run.outdated),
            len(run.failed),
            len(run.unknown),
        )
    if run.held_until:
        _queue_for(run.held_until)
    if run.retry:
        _queue_for(run.retry_at)


@task(name="notifications.sms_send", queueing_lock="notifications.sms_send")
def sms_send() -> None:
    """Send the text messages that are due: queued for a message's next try after a failure,
    or the end of the quiet hours; safe to run several at once. Its failures queue its next
    run, as the sweep's do (a procrastinate retry of it would clash with a run queued
    meanwhile: one waits at most, its queueing lock)."""
    _send()


@periodic(cron="* * * * *")
@task(name="notifications.sms_sweep", queueing_lock="notifications.sms_sweep")
def sms_sweep(*, timestamp: int) -> None:
    """Every minute, the messages that are due: an event writes its messages and queues no
    job (one a call was a fifth of an approval's time), so this is what sends them, within
    a minute. A message that fails here is tried again by a `sms_send` job queued for the
    end of its back-off."""
    _send()


def _queue_for(when: datetime.datetime) -> None:
    """Queue a `sms_send` for `when`, unless one waits already (overlapping runs with
    failures queued one each): that one sends every message due when it runs, and the
    sweep of every minute those due before it."""
    try:
        with transaction.atomic():
            enqueue(sms_send, schedule_in={"seconds": (when - timezone.now()).total_seconds()})
    except AlreadyEnqueued:
        logger.info("SMS: a run to send them waits already")
