"""Template helpers of the store pages."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def yuan(points, yuan_per_point):
    """Reference value in yuan of `points` at the village's rate (display only)."""
    try:
        return (Decimal(points) * Decimal(yuan_per_point)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        return ""
