"""The session engine (SESSION_ENGINE): Django's database sessions with a user column.

Built as Django's documentation shows ("Extending database-backed session engines"):
the store names its model and fills the user id in when it writes a session, so ending a
user's sessions (PIN reset, card replaced or recalled) is one indexed DELETE instead of
decoding every session of the county.

Every signed-in request reads its session, so the store reads it with one prepared
statement built from the model (`core.sql.SESSION_READ`, STYLE.md 8) instead of building the
ORM's query each time: 0.25 ms against 0.6 ms a request on the county dataset
(docs/performance.md).
"""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.utils import timezone

from core import sql
from core.models import Session

_KEY_CHARACTERS = frozenset(VALID_KEY_CHARS)
_KEY_LENGTH = Session._meta.get_field("session_key").max_length


class SessionStore(DatabaseSessionStore):
    @classmethod
    def get_model_class(cls):
        return Session

    def load(self):
        """The session's data, or {} for a missing or expired session (SessionBase's API).

        A key the store could not have drawn (longer than the column, or other characters
        than Django draws keys from, such as a NUL byte that PostgreSQL refuses in text) is
        no session, not an error."""
        key = self.session_key
        if key is None or len(key) > _KEY_LENGTH or not set(key) <= _KEY_CHARACTERS:
            row = None
        else:
            with connection.cursor() as cursor:
                sql.execute(cursor, sql.SESSION_READ, {"key": key, "now": timezone.now()})
                row = cursor.fetchone()
        if row is None:
            self._session_key = None  # as Django's stores do: saving makes a new one
            return {}
        return self.decode(sql.instance(Session, row).session_data)

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
