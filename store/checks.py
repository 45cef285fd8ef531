"""Consistency checks of the store, and of the store against the ledger, run by the
`audit_ledger` command next to the ledger's own. Each problem names its row."""

import datetime
from decimal import Decimal

from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from points.models import Account, Entry
from store.models import (
    Donation,
    Item,
    Redemption,
    RedemptionLine,
    Reservation,
    ReservationLine,
    StockCorrection,
    StockMovement,
)

K = StockMovement.Kind


def _per_parent(queryset, parent_field: str, aggregate) -> Coalesce:
    """A correlated subquery: `aggregate` over the rows of `queryset` that belong to the row."""
    rows = queryset.filter(**{parent_field: OuterRef("pk")}).order_by().values(parent_field)
    return Coalesce(
        Subquery(rows.annotate(value=aggregate).values("value")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def _per_parent_by(queryset, field: str, aggregate, outer: str) -> Coalesce:
    """As `_per_parent`, matching `field` of the rows to `outer` of the row."""
    rows = queryset.filter(**{field: OuterRef(outer)}).order_by().values(field)
    return Coalesce(
        Subquery(rows.annotate(value=aggregate).values("value")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def check() -> list[str]:
    """Every disagreement found, as a sentence; an empty list means the store is consistent."""
    problems = []
    # The cached stock is the sum of the movements, and the last one's stock after (their
    # running sum: _running_stock_problems).
    last = StockMovement.objects.filter(item_id=OuterRef("pk")).order_by("-pk")
    items = Item.objects.annotate(
        moved=_per_parent(StockMovement.objects, "item", Sum("quantity")),
        last_id=Subquery(last.values("pk")[:1]),
        last_after=Subquery(last.values("stock_after")[:1]),
    ).only("pk", "name", "stock")
    off = ~Q(stock=F("moved")) | (Q(last_id__isnull=False) & ~Q(stock=F("last_after")))
    for item in items.filter(off).order_by("pk"):
        found = []
        if item.stock != item.moved:
            found.append(f"sum of movements {item.moved}")
        if item.last_id is not None and item.stock != item.last_after:
            found.append(f"stock after {item.last_after} of its last movement {item.last_id}")
        problems.append(
            f"item {item.pk} {item.name}: cached stock {item.stock} != " + " and ".join(found)
        )
    for item in Item.objects.filter(stock__lt=0).only("pk", "name", "stock"):
        problems.append(f"item {item.pk} {item.name}: negative stock {item.stock}")
    for movement in StockMovement.objects.filter(stock_after__lt=0).only("pk"):
        problems.append(f"stock movement {movement.pk}: stock after is negative")
    problems += _running_stock_problems()
    problems += _village_problems()

    redemptions = Redemption.objects.select_related("entry__account", "void_entry").annotate(
        lines_points=_per_parent(RedemptionLine.objects, "redemption", Sum("points")),
        line_count=_per_parent(RedemptionLine.objects, "redemption", Count("pk")),
        out_movements=_per_parent(
            StockMovement.objects.filter(kind=StockMovement.Kind.REDEMPTION),
            "redemption",
            Count("pk"),
        ),
        back_movements=_per_parent(
            StockMovement.objects.filter(kind=StockMovement.Kind.VOID), "redemption", Count("pk")
        ),
    )
    # The database picks the redemptions that break one of _redemption_problems' rules;
    # Python reads only those (reading all of a county's took most of a minute).
    for redemption in (
        redemptions.filter(_redemption_broken()).order_by("pk").iterator(chunk_size=500)
    ):
        problems += _redemption_problems(redemption)
    problems += _ledger_against_store()
    problems += _lines_against_movements()
    problems += _donation_problems()
    problems += _correction_problems()
    problems += _reservation_problems()
    problems += _set_aside_problems()
    problems += _void_problems()
    return problems


def _running_stock_problems() -> list[str]:
    """Each movement's stock after is the one before it (in id order, the order the item's
    lock gives them) plus its quantity: the store's running sum, as the ledger's
    balance_after (the last one is the item's stock: checked with the cached stock)."""
    problems = []
    running = Window(Sum("quantity"), partition_by=[F("item_id")], order_by=F("pk").asc())
    movements = StockMovement.objects.annotate(running=running).filter(~Q(stock_after=F("running")))
    for pk, item_id, stock_after, total in movements.order_by("pk").values_list(
        "pk", "item_id", "stock_after", "running"
    ):
        problems.append(
            f"stock movement {pk} (item {item_id}): stock after {stock_after}, "
            f"the movements up to it sum to {total}"
        )
    return problems


def _village_problems() -> list[str]:
    """A redemption's household and goods, and a movement's item, are of its village."""
    problems = []
    strangers = Redemption.objects.exclude(household__village_id=F("village_id")).order_by("pk")
    for pk, village_id, household_id, household_village_id in strangers.values_list(
        "pk", "village_id", "household_id", "household__village_id"
    ):
        problems.append(
            f"redemption {pk} is of village {village_id}, its household {household_id} of "
            f"village {household_village_id}"
        )
    lines = RedemptionLine.objects.exclude(item__village_id=F("redemption__village_id")).order_by(
        "pk"
    )
    for pk, redemption_id, village_id, item_id, item_village_id in lines.values_list(
        "pk", "redemption_id", "redemption__village_id", "item_id", "item__village_id"
    ):
        problems.append(
            f"redemption {redemption_id} is of village {village_id}, its line {pk}'s item "
            f"{item_id} of village {item_village_id}"
        )
    moved = StockMovement.objects.exclude(village_id=F("item__village_id")).order_by("pk")
    for pk, village_id, item_id, item_village_id in moved.values_list(
        "pk", "village_id", "item_id", "item__village_id"
    ):
        problems.append(
            f"stock movement {pk} is of village {village_id}, its item {item_id} of village "
            f"{item_village_id}"
        )
    return problems


def _void_problems() -> list[str]:
    """Nobody voids a redemption they served (DESIGN.md rule 8, store.services.
    redemption_void; the county decides it instead). Whose household a staff member is may
    be set after the fact (the admin links it), so the household rule is the service's."""
    voided = Redemption.objects.filter(voided_by_id=F("created_by_id")).order_by("pk")
    return [
        f"redemption {pk} was voided by user {user_id} ({username}), who served it: a second "
        "person voids"
        for pk, user_id, username in voided.values_list("pk", "voided_by_id", "voided_by__username")
    ]


def _reservation_problems() -> list[str]:
    """What open reservations hold is what the accounts and items say is held (never more
    than the balance or the stock); a reservation's points are its lines'; a handed-over
    one is exactly one redemption of the same household, goods and points."""
    problems = []
    open_lines = ReservationLine.objects.filter(reservation__status=Reservation.Status.OPEN)
    open_points = Reservation.objects.filter(status=Reservation.Status.OPEN)
    accounts = Account.objects.annotate(
        reserved=_per_parent_by(open_points, "household_id", Sum("total_points"), "household_id")
    ).only("pk", "held", "balance")
    for account in accounts.exclude(held=F("reserved")):
        problems.append(
            f"account {account.pk}: {account.held} points held, open reservations hold "
            f"{account.reserved}"
        )
    for account in Account.objects.filter(held__gt=F("balance")).only("pk", "held", "balance"):
        problems.append(f"account {account.pk}: {account.held} held > balance {account.balance}")
    items = Item.objects.annotate(reserved=_per_parent(open_lines, "item", Sum("quantity"))).only(
        "pk", "name", "held", "stock"
    )
    for item in items.exclude(held=F("reserved")):
        problems.append(
            f"item {item.pk} {item.name}: {item.held} held, open reservations hold {item.reserved}"
        )
    for item in Item.objects.filter(held__gt=F("stock")).only("pk", "name", "held", "stock"):
        problems.append(f"item {item.pk} {item.name}: {item.held} held > stock {item.stock}")
    reservations = Reservation.objects.annotate(
        lines_points=_per_parent(ReservationLine.objects, "reservation", Sum("points"))
    )
    for reservation in reservations.exclude(total_points=F("lines_points")).only("pk"):
        problems.append(f"reservation {reservation.pk}: total != sum of its lines")
    fulfilled = Reservation.objects.filter(status=Reservation.Status.FULFILLED).select_related(
        "redemption"
    )
    for reservation in fulfilled.prefetch_related("lines", "redemption__lines"):
        redemption = reservation.redemption
        reserved = sorted(
            (line.item_id, line.quantity, line.points) for line in reservation.lines.all()
        )
        redeemed = sorted(
            (line.item_id, line.quantity, line.points) for line in redemption.lines.all()
        )
        if (
            redemption.household_id != reservation.household_id
            or redemption.total_points != reservation.total_points
            or reserved != redeemed
        ):
            problems.append(
                f"reservation {reservation.pk}: handed over as redemption {redemption.pk}, "
                "which is not its household, goods and points"
            )
    unfulfilled = Reservation.objects.exclude(status=Reservation.Status.FULFILLED)
    for reservation in unfulfilled.filter(redemption__isnull=False).only("pk"):
        problems.append(f"reservation {reservation.pk}: not handed over, yet has a redemption")
    return problems


def _set_aside_problems() -> list[str]:
    """What waits to be written off on each item is what its waiting corrections set aside,
    within the stock reservations leave (store.services._set_aside_plan)."""
    problems = []
    waiting = StockCorrection.objects.filter(status=StockCorrection.Status.PENDING)
    items = Item.objects.annotate(aside=_per_parent(waiting, "item", Sum("set_aside"))).only(
        "pk", "name", "writing_off"
    )
    for item in items.exclude(writing_off=F("aside")).order_by("pk"):
        problems.append(
            f"item {item.pk} {item.name}: {item.writing_off} waiting to be written off, its "
            f"waiting corrections set aside {item.aside}"
        )
    beyond = Item.objects.filter(writing_off__gt=F("stock") - F("held")).order_by("pk")
    for item in beyond.only("pk", "name", "writing_off", "held", "stock"):
        problems.append(
            f"item {item.pk} {item.name}: {item.writing_off} waiting to be written off and "
            f"{item.held} held > stock {item.stock}"
        )
    return problems


def _ledger_against_store() -> list[str]:
    """Every redemption debit on the ledger is a redemption of the store, and a redemption
    debit is cancelled only by voiding its redemption (which also books the goods back)."""
    problems = []
    orphans = Entry.objects.filter(kind=Entry.Kind.REDEMPTION).exclude(
        Exists(Redemption.objects.filter(entry_id=OuterRef("pk")))
    )
    for entry in orphans.only("pk", "points"):
        problems.append(
            f"entry {entry.pk} (redemption, {entry.points} points) has no redemption in the store"
        )
    reversed_elsewhere = Entry.objects.filter(
        kind=Entry.Kind.REVERSAL, reverses__kind=Entry.Kind.REDEMPTION
    ).exclude(
        Exists(
            Redemption.objects.filter(
                entry_id=OuterRef("reverses_id"), void_entry_id=OuterRef("pk")
            )
        )
    )
    for entry in reversed_elsewhere.only("pk", "reverses_id"):
        problems.append(
            f"entry {entry.pk} reverses redemption entry {entry.reverses_id} without voiding "
            "its redemption: the points came back but not the goods"
        )
    return problems


def _lines_against_movements() -> list[str]:
    """Each line of a redemption left the shelf as one movement of its item and quantity,
    and came back as one when the redemption was voided."""
    problems = []
    out = StockMovement.objects.filter(
        redemption_id=OuterRef("redemption_id"),
        item_id=OuterRef("item_id"),
        kind=K.REDEMPTION,
        quantity=OuterRef("quantity") * -1,
    )
    back = StockMovement.objects.filter(
        redemption_id=OuterRef("redemption_id"),
        item_id=OuterRef("item_id"),
        kind=K.VOID,
        quantity=OuterRef("quantity"),
    )
    for line in RedemptionLine.objects.exclude(Exists(out)).only("pk", "redemption_id"):
        problems.append(
            f"redemption {line.redemption_id}: line {line.pk} has no stock movement of its "
            "item and quantity"
        )
    voided_lines = RedemptionLine.objects.filter(redemption__voided_at__isnull=False)
    for line in voided_lines.exclude(Exists(back)).only("pk", "redemption_id"):
        problems.append(
            f"redemption {line.redemption_id}: voided, but line {line.pk} did not come back "
            "into stock"
        )
    return problems


# The migration from which a purchase paid from donated money must name its donation.
NAMES_REQUIRED_BY = ("store", "0009_donated_money_names_its_donation")


def _names_required_since() -> datetime.datetime:
    """When naming the donation became required here (purchases before it may lack one)."""
    return _applied_at(NAMES_REQUIRED_BY)


def _donation_problems() -> list[str]:
    """Donated goods came into stock with their donation; donated money pays for no more
    than it gave, and every purchase paid from donated money names its donation."""
    problems = []
    goods_in = StockMovement.objects.filter(donation_id=OuterRef("pk"), kind=K.DONATION)
    for donation in (
        Donation.objects.filter(kind=Donation.Kind.GOODS).exclude(Exists(goods_in)).only("pk")
    ):
        problems.append(f"donation {donation.pk} (goods): no goods came into stock with it")
    for donation in Donation.objects.filter(kind=Donation.Kind.MONEY).filter(Exists(goods_in)):
        problems.append(f"donation {donation.pk} (money): goods came into stock with it")
    for movement in StockMovement.objects.filter(kind=K.DONATION).exclude(
        donation__kind=Donation.Kind.GOODS, donation__village_id=F("village_id")
    ):
        problems.append(
            f"stock movement {movement.pk}: donated goods not from a goods donation of its village"
        )
    unpaid = StockMovement.objects.filter(
        kind=K.PURCHASE,
        fund_source=StockMovement.FundSource.DONATED_MONEY,
        created_at__gte=_names_required_since(),
    ).filter(
        Q(paid_by__isnull=True)
        | ~Q(paid_by__kind=Donation.Kind.MONEY)
        | ~Q(paid_by__village_id=F("village_id"))
    )
    for movement in unpaid.only("pk"):
        problems.append(
            f"stock movement {movement.pk}: bought with donated money but names no money "
            "donation of its village"
        )
    spent = Coalesce(Sum("purchases__cost_yuan"), Value(Decimal(0)), output_field=DecimalField())
    overspent = (
        Donation.objects.filter(kind=Donation.Kind.MONEY)
        .annotate(spent=spent)
        .filter(spent__gt=F("value_yuan"))
    )
    for donation in overspent:
        problems.append(
            f"donation {donation.pk} (money): purchases paid from it cost ¥{donation.spent}, "
            f"more than the ¥{donation.value_yuan} given"
        )
    return problems


# The migration from which every stock-take difference and write-off is confirmed by a
# second person (a StockCorrection); movements before it stand as they were written.
CORRECTIONS_REQUIRED_BY = ("store", "0010_stock_correction")


def _applied_at(app_migration: tuple[str, str]) -> datetime.datetime:
    recorder = MigrationRecorder(connection)
    applied = recorder.migration_qs.filter(app=app_migration[0], name=app_migration[1]).values_list(
        "applied", flat=True
    )
    return applied.first() or timezone.now()


def _correction_problems() -> list[str]:
    """Stock moves by a count or a write-off only as a correction someone else confirmed:
    its movement is of its item, kind and quantity, written by the one who confirmed it."""
    problems = []
    confirmed = StockCorrection.objects.filter(status=StockCorrection.Status.CONFIRMED)
    mismatched = confirmed.exclude(
        movement__item_id=F("item_id"),
        movement__kind=F("kind"),
        movement__quantity=F("quantity"),
        movement__created_by_id=F("decided_by_id"),
    )
    for correction in mismatched.only("pk"):
        problems.append(
            f"stock correction {correction.pk}: its movement is not of its item, kind and "
            "quantity, or was not written by the one who confirmed it"
        )
    for correction in confirmed.filter(decided_by_id=F("requested_by_id")).only("pk"):
        problems.append(f"stock correction {correction.pk}: confirmed by the one who asked for it")
    unconfirmed = StockMovement.objects.filter(
        kind__in=[K.ADJUSTMENT, K.WRITE_OFF],
        created_at__gte=_applied_at(CORRECTIONS_REQUIRED_BY),
    ).exclude(Exists(StockCorrection.objects.filter(movement_id=OuterRef("pk"))))
    for movement in unconfirmed.only("pk"):
        problems.append(
            f"stock movement {movement.pk}: a stock-take or write-off that no second person "
            "confirmed"
        )
    return problems


def _redemption_broken() -> Q:
    """What `_redemption_problems` finds, as a condition on the annotated redemptions: each of
    its rules, so that no redemption it would name is left unread."""
    voided = Q(voided_at__isnull=False)
    void_matches = (
        Q(void_entry__isnull=False)
        & Q(void_entry__kind=Entry.Kind.REVERSAL)
        & Q(void_entry__reverses_id=F("entry_id"))
        & Q(void_entry__points=-F("entry__points"))
        & Q(back_movements=F("line_count"))
    )
    return (
        ~Q(entry__kind=Entry.Kind.REDEMPTION)
        | ~Q(entry__points=-F("lines_points"))
        | ~Q(total_points=F("lines_points"))
        | ~Q(entry__account__household_id=F("household_id"))
        | ~Q(out_movements=F("line_count"))
        | (~voided & (Q(void_entry__isnull=False) | ~Q(back_movements=0)))
        | (voided & ~void_matches)
    )


def _redemption_problems(redemption) -> list[str]:
    label = f"redemption {redemption.pk}"
    entry = redemption.entry
    problems = []
    if entry.kind != "redemption":
        problems.append(f"{label}: its entry {entry.pk} is a {entry.kind}, not a redemption")
    if entry.points != -redemption.lines_points:
        problems.append(
            f"{label}: entry points {entry.points} != -sum of lines {redemption.lines_points}"
        )
    if redemption.total_points != redemption.lines_points:
        problems.append(f"{label}: total {redemption.total_points} != sum of its lines")
    if entry.account.household_id != redemption.household_id:
        problems.append(f"{label}: entry {entry.pk} debits another household")
    if redemption.out_movements != redemption.line_count:
        problems.append(
            f"{label}: {redemption.out_movements} stock movements out "
            f"for {redemption.line_count} lines"
        )
    void = redemption.void_entry
    if redemption.voided_at is None:
        if void is not None or redemption.back_movements:
            problems.append(f"{label}: not voided, yet has a reversal or goods back in")
    elif (
        void is None
        or void.kind != "reversal"
        or void.reverses_id != entry.pk
        or void.points != -entry.points
        or redemption.back_movements != redemption.line_count
    ):
        problems.append(f"{label}: voided, but the reversal or the goods back in do not match")
    return problems
