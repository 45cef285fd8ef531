"""A purchase paid from donated money names the money donation that paid for it."""

from decimal import Decimal

import pytest
from django.urls import reverse

from store.models import Donation, Donor, StockMovement
from tests.conftest import form_key


@pytest.fixture
def money(village_x, village_y, manager_x):
    donor = Donor.objects.create(village=village_x, name="刘秀兰", kind="person")
    return Donation.objects.create(
        village=village_x, donor=donor, kind="money", value_yuan=Decimal(500), thanks="谢谢"
    )


def stock_in(client, rice, money, **extra):
    data = {"item": rice.pk, "quantity": 10, "fund_source": "donated_money", "cost_yuan": "300"}
    return client.post(
        reverse("store:stock_in"),
        {**data, "paid_by": money.pk, "idempotency_key": form_key(), **extra},
    )


def test_stock_in_names_the_money_donation(client_manager_x, rice, money):
    assert stock_in(client_manager_x, rice, money).status_code == 302
    movement = StockMovement.objects.get(paid_by=money)
    assert (movement.quantity, movement.cost_yuan) == (10, 300)


def test_stock_in_beyond_what_the_donation_gave_is_a_form_error(client_manager_x, rice, money):
    stock_in(client_manager_x, rice, money)
    response = stock_in(client_manager_x, rice, money, cost_yuan="201")
    assert response.status_code == 200
    # Both sums as money, as typed or not (it read "¥200.00 left ... costs ¥201").
    assert "has ¥200.00 left to spend; the purchase costs ¥201.00." in response.content.decode()
    assert StockMovement.objects.filter(paid_by=money).count() == 1


def test_only_donated_money_names_a_donation(client_manager_x, rice, money):
    response = stock_in(client_manager_x, rice, money, fund_source="collective")
    assert response.status_code == 200
    assert not StockMovement.objects.filter(paid_by=money).exists()


def test_another_villages_donation_is_not_a_choice(client_manager_y, money, item_y):
    response = stock_in(client_manager_y, item_y, money)
    assert response.status_code == 200
    assert not StockMovement.objects.filter(paid_by=money).exists()
