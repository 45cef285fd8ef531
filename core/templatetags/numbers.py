from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def percent(fraction) -> str:
    """`{{ 0.58|percent }}`: "58%", the fraction in whole percent as a workbook's "0%" shows
    it, so a page and its .xlsx show one figure (round the fraction to two places first)."""
    return f"{Decimal(fraction) * 100:.0f}%"
