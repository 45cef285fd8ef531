"""Tables of the bottom package: sessions with their user's id, and one-time form keys.

No domain app's models are referenced here.
"""

from django.conf import settings
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


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

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    request_hash = models.CharField(max_length=64)
    result_url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "points_idempotencykey"
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_key")
        ]

    def __str__(self):
        return self.key
