"""Sessions in the database (so any app server can serve any request), read with plain SQL.

Every signed-in request reads its session; the ORM spent longer building that one-row query
than PostgreSQL spent answering it, and it is prepared once per connection.
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connections, router
from django.utils import timezone

from aidao.rows import execute_prepared

SESSION_SQL = (
    "SELECT session_data, expire_date FROM django_session "
    "WHERE session_key = %(key)s AND expire_date > %(now)s"
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self):
        database = router.db_for_read(self.model, instance=None)
        with connections[database].cursor() as cursor:
            execute_prepared(
                cursor,
                "aidao_session",
                SESSION_SQL,
                {"key": self.session_key, "now": timezone.now()},
            )
            row = cursor.fetchone()
        if row is None:
            self._session_key = None
            return None
        return self.model(session_key=self.session_key, session_data=row[0], expire_date=row[1])
