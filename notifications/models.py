"""The outbox: one row per message to a household (or to the village's staff); and the
village's announcements, told to every household through it.

A row is written in the transaction of the event it tells of (notifications.services), so a
rolled-back effect leaves none. The household reads it in its list (the bell); the SMS
columns follow its one text message through the worker (notifications.tasks).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from villagers.models import Household, Village


class Notification(models.Model):
    class Kind(models.TextChoices):
        CREDITED = "credited", _("points credited")
        DEDUCTED = "deducted", _("points deducted")
        PUBLICITY = "publicity", _("on the public notice")
        REDEMPTION = "redemption", _("redemption")
        WISH_MATCHED = "wish_matched", _("wish matched")
        WISH_FULFILLED = "wish_fulfilled", _("wish fulfilled")
        WISH_DECLINED = "wish_declined", _("wish declined")
        LOW_STOCK = "low_stock", _("low stock")
        RESERVATION_READY = "reservation_ready", _("reservation ready")
        RESERVATION_EXPIRING = "reservation_expiring", _("reservation about to expire")
        REVERSED = "reversed", _("entry corrected")
        VOIDED = "voided", _("redemption voided")
        VOID_ASKED = "void_asked", _("void asked for")

        ANNOUNCEMENT = "announcement", _("village announcement")
        SETTLEMENT_PLANNED = "settlement_planned", _("yearly settlement announced")
        SETTLEMENT_OFF = "settlement_off", _("yearly settlement called off")
        POINTS_LAPSED = "points_lapsed", _("points lapsed at the yearly settlement")
        OBJECTION_ANSWERED = "objection_answered", _("objection answered")
        CANCELLED = "cancelled", _("announced entry cancelled")
        HELD = "held", _("announced entry held")
        RESERVATION_CLOSED = "reservation_closed", _("reservation closed")

    class Sms(models.TextChoices):
        NONE = "none", _("in the app only")
        PENDING = "pending", _("waiting")
        SENDING = "sending", _("being sent")
        SENT = "sent", pgettext_lazy("text message", "sent")
        SKIPPED = "skipped", _("not sent: no text messages, no mobile phone or moved away")
        WITHDRAWN = "withdrawn", _("not sent: the announcement was withdrawn first")
        # Its words were no longer true when it could go (a long outage, the quiet hours):
        # the reservation it tells of was closed, or the time it gives had passed.
        OUTDATED = "outdated", _("not sent: out of date before it could go")
        FAILED = "failed", _("failed")
        # The provider may have taken it (an answer cut short or late, a worker stopped
        # while sending): never sent again, for the household would have it twice.
        UNKNOWN = "unknown", _("not known whether it arrived: not sent again")

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    # None: a message to the village's staff (low stock, a void asked for): their dashboard
    # and the delivery log.
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Figures and dates only (notifications.texts words them): never names or ID numbers. A
    # message to the staff, never sent by SMS, may carry what a colleague typed: the reason
    # of a void asked for, which the manager, the supervisor and the county admin may read.
    params = models.JSONField(_("details"), default=dict)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    sms_status = models.CharField(
        _("text message"), max_length=10, choices=Sms.choices, default=Sms.NONE
    )
    # Not before (quiet hours, or the back-off after a failed attempt).
    sms_due_at = models.DateTimeField(_("not before"), null=True, blank=True)
    sms_attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    sms_tried_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    sms_sent_at = models.DateTimeField(pgettext_lazy("text message", "sent"), null=True, blank=True)
    sms_error = models.CharField(_("last error"), max_length=200, blank=True)
    sms_reference = models.CharField(_("provider's reference"), max_length=64, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["household", "-id"], name="notification_household"),
            models.Index(fields=["village", "-id"], name="notification_village"),
            models.Index(
                fields=["household"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            models.Index(
                fields=["sms_due_at"],
                condition=Q(sms_status="pending"),
                name="notification_sms_pending",
            ),
            # The few "being sent", which every sending run looks at (sending._stale_marked).
            models.Index(
                fields=["sms_tried_at"],
                condition=Q(sms_status="sending"),
                name="notification_sms_sending",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"


def _announcement_path(instance, filename: str) -> str:
    # Ours, never the uploaded name (it may carry a person's name); the extension is the one
    # the content showed (core.photos, core.audio).
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"announcements/{uuid.uuid4().hex}.{extension}"


class Announcement(models.Model):
    """A notice the manager posts to the whole village (通知): text, and optionally a photo
    and a voice recording for those who do not read. Withdrawn, it is shown to nobody but
    the village's staff; rows are never deleted."""

    village = models.ForeignKey(
        Village, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    text = models.TextField(_("text"), max_length=1000)
    photo = models.ImageField(_("photo"), upload_to=_announcement_path, blank=True)
    audio = models.FileField(_("voice recording"), upload_to=_announcement_path, blank=True)
    # The type core.audio read from the recording's content, sent with it when it is played.
    audio_type = models.CharField(_("recording type"), max_length=20, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    posted_at = models.DateTimeField(_("posted"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("withdrawn by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        indexes = [
            models.Index(
                fields=["village", "-id"],
                condition=Q(withdrawn_at__isnull=True),
                name="announcement_current",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True, withdrawn_by__isnull=True)
                | Q(withdrawn_at__isnull=False, withdrawn_by__isnull=False),
                name="announcement_withdrawn_by_whom",
            ),
        ]

    def __str__(self):
        return f"{self._meta.verbose_name} #{self.pk}"
