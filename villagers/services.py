"""Writes to the registry. Views and forms call these; they never save registry objects.

Issuing a card also opens the household's points account, so the issue service a view
calls is `points.services.card_issue`; `card_create` here is its registry half.
"""

import datetime
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import Role
from core.audit import as_stored, audit_record, audit_records, record_save
from core.db import duplicate_checked_again, unique_checks
from core.forms import number_text
from core.months import past_day_check
from core.sessions import sessions_end
from core.text import list_join
from villagers.cardnumbers import card_number_make
from villagers.idnumbers import id_numbers_registered
from villagers.models import (
    Card,
    Household,
    Inspection,
    Member,
    Participation,
    Referral,
    User,
    Village,
)
from villagers.pins import pin_card_check, pin_hash_ends, pin_new_clean
from villagers.roster import roster_check
from villagers.second_person import SecondPersonRequired, decider_check, referrals_close


def village_start_reach(*, village_id: int, day: datetime.date) -> None:
    """A record dated `day`, before the village started using the app, moves its start back
    to that day: every month its records reach stays on its pages (core.months.asked_within).
    The caller holds the village's row lock."""
    Village.objects.filter(pk=village_id, started_on__gt=day).update(started_on=day)


def _household_lock(household_id: int, village_id: int) -> None:
    """The household's row lock, taken by whatever changes its card, its status, its logins
    or who on it may have a PIN, so each sees what the others wrote: a recall and a PIN set
    at the same moment leave no active login on a recalled card.

    Lock order, as card_create and the store's writers take them (store.services): the
    village's row first, then the household's. A writer that took the household first and
    then met a card issue or replacement holding the village, while that one waited for the
    household, deadlocked (a probe saw it, replacement against PIN reset). FOR NO KEY
    UPDATE: the village's other writes go on.
    """
    list(Village.objects.select_for_update(no_key=True).filter(pk=village_id).values_list("pk"))
    list(Household.objects.select_for_update(no_key=True).filter(pk=household_id).values_list("pk"))


@contextmanager
def household_locked(household: Household) -> Iterator[None]:
    """A transaction holding the household's row lock (as `_household_lock`, which every
    writer of its card and PINs takes): for a page whose check before a service and count
    after it must be one step (villagers.card_views.StaffPinGuesses)."""
    with transaction.atomic():
        _household_lock(household.pk, household.village_id)
        yield


def household_save(*, household: Household, actor: User, request=None) -> Household:
    """Create or update a household after validating it (form data already applied).

    A household that moved away or closed keeps no active card: the save is refused until
    its card is recalled (`card_recall`, which ends its logins), so it neither redeems nor
    earns points meanwhile.
    A card issue waiting at the county for it is closed.
    """
    if household.group.village_id != household.village_id:
        raise ValidationError(_("The village group belongs to another village."))
    with transaction.atomic():
        if household.pk is not None and household.status != Household.Status.ACTIVE:
            # Locked as card_create locks it: a card issued meanwhile is seen here, and a
            # card issued after this waits and finds the household no longer active.
            _household_lock(household.pk, household.village_id)
            if household.cards.filter(status=Card.Status.ACTIVE).exists():
                raise ValidationError(
                    _(
                        "This household still has an active card: recall the card first (that "
                        "ends its logins), then mark the household %(status)s."
                    )
                    % {"status": household.get_status_display()},
                    code="card_active",
                )
        stored = Household.objects.filter(pk=household.pk).first() if household.pk else None
        # When it left, for the months gone by (the county's pass rate counts the households
        # a village had then); kept through later edits, forgotten if it comes back.
        if household.status == Household.Status.ACTIVE:
            household.left_at = None
        elif stored is None or stored.status == Household.Status.ACTIVE:
            household.left_at = timezone.now()
        else:
            household.left_at = stored.left_at
        if not as_stored(household, stored):
            record_save(
                household,
                actor=actor,
                village_id=household.village_id,
                action="household.{verb}",
                request=request,
            )
        if household.status != Household.Status.ACTIVE:
            # A card asked of the county for it would be issued to nobody: its issue is refused.
            referrals_close(
                kind=Referral.Kind.CARD_ISSUE,
                object_ids=[household.pk],
                actor=actor,
                outcome=gettext_lazy("the household moved away or closed"),
            )
        saved = household
        # Its login says whose it is ("signed in as …"): the head's name as corrected.
        User.objects.filter(household=saved, member__isnull=True, is_staff=False).exclude(
            display_name=saved.head_name
        ).update(display_name=saved.head_name)
        return saved


def member_save(*, member: Member, actor: User, request=None) -> Member:
    """Add or change a member. One with a PIN of their own stays someone who may have it (an
    adult, not the head): an edit that says otherwise waits until that PIN is revoked,
    which is its own act (`member_pin_revoke`). One who left the household is kept as they
    were when they left."""
    with transaction.atomic():
        stored = Member.objects.get(pk=member.pk) if member.pk is not None else None
        if stored is not None:
            _member_left_check(stored)
        refusal = member_pin_refusal(member) if member.pk is not None else ""
        if refusal or member.relation == Member.Relation.HEAD:
            # Locked as member_pin_set locks it: a PIN set meanwhile is seen here, and one
            # set after this waits and reads the member as saved; two heads added at once
            # wait for each other.
            _household_lock(member.household_id, member.household.village_id)
        _one_head_check(member)
        if refusal and User.objects.filter(member=member, is_active=True).exists():
            raise ValidationError(
                _("%(name)s has a PIN of their own. %(why)s Revoke that PIN first.")
                % {"name": member.name, "why": refusal},
                code="member_pin",
            )
        if not as_stored(member, stored):
            record_save(
                member,
                actor=actor,
                village_id=member.household.village_id,
                action="member.{verb}",
                request=request,
            )
        saved = member
        # A member's own login says whose it is: their name as corrected.
        User.objects.filter(member=saved).exclude(display_name=saved.name).update(
            display_name=saved.name
        )
        _household_named_after(saved, actor=actor, request=request)
        return saved


def _one_head_check(member: Member) -> None:
    """Refuse `member` as the household's head while another current member is."""
    if member.relation != Member.Relation.HEAD:
        return
    heads = member.household.members.current().filter(relation=Member.Relation.HEAD)
    other = heads.exclude(pk=member.pk).first()
    if other is not None:
        raise ValidationError(
            _(
                "The household already has its head, %(name)s: a household has one. "
                "Change that member's relation first."
            )
            % {"name": other.name},
            code="second_head",
        )


def _household_named_after(member: Member, *, actor: User, request=None) -> None:
    """The household goes by its head's name (lists, the counter, the notice, its login):
    the head's as corrected, a new head's once one is made, a head's back in it."""
    if member.relation != Member.Relation.HEAD:
        return
    household = Household.objects.get(pk=member.household_id)
    if household.head_name != member.name:
        household.head_name = member.name
        household_save(household=household, actor=actor, request=request)


def _member_left_check(member: Member) -> None:
    if member.left_on is not None:
        raise ValidationError(
            _("%(name)s left the household on %(day)s.")
            % {"name": member.name, "day": member.left_on.isoformat()},
            code="member_left",
        )


def member_leave(
    *, member: Member, on: datetime.date, why: str, actor: User, request=None
) -> Member:
    """`member` has left the household (died, moved or married away) on `on`.

    They stay on record: what they earned or collected keeps naming them, and the household's
    page lists them under its former members. They are no longer offered as who earned points
    or collected goods, and their ID number may be registered again where they live now. One
    with a PIN of their own keeps it until it is revoked, which is its own act
    (`member_pin_revoke`, sent up when it is the manager's own household).
    """
    if why not in Member.LeftWhy.values:
        raise ValidationError(_("Say why they left."), code="left_why")
    past_day_check(on)
    with transaction.atomic():
        # Locked as member_pin_set locks it: a PIN set meanwhile is seen here.
        _household_lock(member.household_id, member.household.village_id)
        member = Member.objects.select_related("household").get(pk=member.pk)
        _member_left_check(member)
        if User.objects.filter(member=member, is_active=True).exists():
            raise ValidationError(
                _("%(name)s has a PIN of their own. Revoke that PIN first.")
                % {"name": member.name},
                code="member_pin",
            )
        member.left_on, member.left_why = on, why
        member.save(update_fields=["left_on", "left_why"])
        audit_record(
            action="member.leave",
            actor=actor,
            village_id=member.household.village_id,
            obj=member,
            detail={"household": member.household_id, "on": on.isoformat(), "why": why},
            request=request,
        )
        # A PIN for them sent up to the county (the manager's own household) is moot.
        referrals_close(
            kind=Referral.Kind.MEMBER_PIN,
            object_ids=[member.pk],
            actor=actor,
            outcome=gettext_lazy("left the household"),
        )
    return member


def member_return(*, member: Member, actor: User, request=None) -> Member:
    """`member`, recorded as having left, is one of the household again (recorded by
    mistake, or come back): as they were, unless their ID number is registered elsewhere
    now or the household has another head meanwhile."""
    with transaction.atomic():
        _household_lock(member.household_id, member.household.village_id)
        member = Member.objects.select_related("household").get(pk=member.pk)
        if member.left_on is None:
            raise ValidationError(
                _("%(name)s is a member of the household.") % {"name": member.name},
                code="member_current",
            )
        if member.id_number and id_numbers_registered([member.id_number]):
            raise ValidationError(
                _(
                    "%(name)s is registered in another household now: remove them there "
                    "first, or correct the ID number."
                )
                % {"name": member.name},
                code="id_number_taken",
            )
        _one_head_check(member)
        left = {"on": member.left_on.isoformat(), "why": member.left_why}
        member.left_on, member.left_why = None, ""
        # Registered elsewhere at this very moment: refused in words (the unique index).
        with duplicate_checked_again(lambda: unique_checks(member)):
            member.save(update_fields=["left_on", "left_why"])
        _household_named_after(member, actor=actor, request=request)
        audit_record(
            action="member.return",
            actor=actor,
            village_id=member.household.village_id,
            obj=member,
            detail={"household": member.household_id, **left},
            request=request,
        )
    return member


def inspection_record(*, inspection: Inspection, actor: User, request=None) -> Inspection:
    inspection.inspector = actor
    return record_save(
        inspection,
        actor=actor,
        village_id=inspection.household.village_id,
        action="inspection.record",
        detail={"passed": inspection.passed},
        request=request,
    )


def inspections_record(
    *, inspections: list[Inspection], actor: User, request=None
) -> list[Inspection]:
    """Record a round's inspections (households of one village) at once: one INSERT, and one
    audit event each as `inspection_record` writes. Inside the caller's transaction."""
    if not inspections:
        return []
    village_ids = {inspection.household.village_id for inspection in inspections}
    if len(village_ids) != 1:
        raise ValidationError(_("A household belongs to another village."))
    for inspection in inspections:
        inspection.inspector = actor
        # The household and the inspector are rows the caller holds: no query to validate.
        inspection.full_clean(exclude=["household", "inspector"])
    with transaction.atomic():
        created = Inspection.objects.bulk_create(inspections)
        audit_records(
            action="inspection.record",
            actor=actor,
            village_id=village_ids.pop(),
            objs=created,
            details=[{"passed": inspection.passed} for inspection in created],
            request=request,
        )
    return created


def participation_record(
    *, participation: Participation, actor: User, request=None
) -> Participation:
    participation.recorded_by = actor
    return record_save(
        participation,
        actor=actor,
        village_id=participation.household.village_id,
        action="participation.record",
        request=request,
    )


def card_prerequisites_missing(household: Household) -> list[str]:
    """What stops a card being issued, in plain words (empty when a card may be issued)."""
    missing = []
    if household.status != Household.Status.ACTIVE:
        missing.append(_("The household is not active."))
    latest = household.inspections.order_by("-date", "-id").first()
    if latest is None:
        missing.append(_("No 五净一规范 hygiene inspection has been recorded."))
    elif not latest.passed:
        missing.append(
            _("The latest hygiene inspection (%(date)s) did not pass: %(checks)s.")
            % {"date": latest.date, "checks": list_join(latest.failed_checks)}
        )
    if not household.participations.exists():
        missing.append(_("No public-welfare participation has been recorded."))
    return missing


def _next_card_number(village: Village, after: str = "") -> str:
    """Caller holds the village row lock, so serials are handed out one at a time; `after`,
    a number passed over, the one after it."""
    if after:
        serial = int(after[len(village.code) : -1]) + 1
    else:
        serial = Card.objects.filter(household__village=village).count() + 1
    number = card_number_make(village.code, serial)
    while Card.objects.filter(number=number).exists():
        serial += 1
        number = card_number_make(village.code, serial)
    return number


def _card_number_draw(village: Village, pin_sent_up: str, tried: dict[str, bool]) -> str:
    """The village's next card number; with the hash of a PIN sent up to the county, the
    next one whose end is not that PIN.

    The county sets that PIN from its hash: it was judged before any number was drawn,
    and nobody at the county knows it to choose another. So the number is passed over
    instead, as the manager would have chosen another PIN had the number been shown (its
    serial stays unused). Each number tried costs a hash check per end (about a second),
    remembered in `tried`: a first call before the village's row lock, which the village's
    other writers wait for, usually leaves the call under it only to read them.
    """
    number = _next_card_number(village)
    while pin_sent_up:
        if number not in tried:
            tried[number] = pin_hash_ends(pin_sent_up, number)
        if not tried[number]:
            break
        number = _next_card_number(village, after=number)
    return number


def villager_username_new() -> str:
    """A villager login's name: random, so it tells nothing of the household or its card.

    Villagers never type it (they sign in with the card), and the staff login refuses
    villager logins whatever the password, so the name is no way in.
    """
    return f"v-{secrets.token_hex(8)}"


def household_login(household: Household) -> User | None:
    """The household's own login (the head's): the villager login that is no member's."""
    return User.objects.filter(household=household, is_staff=False, member__isnull=True).first()


# The referrals that, decided, give a login of the household the PIN they carry (its hash).
PIN_REFERRALS = (Referral.Kind.PIN_RESET, Referral.Kind.MEMBER_PIN, Referral.Kind.CARD_REPLACE)


def _pin_refuse_if_taken(
    household: Household, pin: str, *, login: User | None = None, member_id: int | None = None
) -> None:
    """Refuse a PIN another active login of the card already opens, or that a PIN sent up
    to the county is to give another login: the card login could not tell who signs in.

    Checked with the PIN in clear only. The county sets a PIN it was sent as a hash, which
    nothing can compare with another login's hash; so every PIN typed in clear is checked
    here against the hashes still waiting too, and the hash was checked in clear when it
    was sent up. `login` (or `member_id`, for a member with no login yet) is whose PIN
    this is: their own login and their own waiting PIN are not "another". Called under
    `_household_lock`, so two PINs set at once see each other.
    """
    if login is not None and member_id is None:
        member_id = login.member_id
    others = User.objects.filter(household=household, is_staff=False, is_active=True)
    if login is not None and login.pk is not None:
        others = others.exclude(pk=login.pk)
    elif member_id is not None:
        others = others.exclude(member_id=member_id)
    else:
        others = others.exclude(member__isnull=True)  # the household's own login, not yet made
    waiting = Referral.objects.filter(
        household=household, kind__in=PIN_REFERRALS, status=Referral.Status.OPEN
    )
    if member_id is None:
        waiting = waiting.filter(kind=Referral.Kind.MEMBER_PIN)
    else:
        waiting = waiting.exclude(kind=Referral.Kind.MEMBER_PIN, object_id=member_id)
    hashes = [
        referral.request["pin_hash"]
        for referral in waiting
        if (referral.request or {}).get("pin_hash")
    ]
    if any(other.check_password(pin) for other in others) or any(
        check_password(pin, encoded) for encoded in hashes
    ):
        raise ValidationError(
            _("Another login of this card already uses this PIN: choose another."),
            code="pin_taken",
        )


def _villager_login_set(household: Household, pin: str, pin_hash: str | None = None) -> User:
    """The household's login with a new PIN (already checked by `pin_new_clean`)."""
    user = household_login(household)
    if user is None:
        user = User(
            username=villager_username_new(),
            household=household,
            village_id=household.village_id,
            display_name=household.head_name,
        )
    user.password = pin_hash or make_password(pin)
    user.is_active = True
    user.save()
    return user


def _end_sessions(user: User) -> None:
    """Log the user out everywhere: one DELETE on the sessions' user column."""
    sessions_end(user_id=user.pk)


def _card_decider_check(
    kind: str,
    household: Household,
    actor: User,
    referral: Referral | None,
    role_refusal: str | None = None,
) -> None:
    """A household's card and its PIN are the village's manager's to issue, replace, recall
    and reset, whatever the caller, never for their own household: then the county's, on
    the referral (`decider_check`)."""
    decider_check(
        actor,
        role=Role.MANAGER,
        kind=kind,
        object_id=household.pk,
        village_id=household.village_id,
        household_id=household.pk,
        household_name=household.head_name,
        referral=referral,
        role_refusal=role_refusal
        or _("Only the village's manager issues, replaces or recalls cards."),
    )


def _card_issue_check_locked(household: Household, pin: str) -> Household:
    """The household as stored, under its lock (taken here): refused when a card may not
    be issued to it any more (a card issued or the household closed meanwhile), or when
    `pin` is one another login of the card uses or waits for at the county."""
    _household_lock(household.pk, household.village_id)
    household = Household.objects.get(pk=household.pk)
    missing = card_prerequisites_missing(household)
    if missing:
        raise ValidationError(missing)
    if household.cards.filter(status=Card.Status.ACTIVE).exists():
        raise ValidationError(_("This household already has an active card."))
    if pin:
        _pin_refuse_if_taken(household, pin, login=household_login(household))
    return household


def card_create(
    *,
    household: Household,
    actor: User,
    pin: str,
    pin_hash: str | None = None,
    at: datetime.datetime | None = None,
    referral: Referral | None = None,
    request=None,
) -> Card:
    """Issue a card (registry half: checks, number, PIN). Use points.services.card_issue.

    Never for the manager's own household (the second person, as `pin_reset`: the card
    sets its PIN and its opening grant credits points): the county decides it then, with
    the PIN the manager chose as `pin_hash`, on a number whose end it is not.

    Bulk loaders may pass `pin_hash` (one make_password() for many cards) to skip re-hashing,
    and `at` to date the issue in the past (the demo's year of history); views pass neither.
    """
    if not pin_hash:
        pin = pin_new_clean(pin, household=household)
    try:
        _card_decider_check(Referral.Kind.CARD_ISSUE, household, actor, referral)
    except SecondPersonRequired as error:
        # Refused now what the county would refuse: nothing is sent up to fail there. Checked
        # again under the lock as the page sends it up (as `member_pin_set`): a card issued
        # meanwhile, or a PIN sent up for another login at the same moment, is seen.
        missing = card_prerequisites_missing(household)
        if missing:
            raise ValidationError(missing) from None
        if household.cards.filter(status=Card.Status.ACTIVE).exists():
            raise ValidationError(_("This household already has an active card.")) from None
        error.recheck = lambda: _card_issue_check_locked(household, pin)
        raise
    pin_sent_up = pin_hash if referral is not None else ""  # the county sets it
    tried = {}
    if pin_sent_up:  # the numbers it could get, tried before the lock (_card_number_draw)
        _card_number_draw(household.village, pin_sent_up, tried)
    with transaction.atomic():
        # The lock order of _household_lock; the village's row also hands out the numbers.
        village = Village.objects.select_for_update(no_key=True).get(pk=household.village_id)
        household = _card_issue_check_locked(household, "" if pin_hash else pin)
        card = Card.objects.create(
            household=household,
            number=_card_number_draw(village, pin_sent_up, tried),
            issued_by=actor,
            issued_at=at or timezone.now(),
        )
        if not pin_hash:
            pin_card_check(pin, card.number)
        _villager_login_set(household, pin, pin_hash)
        audit_record(
            action="card.issue", actor=actor, village_id=village.pk, obj=card, request=request
        )
        referrals_close(
            kind=Referral.Kind.CARD_ISSUE,
            object_ids=[household.pk],
            actor=actor,
            outcome=gettext_lazy("card issued"),
        )
    return card


def _card_replace_check_locked(household: Household, pin: str, replacing: str) -> Card:
    """The active card to replace, under the household's lock (taken here): refused when
    there is none or it is not `replacing` (the number the form showed: a recall or a
    replacement meanwhile), or when `pin` is one another login of the card uses (two PINs
    set or sent up at once see each other)."""
    _household_lock(household.pk, household.village_id)
    old = household.cards.select_for_update(no_key=True).filter(status=Card.Status.ACTIVE).first()
    if old is None:
        raise ValidationError(_("This household has no active card to replace."))
    if replacing and old.number != replacing:
        raise ValidationError(
            _("Card %(old)s was already replaced by card %(new)s.")
            % {"old": replacing, "new": old.number},
            code="already_replaced",
        )
    if pin:
        _pin_refuse_if_taken(household, pin, login=household_login(household))
    return old


def card_replace(
    *,
    household: Household,
    actor: User,
    pin: str,
    reason: str,
    replacing: str = "",
    keep_members: bool = True,
    pin_hash: str = "",
    referral: Referral | None = None,
    request=None,
) -> Card:
    """A lost or damaged card: the old number stops working, a new one is issued with a new PIN.

    `replacing` is the number the form showed: a form of the old card sent again (another
    page opened before the replacement) then finds that card already replaced and changes
    nothing. Family members'
    PINs were never on the card or the head's slip, so by default they stay and open the
    new number; the head may choose to have them revoked with the old card
    (`keep_members=False`).

    Never for the manager's own household (the second person, as `pin_reset`): the county
    decides it then, with the PIN the manager chose as `pin_hash`, on a number whose end it
    is not (as `card_create`).
    """
    if not pin_hash:
        pin = pin_new_clean(pin, household=household)
    try:
        _card_decider_check(Referral.Kind.CARD_REPLACE, household, actor, referral)
    except SecondPersonRequired as error:
        # Checked now, in clear (the county gets only the PIN's hash), and again under the
        # lock as the page sends it up (as `member_pin_set`): a recall or a replacement
        # meanwhile, or a PIN sent up for another login at the same moment, is seen.
        kept_pin = pin if keep_members else ""
        if kept_pin:
            _pin_refuse_if_taken(household, kept_pin, login=household_login(household))
        error.recheck = lambda: _card_replace_check_locked(household, kept_pin, replacing)
        raise
    pin_sent_up = pin_hash if referral is not None else ""  # as card_create
    tried = {}
    if pin_sent_up:
        _card_number_draw(household.village, pin_sent_up, tried)
    with transaction.atomic():
        village = Village.objects.select_for_update(no_key=True).get(pk=household.village_id)
        old = _card_replace_check_locked(household, pin if keep_members else "", replacing)
        if not keep_members:
            _member_logins_end(household)
            _member_pin_referrals_close(household, actor)
        old.status = Card.Status.LOST
        old.ended_at = timezone.now()
        old.end_reason = reason or _("reported lost")
        old.save(update_fields=["status", "ended_at", "end_reason"])
        card = Card.objects.create(
            household=household,
            number=_card_number_draw(village, pin_sent_up, tried),
            issued_by=actor,
        )
        if not pin_hash:
            pin_card_check(pin, card.number)
        user = _villager_login_set(household, pin, pin_hash or None)
        _end_sessions(user)
        # A PIN waiting at the county for the old card is no PIN of the new one.
        for kind in (Referral.Kind.PIN_RESET, Referral.Kind.CARD_REPLACE):
            referrals_close(
                kind=kind,
                object_ids=[household.pk],
                actor=actor,
                outcome=gettext_lazy("card replaced"),
            )
        audit_record(
            action="card.replace",
            actor=actor,
            village_id=village.pk,
            obj=card,
            detail={
                "old_card": old.number,
                "reason": old.end_reason,
                "members_kept": keep_members,
            },
            request=request,
        )
    return card


def cards_mark_printed(*, village: Village, card_ids, actor: User, request=None) -> int:
    """Note that the village's active cards among `card_ids` were printed; returns how many."""
    with transaction.atomic():
        cards = Card.objects.filter(
            pk__in=list(card_ids), household__village=village, status=Card.Status.ACTIVE
        )
        numbers = sorted(cards.values_list("number", flat=True))
        count = cards.update(printed_at=timezone.now())
        audit_record(
            action="card.printed",
            actor=actor,
            village_id=village.pk,
            detail={"cards": numbers},
            request=request,
        )
    return count


def _card_recall_check_locked(household: Household) -> Card:
    """The active card to recall, under the household's lock (taken here): refused when
    there is none (recalled meanwhile)."""
    _household_lock(household.pk, household.village_id)
    card = household.cards.select_for_update(no_key=True).filter(status=Card.Status.ACTIVE).first()
    if card is None:
        raise ValidationError(_("This household has no active card."))
    return card


def card_recall(
    *,
    household: Household,
    actor: User,
    reason: str,
    referral: Referral | None = None,
    request=None,
) -> Card:
    """Recall the active card (the household moved away or left the scheme); never the
    manager's own household's (the second person, as `pin_reset`): the county's then."""
    if not (reason or "").strip():
        raise ValidationError(_("Give the reason for recalling the card."))
    try:
        _card_decider_check(Referral.Kind.CARD_RECALL, household, actor, referral)
    except SecondPersonRequired as error:
        if not household.cards.filter(status=Card.Status.ACTIVE).exists():
            raise ValidationError(_("This household has no active card.")) from None
        # Checked again under the lock as the page sends it up (as `member_pin_set`): a
        # recall meanwhile closed nothing yet, and the referral would wait for a recalled card.
        error.recheck = lambda: _card_recall_check_locked(household)
        raise
    with transaction.atomic():
        card = _card_recall_check_locked(household)
        card.status = Card.Status.RECALLED
        card.ended_at = timezone.now()
        card.end_reason = reason.strip()
        card.save(update_fields=["status", "ended_at", "end_reason"])
        for user in User.objects.filter(household=household, is_staff=False):
            user.is_active = False
            user.save(update_fields=["is_active"])
            _end_sessions(user)
        # Nothing waiting at the county gives a recalled card a PIN, nor a card issued later.
        for kind in (
            Referral.Kind.PIN_RESET,
            Referral.Kind.CARD_REPLACE,
            Referral.Kind.CARD_RECALL,
        ):
            referrals_close(
                kind=kind,
                object_ids=[household.pk],
                actor=actor,
                outcome=gettext_lazy("card recalled"),
            )
        _member_pin_referrals_close(household, actor, outcome=gettext_lazy("card recalled"))
        audit_record(
            action="card.recall",
            actor=actor,
            village_id=household.village_id,
            obj=card,
            detail={"reason": card.end_reason},
            request=request,
        )
    return card


def _pin_reset_check_locked(household: Household, pin: str) -> None:
    """Refuse a household's new PIN under its lock (taken here): a recall meanwhile is seen
    (no login comes back), and a PIN set or sent up for another login meanwhile too."""
    _household_lock(household.pk, household.village_id)
    if not household.cards.filter(status=Card.Status.ACTIVE).exists():
        raise ValidationError(_("This household has no active card."))
    if pin:
        _pin_refuse_if_taken(household, pin, login=household_login(household))


def pin_reset(
    *,
    household: Household,
    actor: User,
    pin: str = "",
    pin_hash: str = "",
    referral: Referral | None = None,
    request=None,
) -> None:
    """The manager sets a new PIN (the villager forgot theirs); never for their own household.

    When the county decides a reset sent up to it, the PIN the manager chose travels as
    `pin_hash` (the referral never holds the PIN itself).
    """
    if not pin_hash:
        pin = pin_new_clean(pin, household=household)
    try:
        _card_decider_check(
            Referral.Kind.PIN_RESET,
            household,
            actor,
            referral,
            _("Only the village's manager may set a new PIN."),
        )
    except SecondPersonRequired as error:
        # Checked now, in clear (the county gets only the PIN's hash), and again under the
        # lock as the page sends it up (as `member_pin_set`): a recall meanwhile, or a PIN
        # sent up for another login at the same moment, is seen.
        if pin:
            _pin_refuse_if_taken(household, pin, login=household_login(household))
        error.recheck = lambda: _pin_reset_check_locked(household, pin)
        raise
    with transaction.atomic():
        _pin_reset_check_locked(household, pin)
        user = _villager_login_set(household, pin, pin_hash or None)
        _end_sessions(user)
        audit_record(
            action="card.pin_reset",
            actor=actor,
            village_id=household.village_id,
            obj=household,
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.PIN_RESET,
            object_ids=[household.pk],
            actor=actor,
            outcome=gettext_lazy("new PIN set"),
        )


def pin_change(*, user: User, old_pin: str, new_pin: str, request=None) -> None:
    """The household's login changes its own PIN.

    A family member's PIN is set by the manager only: a member choosing their own could
    probe, one refusal at a time, which PIN the head uses (`_pin_refuse_if_taken`). The
    head's refusals are such probes too (of the members' PINs, and of the current PIN by
    whoever holds a signed-in phone): the view counts each against the card's lockout.
    """
    if user.member_id is not None:
        raise ValidationError(
            _("A family member's PIN is set by the village's manager: ask them for a new one.")
        )
    if not user.check_password(number_text(old_pin)):
        raise ValidationError(_("The current PIN is not correct."), code="pin_wrong")
    new_pin = pin_new_clean(new_pin, household=user.household)
    with transaction.atomic():
        # As a PIN set by the manager: a PIN set on the card meanwhile is seen.
        _household_lock(user.household_id, user.village_id)
        _pin_refuse_if_taken(user.household, new_pin, login=user)
        user.set_password(new_pin)
        user.save(update_fields=["password"])
        audit_record(
            action="card.pin_change",
            actor=user,
            village_id=user.village_id,
            obj=user.household,
            request=request,
        )


ADULT_AGE = 18


def member_pin_refusal(member: Member) -> str:
    """Why `member` may not have a PIN of their own ("" when they may)."""
    if member.left_on is not None:
        return _("They left the household on %(day)s.") % {"day": member.left_on.isoformat()}
    if member.relation == Member.Relation.HEAD:
        return _("The head of household signs in with the household's own PIN.")
    if member.birth_year > timezone.localdate().year - ADULT_AGE:
        return _("Only adult members (%(age)d or older) may have a PIN of their own.") % {
            "age": ADULT_AGE
        }
    return ""


def _member_pin_decider_check(member: Member, actor: User, referral: Referral | None) -> None:
    household = member.household
    decider_check(
        actor,
        role=Role.MANAGER,
        kind=Referral.Kind.MEMBER_PIN,
        object_id=member.pk,
        village_id=household.village_id,
        household_id=household.pk,
        household_name=household.head_name,
        referral=referral,
        role_refusal=_("Only the village's manager may set or revoke a member's PIN."),
    )


def _member_pin_check_locked(member: Member, pin: str) -> None:
    """Refuse a PIN of `member`'s own under the household's lock (taken here): two PINs set
    on the card at once see each other, and a leave or a recall meanwhile is seen."""
    household = member.household
    _household_lock(household.pk, household.village_id)
    if pin:
        _pin_refuse_if_taken(household, pin, member_id=member.pk)
    if not household.cards.filter(status=Card.Status.ACTIVE).exists():
        raise ValidationError(_("This household has no active card."))
    refusal = member_pin_refusal(Member.objects.get(pk=member.pk))  # as saved by now
    if refusal:
        raise ValidationError(refusal)


def member_pin_set(
    *,
    member: Member,
    actor: User,
    pin: str = "",
    pin_hash: str = "",
    referral: Referral | None = None,
    request=None,
) -> User:
    """Give an adult member a PIN of their own on the household's card, or a new one.

    The head decides; the manager records it (never for their own household: the second
    person). The member's login sees what the household's login sees and is recorded as
    the actor of what they do. A new PIN signs the member out everywhere. The county sets
    the PIN the manager chose as `pin_hash` (as `pin_reset`).
    """
    if not pin_hash:
        pin = pin_new_clean(pin, household=member.household)
    refusal = member_pin_refusal(member)
    if refusal:
        raise ValidationError(refusal)
    household = member.household
    try:
        _member_pin_decider_check(member, actor, referral)
    except SecondPersonRequired as error:
        # Sent up by the page in a transaction of its own (referral_open), which checks it
        # there under the lock: a leave or a recall recorded since this check closed the
        # member's referrals before this one was saved, and left it waiting for the county
        # to refuse. A PIN sent up is checked in clear: the county gets only its hash.
        error.recheck = lambda: _member_pin_check_locked(member, pin)
        raise
    with transaction.atomic():
        _member_pin_check_locked(member, pin)
        login = User.objects.select_for_update(no_key=True).filter(member=member).first()
        reset = login is not None and login.is_active
        if login is None:
            login = User(
                username=villager_username_new(),
                household=household,
                village_id=household.village_id,
                member=member,
            )
        login.display_name = member.name
        login.password = pin_hash or make_password(pin)
        login.is_active = True
        login.save()
        _end_sessions(login)
        audit_record(
            action="member.pin_set",
            actor=actor,
            village_id=household.village_id,
            obj=member,
            detail={"household": household.pk, "reset": reset},
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.MEMBER_PIN,
            object_ids=[member.pk],
            actor=actor,
            outcome=gettext_lazy("new PIN set"),
        )
    return login


def _member_login_end(login: User) -> None:
    login.set_unusable_password()
    login.is_active = False
    login.save(update_fields=["password", "is_active"])
    _end_sessions(login)


def _member_pin_referrals_close(
    household: Household, actor: User, outcome: str | Promise | None = None
) -> None:
    """Close the member PINs waiting at the county: the card they were for is gone."""
    referrals_close(
        kind=Referral.Kind.MEMBER_PIN,
        object_ids=household.members.values_list("pk", flat=True),
        actor=actor,
        outcome=outcome or gettext_lazy("card replaced"),
    )


def _member_logins_end(household: Household) -> list[int]:
    """Revoke every member PIN of the household (a replaced card that keeps none)."""
    ended = []
    for login in User.objects.filter(household=household, member__isnull=False, is_active=True):
        _member_login_end(login)
        ended.append(login.member_id)
    return ended


def member_pin_revoke(
    *, member: Member, actor: User, referral: Referral | None = None, request=None
) -> None:
    """The member's PIN stops working and they are signed out everywhere (the head asked).

    The login stays (what they did is recorded under it), inactive and with no usable PIN.
    """
    _member_pin_decider_check(member, actor, referral)
    with transaction.atomic():
        login = (
            User.objects.select_for_update(no_key=True)
            .filter(member=member, is_active=True)
            .first()
        )
        if login is None:
            raise ValidationError(_("This member has no PIN of their own."))
        _member_login_end(login)
        audit_record(
            action="member.pin_revoke",
            actor=actor,
            village_id=member.household.village_id,
            obj=member,
            detail={"household": member.household_id},
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.MEMBER_PIN,
            object_ids=[member.pk],
            actor=actor,
            outcome=gettext_lazy("PIN revoked"),
        )


def member_id_reveal(*, member: Member, actor: User, request=None) -> str:
    """The full ID number for a manager who asked for it; every look is in the audit log."""
    with transaction.atomic():
        audit_record(
            action="member.view_id",
            actor=actor,
            village_id=member.household.village_id,
            obj=member,
            request=request,
        )
    return member.id_number


def roster_import(*, village: Village, rows: list, actor: User, request=None) -> list[Household]:
    """Register every household and member of a checked roster, all or nothing.

    The rows are checked again under the village's row lock: the data may have changed
    between the preview and the confirmation.
    """

    def checked():
        check = roster_check(village, rows)
        if not check.is_valid:
            raise ValidationError(check.error_lines() or [_("The roster has no rows.")])
        return check

    with transaction.atomic():
        village = Village.objects.select_for_update(no_key=True).get(pk=village.pk)
        check = checked()
        households = []
        members = []
        for plan in check.households:
            household = Household(
                village=village,
                group_id=plan["group_id"],
                number=plan["number"],
                head_name=plan["head_name"],
                address=plan["address"],
                phone=plan["phone"],
                is_poor=plan["is_poor"],
                poverty_exit_year=plan["poverty_exit_year"],
            )
            # The roster looked, all at once: at the constraints, and at the village and its
            # groups (a query a row for each foreign key: 6,000 for a roster of 3,000 rows).
            household.full_clean(exclude=["village", "group"], validate_constraints=False)
            households.append(household)
        # Another village may register one of these ID numbers meanwhile (only this
        # village's rows are locked): refused with the roster's own words.
        with duplicate_checked_again(checked):
            Household.objects.bulk_create(households)
            for household, plan in zip(households, check.households, strict=True):
                for fields in plan["members"]:
                    member = Member(household=household, **fields)
                    # The roster's check looked for its ID numbers, all at once; its
                    # household was saved just above.
                    member.full_clean(exclude=["household"], validate_constraints=False)
                    members.append(member)
            Member.objects.bulk_create(members)
        audit_record(
            action="roster.import",
            actor=actor,
            village_id=village.pk,
            detail={"households": len(households), "members": len(members)},
            request=request,
        )
    return households
