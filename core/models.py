"""Tables of the bottom package: the audit log, sessions with their user's id, one-time keys.

No domain app's models are referenced here.
"""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WriterOwnedColumns:
    """A model some of whose columns only their single writer changes, under a row lock (an
    item's stock and held units, an account's balance and held points).

    `save()` writes every column, so saving an instance read before a sale (an item edited
    on its page while the counter sold it) would write back the stock it read. Updating an
    existing row through `save()` therefore leaves `writer_owned` out; a save that names
    them in `update_fields` still writes them, and creating a row writes them all.
    """

    writer_owned: tuple[str, ...] = ()

    def save(self, *args, **kwargs):
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in self.writer_owned
            ]
        return super().save(*args, **kwargs)


class Session(AbstractBaseSession):
    """Django's database session plus its user's id, so a user's sessions end in one DELETE.

    A plain id (no foreign key): the bottom package knows no user model, and a session of a
    deleted user is ended by that delete's caller or simply expires.
    """

    user_id = models.BigIntegerField(_("user"), null=True, blank=True, db_index=True)

    @classmethod
    def get_session_store_class(cls):
        from core.sessions import SessionStore

        return SessionStore


class IdempotencyKey(models.Model):
    """A one-time form key: the same key posted twice has one effect; another body is refused.

    The table keeps its first name (it was points' model before the machinery moved here).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(_("key"), max_length=64)
    request_hash = models.CharField(_("request fingerprint"), max_length=64)
    result_url = models.CharField(_("result address"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("one-time form key")
        verbose_name_plural = _("one-time form keys")
        db_table = "points_idempotencykey"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_key")
        ]

    def __str__(self):
        return self.key


class AuditEvent(models.Model):
    """Who did what, when, where and from where. Append-only in the database; written only
    by core.audit (audit_record, audit_records, audit_plan)."""

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Kept as a plain id so the audit log sits below every app and never blocks a delete.
    village_id = models.BigIntegerField(_("village"), null=True, blank=True, db_index=True)
    # For an event of no village, the place it concerns, as it was then (core.audit sets
    # it): its object's (a token's, a staff user's) or else its actor's township and county.
    # The county's and township's audit pages read such events by it, so a person who moves
    # takes none of them along. An event of a village is placed by its village.
    township_id = models.BigIntegerField(_("township"), null=True, blank=True)
    county_id = models.BigIntegerField(_("county"), null=True, blank=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("from"), null=True, blank=True)

    class Meta:
        db_table = "aidao_auditevent"  # its first name, from when it lived in the project package
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit log")
        # The audit pages' events of no village, newest first, by county and by township.
        indexes = [
            models.Index(
                fields=["county_id", "-at"],
                condition=models.Q(village_id__isnull=True),
                name="audit_county_no_village",
            ),
            models.Index(
                fields=["township_id", "-at"],
                condition=models.Q(village_id__isnull=True),
                name="audit_township_no_village",
            ),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"
