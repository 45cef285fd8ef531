"""Background exports: a long .xlsx is built in a thread while the browser shows its progress."""

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
        """Started but silent too long: the thread died with its server process."""
        return self.status in (self.Status.PENDING, self.Status.RUNNING) and (
            timezone.now() - self.updated_at > STALE_AFTER
        )
