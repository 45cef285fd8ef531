"""Template helpers of the store pages."""

from collections import defaultdict
from decimal import Decimal, InvalidOperation

from django import template
from django.db.models import F

from core.numbers import to_cents
from core.text import list_join
from points.models import Entry
from store.models import RedemptionLine

register = template.Library()


@register.filter
def yuan(points, yuan_per_point):
    """Reference value in yuan of `points` at the village's rate (display only)."""
    try:
        return to_cents(Decimal(points) * Decimal(yuan_per_point))
    except (InvalidOperation, TypeError, ValueError):
        return ""


@register.simple_tag
def redemption_lines_of(entries) -> dict[int, list]:
    """Entry id -> the lines (item, quantity) of the redemption it debited, for a page of
    ledger entries: the points history lists what was taken, and who collected it (each
    line's `collector`), without the ledger knowing goods. One query, and none when the
    page has no redemption."""
    ids = [entry.pk for entry in entries if entry.kind == Entry.Kind.REDEMPTION]
    if not ids:
        return {}
    lines = defaultdict(list)
    for line in (
        RedemptionLine.objects.filter(redemption__entry_id__in=ids)
        .select_related("item")
        .annotate(entry_id=F("redemption__entry_id"), collector=F("redemption__collected_by__name"))
        .order_by("redemption_id", "id")
    ):
        lines[line.entry_id].append(line)
    return dict(lines)


@register.filter
def lines_of(lines_by_entry: dict, entry) -> list:
    """The lines `redemption_lines_of` found for `entry` (none for other entries)."""
    return lines_by_entry.get(entry.pk, []) if lines_by_entry else []


@register.filter
def lines_spoken(lines) -> str:
    """Redemption lines as words to read aloud: "大米 10kg 2 袋、洗衣粉 1 袋"."""
    return list_join(f"{line.item.name} {line.quantity} {line.item.unit}".strip() for line in lines)
