"""Where goods went: first-in-first-out attribution of every unit that left the shelves.

Per item, every stock-in (purchase, donated goods, a stock-take surplus) is a *lot*, in the
order it was booked (movement id: the order the stock figures were computed in, so a lot is
never drawn before it existed). Every unit out (redemption, write-off, stock-take shortfall)
is drawn from the oldest lot with units left. A voided redemption is treated as never having
happened: its units are back on the shelf (the void movement returned them) and drawn again
by whoever took them next. What remains of each lot is what is on the shelves now.

A lot's cost is the purchase's cost; donated goods are valued at the donation's declared
value, shared among its items by points price × quantity; a stock-take surplus has no cost.
Queries are a fixed number whatever the number of movements: one pass over the movements of
the items asked for, in Python.
"""

from collections import defaultdict, deque
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import F, Sum, Window
from django.db.models.expressions import RowRange
from django.db.models.functions import Coalesce

from store.models import Donation, Item, StockMovement

K = StockMovement.Kind
DONATED_GOODS = "donated_goods"
STOCK_TAKE_SURPLUS = "stock_take"


@dataclass(eq=False)
class Lot:
    """One stock-in of one item and where its units went."""

    movement_id: int
    item_id: int
    kind: str
    quantity: int
    cost_yuan: Decimal  # of the whole lot
    source: str  # a purchase's fund source, DONATED_GOODS or STOCK_TAKE_SURPLUS
    donation_id: int | None  # donated goods: their donation
    paid_by_id: int | None  # purchase: the money donation that paid for it
    booked_at: object
    remaining: int = 0
    draws: list["Draw"] = field(default_factory=list)

    @property
    def remaining_cost(self) -> Decimal:
        if not self.quantity:
            return Decimal(0)
        return self.cost_yuan * self.remaining / self.quantity


@dataclass
class Draw:
    """Units of one lot taken by one movement out (a redemption, write-off or shortfall)."""

    movement_id: int
    kind: str
    quantity: int
    redemption_id: int | None
    at: object


def _goods_values(donation_ids) -> dict[int, Decimal]:
    """Value of each donated-goods movement: its donation's value shared by price × qty."""
    movements = list(
        StockMovement.objects.filter(donation_id__in=donation_ids, kind=K.DONATION).values(
            "id", "donation_id", "quantity", price=F("item__points_price")
        )
    )
    donations = dict(Donation.objects.filter(pk__in=donation_ids).values_list("pk", "value_yuan"))
    weights = defaultdict(int)
    for row in movements:
        weights[row["donation_id"]] += row["quantity"] * row["price"]
    values = {}
    for row in movements:
        total = weights[row["donation_id"]]
        share = Decimal(row["quantity"] * row["price"]) / total if total else Decimal(0)
        values[row["id"]] = donations[row["donation_id"]] * share
    return values


# What a lot is made of, read from its movement.
LOT_FIELDS = (
    "id",
    "item_id",
    "kind",
    "quantity",
    "fund_source",
    "cost_yuan",
    "donation_id",
    "paid_by_id",
    "redemption_id",
    "created_at",
)


def _lot(row: dict, goods_values: dict[int, Decimal]) -> Lot:
    """The lot a stock-in movement (`row`, LOT_FIELDS) began, nothing drawn from it yet."""
    kind = row["kind"]
    if kind == K.PURCHASE:
        source, cost = row["fund_source"], row["cost_yuan"] or Decimal(0)
    elif kind == K.DONATION:
        source, cost = DONATED_GOODS, goods_values.get(row["id"], Decimal(0))
    else:
        source, cost = STOCK_TAKE_SURPLUS, Decimal(0)
    return Lot(
        movement_id=row["id"],
        item_id=row["item_id"],
        kind=kind,
        quantity=row["quantity"],
        cost_yuan=cost,
        source=source,
        donation_id=row["donation_id"],
        paid_by_id=row["paid_by_id"],
        booked_at=row["created_at"],
        remaining=row["quantity"],
    )


def fifo_lots(item_ids) -> dict[int, list[Lot]]:
    """Every lot of the given items, with its draws and what remains, in booking order."""
    rows = list(
        StockMovement.objects.filter(item_id__in=list(item_ids))
        .values(*LOT_FIELDS)
        .order_by("item_id", "id")
    )
    # A void puts back every line of its redemption by a VOID movement of the same item (the
    # store audit checks it), so the voided redemptions are among these rows: joining
    # the redemption table for its voided_at would make PostgreSQL read every redemption of the
    # county to hash them.
    voided = {row["redemption_id"] for row in rows if row["kind"] == K.VOID}
    goods_values = _goods_values({row["donation_id"] for row in rows if row["kind"] == K.DONATION})
    lots: dict[int, list[Lot]] = defaultdict(list)
    open_lots: dict[int, deque[Lot]] = defaultdict(deque)
    for row in rows:
        kind, quantity = row["kind"], row["quantity"]
        if kind == K.VOID or (kind == K.REDEMPTION and row["redemption_id"] in voided):
            continue  # a voided redemption never happened; its units stayed on the shelf
        if quantity > 0:
            lot = _lot(row, goods_values)
            lots[row["item_id"]].append(lot)
            open_lots[row["item_id"]].append(lot)
            continue
        wanted = -quantity
        queue = open_lots[row["item_id"]]
        while wanted and queue:
            lot = queue[0]
            taken = min(wanted, lot.remaining)
            lot.remaining -= taken
            wanted -= taken
            lot.draws.append(Draw(row["id"], kind, taken, row["redemption_id"], row["created_at"]))
            if not lot.remaining:
                queue.popleft()
        # `wanted` left over would mean stock below zero, which the database refuses.
    return lots


def donation_lots(donation: Donation) -> list[Lot]:
    """The lots a donation became: its goods, or the purchases its money paid for."""
    if donation.kind == Donation.Kind.GOODS:
        item_ids = donation.movements.filter(kind=K.DONATION).values_list("item_id", flat=True)
        mine = {"donation_id": donation.pk, "kind": K.DONATION}
    else:
        item_ids = donation.purchases.values_list("item_id", flat=True)
        mine = {"paid_by_id": donation.pk, "kind": K.PURCHASE}
    return [
        lot
        for item_lots in fifo_lots(set(item_ids)).values()
        for lot in item_lots
        if all(getattr(lot, key) == value for key, value in mine.items())
    ]


def village_lots(village) -> list[Lot]:
    """Every lot of the village's items, with where their units went."""
    item_ids = Item.objects.filter(village=village).values_list("pk", flat=True)
    return [lot for item_lots in fifo_lots(set(item_ids)).values() for lot in item_lots]


def shelf_lots(village) -> list[Lot]:
    """The lots with units still on the village's shelves, and how many (no draws).

    First in, first out leaves on the shelf the newest stock-ins' units, as many as the
    item's stock: so only the stock-ins that many units back are read (a window sum of the
    newer ones' quantities), not the item's whole history as `village_lots` does. The same
    lots and remainders (tests/demo/test_demo_village.py compares them on a year of use).
    """
    newer = Window(
        Sum("quantity"),
        partition_by=[F("item_id")],
        order_by=F("id").desc(),
        frame=RowRange(start=None, end=-1),
    )
    rows = list(
        StockMovement.objects.filter(village=village, item__stock__gt=0, quantity__gt=0)
        .exclude(kind=K.VOID)  # a void gives back a redemption the lots never saw
        .annotate(newer=Coalesce(newer, 0), stock=F("item__stock"))
        .filter(newer__lt=F("stock"))
        .values(*LOT_FIELDS, "newer", "stock")
        .order_by("item_id", "id")
    )
    goods_values = _goods_values({row["donation_id"] for row in rows if row["kind"] == K.DONATION})
    lots = []
    for row in rows:
        lot = _lot(row, goods_values)
        lot.remaining = min(lot.quantity, row["stock"] - row["newer"])
        lots.append(lot)
    return lots
