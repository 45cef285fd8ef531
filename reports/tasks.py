"""The reports app's background work (see core/queue.py for how tasks are declared and run)."""

from core.queue import task
from reports.exports import export_job_run


@task(name="reports.export_build", queue="exports")
def export_build(*, job_id: int) -> None:
    """Build one export's file (safe to run twice: only the first run claims the job)."""
    export_job_run(job_id)
