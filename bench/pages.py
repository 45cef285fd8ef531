"""The benchmark's pages, their logins, and their server-side time and query counts.

python -m bench.pages sessions -> JSON {page: {"url", "cookie"}} for the HTTP load test
python -m bench.pages growth   -> JSON {page: {"ms", "queries"}}, timed in this process
Both on the database in DATABASE_URL; every page is one of village 101 (啊道村), which is
the same village with the same history in the one-village and the county dataset.

The growth run also times the reference of the heavy pages, Django's admin login page, in
the same process, and the exports' work: the two built by the task queue's worker (the
county .xlsx and the year report's .xlsx) as the task's builder function (figures and
workbook, progress not written), the two built while the browser waits (the month report's
and the notice's .xlsx) as requests.
"""

import datetime
import json
import os
import statistics
import sys
import time

import django

VILLAGE_CODE = "101"
VILLAGER_BACKEND = "villagers.auth.CardPinBackend"
STAFF_BACKEND = "villagers.auth.StaffBackend"


def _session(user, backend: str, extra: dict | None = None) -> str:
    """A logged-in session for `user`, made the way django.contrib.auth.login makes one."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from core.sessions import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = backend
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.update(extra or {})
    session.create()
    return session.session_key


def bench_pages() -> dict[str, dict[str, str]]:
    """Each page's URL and a session cookie of the person who uses it."""
    from django.urls import reverse
    from django.utils import timezone

    from store.models import Item
    from store.views.counter import CART_SESSION_KEY
    from villagers.models import User, Village

    village = Village.objects.get(code=VILLAGE_CODE)
    villager = (
        User.objects.filter(village=village, is_staff=False, household__account__isnull=False)
        .order_by("household__number")
        .first()
    )
    manager = User.objects.get(username=f"manager{VILLAGE_CODE}")
    county_admin = User.objects.get(username="county")
    supervisor = User.objects.get(username=f"supervisor{VILLAGE_CODE}")
    household_id = villager.household_id
    cart_items = (
        Item.objects.filter(village=village, is_active=True, stock__gt=0)
        .order_by("pk")
        .values_list("pk", flat=True)[:3]
    )
    cart = {
        "household": household_id,
        "lines": {str(pk): 1 for pk in cart_items},
        "key": "00000000-0000-4000-8000-000000000000",  # the cart's one-time key
    }
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    month_before = last_month.replace(day=1) - datetime.timedelta(days=1)
    _published(village, last_month, supervisor)
    villager_cookie = _session(villager, VILLAGER_BACKEND)
    manager_cookie = _session(manager, STAFF_BACKEND)
    return {
        "balance": {"url": reverse("points:me"), "cookie": villager_cookie},
        "catalogue": {"url": reverse("store:catalogue"), "cookie": villager_cookie},
        "counter": {
            "url": reverse("store:counter_household", args=[household_id]),
            "cookie": _session(manager, STAFF_BACKEND, {CART_SESSION_KEY: cart}),
        },
        "approval_queue": {
            "url": reverse("points:approval_queue"),
            "cookie": _session(supervisor, STAFF_BACKEND),
        },
        "notice": {
            "url": reverse("reports:notice_month", args=[last_month.year, last_month.month]),
            "cookie": villager_cookie,
        },
        "month_report": {
            "url": reverse("reports:month_report", args=[last_month.year, last_month.month]),
            "cookie": manager_cookie,
        },
        "county_overview": {
            "url": f"{reverse('reports:county_overview')}?month={last_month:%Y-%m}",
            "cookie": _session(county_admin, STAFF_BACKEND),
        },
        # The heavy pages (issue 21), against the admin login page.
        "admin_login": {"url": reverse("admin:login"), "cookie": ""},
        "notice_draft": {
            "url": reverse("reports:notice_month", args=[month_before.year, month_before.month]),
            "cookie": manager_cookie,
        },
        "year_report": {
            "url": reverse("reports:year_report", args=[last_month.year]),
            "cookie": manager_cookie,
        },
        "notice_xlsx": {
            "url": reverse("reports:notice_xlsx", args=[last_month.year, last_month.month]),
            "cookie": manager_cookie,
        },
        "month_report_xlsx": {
            "url": reverse("reports:month_report_xlsx", args=[last_month.year, last_month.month]),
            "cookie": manager_cookie,
        },
    }


# The background exports, timed as the worker's builder function (see reports.exports).
TASKS = {
    "county_xlsx_task": "the county .xlsx task's build (figures and workbook)",
    "year_xlsx_task": "the year report .xlsx task's build (figures and workbook)",
}


def _published(village, last_month, supervisor) -> None:
    """Last month published by the village's supervisor (the villager's notice is the
    published one; the month before stays a draft)."""
    from reports.models import PublishedNotice
    from reports.notice import notice_publish

    first = last_month.replace(day=1)
    if not PublishedNotice.objects.filter(village=village, month=first).exists():
        notice_publish(village=village, year=first.year, month=first.month, actor=supervisor)


def export_jobs() -> dict:
    """Unsaved export jobs as the worker would run them: the county's for last month, the
    village's year report for last month's year."""
    from django.utils import timezone

    from reports.models import ExportJob
    from villagers.models import User, Village

    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    county_admin = User.objects.select_related("county").get(username="county")
    village = Village.objects.select_related("township").get(code=VILLAGE_CODE)
    manager = User.objects.get(username=f"manager{VILLAGE_CODE}")
    return {
        "county_xlsx_task": ExportJob(
            kind=ExportJob.Kind.COUNTY_OVERVIEW,
            requested_by=county_admin,
            county=county_admin.county,
            params={"month": f"{last_month:%Y-%m}", "sort": "name"},
        ),
        "year_xlsx_task": ExportJob(
            kind=ExportJob.Kind.YEAR_REPORT,
            requested_by=manager,
            village=village,
            params={"year": last_month.year},
        ),
    }


def _timed(work, repeat: int) -> dict:
    """Median time (ms) and query count of `work()` after warming up as the pages are, and
    the time of its first call (ms; what it took with nothing in the cache)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    began = time.perf_counter()
    work()  # the first time: nothing of it in the cache yet
    first = (time.perf_counter() - began) * 1000
    for _warm in range(4):
        work()
    with CaptureQueriesContext(connection) as queries:
        work()
    query_count = len(queries)
    times = []
    for _run in range(repeat):
        began = time.perf_counter()
        work()
        times.append((time.perf_counter() - began) * 1000)
    return {"ms": statistics.median(times), "queries": query_count, "first_ms": first}


def growth(repeat: int = 25) -> dict[str, dict]:
    """Median server time (ms) and query count of each page, through the whole middleware."""
    from django.conf import settings
    from django.test import Client

    from reports.exports import _builder

    results = {}
    for name, page in bench_pages().items():
        client = Client()
        if page["cookie"]:
            client.cookies[settings.SESSION_COOKIE_NAME] = page["cookie"]

        def request(client=client, name=name, url=page["url"]):
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {url} answered {response.status_code}")

        results[name] = _timed(request, repeat)
    for name, job in export_jobs().items():

        def build(job=job):
            _builder(job.kind)(job, _no_progress)

        results[name] = _timed(build, repeat)
    return results


def _no_progress(percent: int, step: str) -> None:
    """The worker writes its progress to the job's row; the bench times the work alone."""


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aidao.settings")
    django.setup()
    action = sys.argv[1]
    print(json.dumps(bench_pages() if action == "sessions" else growth()))


if __name__ == "__main__":
    main()
