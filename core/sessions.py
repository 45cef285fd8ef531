"""The session engine (SESSION_ENGINE): Django's database sessions with a user column.

Built as Django's documentation shows ("Extending database-backed session engines"):
the store names its model and fills the user id in when it writes a session, so ending a
user's sessions (PIN reset, card replaced or recalled) is one indexed DELETE instead of
decoding every session of the county.
"""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from core.models import Session


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        return Session

    def create_model_instance(self, data):
        session = super().create_model_instance(data)
        try:
            session.user_id = int(data.get(SESSION_KEY))
        except (TypeError, ValueError):
            session.user_id = None
        return session


def sessions_end(*, user_id: int) -> int:
    """Sign the user out everywhere; returns how many sessions were ended."""
    deleted, _per_model = Session.objects.filter(user_id=user_id).delete()
    return deleted
