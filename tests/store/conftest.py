"""Store fixtures: village X's shelves (rice, oil, a scarce kettle) and one item in village Y;
the counter's steps as the teller's browser takes them."""

import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from store.models import Item, StockMovement, Zone
from store.services import (
    CountLine,
    count_expected,
    item_save,
    redemption_create,
    stock_corrections_confirm,
    stock_count_record,
    stock_purchase,
    stock_write_off_request,
    zones_ensure,
)


def make_item(village, zone_code, name, price, stock, actor, **extra):
    zone = Zone.objects.get(village=village, code=zone_code)
    item = item_save(
        item=Item(
            village=village,
            zone=zone,
            name=name,
            unit=extra.pop("unit", "件"),
            points_price=price,
            **extra,
        ),
        actor=actor,
    )
    if stock:
        stock_purchase(
            item=item,
            quantity=stock,
            fund_source=StockMovement.FundSource.POVERTY_BUREAU,
            cost_yuan=Decimal("10.00"),
            actor=actor,
        )
        item.refresh_from_db()
    return item


def write_off(item, quantity, cause, reason, manager, supervisor) -> StockMovement:
    """A write-off asked by the manager and confirmed by the supervisor: its movement."""
    correction = stock_write_off_request(
        item=item, quantity=quantity, cause=cause, reason=reason, actor=manager
    )
    (confirmed,) = stock_corrections_confirm(correction_ids=[correction.pk], actor=supervisor)
    return confirmed.movement


def count(item, counted, reason, manager, supervisor, cause="") -> StockMovement | None:
    """One item counted by the manager, its difference confirmed by the supervisor."""
    expected = count_expected([Item.objects.get(pk=item.pk)])[item.pk]
    result = stock_count_record(
        village=item.village,
        lines=[
            CountLine(
                item_id=item.pk, counted=counted, expected=expected, reason=reason, cause=cause
            )
        ],
        actor=manager,
    )
    if not result.corrections:
        return None
    (confirmed,) = stock_corrections_confirm(
        correction_ids=[result.corrections[0].pk], actor=supervisor
    )
    return confirmed.movement


@pytest.fixture
def zones_x(village_x):
    return zones_ensure(village=village_x)


@pytest.fixture
def rice(zones_x, village_x, manager_x):
    return make_item(village_x, "grain_oil", "大米 10kg", 20, 50, manager_x, unit="袋")


@pytest.fixture
def oil(zones_x, village_x, manager_x):
    return make_item(village_x, "grain_oil", "菜籽油 5L", 30, 20, manager_x, unit="桶")


@pytest.fixture
def kettle(zones_x, village_x, manager_x):
    """Scarce: two in stock."""
    return make_item(village_x, "appliances", "电热水壶", 40, 2, manager_x, low_stock_threshold=3)


@pytest.fixture
def item_y(village_y, manager_y):
    zones_ensure(village=village_y)
    return make_item(village_y, "daily", "毛巾", 5, 10, manager_y)


@pytest.fixture
def redeem():
    """Redeem at the counter as the service would for a confirm."""

    def _redeem(household, lines, actor, key=None):
        return redemption_create(
            village=household.village,
            household=household,
            lines={item.pk: qty for item, qty in lines.items()},
            idempotency_key=key or uuid.uuid4(),
            actor=actor,
        )

    return _redeem


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read English msgids, whatever translations the lead compiles later."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


# The counter, as the teller's browser uses it.
def counter_url(household):
    return reverse("store:counter_household", args=[household.pk])


def add_to_cart(client, household, item, quantity=1):
    return client.post(
        reverse("store:counter_cart", args=[household.pk]),
        {"action": "add", "item": item.pk, "quantity": quantity, "next": counter_url(household)},
    )


def confirm_form(client, household):
    """The hidden fields of the confirm form, as the browser would send them."""
    html = client.get(counter_url(household)).content.decode()
    form = html[html.index('class="confirm-form"') :]
    form = form[: form.index("</form>")]
    return dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
