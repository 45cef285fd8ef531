"""Rounding as an account book does it (四舍五入): a half cent, or a half percent of a rate
kept to two places, goes up. Python's Decimal rounds a half to the even neighbour by default
(0.005 to 0.00, 0.015 to 0.02), so figures rounded here and ones rounded by a template's
floatformat or a workbook's number format (both half up) could differ by a cent."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(value) -> Decimal:
    """`value` to two places, a half going up: yuan, or a fraction such as a pass rate."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(part, whole) -> Decimal | None:
    """part / whole as exactly as Decimal carries it (28 digits), None when `whole` is 0.
    A workbook's cell keeps this and its number format shows two places (or a percent),
    so a spreadsheet's sums and averages of it start from the figure, not from its rounding;
    the pages show it `to_cents`."""
    return Decimal(part) / whole if whole else None
