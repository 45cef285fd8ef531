"""The village wall, the echo wall and the TV/print display: content, order, query counts."""

import datetime
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from store.models import Donor
from tests.factories import HouseholdFactory
from tests.wishwall.conftest import post_wish
from tests.wishwall.test_wish_states import household_leaves
from wishwall import services
from wishwall.models import Wish, WishFulfilment
from wishwall.wall_views import DISPLAY_PAGE_SIZE, WALL_PAGE_SIZE


@pytest.fixture
def busy_village(group_x, manager_x, supervisor_x, village_x):
    """30 open wishes on the wall, 5 pending, 4 matched and 6 fulfilled, all in village X."""
    donors = [
        Donor.objects.create(village=village_x, name=f"爱心企业{n}", kind="company")
        for n in range(3)
    ]
    kinds = Wish.Kind.values
    wishes = {"open": [], "pending": [], "matched": [], "fulfilled": []}
    for n in range(45):
        household = HouseholdFactory(group=group_x, head_name=f"陈{n:02d}")
        wish = post_wish(household, manager_x, title=f"心愿{n:02d}", kind=kinds[n % len(kinds)])
        if n < 5:
            wishes["pending"].append(wish)
            continue
        wish = services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)
        if n < 35:
            wishes["open"].append(wish)
            continue
        wish = services.wish_match(wish=wish, actor=supervisor_x, donor=donors[n % 3])
        if n < 39:
            wishes["matched"].append(wish)
            continue
        wish = services.wish_fulfil(
            wish=wish,
            actor=supervisor_x,
            date=timezone.localdate(),
            given=f"礼物{n}",
            thanks=f"谢谢你{n}",
        )
        wishes["fulfilled"].append(wish)
    # Spread the posting times so "newest first" means something.
    for index, wish in enumerate(Wish.objects.order_by("id")):
        Wish.objects.filter(pk=wish.pk).update(
            created_at=timezone.now() - datetime.timedelta(hours=index)
        )
    return wishes


def test_wall_groups_by_kind_newest_first_and_counts(client_villager_a, busy_village):
    response = client_villager_a.get(reverse("wishwall:wall"))
    page = response.context["page"]
    assert response.context["counts"] == {"open": 30, "matched": 4, "fulfilled": 6}
    assert len(page.object_list) == WALL_PAGE_SIZE and page.paginator.count == 30
    listed = list(page.object_list)
    kind_positions = [Wish.Kind.values.index(w.kind) for w in listed]
    assert kind_positions == sorted(kind_positions)
    for kind in {w.kind for w in listed}:
        times = [w.created_at for w in listed if w.kind == kind]
        assert times == sorted(times, reverse=True)
    body = response.content.decode()
    assert "陈**" in body and "陈05" not in body
    for wish in busy_village["pending"] + busy_village["matched"]:
        assert wish.title not in body
    second = client_villager_a.get(reverse("wishwall:wall"), {"page": 2})
    assert len(second.context["page"].object_list) == 30 - WALL_PAGE_SIZE


def test_wall_filters_by_kind(client_villager_a, busy_village):
    response = client_villager_a.get(reverse("wishwall:wall"), {"kind": "health"})
    listed = list(response.context["page"].object_list)
    assert listed and all(w.kind == "health" for w in listed)
    kinds = {value: n for value, _label, n in response.context["kinds"]}
    assert kinds["health"] == len(listed) and sum(kinds.values()) == 30


def test_echo_wall_shows_fulfilled_with_donor_and_thanks(client_villager_a, busy_village):
    response = client_villager_a.get(reverse("wishwall:echo"))
    body = response.content.decode()
    listed = list(response.context["page"].object_list)
    assert {w.pk for w in listed} == {w.pk for w in busy_village["fulfilled"]}
    for wish in busy_village["fulfilled"]:
        fulfilment = WishFulfilment.objects.get(wish=wish)
        assert fulfilment.thanks in body and fulfilment.given in body
    assert "爱心企业" in body
    for wish in busy_village["open"] + busy_village["matched"]:
        assert f">{wish.title}<" not in body


@pytest.mark.parametrize("name", ["wishwall:wall", "wishwall:echo", "wishwall:display"])
def test_wall_pages_query_count_is_bounded(
    client_villager_a, busy_village, django_assert_max_num_queries, name
):
    # 24 wishes a page: one query per wish would be far above this.
    with django_assert_max_num_queries(9):
        response = client_villager_a.get(reverse(name), {"wall": "wishes"})
    assert response.status_code == 200
    with django_assert_max_num_queries(9):
        client_villager_a.get(reverse(name), {"wall": "echo", "page": 2})


def test_staff_pages_query_count_is_bounded(
    client_supervisor_x, busy_village, django_assert_max_num_queries
):
    for tab in ("pending", "wall", "matched", "closed"):
        with django_assert_max_num_queries(8):
            response = client_supervisor_x.get(reverse("wishwall:queue"), {"tab": tab})
        assert response.status_code == 200
    fulfilled = busy_village["fulfilled"][0]
    with django_assert_max_num_queries(8):
        client_supervisor_x.get(reverse("wishwall:detail", args=[fulfilled.pk]))


def test_my_wishes_query_count_is_bounded(
    client_villager_a, household_a, villager_a, supervisor_x, django_assert_max_num_queries
):
    donor = Donor.objects.create(village=household_a.village, name="某公司", kind="company")
    for n in range(8):
        wish = post_wish(household_a, villager_a, title=f"愿望{n}")
        if n % 2:
            wish = services.wish_moderate(wish=wish, actor=supervisor_x, hide_household=False)
            services.wish_match(wish=wish, actor=supervisor_x, donor=donor)
    with django_assert_max_num_queries(6):
        body = client_villager_a.get(reverse("wishwall:mine")).content.decode()
    assert body.count("某公司") == 4


def test_display_is_large_print_and_refreshes_to_the_next_page(client_manager_x, busy_village):
    url = reverse("wishwall:display")
    response = client_manager_x.get(url, {"wall": "wishes", "refresh": "5"})
    body = response.content.decode()
    assert response.context["refresh"] == 15  # clamped to the minimum
    assert '<meta http-equiv="refresh" content="15;url=' in body
    assert "page=2" in response.context["refresh_url"]
    assert len(response.context["page"].object_list) == DISPLAY_PAGE_SIZE
    assert "wall-display" in body and "site-header" not in body  # no menu on the TV
    last = response.context["page"].paginator.num_pages
    response = client_manager_x.get(url, {"wall": "wishes", "refresh": "60", "page": last})
    assert response.context["refresh_url"].endswith("page=1")  # wraps around
    plain = client_manager_x.get(url, {"wall": "echo"}).content.decode()
    assert 'http-equiv="refresh"' not in plain
    assert "谢谢你" in plain


def test_a_household_that_left_leaves_the_wall_but_not_the_echo_wall(
    household_a,
    villager_a,
    manager_x,
    supervisor_x,
    donor_x,
    client_villager_b,
    client_supervisor_x,
):
    """Found by a probe: a household that moved away kept its wishes on the wall and in its
    figures, with no login left to withdraw them. What it was given stays on the echo wall."""

    def on_wall(title):
        wish = post_wish(household_a, villager_a, title=title)
        return services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)

    open_wish = on_wall("轮椅")
    matched = services.wish_match(wish=on_wall("书包"), actor=supervisor_x, donor=donor_x)
    fulfilled = services.wish_fulfil(
        wish=services.wish_match(wish=on_wall("棉被"), actor=supervisor_x, donor=donor_x),
        actor=supervisor_x,
        date=timezone.localdate(),
        given="棉被两床",
        thanks="谢谢！",
    )
    household_leaves(household_a, manager_x)

    wall = client_villager_b.get(reverse("wishwall:wall"))
    assert "轮椅" not in wall.text and "书包" not in wall.text
    assert wall.context["counts"] == {"open": 0, "matched": 0, "fulfilled": 1}
    assert all(count == 0 for _kind, _label, count in wall.context["kinds"])
    display = client_villager_b.get(reverse("wishwall:display"), {"wall": "wishes"}).text
    assert "轮椅" not in display
    for wish in (open_wish, matched):
        detail = reverse("wishwall:detail", args=[wish.pk])
        assert client_villager_b.get(detail).status_code == 404
    assert "棉被两床" in client_villager_b.get(reverse("wishwall:echo")).text
    assert client_villager_b.get(reverse("wishwall:detail", args=[fulfilled.pk])).status_code == 200

    # Staff still find it, told why it can only be declined now.
    staff_page = client_supervisor_x.get(reverse("wishwall:detail", args=[open_wish.pk])).text
    assert "moved away or closed" in staff_page
    assert reverse("wishwall:match", args=[open_wish.pk]) not in staff_page
    assert reverse("wishwall:decline", args=[open_wish.pk]) in staff_page
    queue = client_supervisor_x.get(reverse("wishwall:queue"), {"tab": "wall"}).text
    assert "轮椅" in queue and "moved away" in queue


def test_wall_css_has_print_rules():
    css = Path(finders.find("css/wishwall.css")).read_text(encoding="utf-8")
    assert "@media print" in css


def test_the_walls_filters_name_only_kinds_it_has_wishes_of(
    client_villager_a, household_b, villager_b, manager_x, django_assert_max_num_queries
):
    """Found on the phone: the filters named every kind, "farming and production (0)" among
    them, each leading to an empty page. Now only the kinds with wishes on the wall, and the
    one chosen (its last wish met since the link was drawn)."""
    url = reverse("wishwall:wall")
    assert "data-kinds" not in client_villager_a.get(url).text  # nothing on the wall
    wish = post_wish(household_b, villager_b, kind=Wish.Kind.HEALTH)
    services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)
    with django_assert_max_num_queries(9):
        response = client_villager_a.get(url)
    assert [(value, n) for value, _label, n in response.context["kinds"]] == [("health", 1)]
    assert "farming and production" not in response.text
    chosen = client_villager_a.get(url, {"kind": "farming"})
    assert [value for value, _label, _n in chosen.context["kinds"]] == ["health", "farming"]
