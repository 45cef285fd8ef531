"""The outbox's writes: notifications are written in the transaction of their event.

The services of points, store and wishwall build their messages with `message` and write
them with `notifications_post` (one bulk INSERT), or add `notifications_plan`'s statement
to the statement they run anyway (core.sql.run_together: no round trip of its own). An
effect that rolls back leaves no message, and a committed one has its messages. The event
queues no job: the workers' `notifications.sms_sweep` sends what is due every minute (a job
a call cost an approval a fifth of its time, docs/performance.md "Many tellers").
"""

import datetime
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import sql
from core.access import is_manager, is_supervisor
from core.audio import audio_prepare
from core.audit import audit_record
from core.files import discard_files_on_error, file_stored
from core.photos import photo_prepare
from core.sql import Statement
from notifications.models import Announcement, Notification
from notifications.sending import quiet_until
from villagers.models import Household, User, Village


def message(*, village_id: int, household_id: int | None, kind: str, **params) -> Notification:
    """One unsaved message: to a household (in its list, and by SMS unless it opted out at
    sending time), or with no household to the village's staff (the delivery log)."""
    return Notification(
        village_id=village_id,
        household_id=household_id,
        kind=kind,
        params=params,
        sms_status=Notification.Sms.PENDING if household_id else Notification.Sms.NONE,
    )


def _sms_schedule(
    notifications: Sequence[Notification], now: datetime.datetime, history: bool
) -> None:
    """When the messages that go by SMS are due: now, or the end of the quiet hours.

    `history`: a loader replaying past events (the demo's backdated redemptions): the
    messages are kept, already read, and nobody is sent anything now.
    """
    for notification in notifications:
        notification.created_at = now
        if history:
            notification.read_at = now
            notification.sms_status = Notification.Sms.NONE
    if not any(n.sms_status == Notification.Sms.PENDING for n in notifications):
        return
    due = quiet_until(now) or now
    for notification in notifications:
        if notification.sms_status == Notification.Sms.PENDING:
            notification.sms_due_at = due


def notifications_plan(
    notifications: Sequence[Notification],
    *,
    now: datetime.datetime | None = None,
    history: bool = False,
) -> list[Statement]:
    """The statement writing `notifications`, for a caller that runs its writes together."""
    if not notifications:
        return []
    _sms_schedule(notifications, now or timezone.now(), history)
    return [sql.insert(Notification, notifications)]


def notifications_post(
    notifications: Sequence[Notification],
    *,
    now: datetime.datetime | None = None,
    history: bool = False,
) -> None:
    """Write `notifications` in one INSERT, in the caller's transaction. `history`: see
    `_sms_schedule`."""
    if not notifications:
        return
    _sms_schedule(notifications, now or timezone.now(), history)
    Notification.objects.bulk_create(notifications)


def notifications_outdate(*, village_id: int, kinds: Sequence[str], **params) -> int:
    """Keep the text messages not sent yet of `kinds` whose `params` match from going: what
    they tell of is over (a reservation handed over, cancelled or expired, an entry
    cancelled, a settlement called off), so their words are no longer true. In the caller's
    transaction, as the event's; a message the workers have claimed is being sent: too late
    for it. How many."""
    return Notification.objects.filter(
        village_id=village_id,
        kind__in=kinds,
        sms_status=Notification.Sms.PENDING,
        **{f"params__{key}": value for key, value in params.items()},
    ).update(sms_status=Notification.Sms.OUTDATED, sms_due_at=None)


def notifications_read(*, user: User, notification_id: int | None = None) -> int:
    """Mark the household's unread messages read (one, or all); how many were."""
    unread = Notification.objects.filter(household_id=user.household_id, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())


def staff_alerts_read(*, village_id: int, void_asks: bool) -> int:
    """The village's staff have seen its messages to them; how many were unread. The
    manager's asks to void only with `void_asks` (the supervisor, who decides them: a void
    closes an ask too); a manager clearing the low-stock alerts leaves them waiting."""
    unread = Notification.objects.filter(
        village_id=village_id, household__isnull=True, read_at__isnull=True
    )
    if not void_asks:
        unread = unread.exclude(kind=Notification.Kind.VOID_ASKED)
    return unread.update(read_at=timezone.now())


def household_sms_choose(*, user: User, receive: bool, request=None) -> Household:
    """The household's own choice: text messages or not (its list stays either way)."""
    with transaction.atomic():
        household = Household.objects.select_for_update(no_key=True).get(pk=user.household_id)
        if household.sms_opt_out == (not receive):
            return household
        household.sms_opt_out = not receive
        household.save(update_fields=["sms_opt_out"])
        audit_record(
            action="household.sms",
            actor=user,
            village_id=household.village_id,
            obj=household,
            detail={"sms": receive},
            request=request,
        )
    return household


def announcement_post(
    *, village: Village, actor: User, text: str, photo=None, audio=None, request=None
) -> Announcement:
    """The manager posts an announcement; every active household of the village is told
    (its list, and by SMS by the usual rules), in the same transaction."""
    if not (is_manager(actor) and actor.village_id == village.pk):
        raise PermissionDenied(_("Only the village's manager posts announcements."))
    text = (text or "").strip()
    # Slow work (decoding, re-encoding) before the transaction: no lock is held for it.
    prepared_photo = photo_prepare(photo, name="announcement") if photo else None
    prepared_audio, audio_type, _seconds = audio_prepare(audio) if audio else (None, "", None)
    # The files are stored by save(); a failure after it deletes them (see core.files).
    with discard_files_on_error(), transaction.atomic():
        announcement = Announcement(
            village=village, text=text, posted_by=actor, audio_type=audio_type
        )
        if prepared_photo is not None:
            announcement.photo = prepared_photo
        if prepared_audio is not None:
            announcement.audio = prepared_audio
        announcement.full_clean()
        announcement.save()
        for stored in (announcement.photo, announcement.audio):
            if stored:
                file_stored(stored)
        households = Household.objects.filter(
            village=village, status=Household.Status.ACTIVE
        ).values_list("pk", flat=True)
        notifications_post(
            [
                message(
                    village_id=village.pk,
                    household_id=household_id,
                    kind=Notification.Kind.ANNOUNCEMENT,
                    announcement=announcement.pk,
                )
                for household_id in households
            ]
        )
        audit_record(
            action="announcement.post",
            actor=actor,
            village_id=village.pk,
            obj=announcement,
            detail={"photo": bool(prepared_photo), "audio": audio_type or None},
            request=request,
        )
    return announcement


def announcement_withdraw(*, announcement: Announcement, actor: User, request=None) -> Announcement:
    """The village's manager or supervisor takes an announcement down: nobody else sees it
    again, and its text messages not sent yet (held for the quiet hours, or waiting) are not
    sent (the messages already sent stay, and lead to a page without it)."""
    allowed = is_manager(actor) or is_supervisor(actor)
    if not allowed or actor.village_id != announcement.village_id:
        raise PermissionDenied(_("You may not do this."))
    with transaction.atomic():
        announcement = Announcement.objects.select_for_update(no_key=True).get(pk=announcement.pk)
        if announcement.withdrawn_at is not None:
            raise ValidationError(
                _("This announcement has been withdrawn already."), code="withdrawn"
            )
        announcement.withdrawn_at = timezone.now()
        announcement.withdrawn_by = actor
        announcement.save(update_fields=["withdrawn_at", "withdrawn_by"])
        # A message the workers have claimed is being sent: too late for it.
        Notification.objects.filter(
            village_id=announcement.village_id,
            kind=Notification.Kind.ANNOUNCEMENT,
            params__announcement=announcement.pk,
            sms_status=Notification.Sms.PENDING,
        ).update(sms_status=Notification.Sms.WITHDRAWN, sms_due_at=None)
        audit_record(
            action="announcement.withdraw",
            actor=actor,
            village_id=announcement.village_id,
            obj=announcement,
            request=request,
        )
    return announcement
