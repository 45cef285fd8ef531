"""The county overview: every village in one table, figures from aggregates, read-only links."""

import datetime
import io

import pytest
from django.core.cache import cache
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.access import Role
from core.fragments import CSRF_SLOT
from points.ledger import entry_post
from points.models import Account, Entry
from reports.exports import export_job_run, export_job_start
from reports.models import ExportJob
from store.models import StockMovement
from store.services import zones_ensure
from tests.conftest import issue_card, make_staff
from tests.factories import (
    CountyFactory,
    HouseholdFactory,
    TownshipFactory,
    VillageFactory,
    VillageGroupFactory,
)
from tests.reports.conftest import (
    build_history,
    expected_flows,
    expected_redeemed_month,
    expected_stock_points,
    give_points,
)
from tests.store.conftest import make_item
from villagers.models import Card, Household
from wishwall.models import Wish

URL = reverse("reports:county_overview")


def _village_with_history(village=None, households=2):
    village = village or VillageFactory()
    manager = make_staff(Role.MANAGER, village=village, username=f"m{village.code}")
    supervisor = make_staff(Role.SUPERVISOR, village=village, username=f"s{village.code}")
    group = VillageGroupFactory(village=village)
    members = [HouseholdFactory(group=group) for _ in range(households)]
    for household in members:
        issue_card(household, manager)
        household.refresh_from_db()
    zones_ensure(village=village)
    items = [
        make_item(village, "grain_oil", f"米{village.code}", 20, 30, manager),
        make_item(village, "grain_oil", f"油{village.code}", 30, 20, manager),
        make_item(
            village, "appliances", f"壶{village.code}", 40, 2, manager, low_stock_threshold=3
        ),
    ]
    build_history(village, households=members, manager=manager, supervisor=supervisor, items=items)
    return village


def _expected_row(village) -> dict:
    month = timezone.localdate().replace(day=1)
    return {
        "household_count": Household.objects.filter(village=village, status="active").count(),
        "card_count": Card.objects.filter(household__village=village, status="active").count(),
        "issued": expected_flows(village)[month]["issued_net"],
        "redeemed": expected_redeemed_month(village, month),
        "stock_points": expected_stock_points(village),
        "wishes_open": Wish.objects.filter(village=village, status__in=["open", "matched"]).count(),
        # The latest time, whatever the order rows were written in (history is backdated).
        "last_activity": max(
            moment
            for moment in (
                Entry.objects.filter(account__village=village).aggregate(m=Max("created_at"))["m"],
                StockMovement.objects.filter(village=village).aggregate(m=Max("created_at"))["m"],
                Wish.objects.filter(village=village).aggregate(m=Max("created_at"))["m"],
            )
            if moment
        ),
    }


def test_county_figures_match_each_village(client_county, village_x, village_y, history_x, card_y):
    response = client_county.get(URL)
    assert response.status_code == 200
    rows = {village.pk: village for village in response.context["villages"]}
    assert set(rows) == {village_x.pk, village_y.pk}
    for village in (village_x, village_y):
        expected = _expected_row(village)
        for key, value in expected.items():
            assert getattr(rows[village.pk], key) == value, (village, key)
    assert rows[village_x.pk].pending == 1 and rows[village_y.pk].pending == 0
    assert rows[village_x.pk].issued == 220 and rows[village_x.pk].redeemed == 50
    total = response.context["total"]
    assert total.villages == 2
    assert (
        total.household_count
        == rows[village_x.pk].household_count + rows[village_y.pk].household_count
    )
    assert total.stock_points == expected_stock_points(village_x) + expected_stock_points(village_y)
    assert total.last_activity == max(v.last_activity for v in rows.values())
    page = response.content.decode()
    assert "County total" in page


def test_sorting_is_server_side(client_county, village_x, village_y, history_x, card_y):
    names = lambda response: [v.name for v in response.context["villages"]]  # noqa: E731
    assert names(client_county.get(URL)) == sorted([village_x.name, village_y.name])
    assert names(client_county.get(URL, {"sort": "-issued"}))[0] == village_x.name
    assert names(client_county.get(URL, {"sort": "issued"}))[0] == village_y.name
    assert names(client_county.get(URL, {"sort": "-pending"}))[0] == village_x.name
    # Unknown keys fall back to the name, never an error.
    assert client_county.get(URL, {"sort": "password"}).status_code == 200
    page = client_county.get(URL, {"sort": "-stock"}).content.decode()
    assert 'aria-sort="descending"' in page


def test_rows_open_the_village_read_only(client_county, village_x, village_y, history_x):
    page = client_county.get(URL).content.decode()
    assert f'name="village" value="{village_x.pk}"' in page
    response = client_county.post(
        reverse("villagers:village_pick"),
        {"village": village_y.pk, "next": reverse("reports:dashboard")},
    )
    assert response.url == reverse("reports:dashboard")
    assert client_county.get(response.url).context["village"] == village_y
    # An outside address is not followed.
    response = client_county.post(
        reverse("villagers:village_pick"),
        {"village": village_x.pk, "next": "https://evil.example/"},
    )
    assert response.url == reverse("home")
    dashboard = client_county.get(reverse("reports:dashboard"))
    assert dashboard.context["village"] == village_x
    # Read-only: the county admin cannot act in the village.
    assert client_county.get(reverse("points:approval_queue")).status_code == 403


def test_another_county_is_not_shown(client_county, village_x, village_y):
    other = VillageFactory(
        township=TownshipFactory(county=CountyFactory(name="黄龙县"), name="某乡")
    )
    response = client_county.get(URL)
    assert other.pk not in {v.pk for v in response.context["villages"]}
    # Nor can it be picked.
    assert (
        client_county.post(reverse("villagers:village_pick"), {"village": other.pk}).status_code
        == 404
    )


@pytest.mark.parametrize(
    ("client_name", "status"),
    [
        ("client_anon", 302),
        ("client_villager_a", 403),
        ("client_manager_x", 403),
        ("client_supervisor_x", 403),
        ("client_county", 200),
    ],
)
def test_only_county_admins(request, client_name, status, card_a):
    client = request.getfixturevalue(client_name)
    assert client.get(URL).status_code == status
    assert client.post(reverse("reports:county_export")).status_code in (status, 302)
    if status == 403:
        assert not ExportJob.objects.exists()


def test_county_queries_do_not_grow_with_villages(
    client_county, village_x, history_x, django_assert_max_num_queries
):
    with django_assert_max_num_queries(20) as one:
        response = client_county.get(URL)
    assert len(response.context["villages"]) == 2
    baseline = len(one.captured_queries)
    for _ in range(4):
        _village_with_history()
    with django_assert_max_num_queries(baseline):
        response = client_county.get(URL, {"sort": "-activity"})
    assert len(response.context["villages"]) == 6
    assert all(
        v.issued == 220
        for v in response.context["villages"]
        if v.pk != history_x["kept"].village_id and v.card_count
    )


def test_county_export_runs_in_the_background(
    client_county, county_admin, village_x, history_x, client_manager_x
):
    response = client_county.post(reverse("reports:county_export"), {"sort": "-issued"})
    job = ExportJob.objects.get()
    assert job.kind == "county" and job.county == county_admin.county
    assert response.url == reverse("reports:export_status", args=[job.pk])
    export_job_run(job.pk)
    export_job_run(job.pk)  # a second run finds the job claimed and does nothing
    job.refresh_from_db()
    assert job.status == "done"
    download = client_county.get(reverse("reports:export_download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(download.content)).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    by_name = {row[1]: row for row in rows[:-1]}
    page = client_county.get(URL).context["villages"]
    for village in page:
        row = by_name[village.name]
        assert row[2:9] == (
            village.household_count,
            village.card_count,
            village.issued,
            village.redeemed,
            village.pending,
            village.stock_points,
            village.wishes_open,
        )
    assert rows[-1][0] == "County total"
    assert rows[-1][2] == sum(v.household_count for v in page)
    # Nobody else may see or download it.
    assert client_manager_x.get(reverse("reports:export_status", args=[job.pk])).status_code == 404
    assert (
        client_manager_x.get(reverse("reports:export_download", args=[job.pk])).status_code == 404
    )


def test_figures_are_reused_for_a_minute_and_the_page_says_when(
    client_county, county_admin, village_x, history_x, card_a, manager_x
):
    def issued_x(response):
        return next(v.issued for v in response.context["villages"] if v.pk == village_x.pk)

    first = client_county.get(URL)
    assert "Figures as of" in first.content.decode()
    give_points(card_a.household, 7, manager_x)
    # Within the minute the same sums are shown, with the time they were added up.
    again = client_county.get(URL, {"sort": "-issued"})
    assert issued_x(again) == issued_x(first)
    assert again.context["as_of"] == first.context["as_of"]
    # The kept table's forms carry this request's CSRF token, not the placeholder.
    assert CSRF_SLOT not in again.content.decode()
    assert again.content.decode().count('name="csrfmiddlewaretoken"') >= 2
    # Once they expire (here: the cache is emptied) they are added up afresh.
    cache.clear()
    fresh = client_county.get(URL)
    assert issued_x(fresh) == issued_x(first) + 7
    assert fresh.context["as_of"] > first.context["as_of"]
    # A village added to the county is shown at once, with figures added up for it.
    newcomer = _village_with_history()
    newcomer.township = village_x.township
    newcomer.save()
    rows = client_county.get(URL).context["villages"]
    assert newcomer.pk in {v.pk for v in rows}
    # The .xlsx never uses the cached sums.
    give_points(card_a.household, 3, manager_x)
    job = export_job_start(
        kind=ExportJob.Kind.COUNTY_OVERVIEW,
        user=county_admin,
        county=county_admin.county,
        params={"month": f"{timezone.localdate():%Y-%m}", "sort": "name"},
    )
    export_job_run(job.pk)
    job.refresh_from_db()
    client_county.get(URL)  # still the cached figures on the page
    download = client_county.get(reverse("reports:export_download", args=[job.pk]))
    sheet = load_workbook(io.BytesIO(download.content)).active
    row_x = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[1] == village_x.name)
    assert row_x[4] == issued_x(fresh) + 3


def test_last_activity_is_the_latest_time_not_the_latest_row(
    client_county, village_x, village_y, card_a, manager_x
):
    account = Account.objects.get(household=card_a.household)
    latest = account.entries.latest("created_at").created_at
    # Posted last, but dated two years back (as the loaders do): not the latest activity.
    entry_post(
        account_id=account.pk,
        kind=Entry.Kind.AWARD,
        points=1,
        actor=manager_x,
        at=timezone.now() - datetime.timedelta(days=700),
    )
    rows = {village.pk: village for village in client_county.get(URL).context["villages"]}
    assert rows[village_x.pk].last_activity == latest
