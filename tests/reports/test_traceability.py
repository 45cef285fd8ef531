"""Donation traceability: FIFO attribution checked against a table worked out by hand.

The story (the `story` fixture in conftest.py) is told there; the table below follows it.
"""

from decimal import Decimal

import pytest
from django.utils import timezone

from core.numbers import to_cents
from points.models import Account
from reports.selectors_transparency import (
    donation_thanks,
    donations_traced,
    liability_cover,
    notice_traceability_sections,
)
from store.models import Donation, Donor, Item, StockMovement
from store.services import donation_record, stock_purchase
from store.traceability import donation_lots, fifo_lots, shelf_lots, village_lots
from tests.store.conftest import count, make_item

F = StockMovement.FundSource


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
        for key in ("received", "redeemed", "households", "written_off", "on_shelves"):
            assert row[key] == page["totals"][key]


def test_each_donation_traced_alone_as_among_all(story, village_x, django_assert_num_queries):
    """Households are looked up only for the donations asked about, in a fixed number of
    queries (items, movements, goods values: 2, households)."""
    donations = list(Donation.objects.filter(village=village_x).order_by("pk"))
    with django_assert_num_queries(5):
        together = donations_traced(village_x, donations)
    for donation, row in zip(donations, together, strict=True):
        with django_assert_num_queries(5):
            (alone,) = donations_traced(village_x, [donation])
        assert alone == row
    households = {row["donation"].pk: row["households"] for row in together}
    assert households == {story["D1"].pk: 2, story["M1"].pk: 2, story["D2"].pk: 1}


def test_cover_values_what_remains_first_in_first_out(story, village_x):
    cover = liability_cover(village_x)
    assert [
        (s["source"], s["quantity"], s["cost_yuan"], s["points_value"]) for s in cover["sources"]
    ] == [("donated_money", 1, Decimal("40.00"), 20)]
    balances = sum(Account.objects.filter(village=village_x).values_list("balance", flat=True))
    assert cover["outstanding_points"] == balances
    assert cover["outstanding_yuan"] == balances * village_x.yuan_per_point
    assert cover["covered"] is False
    assert cover["points_cover"] == to_cents(Decimal(20) / balances)


def test_goods_off_sale_fetch_no_points_in_the_cover(story, village_x, client_supervisor_x):
    """The cover says whether the shelves could honour every point today: an item taken
    off sale cannot be had for points, so its units count for no points (their cost still
    counts), on the cover page and in the county's stock value alike."""
    from django.urls import reverse

    from reports.selectors import Period, _county_figures

    (lot,) = [lot for lot in shelf_lots(village_x) if lot.remaining]
    Item.objects.filter(pk=lot.item_id).update(is_active=False)
    cover = liability_cover(village_x)
    assert [(s["quantity"], s["cost_yuan"], s["points_value"]) for s in cover["sources"]] == [
        (1, Decimal("40.00"), 0)
    ]
    assert (cover["stock_points_value"], cover["off_sale_units"]) == (0, 1)
    assert cover["points_cover"] == 0 and cover["covered"] is False
    today = timezone.localdate()
    figures = _county_figures([village_x.pk], Period.month(today.year, today.month))
    assert figures[village_x.pk]["stock_points"] == 0
    page = client_supervisor_x.get(reverse("reports:cover"))
    assert "1 unit off sale counts for no points." in page.text


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


def test_the_notice_counts_a_household_reached_by_two_donations_once(
    village_x, manager_x, card_a, zones_x, redeem
):
    """Found by a probe: the total summed each donation's households, so a household that
    took goods of two donations was two households reached."""
    soap = make_item(village_x, "daily", "肥皂", 1, 0, manager_x)
    for name in ("甲", "乙"):
        donation_record(
            village=village_x,
            donor=Donor.objects.create(village=village_x, name=name, kind="person"),
            kind=Donation.Kind.GOODS,
            value_yuan=Decimal("10"),
            thanks="谢谢",
            actor=manager_x,
            goods={soap.pk: 1},
        )
    redeem(card_a.household, {soap: 2}, manager_x)  # one household takes both gifts
    today = timezone.localdate()
    (section,) = notice_traceability_sections(village_x, today.year, today.month)
    column = section.columns.index("Households reached")
    assert [row[column] for row in section.rows] == [1, 1]
    assert section.totals[column] == 1
    assert section.totals[column - 1] == 2  # the units redeemed still add up


def shelves(lots) -> list[tuple]:
    """What a list of lots says is on the shelves: each lot with units left, its figures."""
    return sorted(
        (lot.movement_id, lot.item_id, lot.source, lot.remaining, lot.remaining_cost)
        for lot in lots
        if lot.remaining
    )


def test_the_shelves_read_short_are_the_whole_historys(story, village_x, manager_x, supervisor_x):
    """`shelf_lots` reads only the stock-ins the stock reaches back to; what it finds on the
    shelves is what the whole first-in-first-out pass leaves: after the story (a void, a
    write-off), a stock-take's surplus and a shortfall."""
    assert shelves(shelf_lots(village_x)) == shelves(village_lots(village_x))
    assert shelves(shelf_lots(village_x))  # one rice of P2 is left
    for item, quantity in ((story["rice"], 6), (story["oil"], 4)):
        stock_purchase(
            item=item,
            quantity=quantity,
            fund_source=StockMovement.FundSource.POVERTY_BUREAU,
            cost_yuan=Decimal(60),
            actor=manager_x,
        )
    rice, oil = (Item.objects.get(pk=story[name].pk) for name in ("rice", "oil"))
    count(rice, rice.stock + 3, "多出", manager_x, supervisor_x)
    count(oil, oil.stock - 2, "少了", manager_x, supervisor_x)
    assert shelves(shelf_lots(village_x)) == shelves(village_lots(village_x))
    assert len(shelves(shelf_lots(village_x))) >= 4
