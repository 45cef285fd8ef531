"""Every effect on a household has a second person (DESIGN.md ledger rule 8).

The one rule: nobody approves, refuses, reverses, voids, credits or cancels a held credit,
settles an objection, resets a PIN, matches or fulfils a wish, or confirms a stock correction
for their own household or on their own action (a proposal they made, a redemption they
served, a wish they posted, goods they counted or wrote off). An effect on no household (the
store's stock) has `household_id` None: only the second rule applies.
Every service that takes such an effect calls `decider_check` before it writes. Declining a
declaration or a wish, putting a wish on the wall and changing its words, which either the
manager or the supervisor may do, call `own_household_check` instead.

When the village has nobody else who may (the usual case: one supervisor), the refusal is a
`SecondPersonRequired` that can be sent up: `referral_open` puts the item in the queue of
those who oversee the village, and its township officer (or its county's admin) decides it
by calling the same service with the open referral (`decider_check` lets them act on
nothing else, and the second-person rule binds them as it binds the village).
"""

from collections.abc import Callable, Iterable

from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.access import oversees, user_roles
from core.audit import audit_record
from core.text import list_join, reason_clean, records_language
from villagers.models import Referral, User

# PostgreSQL's answer to a lock taken NOWAIT that another transaction holds.
LOCK_NOT_AVAILABLE = "55P03"

ONLY_OVERSEERS = gettext_noop(
    "Only the village's township officer or county admin decides items sent up."
)


class SecondPersonRequired(ValidationError):
    """`actor` may not take this effect themselves; `referable` when nobody of the village may.

    `recheck`, set by a service whose checks may no longer hold once it has raised this (a
    member who leaves before their PIN is sent up), is run by `referral_open` in the
    transaction that sends the item up: it takes the item's locks and refuses
    (ValidationError) what may not be sent up any more, so nothing waits at the county that
    the village has already made moot.
    """

    recheck: Callable[[], None] | None = None

    def __init__(self, message, *, kind, object_id, village_id, household_id, referable, why=None):
        super().__init__(message, code="second_person")
        # Kept on the referral for the county and the village's staff: the message worded in
        # the deployment's language (`records_language`), not in the refused actor's.
        self.why = why or message
        self.kind = kind
        self.object_id = object_id
        self.village_id = village_id
        self.household_id = household_id
        self.referable = referable


HouseholdName = str | Callable[[], str]


def _name(household_name: HouseholdName) -> str:
    return household_name() if callable(household_name) else household_name


def second_person_refusal(
    actor: User,
    *,
    household_id: int | None,
    household_name: HouseholdName,
    originators: Iterable[int | None] = (),
) -> str | None:
    """Why `actor` may not take an effect on the household that `originators` set going.

    None when they may. `household_name` may be a callable: it is read only to refuse, so
    the common case costs no query.
    """
    if household_id is not None and actor.household_id == household_id:
        return _("%(household)s is your own household: someone else must decide it.") % {
            "household": _name(household_name)
        }
    if actor.pk in set(originators):
        return _("This started with you (%(household)s): someone else must decide it.") % {
            "household": _name(household_name)
        }
    return None


def _why_sent_up(actor: User, *, household_id: int | None, household_name: HouseholdName) -> str:
    """Why nobody of the village may take an effect `actor` was refused, for those who decide
    it instead: named in the third person (the refusal's "your own household" read as the
    officer's own)."""
    names = {"household": _name(household_name), "person": str(actor)}
    if household_id is not None and actor.household_id == household_id:
        return (
            _(
                "%(household)s is the household of %(person)s, and nobody else of the village "
                "may decide it."
            )
            % names
        )
    return (
        _(
            "It started with %(person)s (%(household)s), and nobody else of the village may "
            "decide it."
        )
        % names
    )


def own_household_check(
    actor: User, *, household_id: int | None, household_name: HouseholdName
) -> None:
    """Refuse `actor` a decision on their own household that someone else takes instead:
    declining a declaration, putting a wish on the wall, changing its words or declining it
    (nothing of it is sent up, as either the manager or the supervisor may), and refusing a
    referral (another overseer, or the county admin, decides it)."""
    refusal = second_person_refusal(actor, household_id=household_id, household_name=household_name)
    if refusal is not None:
        raise ValidationError(refusal, code="second_person")


def batch_check(objects: Iterable, check: Callable[[object], None]) -> None:
    """Run `check` on each object of a batch and refuse once, listing every problem.

    The refusals the county could decide instead are kept on the refusal as `second_person`
    (SecondPersonRequired errors) for the page to send up (refusal_or_referral).
    """
    problems, second_person = [], []
    for obj in objects:
        try:
            check(obj)
        except SecondPersonRequired as error:
            second_person.append(error)
            problems.extend(error.messages)
        except (ValidationError, PermissionDenied) as error:
            problems.extend(getattr(error, "messages", None) or [str(error)])
    if problems:
        refusal = ValidationError(problems)
        refusal.second_person = second_person
        raise refusal


def role_holders(*, village_id: int, role: str) -> list[User]:
    """The village's active staff holding `role`."""
    return list(
        User.objects.filter(
            village_id=village_id, is_staff=True, is_active=True, groups__name=role
        ).distinct()
    )


def others_who_may(
    *,
    village_id: int,
    role: str,
    household_id: int | None,
    originators: Iterable[int | None],
    candidates: list[User] | None = None,
) -> list[User]:
    """The village's active holders of `role` whom the rule lets take the effect.

    `candidates` (role_holders of the village) saves the query when checking many items.
    """
    originators = set(originators)
    if candidates is None:
        candidates = role_holders(village_id=village_id, role=role)
    return [
        user
        for user in candidates
        if user.pk not in originators
        and (household_id is None or user.household_id != household_id)
    ]


def decider_check(
    actor: User,
    *,
    role: str,
    kind: str,
    object_id: int,
    village_id: int,
    household_id: int | None,
    household_name: HouseholdName,
    originators: Iterable[int | None] = (),
    referral: Referral | None = None,
    role_refusal: str = "",
    role_error: type[Exception] = PermissionDenied,
) -> None:
    """Refuse unless `actor` may take the effect `kind` on `object_id` of `household`.

    Village staff need `role` in that village (else `role_error`); the township officer or
    county admin acts only on an open `referral` of that very item from a village they
    oversee (locked by the caller until the effect is written: reports.referrals.
    referral_decide, so a refusal of it at the same moment waits). Either way the
    second-person rule applies: its refusal says who else of the village may, or is
    `referable` to the county when nobody may.
    """
    originators = list(originators)
    if referral is not None:
        if not (
            referral.status == Referral.Status.OPEN
            and referral.kind == kind
            and referral.object_id == object_id
            and referral.village_id == village_id
            and oversees(actor, referral.village)
        ):
            raise PermissionDenied(_(ONLY_OVERSEERS))
    elif not (actor.is_staff and role in user_roles(actor) and actor.village_id == village_id):
        raise role_error(role_refusal or _("You may not do this."))
    refusal = second_person_refusal(
        actor, household_id=household_id, household_name=household_name, originators=originators
    )
    if refusal is None:
        return
    others = others_who_may(
        village_id=village_id, role=role, household_id=household_id, originators=originators
    )
    why = None
    if others:
        refusal = "%s %s" % (  # noqa: UP031 (two translated sentences)
            refusal,
            _("It can be done by: %(names)s.") % {"names": list_join(others)},
        )
    elif referral is None:  # sent up to the county, which reads why
        with records_language():
            why = _why_sent_up(actor, household_id=household_id, household_name=household_name)
    raise SecondPersonRequired(
        refusal,
        kind=kind,
        object_id=object_id,
        village_id=village_id,
        household_id=household_id,
        referable=not others and referral is None,
        why=why,
    )


# What a referral's request may hold that nobody should read again: the hash of a PIN the
# manager chose (a 4-digit PIN's hash is found by trying them all). Kept on the referral
# only while it waits, never in the audit log.
SECRETS = ("pin_hash",)


def _public(asked: dict) -> dict:
    return {key: value for key, value in asked.items() if key not in SECRETS}


def _secrets_drop(referrals) -> None:
    """Forget the secrets of referrals (locked by the caller) as they stop waiting."""
    for referral in referrals.filter(request__has_any_keys=list(SECRETS)):
        referral.request = _public(referral.request)
        referral.save(update_fields=["request"])


def referral_open(
    *, error: SecondPersonRequired, actor: User, asked: dict | None = None, request=None
) -> Referral:
    """Send the item `error` refused up to the county; an item already waiting there keeps
    its place, with what the village asks now (a PIN chosen again, another reason).

    `asked` is what the village wanted done (a reason, a decision), shown to the county.
    """
    if not error.referable:
        raise ValidationError(error.messages)
    asked = asked or {}
    with transaction.atomic():
        existing = (
            Referral.objects.select_for_update(no_key=True)
            .filter(kind=error.kind, object_id=error.object_id, status=Referral.Status.OPEN)
            .first()
        )
        if error.recheck is not None:
            # The item's locks after the referral's, in the order the county's decision
            # takes them; held until the referral is saved, so a change that closes the
            # item's referrals (a leave, a recall) comes before it, or closes it too.
            error.recheck()
        if existing is not None:
            if asked and existing.request != asked:
                existing.request = asked
                existing.requested_by = actor
                existing.save(update_fields=["request", "requested_by"])
                audit_record(
                    action="referral.update",
                    actor=actor,
                    village_id=error.village_id,
                    obj=existing,
                    detail={"kind": error.kind, "object": error.object_id, "asked": _public(asked)},
                    request=request,
                )
            return existing
        referral = Referral(
            village_id=error.village_id,
            household_id=error.household_id,
            kind=error.kind,
            object_id=error.object_id,
            request=asked,
            why=str(error.why)[:300],
            requested_by=actor,
        )
        try:
            with transaction.atomic():
                referral.save()
                audit_record(
                    action="referral.open",
                    actor=actor,
                    village_id=error.village_id,
                    obj=referral,
                    detail={
                        "kind": error.kind,
                        "object": error.object_id,
                        "asked": _public(asked),
                    },
                    request=request,
                )
        except IntegrityError:
            # Sent up at the same moment by another request: theirs stands.
            return Referral.objects.get(
                kind=error.kind, object_id=error.object_id, status=Referral.Status.OPEN
            )
    return referral


def referrals_close(
    *, kind: str, object_ids: Iterable[int], actor: User | None, outcome: str | Promise
):
    """Mark the open referrals of these items decided (by the county, or by anyone who may).
    `outcome` is kept for the county and the village's staff to read: a lazy translation is
    worded in the deployment's language (`records_language`), whatever the actor's screen.

    Called by every service that takes an effect that can be sent up, inside its transaction,
    once it holds the item's locks. The county's decision (reports.referrals) takes the
    referral's lock first, then the item's: a village closing a referral the county is
    deciding at that moment would wait for it while holding the item the county waits for,
    a deadlock. So the referrals are locked without waiting (the county's own are held
    already): taken, the county's decision waits for this one and finds the item done;
    held by the county, this one is refused and undone, and the county's goes on.
    """
    object_ids = list(object_ids)
    if not object_ids:
        return
    open_ = Referral.objects.filter(
        kind=kind, object_id__in=object_ids, status=Referral.Status.OPEN
    ).order_by("pk")
    try:
        with transaction.atomic():
            locked = list(
                open_.select_for_update(no_key=True, nowait=True).values_list("pk", flat=True)
            )
    except OperationalError as error:
        if getattr(error.__cause__, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        raise ValidationError(
            _(
                "The township or county is deciding this item at this moment. Nothing was "
                "changed: look at it again in a minute."
            ),
            code="referral_being_decided",
        ) from error
    if not locked:
        return  # nothing waits: the usual case
    _secrets_drop(open_)
    with records_language():
        outcome = str(outcome)
    open_.update(
        status=Referral.Status.DONE,
        decided_by=actor if actor is not None and actor.is_authenticated else None,
        decided_at=timezone.now(),
        outcome=outcome[:300],
    )


def referral_refuse(
    *,
    referral: Referral,
    actor: User,
    reason: str,
    own_household_affected: bool = False,
    request=None,
) -> Referral:
    """The township officer or county admin declines to take the effect the village asked
    for, with a reason: as the effect itself, never for their own household (the referral's,
    or one the effect touches beyond it: `own_household_affected`, a settlement's plan)."""
    reason = reason_clean(
        reason, Referral._meta.get_field("outcome"), missing=_("Give the reason for refusing.")
    )
    with transaction.atomic():
        locked = (
            Referral.objects.select_for_update(no_key=True)
            .select_related("village__township")
            .get(pk=referral.pk)
        )
        if not oversees(actor, locked.village):
            raise PermissionDenied(_(ONLY_OVERSEERS))
        if locked.status != Referral.Status.OPEN:
            raise ValidationError(_("This item was already decided."))
        own_household_check(
            actor,
            household_id=actor.household_id if own_household_affected else locked.household_id,
            household_name=lambda: actor.household.head_name,
        )
        locked.status = Referral.Status.REFUSED
        locked.decided_by = actor
        locked.decided_at = timezone.now()
        locked.outcome = reason
        locked.request = _public(locked.request)
        locked.save(update_fields=["status", "decided_by", "decided_at", "outcome", "request"])
        audit_record(
            action="referral.refuse",
            actor=actor,
            village_id=locked.village_id,
            obj=locked,
            detail={"reason": reason},
            request=request,
        )
    return locked


def open_referrals(*, kind: str, object_ids: Iterable[int], village_id: int) -> dict[int, Referral]:
    """{object id: open referral} for items of one kind of `village_id`: pages show they
    wait at the county. Read by the village (one shard: docs/performance.md's routing)."""
    return {
        referral.object_id: referral
        for referral in Referral.objects.filter(
            village_id=village_id,
            kind=kind,
            object_id__in=list(object_ids),
            status=Referral.Status.OPEN,
        )
    }


def waiting_above(kind: str, object_id: int, *, village_id: int) -> Referral | None:
    """The open referral of one item, or None: its page says it waits at the township or
    the county (templates/_sent_up.html) and offers nothing that would decide it again."""
    return open_referrals(kind=kind, object_ids=[object_id], village_id=village_id).get(object_id)


def sent_up_refusal(kind: str, object_id: int, *, village_id: int) -> str:
    """The words refusing a button pressed on a page drawn before the item was sent up, or
    "" when it does not wait above: refusal_or_referral says it, changing nothing."""
    if waiting_above(kind, object_id, village_id=village_id) is None:
        return ""
    return sent_up_words()


def sent_up_words() -> str:
    """What a page and the services say to a decision pressed on an item sent up."""
    return _(
        "This waits for the township or the county to decide: nothing was changed. See it "
        "under Sent up."
    )


def _pin_hash_asked(error: SecondPersonRequired, pin: str) -> str:
    """The hash of `pin` to send up: the one its waiting referral holds when that is this
    very PIN's (the same form sent twice asks the same, and changes nothing), else a new
    one. Each hash has its own salt, so two of one PIN never compare equal: the PIN is
    checked against the hash (check_password). Read before `referral_open` locks it (the
    hashing is slow): a hash of `pin` is right to ask with whatever happened meanwhile."""
    waiting = (
        Referral.objects.filter(
            kind=error.kind, object_id=error.object_id, status=Referral.Status.OPEN
        )
        .values_list("request", flat=True)
        .first()
    )
    encoded = (waiting or {}).get("pin_hash", "")
    return encoded if encoded and check_password(pin, encoded) else make_password(pin)


def refusal_or_referral(
    request, error: SecondPersonRequired, asked: dict | None = None, pin: str = ""
) -> str:
    """For a page: send the refused item up when nobody of the village may take it, and say
    what happened (the refusal, or that it was sent up to be decided). `pin`, the PIN the
    manager chose, is sent up as its hash only (`asked["pin_hash"]`, see SECRETS)."""
    if not error.referable:
        return " ".join(error.messages)
    # Sent up already (pressed on a page drawn before): it waits there as first asked, and
    # nothing is changed; only a PIN is chosen again (the manager may have lost the first).
    refusal = (
        "" if pin else sent_up_refusal(error.kind, error.object_id, village_id=error.village_id)
    )
    if refusal:
        return "%s %s" % (error.messages[0], refusal)  # noqa: UP031 (two translated sentences)
    if pin:
        asked = {**(asked or {}), "pin_hash": _pin_hash_asked(error, pin)}
    referral_open(error=error, actor=request.user, asked=asked, request=request)
    return _(
        "%(why)s Nobody else of the village may, so it was sent up: the township officer or the "
        "county admin will decide it."
    ) % {"why": error.messages[0]}
