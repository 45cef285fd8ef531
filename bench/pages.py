"""The benchmark's pages, their logins, and their server-side time and query counts.

python -m bench.pages sessions -> JSON {page: {"url", "cookie"}} for the HTTP load test
python -m bench.pages growth   -> JSON {page: {"ms", "queries"}}, timed in this process
Both on the database in DATABASE_URL; every page is one of village 101 (啊道村), which is
the same village with the same history in the one-village and the county dataset.
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
    cart = {"household": household_id, "lines": {str(pk): 1 for pk in cart_items}}
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    villager_cookie = _session(villager, VILLAGER_BACKEND)
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
            "cookie": _session(manager, STAFF_BACKEND),
        },
        "county_overview": {
            "url": f"{reverse('reports:county_overview')}?month={last_month:%Y-%m}",
            "cookie": _session(county_admin, STAFF_BACKEND),
        },
    }


def growth(repeat: int = 25) -> dict[str, dict]:
    """Median server time (ms) and query count of each page, through the whole middleware."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    results = {}
    for name, page in bench_pages().items():
        client = Client()
        client.cookies[settings.SESSION_COOKIE_NAME] = page["cookie"]
        for _warm in range(5):
            response = client.get(page["url"])
            if response.status_code != 200:
                raise RuntimeError(f"{name}: {page['url']} answered {response.status_code}")
        with CaptureQueriesContext(connection) as queries:
            client.get(page["url"])
        query_count = len(queries)  # now: the next request clears the connection's log
        times = []
        for _run in range(repeat):
            began = time.perf_counter()
            client.get(page["url"])
            times.append((time.perf_counter() - began) * 1000)
        results[name] = {
            "ms": statistics.median(times),
            "queries": query_count,
        }
    return results


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aidao.settings")
    django.setup()
    action = sys.argv[1]
    print(json.dumps(bench_pages() if action == "sessions" else growth()))


if __name__ == "__main__":
    main()
