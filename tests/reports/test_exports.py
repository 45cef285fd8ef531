"""Background exports: a real worker builds the file; status, failure, staleness, ownership."""

import datetime
import io
import re
import time

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from reports import exports
from reports.models import ExportJob


def _wait_finished(job_id: int, seconds: float = 30) -> ExportJob:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = ExportJob.objects.get(pk=job_id)
        if job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED):
            return job
        time.sleep(0.1)
    raise AssertionError(f"export {job_id} did not finish: {job.status} {job.progress}%")


@pytest.mark.django_db(transaction=True)
def test_the_view_queues_the_export_and_a_worker_builds_it(
    queue_workers, county_admin, village_x, card_a
):
    client = Client()
    client.force_login(county_admin)
    response = client.post(reverse("reports:county_export"))
    job_id = ExportJob.objects.get().pk
    assert response.url == reverse("reports:export_status", args=[job_id])
    assert ExportJob.objects.get().status == "pending"  # nothing runs in the web process
    queue_workers(1)
    job = _wait_finished(job_id, seconds=90)
    assert job.status == "done", job.error
    assert job.progress == 100 and job.finished_at is not None
    page = client.get(response.url).content.decode()
    assert "The file is ready." in page and 'http-equiv="refresh"' not in page
    download = client.get(reverse("reports:export_download", args=[job_id]))
    sheet = load_workbook(io.BytesIO(download.content)).active
    names = [row[1] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert village_x.name in names
    # Built in the language it was asked in, not the worker's (found: all Chinese).
    assert sheet.title == "County overview"
    client.cookies["django_language"] = "zh-hans"
    again = client.post(reverse("reports:county_export"))
    job = _wait_finished(ExportJob.objects.exclude(pk=job_id).get().pk, seconds=90)
    download = client.get(reverse("reports:export_download", args=[job.pk]))
    assert (
        again.status_code == 302
        and load_workbook(io.BytesIO(download.content)).active.title == "全县概况"
    )


def test_a_failing_build_is_recorded(county_admin, monkeypatch, client_county):
    def broken(job, progress):
        progress(30, "half way")
        raise RuntimeError("disk full")

    monkeypatch.setattr(exports, "_builder", lambda kind: broken)
    job = ExportJob.objects.create(
        kind="county", county=county_admin.county, requested_by=county_admin
    )
    exports.export_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "disk full" in job.error
    page = client_county.get(reverse("reports:export_status", args=[job.pk])).content.decode()
    assert "The export failed." in page
    assert client_county.get(reverse("reports:export_download", args=[job.pk])).status_code == 404


def test_progress_shows_while_running_and_a_dead_job_says_so(county_admin, client_county):
    job = ExportJob.objects.create(
        kind="county",
        county=county_admin.county,
        requested_by=county_admin,
        status="running",
        progress=40,
        step="Writing",
    )
    page = client_county.get(reverse("reports:export_status", args=[job.pk])).content.decode()
    assert 'aria-valuenow="40"' in page and "Writing" in page
    assert '<meta http-equiv="refresh" content="2">' in page
    ExportJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - datetime.timedelta(hours=1)
    )
    page = client_county.get(reverse("reports:export_status", args=[job.pk])).content.decode()
    assert "interrupted" in page and 'http-equiv="refresh"' not in page


def test_only_the_requester_sees_a_job(county_admin, client_supervisor_x, client_anon):
    job = ExportJob.objects.create(
        kind="county",
        county=county_admin.county,
        requested_by=county_admin,
        status="done",
        content=b"x",
        filename="a.xlsx",
    )
    for name in ("export_status", "export_download"):
        url = reverse(f"reports:{name}", args=[job.pk])
        assert client_supervisor_x.get(url).status_code == 404
        assert client_anon.get(url).status_code == 302


def test_the_export_pages_answer_only_the_methods_they_need(
    county_admin, client_county, client_manager_x
):
    """Found by a probe: the status page and the download answered PUT, DELETE, PATCH
    and POST as a GET. They read (GET and HEAD), the starts only send (POST); anything
    else is 405 and starts nothing, to whoever asks."""
    job = ExportJob.objects.create(
        kind="county",
        county=county_admin.county,
        requested_by=county_admin,
        status="done",
        content=b"x",
        filename="a.xlsx",
    )
    reads = [
        reverse(f"reports:{name}", args=[job.pk]) for name in ("export_status", "export_download")
    ]
    for url in reads:
        assert client_county.get(url).status_code == 200, url
        assert client_county.head(url).status_code == 200, url
        for method in ("post", "put", "patch", "delete", "options"):
            response = getattr(client_county, method)(url)
            assert response.status_code == 405, (method, url)
            assert response["Allow"] == "GET, HEAD", (method, url)
    year = timezone.localdate().year
    starts = {
        client_county: reverse("reports:county_export"),
        client_manager_x: reverse("reports:year_report_xlsx", args=[year]),
    }
    for client, url in starts.items():
        for method in ("get", "head", "put", "patch", "delete", "options"):
            response = getattr(client, method)(url)
            assert response.status_code == 405, (method, url)
            assert response["Allow"] == "POST", (method, url)
    assert list(ExportJob.objects.values_list("pk", flat=True)) == [job.pk]


def test_starting_an_export_clears_the_users_old_ones(county_admin, supervisor_x):
    old = ExportJob.objects.create(
        kind="county",
        requested_by=county_admin,
        created_at=timezone.now() - datetime.timedelta(days=8),
    )
    recent = ExportJob.objects.create(
        kind="county", county=county_admin.county, requested_by=county_admin
    )
    someone_elses = ExportJob.objects.create(
        kind="year",
        requested_by=supervisor_x,
        created_at=timezone.now() - datetime.timedelta(days=8),
    )
    exports.export_job_start(kind="county", user=county_admin, county=county_admin.county)
    remaining = set(ExportJob.objects.values_list("pk", flat=True))
    assert old.pk not in remaining
    assert {recent.pk, someone_elses.pk} <= remaining


def _heading(client, job) -> str:
    page = client.get(reverse("reports:export_status", args=[job.pk])).content.decode()
    return re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1).strip()


def test_the_heading_says_where_the_export_stands(county_admin, client_county):
    """The page once kept saying "Preparing the county overview" (正在生成全县概况) above the
    finished file's download link: the heading follows the job now."""
    job = ExportJob.objects.create(
        kind="county", county=county_admin.county, requested_by=county_admin, status="running"
    )
    assert _heading(client_county, job) == "Preparing the county overview"
    ExportJob.objects.filter(pk=job.pk).update(status="done", content=b"x", filename="a.xlsx")
    assert _heading(client_county, job) == "The county overview is ready"
    ExportJob.objects.filter(pk=job.pk).update(status="failed", content=None)
    assert _heading(client_county, job) == "The county overview could not be made"
    ExportJob.objects.filter(pk=job.pk).update(
        status="running", updated_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert _heading(client_county, job) == "The county overview was interrupted"


def test_a_finished_export_no_longer_says_it_is_being_made_in_chinese(
    county_admin, client_county, settings
):
    settings.LANGUAGE_CODE = "zh-hans"
    job = ExportJob.objects.create(
        kind="county",
        county=county_admin.county,
        requested_by=county_admin,
        status="done",
        content=b"x",
        filename="a.xlsx",
    )
    with translation.override("zh-hans"):
        client_county.cookies["django_language"] = "zh-hans"
        page = client_county.get(reverse("reports:export_status", args=[job.pk])).content.decode()
    assert "正在生成" not in page and "全县概况已生成" in page
    assert 'http-equiv="refresh"' not in page
    assert reverse("reports:export_download", args=[job.pk]) in page


@pytest.mark.parametrize("change", ["moved to another village", "every role taken"])
def test_an_export_is_not_handed_over_to_someone_who_may_no_longer_read_it(
    change, client_manager_x, manager_x, village_y, card_a
):
    """Found by a probe: the manager asked for village X's year report, was then moved to
    village Y (or lost every role), and still downloaded X's workbook."""
    from django.contrib.auth.models import Group

    from core.access import Role
    from villagers.models import User

    year = timezone.localdate().year
    client_manager_x.post(reverse("reports:year_report_xlsx", args=[year]))
    job = ExportJob.objects.get()
    exports.export_job_run(job.pk)
    download = reverse("reports:export_download", args=[job.pk])
    assert client_manager_x.get(download).status_code == 200
    if change == "moved to another village":
        User.objects.filter(pk=manager_x.pk).update(village=village_y)
        manager_x.groups.set([Group.objects.get(name=Role.PARTY_SECRETARY)])
    else:
        manager_x.groups.clear()
    for name in ("export_status", "export_download"):
        assert client_manager_x.get(reverse(f"reports:{name}", args=[job.pk])).status_code == 404


def test_an_overview_export_follows_its_asker_to_another_township(
    client_township, township_officer, village_z, card_a
):
    from villagers.models import User

    client_township.post(reverse("reports:county_export"))
    job = ExportJob.objects.get()
    exports.export_job_run(job.pk)
    download = reverse("reports:export_download", args=[job.pk])
    assert client_township.get(download).status_code == 200
    User.objects.filter(pk=township_officer.pk).update(township=village_z.township)
    assert client_township.get(download).status_code == 404


def test_the_same_export_asked_for_twice_at_once_is_made_once(
    transactional_db, county_admin, monkeypatch
):
    """Found by a probe posting every form twice at once: a double-clicked "Export" queued
    two builds of the whole county. The second asking is the first job; another month, or
    a running job no worker has heard from lately, is a new one."""
    from core.models import AuditEvent
    from tests.points.test_concurrency import held_in, run_threads

    held_in(monkeypatch, ExportJob, "full_clean")  # the first holds its check a while

    def start(month="2026-11"):
        return exports.export_job_start(
            kind="county", user=county_admin, county=county_admin.county, params={"month": month}
        )

    (_ok, first), (_ok2, second) = run_threads([start, start])
    assert first.pk == second.pk
    assert ExportJob.objects.count() == 1
    assert AuditEvent.objects.filter(action="export.start").count() == 1
    assert start("2026-10").pk != first.pk
    ExportJob.objects.filter(pk=first.pk).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=11)
    )
    assert start().pk == first.pk  # still waiting for a worker: the same job
    ExportJob.objects.filter(pk=first.pk).update(status="running")
    assert start().pk not in (first.pk, second.pk)  # its worker stopped mid-way


def test_an_export_no_worker_has_taken_yet_is_not_called_interrupted(county_admin, client_county):
    """Found by a probe: with the worker stopped (or busy), a job still waiting after ten
    minutes was "interrupted (the server restarted). Please start it again", and asking
    again queued a second build of the county, both run once a worker came. It still waits:
    the page says so and keeps watching, and asking again answers with the same job."""
    job = exports.export_job_start(kind="county", user=county_admin, county=county_admin.county)
    ExportJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - datetime.timedelta(hours=1)
    )
    page = client_county.get(reverse("reports:export_status", args=[job.pk])).content.decode()
    assert "interrupted" not in page and "background worker is busy or not running" in page
    assert '<meta http-equiv="refresh"' in page
    assert _heading(client_county, job) == "Preparing the county overview"
    again = exports.export_job_start(kind="county", user=county_admin, county=county_admin.county)
    assert again.pk == job.pk and ExportJob.objects.count() == 1
