"""Donation traceability: FIFO attribution checked against a table worked out by hand.

The story of two items, rice and oil, in booking order:

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

from decimal import Decimal

import pytest

from points.models import Account, Entry
from points.services import entry_post
from reports.selectors_transparency import donation_thanks, donations_traced, liability_cover
from store.models import Donation, Donor, StockMovement
from store.services import (
    donation_record,
    redemption_void,
    stock_purchase,
    stock_take,
    stock_write_off,
)
from store.traceability import donation_lots, fifo_lots
from tests.store.conftest import make_item

F = StockMovement.FundSource


def give_points(household, points, actor):
    account = Account.objects.get(household=household)
    entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=points, actor=actor)


@pytest.fixture
def story(zones_x, village_x, card_a, card_b, manager_x, supervisor_x, redeem):
    rice = make_item(village_x, "grain_oil", "大米", 20, 0, manager_x, unit="袋")
    oil = make_item(village_x, "grain_oil", "菜籽油", 30, 0, manager_x, unit="桶")
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

    s = {"rice": rice, "oil": oil, "A": a, "B": b}
    s["P1"] = stock_purchase(
        item=rice,
        quantity=10,
        fund_source=F.POVERTY_BUREAU,
        cost_yuan=Decimal(300),
        actor=manager_x,
    )
    s["D1"] = goods(grain_co, "330", {rice: 5, oil: 4})
    s["R1"] = redeem(a, {rice: 8}, manager_x)
    s["M1"] = donation_record(
        village=village_x,
        donor=person,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal(500),
        thanks="谢谢张先生",
        actor=manager_x,
    )
    s["D2"] = goods(grain_co, "120", {rice: 6})
    s["R2"] = redeem(b, {rice: 5, oil: 2}, manager_x)
    s["W1"] = stock_write_off(
        item=rice, quantity=1, cause="spoiled", reason="受潮", actor=manager_x
    )
    s["P2"] = stock_purchase(
        item=rice,
        quantity=4,
        fund_source=F.DONATED_MONEY,
        cost_yuan=Decimal(160),
        paid_by=s["M1"],
        actor=manager_x,
    )
    s["R3"] = redeem(a, {rice: 9}, manager_x)
    s["R4"] = redeem(b, {rice: 2}, manager_x)
    redemption_void(redemption=s["R4"], actor=supervisor_x, reason="登记有误")
    s["R5"] = redeem(b, {rice: 1, oil: 1}, manager_x)
    s["S1"] = stock_take(item=oil, counted=0, reason="盘点短少", actor=manager_x)
    return s


def lot_table(story):
    """Every lot as (lot name, item, [(taker, quantity)...], remaining), names from the story."""
    names = {}
    for key, value in story.items():
        if key[0] in "RM" and hasattr(value, "pk"):
            names[("redemption", value.pk)] = key
    for key in ("W1", "S1", "P1", "P2"):
        names[("movement", story[key].pk)] = key
    donation_names = {story["D1"].pk: "D1", story["D2"].pk: "D2"}
    item_names = {story["rice"].pk: "rice", story["oil"].pk: "oil"}
    table = []
    for item_lots in fifo_lots([story["rice"].pk, story["oil"].pk]).values():
        for lot in item_lots:
            lot_name = donation_names.get(lot.donation_id) or names[("movement", lot.movement_id)]
            takers = [
                (
                    names[("redemption", draw.redemption_id)]
                    if draw.redemption_id
                    else names[("movement", draw.movement_id)],
                    draw.quantity,
                )
                for draw in lot.draws
            ]
            table.append((lot_name, item_names[lot.item_id], takers, lot.remaining))
    return sorted(table)


def test_fifo_matches_the_hand_worked_table(story):
    expected = sorted(
        [
            ("P1", "rice", [("R1", 8), ("R2", 2)], 0),
            ("D1", "rice", [("R2", 3), ("W1", 1), ("R3", 1)], 0),
            ("D2", "rice", [("R3", 6)], 0),
            ("P2", "rice", [("R3", 2), ("R5", 1)], 1),
            ("D1", "oil", [("R2", 2), ("R5", 1), ("S1", 1)], 0),
        ]
    )
    assert lot_table(story) == expected
    story["rice"].refresh_from_db()
    story["oil"].refresh_from_db()
    assert (story["rice"].stock, story["oil"].stock) == (1, 0)  # what the lots leave


def test_goods_donation_summary(story):
    page = donation_thanks(Donation.objects.get(pk=story["D1"].pk))
    lines = {line["item"]: line for line in page["lines"]}
    assert {k: lines["大米"][k] for k in ("received", "redeemed", "households")} == {
        "received": 5,
        "redeemed": 4,
        "households": 2,
    }
    assert (lines["大米"]["written_off"], lines["大米"]["on_shelves"]) == (1, 0)
    assert (lines["菜籽油"]["redeemed"], lines["菜籽油"]["households"]) == (3, 1)
    assert (lines["菜籽油"]["written_off"], lines["菜籽油"]["on_shelves"]) == (1, 0)
    assert page["totals"]["households"] == 2
    assert sorted((r["item"], r["quantity"], r["household"]) for r in page["redemptions"]) == [
        ("大米", 1, "王**"),
        ("大米", 3, "李**"),
        ("菜籽油", 1, "李**"),
        ("菜籽油", 2, "李**"),
    ]


def test_money_donation_follows_the_purchases_it_paid(story):
    page = donation_thanks(Donation.objects.get(pk=story["M1"].pk))
    assert page["spent"] == Decimal(160)
    assert page["unspent"] == Decimal(340)
    assert [(p["item"], p["quantity"]) for p in page["purchases"]] == [("大米", 4)]
    (line,) = page["lines"]
    assert (line["received"], line["redeemed"], line["households"], line["on_shelves"]) == (
        4,
        3,
        2,
        1,
    )
    assert [lot.movement_id for lot in donation_lots(story["M1"])] == [story["P2"].pk]


def test_list_totals_agree_with_the_donor_pages(story, village_x):
    donations = Donation.objects.filter(village=village_x).order_by("pk")
    for row in donations_traced(village_x, donations):
        page = donation_thanks(row["donation"])
        assert row["redeemed"] == page["totals"]["redeemed"]
        assert row["on_shelves"] == page["totals"]["on_shelves"]


def test_cover_values_what_remains_first_in_first_out(story, village_x):
    cover = liability_cover(village_x)
    assert [
        (s["source"], s["quantity"], s["cost_yuan"], s["points_value"]) for s in cover["sources"]
    ] == [("donated_money", 1, Decimal("40.00"), 20)]
    balances = sum(Account.objects.filter(village=village_x).values_list("balance", flat=True))
    assert cover["outstanding_points"] == balances
    assert cover["outstanding_yuan"] == balances * village_x.yuan_per_point
    assert cover["covered"] is False
    assert cover["points_cover"] == (Decimal(20) / balances).quantize(Decimal("0.01"))


def test_purchase_cannot_outspend_its_donation(story, manager_x):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="left to spend"):
        stock_purchase(
            item=story["rice"],
            quantity=10,
            fund_source=F.DONATED_MONEY,
            cost_yuan=Decimal(341),
            paid_by=story["M1"],
            actor=manager_x,
        )
    with pytest.raises(ValidationError, match="Only a purchase paid from donated money"):
        stock_purchase(
            item=story["rice"],
            quantity=1,
            fund_source=F.COLLECTIVE,
            cost_yuan=Decimal(1),
            paid_by=story["M1"],
            actor=manager_x,
        )
    with pytest.raises(ValidationError, match="money donation of this village"):
        stock_purchase(
            item=story["rice"],
            quantity=1,
            fund_source=F.DONATED_MONEY,
            cost_yuan=Decimal(1),
            paid_by=story["D1"],
            actor=manager_x,
        )
