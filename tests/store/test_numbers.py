"""Quantities and money typed on the store pages: full-width digits are digits, nothing else is.

Found by an outside attack: '٣', '３', '९' and '1_0' were taken as 3 and 10 in counter
quantities and stock-in quantities (Python's int() and Decimal() read them all), and
Decimal() takes '1e3' as a thousand yuan.
"""

import re
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from store import checks
from store.models import (
    Donation,
    Item,
    Redemption,
    Reservation,
    StockCorrection,
    StockMovement,
)
from store.services import (
    MAX_STOCK,
    MAX_UNITS_IN,
    STOCK_COLUMN_MAX,
    count_expected,
    movements_plan,
    stock_corrections_confirm,
    stock_purchase,
)
from tests.store.conftest import add_to_cart, confirm_form

HOSTILE_QUANTITIES = ["٣", "९", "1_0", "1e1", "+3", "-3", "1 0", "３.0", "²"]
HOSTILE_AMOUNTS = ["1e3", "١٠", "1_000", "NaN", "Infinity", "+5", "-5", "1 000", "0x10"]


def _key():
    return {"idempotency_key": f"store-number-test-{uuid.uuid4().hex}"}


def _stock_in(rice, **fields):
    return {
        "item": rice.pk,
        "quantity": "5",
        "fund_source": "collective",
        "cost_yuan": "10",
        **_key(),
        **fields,
    }


def _movements():
    return list(StockMovement.objects.order_by("pk").values_list("pk", "quantity"))


def test_counter_confirm_refuses_other_digits(client_manager_x, card_a, rice):
    url = reverse("store:counter_confirm", args=[card_a.household_id])
    for quantity in HOSTILE_QUANTITIES:  # each refused, so each meets the same stock
        data = {"key": str(uuid.uuid4()), f"line_{rice.pk}": quantity}
        response = client_manager_x.post(url, data)
        assert response.status_code == 302, quantity
        assert response.url == reverse("store:counter_household", args=[card_a.household_id])
        assert not Redemption.objects.exists(), quantity
        page = client_manager_x.get(response.url)
        said = [str(m) for m in page.context["messages"]]
        assert "A quantity is not a number." in said, quantity
        rice.refresh_from_db()
        assert rice.stock == 50, quantity


def test_counter_confirm_reads_full_width_quantities(client_manager_x, card_a, rice):
    add_to_cart(client_manager_x, card_a.household, rice, 3)
    data = confirm_form(client_manager_x, card_a.household) | {f"line_{rice.pk}": "３"}
    url = reverse("store:counter_confirm", args=[card_a.household_id])
    client_manager_x.post(url, data)
    assert Redemption.objects.get().lines.get().quantity == 3
    rice.refresh_from_db()
    assert rice.stock == 47


def test_counter_cart_refuses_other_digits(client_manager_x, card_a, rice):
    url = reverse("store:counter_cart", args=[card_a.household_id])
    add_to_cart(client_manager_x, card_a.household, rice, 2)  # "set" changes a line there
    before = client_manager_x.session["store_cart"]
    for quantity in HOSTILE_QUANTITIES:  # each refused, so each meets the cart as it was
        client_manager_x.post(url, {"action": "set", "item": rice.pk, "quantity": quantity})
        assert client_manager_x.session["store_cart"] == before, quantity
    client_manager_x.post(url, {"action": "set", "item": "٣", "quantity": "1"})
    assert client_manager_x.session["store_cart"] == before


def test_counter_cart_reads_full_width(client_manager_x, card_a, rice):
    url = reverse("store:counter_cart", args=[card_a.household_id])
    add_to_cart(client_manager_x, card_a.household, rice, 1)  # "set" changes a line there
    client_manager_x.post(url, {"action": "set", "item": rice.pk, "quantity": "４"})
    page = client_manager_x.get(reverse("store:counter_household", args=[card_a.household_id]))
    assert [(line["item"], line["quantity"]) for line in page.context["cart"]] == [(rice, 4)]


def test_a_cart_quantity_out_of_range_says_its_range(client_manager_x, card_a, rice):
    """It said "The cart could not be changed." whatever was typed."""
    url = reverse("store:counter_cart", args=[card_a.household_id])
    add_to_cart(client_manager_x, card_a.household, rice, 1)
    response = client_manager_x.post(
        url, {"action": "set", "item": rice.pk, "quantity": "1000"}, follow=True
    )
    assert "Quantity can be at most 999." in [str(m) for m in response.context["messages"]]


def test_stock_in_refuses_other_digits_in_the_quantity(client_manager_x, rice):
    before = _movements()
    for quantity in HOSTILE_QUANTITIES:
        data = _stock_in(rice, quantity=quantity)
        response = client_manager_x.post(reverse("store:stock_in"), data)
        assert response.status_code == 200, quantity
        told = response.context["form"].errors["quantity"][0]
        # -3 is a number: it is told the minimum, not to use the digits 0-9.
        assert ("Quantity must be at least 1." if quantity == "-3" else "digits 0-9") in told
        assert _movements() == before, quantity


def test_stock_in_refuses_odd_amounts(client_manager_x, rice):
    before = _movements()
    for cost in HOSTILE_AMOUNTS:
        data = _stock_in(rice, cost_yuan=cost)
        response = client_manager_x.post(reverse("store:stock_in"), data)
        assert response.status_code == 200, cost
        assert response.context["form"].errors["cost_yuan"], cost
        assert _movements() == before, cost


def test_a_negative_quantity_is_told_its_range_not_to_use_digits(
    client_manager_x, client_villager_a, card_a, rice
):
    """Found by a probe: -3 reserved was told "the quantity must be a number", a negative
    count on the stock-take sheet "use the digits 0-9"; -3 is a number, out of range."""
    page = client_villager_a.get(reverse("store:reserve")).content.decode()
    shown = dict(re.findall(r'name="((?:price_|idempotency_key)[^"]*)" value="([^"]*)"', page))
    reserved = client_villager_a.post(
        reverse("store:reserve"), {**shown, "save": "1", f"qty_{rice.pk}": "-3"}
    )
    assert "Each quantity must be between 1 and 999." in reserved.content.decode()
    body = {"item": [rice.pk], "idempotency_key": _key()["idempotency_key"], "save": "1"}
    body |= {f"expected-{rice.pk}": "50", f"count-{rice.pk}": "－2", f"reason-{rice.pk}": "少了"}
    counted = client_manager_x.post(reverse("store:stock_take_sheet"), body)
    (row,) = counted.context["rows"]
    assert row.error == "The count must be at least 0."
    assert not Reservation.objects.exists() and not StockCorrection.objects.exists()


def test_stock_in_reads_full_width(client_manager_x, rice):
    body = _stock_in(rice, quantity="３", cost_yuan="１２．５０")
    assert client_manager_x.post(reverse("store:stock_in"), body).status_code == 302
    rice.refresh_from_db()
    assert rice.stock == 53
    assert rice.movements.first().cost_yuan == Decimal("12.50")


def _donation(rice, **fields):
    return {
        "new_donor_name": "延安爱心企业",
        "new_donor_kind": "company",
        "kind": "goods",
        "received_on": "2024-05-01",
        "value_yuan": "800",
        "thanks": "谢谢",
        "goods-TOTAL_FORMS": "1",
        "goods-INITIAL_FORMS": "0",
        "goods-0-item": rice.pk,
        "goods-0-quantity": "10",
        **_key(),
        **fields,
    }


def test_donation_value_and_quantities(client_manager_x, rice):
    url = reverse("store:donation_create")
    for bad in ({"value_yuan": "1e3"}, {"value_yuan": "٨٠٠"}, {"goods-0-quantity": "١٠"}):
        response = client_manager_x.post(url, _donation(rice, **bad))
        assert response.status_code == 200, bad
    assert not Donation.objects.exists()
    wide = _donation(rice, value_yuan="８００．５", **{"goods-0-quantity": "１０"})
    assert client_manager_x.post(url, wide).status_code == 302
    assert Donation.objects.get().value_yuan == Decimal("800.50")
    assert Item.objects.get(pk=rice.pk).stock == 60


def test_donated_goods_are_bounded_as_a_stock_in_is(client_manager_x, rice):
    """A line of donated goods took any quantity up to what the database holds: two
    billion bags of rice went on the shelf and the public donation list in one POST."""
    url = reverse("store:donation_create")
    for huge in ("100001", "2000000000"):
        response = client_manager_x.post(url, _donation(rice, **{"goods-0-quantity": huge}))
        assert response.status_code == 200, huge
        assert response.context["goods"].errors[0]["quantity"]
    assert not Donation.objects.exists()
    assert Item.objects.get(pk=rice.pk).stock == 50
    most = _donation(rice, **{"goods-0-quantity": "100000"})
    assert client_manager_x.post(url, most).status_code == 302
    assert Item.objects.get(pk=rice.pk).stock == 100_050


def test_stock_take_and_write_off(client_manager_x, supervisor_x, rice):
    take = reverse("store:item_stock_take", args=[rice.pk])
    write_off = reverse("store:item_write_off", args=[rice.pk])
    before = _movements()
    assert (
        client_manager_x.post(
            take, {"counted": "٤٨", "expected": "50", "reason": "盘点", **_key()}
        ).status_code
        == 200
    )
    bad_off = {"quantity": "1_0", "cause": "spoiled", "reason": "受潮", **_key()}
    assert client_manager_x.post(write_off, bad_off).status_code == 200
    assert _movements() == before
    client_manager_x.post(take, {"counted": "４８", "expected": "５０", "reason": "盘点", **_key()})
    (shortfall,) = rice.corrections.all()
    besides = {"another_loss": str(shortfall.pk)}  # the count's shortfall, shown on the form
    client_manager_x.post(write_off, {**bad_off, "quantity": "３", **besides, **_key()})
    assert sorted(rice.corrections.values_list("quantity", flat=True)) == [-3, -2]
    stock_corrections_confirm(
        correction_ids=list(rice.corrections.values_list("pk", flat=True)), actor=supervisor_x
    )
    rice.refresh_from_db()
    assert rice.stock == 45


def test_item_price_and_threshold(client_manager_x, zones_x):
    body = {
        "zone": zones_x[2].pk,
        "name": "洗衣粉 2kg",
        "unit": "袋",
        "points_price": "٨",
        "is_active": "on",
        "low_stock_threshold": "5",
    }
    url = reverse("store:item_create")
    response = client_manager_x.post(url, body)
    assert response.status_code == 200 and response.context["form"].errors["points_price"]
    assert not Item.objects.exists()
    assert client_manager_x.post(url, {**body, "points_price": "８"}).status_code == 302
    assert Item.objects.get().points_price == 8


@pytest.mark.parametrize(
    ("language", "price_told", "threshold_told"),
    [
        ("en", "Points price can be at most 2147483647.", "Low-stock threshold can be at most"),
        ("zh-hans", "所需积分不能超过 2147483647。", "库存预警数量不能超过"),
    ],
)
def test_the_item_forms_limits_are_said_in_words(
    client_manager_x, zones_x, language, price_told, threshold_told
):
    body = {
        "zone": zones_x[2].pk,
        "name": "洗衣粉 2kg",
        "unit": "袋",
        "points_price": "3000000000",
        "is_active": "on",
        "low_stock_threshold": "3000000000",
    }
    with translation.override(language):
        response = client_manager_x.post(
            reverse("store:item_create"), body, headers={"accept-language": language}
        )
    errors = response.context["form"].errors
    assert errors["points_price"] == [price_told]
    assert errors["low_stock_threshold"][0].startswith(threshold_told)
    zero = client_manager_x.post(reverse("store:item_create"), {**body, "points_price": "0"})
    assert "1" in zero.context["form"].errors["points_price"][0]


@pytest.mark.parametrize(
    "month, heading",
    [
        ("٢٠٢٤-٠٣", "is not a month"),
        ("2_024-3", "is not a month"),
        ("0001-01", "Nothing is recorded for 0001-01"),
        ("9999-12", "9999-12 has not come yet"),
    ],
)
def test_summary_month_of_odd_digits_says_which_months_exist(client_supervisor_x, month, heading):
    """ASCII digits only (int() took '٢٠٢٤-٠٣' and '2_024-3'); the calendar's ends are no 500.
    Each says which months exist (core.months.asked_within), no longer this month's page as
    if the address were right."""
    response = client_supervisor_x.get(reverse("store:summary_month"), {"month": month})
    assert response.status_code == 404
    assert heading in response.text and "can be opened" in response.text


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("name", ["store:summary_day", "store:redemption_list"])
def test_the_calendars_first_and_last_day_are_no_500(client_supervisor_x, name, day):
    """The summary says the day is outside the records; the list of redemptions, a filter,
    shows none."""
    response = client_supervisor_x.get(reverse(name), {"day": day})
    assert response.status_code == (404 if name == "store:summary_day" else 200)


def _filled_to(item, stock, manager):
    """`item` bought up to `stock` units, one stock-in of at most MAX_UNITS_IN at a time."""
    item.refresh_from_db()
    while item.stock < stock:
        stock_purchase(
            item=item,
            quantity=min(MAX_UNITS_IN, stock - item.stock),
            fund_source="collective",
            cost_yuan=Decimal("1.00"),
            actor=manager,
        )
        item.refresh_from_db()


def test_stock_beyond_what_the_books_keep_is_refused_in_words(client_manager_x, manager_x, rice):
    """Found by a probe: a stock-in onto a stock near the database's integer limit was told
    Django's 'Ensure this value is less than or equal to 2147483647.', as was a donation of
    the goods (the movement's stock after overflowing). A quantity typed now stops at
    MAX_STOCK, saying which item and why."""
    _filled_to(rice, MAX_STOCK - 1, manager_x)
    before = _movements()
    response = client_manager_x.post(reverse("store:stock_in"), _stock_in(rice, quantity="2"))
    told = response.context["form"].non_field_errors()
    assert told == [
        f"大米 10kg would then have {MAX_STOCK + 1} in stock: the books keep at most "
        f"{MAX_STOCK} of one item. Nothing was recorded; check the quantity."
    ]
    response = client_manager_x.post(reverse("store:donation_create"), _donation(rice))
    assert "the books keep at most" in response.context["form"].non_field_errors()[0]
    assert _movements() == before and not Donation.objects.exists()
    client_manager_x.post(reverse("store:stock_in"), _stock_in(rice, quantity="1"))
    assert Item.objects.get(pk=rice.pk).stock == MAX_STOCK
    assert count_expected([Item.objects.get(pk=rice.pk)])[rice.pk] == MAX_STOCK


def _sheet(items, counts):
    """The stock-take sheet's body: each item counted as on the books unless `counts` says."""
    body = {"item": [str(item.pk) for item in items], "save": "1", **_key()}
    for item in items:
        expected = count_expected([item])[item.pk]
        counted = counts.get(item.pk, expected)
        body |= {f"expected-{item.pk}": str(expected), f"count-{item.pk}": str(counted)}
        body |= {f"cause-{item.pk}": "", f"reason-{item.pk}": "少了" if counted != expected else ""}
    return body


def test_an_item_above_what_typed_quantities_reach_is_voided_and_counted(
    client_manager_x, client_supervisor_x, manager_x, supervisor_x, card_a, rice, oil, redeem
):
    """Found by the brief: an item above MAX_STOCK (older data, from before the forms capped
    quantities; or bought up to it after a sale) could not be counted, on its page nor on
    the sheet (which then saved no row at all), and the void of a sale of it was refused
    with '...check the quantity' though a void has no quantity typed. MAX_STOCK now bounds
    typed quantities only: a void gives back what was sold, and a count may find up to what
    the books hold, however many."""
    sold = redeem(card_a.household, {rice: 2}, manager_x)
    _filled_to(rice, MAX_STOCK, manager_x)
    client_supervisor_x.post(
        reverse("store:redemption_void", args=[sold.pk]), {"reason": "退货", **_key()}
    )
    assert Redemption.objects.get(pk=sold.pk).voided_at is not None
    rice.refresh_from_db()
    assert rice.stock == MAX_STOCK + 2

    # The whole store counted, rice as on the books: saved, every count agreeing.
    sheet = reverse("store:stock_take_sheet")
    saved = client_manager_x.post(sheet, _sheet([rice, oil], {}), HTTP_ACCEPT_LANGUAGE="en")
    assert saved.status_code == 302
    said = [str(m) for m in client_manager_x.get(saved.url).context["messages"]]
    assert any("every count agrees with the books" in m for m in said), said
    # More than the books and the limit both: refused on its row, in words, nothing kept.
    over = client_manager_x.post(
        sheet, _sheet([rice, oil], {rice.pk: MAX_STOCK + 3}), HTTP_ACCEPT_LANGUAGE="en"
    )
    assert f"at most {MAX_STOCK + 2}" in over.content.decode()
    assert not StockCorrection.objects.exists()

    # Its own page: one bag short, waiting for the supervisor, then confirmed.
    page = reverse("store:item_stock_take", args=[rice.pk])
    shown = client_manager_x.get(page).context["form"]
    assert shown.initial["counted"] == MAX_STOCK + 2
    client_manager_x.post(
        page,
        {"counted": MAX_STOCK + 1, "expected": MAX_STOCK + 2, "reason": "破了一袋", **_key()},
    )
    short = StockCorrection.objects.get()
    assert (short.quantity, short.status) == (-1, StockCorrection.Status.PENDING)
    stock_corrections_confirm(correction_ids=[short.pk], actor=supervisor_x)
    assert Item.objects.get(pk=rice.pk).stock == MAX_STOCK + 1
    assert checks.check() == []


def test_a_void_past_what_the_stock_column_holds_is_refused_in_words(rice):
    """Voids pass MAX_STOCK; the column's own limit still stops one, in words (Django's
    'Ensure this value is less than or equal to 2147483647.' otherwise)."""
    rice.stock = STOCK_COLUMN_MAX - 1
    with pytest.raises(ValidationError) as refused, translation.override("en"):
        movements_plan(moves=[(rice, 2)], kind=StockMovement.Kind.VOID, actor=None, ids=[1])
    assert refused.value.messages == [
        f"大米 10kg would then have {STOCK_COLUMN_MAX + 1} in stock, more than the books can "
        "hold. Nothing was recorded."
    ]


def test_one_item_on_several_lines_of_a_donation_is_bounded_as_one_line(client_manager_x, rice):
    """Found by a probe: the bound of a donated line held per line, so the same item on
    thirty lines brought 3,000,000 in with one POST; the lines of an item are one stock-in."""
    body = _donation(rice, **{"goods-TOTAL_FORMS": "2", "goods-0-quantity": "60000"})
    body |= {"goods-1-item": rice.pk, "goods-1-quantity": "60000"}
    response = client_manager_x.post(reverse("store:donation_create"), body)
    assert response.context["form"].non_field_errors() == [
        "At most 100000 of one item come in at once; 大米 10kg has 120000. Nothing was "
        "recorded; check the quantity."
    ]
    assert not Donation.objects.exists()
    assert Item.objects.get(pk=rice.pk).stock == 50
