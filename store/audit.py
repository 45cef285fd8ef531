"""Consistency checks of the store, run by the `audit_ledger` command next to the ledger's."""

from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from store.models import Item, Redemption, RedemptionLine, StockMovement


def _per_parent(queryset, parent_field: str, aggregate) -> Coalesce:
    """A correlated subquery: `aggregate` over the rows of `queryset` that belong to the row."""
    rows = queryset.filter(**{parent_field: OuterRef("pk")}).order_by().values(parent_field)
    return Coalesce(
        Subquery(rows.annotate(value=aggregate).values("value")[:1]),
        Value(0),
        output_field=IntegerField(),
    )


def check() -> list[str]:
    """Every disagreement found, as a sentence; an empty list means the store is consistent."""
    problems = []
    items = Item.objects.annotate(
        moved=_per_parent(StockMovement.objects, "item", Sum("quantity"))
    ).only("pk", "name", "stock")
    for item in items.exclude(stock=F("moved")):
        problems.append(
            f"item {item.pk} {item.name}: cached stock {item.stock} "
            f"!= sum of movements {item.moved}"
        )
    for item in Item.objects.filter(stock__lt=0).only("pk", "name", "stock"):
        problems.append(f"item {item.pk} {item.name}: negative stock {item.stock}")
    for movement in StockMovement.objects.filter(stock_after__lt=0).only("pk"):
        problems.append(f"stock movement {movement.pk}: stock after is negative")

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
    for redemption in redemptions.iterator(chunk_size=500):
        problems += _redemption_problems(redemption)
    return problems


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
