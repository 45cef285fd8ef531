"""The read-only API for county systems: a token per county or township reads what that
county's admin or township's officer oversees, and only what their pages show them; its
schema is valid OpenAPI; every call is audited; each token is rate limited; tokens are
hashed and revocable.
"""

import datetime
import hashlib
import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from openapi_spec_validator import validate

from core.audit import REFUSALS_RECORDED_PER_MINUTE, REFUSALS_RECORDED_PER_MINUTE_IN_ALL
from core.models import AuditEvent
from core.months import previous_month
from points.ledger import entry_post
from points.models import Entry
from reports.api import MAX_PAGE_SIZE
from reports.api_tokens import api_token_create, api_token_revoke
from reports.models import ApiToken
from reports.notice import notice_publish
from store.models import Donation, Donor
from store.services import (
    donation_record,
    reservation_create,
    stock_write_off_request,
    zones_ensure,
)
from tests.conftest import issue_card, make_staff
from tests.factories import HouseholdFactory, VillageGroupFactory
from tests.store.conftest import make_item
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE

API = "/api/v1"


@pytest.fixture
def token_x(county_admin, village_x):
    """A token of the township of villages X and Y."""
    return api_token_create(name="乡平台", actor=county_admin, township=village_x.township)[1]


@pytest.fixture
def token_county(county_admin, village_x):
    """A token of the whole county."""
    return api_token_create(name="县平台", actor=county_admin, county=county_admin.county)[1]


@pytest.fixture
def token_z(county_admin, village_z):
    """A token of village Z's township."""
    return api_token_create(name="集义乡", actor=county_admin, township=village_z.township)[1]


@pytest.fixture
def card_z(village_z):
    household = HouseholdFactory(group=VillageGroupFactory(village=village_z), number="Z001")
    return issue_card(household, make_staff("Manager", village=village_z, username="manager_z"))


def call(key, path, **params):
    return Client().get(f"{API}{path}", params, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_a_townships_token_sees_nothing_of_another(
    token_x, token_z, token_county, village_x, village_y, village_z, card_a, card_z
):
    overview = call(token_z, "/overview").json()
    assert [village["code"] for village in overview["villages"]] == [village_z.code]
    for path in ("donations", "notices"):
        assert call(token_z, f"/villages/{village_x.code}/{path}").status_code == 404, path
        assert call(token_z, f"/villages/{village_z.code}/{path}").status_code == 200, path
        assert call(token_x, f"/villages/{village_z.code}/{path}").status_code == 404, path
    codes = {village["code"] for village in call(token_x, "/overview").json()["villages"]}
    assert codes == {village_x.code, village_y.code}
    # The county's token reads every village of the county, and no unknown one.
    for village, number in ((village_x, "X001"), (village_z, "Z001")):
        households = call(token_county, f"/villages/{village.code}/households").json()
        assert [h["number"] for h in households["items"]] == [number]
    assert call(token_county, "/villages/999/households").status_code == 404


# Each operation and the page showing the same data: a token reads it only where that page
# opens for the person the token stands for (the county admin, the township officer) once
# they look into the village.
PAGES = {
    "/overview": lambda household: reverse("reports:county_overview"),
    "/villages/{code}/households": lambda household: reverse("reports:household_list"),
    "/villages/{code}/ledger": lambda household: reverse(
        "points:household_ledger", args=[household.pk]
    ),
    "/villages/{code}/stock": lambda household: reverse("store:stock_list"),
    "/villages/{code}/donations": lambda household: reverse("reports:donations_traced"),
    "/villages/{code}/notices": lambda household: reverse("reports:notice"),
}


@pytest.mark.parametrize(
    ("scope", "readable"),
    [
        ("county", set(PAGES)),
        # The officer reads, not runs, the villages: no registry, ledger or stock pages.
        ("township", {"/overview", "/villages/{code}/donations", "/villages/{code}/notices"}),
    ],
)
def test_a_token_reads_no_more_than_the_pages_of_its_role(
    scope, readable, county_admin, township_officer, village_x, household_a, card_a
):
    if scope == "county":
        reader = county_admin
        key = api_token_create(name="县", actor=county_admin, county=county_admin.county)[1]
    else:
        reader = township_officer
        key = api_token_create(name="乡", actor=county_admin, township=village_x.township)[1]
    pages = Client()
    pages.force_login(reader)
    pages.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    for path, page in PAGES.items():
        answer = call(key, path.format(code=village_x.code))
        assert answer.status_code == (200 if path in readable else 403), path
        assert (pages.get(page(household_a)).status_code == 200) == (path in readable), path
    # Refused before the village is looked up: a refusal tells nothing of which exist.
    refused = call(key, "/villages/999/households").status_code
    assert refused == (404 if scope == "county" else 403)


def test_the_schema_is_valid_openapi(client):
    response = client.get(reverse("api:openapi-json"))
    assert response.status_code == 200
    schema = response.json()
    validate(schema)  # raises on any error against the OpenAPI 3 specification
    assert schema["openapi"].startswith("3.")
    assert f"{API}/villages/{{code}}/households" in schema["paths"]
    # Every operation asks for the bearer token.
    assert schema["components"]["securitySchemes"]
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert len(operations) == 6 and all(op["security"] for op in operations)


def test_the_schema_documents_every_answer_an_operation_gives(
    client, token_x, token_county, village_x
):
    """The schema documented 200 only, though operations answer 401, 403, 404, 422, 429
    and 400: each refusal met here (429 is the rate limit's) is among the operation's."""
    schema = client.get(reverse("api:openapi-json")).json()
    operations = {
        path.removeprefix(API): operation["get"]
        for path, operation in schema["paths"].items()
        if "openapi" not in path
    }
    assert len(operations) == 6
    for path, operation in operations.items():
        documented = {int(status) for status in operation["responses"]}
        url = path.format(code=village_x.code)
        bad = {"month": "2024-13"} if path == "/overview" else {"page": 0}
        answers = {
            call("not-a-key", url).status_code,
            call(token_county, url, **bad).status_code,
            call(token_x, url).status_code,  # a township's: 403 where its pages refuse it
            call(token_county, path.format(code="999")).status_code,
            call(token_county, url, x="\x00").status_code,
        }
        assert {400, 401, 422} <= answers, path
        assert answers | {429} <= documented, path
        assert all(operation["responses"][str(status)]["description"] for status in documented)


def test_balances_and_totals_are_the_pages_figures(
    token_x, token_county, client_supervisor_x, client_township, card_a, card_b, card_y, village_x
):
    households = call(token_county, f"/villages/{village_x.code}/households").json()
    assert households["count"] == 2
    for row in households["items"]:
        page = client_supervisor_x.get(reverse("reports:household", args=[row["id"]]))
        assert row["balance"] == page.context["account"].balance
    overview = call(token_x, "/overview").json()
    page = client_township.get(reverse("reports:county_overview"))
    total = page.context["total"]
    for figure in ("household_count", "card_count", "issued", "points_held", "stock_points"):
        assert overview["total"][figure] == getattr(total, figure), figure
    assert overview["total"]["points_held"] == 300  # three cards of 100
    ledger = call(token_county, f"/villages/{village_x.code}/ledger").json()
    assert ledger["count"] == 2 and {e["points"] for e in ledger["items"]} == {100}


def test_the_ledger_is_followed_by_id_with_no_entry_twice_or_missed(
    token_county, village_x, card_a, card_b, manager_x, monkeypatch
):
    """Paged newest first, an entry posted between two pages shifted them: page 2 served
    page 1's entry again and the oldest was never served. `after` follows the ledger in
    the order it was written; without it the pages are as they were."""
    path = f"/villages/{village_x.code}/ledger"
    newest_first = [e["id"] for e in call(token_county, path).json()["items"]]
    assert newest_first == sorted(newest_first, reverse=True) and len(newest_first) == 2
    # Entries are listed once settled (an older id may still be committing beside them).
    assert call(token_county, path, after=0).json() == {"items": [], "count": 0}
    monkeypatch.setattr("reports.api.SYNC_SETTLE_SECONDS", 0)
    served, after = [], 0
    while items := call(token_county, path, after=after, page_size=1).json()["items"]:
        served += [entry["id"] for entry in items]
        after = served[-1]
        if len(served) == 1:  # an entry posted while the client reads
            account = card_a.household.account
            entry_post(account_id=account.pk, kind=Entry.Kind.DEDUCTION, points=-3, actor=manager_x)
    ledger = Entry.objects.filter(account__village=village_x)
    assert served == sorted(ledger.values_list("id", flat=True)) and len(served) == 3
    assert call(token_county, path, after=-1).status_code == 422


def test_a_newer_id_with_an_older_time_waits_for_the_ids_before_it(
    token_county, village_x, card_a, card_b
):
    """An entry's id is drawn before its time is taken: of two written at once, the newer
    id may carry the older time and settle first. Listed alone, the client would move past
    the older id, still settling, and never see it."""
    now = timezone.now()
    path = f"/villages/{village_x.code}/ledger"
    older_id = Entry.objects.create(
        account=card_a.household.account,
        kind=Entry.Kind.AWARD,
        points=1,
        balance_after=101,
        created_at=now - datetime.timedelta(seconds=10),
    )
    newer_id = Entry.objects.create(
        account=card_b.household.account,
        kind=Entry.Kind.AWARD,
        points=1,
        balance_after=101,
        created_at=now - datetime.timedelta(seconds=120),
    )
    assert newer_id.pk > older_id.pk
    served = [e["id"] for e in call(token_county, path, after=0).json()["items"]]
    assert newer_id.pk not in served and older_id.pk not in served
    assert served == sorted(served) and all(pk < older_id.pk for pk in served)


def test_personal_data_is_masked(token_county, village_x, household_a, card_a):
    from tests.factories import MemberFactory

    MemberFactory(household=household_a, id_number=SECRET_ID, phone=SECRET_PHONE)
    body = call(token_county, f"/villages/{village_x.code}/households").content.decode()
    assert SECRET_ID not in body and SECRET_PHONE not in body
    member = json.loads(body)["items"][0]["members"][0]
    assert member["id_number"].startswith(SECRET_ID[:4]) and "*" in member["id_number"]
    assert "*" in member["phone"]


def test_a_household_lists_only_the_members_still_in_it(
    token_county, village_x, household_a, manager_x
):
    from tests.factories import MemberFactory
    from villagers.services import member_leave

    MemberFactory(household=household_a, name="王大山", relation="head")
    gone = MemberFactory(household=household_a, name="李秀英", relation="parent", birth_year=1940)
    member_leave(member=gone, on=datetime.date.today(), why="died", actor=manager_x)
    items = call(token_county, f"/villages/{village_x.code}/households").json()["items"]
    (listed,) = [item for item in items if item["number"] == household_a.number]
    assert [member["name"] for member in listed["members"]] == ["王大山"]


def test_stock_donations_and_notices(
    token_x, token_county, village_x, supervisor_x, manager_x, card_a
):
    donation_record(
        village=village_x,
        donor=Donor(village=village_x, name="顺达公司", kind="company"),
        kind=Donation.Kind.MONEY,
        value_yuan="500.00",
        thanks="感谢",
        actor=manager_x,
    )
    last = previous_month(timezone.localdate())
    notice_publish(
        village=village_x,
        year=last.year,
        month=last.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )
    donations = call(token_x, f"/villages/{village_x.code}/donations").json()["items"]
    assert [(d["donor"], d["value_yuan"]) for d in donations] == [("顺达公司", "500.00")]
    notices = call(token_x, f"/villages/{village_x.code}/notices").json()["items"]
    assert notices[0]["month"] == f"{last:%Y-%m}"
    assert notices[0]["signatures"][0]["name"] == "supervisor_x"
    assert notices[0]["public_url"].endswith(
        reverse("reports:notice_public", args=[village_x.code, last.year, last.month])
    )
    stock = call(token_county, f"/villages/{village_x.code}/stock").json()
    assert stock == {"items": [], "count": 0}
    zones_ensure(village=village_x)
    make_item(village_x, "grain_oil", "大米 10kg", 20, 50, manager_x, unit="袋")
    (item,) = call(token_county, f"/villages/{village_x.code}/stock").json()["items"]
    assert (item["name"], item["zone"], item["stock"]) == ("大米 10kg", "Grain & oil (粮油区)", 50)


def test_the_stock_says_what_is_held_set_aside_and_available(
    client, token_county, village_x, manager_x, villager_a, card_a
):
    """The stock gave the books' count only: a county system read 50 bags on offer where
    reservations held some and others waited to be written off."""
    zones_ensure(village=village_x)
    rice = make_item(village_x, "grain_oil", "大米 10kg", 20, 50, manager_x, unit="袋")
    reservation_create(household=card_a.household, lines={rice.pk: 3}, actor=villager_a)
    stock_write_off_request(item=rice, quantity=5, cause="spoiled", reason="受潮", actor=manager_x)
    (item,) = call(token_county, f"/villages/{village_x.code}/stock").json()["items"]
    figures = {name: item[name] for name in ("stock", "held", "writing_off", "available")}
    assert figures == {"stock": 50, "held": 3, "writing_off": 5, "available": 42}
    schema = client.get(reverse("api:openapi-json")).json()["components"]["schemas"]["ItemOut"]
    for name in ("held", "writing_off", "available"):
        assert name in schema["required"] and schema["properties"][name]["description"], name


def test_pages_past_the_last_are_empty_and_past_any_are_refused(token_county, village_x, card_a):
    path = f"/villages/{village_x.code}/households"
    assert call(token_county, path, page=2).json()["items"] == []
    for page in (10**20, 0, -1, "abc"):
        assert call(token_county, path, page=page).status_code == 422, page


@pytest.mark.parametrize(
    "month", ["2024-13", "abc", "202401", "2024-1", "2024-02-30", "1999-12", "9999-01", "2024-01\n"]
)
def test_a_bad_month_is_refused_saying_what_a_month_is(client, token_x, village_x, month):
    """A bad month was a bare 404 "Not Found", as if the token's villages were gone."""
    answer = call(token_x, "/overview", month=month)
    assert answer.status_code == 422
    (error,) = answer.json()["detail"]
    assert error["loc"] == ["query", "month"]
    assert "YYYY-MM, from 2000-01 to this month" in error["msg"]


def test_the_month_is_described_in_the_schema(client, token_x, village_x):
    schema = client.get(reverse("api:openapi-json")).json()
    (month,) = schema["paths"][f"{API}/overview"]["get"]["parameters"]
    assert month["required"] is False and "YYYY-MM" in month["description"]
    assert re.fullmatch(month["schema"]["pattern"], "2024-01")
    assert not re.fullmatch(month["schema"]["pattern"], "2024-13")
    assert call(token_x, "/overview", month="").json()["month"] == f"{timezone.localdate():%Y-%m}"
    assert call(token_x, "/overview", month="2024-01").json()["month"] == "2024-01"


def test_the_schema_says_which_overview_figures_are_todays(client):
    """Found by a probe: a past month's overview held today's households, cards, balances,
    waiting proposals, stock and wishes beside that month's flows, with no word of it."""
    schema = client.get(reverse("api:openapi-json")).json()
    fields = schema["components"]["schemas"]["VillageFigures"]["properties"]
    todays = {name for name, field in fields.items() if "Today's" in field.get("description", "")}
    assert todays == {
        "household_count",
        "card_count",
        "points_held",
        "pending",
        "stock_points",
        "wishes_open",
    }
    assert "in the month" in fields["issued"]["description"]


def test_the_largest_page_is_in_the_schema_and_a_larger_one_refused(
    client, token_county, village_x, group_x
):
    """ninja served 100 a page whatever page_size asked, with no sign: 150 asked, 100 served."""
    schema = client.get(reverse("api:openapi-json")).json()
    for path, operations in schema["paths"].items():
        if "page_size" in json.dumps(operations):
            (size,) = [p for p in operations["get"]["parameters"] if p["name"] == "page_size"]
            assert size["schema"]["anyOf"][0]["maximum"] == MAX_PAGE_SIZE, path
    for _ in range(MAX_PAGE_SIZE + 1):
        HouseholdFactory(group=group_x)
    path = f"/villages/{village_x.code}/households"
    assert len(call(token_county, path, page_size=MAX_PAGE_SIZE).json()["items"]) == MAX_PAGE_SIZE
    refused = call(token_county, path, page_size=MAX_PAGE_SIZE + 1)
    assert refused.status_code == 422 and "page_size" in refused.content.decode()


def test_the_county_reads_its_tokens_calls_by_the_village_they_read(
    token_county, client_county, village_x, village_b, county_admin_b
):
    """A call is in the token's county's audit log, under the village it read; a village
    not the token's (refused) places it in the county only; another county reads none."""
    call(token_county, f"/villages/{village_x.code}/donations")
    assert call(token_county, f"/villages/{village_b.code}/donations").status_code == 404
    read_x, read_b = AuditEvent.objects.filter(action="api.call").order_by("id")
    assert (read_x.village_id, read_b.village_id) == (village_x.pk, None)
    assert (read_x.county_id, read_b.county_id) == (None, village_x.township.county_id)
    audit = reverse("reports:audit")
    body = client_county.get(audit, {"action": "api", "village": village_x.pk}).content.decode()
    assert f"{API}/villages/{village_x.code}/donations" in body
    assert f"/villages/{village_b.code}/" not in body
    assert f"/villages/{village_b.code}/" in client_county.get(audit).content.decode()
    other = Client()
    other.force_login(county_admin_b)
    assert "/api/v1/" not in other.get(audit).content.decode()


def test_every_call_is_audited_and_a_bad_key_refused(token_x, village_x, monkeypatch):
    monkeypatch.setattr("core.audit._minute", lambda: 29_000_000)  # one minute throughout
    call(token_x, "/overview")
    call(token_x, f"/villages/{village_x.code}/donations", page=1)
    calls = AuditEvent.objects.filter(action="api.call").order_by("id")
    assert [event.detail["path"] for event in calls] == [
        f"{API}/overview",
        f"{API}/villages/{village_x.code}/donations",
    ]
    assert calls[1].detail["query"] == "page=1" and calls[0].object_type == "reports.apitoken"
    assert call("not-a-key", "/overview").status_code == 401
    assert Client().get(f"{API}/overview").status_code == 401
    assert AuditEvent.objects.filter(action="api.refused").count() == 2
    # Callers without a token cannot fill the log: refused still, recorded only so often.
    long_path = f"{API}/villages/{'9' * 1000}/stock"
    for _ in range(REFUSALS_RECORDED_PER_MINUTE + 5):
        assert Client().get(long_path).status_code == 401
    refused = AuditEvent.objects.filter(action="api.refused")
    assert refused.count() == REFUSALS_RECORDED_PER_MINUTE
    assert max(len(event.detail["path"]) for event in refused.all()) == 200
    # Nor from many addresses: an IPv6 caller counts by its /64, and all callers together
    # are recorded only so often.
    for host in range(REFUSALS_RECORDED_PER_MINUTE + 5):
        Client(REMOTE_ADDR=f"2001:db8::{host + 1:x}").get(long_path)
    assert refused.count() == 2 * REFUSALS_RECORDED_PER_MINUTE
    for host in range(REFUSALS_RECORDED_PER_MINUTE_IN_ALL):
        Client(REMOTE_ADDR=f"10.0.{host // 250}.{host % 250 + 1}").get(long_path)
    assert refused.count() == REFUSALS_RECORDED_PER_MINUTE_IN_ALL


def _read_by(user, **query) -> set[int]:
    client = Client()
    client.force_login(user)
    page = client.get(reverse("reports:audit"), query).context["page"]
    return {event.pk for event in page.object_list}


def test_a_refused_key_is_in_a_log_the_county_reads_and_never_whole(
    token_county, county_admin, county_admin_b, township_officer, monkeypatch
):
    """Found by the audit's review: a call refused for a revoked or unknown key was
    recorded with no place, so no county's admin read it: keys could be tried unseen. A
    revoked token's key is its county's event (by the token's prefix); any other key, or
    none, the whole site's: every county admin reads it, with the key's first characters
    only, and no township officer does."""
    monkeypatch.setattr("core.audit._minute", lambda: 29_000_000)
    revoked = ApiToken.objects.get()
    api_token_revoke(token=revoked, actor=county_admin)
    mistyped = token_county[:-1] + ("A" if token_county[-1] != "A" else "B")
    for key in (token_county, mistyped, "hunter2 is my password", ""):
        assert call(key, "/overview").status_code == 401
    events = list(AuditEvent.objects.filter(action="api.refused").order_by("id"))
    assert [event.detail.get("revoked") for event in events] == [revoked.prefix, None, None, None]
    assert events[1].detail["key"] == token_county[:4]
    assert events[2].detail["not_a_key"] is True and "key" not in events[3].detail
    for event in events:
        assert token_county not in json.dumps(event.detail) and "hunter" not in str(event.detail)
    assert (events[0].object_id, events[0].county_id) == (str(revoked.pk), revoked.county_id)
    site = {event.pk for event in events[1:]}
    assert all(event.county_id is event.township_id is None for event in events[1:])
    assert _read_by(county_admin, action="api") >= {events[0].pk, *site}
    assert _read_by(county_admin_b, action="api") & {event.pk for event in events} == site
    assert not _read_by(township_officer) & {event.pk for event in events}
    client = Client()
    client.force_login(county_admin)
    with translation.override("en"):
        text = client.get(reverse("reports:audit"), {"action": "api.refused"}).text
    assert f"a key starting {token_county[:4]}…" in text
    assert f"the key of a revoked token, {revoked.prefix}…" in text
    assert "the whole site" in text


def test_past_its_number_an_addresss_refusals_are_recorded_at_each_doubling(db, monkeypatch):
    monkeypatch.setattr("core.audit._minute", lambda: 29_000_000)
    for _ in range(64):
        assert Client().get(f"{API}/overview").status_code == 401
    refused = AuditEvent.objects.filter(action="api.refused").order_by("id")
    assert refused.count() == REFUSALS_RECORDED_PER_MINUTE + 2
    assert [event.detail.get("refused") for event in refused][-3:] == [None, 32, 64]


def test_a_key_sent_in_the_address_too_stays_out_of_the_audit_log(
    token_county, village_x, card_a, manager_x, monkeypatch
):
    """A client that sends its key as a parameter as well (`?access_token=`, as some do)
    put it in the village's audit log, which its manager reads: a county's key reads every
    village. The parameters the API reads keep their values; others are named only (or not
    even named, where the name could be a key)."""
    monkeypatch.setattr("core.audit._minute", lambda: 29_000_000)
    path = f"{API}/villages/{village_x.code}/households"
    query = f"access_token={token_county}&page=1&{token_county}&month=x%20y&page_size=5"
    response = Client().get(f"{path}?{query}", HTTP_AUTHORIZATION=f"Bearer {token_county}")
    assert response.status_code == 200
    Client().get(f"{path}?key={token_county}")  # refused, and recorded
    api_events = AuditEvent.objects.filter(action__startswith="api.").order_by("id")
    audited = [event.detail["query"] for event in api_events]
    assert audited[-2:] == ["access_token=…&page=1&…&month=x%20y&page_size=5", "key=…"]
    manager = Client()
    manager.force_login(manager_x)
    log = manager.get(reverse("reports:audit")).content.decode()
    assert path in log and token_county not in log


def test_the_apis_answers_are_kept_by_no_cache(token_county, village_x, card_a):
    """Households and the ledger went out with no Cache-Control: the middleware marking a
    signed-in user's pages private saw no user (a key signs each call, not a session)."""
    for path in ("/overview", f"/villages/{village_x.code}/households", "/nope"):
        response = call(token_county, path)
        assert {"private", "no-store"} <= set(response["Cache-Control"].split(", ")), path
    assert "no-store" in call("not-a-key", "/overview")["Cache-Control"]


def test_each_token_is_rate_limited(token_x, token_z, village_x, settings):
    from django.conf import settings as live

    limit = int(live.API_RATE_LIMIT.split("/")[0])
    path = f"/villages/{village_x.code}/donations"
    answers = [call(token_x, path).status_code for _ in range(limit + 1)]
    assert answers[:limit] == [200] * limit and answers[-1] == 429
    assert call(token_z, "/overview").status_code == 200  # another token, its own count


def test_tokens_are_hashed_revocable_and_the_county_admins(
    county_admin, manager_x, village_x, village_z
):
    token, key = api_token_create(name="审计", actor=county_admin, county=county_admin.county)
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert call(key, "/overview").status_code == 200
    api_token_revoke(token=token, actor=county_admin)
    assert call(key, "/overview").status_code == 401
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        api_token_create(name="x", actor=manager_x, township=village_x.township)
    other = make_staff("County admin", county=None, username="nobody_county")
    with pytest.raises(PermissionDenied):
        api_token_create(name="x", actor=other, township=village_z.township)


def test_the_command_goes_by_the_tokens_county_not_where_its_maker_is_now(
    county_admin, village_x, county_b
):
    """A county admin moves to county B: their successor lists and revokes county A's
    tokens (the township's too); the mover no longer sees them."""
    token, _key = api_token_create(name="县平台", actor=county_admin, county=county_admin.county)
    township_token, _key = api_token_create(
        name="乡平台", actor=county_admin, township=village_x.township
    )
    county_a = county_admin.county
    county_admin.county = county_b
    county_admin.save()
    make_staff("County admin", county=county_a, username="county_new")
    listings = {}
    for by in ("county_new", "county"):
        out = io.StringIO()
        call_command("api_token", "list", "--by", by, stdout=out)
        listings[by] = out.getvalue()
    assert token.prefix in listings["county_new"]
    assert township_token.prefix in listings["county_new"]
    assert listings["county"] == ""
    with pytest.raises(CommandError):
        call_command("api_token", "revoke", token.prefix, "--by", "county", stdout=io.StringIO())
    call_command("api_token", "revoke", token.prefix, "--by", "county_new", stdout=io.StringIO())
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_the_command_makes_lists_and_revokes(county_admin, village_x):
    out = io.StringIO()
    call_command(
        "api_token",
        "create",
        "--by",
        "county",
        "--name",
        "县平台",
        "--township",
        village_x.township.name,
        stdout=out,
    )
    key = out.getvalue().strip().splitlines()[-1]
    assert not key.startswith("-")  # typed after the options, it would read as one
    assert call(key, "/overview").status_code == 200
    listing = io.StringIO()
    call_command("api_token", "list", "--by", "county", stdout=listing)
    assert "县平台" in listing.getvalue() and key not in listing.getvalue()
    # As the README writes it (found by a probe: refused), and with the key's first 4
    # characters only (refused: the whole prefix was needed).
    with pytest.raises(CommandError, match="at least the key's first 4"):
        call_command("api_token", "revoke", "--by", "county", key[:3], stdout=io.StringIO())
    call_command("api_token", "revoke", "--by", "county", key[:4], stdout=io.StringIO())
    assert call(key, "/overview").status_code == 401
