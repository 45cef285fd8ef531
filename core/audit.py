"""Writing to the audit log from services and views, and the sign-in events."""

import ipaddress
import time

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import models, transaction

from core import sql
from core.db import duplicate_checked_again, full_check, unique_checks
from core.files import file_as_stored
from core.models import AuditEvent
from core.sql import Statement


def client_ip(request) -> str | None:
    """The peer address. X-Forwarded-For is not trusted: it is trivially forged."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def client_network(address: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """What one caller controls: an IPv4 address whole, an IPv6 address by its /64 (a home or
    a phone is given a whole /64 and may use any address in it). An IPv4 caller seen by a
    dual-stack listener (::ffff:a.b.c.d) is that one address: the /64 around it is every
    IPv4 caller. None when not an address."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    whole = parsed.version == 4 or parsed.ipv4_mapped is not None
    return ipaddress.ip_network(f"{parsed}/{parsed.max_prefixlen if whole else 64}", strict=False)


def _place(*, village_id: int | None, obj, actor) -> dict:
    """The event's township_id and county_id: none for an event of a village (the village
    places it, as it stands); else from its object, else from its actor. A township's county
    is read here: such events (logins, staff, tokens, exports) are few, never a teller's."""
    if village_id is not None:
        return {"township_id": None, "county_id": None}
    for holder in (obj, actor):
        if holder is None or getattr(holder, "village_id", None) is not None:
            continue  # a village's row or person: nothing of the county's own
        township_id = getattr(holder, "township_id", None)
        if township_id is not None:
            return _township_place(township_id)
        county_id = getattr(holder, "county_id", None)
        if county_id is not None:
            # A county's row a township's officer acts on (their township's overview
            # export, kept under the county) concerns their township.
            officer = getattr(actor, "township_id", None) if holder is obj else None
            place = _township_place(officer) if officer is not None else None
            if place is not None and place["county_id"] == county_id:
                return place
            return {"township_id": None, "county_id": county_id}
    return {"township_id": None, "county_id": None}


def _township_place(township_id: int) -> dict:
    township = get_user_model()._meta.get_field("township").related_model
    county_id = township.objects.filter(pk=township_id).values_list("county_id", flat=True)
    return {"township_id": township_id, "county_id": county_id.first()}


def _events(*, action: str, actor, village_id: int | None, objs: list, details: list, request):
    """The audit events of `objs` (None: an event of no object), one per object with its
    detail: the one place an event's row is made, whether it is saved alone or in one
    statement with the caller's writes. Each is placed by its village, else by its object,
    else by its actor (`_place`)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    ip_address = client_ip(request)
    return [
        AuditEvent(
            action=action,
            actor=actor,
            village_id=village_id,
            **_place(village_id=village_id, obj=obj, actor=actor),
            object_type=obj._meta.label_lower if obj is not None else "",
            object_id=str(obj.pk) if obj is not None else "",
            detail=detail or {},
            ip_address=ip_address,
        )
        for obj, detail in zip(objs, details, strict=True)
    ]


def audit_record(
    *,
    action: str,
    actor=None,
    village_id: int | None = None,
    obj=None,
    detail: dict | None = None,
    request=None,
) -> AuditEvent:
    """Append one audit event (inside the caller's transaction, so it commits with the change)."""
    (event,) = _events(
        action=action,
        actor=actor,
        village_id=village_id,
        objs=[obj],
        details=[detail],
        request=request,
    )
    event.save(force_insert=True)
    return event


def record_save(
    obj,
    *,
    actor,
    village_id: int | None,
    action: str,
    detail: dict | None = None,
    request=None,
    validate: bool = True,
):
    """Validate, save and audit one record in one transaction: the services' plain writes.

    `action` may hold "{verb}", filled with "create" or "update" as the record is new or not.
    """
    creating = obj.pk is None
    if validate:
        full_check(obj)
    with transaction.atomic():
        # Saved by another request since full_clean() (a double click): refused in words.
        with duplicate_checked_again(lambda: unique_checks(obj)):
            obj.save()
        audit_record(
            action=action.format(verb="create" if creating else "update"),
            actor=actor,
            village_id=village_id,
            obj=obj,
            detail=detail,
            request=request,
        )
    return obj


def as_stored(obj, stored) -> bool:
    """Whether `obj` holds `stored`'s value in every column its save writes: an edit that
    changes nothing (saved as drawn, or the same form sent twice) is not written, nor
    audited as a change (an auditor reads each "*.update" event as one). The columns only
    their own writer moves (`core.models.WriterOwnedColumns`) are not the edit's. A file
    named anew (every upload is) is compared by its content (core.files.file_as_stored)."""
    writer_owned = getattr(obj, "writer_owned", ())
    return stored is not None and all(
        _value_as_stored(field, getattr(obj, field.attname), getattr(stored, field.attname))
        for field in obj._meta.concrete_fields
        if field.name not in writer_owned
    )


def _value_as_stored(field, value, stored) -> bool:
    if isinstance(field, models.FileField):  # a new upload of the file stored is that file
        return file_as_stored(value, stored)
    return value == stored


def audit_plan(
    *,
    action: str,
    actor=None,
    village_id: int | None,
    objs: list,
    details: list[dict],
    request=None,
) -> Statement:
    """The INSERT of one audit event per object, for a caller that runs it with its own
    writes in one round trip (core.sql.run_together): the events `audit_record` would write."""
    events = _events(
        action=action,
        actor=actor,
        village_id=village_id,
        objs=objs,
        details=details,
        request=request,
    )
    return sql.insert(AuditEvent, events)


def audit_records(**kwargs) -> None:
    """Append one audit event per object in a single INSERT (see `audit_plan`)."""
    sql.run_together([audit_plan(**kwargs)])


def _village_of(user) -> int | None:
    return getattr(user, "village_id", None)


def login_record(sender, request, user, **kwargs) -> None:
    """user_logged_in: a successful sign-in, by any login page."""
    audit_record(
        action="login", actor=user, village_id=_village_of(user), obj=user, request=request
    )


def logout_record(sender, request, user, **kwargs) -> None:
    """user_logged_out: the session was ended by the user."""
    if user is not None:
        audit_record(
            action="logout", actor=user, village_id=_village_of(user), obj=user, request=request
        )


# Events that name nobody known, so no place either: a sign-in refused for a name or card of
# no one, an API call refused for a key of no token (or none), a sign-in record removed by a
# superuser of no county. They are the whole site's: every county's admin reads them
# (reports.audit_log), and nobody else.
SITE_WIDE_ACTIONS = (
    "login.failed",
    "api.refused",
    "signin_record.delete",
    "signin_record.cleanup",
)

# Refused attempts (kind "login": sign-ins at a name or card of nobody; "login.someone": at
# someone's, counted apart; "api": API calls) recorded a minute: per address (an IPv6
# caller's /64, which one machine holds whole) and in all. Past the address's number only
# its 32nd, 64th, 128th... refusal of the minute is recorded, with that count; past the
# number in all, none: callers cannot grow the append-only log without end.
REFUSALS_RECORDED_PER_MINUTE = 20
REFUSALS_RECORDED_PER_MINUTE_IN_ALL = 200


def _minute() -> int:
    return int(time.time() // 60)


def _caller(request) -> str:
    """The address a refusal is counted against: IPv4 whole, IPv6 by its /64."""
    address = client_ip(request) or "unknown"
    network = client_network(address)
    return str(network) if network is not None and network.prefixlen == 64 else address


def _count(key: str) -> int:
    """One more under `key` (kept two minutes); how many now."""
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key)
    except ValueError:  # evicted between add and incr
        return 1


def refusal_to_record(request, kind: str) -> dict | None:
    """Whether a refused attempt of `kind` from the request's address is recorded, and what
    its event's detail then adds: nothing, or past the address's number a minute the count
    ({"refused": n}, its n-th this minute). None: not recorded (the refusal stands)."""
    minute = _minute()
    count = _count(f"refusals:{kind}:{_caller(request)}:{minute}")
    past = count > REFUSALS_RECORDED_PER_MINUTE
    if past and count & (count - 1):  # not a power of two
        return None
    if _count(f"refusals:{kind}:all:{minute}") > REFUSALS_RECORDED_PER_MINUTE_IN_ALL:
        return None
    return {"refused": count} if past else {}
