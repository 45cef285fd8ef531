"""Days as a sentence read aloud says them (朗读, static/js/read-aloud.js)."""

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()


@register.filter
def spoken_day(moment) -> str:
    """ "3月5日" within this year, "2025年12月31日" for an earlier one: in January a line
    read as "12月31日" was last year's only by guessing (the history shows the year)."""
    day = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    if day.year == timezone.localdate().year:
        return date_format(day, "n月j日")
    return date_format(day, "Y年n月j日")
