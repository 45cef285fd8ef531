"""Fixtures of the reports tests: the store's items, and the hand-worked donation story."""

from decimal import Decimal

import pytest

from points.models import Account, Entry
from points.services import entry_post
from store.models import Donation, Donor, StockMovement
from store.services import (
    donation_record,
    redemption_void,
    stock_purchase,
    stock_take,
    stock_write_off,
)
from tests.store.conftest import _english, make_item, oil, redeem, rice, zones_x  # noqa: F401

F = StockMovement.FundSource


def give_points(household, points, actor):
    account = Account.objects.get(household=household)
    entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=points, actor=actor)


@pytest.fixture
def story(zones_x, village_x, card_a, card_b, manager_x, supervisor_x, redeem):  # noqa: F811
    """The hand-worked donation story of tests/reports/test_traceability.py.

    Two items, rice and oil, in booking order:

         1 P1  purchase rice 10 (poverty bureau, ¥300)
         2 D1  donated goods: rice 5, oil 4 (declared ¥330)
         3 R1  household A redeems rice 8
         4 M1  money donation ¥500
         5 D2  donated goods: rice 6 (declared ¥120)
         6 R2  household B redeems rice 5, oil 2
         7 W1  rice 1 written off (spoiled)
         8 P2  purchase rice 4 paid from M1 (¥160)
         9 R3  household A redeems rice 9
        10 R4  household B redeems rice 2 — then voided (as if it never happened)
        11 R5  household B redeems rice 1, oil 1
        12 S1  stock-take finds oil 1 short

    Rice, oldest lot first: R1 takes P1 8; R2 takes P1 2 + D1 3; W1 takes D1 1; R3 takes D1 1 +
    D2 6 + P2 2; R5 takes P2 1; one rice of P2 is left. Oil: R2 takes D1 2, R5 D1 1, S1 D1 1.
    """
    rice_item = make_item(village_x, "grain_oil", "大米", 20, 0, manager_x, unit="袋")
    oil_item = make_item(village_x, "grain_oil", "菜籽油", 30, 0, manager_x, unit="桶")
    a, b = card_a.household, card_b.household
    give_points(a, 1000, supervisor_x)
    give_points(b, 1000, supervisor_x)
    grain_co = Donor.objects.create(village=village_x, name="延安爱心粮油", kind="company")
    person = Donor.objects.create(village=village_x, name="张建国", kind="person")

    def goods(donor, value, lines):
        return donation_record(
            village=village_x,
            donor=donor,
            kind=Donation.Kind.GOODS,
            value_yuan=Decimal(value),
            thanks="谢谢",
            actor=manager_x,
            goods={item.pk: qty for item, qty in lines.items()},
        )

    s = {"rice": rice_item, "oil": oil_item, "A": a, "B": b}
    s["P1"] = stock_purchase(
        item=rice_item,
        quantity=10,
        fund_source=F.POVERTY_BUREAU,
        cost_yuan=Decimal(300),
        actor=manager_x,
    )
    s["D1"] = goods(grain_co, "330", {rice_item: 5, oil_item: 4})
    s["R1"] = redeem(a, {rice_item: 8}, manager_x)
    s["M1"] = donation_record(
        village=village_x,
        donor=person,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal(500),
        thanks="谢谢张先生",
        actor=manager_x,
    )
    s["D2"] = goods(grain_co, "120", {rice_item: 6})
    s["R2"] = redeem(b, {rice_item: 5, oil_item: 2}, manager_x)
    s["W1"] = stock_write_off(
        item=rice_item, quantity=1, cause="spoiled", reason="受潮", actor=manager_x
    )
    s["P2"] = stock_purchase(
        item=rice_item,
        quantity=4,
        fund_source=F.DONATED_MONEY,
        cost_yuan=Decimal(160),
        paid_by=s["M1"],
        actor=manager_x,
    )
    s["R3"] = redeem(a, {rice_item: 9}, manager_x)
    s["R4"] = redeem(b, {rice_item: 2}, manager_x)
    redemption_void(redemption=s["R4"], actor=supervisor_x, reason="登记有误")
    s["R5"] = redeem(b, {rice_item: 1, oil_item: 1}, manager_x)
    s["S1"] = stock_take(item=oil_item, counted=0, reason="盘点短少", actor=manager_x)
    return s
