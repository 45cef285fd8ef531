"""The task queue (core/queue.py): a job is written in the transaction of its effect."""

import pytest
from django.db import transaction

from core.queue import NotInTransaction, enqueue
from reports import exports
from reports.models import ExportJob
from reports.tasks import export_build


class RolledBack(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(queue_workers, county_admin):
    month = {"month": "2026-11"}
    waiting = ExportJob.objects.create(
        kind="county", requested_by=county_admin, county=county_admin.county, params=month
    )
    with pytest.raises(RolledBack), transaction.atomic():
        enqueue(export_build, job_id=waiting.pk)
        raise RolledBack
    # A committed export after it, which a worker does build: the worker was there.
    later = exports.export_job_start(
        kind="county", user=county_admin, county=county_admin.county, params=month
    )
    workers = queue_workers(1)
    workers.wait_until(lambda: ExportJob.objects.get(pk=later.pk).status == "done")
    workers.stop()
    waiting.refresh_from_db()
    assert waiting.status == "pending" and waiting.progress == 0
    assert f"job_id={waiting.pk})" not in workers.output()


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused(queue_workers, county_admin):
    """(`queue_workers` only empties the queue afterwards: no worker runs here.)"""
    job = ExportJob.objects.create(kind="county", requested_by=county_admin)
    with pytest.raises(NotInTransaction, match="reports.export_build"):
        enqueue(export_build, job_id=job.pk)
    with transaction.atomic():
        assert enqueue(export_build, job_id=job.pk) > 0
