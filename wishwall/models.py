"""Wishes (心愿墙) and their echoes (回音墙): matching to a donor and the fulfilment.

A wish moves open -> matched -> fulfilled, or open/matched -> declined (with a reason), or
open -> withdrawn (by its household).
The services in `wishwall.services` are the only writers; a database trigger refuses any
other status change, so a fulfilled or declined wish can never be re-opened.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


def _photo_path(folder: str, filename: str) -> str:
    # A random name: the uploaded file name may carry a person's name or phone number.
    return f"wishwall/{folder}/{uuid.uuid4().hex}.jpg"


def wish_photo_path(instance, filename: str) -> str:
    return _photo_path("wishes", filename)


def fulfilment_photo_path(instance, filename: str) -> str:
    return _photo_path("fulfilments", filename)


class Wish(models.Model):
    class Kind(models.TextChoices):
        DAILY = "daily", _("daily necessities")
        STUDY = "study", _("study and school")
        HEALTH = "health", _("health")
        FARMING = "farming", _("farming and production")
        HOME_REPAIR = "home_repair", _("home repair")
        OTHER = "other", _("other")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        MATCHED = "matched", _("matched with a donor")
        FULFILLED = "fulfilled", _("fulfilled")
        DECLINED = "declined", _("declined")
        WITHDRAWN = "withdrawn", _("withdrawn")

    # Denormalised from the household so every page can scope by village without a join.
    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="wishes",
    )
    household = models.ForeignKey(
        "villagers.Household",
        verbose_name=_("household"),
        on_delete=models.PROTECT,
        related_name="wishes",
    )
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("posted by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    title = models.CharField(_("what is wished for"), max_length=100)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    story = models.TextField(_("why"), max_length=1000)
    photo = models.ImageField(_("photo"), upload_to=wish_photo_path, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    created_at = models.DateTimeField(_("posted"), auto_now_add=True, db_index=True)

    # Moderation: nothing is shown to other villagers until staff approve it for the wall.
    approved_at = models.DateTimeField(_("approved for the wall"), null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    hide_household = models.BooleanField(
        _("hide the household on the wall"),
        default=False,
        help_text=_("The wall then shows only the village group, not even a masked name."),
    )

    declined_at = models.DateTimeField(_("declined"), null=True, blank=True)
    declined_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("declined by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decline_reason = models.CharField(_("reason for declining"), max_length=300, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("wish")
        verbose_name_plural = _("wishes")
        indexes = [models.Index(fields=["village", "status", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "matched", "fulfilled", "declined", "withdrawn"]),
                name="wish_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined") | ~Q(decline_reason=""),
                name="wish_decline_needs_reason",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "declined", "withdrawn"])
                | Q(approved_at__isnull=False),
                name="wish_matched_only_when_approved",
            ),
            models.CheckConstraint(
                condition=Q(status="withdrawn", withdrawn_at__isnull=False)
                | (~Q(status="withdrawn") & Q(withdrawn_at__isnull=True)),
                name="wish_withdrawn_when",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None

    @property
    def posted_on_behalf(self) -> bool:
        return self.posted_by_id is not None and self.posted_by.household_id != self.household_id


class WishRevision(models.Model):
    """A moderator's change to a wish's text: who, when, old and new text, why. Append-only."""

    class Field(models.TextChoices):
        TITLE = "title", _("what is wished for")
        STORY = "story", _("why")

    wish = models.ForeignKey(
        Wish, verbose_name=_("wish"), on_delete=models.PROTECT, related_name="revisions"
    )
    field = models.CharField(_("field"), max_length=10, choices=Field.choices)
    old_text = models.TextField(_("old text"))
    new_text = models.TextField(_("new text"))
    reason = models.CharField(_("reason"), max_length=300)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("edited by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    edited_at = models.DateTimeField(_("edited"), auto_now_add=True)

    class Meta:
        ordering = ["-edited_at", "-id"]
        verbose_name = _("wish revision")
        verbose_name_plural = _("wish revisions")

    def __str__(self):
        return f"{self.wish} {self.field} {self.edited_at:%Y-%m-%d}"


class WishMatch(models.Model):
    """爱心对接: the supervisor pairs a wish with a donor. At most one per wish."""

    wish = models.OneToOneField(
        Wish, verbose_name=_("wish"), on_delete=models.PROTECT, related_name="match"
    )
    donor = models.ForeignKey(
        "store.Donor", verbose_name=_("donor"), on_delete=models.PROTECT, related_name="wishes"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    matched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("matched by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    matched_at = models.DateTimeField(_("matched"), auto_now_add=True)

    class Meta:
        verbose_name = _("wish match")
        verbose_name_plural = _("wish matches")

    def __str__(self):
        return f"{self.wish} ← {self.donor}"


class WishFulfilment(models.Model):
    """The echo: what the donor gave, when, and the words of thanks shown on the echo wall."""

    wish = models.OneToOneField(
        Wish, verbose_name=_("wish"), on_delete=models.PROTECT, related_name="fulfilment"
    )
    date = models.DateField(_("date given"))
    given = models.CharField(_("what was given"), max_length=200)
    photo = models.ImageField(_("photo"), upload_to=fulfilment_photo_path, blank=True)
    thanks = models.TextField(_("words of thanks"), max_length=500)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("wish fulfilment")
        verbose_name_plural = _("wish fulfilments")

    def __str__(self):
        return f"{self.wish} {self.date}"
