"""Background exports (a long .xlsx built in a thread) and the published monthly notices."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# A running job not heard from for this long was cut off (the server restarted mid-way).
STALE_AFTER = datetime.timedelta(minutes=10)


class ExportJob(models.Model):
    """One requested export. The finished file is kept in the row, for its requester only.

    The file lives in the database rather than in MEDIA_ROOT so it is never served by the
    public media URL, needs no clean-up of orphaned files and works with several workers.
    """

    class Kind(models.TextChoices):
        COUNTY_OVERVIEW = "county", _("county overview")
        TOWNSHIP_OVERVIEW = "township", _("township overview")
        YEAR_REPORT = "year", _("year report")

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting to start")
        RUNNING = "running", _("running")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    county = models.ForeignKey(
        "villagers.County",
        verbose_name=_("county"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    step = models.CharField(_("current step"), max_length=200, blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    filename = models.CharField(_("file name"), max_length=200, blank=True)
    content = models.BinaryField(_("file"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    updated_at = models.DateTimeField(_("last heard"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_user_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="export_progress_max"),
            models.CheckConstraint(
                condition=~Q(status="done") | Q(content__isnull=False),
                name="export_done_has_file",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED) or self.is_stale

    @property
    def is_stale(self) -> bool:
        """Started but silent too long: the worker running it stopped mid-way. A job not
        started yet was cut off from nothing: it waits for a worker (`is_waiting_long`)."""
        return self.status == self.Status.RUNNING and (
            timezone.now() - self.updated_at > STALE_AFTER
        )

    @property
    def is_waiting_long(self) -> bool:
        """Not started after STALE_AFTER: no worker is running, or all are busy. It starts
        by itself when one is free; asking again would only queue it twice."""
        return self.status == self.Status.PENDING and (
            timezone.now() - self.updated_at > STALE_AFTER
        )


class PublishedNotice(models.Model):
    """A month's public notice (公示) as the supervisor published it: frozen for good.

    DESIGN.md ledger rule 7. `document` holds every figure and line of the notice as it was
    drawn at publication (reports.notice.notice_document), so the page is read back from
    here, never recomputed; a correction made later appears on the notice of the month it
    is made. Append-only in PostgreSQL; one per village and month.
    """

    village = models.ForeignKey(
        "villagers.Village",
        verbose_name=_("village"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The month's first day.
    month = models.DateField(_("month"))
    document = models.JSONField(_("the notice as published"), editable=False)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    published_at = models.DateTimeField(_("published"), default=timezone.now)

    class Meta:
        ordering = ["village", "-month"]
        verbose_name = _("published notice")
        verbose_name_plural = _("published notices")
        constraints = [
            # Published once: two supervisors at once, or a second try, find the first.
            models.UniqueConstraint(fields=["village", "month"], name="notice_once_a_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="notice_month_first_day"),
        ]

    def __str__(self):
        return f"{self.village_id} {self.month:%Y-%m}"


class NoticeSignature(models.Model):
    """A name signed under a published notice, with the time: the supervisor's at
    publication; the village party secretary's place is kept for a later co-signature."""

    class Role(models.TextChoices):
        SUPERVISOR = "supervisor", _("Supervisor")
        SECRETARY = "secretary", _("Village party secretary")

    notice = models.ForeignKey(
        PublishedNotice,
        verbose_name=_("notice"),
        on_delete=models.PROTECT,
        related_name="signatures",
    )
    role = models.CharField(_("signed as"), max_length=12, choices=Role.choices)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The name as it read when signing: a later change of the user's name changes nothing.
    name = models.CharField(_("name"), max_length=150)
    signed_at = models.DateTimeField(_("signed"), default=timezone.now)

    class Meta:
        ordering = ["notice", "signed_at", "id"]
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = [
            models.UniqueConstraint(fields=["notice", "role"], name="notice_signed_once_per_role"),
            models.CheckConstraint(condition=~Q(name=""), name="notice_signature_has_name"),
        ]

    def __str__(self):
        return f"{self.get_role_display()} {self.name}"


class ApiToken(models.Model):
    """A county system's key to the read-only API (reports/api.py), for one county or one
    township: it reads what that county's admin or that township's officer oversees.

    Made by the county admin (`manage.py api_token create`); the key is shown once and only
    its SHA-256 is kept (a long random key needs no slow hash); revoked, never deleted, so
    the audit log's calls keep their token.
    """

    name = models.CharField(_("name"), max_length=100)
    county = models.ForeignKey(
        "villagers.County",
        verbose_name=_("county"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    township = models.ForeignKey(
        "villagers.Township",
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The key's first characters, to tell tokens apart in lists and logs.
    prefix = models.CharField(_("key starts with"), max_length=12)
    key_hash = models.CharField(_("SHA-256 of the key"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        constraints = [
            # One scope: a county, or one township.
            models.CheckConstraint(
                condition=Q(county__isnull=True) ^ Q(township__isnull=True),
                name="api_token_one_scope",
            ),
        ]

    def __str__(self):
        # Also the rate limit's key (ninja's AuthRateThrottle): one bucket per token.
        return f"api-token-{self.pk}"
