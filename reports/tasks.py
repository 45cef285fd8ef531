"""The reports app's background work (see core/queue.py for how tasks are declared and run)."""

from core.queue import task
from reports.exports import export_job_run


@task(name="reports.export_build", queue="exports", pass_context=True)
def export_build(context, *, job_id: int) -> None:
    """Build one export's file (safe to run twice: only the first run claims the job). Run
    again after its worker was killed (a later attempt), it takes over the job and builds it."""
    export_job_run(job_id, resumed=context.job.attempts > 0)
