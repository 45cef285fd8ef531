"""Who may open which store page: every URL against every role, and the other village."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils.html import escape

from points.models import Entry
from store.models import Redemption

VIEW_ROLES = ["manager", "supervisor", "county"]

# name -> (kwargs key, {client: expected status}); kwargs are filled in from the cast.
STAFF_VIEW_PAGES = [
    "stock_list",
    "redemption_list",
    "donation_list",
    "summary_day",
    "summary_month",
]
MANAGER_PAGES = ["counter", "item_create", "stock_in", "donation_create"]
MANAGER_ITEM_PAGES = ["item_edit", "item_stock_take", "item_write_off"]


@pytest.fixture
def county_in_x(client_county, village_x):
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    return client_county


@pytest.fixture
def clients(
    client_anon,
    client_villager_a,
    client_villager_b,
    client_manager_x,
    client_supervisor_x,
    client_manager_y,
    county_in_x,
):
    return {
        "anon": client_anon,
        "villager_a": client_villager_a,
        "villager_b": client_villager_b,
        "manager": client_manager_x,
        "supervisor": client_supervisor_x,
        "manager_y": client_manager_y,
        "county": county_in_x,
    }


@pytest.fixture
def redemption_a(card_a, rice, manager_x, redeem):
    return redeem(card_a.household, {rice: 1}, manager_x)


def status_of(client, url, method="get", data=None):
    return getattr(client, method)(url, data or {}).status_code


def assert_login_redirect(client, url, method="get"):
    response = getattr(client, method)(url)
    assert response.status_code == 302
    # The card login for pages villagers may open, the staff login for the others.
    assert response["Location"].startswith((reverse("login"), reverse("card_login")))


@pytest.mark.parametrize("name", STAFF_VIEW_PAGES)
def test_staff_view_pages(clients, name, rice):
    url = reverse(f"store:{name}")
    for who in [*VIEW_ROLES, "manager_y"]:
        assert status_of(clients[who], url) == 200, who
    for who in ["villager_a", "villager_b"]:
        assert status_of(clients[who], url) == 403, who
    assert_login_redirect(clients["anon"], url)


@pytest.mark.parametrize("name", MANAGER_PAGES)
def test_manager_only_pages(clients, name, zones_x):
    url = reverse(f"store:{name}")
    assert status_of(clients["manager"], url) == 200
    for who in ["supervisor", "county", "villager_a"]:
        assert status_of(clients[who], url) == 403, who
    assert_login_redirect(clients["anon"], url)


@pytest.mark.parametrize("name", MANAGER_ITEM_PAGES)
def test_manager_item_pages(clients, name, rice):
    url = reverse(f"store:{name}", args=[rice.pk])
    assert status_of(clients["manager"], url) == 200
    assert status_of(clients["manager_y"], url) == 404
    for who in ["supervisor", "county", "villager_a"]:
        assert status_of(clients[who], url) == 403, who
    assert_login_redirect(clients["anon"], url)


def test_item_detail(clients, rice):
    url = reverse("store:item_detail", args=[rice.pk])
    for who in VIEW_ROLES:
        assert status_of(clients[who], url) == 200, who
    assert status_of(clients["manager_y"], url) == 404
    assert status_of(clients["villager_a"], url) == 403
    assert_login_redirect(clients["anon"], url)


def test_counter_household_pages(clients, card_a, rice):
    household = card_a.household
    page = reverse("store:counter_household", args=[household.pk])
    cart = reverse("store:counter_cart", args=[household.pk])
    confirm = reverse("store:counter_confirm", args=[household.pk])
    assert status_of(clients["manager"], page) == 200
    assert status_of(clients["manager_y"], page) == 404
    assert status_of(clients["manager_y"], cart, "post", {"action": "clear"}) == 404
    assert status_of(clients["manager_y"], confirm, "post") == 404
    for who in ["supervisor", "county", "villager_a"]:
        assert status_of(clients[who], page) == 403, who
        assert status_of(clients[who], cart, "post", {"action": "clear"}) == 403, who
        assert status_of(clients[who], confirm, "post") == 403, who
    assert status_of(clients["manager"], confirm) == 405  # GET never charges
    assert_login_redirect(clients["anon"], page)


def test_receipt_visibility(clients, redemption_a):
    url = reverse("store:receipt", args=[redemption_a.pk])
    for who in ["villager_a", *VIEW_ROLES]:
        assert status_of(clients[who], url) == 200, who
    assert status_of(clients["villager_b"], url) == 404
    assert status_of(clients["manager_y"], url) == 404
    assert_login_redirect(clients["anon"], url)


def test_void_only_by_the_villages_supervisor(clients, redemption_a):
    url = reverse("store:redemption_void", args=[redemption_a.pk])
    data = {"reason": "错误", "idempotency_key": "k" * 20}
    for who in ["manager", "county", "villager_a"]:
        assert status_of(clients[who], url, "post", data) == 403, who
    assert status_of(clients["manager_y"], url, "post", data) == 403
    assert status_of(clients["supervisor"], url) == 405
    redemption_a.refresh_from_db()
    assert not redemption_a.is_voided
    assert status_of(clients["supervisor"], url, "post", data) == 302
    data["idempotency_key"] = "j" * 20  # a new form: refused with a message
    assert status_of(clients["supervisor"], url, "post", data) == 302
    redemption_a.refresh_from_db()
    assert redemption_a.is_voided
    assert Entry.objects.filter(kind=Entry.Kind.REVERSAL).count() == 1


def test_catalogue_for_everyone_of_the_village(clients, rice):
    url = reverse("store:catalogue")
    for who in ["villager_a", "villager_b", *VIEW_ROLES, "manager_y"]:
        assert status_of(clients[who], url) == 200, who
    assert "大米" not in clients["manager_y"].get(url).content.decode()
    assert_login_redirect(clients["anon"], url)


def test_my_redemptions_only_own(clients, redemption_a):
    url = reverse("store:my_redemptions")
    receipt = reverse("store:receipt", args=[redemption_a.pk])
    assert receipt in clients["villager_a"].get(url).content.decode()
    assert receipt not in clients["villager_b"].get(url).content.decode()
    assert status_of(clients["manager"], url) == 403


def test_manager_posts_refused_to_other_roles(clients, rice):
    posts = [
        reverse("store:zones_setup"),
        reverse("store:stock_in"),
        reverse("store:item_stock_take", args=[rice.pk]),
        reverse("store:item_write_off", args=[rice.pk]),
    ]
    for url in posts:
        for who in ["supervisor", "county", "villager_a"]:
            assert status_of(clients[who], url, "post", {"quantity": 1}) == 403, (who, url)
    rice.refresh_from_db()
    assert rice.stock == 50


def test_other_villages_lists_do_not_show_ours(clients, redemption_a, rice):
    for name in ["stock_list", "redemption_list"]:
        body = clients["manager_y"].get(reverse(f"store:{name}")).content.decode()
        assert rice.name not in body
        assert redemption_a.household.head_name not in body
    assert Redemption.objects.count() == 1


def test_county_admin_without_a_village_is_sent_to_pick_one_and_back(client_county, village_x):
    stock = reverse("store:stock_list") + "?low=1"
    response = client_county.get(stock)
    assert response.status_code == 302
    pick = response["Location"]
    assert pick == reverse("villagers:village_pick") + "?" + urlencode({"next": stock})
    page = client_county.get(pick)
    assert f'name="next" value="{escape(stock)}"' in page.content.decode()
    picked = client_county.post(pick, {"village": village_x.pk, "next": stock})
    assert picked["Location"] == stock
    assert client_county.get(stock).status_code == 200
