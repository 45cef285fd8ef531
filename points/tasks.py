"""The points app's background work (see core/queue.py for how tasks are declared and run)."""

import logging

from django.conf import settings

from core.queue import periodic, task
from points.activities import activities_close_overdue
from points.publicity import proposals_credit_due
from points.settlement import settlements_called_off, settlements_post

logger = logging.getLogger(__name__)


@periodic(cron=settings.CREDIT_DUE_CRON)
@task(name="points.credit_due", queueing_lock="points.credit_due")
def credit_due(*, timestamp: int) -> None:
    """Credit the awards and deductions whose publicity period has ended (公示期).

    Every worker keeps the schedule; each tick is queued once, and the queueing lock keeps
    at most one run waiting. A run that overlaps another is still harmless: each proposal
    is locked and re-checked, so it is credited exactly once.
    """
    run = proposals_credit_due()
    if run.credited or run.held:
        logger.info("credit_due: credited %d, held %d", len(run.credited), len(run.held))
    for pk in run.held:
        logger.warning("proposal %s: held (see its reason), see the supervisor", pk)
    if run.failed:  # the others are credited: the job fails for the operator to see
        raise RuntimeError(f"credit_due: proposals {run.failed} failed (logged above)")


@periodic(cron=settings.SETTLEMENT_CRON)
@task(name="points.settle_year", queueing_lock="points.settle_year")
def settle_year(*, timestamp: int) -> None:
    """Call off the approved plans of villages that turned the settlement off (their
    households told the next night), and post the yearly settlements approved in advance
    whose year has ended (opt-in villages only). Daily, so a worker that was down on
    1 January catches up; each plan posts once."""
    failed: list[int] = []  # each logged where it failed; the others go on
    for settlement in settlements_called_off(failed=failed):
        logger.info(
            "settlement %s of village %s called off", settlement.year, settlement.village_id
        )
    for settlement in settlements_post(failed=failed):
        logger.info("settlement %s of village %s posted", settlement.year, settlement.village_id)
    if failed:  # as credit_due: the job fails for the operator to see
        raise RuntimeError(f"settle_year: settlements {failed} failed (logged above)")


@periodic(cron=settings.ACTIVITY_CLOSE_CRON)
@task(name="points.close_activities", queueing_lock="points.close_activities")
def close_activities(*, timestamp: int) -> None:
    """Close the check-in of activities left open after their day, so their attendance is
    proposed (each closes once: the activity's row is locked and re-checked)."""
    for activity in activities_close_overdue():
        logger.info("activity %s closed at its day's end", activity.pk)
