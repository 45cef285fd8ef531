"""`{% one_time_key %}`: the hidden one-time key of a hand-written form (one per form)."""

from django import template
from django.utils.html import format_html

from core.idempotency import FIELD_NAME, idempotency_key_new

register = template.Library()


@register.simple_tag
def one_time_key():
    """A fresh key each time it is drawn: never put it inside a cached fragment."""
    return format_html(
        '<input type="hidden" name="{}" value="{}">', FIELD_NAME, idempotency_key_new()
    )
