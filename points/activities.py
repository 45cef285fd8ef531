"""Activity check-in by QR code (签到): open, collect, close into one batch for approval.

The manager opens an activity and shows its QR code. The code holds a link to the check-in
page with a token signed over (activity, time slot): it changes every SLOT_SECONDS and is
accepted in its own slot and the next only, so a photo of the code sent home stops working
within two slots. A signed-in villager who opens the link gets a check-in pass (signed, for
their login, PASS_SECONDS long: time to take a photo) and checks the household in once; a
second member of the household is told it is already checked in. Closing the activity
proposes the rule's points for each household checked in (`proposal_create`), as one batch
the supervisor approves: the manager who proposed it never decides it (villagers.second_person).
"""

import logging
import time
from collections import defaultdict
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import is_manager, is_villager
from core.audit import audit_record
from core.files import discard_files_on_error, file_stored
from core.photos import photo_prepare
from core.text import records_language
from points.models import Activity, Batch, CheckIn, Rule
from points.selectors import proposals_repeated
from points.services import _cap_used, cap_accounts_lock, proposal_create
from villagers.models import Household, User, Village
from villagers.selectors import households_with_active_card

logger = logging.getLogger(__name__)

SLOT_SECONDS = 60  # the QR code's token changes this often; it is good for two slots
PASS_SECONDS = 15 * 60  # from opening the link to sending the check-in (a photo takes time)
ACTIVITY_CATEGORIES = (Rule.Category.COLLECTIVE_ACTIVITY, Rule.Category.VOLUNTARY_LABOUR)
# The code of activity_close's refusal of an activity closed already (by its manager, or by
# another run of the closing task): the task's overlapping runs are no failure.
ALREADY_CLOSED = "already_closed"


# --- the rotating QR code ---------------------------------------------------------------------


def _qr_signer(activity_id: int) -> signing.Signer:
    """Signs with SECRET_KEY and accepts its SECRET_KEY_FALLBACKS too (as the pass's signer):
    changing the key does not break the code on the screen."""
    return signing.Signer(salt=f"points.checkin.qr.{activity_id}", sep=".")


def checkin_slot(at: float | None = None) -> int:
    """The time slot `at` (seconds since the epoch; now by default) falls in."""
    return int((time.time() if at is None else at) // SLOT_SECONDS)


def checkin_seconds_left(at: float | None = None) -> int:
    """Seconds until the next slot: when the QR page should draw the next code."""
    now = time.time() if at is None else at
    return max(1, int(SLOT_SECONDS - now % SLOT_SECONDS) + 1)


def checkin_token(activity: Activity, slot: int | None = None) -> str:
    """The token the QR code carries in `slot` (the current one by default)."""
    return _qr_signer(activity.pk).sign(str(checkin_slot() if slot is None else slot))


def checkin_url(activity: Activity, *, base: str, slot: int | None = None) -> str:
    """The link the QR code holds: the check-in page with the slot's token."""
    path = reverse("points:checkin", args=[activity.pk])
    return f"{base}{path}?{urlencode({'t': checkin_token(activity, slot)})}"


def checkin_token_check(activity: Activity, token: str, at: float | None = None) -> None:
    """Refuse a token that is not this activity's, or whose slot and the next are over."""
    try:
        slot = int(_qr_signer(activity.pk).unsign(token or ""))
    except (signing.BadSignature, ValueError):
        raise ValidationError(
            _("This is not the QR code of this activity. Scan the code the manager shows."),
            code="qr_invalid",
        ) from None
    if not 0 <= checkin_slot(at) - slot <= 1:
        raise ValidationError(
            _(
                "This QR code has expired: it changes every minute. Scan the code the "
                "manager shows now."
            ),
            code="qr_expired",
        )


def _pass_signer(activity_id: int) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"points.checkin.pass.{activity_id}")


def checkin_pass(activity: Activity, user: User) -> str:
    """A pass for `user` to send the check-in form after a valid scan (PASS_SECONDS long)."""
    return _pass_signer(activity.pk).sign(str(user.pk))


def checkin_pass_check(activity: Activity, user: User, token: str) -> None:
    """Refuse a pass that is not `user`'s for this activity, or is older than PASS_SECONDS."""
    try:
        user_id = _pass_signer(activity.pk).unsign(token or "", max_age=PASS_SECONDS)
    except signing.SignatureExpired:
        raise ValidationError(
            _("The check-in took too long. Scan the code the manager shows again."),
            code="pass_expired",
        ) from None
    except signing.BadSignature:
        user_id = None
    if user_id != str(user.pk):
        raise ValidationError(_("Scan the activity's QR code to check in."), code="pass_invalid")


# --- opening, checking in, closing ------------------------------------------------------------


def activity_rule_choices(village: Village):
    """The rules an activity may give: the village's active collective-activity and
    voluntary-labour awards."""
    return Rule.objects.filter(
        village=village, active=True, category__in=ACTIVITY_CATEGORIES, points__gt=0
    ).order_by("category", "code")


def _manager_check(actor: User, village_id: int, refusal: str) -> None:
    if not (is_manager(actor) and actor.village_id == village_id):
        raise ValidationError(refusal)


def activity_open(
    *, village: Village, rule: Rule, title: str, place: str = "", actor: User, request=None
) -> Activity:
    """The manager opens today's activity for check-in by QR code."""
    _manager_check(actor, village.pk, _("Only the village's manager may open an activity."))
    if not activity_rule_choices(village).filter(pk=rule.pk).exists():
        raise ValidationError(
            _("Choose an active collective-activity or voluntary-labour award of this village.")
        )
    title = (title or "").strip()
    if not title:
        raise ValidationError(_("Give the activity a name."))
    activity = Activity(
        village=village,
        rule=rule,
        title=title[:100],
        date=timezone.localdate(),
        place=(place or "").strip()[:100],
        opened_by=actor,
    )
    activity.full_clean(exclude=["village", "rule", "opened_by", "batch"])
    with transaction.atomic():
        activity.save()
        audit_record(
            action="activity.open",
            actor=actor,
            village_id=village.pk,
            obj=activity,
            detail={"title": activity.title, "rule": rule.code, "points": rule.points},
            request=request,
        )
    return activity


def _already_checked_in(checkin: CheckIn) -> str:
    return _(
        "Your household is already checked in to this activity (by %(who)s at %(time)s). "
        "Nothing more is needed."
    ) % {
        "who": checkin.user,
        "time": f"{timezone.localtime(checkin.checked_in_at):%H:%M}",
    }


def checkin_refusal(activity: Activity, user: User) -> str | None:
    """Why `user` may not check in to `activity` now, or None: for the page and the service."""
    if not is_villager(user) or user.village_id != activity.village_id:
        return _("Only a household of this village may check in.")
    if not activity.is_open or activity.date < timezone.localdate():
        # Its day is over even before the closing task has run (00:30, or a worker down).
        return _("This activity is closed: check-in has ended.")
    checkin = (
        CheckIn.objects.filter(activity=activity, household_id=user.household_id)
        .select_related("user")
        .first()
    )
    if checkin is not None:
        return _already_checked_in(checkin)
    if user.household_id not in households_with_active_card([user.household_id]):
        return _("Your household has no active points card: ask the manager.")
    if not Household.objects.filter(pk=user.household_id, status=Household.Status.ACTIVE).exists():
        return _("Your household is no longer active in the register: ask the manager.")
    return None


def activity_checkin(*, activity: Activity, user: User, photo=None, request=None) -> CheckIn:
    """Check the user's household in to the activity, once, with an optional photo.

    The activity's row is locked, so a check-in and the closing never cross, and two members
    of a household scanning at once save one check-in (the unique constraint holds it too).
    """
    if photo is not None:
        photo = photo_prepare(photo, name="checkin")
    with discard_files_on_error(), transaction.atomic():
        activity = Activity.objects.select_for_update(no_key=True).get(
            pk=activity.pk, village_id=activity.village_id
        )
        refusal = checkin_refusal(activity, user)
        if refusal:
            raise ValidationError(refusal, code="refused")
        checkin = CheckIn(activity=activity, household_id=user.household_id, user=user)
        if photo is not None:
            checkin.photo.save(photo.name, ContentFile(photo.read()), save=False)
            file_stored(checkin.photo)
        try:
            with transaction.atomic():
                checkin.save()
        except IntegrityError:
            raise ValidationError(
                _("Your household is already checked in to this activity."), code="refused"
            ) from None
        audit_record(
            action="activity.checkin",
            actor=user,
            village_id=activity.village_id,
            obj=activity,
            detail={"household": user.household_id, "photo": bool(checkin.photo)},
            request=request,
        )
    return checkin


def activity_close(
    *, activity: Activity, actor: User, request=None, at_day_end: bool = False
) -> Activity:
    """Close check-in and propose the rule's points for every household checked in, as one
    batch (a household's photo goes with its proposal). A household the rule's monthly cap
    leaves nothing for, or whose card was taken away since, is listed without a proposal.
    `at_day_end`: closed by `activities_close_overdue`, in the opener's name."""
    _manager_check(
        actor, activity.village_id, _("Only the village's manager may close an activity.")
    )
    with transaction.atomic():
        # The activity's row only: locking the joined village and rule too (a lock of
        # every table) kept any proposal of the village waiting, and one holding the
        # household's account (cap_accounts_lock) deadlocked with this closing.
        activity = (
            Activity.objects.select_for_update(no_key=True, of=("self",))
            .select_related("village", "rule")
            .get(pk=activity.pk, village_id=activity.village_id)
        )
        if not activity.is_open:
            raise ValidationError(_("This activity is already closed."), code=ALREADY_CLOSED)
        checkins = list(activity.checkins.select_related("household").order_by("household__number"))
        with records_language():  # why a household got no proposal is kept with it
            not_proposed, with_photo, without_photo = _who_is_proposed(activity, checkins)
        activity.status = Activity.Status.CLOSED
        activity.closed_at = timezone.now()
        activity.not_proposed = not_proposed
        if with_photo or without_photo:
            activity.batch = _propose(activity, with_photo, without_photo, actor, request)
        activity.save(update_fields=["status", "closed_at", "not_proposed", "batch"])
        audit_record(
            action="activity.close",
            actor=actor,
            village_id=activity.village_id,
            obj=activity,
            detail={
                "checked_in": len(checkins),
                "proposed": len(with_photo) + len(without_photo),
                "batch": activity.batch_id,
                **({"at_day_end": True} if at_day_end else {}),
            },
            request=request,
        )
    return activity


def activities_close_overdue() -> list[Activity]:
    """Close the activities still open after their day (the manager forgot to), each in the
    name of the manager who opened it, so the attendance still becomes a batch for the
    supervisor to approve. One whose opener no longer manages the village (or whose login
    was switched off) stays open, for the village's manager to close; it is logged, and
    one that fails never keeps the others open."""
    closed = []
    overdue = Activity.objects.filter(
        status=Activity.Status.OPEN, date__lt=timezone.localdate()
    ).select_related("opened_by")
    for activity in overdue.order_by("pk"):
        if not activity.opened_by.is_active:
            logger.warning("activity %s left open: its opener's login is switched off", activity.pk)
            continue
        try:
            closed.append(
                activity_close(activity=activity, actor=activity.opened_by, at_day_end=True)
            )
        except ValidationError as error:
            if error.code == ALREADY_CLOSED:  # by another run of the task (or its manager)
                logger.info("activity %s closed meanwhile, not by this run", activity.pk)
                continue
            logger.warning("activity %s left open: %s", activity.pk, " ".join(error.messages))
        except Exception:
            logger.exception("activity %s left open: closing it failed", activity.pk)
    return closed


def _who_is_proposed(activity: Activity, checkins: list[CheckIn]):
    """([{"household", "why"}] left out, [check-ins with a photo], [households without])."""
    rule = activity.rule
    household_ids = [checkin.household_id for checkin in checkins]
    with_card = households_with_active_card(household_ids)
    used = {}
    # Counted, then proposed: one at a time per household (as proposal_create does).
    cap_accounts_lock(household_ids)
    if rule.monthly_cap is not None:
        used = _cap_used(
            rule=rule, household_ids=household_ids, day=activity.date, include_pending=True
        )
    # The same rule and day proposed already (the meeting typed in by hand as well): the
    # forms ask before proposing it again; nobody is asked here, so it is left out, with a
    # link to that proposal (the manager proposes again by hand if it was another deed).
    repeated = {
        proposal.household_id: proposal.pk
        for proposal in proposals_repeated(activity.village, household_ids, rule, activity.date)
    }
    not_proposed, with_photo, without_photo = [], [], []
    for checkin in checkins:
        household = checkin.household
        why = ""
        if not rule.active:
            why = _("the rule %(rule)s is no longer in use") % {"rule": rule.code}
        elif household.pk not in with_card or household.status != Household.Status.ACTIVE:
            why = _("no active points card")
        elif (
            rule.monthly_cap is not None
            and used.get(household.pk, 0) + rule.points > rule.monthly_cap
        ):
            why = _("%(rule)s already counted this month (at most %(cap)d points)") % {
                "rule": rule.code,
                "cap": rule.monthly_cap,
            }
        elif household.pk in repeated:
            why = _("%(rule)s already proposed for this day") % {"rule": rule.code}
            not_proposed.append(
                {"household": household.pk, "why": why, "proposal": repeated[household.pk]}
            )
            continue
        if why:
            not_proposed.append({"household": household.pk, "why": why})
        elif checkin.photo:
            with_photo.append(checkin)
        else:
            without_photo.append(household)
    return not_proposed, with_photo, without_photo


def _propose(activity, with_photo, without_photo, actor, request) -> Batch:
    batch = Batch(
        village=activity.village,
        rule=activity.rule,
        title=activity.title,
        date=activity.date,
        place=activity.place,
        created_by=actor,
    )
    batch.full_clean(exclude=["village", "rule", "created_by"])
    batch.save()
    with records_language():
        reason = (_("%(title)s: checked in by QR code") % {"title": activity.title})[:300]
    common = {
        "village": activity.village,
        "rule": activity.rule,
        "reason": reason,
        "occurred_on": activity.date,
        "actor": actor,
        "batch": batch,
        "request": request,
    }
    if without_photo:
        proposal_create(households=without_photo, **common)
    # Each household's own photo stays with its own proposal (the file is shared, not copied).
    by_photo = defaultdict(list)
    for checkin in with_photo:
        by_photo[checkin.photo.name].append(checkin.household)
    for name, households in by_photo.items():
        proposal_create(households=households, photo_name=name, **common)
    return batch


def activity_checkin_base_url(request) -> str:
    """Where the QR code's link points: the address printed on cards, else this request's."""
    if settings.CARD_LOGIN_BASE_URL:
        return settings.CARD_LOGIN_BASE_URL
    return request.build_absolute_uri("/").rstrip("/")
