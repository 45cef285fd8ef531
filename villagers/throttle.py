"""Failed card logins from one network address: slowed down, never locked out.

django-axes locks a card after five wrong PINs, but one wrong PIN on each of many cards
locks nothing. Villagers on 3G share their carrier's NAT addresses, so an address is never
locked either: once it has had `CARD_LOGIN_ADDRESS_LIMIT` failed card logins in
`CARD_LOGIN_ADDRESS_WINDOW`, it may try one card login every `CARD_LOGIN_ADDRESS_DELAY`
seconds; the rest are answered 429 with Retry-After, before any PIN is checked.

The failures are django-axes' own failure log (AXES_ENABLE_ACCESS_FAILURE_LOG), whose
username for a card login is "card:<number>": one indexed query per card login POST.
Over the limit, a PostgreSQL advisory lock per address lets one attempt through at a
time, so a burst of simultaneous requests is still one guess.
"""

import datetime
import hashlib
import math
from collections.abc import Iterator
from contextlib import contextmanager

from axes.models import AccessFailureLog
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max
from django.utils import timezone

from core.audit import client_ip

CARD_USERNAME_PREFIX = "card:"  # villagers.auth.axes_username


def _failures_since(address: str, since: datetime.datetime) -> tuple[int, datetime.datetime]:
    found = AccessFailureLog.objects.filter(
        ip_address=address,
        username__startswith=CARD_USERNAME_PREFIX,
        attempt_time__gte=since,
    ).aggregate(count=Count("id"), last=Max("attempt_time"))
    return found["count"], found["last"]


def _turn(address: str) -> tuple[bool, int]:
    """Whether the address is over the limit, and how many seconds it must still wait."""
    now = timezone.now()
    count, last = _failures_since(address, now - settings.CARD_LOGIN_ADDRESS_WINDOW)
    if count < settings.CARD_LOGIN_ADDRESS_LIMIT:
        return False, 0
    remaining = settings.CARD_LOGIN_ADDRESS_DELAY - (now - last).total_seconds()
    return True, max(0, math.ceil(remaining))


def address_lock_key(address: str) -> int:
    """The advisory lock one address holds while its card login is checked."""
    digest = hashlib.blake2b(f"card-login:{address}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def card_login_turn(request) -> Iterator[int]:
    """Seconds this address must wait before a card login (0: go on, inside the block).

    With 0 the caller checks the card and PIN inside the block; an address over the limit
    holds its lock meanwhile, so its next attempt sees this one's failure.
    """
    address = client_ip(request)
    over, wait = _turn(address) if address else (False, 0)
    if not over or wait:
        yield wait
        return
    key = address_lock_key(address)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (locked,) = cursor.fetchone()
    if not locked:  # another attempt from this address is being checked right now
        yield settings.CARD_LOGIN_ADDRESS_DELAY
        return
    try:
        _over, wait = _turn(address)  # again: the attempt before may just have failed
        yield wait
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
