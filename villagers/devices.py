"""Phones the card's owner signed in on: their own count of wrong PINs (a device cookie).

A card is locked after five wrong PINs for everyone (django-axes, keyed on the card number),
and card numbers are printed on the cards and run in order: anyone could keep a household
out of its own page, and out of an activity's check-in, with five wrong PINs every quarter
of an hour, and nothing the household or the manager did would let it in. So a phone that
signed in with the card keeps a signed cookie naming that card, and the card login's
attempts from such phones are counted apart: `villagers.auth.axes_username` counts them
against "card:<number>/device", one count shared by every phone the card signed in on.

Wrong PINs typed on phones that never signed in with the card do not lock those phones out;
five typed on them lock them all, as before. Shared, the count cannot be renewed by signing
in again (whoever knows one PIN of the card, the household's or a member's, gets no fresh
tries at the others that way): five a quarter of an hour on the card's phones, five
elsewhere. A cookie is worth nothing for another card, nor forged (signed with SECRET_KEY).
The PIN change (a signed-in phone) still counts against the whole card (card_views).
"""

from django.conf import settings
from django.core import signing

COOKIE = "card_device"
SALT = "villagers.devices"
MAX_AGE = 60 * 60 * 24 * 365  # a year from the last sign-in on the phone


def device_signed_in(request, number: str) -> bool:
    """Whether this phone signed in with card `number` before (its cookie names that card;
    not an expired or forged one)."""
    value = getattr(request, "COOKIES", {}).get(COOKIE) if request is not None else None
    if not value or not number:
        return False
    try:
        return signing.loads(value, salt=SALT, max_age=MAX_AGE) == number
    except signing.BadSignature:
        return False


def device_remember(response, number: str) -> None:
    """After a card login: this phone is one the card signed in on."""
    response.set_cookie(
        COOKIE,
        signing.dumps(number, salt=SALT),
        max_age=MAX_AGE,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )
