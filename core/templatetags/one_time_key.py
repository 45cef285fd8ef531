"""`{% one_time_key %}`: the hidden one-time key of a hand-written form (one per form);
`{% typed_for %}`: whom a page was drawn for, for static/js/send-once.js."""

from django import template
from django.utils.crypto import salted_hmac
from django.utils.html import format_html

from core.idempotency import FIELD_NAME, idempotency_key_new

register = template.Library()


@register.simple_tag
def one_time_key():
    """A fresh key each time it is drawn: never put it inside a cached fragment."""
    return format_html(
        '<input type="hidden" name="{}" value="{}">', FIELD_NAME, idempotency_key_new()
    )


@register.simple_tag(takes_context=True)
def typed_for(context):
    """Who this page was drawn for, as static/js/send-once.js compares it: what a form held
    when the sign-in had ended is put back only for the same person signed in again, never
    for the next one signing in on that tab (an office PC). A mark, not the user's id."""
    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return salted_hmac("send-once.typed-for", str(user.pk)).hexdigest()[:16]
