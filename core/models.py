"""Tables of the bottom package: the sessions, with the id of the user each belongs to."""

from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
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
