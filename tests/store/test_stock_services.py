from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from store import checks
from store.models import Donation, Donor, Item, StockMovement, Zone
from store.services import (
    InsufficientStock,
    donation_record,
    stock_purchase,
    stock_write_off_request,
    zones_ensure,
)
from tests.store.conftest import count, write_off


def movements_sum(item):
    return item.movements.aggregate(total=Sum("quantity"))["total"] or 0


def test_zones_ensure_creates_the_six_zones_once(village_x):
    zones_ensure(village=village_x)
    zones_ensure(village=village_x)
    codes = list(Zone.objects.filter(village=village_x).values_list("code", flat=True))
    assert codes == ["grain_oil", "daily", "toiletries", "clothing", "farm", "appliances"]


def test_purchase_records_fund_and_cost_and_moves_stock(rice, manager_x):
    movement = stock_purchase(
        item=rice,
        quantity=10,
        fund_source=StockMovement.FundSource.CIVIL_AFFAIRS,
        cost_yuan=Decimal("450.00"),
        actor=manager_x,
    )
    rice.refresh_from_db()
    assert rice.stock == 60 == movements_sum(rice)
    assert movement.stock_after == 60
    assert movement.fund_source == "civil_affairs"


def test_goods_donation_comes_into_stock(village_x, rice, oil, manager_x):
    donor = Donor.objects.create(village=village_x, name="宜川爱心粮油公司", kind="company")
    donation = donation_record(
        village=village_x,
        donor=donor,
        kind=Donation.Kind.GOODS,
        value_yuan=Decimal("1200"),
        thanks="感谢宜川爱心粮油公司！",
        goods={rice.pk: 5, oil.pk: 3},
        actor=manager_x,
    )
    rice.refresh_from_db()
    oil.refresh_from_db()
    assert (rice.stock, oil.stock) == (55, 23)
    assert donation.movements.count() == 2
    assert checks.check() == []


def test_new_donor_saved_with_the_donation(village_x, manager_x):
    donor = Donor(village=village_x, name="张爱心", kind=Donor.Kind.PERSON)
    donation_record(
        village=village_x,
        donor=donor,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("500"),
        thanks="谢谢张先生",
        actor=manager_x,
    )
    assert Donation.objects.get().donor.name == "张爱心"


def test_money_donation_needs_an_amount(village_x, manager_x):
    donor = Donor.objects.create(village=village_x, name="某人", kind="person")
    with pytest.raises(ValidationError):
        donation_record(
            village=village_x,
            donor=donor,
            kind=Donation.Kind.MONEY,
            value_yuan=Decimal("0"),
            thanks="谢谢",
            actor=manager_x,
        )
    assert not Donation.objects.exists()


def test_goods_donation_of_another_villages_item_refused(village_x, item_y, manager_x):
    donor = Donor.objects.create(village=village_x, name="某公司", kind="company")
    with pytest.raises(ValidationError):
        donation_record(
            village=village_x,
            donor=donor,
            kind=Donation.Kind.GOODS,
            value_yuan=Decimal("10"),
            thanks="谢谢",
            goods={item_y.pk: 1},
            actor=manager_x,
        )
    assert not Donation.objects.exists()
    item_y.refresh_from_db()
    assert item_y.stock == 10


def test_stock_take_adjusts_to_the_count_once_confirmed(rice, manager_x, supervisor_x):
    movement = count(rice, 47, "盘点短少", manager_x, supervisor_x)
    rice.refresh_from_db()
    assert movement.quantity == -3
    assert rice.stock == 47 == movements_sum(rice)
    assert count(rice, 47, "复盘", manager_x, supervisor_x) is None


def test_write_off_never_below_zero(kettle, manager_x, supervisor_x):
    with pytest.raises(InsufficientStock):
        write_off(kettle, 3, "damaged", "摔坏", manager_x, supervisor_x)
    kettle.refresh_from_db()
    assert kettle.stock == 2
    write_off(kettle, 2, "damaged", "摔坏", manager_x, supervisor_x)
    kettle.refresh_from_db()
    assert kettle.stock == 0 == movements_sum(kettle)


def test_write_off_needs_a_reason(kettle, manager_x):
    with pytest.raises(ValidationError):
        stock_write_off_request(
            item=kettle, quantity=1, cause="spoiled", reason=" ", actor=manager_x
        )


def test_database_refuses_negative_stock(rice):
    with pytest.raises(IntegrityError), transaction.atomic():
        Item.objects.filter(pk=rice.pk).update(stock=-1)


def test_update_and_delete_of_movements_refused_by_postgres(rice):
    movement = rice.movements.get()
    for sql in (
        "UPDATE store_stockmovement SET quantity = 999 WHERE id = %s",
        "DELETE FROM store_stockmovement WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [movement.pk])
    movement.refresh_from_db()
    assert movement.quantity == 50


def test_audit_finds_a_cached_stock_out_of_step(rice):
    assert checks.check() == []
    Item.objects.filter(pk=rice.pk).update(stock=49)
    problems = checks.check()
    assert len(problems) == 1
    assert "cached stock 49 != sum of movements 50" in problems[0]
