"""The donor's thanks page leaks nothing personal; who reaches every transparency page."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from core.access import Role
from reports.transparency import _donation_from_token, thanks_token
from store.models import Donation
from tests.conftest import make_staff
from tests.factories import MemberFactory
from villagers.masking import mask_phone


def personal_data(households):
    """Everything personal about the households: names, phones, ID numbers, addresses."""
    values = set()
    for household in households:
        values |= {household.head_name, household.phone, mask_phone(household.phone)}
        values |= {household.address, household.number, household.head_name[1:]}
        for member in household.members.all():
            values |= {member.name, member.id_number, member.phone, member.id_number[-6:]}
    return {value for value in values if value}


@pytest.fixture
def members(story):
    for household, id_number in (
        (story["A"], "610630196501017777"),
        (story["B"], "61063019650102777X"),
    ):
        MemberFactory(household=household, name=household.head_name, id_number=id_number)
        MemberFactory(
            household=household, name=f"{household.head_name[0]}小红", phone="13700001111"
        )
    return story


@pytest.mark.parametrize("gift", ["D1", "M1"])
def test_thanks_page_shows_the_gift_and_no_personal_data(members, gift, client_anon):
    donation = Donation.objects.get(pk=members[gift].pk)
    response = client_anon.get(reverse("reports:donation_thanks", args=[thanks_token(donation)]))
    assert response.status_code == 200
    page = response.content.decode()
    assert donation.donor.name in page and donation.thanks in page
    assert "王**" in page and "李**" in page  # masked households, as mask_name gives them
    leaked = [value for value in personal_data([members["A"], members["B"]]) if value in page]
    assert leaked == []
    assert response["Referrer-Policy"] == "no-referrer"


def test_thanks_link_cannot_be_guessed_or_forged(story, client_anon):
    donation = Donation.objects.get(pk=story["D1"].pk)
    token = thanks_token(donation)
    other = Donation.objects.get(pk=story["D2"].pk)
    forged = thanks_token(other).split(":")[0] + ":" + token.split(":")[-1]
    for bad in (str(donation.pk), forged, token[:-2] + "xx", "x"):
        assert client_anon.get(reverse("reports:donation_thanks", args=[bad])).status_code == 404


def test_thanks_page_query_count_does_not_grow(
    story,
    client_anon,
    django_assert_max_num_queries,
    redeem,
    manager_x,
):
    url = reverse("reports:donation_thanks", args=[thanks_token(story["M1"])])
    with django_assert_max_num_queries(10) as first:
        client_anon.get(url)
    # P2 paid by M1 has one rice left; more stock-ins and redemptions must not add queries.
    from decimal import Decimal

    from store.services import stock_purchase

    stock_purchase(
        item=story["rice"],
        quantity=30,
        fund_source="donated_money",
        cost_yuan=Decimal(300),
        paid_by=story["M1"],
        actor=manager_x,
    )
    for _i in range(8):
        redeem(story["A"], {story["rice"]: 2}, manager_x)
        redeem(story["B"], {story["rice"]: 1}, manager_x)
    with django_assert_max_num_queries(len(first.captured_queries)):
        page = client_anon.get(url).content.decode()
    assert page.count("大米 ×") >= 10


def test_notice_shows_where_donations_went(story, client_villager_a):
    page = client_villager_a.get(reverse("reports:notice")).content.decode()
    assert "Where donations of the past year went" in page
    assert "延安爱心粮油" in page and "¥500" in page


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_board_for_everyone_of_the_village_only(
    story,
    client_anon,
    client_villager_a,
    client_manager_x,
    client_supervisor_x,
    client_manager_y,
    county_admin,
    village_x,
):
    for url in (
        reverse("reports:board"),
        reverse("reports:board_month", args=[2025, 1]),
        reverse("reports:board_display", args=[2025, 1]),
    ):
        assert client_anon.get(url).status_code == 302
        for client in (client_villager_a, client_manager_x, client_supervisor_x):
            assert client.get(url).status_code == 200
        county = client_for(county_admin)
        assert county.get(url).status_code == 302  # must pick a village first
        county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
        assert county.get(url).status_code == 200
    # Another village's staff see their own (empty) board, never village X's households.
    page = client_manager_y.get(reverse("reports:board")).content.decode()
    assert "王大山" not in page and "李秀英" not in page


def test_cover_and_donations_for_staff_only(
    story,
    client_anon,
    client_villager_a,
    client_manager_x,
    client_supervisor_x,
    client_manager_y,
    county_admin,
    village_x,
):
    for name in ("reports:cover", "reports:donations_traced"):
        url = reverse(name)
        assert client_anon.get(url).status_code == 302
        assert client_villager_a.get(url).status_code == 403
        assert client_manager_x.get(url).status_code == 200
        assert client_supervisor_x.get(url).status_code == 200
        county = client_for(county_admin)
        county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
        assert county.get(url).status_code == 200
        assert "延安爱心粮油" not in client_manager_y.get(url).content.decode()
    page = client_supervisor_x.get(reverse("reports:donations_traced")).content.decode()
    # The page's own thanks link for D1 (a token carries the second it was made: one made
    # here a second later differs).
    prefix = reverse("reports:donation_thanks", args=["T"])[:-2]
    tokens = re.findall(re.escape(prefix) + r"([^/\"]+)/", page)
    assert story["D1"] in [_donation_from_token(token) for token in tokens]
    cover = client_supervisor_x.get(reverse("reports:cover")).content.decode()
    assert "Not covered" in cover and "Donated money" in cover


def test_cover_and_donations_query_counts(
    story,
    client_supervisor_x,
    django_assert_max_num_queries,
):
    with django_assert_max_num_queries(12):
        client_supervisor_x.get(reverse("reports:cover"))
    with django_assert_max_num_queries(16):
        client_supervisor_x.get(reverse("reports:donations_traced"))


def test_supervisor_of_another_village_sees_nothing_of_x(story, manager_y):
    supervisor_y = make_staff(Role.SUPERVISOR, village=manager_y.village, username="sup_y")
    client = client_for(supervisor_y)
    for name in ("reports:cover", "reports:donations_traced", "reports:board"):
        page = client.get(reverse(name)).content.decode()
        assert "延安爱心粮油" not in page and "王大山" not in page
