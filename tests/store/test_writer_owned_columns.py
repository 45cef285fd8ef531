"""A save of a record read earlier never writes back the counts only their writers move.

An item's edit page loaded the item, a teller sold three of it meanwhile, and saving the
edit wrote back the stock it had read: three bags on the shelves that did not exist, and a
reservation's held units freed for anyone (core.models.WriterOwnedColumns).
"""

import re
import threading
import uuid

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client
from django.urls import reverse

from points import checks as points_checks
from points.models import Account
from store import checks as store_checks
from store.forms import ItemForm
from store.models import Item
from store.services import item_save, redemption_create, reservation_cancel, reservation_create
from tests.conftest import PASSWORD


def _consistent():
    for item in Item.objects.all():
        moved = item.movements.aggregate(total=Sum("quantity"))["total"] or 0
        assert (item.stock, item.held <= item.stock) == (moved, True), item.name
    for account in Account.objects.all():
        posted = account.entries.aggregate(total=Sum("points"))["total"] or 0
        assert (account.balance, account.held <= account.balance) == (posted, True)
    assert points_checks.check() == [] and store_checks.check() == []


def _redeem(household, item, quantity, actor):
    return redemption_create(
        village=household.village,
        household=household,
        lines={item.pk: quantity},
        idempotency_key=uuid.uuid4(),
        actor=actor,
    )


def test_an_item_edited_after_a_sale_keeps_the_stock_the_sale_left(card_a, rice, manager_x):
    edited = Item.objects.get(pk=rice.pk)  # what the edit page read
    _redeem(card_a.household, rice, 3, manager_x)
    edited.points_price = 25
    item_save(item=edited, actor=manager_x)
    rice.refresh_from_db()
    assert (rice.points_price, rice.stock) == (25, 47)
    _consistent()


def test_an_item_edited_after_a_reservation_keeps_its_held_units(
    card_a, rice, manager_x, villager_a
):
    edited = Item.objects.get(pk=rice.pk)
    reservation = reservation_create(
        household=card_a.household, lines={rice.pk: 2}, actor=villager_a
    )
    edited.name = "Rice, 5 kg"
    item_save(item=edited, actor=manager_x)
    rice.refresh_from_db()
    assert (rice.name, rice.held) == ("Rice, 5 kg", 2)
    reservation_cancel(reservation=reservation, actor=villager_a)  # releases what it held
    rice.refresh_from_db()
    assert rice.held == 0
    _consistent()


def test_an_account_saved_after_a_sale_keeps_its_balance(card_a, rice, manager_x):
    account = Account.objects.get(household=card_a.household)
    before = account.balance
    _redeem(card_a.household, rice, 1, manager_x)
    account.save()
    account.refresh_from_db()
    assert account.balance == before - rice.points_price
    _consistent()


def test_naming_a_writers_column_still_writes_it(rice):
    """The writers' own path (core.sql) is untouched; an explicit update_fields is honoured."""
    rice.stock = 7
    rice.save(update_fields=["stock"])
    assert Item.objects.get(pk=rice.pk).stock == 7


@pytest.mark.django_db(transaction=True)
def test_the_item_page_saved_while_the_counter_sells(card_a, rice, manager_x, monkeypatch):
    """Two real transactions: the edit's POST is checking its fields when the sale commits."""
    client = Client()
    client.post(reverse("login"), {"username": manager_x.username, "password": PASSWORD})
    url = reverse("store:item_edit", args=[rice.pk])
    page = client.get(url).content.decode()
    body = {
        "zone": rice.zone_id,
        "name": rice.name,
        "unit": rice.unit,
        "points_price": 25,
        "barcode": "",
        "is_active": "on",
        "low_stock_threshold": 5,
    }
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page):
        body.setdefault(name, value)
    validating, sold = threading.Event(), threading.Event()
    clean_fields = ItemForm._clean_fields

    def fields_cleaned_once_the_sale_is_made(form):
        # The item was read when the POST began; its fields are checked while the sale
        # commits (the row is locked only after them, core.edit_forms).
        validating.set()
        assert sold.wait(10)
        return clean_fields(form)

    monkeypatch.setattr(ItemForm, "_clean_fields", fields_cleaned_once_the_sale_is_made)
    answers = []

    def edit():
        try:
            answers.append(client.post(url, body).status_code)
        finally:
            connection.close()

    editor = threading.Thread(target=edit)
    editor.start()
    assert validating.wait(10)
    _redeem(card_a.household, rice, 3, manager_x)
    sold.set()
    editor.join(20)
    assert answers == [302]
    rice.refresh_from_db()
    assert (rice.points_price, rice.stock) == (25, 47)
    _consistent()


def test_no_form_or_admin_page_can_offer_a_writer_owned_column():
    """The counts their writers move are not editable: a ModelForm or an admin page built
    from the model leaves them out (Account.balance was editable, though no form offered it)."""
    from django.apps import apps

    from core.models import WriterOwnedColumns

    owners = [model for model in apps.get_models() if issubclass(model, WriterOwnedColumns)]
    assert Account in owners and Item in owners
    editable = [
        f"{model.__name__}.{name}"
        for model in owners
        for name in model.writer_owned
        if model._meta.get_field(name).editable
    ]
    assert editable == []
