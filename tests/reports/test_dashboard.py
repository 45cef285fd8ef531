"""The supervisor's dashboard: figures match the ledger and the store, scoping, query counts."""

import datetime
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from core.access import village_pick_url
from points.ledger import entry_post
from points.models import Account, Entry, Proposal
from reports.charts import sparkline
from reports.dashboard import last_twelve_months
from reports.selectors import background_work_late, households_to_visit
from store.services import redemption_create, redemption_void, zones_ensure
from tests.conftest import issue_card
from tests.factories import HouseholdFactory, VillageFactory, VillageGroupFactory
from tests.reports.conftest import (
    backdated_entry,
    build_history,
    carry_over_approved,
    expected_flows,
    expected_stock_points,
    expected_zone_points,
    months_ago,
)
from tests.store.conftest import make_item
from wishwall.models import Wish

URL = reverse("reports:dashboard")


def _figure(page: str, label: str) -> int:
    """The big number of the tile headed `label`."""
    match = re.search(
        rf'figure-label">{re.escape(label)}</div>\s*<div class="figure-value">(-?\d+)</div>', page
    )
    assert match, f"no tile {label!r}"
    return int(match.group(1))


def test_dashboard_figures_equal_the_ledger_and_the_store(
    client_supervisor_x, history_x, village_x
):
    response = client_supervisor_x.get(URL)
    assert response.status_code == 200
    context = response.context
    flows = expected_flows(village_x)
    this_month = timezone.localdate().replace(day=1)
    window = last_twelve_months()

    assert context["this_month"].month == this_month
    for key in (
        "issued",
        "awarded",
        "opening",
        "deducted",
        "reversed_awards",
        "reversed_deductions",
        "reversals",
        "redeemed",
    ):
        assert getattr(context["this_month"], key) == flows[this_month][key], key
        in_window = sum(v[key] for month, v in flows.items() if window.start <= month < window.end)
        assert getattr(context["year_total"], key) == in_window, key
    # The history really spans months, and the 14-month-old award stays outside the window.
    assert sum(1 for flow in context["flows"] if flow.issued or flow.redeemed) >= 3
    assert context["year_total"].issued < sum(v["issued"] for v in flows.values())
    # Two awards of 10, a virtue award of 15 and two opening grants of 100: 235 issued. The
    # virtue award's reversal is its own figure, never netted into "issued" (it read -5 when
    # a month held only a reversal).
    assert context["this_month"].issued == 235
    assert context["this_month"].awarded == 35 and context["this_month"].opening == 200
    assert context["this_month"].reversed_awards == 15
    assert context["this_month"].reversals == 1
    assert context["this_month"].deducted == 5
    assert context["this_month"].redeemed == 50  # the voided kettle left out
    # The points owed: every balance of the village, shown beside the stock that covers them.
    owed = sum(Account.objects.filter(village=village_x).values_list("balance", flat=True))
    assert context["liability"]["outstanding_points"] == owed > 0
    assert "Points held by households" in response.content.decode()

    pending = Proposal.objects.filter(village=village_x, status="proposed")
    assert context["pending"]["count"] == pending.count() == 1
    assert context["stock"]["points"] == expected_stock_points(village_x)
    assert context["stock"]["yuan"] == expected_stock_points(village_x) * village_x.yuan_per_point
    assert [item.name for item in context["stock"]["low_items"]] == ["电热水壶"]
    assert context["wishes"]["open"] == Wish.objects.filter(village=village_x).count() == 2

    start, end = window.bounds
    zones = {zone["label"]: zone["points"] for zone in context["zones"]}
    expected = expected_zone_points(village_x, start, end)
    assert {k: v for k, v in zones.items() if v} == dict(expected)
    assert sum(zones.values()) == context["year_total"].redeemed

    rules = {rule["rule__code"]: rule["count"] for rule in context["rules"]}
    assert rules[f"A{village_x.code}"] == 2

    page = response.content.decode()
    assert _figure(page, "Waiting for approval") == 1
    assert _figure(page, "Issued this month") == 235
    assert _figure(page, "Reversals this month") == 1
    assert _figure(page, "Redeemed this month") == 50
    assert _figure(page, "Open wishes") == 2


def test_wishes_of_a_household_that_left_are_not_counted_open(
    client_supervisor_x,
    client_county,
    household_a,
    villager_a,
    manager_x,
    supervisor_x,
    village_x,
):
    """Found by a probe: a household that moved away (logins off, wishes off the wall) still
    counted its wishes as open on the dashboard and the county overview."""
    from villagers.models import Household
    from villagers.services import card_recall, household_save
    from wishwall import services

    wish = services.wish_post(
        household=household_a, actor=villager_a, title="轮椅", kind="health", story="腿脚不便"
    )
    services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)
    assert client_supervisor_x.get(URL).context["wishes"] == {"open": 1, "matched": 0}
    card_recall(household=household_a, actor=manager_x, reason="搬到县城")
    household_a.status = Household.Status.MOVED
    household_save(household=household_a, actor=manager_x)
    assert client_supervisor_x.get(URL).context["wishes"] == {"open": 0, "matched": 0}
    county = client_county.get(reverse("reports:county_overview"))
    rows = {village.pk: village for village in county.context["villages"]}
    assert rows[village_x.pk].wishes_open == 0


def test_charts_are_svg_with_title_desc_and_a_table(client_supervisor_x, history_x):
    page = client_supervisor_x.get(URL).content.decode()
    assert page.count('<svg class="chart-svg"') == 2
    assert '<title id="flow-title">' in page and '<desc id="flow-desc">' in page
    assert 'aria-labelledby="zones-title zones-desc"' in page
    assert page.count('<details class="chart-table">') == 2
    assert "<script" not in page.split("<main", 1)[1]
    assert "cdn" not in page.lower()


def test_a_negative_month_is_drawn_below_the_zero_line(
    client_supervisor_x, card_a, rice, manager_x, supervisor_x
):
    """Found by a probe: a month whose voids gave back more than it redeemed (here a
    redemption of 13 months ago, voided this month) was drawn as an empty bar, its label
    keeping the minus; so was a zone's negative total. Both are drawn from the zero line
    down (or to the left), marked negative, with the zero line drawn."""
    old = redemption_create(
        village=card_a.household.village,
        household=card_a.household,
        lines={rice.pk: 2},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=months_ago(13),
    )
    redemption_void(redemption=old, actor=supervisor_x, reason="退回")
    response = client_supervisor_x.get(URL)
    assert response.context["this_month"].redeemed == -2 * rice.points_price
    flow, zones = response.context["flow_chart"], response.context["zone_chart"]
    (negative,) = [bar for bar in flow.bars if "bar-negative" in bar.css]
    assert negative.css == "bar-redeemed bar-negative" and negative.height > 0
    assert negative.y == flow.zero  # hangs from the zero line
    assert flow.zero < flow.plot_bottom and min(t.label for t in flow.value_ticks) < 0
    (zone,) = [bar for bar in zones.bars if "bar-negative" in bar.css]
    assert zone.x < zones.zero and round(zone.x + zone.width, 1) == zones.zero
    page = response.content.decode()
    assert page.count('class="chart-zero"') == 2
    assert 'class="bar-redeemed bar-negative"' in page
    year = client_supervisor_x.get(reverse("reports:year_report", args=[timezone.localdate().year]))
    assert 'class="bar-redeemed bar-negative"' in year.content.decode()


def test_households_to_visit(card_a, card_b, village_x, manager_x, supervisor_x):
    account = card_a.household.account
    backdated_entry(account, "award", 10, months_ago(4))
    backdated_entry(card_b.household.account, "award", 10, months_ago(1))
    households = list(households_to_visit(village_x))
    assert households == [card_a.household]
    assert timezone.localtime(households[0].last_award).date() == months_ago(4).date()


def test_a_reversed_award_does_not_count_as_earned(card_a, card_b, village_x, supervisor_x):
    from points.services import entry_reverse

    entry = backdated_entry(card_a.household.account, "award", 10, months_ago(1))
    backdated_entry(card_b.household.account, "award", 10, months_ago(1))
    assert list(households_to_visit(village_x)) == []
    entry_reverse(entry=entry, actor=supervisor_x, reason="mistake")
    assert list(households_to_visit(village_x)) == [card_a.household]


def test_visit_list_page_is_paginated_and_scoped(client_supervisor_x, card_a, card_y):
    response = client_supervisor_x.get(reverse("reports:visit_list"))
    assert response.status_code == 200
    page = response.content.decode()
    assert card_a.household.head_name in page
    assert card_y.household.head_name not in page


@pytest.mark.parametrize(
    ("client_name", "status"),
    [
        ("client_anon", 302),
        ("client_villager_a", 403),
        ("client_manager_x", 200),
        ("client_supervisor_x", 200),
    ],
)
def test_who_may_see_the_dashboard(request, client_name, status, card_a):
    client = request.getfixturevalue(client_name)
    assert client.get(URL).status_code == status
    assert client.get(reverse("reports:visit_list")).status_code == status


def test_a_village_sees_only_its_own_figures(client_manager_y, history_x, card_y, village_y):
    response = client_manager_y.get(URL)
    assert response.status_code == 200
    assert response.context["village"] == village_y
    assert response.context["this_month"].issued == 100  # only Y's opening grant
    assert response.context["pending"]["count"] == 0
    assert response.context["stock"]["points"] == 0
    page = response.content.decode()
    assert "王大山" not in page and "电热水壶" not in page


def test_county_admin_reads_a_picked_village(client_county, history_x, village_x):
    assert client_county.get(URL).url == village_pick_url(URL)
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    response = client_county.get(URL)
    assert response.status_code == 200
    assert response.context["this_month"].issued == 235
    # Read-only: no link into the approval queue for a county admin.
    assert reverse("points:approval_queue") not in response.content.decode()


def _more_history(village, count, manager, supervisor):
    group = VillageGroupFactory(village=village)
    households = [HouseholdFactory(group=group) for _ in range(count)]
    for household in households:
        issue_card(household, manager)
        household.refresh_from_db()
    zones_ensure(village=village)
    items = [
        make_item(
            village, "grain_oil", f"米{village.code}{n}", 5, 40, manager, low_stock_threshold=50
        )
        for n in range(3)
    ]
    build_history(
        village, households=households, manager=manager, supervisor=supervisor, items=items
    )


def test_dashboard_queries_do_not_grow_with_entries_or_villages(
    client_supervisor_x,
    history_x,
    village_x,
    manager_x,
    supervisor_x,
    django_assert_max_num_queries,
):
    with django_assert_max_num_queries(40) as first:
        client_supervisor_x.get(URL)
    baseline = len(first.captured_queries)
    _more_history(village_x, 4, manager_x, supervisor_x)
    for _ in range(3):
        other = VillageFactory()
        from core.access import Role
        from tests.conftest import make_staff

        _more_history(
            other,
            2,
            make_staff(Role.MANAGER, village=other, username=f"m{other.code}"),
            make_staff(Role.SUPERVISOR, village=other, username=f"s{other.code}"),
        )
    with django_assert_max_num_queries(baseline):
        response = client_supervisor_x.get(URL)
    assert response.context["pending"]["count"] == 2


def test_past_ten_alerts_the_readers_of_reports_get_no_link_they_cannot_open(
    client_secretary_x, client_township, client_supervisor_x, village_x, card_a
):
    """Found by a probe: with more than ten alerts the party secretary's dashboard linked to
    the messages sent, a 403 for them (and for a township officer)."""
    from notifications.models import Notification
    from notifications.services import message, notifications_post

    notifications_post(
        [
            message(
                village_id=village_x.pk, household_id=None, kind="low_stock", item="米", stock=1
            )
            for _ in range(12)
        ]
    )
    assert Notification.objects.filter(household=None).count() == 12
    log = reverse("notifications:log")
    client_township.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    for reader in (client_secretary_x, client_township):
        page = reader.get(URL).content.decode()
        assert "低" in page or "Low stock" in page
        assert log not in page and reader.get(log).status_code == 403
    assert log in client_supervisor_x.get(URL).content.decode()


def test_the_stock_value_counts_goods_on_sale_as_the_cover_and_the_county_do(
    client_supervisor_x, client_county, village_x, manager_x, card_a
):
    """The tile read 330 points of stock beside a cover of 180 on the same page (and 180 in
    the county's column): it counted a kettle taken off sale, which fetches no points."""
    zones_ensure(village=village_x)
    make_item(village_x, "grain_oil", "大米", 20, 9, manager_x)
    kettle = make_item(village_x, "appliances", "水壶", 50, 3, manager_x)
    kettle.is_active = False
    kettle.save(update_fields=["is_active"])
    response = client_supervisor_x.get(URL)
    stock, cover = response.context["stock"], response.context["liability"]
    assert stock["points"] == cover["stock_points_value"] == 180 == expected_stock_points(village_x)
    assert stock["yuan"] == 180 * village_x.yuan_per_point
    assert _figure(response.content.decode(), "Stock value (points)") == 180
    county = client_county.get(reverse("reports:county_overview"))
    assert county.context["total"].stock_points == 180  # village X's only


def test_goods_waiting_to_be_written_off_fetch_no_points_on_the_tile_the_cover_or_the_county(
    client_supervisor_x, client_county, village_x, manager_x, card_a
):
    """9 bags of rice at 20, 4 of them spoiled and waiting to be written off: the shelves
    fetch 100 points, not 180 (the cover counted them until the supervisor confirmed)."""
    from store.services import stock_write_off_request

    zones_ensure(village=village_x)
    rice = make_item(village_x, "grain_oil", "大米", 20, 9, manager_x)
    stock_write_off_request(item=rice, quantity=4, cause="spoiled", reason="发霉", actor=manager_x)
    response = client_supervisor_x.get(URL)
    stock, cover = response.context["stock"], response.context["liability"]
    assert stock["points"] == cover["stock_points_value"] == 100 == expected_stock_points(village_x)
    assert cover["writing_off_units"] == 4
    assert _figure(response.content.decode(), "Stock value (points)") == 100
    cover_page = client_supervisor_x.get(reverse("reports:cover")).text
    assert "4 units waiting to be written off count for no points." in cover_page
    county = client_county.get(reverse("reports:county_overview"))
    assert county.context["total"].stock_points == 100


def test_work_the_background_worker_left_undone_is_said_on_the_dashboard(
    client_manager_x, village_x, card_a, villager_a, manager_x, supervisor_x
):
    """Found by a probe: with the worker stopped, entries past their publicity period stayed
    uncredited, texts unsent and expired reservations held, and no page said so (the
    villager read "credited on" a day gone by). The dashboard says what waits and whom to tell;
    work due within the last minutes is no alarm."""
    from notifications.models import Notification
    from notifications.services import message, notifications_post
    from points.publicity import objection_raise
    from points.services import proposal_approve
    from store.models import Reservation
    from store.services import reservation_create
    from tests.points.conftest import make_rule, propose

    village_x.publicity_days = 3
    village_x.save()
    (proposal,) = propose(manager_x, [card_a.household], make_rule(village_x, "C1", 5))
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    objection = objection_raise(proposal_id=proposal.pk, actor=manager_x, reason="照片是别家")
    zones_ensure(village=village_x)
    rice = make_item(village_x, "grain_oil", "米", 10, 5, manager_x)
    reservation = reservation_create(
        household=card_a.household, lines={rice.pk: 1}, actor=villager_a
    )
    notifications_post(
        [message(village_id=village_x.pk, household_id=card_a.household_id, kind="credited")]
    )
    now = timezone.now()
    recently = now - datetime.timedelta(minutes=5)
    Proposal.objects.filter(pk=proposal.pk).update(credit_due_at=recently)
    Reservation.objects.filter(pk=reservation.pk).update(expires_at=recently)
    Notification.objects.update(sms_status="pending", sms_due_at=recently)
    assert background_work_late(village_x) == {}

    long_ago = now - datetime.timedelta(hours=2)
    Proposal.objects.filter(pk=proposal.pk).update(credit_due_at=long_ago)
    # An objection still open holds the entry for the supervisor: no sign of the worker.
    assert background_work_late(village_x) == {}
    objection.delete()  # (dismissed now, the entry would be credited at once)
    assert list(background_work_late(village_x)) == ["credits"]
    Reservation.objects.filter(pk=reservation.pk).update(expires_at=long_ago)
    Notification.objects.update(sms_due_at=long_ago)
    page = client_manager_x.get(URL).content.decode()
    assert "background work has stopped" in page and "are not credited yet" in page
    assert "not sent yet" in page and "still hold points" in page
    assert "manage.py worker" in page


def test_work_waiting_for_a_cron_that_ticks_seldom_is_no_alarm(
    settings, village_x, card_a, manager_x, supervisor_x
):
    """Found by a second read: the dashboard called work late after 15 minutes whatever the
    crons, so a deployment crediting every hour read "the background work has stopped" for
    most of each hour. The wait for the cron's next tick is allowed for."""
    from points.services import proposal_approve
    from tests.points.conftest import make_rule, propose

    village_x.publicity_days = 3
    village_x.save()
    (proposal,) = propose(manager_x, [card_a.household], make_rule(village_x, "C1", 5))
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    settings.CREDIT_DUE_CRON = "0 * * * *"
    due = timezone.now() - datetime.timedelta(minutes=50)
    Proposal.objects.filter(pk=proposal.pk).update(credit_due_at=due)
    assert background_work_late(village_x) == {}
    settings.CREDIT_DUE_CRON = "* * * * *"
    assert list(background_work_late(village_x)) == ["credits"]


def test_a_trend_line_below_zero_dips_under_its_baseline():
    """The county's trend (reports.charts.sparkline) drew a figure below zero on the
    baseline, as a zero; it dips under it, the baseline staying at zero."""
    line = sparkline([5, -5, 10], label="")
    ys = [float(point.split(",")[1]) for point in line.points.split()]
    assert ys[1] > line.baseline > ys[0] > ys[2]
    assert sparkline([0, 4], label="").baseline == 21  # all at or above zero: the bottom


def test_the_points_carried_over_and_lapsed_have_their_tiles(
    client_manager_x, client_supervisor_x, village_x, card_a, card_b, manager_x
):
    """A paper ledger carried over (230) raised the points held beside the tiles (issued,
    deducted, reversals, redeemed) with no tile to say why; a yearly settlement's lapse
    lowered them alike. Each has its tile, where the village has any."""
    page = client_supervisor_x.get(URL).content.decode()
    assert "Carried over this month" not in page and "Lapsed this month" not in page
    carry_over_approved(client_manager_x, client_supervisor_x)
    entry_post(
        account_id=card_a.household.account.pk, kind=Entry.Kind.LAPSE, points=-40, actor=None
    )
    response = client_supervisor_x.get(URL)
    page = response.content.decode()
    assert _figure(page, "Carried over this month") == 230
    assert _figure(page, "Lapsed this month") == 40
    flow = response.context["this_month"]
    held = response.context["liability"]["outstanding_points"]
    assert held == flow.change == 200 + 230 - 40  # the two cards' opening 100, then these
