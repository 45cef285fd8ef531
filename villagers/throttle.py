"""Failed card logins from one network address: slowed down, never locked out.

django-axes locks a card after five wrong PINs, but one wrong PIN on each of many cards
locks nothing. Villagers on 3G share their carrier's NAT addresses, so an address is never
locked either: once it has had `CARD_LOGIN_ADDRESS_LIMIT` failed card logins in
`CARD_LOGIN_ADDRESS_WINDOW`, it may try one card login every `CARD_LOGIN_ADDRESS_DELAY`
seconds; the rest are answered 429 with Retry-After, before any PIN is checked.

An address is an IPv4 address or an IPv6 /64 (`core.audit.client_network`): a phone or a
home is given a whole /64 and may send each attempt from another address of it.

The failures are django-axes' own failure log (AXES_ENABLE_ACCESS_FAILURE_LOG), whose
username for a card login is "card:<number>": one indexed query per card login POST.
Over the limit, a PostgreSQL advisory lock per address lets one attempt through at a
time, so a burst of simultaneous requests is still one guess.
"""

import datetime
import hashlib
import ipaddress
import math
from collections.abc import Iterator
from contextlib import contextmanager

from axes.models import AccessFailureLog
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from core.audit import client_ip, client_network

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CARD_USERNAME_PREFIX = "card:"  # villagers.auth.axes_username


def _failures_since(network: Network, since: datetime.datetime) -> tuple[int, datetime.datetime]:
    if network.prefixlen == network.max_prefixlen:
        addresses = Q(ip_address=str(network.network_address))
    else:  # inet orders numerically within a family
        addresses = Q(
            ip_address__gte=str(network.network_address),
            ip_address__lte=str(network.broadcast_address),
        )
    found = AccessFailureLog.objects.filter(
        addresses,
        username__startswith=CARD_USERNAME_PREFIX,
        attempt_time__gte=since,
    ).aggregate(count=Count("id"), last=Max("attempt_time"))
    return found["count"], found["last"]


def _turn(network: Network) -> tuple[bool, int]:
    """Whether the address is over the limit, and how many seconds it must still wait."""
    now = timezone.now()
    count, last = _failures_since(network, now - settings.CARD_LOGIN_ADDRESS_WINDOW)
    if count < settings.CARD_LOGIN_ADDRESS_LIMIT:
        return False, 0
    remaining = settings.CARD_LOGIN_ADDRESS_DELAY - (now - last).total_seconds()
    return True, max(0, math.ceil(remaining))


def address_lock_key(address: str) -> int:
    """The advisory lock one address's network holds while its card login is checked."""
    digest = hashlib.blake2b(
        f"card-login:{client_network(address) or address}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def card_login_turn(request) -> Iterator[int]:
    """Seconds this address must wait before a card login (0: go on, inside the block).

    With 0 the caller checks the card and PIN inside the block; an address over the limit
    holds its lock meanwhile, so its next attempt sees this one's failure.
    """
    address = client_ip(request)
    network = client_network(address) if address else None
    over, wait = _turn(network) if network else (False, 0)
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
        _over, wait = _turn(network)  # again: the attempt before may just have failed
        yield wait
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
