import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from points.models import Entry
from points.services import InsufficientPoints
from store import checks
from store.models import Item, Redemption, Reservation, StockMovement
from store.services import (
    IdempotencyKeyReused,
    InsufficientStock,
    redemption_void,
    reservation_create,
)


def snapshot(household, *items):
    household.account.refresh_from_db()
    stocks = tuple(Item.objects.get(pk=item.pk).stock for item in items)
    return household.account.balance, Entry.objects.count(), StockMovement.objects.count(), stocks


def test_redemption_debits_points_and_stock_together(card_a, rice, oil, manager_x, redeem):
    household = card_a.household
    redemption = redeem(household, {rice: 2, oil: 1}, manager_x)
    household.account.refresh_from_db()
    assert household.account.balance == 100 - 70
    assert redemption.entry.kind == Entry.Kind.REDEMPTION
    assert redemption.entry.points == -70 == -redemption.total_points
    assert [(line.item_id, line.quantity) for line in redemption.lines.order_by("item")] == [
        (rice.pk, 2),
        (oil.pk, 1),
    ]
    assert Item.objects.get(pk=rice.pk).stock == 48
    assert Item.objects.get(pk=oil.pk).stock == 19
    assert redemption.movements.aggregate(total=Sum("quantity"))["total"] == -3
    assert checks.check() == []


def test_too_few_points_changes_nothing(card_a, kettle, rice, manager_x, redeem):
    household = card_a.household
    before = snapshot(household, kettle, rice)
    with pytest.raises(InsufficientPoints):
        redeem(household, {kettle: 2, rice: 2}, manager_x)  # 80 + 40 > 100
    assert snapshot(household, kettle, rice) == before
    assert not Redemption.objects.exists()


def test_shortage_in_any_line_changes_nothing(card_a, rice, kettle, manager_x, redeem):
    household = card_a.household
    before = snapshot(household, rice, kettle)
    with pytest.raises(InsufficientStock, match="电热水壶"):
        redeem(household, {rice: 1, kettle: 3}, manager_x)
    assert snapshot(household, rice, kettle) == before
    assert not Redemption.objects.exists()


def test_inactive_and_foreign_items_refused(card_a, rice, item_y, manager_x, redeem):
    Item.objects.filter(pk=rice.pk).update(is_active=False)
    with pytest.raises(ValidationError, match="Not on sale"):
        redeem(card_a.household, {rice: 1}, manager_x)
    with pytest.raises(ValidationError):
        redeem(card_a.household, {item_y: 1}, manager_x)
    assert not Redemption.objects.exists()


def test_empty_or_negative_cart_refused(card_a, rice, manager_x, redeem):
    with pytest.raises(ValidationError):
        redeem(card_a.household, {}, manager_x)
    with pytest.raises(ValidationError):
        redeem(card_a.household, {rice: -2}, manager_x)


def test_same_key_same_cart_charges_once(card_a, rice, manager_x, redeem):
    key = uuid.uuid4()
    first = redeem(card_a.household, {rice: 2}, manager_x, key=key)
    second = redeem(card_a.household, {rice: 2}, manager_x, key=key)
    assert second.pk == first.pk
    assert (first.was_replay, second.was_replay) == (False, True)
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 60
    assert Item.objects.get(pk=rice.pk).stock == 48
    assert Redemption.objects.count() == 1


def test_same_key_different_cart_refused(card_a, card_b, rice, oil, manager_x, redeem):
    key = uuid.uuid4()
    redeem(card_a.household, {rice: 1}, manager_x, key=key)
    before = snapshot(card_a.household, rice, oil)
    with pytest.raises(IdempotencyKeyReused):
        redeem(card_a.household, {rice: 1, oil: 1}, manager_x, key=key)
    with pytest.raises(IdempotencyKeyReused):
        redeem(card_b.household, {rice: 1}, manager_x, key=key)
    assert snapshot(card_a.household, rice, oil) == before
    card_b.household.account.refresh_from_db()
    assert card_b.household.account.balance == 100


def test_household_without_active_card_refused(card_a, rice, manager_x, redeem):
    card_a.status = "recalled"
    card_a.save()
    with pytest.raises(ValidationError, match="no active points card"):
        redeem(card_a.household, {rice: 1}, manager_x)


def test_supervisor_voids_once(card_a, rice, oil, manager_x, supervisor_x, redeem):
    redemption = redeem(card_a.household, {rice: 2, oil: 1}, manager_x)
    voided = redemption_void(redemption=redemption, actor=supervisor_x, reason="领错了")
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 100
    assert Item.objects.get(pk=rice.pk).stock == 50
    assert Item.objects.get(pk=oil.pk).stock == 20
    assert voided.void_entry.kind == Entry.Kind.REVERSAL
    assert voided.void_entry.reverses_id == redemption.entry_id
    assert checks.check() == []
    with pytest.raises(ValidationError, match="already been voided"):
        redemption_void(redemption=redemption, actor=supervisor_x, reason="again")
    assert Entry.objects.filter(kind=Entry.Kind.REVERSAL).count() == 1
    assert StockMovement.objects.filter(kind=StockMovement.Kind.VOID).count() == 2


def test_manager_and_other_staff_cannot_void(
    card_a, rice, manager_x, manager_y, county_admin, redeem, supervisor_x
):
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    for actor in (manager_x, manager_y, county_admin):
        with pytest.raises(PermissionDenied):
            redemption_void(redemption=redemption, actor=actor, reason="no")
    redemption.refresh_from_db()
    assert not redemption.is_voided
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 80


def test_redemption_lines_are_append_only(card_a, rice, manager_x, redeem):
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    line = redemption.lines.get()
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE store_redemptionline SET quantity = 0 WHERE id = %s", [line.pk])


def test_audit_finds_a_redemption_out_of_step_with_its_lines(card_a, rice, manager_x, redeem):
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    Redemption.objects.filter(pk=redemption.pk).update(total_points=5)
    assert any("total 5" in problem for problem in checks.check())


def test_only_the_villages_manager_redeems_whoever_calls(
    card_a, rice, redeem, manager_y, supervisor_x, villager_a, county_admin
):
    """Found by a probe: the counter's page checked the role, the service nobody."""
    household = card_a.household
    before = snapshot(household, rice)
    for actor in (manager_y, supervisor_x, villager_a, county_admin):
        with pytest.raises(PermissionDenied):
            redeem(household, {rice: 1}, actor)
    assert snapshot(household, rice) == before


def test_only_the_household_itself_reserves(card_a, rice, manager_x, villager_b):
    household = card_a.household
    before = snapshot(household, rice)
    for actor in (manager_x, villager_b):
        with pytest.raises(PermissionDenied):
            reservation_create(household=household, lines={rice.pk: 1}, actor=actor)
    assert snapshot(household, rice) == before and not Reservation.objects.exists()
