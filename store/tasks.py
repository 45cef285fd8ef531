"""The store's background work (see core/queue.py for how tasks are declared and run)."""

import logging

from django.conf import settings

from core.queue import periodic, task
from store.services import (
    reservations_expire,
    reservations_remind,
    reservations_without_card_cancel,
)

logger = logging.getLogger(__name__)


@periodic(cron=settings.RESERVATION_EXPIRY_CRON)
@task(name="store.expire_reservations", queueing_lock="store.expire_reservations")
def expire_reservations(*, timestamp: int) -> None:
    """Close the reservations past their date, and those of households whose card was
    recalled, giving their held points and goods back; then tell the households whose
    reservations enter their last day.

    Each reservation is locked and re-checked, so overlapping runs expire it once and
    remind of it once.
    """
    expired = reservations_expire()
    if expired:
        logger.info("expire_reservations: expired %d", len(expired))
    cancelled = reservations_without_card_cancel()
    if cancelled:
        logger.info("expire_reservations: cancelled %d without a card", len(cancelled))
    reminded = reservations_remind()
    if reminded:
        logger.info("expire_reservations: reminded %d", len(reminded))
