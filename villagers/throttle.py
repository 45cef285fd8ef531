"""Failed logins from one network address: slowed down, never locked out.

django-axes locks a card after five wrong PINs, but one wrong PIN on each of many cards
locks nothing. Villagers on 3G share their carrier's NAT addresses, so an address is never
locked either: once it has had `CARD_LOGIN_ADDRESS_LIMIT` failed card logins in
`CARD_LOGIN_ADDRESS_WINDOW`, it may try one card login every `CARD_LOGIN_ADDRESS_DELAY`
seconds; the rest are answered 429 with Retry-After, before any PIN is checked.

Staff sign-ins (the staff login and the back office's, villagers.forms) are counted apart,
the same way: django-axes locks a username after five wrong passwords, but four on each of
many usernames locked nothing. An address with `STAFF_LOGIN_ADDRESS_LIMIT` failed staff
sign-ins in the window may try once every `STAFF_LOGIN_ADDRESS_DELAY` seconds (a county
office shares one address: slowed, never locked out).

An address is an IPv4 address or an IPv6 /64 (`core.audit.client_network`): a phone or a
home is given a whole /64 and may send each attempt from another address of it.

The failures are django-axes' own failure log (AXES_ENABLE_ACCESS_FAILURE_LOG), whose
username for a card login is "card:<number>": one indexed query per login POST. A PIN the
manager sets refused as another login's ("card:<number>/staff", villagers.card_views) is no
sign-in: it counts for the card's staff count only, neither door's (a manager setting PINs
at the office would slow the villagers' card logins from there).
Over the limit, a PostgreSQL advisory lock per address and door lets one attempt through
at a time, so a burst of simultaneous requests is still one guess.
"""

import datetime
import hashlib
import ipaddress
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from axes.models import AccessFailureLog
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q
from django.utils import timezone

from core.audit import client_ip, client_network

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CARD_USERNAME_PREFIX = "card:"  # villagers.auth.axes_username
# A staff sign-in's name that begins as a card's count does, counted under this instead.
STAFF_NAMED_AS_CARD_PREFIX = "staff:"
STAFF_PIN_SUFFIX = "/staff"  # "card:<number>/staff": PINs the manager set, refused


@dataclass(frozen=True)
class Door:
    """A way in, with its own count: the card login, or the staff sign-ins."""

    name: str
    cards: bool  # its failures are card logins ("card:<number>"), else staff usernames
    limit_setting: str
    delay_setting: str

    @property
    def limit(self) -> int:
        return getattr(settings, self.limit_setting)

    @property
    def delay(self) -> int:
        return getattr(settings, self.delay_setting)


CARDS = Door("card", True, "CARD_LOGIN_ADDRESS_LIMIT", "CARD_LOGIN_ADDRESS_DELAY")
STAFF = Door("staff", False, "STAFF_LOGIN_ADDRESS_LIMIT", "STAFF_LOGIN_ADDRESS_DELAY")


def _failures_since(
    network: Network, since: datetime.datetime, door: Door
) -> tuple[int, datetime.datetime]:
    if network.prefixlen == network.max_prefixlen:
        addresses = Q(ip_address=str(network.network_address))
    else:  # inet orders numerically within a family
        addresses = Q(
            ip_address__gte=str(network.network_address),
            ip_address__lte=str(network.broadcast_address),
        )
    cards = Q(username__startswith=CARD_USERNAME_PREFIX)
    found = (
        AccessFailureLog.objects.filter(
            addresses,
            cards if door.cards else ~cards,
            attempt_time__gte=since,
        )
        .exclude(username__endswith=STAFF_PIN_SUFFIX)
        .aggregate(count=Count("id"), last=Max("attempt_time"))
    )
    return found["count"], found["last"]


def _turn(network: Network, door: Door) -> tuple[bool, int]:
    """Whether the address is over the door's limit, and how many seconds it must still
    wait."""
    now = timezone.now()
    count, last = _failures_since(network, now - settings.CARD_LOGIN_ADDRESS_WINDOW, door)
    if count < door.limit:
        return False, 0
    remaining = door.delay - (now - last).total_seconds()
    return True, max(0, math.ceil(remaining))


def address_lock_key(address: str, door: Door = CARDS) -> int:
    """The advisory lock one address's network holds while its login at `door` is checked."""
    digest = hashlib.blake2b(
        f"{door.name}-login:{client_network(address) or address}".encode(), digest_size=8
    ).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def login_turn(request, door: Door) -> Iterator[int]:
    """Seconds this address must wait before a login at `door` (0: go on, inside the block).

    With 0 the caller checks the credentials inside the block; an address over the limit
    holds its lock meanwhile, so its next attempt sees this one's failure.
    """
    address = client_ip(request)
    network = client_network(address) if address else None
    over, wait = _turn(network, door) if network else (False, 0)
    if not over or wait:
        yield wait
        return
    key = address_lock_key(address, door)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (locked,) = cursor.fetchone()
    if not locked:  # another attempt from this address is being checked right now
        yield door.delay
        return
    try:
        _over, wait = _turn(network, door)  # again: the attempt before may just have failed
        yield wait
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def card_login_turn(request):
    """`login_turn` at the card login."""
    return login_turn(request, CARDS)
