"""The queue's own upkeep (see core/queue.py for how tasks are declared and run)."""

import logging

from django.conf import settings

from core.queue import periodic, stalled_jobs_retry, task

logger = logging.getLogger(__name__)


@periodic(cron=settings.STALLED_JOBS_CRON)
@task(name="core.retry_stalled_jobs", queueing_lock="core.retry_stalled_jobs", pass_context=True)
async def retry_stalled_jobs(context, *, timestamp: int) -> None:
    """Start again the jobs a killed worker left "doing" (core.queue.stalled_jobs_retry),
    through the running worker's own connections."""
    run = await stalled_jobs_retry(context.app.job_manager)
    for job_id in run.retried:
        logger.warning("job %s: its worker stopped mid-way; queued again", job_id)
    for job_id in run.ended:
        logger.warning("job %s: its worker stopped mid-way; a run of it waits already", job_id)
    for job_id in run.left:
        logger.info("job %s: no longer stalled (another sweep queued it again); left alone", job_id)
