"""Villager login (card number and PIN), and how every request loads the signed-in user."""

import datetime
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.core.exceptions import ValidationError
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import sql
from core.access import Role
from core.audit import audit_record, refusal_to_record
from core.forms import pin_clean
from villagers import sql as villagers_sql
from villagers.cardnumbers import card_number_normalize
from villagers.devices import device_signed_in
from villagers.masking import mask_cell
from villagers.models import Card, County, Household, Township, User, Village
from villagers.second_person import LOCK_NOT_AVAILABLE
from villagers.throttle import CARD_USERNAME_PREFIX, STAFF_NAMED_AS_CARD_PREFIX, STAFF_PIN_SUFFIX


def session_user(user_id) -> User | None:
    """The active user of a session, with what every page needs, in one query (villagers.sql).

    Every signed-in request loads its user: joining the village (with township and county,
    for the header and scoping) and the household, and reading the role names
    (`role_names`, read by core.access), saves three round trips a request.
    """
    with connection.cursor() as cursor:
        sql.execute(cursor, villagers_sql.SESSION_USER, {"roles": list(Role.ALL), "user": user_id})
        row = cursor.fetchone()
    if row is None:
        return None
    user, at = sql.instance(User, row), sql.width(User)
    village, at = sql.instance(Village, row, at), at + sql.width(Village)
    township, at = sql.instance(Township, row, at), at + sql.width(Township)
    county, at = sql.instance(County, row, at), at + sql.width(County)
    household = sql.instance(Household, row, at)
    if village is not None:
        township.county = county
        village.township = township
        user.village = village
    if household is not None:
        user.household = household
    user.role_names = row[-1]
    return user


class SessionUserMixin:
    """Backends load the session's user through `session_user`, whichever signed them in."""

    def get_user(self, user_id):
        return session_user(user_id)


class LockoutBackend(SessionUserMixin, AxesStandaloneBackend):
    """django-axes' lockout check (first in the list); authenticates nobody itself."""


class StaffBackend(SessionUserMixin, ModelBackend):
    """Staff sign in with username and password; a villager's login is no staff login.

    A non-staff account is refused without checking its password, exactly as an unknown
    name is (the hasher runs once, as ModelBackend does for those, so the time taken tells
    nothing either): the staff and admin login pages cannot test a villager's PIN, whose
    only way in is the card login and its lockout.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(User.USERNAME_FIELD)
        if username is None or password is None:
            return None
        try:
            user = User._default_manager.get_by_natural_key(username)
        except User.DoesNotExist:
            user = None
        if user is None or not user.is_staff:
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


class CardPinBackend(SessionUserMixin, BaseBackend):
    """Authenticate `card_number` + `pin` against the active card's villager logins.

    A card opens with the household's PIN or with a family member's own PIN: every active
    login of the household is tried (the household's first; each PIN is refused when set if
    another login uses it), so the time taken does not tell whose PIN it was. One attempt is
    one success or one failure of the card, whoever's PIN was tried: django-axes counts it
    against "card:<number>" (axes_username), so the card's lockout covers every PIN on it.
    """

    def authenticate(self, request, card_number=None, pin=None, **kwargs):
        if not card_number or not pin:
            return None
        try:
            pin = pin_clean(pin)  # typed as it was set: full-width digits are digits
        except ValidationError:
            return None
        number = card_number_normalize(card_number)
        card = (
            Card.objects.filter(number=number, status=Card.Status.ACTIVE)
            .select_related("household")
            .first()
        )
        logins = []
        if card is not None:
            logins = list(
                User.objects.filter(
                    household_id=card.household_id, is_staff=False, is_active=True
                ).order_by(F("member").asc(nulls_first=True), "pk")
            )
        if not logins:
            User().set_password(pin)  # as long as a real check: no card is told by its speed
            return None
        matches = [login for login in logins if login.check_password(pin)]
        return matches[0] if matches else None


def axes_username(request, credentials):
    """The name django-axes counts failures against: staff username or card number.

    Read from the credentials only, never from the posted form: a card number added to a
    staff login's POST would otherwise count that login's failures against a card nobody
    tried (and a staff user's success would clear a card's). A successful card login
    passes only the user's name, so it clears nothing of the card's count: a card holds
    several PINs (the household's, its members'), and one of them that works must not
    let the others be tried four at a time. The card's failures lapse with the cool-off.

    Phones the card signed in on before share a count of their own ("card:<number>/device",
    villagers.devices): wrong PINs typed elsewhere to lock the card out do not lock its owner
    out. `whole_card` in the credentials (the PIN change) counts against the card itself.
    """
    credentials = credentials or {}
    card_number = credentials.get("card_number")
    if card_number:
        number = card_number_normalize(card_number)
        if credentials.get("staff_pin"):
            return f"card:{number}{STAFF_PIN_SUFFIX}"  # PINs the manager set, refused (card_views)
        if not credentials.get("whole_card") and device_signed_in(request, number):
            return f"card:{number}/device"
        return f"card:{number}"
    username = credentials.get("username") or ""
    if username.startswith(CARD_USERNAME_PREFIX):
        # No staff name has a colon: typed at a staff login, "card:<number>/device" would
        # lock the card's own phones out and "card:<number>/staff" its PIN reset.
        return f"{STAFF_NAMED_AS_CARD_PREFIX}{username}"
    return username


# A sign-in refused with this many tries or fewer left before its lockout says how many.
TRIES_LEFT_SAID = 2


def lockout_minutes(request=None) -> int:
    """How long a lockout lasts (django-axes' cool-off), in minutes."""
    return int(get_cool_off(request).total_seconds() // 60)


def tries_left(request) -> int | None:
    """After a failure django-axes has just counted on `request`, the tries left before the
    lockout, when they are few enough to say (`TRIES_LEFT_SAID`), else None. Said alike for
    a card (or name) of nobody, counted as any other: it tells nothing of who exists."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None or getattr(request, "axes_locked_out", False):
        return None
    left = settings.AXES_FAILURE_LIMIT - failures
    return left if 0 < left <= TRIES_LEFT_SAID else None


def tries_left_message(left: int, request=None, *, card: bool) -> str:
    """ "N tries left" before the card's (or the name's) sign-in is locked."""
    minutes = lockout_minutes(request)
    if card:
        message = ngettext(
            "%(left)d try left before this card is locked for %(minutes)d minutes.",
            "%(left)d tries left before this card is locked for %(minutes)d minutes.",
            left,
        )
    else:
        message = ngettext(
            "%(left)d try left before this name is locked for %(minutes)d minutes.",
            "%(left)d tries left before this name is locked for %(minutes)d minutes.",
            left,
        )
    return message % {"left": left, "minutes": minutes}


def locked_until(request, credentials, *, locked: bool = False):
    """When the lockout of the count `credentials` are counted against (`axes_username`) lifts,
    as django-axes decides it; None: not locked. Axes keeps a row a phone (address and
    browser) with its failures and the time of its latest, and counts the whole row while
    that time is within the cool-off: the lock lifts when the rows still counted hold fewer
    than the limit. So the newest rows, summed until they reach the limit: the cool-off after
    the last of those. (The cool-off after the latest failure overstated it when other
    phones' older tries made up the count: each refused try starts the cool-off again for
    its own phone's row only.) Counted from the time axes counted from (set as the sign-in
    began: the PINs checked since may have taken seconds). `locked`: axes has just said the
    count is locked; if the count no longer reaches the limit, the lock lifted in between:
    the time axes counted from (a full cool-off from now said 15 minutes of a lock gone)."""
    cool_off = get_cool_off(request)
    counted_at = getattr(request, "axes_attempt_time", None) or timezone.now()
    rows = (
        AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            attempt_time__gte=counted_at - cool_off,
        )
        .order_by("-attempt_time")
        .values_list("attempt_time", "failures_since_start")
    )
    limit = get_failure_limit(request, credentials)
    counted = 0
    for attempt_time, failures in rows:
        counted += failures
        if counted >= limit:
            return _minute_up(attempt_time + cool_off)
    return _minute_up(counted_at) if locked else None


def _minute_up(moment):
    """`moment` rounded up to a whole minute: the pages say hours and minutes, and a try at
    the minute they say must be taken (a lock lifting at 10:15:40 said "until 10:15")."""
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + datetime.timedelta(minutes=1)


def card_locked_until(number: str, request=None):
    """When the card's own count (`axes_username`, "card:<number>") stops locking it
    (`locked_until`). None: not locked."""
    return locked_until(request, {"card_number": number, "whole_card": True})


# How long a sign-in waits for the try at the same count before it (`one_try_at_a_time`).
# A try checks up to one PIN a login of the card (about half a second each on a busy server).
TRY_WAIT_SECONDS = 5


def login_count_lock_key(request, credentials) -> int:
    """The advisory lock of a sign-in's count (`axes_username`)."""
    name = axes_username(request, credentials)
    digest = hashlib.blake2b(f"login-count:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def one_try_at_a_time(request, credentials) -> Iterator[None]:
    """A sign-in's lockout check, its password or PIN check and the count of its failure, as
    one step for each count (`axes_username`): tries sent at the same moment were each
    checked against a count none of them had written yet (eight PINs of one card checked in
    one burst, where five lock it). Each waits for the try before it, and sees its failure.
    A PostgreSQL advisory lock of the session, not a transaction: a refusal raised in the
    block must not take back the failure it counted.

    The wait is bounded (`TRY_WAIT_SECONDS`): a burst of tries at one card held a server
    worker each until every try before it was checked. Past the bound the try is refused,
    unchecked and uncounted (ValidationError, code "try_in_progress")."""
    key = login_count_lock_key(request, credentials)
    try:
        # The session's lock outlives this transaction (or savepoint); the timeout does not.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
                [f"{TRY_WAIT_SECONDS * 1000}ms"],
            )
            (before, _set) = cursor.fetchone()
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [before])
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise ValidationError(
            _(
                "Another sign-in with this card or name is being checked at this moment. "
                "Try again in a moment."
            ),
            code="try_in_progress",
        ) from None
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


# Of a name of nobody tried at the staff sign-in, the characters kept (`name_of_nobody_masked`).
NOBODY_NAME_KEPT = 2


def name_of_nobody_masked(name: str) -> str:
    """A name of nobody tried at the staff sign-in, as the whole site's log keeps it: its first
    characters and a star for each other one (at most eight). It is often a password typed
    into the name's box, or a person's name, and every county admin reads it; a phone or an
    ID number is masked as those are."""
    masked = mask_cell(name)
    if masked != name:
        return masked
    hidden = min(len(name) - NOBODY_NAME_KEPT, 8)
    return name[:NOBODY_NAME_KEPT] + "*" * max(hidden, 0)


def login_failed_record(sender, credentials, request=None, **kwargs) -> None:
    """user_login_failed: the name or card tried, never the password or PIN, in the audit log.

    Only the identifying fields are read from `credentials` (Django masks "password" but
    not "pin", so nothing else is ever copied). A card's event is its village's, also for a
    number of no card (the village whose code begins it: the attack is on its cards); a
    name's is its account's (its village, township or county). A name or card of nobody
    is the whole site's (core.audit.SITE_WIDE_ACTIONS): every county admin reads it, so a
    name tried is kept by its first characters only (`name_of_nobody_masked`; it may be a
    password typed in the wrong box), and a number typed into the card's box masked. A
    name or card of nobody is recorded only so often from one address, and in all
    (core.audit.refusal_to_record): each one tried is new, so nothing locks them out. Tries
    at someone's card or name are bounded alike but counted apart, so a flood of names of
    nobody keeps none of them out of the log; their lockout does not bound them (a locked
    name or card tried again is refused by this signal too).
    """
    typed = str(credentials.get("card_number") or "").strip()[:40]
    actor, target, village_id = None, None, None
    if typed:
        number = card_number_normalize(typed)
        whole = len(number) == 9  # a card's number (nine digits) is nobody's personal data
        detail = {"card": number if whole else mask_cell(typed)}
        logins = User.objects.filter(household__cards__number=number, is_staff=False)
        village_id = logins.values_list("village_id", flat=True).first()
        known = village_id is not None
        if village_id is None and whole:
            village = Village.objects.filter(code=number[:3])
            village_id = village.values_list("pk", flat=True).first()
        if credentials.get("staff_pin") and request is not None:
            # A PIN a staff member set, refused as another login's (villagers.card_views).
            detail["pin_set_by_staff"] = True
            actor = request.user
    else:
        username = str(credentials.get("username") or "")[:150]
        target = User.objects.filter(username=username).first() if username else None
        village_id = target.village_id if target is not None else None
        known = target is not None
        detail = {"username": mask_cell(username) if known else name_of_nobody_masked(username)}
    # Counted apart: a flood of names of nobody keeps no try at someone out of the log, and
    # tries at someone go on after their lockout (axes refuses them, and says so by this
    # signal), so they are bounded too, by a count of their own.
    recorded = refusal_to_record(request, "login.someone" if known else "login")
    if recorded is None:
        return
    audit_record(
        action="login.failed",
        actor=actor,
        village_id=village_id,
        obj=target,
        detail=detail | recorded,
        request=request,
    )
