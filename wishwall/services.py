"""Writes to the wish wall: one service per transition, each in its own transaction.

Every transition locks the wish row, re-reads its status under the lock and refuses a move
the state machine does not allow, so two clicks (or two supervisors) cannot both win.
Photos are checked and re-encoded before the transaction starts (slow work, no lock held).
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import Role, is_manager, is_supervisor, is_villager
from core.audit import audit_record
from core.edit_forms import row_digest, row_drawn_as_stored
from core.files import discard_files_on_error, file_stored
from core.months import past_day_check
from core.photos import photo_prepare
from notifications.models import Notification
from notifications.services import message, notifications_outdate, notifications_post
from store.models import Donor
from villagers.models import Household, Referral, User, Village
from villagers.second_person import decider_check, own_household_check, referrals_close
from wishwall.models import Wish, WishFulfilment, WishMatch, WishRevision


def _require_staff_of(actor: User, village_id: int, *, supervisor_only: bool = False) -> None:
    """Managers and supervisors act on wishes of their own village; matching is the supervisor's."""
    allowed = is_supervisor(actor) or (not supervisor_only and is_manager(actor))
    if not allowed or actor.village_id != village_id:
        raise PermissionDenied(_("You may not do this."))


def _second_person_check(wish: Wish, actor: User, kind: str, referral: Referral | None) -> None:
    """Matching and fulfilling are the supervisor's, never for their own household or a wish
    they posted on its behalf (DESIGN.md rule 8); what nobody may, the county decides."""
    decider_check(
        actor,
        role=Role.SUPERVISOR,
        kind=kind,
        object_id=wish.pk,
        village_id=wish.village_id,
        household_id=wish.household_id,
        household_name=lambda: wish.household.head_name,
        originators=[wish.posted_by_id],
        referral=referral,
        role_refusal=_("You may not do this."),
    )


def _own_household_check(wish: Wish, actor: User) -> None:
    """Putting a wish on the wall, declining it and changing its words are another staff
    member's for their own household's wish (DESIGN.md rule 8)."""
    own_household_check(
        actor, household_id=wish.household_id, household_name=lambda: wish.household.head_name
    )


def _lock(wish: Wish) -> Wish:
    return Wish.objects.select_for_update(no_key=True).get(pk=wish.pk)


# What the household's revision and the staff's edit change (and draw their forms from).
WISH_REVISABLE = ("title", "kind", "story")
WISH_EDITABLE = ("title", "story", "hide_household")


def wish_drawn(wish: Wish, names) -> str:
    """A digest of the wish's values of `names` (core.edit_forms.row_digest): a form carries
    the one it was drawn with, so a second window cannot undo the first one's change."""
    return row_digest(wish, names)


def _drawn_check(wish: Wish, names, drawn: str | None) -> None:
    """Refuse a change made on a form drawn before the locked `wish` last changed."""
    if drawn is not None and not row_drawn_as_stored(drawn, wish, names):
        raise ValidationError(
            _(
                "This wish was changed in the meantime (in another window, or by someone "
                "else): here it is as it is now. Change it again if it still needs it."
            ),
            code="stale",
        )


def _refuse_unless_status(wish: Wish, *allowed: str) -> None:
    """Say in plain words why a transition is not possible from the wish's current status."""
    if wish.status in allowed:
        return
    if wish.status == Wish.Status.FULFILLED:
        raise ValidationError(_("This wish has been fulfilled already."), code="fulfilled")
    if wish.status == Wish.Status.DECLINED:
        raise ValidationError(_("This wish was declined already."), code="declined")
    if wish.status == Wish.Status.MATCHED:
        raise ValidationError(_("This wish is matched with a donor already."), code="matched")
    raise ValidationError(
        _("Match the wish with a donor before marking it fulfilled."), code="not_matched"
    )


def household_gone_refusal() -> str:
    """Why a wish of a household that moved away or closed goes neither on the wall nor to
    a donor (wishwall.selectors.WAITING); the wish's page says it too."""
    return _(
        "This household has moved away or closed: its wish is off the wall and can no longer "
        "be approved or matched. Decline it if it is not needed any more."
    )


def _refuse_unless_household_active(wish: Wish) -> None:
    """Its logins are off, so the household could not withdraw the wish: staff do not
    approve or match it for them. Read under the wish's lock: a household marked moved after
    this still has the wish taken off the wall by the wall's own rule."""
    status = Household.objects.filter(pk=wish.household_id).values_list("status", flat=True)
    if status.get() != Household.Status.ACTIVE:
        raise ValidationError(household_gone_refusal(), code="household_inactive")


def _household_told(wish: Wish, kind: str) -> None:
    """The wish's household hears that it was matched, fulfilled or declined (no words of
    the wish or the reason: they may name people; SECURITY.md). The wish's id goes with it,
    for its text to be found: a "matched" not sent yet stops once the wish moves on."""
    if kind != Notification.Kind.WISH_MATCHED:
        # Declined, the match is off: "matched with a donor" is no longer true. Fulfilled,
        # it would come with or after the news it leads to, as if the goods were still to
        # come. The text telling what happened goes instead.
        notifications_outdate(
            village_id=wish.village_id, kinds=[Notification.Kind.WISH_MATCHED], wish=wish.pk
        )
    notifications_post(
        [
            message(
                village_id=wish.village_id,
                household_id=wish.household_id,
                kind=kind,
                wish=wish.pk,
            )
        ]
    )


def wish_post(
    *,
    household: Household,
    actor: User,
    title: str,
    kind: str,
    story: str,
    photo=None,
    request=None,
) -> Wish:
    """A villager posts a wish for their own household, or staff post one on its behalf."""
    own = is_villager(actor) and actor.household_id == household.pk
    on_behalf = (is_manager(actor) or is_supervisor(actor)) and (
        actor.village_id == household.village_id
    )
    if not (own or on_behalf):
        raise PermissionDenied(_("You may not post a wish for this household."))
    if household.status != Household.Status.ACTIVE:
        raise ValidationError(_("Only an active household can post a wish."))
    prepared = photo_prepare(photo) if photo else None
    title = (title or "").strip()
    # The photo is stored by wish.save(); a failure after it deletes it (see core.files).
    with discard_files_on_error(), transaction.atomic():
        # The household lock serialises posts, so a double-tapped button posts once.
        Household.objects.select_for_update(no_key=True).get(pk=household.pk)
        if Wish.objects.filter(
            household=household, title=title, status__in=[Wish.Status.OPEN, Wish.Status.MATCHED]
        ).exists():
            raise ValidationError(
                _("This household already has an open wish for “%(title)s”.") % {"title": title},
                code="duplicate",
            )
        wish = Wish(
            village_id=household.village_id,
            household=household,
            posted_by=actor,
            title=title,
            kind=kind,
            story=(story or "").strip(),
        )
        if prepared is not None:
            wish.photo = prepared
        wish.full_clean()
        wish.save()
        if prepared is not None:
            file_stored(wish.photo)
        audit_record(
            action="wish.post",
            actor=actor,
            village_id=wish.village_id,
            obj=wish,
            detail={"on_behalf": not own, "kind": kind},
            request=request,
        )
    return wish


def _require_own_household(wish: Wish, actor: User) -> None:
    """Only the household's own villager login changes or withdraws its wish."""
    if not (is_villager(actor) and actor.household_id == wish.household_id):
        raise PermissionDenied(_("You may not do this."))


def wish_revisable(wish: Wish) -> bool:
    """The household may still change its wish: open, and not yet checked by staff."""
    return wish.status == Wish.Status.OPEN and not wish.is_approved


def wish_checked_message() -> str:
    return _("Staff have checked this wish already: it can no longer be changed.")


def wish_revise(
    *,
    wish: Wish,
    actor: User,
    title: str,
    kind: str,
    story: str,
    drawn: str | None = None,
    request=None,
) -> Wish:
    """The household changes its own wish while staff have not checked it yet; once it is
    on the wall (or declined) it stays as the staff saw it. `drawn` (wish_drawn of the
    values the form showed) refuses a change made on values that have changed since."""
    _require_own_household(wish, actor)
    title, story = (title or "").strip(), (story or "").strip()
    with transaction.atomic():
        wish = _lock(wish)
        if not wish_revisable(wish):
            raise ValidationError(wish_checked_message(), code="moderated")
        _drawn_check(wish, WISH_REVISABLE, drawn)
        changed = sorted(
            field
            for field, new in (("title", title), ("kind", kind), ("story", story))
            if getattr(wish, field) != new
        )
        if not changed:
            raise ValidationError(_("Nothing was changed."), code="unchanged")
        if (
            "title" in changed
            and Wish.objects.filter(
                household_id=wish.household_id,
                title=title,
                status__in=[Wish.Status.OPEN, Wish.Status.MATCHED],
            )
            .exclude(pk=wish.pk)
            .exists()
        ):
            raise ValidationError(
                _("This household already has an open wish for “%(title)s”.") % {"title": title},
                code="duplicate",
            )
        wish.title, wish.kind, wish.story = title, kind, story
        wish.full_clean()
        wish.save(update_fields=["title", "kind", "story"])
        audit_record(
            action="wish.revise",
            actor=actor,
            village_id=wish.village_id,
            obj=wish,
            detail={"fields": changed},
            request=request,
        )
    return wish


def wish_withdraw(*, wish: Wish, actor: User, request=None) -> Wish:
    """The household takes back its open wish (it leaves the wall); a matched one is the
    donor's business by then and stays."""
    _require_own_household(wish, actor)
    with transaction.atomic():
        wish = _lock(wish)
        if wish.status == Wish.Status.WITHDRAWN:
            raise ValidationError(_("This wish has been withdrawn already."), code="withdrawn")
        _refuse_unless_status(wish, Wish.Status.OPEN)
        wish.status = Wish.Status.WITHDRAWN
        wish.withdrawn_at = timezone.now()
        wish.full_clean()
        wish.save(update_fields=["status", "withdrawn_at"])
        audit_record(
            action="wish.withdraw",
            actor=actor,
            village_id=wish.village_id,
            obj=wish,
            detail={"was_on_wall": wish.is_approved},
            request=request,
        )
        # A match the county was asked to make is no longer needed.
        referrals_close(
            kind=Referral.Kind.WISH_MATCH,
            object_ids=[wish.pk],
            actor=actor,
            outcome=gettext_lazy("withdrawn by the household"),
        )
    return wish


def wish_moderate(
    *, wish: Wish, actor: User, hide_household: bool, drawn: str | None = None, request=None
) -> Wish:
    """Approve an open wish for the village wall (optionally hiding the household).
    `drawn` (wish_drawn of WISH_REVISABLE, as the reviewer read it) refuses text the
    household changed after the reviewer read it: it would go up unread."""
    _require_staff_of(actor, wish.village_id)
    with transaction.atomic():
        wish = _lock(wish)
        _refuse_unless_status(wish, Wish.Status.OPEN)
        if wish.is_approved:
            raise ValidationError(_("This wish is on the wall already."), code="approved")
        _refuse_unless_household_active(wish)
        _drawn_check(wish, WISH_REVISABLE, drawn)
        _own_household_check(wish, actor)
        wish.approved_at = timezone.now()
        wish.approved_by = actor
        wish.hide_household = hide_household
        wish.full_clean()
        wish.save(update_fields=["approved_at", "approved_by", "hide_household"])
        audit_record(
            action="wish.approve",
            actor=actor,
            village_id=wish.village_id,
            obj=wish,
            detail={"hide_household": hide_household},
            request=request,
        )
    return wish


def wish_edit(
    *,
    wish: Wish,
    actor: User,
    title: str,
    story: str,
    hide_household: bool,
    reason: str,
    drawn: str | None = None,
    request=None,
) -> Wish:
    """Staff change a wish's text (e.g. to remove personal details); each change is recorded.
    `drawn`: as for wish_revise."""
    _require_staff_of(actor, wish.village_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for the change."), code="reason")
    with transaction.atomic():
        wish = _lock(wish)
        _drawn_check(wish, WISH_EDITABLE, drawn)
        _own_household_check(wish, actor)  # it went up as read; the household revises its own
        changes = {
            field: (getattr(wish, field), new.strip())
            for field, new in ((WishRevision.Field.TITLE, title), (WishRevision.Field.STORY, story))
            if new.strip() != getattr(wish, field)
        }
        hide_changed = hide_household != wish.hide_household
        if not changes and not hide_changed:
            raise ValidationError(_("Nothing was changed."), code="unchanged")
        for field, (old_text, new_text) in changes.items():
            setattr(wish, field, new_text)
            revision = WishRevision(
                wish=wish,
                field=field,
                old_text=old_text,
                new_text=new_text,
                reason=reason,
                edited_by=actor,
            )
            revision.full_clean()
            revision.save()
        wish.hide_household = hide_household
        wish.full_clean()
        wish.save(update_fields=["title", "story", "hide_household"])
        audit_record(
            action="wish.edit",
            actor=actor,
            village_id=wish.village_id,
            obj=wish,
            detail={
                "fields": sorted(changes),
                "hide_household": hide_household,
                "reason": reason,
            },
            request=request,
        )
    return wish


def donor_get_or_create(
    *, village: Village, name: str, kind: str, actor: User, request=None
) -> Donor:
    """The village's donor of that name, created (and audited) when new."""
    donor = Donor(village=village, name=(name or "").strip(), kind=kind)
    donor.full_clean(validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        donor, created = Donor.objects.get_or_create(
            village=village, name=donor.name, defaults={"kind": kind}
        )
        if created:
            audit_record(
                action="donor.create",
                actor=actor,
                village_id=village.pk,
                obj=donor,
                detail={"name": donor.name, "kind": kind},
                request=request,
            )
    return donor


def wish_match(
    *,
    wish: Wish,
    actor: User,
    donor: Donor | None = None,
    new_donor_name: str = "",
    new_donor_kind: str = "",
    note: str = "",
    referral: Referral | None = None,
    request=None,
) -> Wish:
    """爱心对接: the supervisor pairs an open wish on the wall with an existing or new donor."""
    _second_person_check(wish, actor, Referral.Kind.WISH_MATCH, referral)
    new_donor_name = (new_donor_name or "").strip()
    if (donor is None) == (not new_donor_name):
        raise ValidationError(
            _("Find and choose a donor, or enter a new donor's name (not both)."),
            code="donor",
        )
    if donor is not None and donor.village_id != wish.village_id:
        raise ValidationError(_("This donor belongs to another village."), code="donor_village")
    with transaction.atomic():
        wish = _lock(wish)
        _refuse_unless_status(wish, Wish.Status.OPEN)
        if not wish.is_approved:
            raise ValidationError(
                _("Approve the wish for the wall before matching it."), code="not_approved"
            )
        _refuse_unless_household_active(wish)
        if donor is None:
            donor = donor_get_or_create(
                village=wish.village,
                name=new_donor_name,
                kind=new_donor_kind,
                actor=actor,
                request=request,
            )
        match = WishMatch(wish=wish, donor=donor, note=(note or "").strip(), matched_by=actor)
        match.full_clean()
        match.save()
        wish.status = Wish.Status.MATCHED
        wish.save(update_fields=["status"])
        _household_told(wish, Notification.Kind.WISH_MATCHED)
        audit_record(
            action="wish.match",
            actor=actor,
            village_id=wish.village_id,
            obj=wish,
            detail={"donor_id": donor.pk, "donor": donor.name},
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.WISH_MATCH, object_ids=[wish.pk], actor=actor, outcome=donor.name
        )
    return wish


def wish_fulfil(
    *,
    wish: Wish,
    actor: User,
    date: datetime.date,
    given: str,
    thanks: str,
    photo=None,
    referral: Referral | None = None,
    request=None,
) -> Wish:
    """The donor delivered: record what was given, when, and the thanks for the echo wall."""
    _second_person_check(wish, actor, Referral.Kind.WISH_FULFIL, referral)
    past_day_check(date)
    prepared = photo_prepare(photo) if photo else None
    # The photo is stored by fulfilment.save(); a failure after it deletes it (core.files).
    with discard_files_on_error(), transaction.atomic():
        wish = _lock(wish)
        _refuse_unless_status(wish, Wish.Status.MATCHED)
        match = WishMatch.objects.get(wish=wish)
        if date < timezone.localtime(match.matched_at).date():
            raise ValidationError(
                _("The date given cannot be before the wish was matched (%(date)s).")
                % {"date": timezone.localtime(match.matched_at).date()},
                code="before_match",
            )
        fulfilment = WishFulfilment(
            wish=wish,
            date=date,
            given=(given or "").strip(),
            thanks=(thanks or "").strip(),
            recorded_by=actor,
        )
        if prepared is not None:
            fulfilment.photo = prepared
        fulfilment.full_clean()
        fulfilment.save()
        if prepared is not None:
            file_stored(fulfilment.photo)
        wish.status = Wish.Status.FULFILLED
        wish.save(update_fields=["status"])
        _household_told(wish, Notification.Kind.WISH_FULFILLED)
        audit_record(
            action="wish.fulfil",
            actor=actor,
            village_id=wish.village_id,
            obj=wish,
            detail={"donor_id": match.donor_id, "given": fulfilment.given},
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.WISH_FULFIL,
            object_ids=[wish.pk],
            actor=actor,
            outcome=fulfilment.given,
        )
    return wish


def wish_decline(
    *, wish: Wish, actor: User, reason: str, drawn: str | None = None, request=None
) -> Wish:
    """Decline an open wish (staff) or a matched one (supervisor, who made the match).
    `drawn`: the text the decliner read, as for wish_moderate (the household sees the
    reason, which must answer the wish as it is)."""
    _require_staff_of(actor, wish.village_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for declining the wish."), code="reason")
    with transaction.atomic():
        wish = _lock(wish)
        _refuse_unless_status(wish, Wish.Status.OPEN, Wish.Status.MATCHED)
        _drawn_check(wish, WISH_REVISABLE, drawn)
        if wish.status == Wish.Status.MATCHED:
            _require_staff_of(actor, wish.village_id, supervisor_only=True)
        _own_household_check(wish, actor)
        previous = wish.status
        wish.status = Wish.Status.DECLINED
        wish.decline_reason = reason
        wish.declined_at = timezone.now()
        wish.declined_by = actor
        wish.full_clean()
        wish.save(update_fields=["status", "decline_reason", "declined_at", "declined_by"])
        audit_record(
            action="wish.decline",
            actor=actor,
            village_id=wish.village_id,
            obj=wish,
            detail={"from": previous, "reason": reason},
            request=request,
        )
        for kind in (Referral.Kind.WISH_MATCH, Referral.Kind.WISH_FULFIL):
            referrals_close(kind=kind, object_ids=[wish.pk], actor=actor, outcome=reason)
        # Told as a match was: a matched wish's household waits for the goods.
        _household_told(wish, Notification.Kind.WISH_DECLINED)
    return wish
