"""Background exports: long .xlsx files are built by a worker; the browser watches a status page.

How it works:
1. The view calls `export_job_start()`: one ExportJob row is written and, in the same
   transaction, a job of the task queue (reports.tasks.export_build; core/queue.py).
2. A worker (`manage.py worker`) runs `export_job_run(job_id)`: it claims the job (pending ->
   running, a conditional UPDATE so it runs once), builds the workbook while writing its
   progress to the row, and stores the file in the row (done) or the error (failed).
3. The status page re-reads the row and refreshes itself every few seconds with
   <meta http-equiv="refresh"> until the job is finished (works without JavaScript).
4. Only the user who asked can see the status page or download the file (others get 404),
   and only while the page they asked from would still open for them (`_still_theirs`).
A job whose worker was killed mid-way is queued again (core.queue.stalled_jobs_retry) and
the next run takes it over; one no worker builds any more stops being heard from, and after
`models.STALE_AFTER` the page says so and offers to start again. A job no worker has taken
yet (none running, or all busy) is not cut off: the page says it still waits, and asking
again answers with it.
"""

import datetime
import importlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.access import OPEN, oversees, signed_in_required, village_object_or_404
from core.audit import audit_record
from core.queue import enqueue
from reports import xlsx
from reports.models import STALE_AFTER, ExportJob
from villagers.models import Township
from villagers.oversight import oversight_of

logger = logging.getLogger(__name__)

REFRESH_SECONDS = 2
KEEP_FILES_FOR = datetime.timedelta(days=7)

# kind -> "module.function" building (job, progress) -> (filename, bytes). Imported when run,
# so the report modules may import this one to start jobs.
BUILDERS = {
    ExportJob.Kind.COUNTY_OVERVIEW: "reports.county.county_export_build",
    ExportJob.Kind.TOWNSHIP_OVERVIEW: "reports.county.county_export_build",
    ExportJob.Kind.YEAR_REPORT: "reports.monthly.year_export_build",
}


def export_job_start(*, kind: str, user, village=None, county=None, params=None) -> ExportJob:
    """Record the request and queue its building, in one transaction.

    The same file asked for again while it is being made (a double click, a second tab) is
    that job, not a second build of a whole county: each person's requests are taken one at
    a time (their row's lock), and one still waiting or running, and heard from lately, is
    answered with itself.
    """
    with transaction.atomic():
        list(get_user_model().objects.select_for_update(no_key=True).filter(pk=user.pk))
        # Built in the requester's language (the worker has none of its own).
        params = {**(params or {}), "language": translation.get_language()}
        underway = (
            ExportJob.objects.filter(
                requested_by=user,
                kind=kind,
                village=village,
                county=county,
                params=params,
            )
            # Waiting, however long (a worker builds it when one is free), or running and
            # heard from lately.
            .filter(
                Q(status=ExportJob.Status.PENDING)
                | Q(status=ExportJob.Status.RUNNING, updated_at__gte=timezone.now() - STALE_AFTER)
            )
            .order_by("-pk")
            .first()
        )
        if underway is not None:
            return underway
        # Finished files are not kept for ever: a person's old exports go when they ask again.
        ExportJob.objects.filter(
            requested_by=user, created_at__lt=timezone.now() - KEEP_FILES_FOR
        ).delete()
        job = ExportJob(kind=kind, requested_by=user, village=village, county=county, params=params)
        job.full_clean(exclude=["content"])
        job.save()
        audit_record(
            action="export.start",
            actor=user,
            village_id=village.pk if village else None,
            obj=job,
            detail={"kind": kind, **params},
        )
        from reports.tasks import export_build  # it imports this module

        enqueue(export_build, job_id=job.pk)
    return job


def _progress_writer(job_id: int):
    def progress(percent: int, step: str) -> None:
        ExportJob.objects.filter(pk=job_id).update(
            progress=max(0, min(99, percent)), step=str(step)[:200], updated_at=timezone.now()
        )

    return progress


def _builder(kind: str):
    module_name, function_name = BUILDERS[kind].rsplit(".", 1)
    return getattr(importlib.import_module(module_name), function_name)


# The advisory locks' first key: an export's building (its id the second).
BUILDING_LOCK = 0x45585054


@contextmanager
def _building(job_id: int) -> Iterator[bool]:
    """Whether no other run is building `job_id`'s file now; if so, this one is, until the
    block ends. A PostgreSQL session lock: a killed worker's goes with its connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [BUILDING_LOCK, job_id])
        (ours,) = cursor.fetchone()
    if not ours:
        yield False
        return
    try:
        yield True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [BUILDING_LOCK, job_id])


def export_job_run(job_id: int, *, resumed: bool = False) -> None:
    """Build one job's file. Safe to call twice: only the first call claims the job.
    `resumed`: the queue runs it again because the worker that claimed it was killed
    mid-way (core.queue.stalled_jobs_retry): this run takes the job over and builds it,
    unless a run is still building it (a worker taken for dead, alive after all)."""
    with _building(job_id) as ours:
        if ours:
            _export_job_build(job_id, resumed=resumed)


def _export_job_build(job_id: int, *, resumed: bool) -> None:
    claimable = [ExportJob.Status.PENDING, *([ExportJob.Status.RUNNING] if resumed else [])]
    claimed = ExportJob.objects.filter(pk=job_id, status__in=claimable).update(
        status=ExportJob.Status.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        return
    job = ExportJob.objects.select_related("village__township", "county").get(pk=job_id)
    try:
        with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
            filename, content = _builder(job.kind)(job, _progress_writer(job_id))
    except Exception as error:  # a failed export must say so, never spin for ever
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED,
            error=f"{type(error).__name__}: {error}"[:500],
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )
        return
    ExportJob.objects.filter(pk=job_id).update(
        status=ExportJob.Status.DONE,
        progress=100,
        step="",
        filename=filename,
        content=content,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _still_theirs(job: ExportJob, user) -> bool:
    """Whether `user`, who asked for `job`, may still read what it holds: the page it was
    asked from would still open for them, over the same village or scope. A role taken away
    or a move to another village since hands nothing over."""
    if job.kind == ExportJob.Kind.YEAR_REPORT:
        from reports.monthly import year_report_xlsx  # it imports this module

        village = job.village
        own = user.village_id == village.pk if user.village_id is not None else None
        if not (own or (own is None and oversees(user, village))):
            return False
        return year_report_xlsx.access.decide(user, village) == OPEN
    oversight = oversight_of(user)
    if oversight is None:
        return False
    if job.kind == ExportJob.Kind.TOWNSHIP_OVERVIEW:
        return oversight.township_id == job.params.get("township")
    return oversight.township_id is None and oversight.county_id == job.county_id


def _get_job_for_user(request, pk: int, queryset=None) -> ExportJob:
    """A job of the user who asked for it, while they may still read it; anyone else's is a
    404. A village's own user (its staff) asking for another village's year report is told
    it is another village's (core.access); anyone else's of their own village, and every
    job to the county's and the township's people, stays a bare 404."""
    queryset = ExportJob.objects.defer("content") if queryset is None else queryset
    mine = queryset.select_related("village__township").filter(requested_by=request.user)
    if request.user.village_id is not None and request.village is not None:
        job = village_object_or_404(mine, request.village, pk=pk)
    else:
        job = get_object_or_404(mine, pk=pk)
    if not _still_theirs(job, request.user):
        raise Http404(_("This export is not yours to read any more."))
    return job


def _subject(job: ExportJob) -> str:
    """What the file is of: the village, the township or the county, and the month or year
    (a township's overview once named its county)."""
    if job.kind == ExportJob.Kind.TOWNSHIP_OVERVIEW:
        place = Township.objects.filter(pk=job.params.get("township")).first()
    else:
        place = job.village or job.county
    when = job.params.get("month") or job.params.get("year")
    return " · ".join(str(part) for part in (getattr(place, "name", ""), when) if part)


def _ascii_name(job: ExportJob) -> str:
    """The file's name in ASCII, for the programs that read no other: its kind, the village's
    card code or the township's or county's number, and its month or year."""
    if job.kind == ExportJob.Kind.TOWNSHIP_OVERVIEW:
        place = job.params.get("township")
    else:
        place = job.village.code if job.village else job.county_id
    when = job.params.get("month") or job.params.get("year")
    return xlsx.ascii_file_name(job.kind, place, when)


@require_safe
@signed_in_required
def export_status(request, pk):
    """Progress of one export; refreshes itself until the file is ready."""
    job = _get_job_for_user(request, pk)
    context = {
        "job": job,
        "subject": _subject(job),
        "refresh": None if job.is_finished else REFRESH_SECONDS,
    }
    return render(request, "reports/export_status.html", context)


@require_safe
@signed_in_required
def export_download(request, pk):
    job = _get_job_for_user(request, pk, ExportJob.objects.all())
    if job.status != ExportJob.Status.DONE:
        raise Http404(_("This export is not ready."))
    return xlsx.xlsx_response(bytes(job.content), job.filename, _ascii_name(job))
