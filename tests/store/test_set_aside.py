"""Goods waiting to be written off, or found missing by a stock-take, are set aside: in the
books until the supervisor decides, but not on offer (Item.writing_off, moved only by
store.services._set_aside_plan). Before, the counter sold them, a household reserved them,
and the write-off was then refused ("only N are in stock now") or the villager got spoiled
goods."""

import uuid
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from notifications.models import Notification
from points import checks as ledger_checks
from reports.referrals import referral_decide
from store import checks
from store.models import Item, Redemption, StockCorrection
from store.services import (
    CountLine,
    CountRefused,
    InsufficientStock,
    count_expected,
    reservation_create,
    reservation_hand_over,
    stock_corrections_confirm,
    stock_corrections_refuse,
    stock_count_record,
    stock_write_off_request,
)
from tests.conftest import form_key
from tests.store.conftest import add_to_cart, counter_url
from tests.store.test_concurrency import redeem_job, run_at_once
from villagers.models import Referral

PENDING = StockCorrection.Status.PENDING


def books_sound():
    assert checks.check() == []
    assert ledger_checks.check() == []


def fresh(item) -> Item:
    return Item.objects.get(pk=item.pk)


def ask_write_off(item, quantity, manager, reason="受潮发霉"):
    return stock_write_off_request(
        item=item, quantity=quantity, cause="spoiled", reason=reason, actor=manager
    )


def count(item, counted, manager, reason="少了"):
    expected = count_expected([fresh(item)])[item.pk]
    line = CountLine(item_id=item.pk, counted=counted, expected=expected, reason=reason)
    return stock_count_record(village=item.village, lines=[line], actor=manager)


def test_goods_asked_to_be_written_off_are_not_sold_until_the_supervisor_decides(
    card_a, kettle, manager_x, supervisor_x, redeem
):
    asked = ask_write_off(kettle, 1, manager_x)
    kettle = fresh(kettle)
    assert (kettle.stock, kettle.writing_off, kettle.available) == (2, 1, 1)
    with pytest.raises(InsufficientStock, match="1 left, 2 wanted"):
        redeem(card_a.household, {kettle: 2}, manager_x)
    redeem(card_a.household, {kettle: 1}, manager_x)  # the good one
    stock_corrections_confirm(correction_ids=[asked.pk], actor=supervisor_x)
    kettle = fresh(kettle)
    assert (kettle.stock, kettle.writing_off, kettle.available) == (0, 0, 0)
    books_sound()


def test_a_refused_write_off_puts_its_goods_back_on_offer(
    card_a, kettle, manager_x, supervisor_x, redeem
):
    asked = ask_write_off(kettle, 2, manager_x)
    assert fresh(kettle).available == 0
    stock_corrections_refuse(correction_ids=[asked.pk], actor=supervisor_x, reason="没坏")
    kettle = fresh(kettle)
    assert (kettle.stock, kettle.writing_off, kettle.available) == (2, 0, 2)
    redeem(card_a.household, {kettle: 2}, manager_x)
    books_sound()


def test_a_household_cannot_reserve_goods_waiting_to_be_written_off(
    card_a, kettle, villager_a, manager_x
):
    ask_write_off(kettle, 1, manager_x)
    with pytest.raises(InsufficientStock, match="1 left, 2 wanted"):
        reservation_create(household=card_a.household, lines={kettle.pk: 2}, actor=villager_a)
    reservation = reservation_create(
        household=card_a.household, lines={kettle.pk: 1}, actor=villager_a
    )
    kettle = fresh(kettle)
    assert (kettle.stock, kettle.held, kettle.writing_off, kettle.available) == (2, 1, 1, 0)
    # Nor is a second write-off asked of what the reservation holds.
    with pytest.raises(InsufficientStock, match="Only 0 of .*cancel it first"):
        ask_write_off(kettle, 1, manager_x)
    # The good kettle it holds is handed over; the spoiled one stays set aside.
    reservation_hand_over(reservation=reservation, idempotency_key=uuid.uuid4(), actor=manager_x)
    kettle = fresh(kettle)
    assert (kettle.stock, kettle.held, kettle.writing_off, kettle.available) == (1, 0, 1, 0)
    books_sound()


def test_a_shortfall_found_by_a_count_is_set_aside_and_a_recount_puts_it_back(
    card_a, oil, manager_x, redeem
):
    (shortfall,) = count(oil, 17, manager_x).corrections
    assert (shortfall.quantity, shortfall.set_aside) == (-3, 3)
    assert fresh(oil).available == 17
    with pytest.raises(InsufficientStock, match="17 left, 18 wanted"):
        redeem(card_a.household, {oil: 18}, manager_x)
    # A recount that agrees with the books replaces it: all 20 are on offer again.
    assert count(oil, 20, manager_x).corrections == []
    oil = fresh(oil)
    assert (oil.writing_off, oil.available) == (0, 20)
    # A surplus sets nothing aside.
    (surplus,) = count(oil, 22, manager_x, reason="多了").corrections
    assert (surplus.set_aside, fresh(oil).writing_off) == (0, 0)
    books_sound()


def test_a_count_below_what_reservations_hold_is_refused_on_its_row(
    card_a, kettle, villager_a, manager_x
):
    """Two kettles held for a household, one on the shelf: the held goods cannot all be
    handed over, so the count asks for the reservation to be cancelled first (it was a
    database error once the shortfall was set aside)."""
    reservation_create(household=card_a.household, lines={kettle.pk: 2}, actor=villager_a)
    with pytest.raises(CountRefused) as refused:
        count(kettle, 1, manager_x)
    assert "2 are held for reservations" in refused.value.rows[kettle.pk]
    assert not StockCorrection.objects.exists()
    assert fresh(kettle).writing_off == 0
    books_sound()


def test_the_shortfall_a_refused_write_off_leaves_stays_set_aside(
    village_x, card_a, rice, manager_x, supervisor_x, redeem
):
    """Books 50, 5 asked to be written off, 45 counted: refused, the 5 missing wait as the
    count's shortfall, still not on offer."""
    asked = ask_write_off(rice, 5, manager_x)
    assert count(rice, 45, manager_x).corrections == []
    stock_corrections_refuse(correction_ids=[asked.pk], actor=supervisor_x, reason="没有发霉")
    (shortfall,) = StockCorrection.objects.filter(status=PENDING)
    assert (shortfall.quantity, shortfall.set_aside) == (-5, 5)
    rice = fresh(rice)
    assert (rice.stock, rice.writing_off, rice.available) == (50, 5, 45)
    with pytest.raises(InsufficientStock):
        redeem(card_a.household, {rice: 46}, manager_x)
    books_sound()


def test_the_county_deciding_a_write_off_moves_what_is_set_aside(
    village_x, county_admin, manager_x, rice
):
    """No supervisor in village X: the county decides, through the same services."""
    refused = ask_write_off(rice, 3, manager_x)
    confirmed = ask_write_off(rice, 2, manager_x, reason="破袋")
    assert fresh(rice).writing_off == 5
    for asked, decision in ((refused, "reject"), (confirmed, "confirm")):
        referral = Referral.objects.get(kind=Referral.Kind.STOCK, object_id=asked.pk)
        referral_decide(
            referral_ids=[referral.pk], actor=county_admin, decision=decision, reason="看过了"
        )
    rice = fresh(rice)
    assert (rice.stock, rice.writing_off, rice.available) == (48, 0, 48)
    books_sound()


def test_goods_set_aside_make_an_item_low_and_tell_the_staff_once(
    client_manager_x, rice, manager_x, supervisor_x
):
    asked = ask_write_off(rice, 45, manager_x)  # 50 -> 5 on offer: at the threshold
    rice = fresh(rice)
    assert rice.is_low and Item.objects.filter(Item.running_low(), pk=rice.pk).exists()
    (alert,) = Notification.objects.filter(kind=Notification.Kind.LOW_STOCK)
    assert alert.params == {"item": rice.name, "stock": 5}
    stock_corrections_confirm(correction_ids=[asked.pk], actor=supervisor_x)
    assert Notification.objects.filter(kind=Notification.Kind.LOW_STOCK).count() == 1
    listed = client_manager_x.get(reverse("store:stock_list") + "?low=1")
    assert [item.name for item in listed.context["page"].object_list] == [rice.name]


def test_the_pages_say_what_waits_to_be_written_off(
    client_manager_x, client_villager_a, card_a, kettle, rice
):
    """The write-off asked on the item's page: the stock pages say what waits beside the
    stock, the counter offers what is left, the villager's catalogue says out of stock."""
    response = client_manager_x.post(
        reverse("store:item_write_off", args=[kettle.pk]),
        {"quantity": 2, "cause": "damaged", "reason": "摔坏", "idempotency_key": form_key()},
    )
    assert response.status_code == 302
    for url in (reverse("store:stock_list"), reverse("store:item_detail", args=[kettle.pk])):
        assert "2 waiting to be written off" in client_manager_x.get(url).text
    shelves = client_manager_x.get(counter_url(card_a.household)).text
    assert "0 left</span> (2 in stock, 2 waiting to be written off)" in shelves
    add_to_cart(client_manager_x, card_a.household, kettle)
    assert "only 0 in stock" in client_manager_x.get(counter_url(card_a.household)).text
    catalogue = client_villager_a.get(reverse("store:catalogue")).text
    row = catalogue[catalogue.index(kettle.name) :]
    assert "Out of stock" in row[: row.index("</li>")]
    # The write-off form refuses what is set aside already.
    again = client_manager_x.post(
        reverse("store:item_write_off", args=[kettle.pk]),
        {"quantity": 1, "cause": "damaged", "reason": "摔坏", "idempotency_key": form_key()},
    )
    assert again.status_code == 200 and "not already waiting to be written off" in again.text


def test_the_database_keeps_what_is_set_aside_within_the_stock_reservations_leave(
    card_a, kettle, villager_a
):
    reservation_create(household=card_a.household, lines={kettle.pk: 1}, actor=villager_a)
    for writing_off in (2, -1):
        with pytest.raises(IntegrityError), transaction.atomic():
            Item.objects.filter(pk=kettle.pk).update(writing_off=writing_off)
    Item.objects.filter(pk=kettle.pk).update(writing_off=1)  # within: 1 held, 1 aside


def test_the_checks_name_goods_set_aside_that_no_waiting_correction_explains(
    kettle, manager_x, supervisor_x
):
    asked = ask_write_off(kettle, 1, manager_x)
    books_sound()
    Item.objects.filter(pk=kettle.pk).update(writing_off=2)
    assert checks.check() == [
        f"item {kettle.pk} {kettle.name}: 2 waiting to be written off, its waiting "
        "corrections set aside 1"
    ]
    Item.objects.filter(pk=kettle.pk).update(writing_off=1)
    stock_corrections_confirm(correction_ids=[asked.pk], actor=supervisor_x)
    books_sound()


@pytest.mark.django_db(transaction=True)
def test_a_sale_and_a_write_off_asked_at_once_never_take_the_same_kettle(
    card_a, kettle, manager_x, supervisor_x
):
    """Two real transactions on the two kettles: the counter sells both while the manager
    asks to write both off. Whichever locks the item first has them; the other is refused
    in words, and no kettle is both sold and written off."""
    sale = redeem_job(card_a.household, kettle, 2, manager_x)
    write_off = lambda: ask_write_off(kettle, 2, manager_x)  # noqa: E731
    results = run_at_once([sale, write_off])
    done = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(done) == 1 and len(refused) == 1, results
    assert isinstance(refused[0], ValidationError), refused
    kettle = fresh(kettle)
    if isinstance(done[0], Redemption):
        assert (kettle.stock, kettle.writing_off) == (0, 0)
        assert not StockCorrection.objects.exists()
    else:
        assert (kettle.stock, kettle.writing_off, kettle.available) == (2, 2, 0)
        stock_corrections_confirm(correction_ids=[done[0].pk], actor=supervisor_x)
        assert fresh(kettle).stock == 0
        assert not Redemption.objects.exists()
    books_sound()


@pytest.mark.django_db(transaction=True)
def test_the_same_write_off_asked_from_two_tabs_at_once_is_made_once(rice, manager_x):
    """Two tabs whose form showed nothing waiting send their write-off at the same moment:
    the check runs under the item's lock, so the second finds the first and is refused
    (AlreadyWaiting) instead of setting the same bags aside twice."""
    tab = lambda: stock_write_off_request(  # noqa: E731
        item=rice, quantity=3, cause="spoiled", reason="受潮", actor=manager_x, besides=[]
    )
    results = run_at_once([tab, tab])
    assert sorted(type(result).__name__ for result in results) == [
        "AlreadyWaiting",
        "StockCorrection",
    ], results
    assert fresh(rice).writing_off == 3 and StockCorrection.objects.count() == 1
    books_sound()


def test_units_held_for_reservations_are_units_in_chinese():
    """Found in review: the stock pages' "3 held for reservations" shared its msgid with the
    household's points held, so a Chinese page said 3 分 (points) of a kettle's units."""
    item = SimpleNamespace(held=3, writing_off=2)
    with translation.override("zh-hans"):
        aside = render_to_string("store/_stock_aside.html", {"item": item})
        points = translation.gettext("%(held)s held for reservations") % {"held": 3}
    assert "3 件为预订保留" in aside and "2 件待报损" in aside
    assert points == "3 分为预订保留"  # the household's points, on its page and the counter
