"""Between transactional tests the tables are emptied with DELETE, not with Django's flush.

A transactional test (live servers, real concurrent transactions, queue workers) commits its
rows, so Django empties the database after it (TransactionTestCase's teardown runs `flush`).
On PostgreSQL, flush TRUNCATEs every table, which gives each table, index and TOAST table new
files, then rebuilds the content types, permissions and role groups (post_migrate): 0.3-0.6 s
a test. Deleting the few rows a test wrote takes a few milliseconds.

- Triggers are off while the rows go (session_replication_role = replica): foreign keys,
  which PostgreSQL checks with triggers, then need no order, and the append-only tables'
  triggers (core.db.append_only) let the rows go, as TRUNCATE did. That setting needs a
  superuser, which the embedded server's role is; on another server flush runs as before.
- The set-up tables (content types, permissions, groups and their permissions) are kept when
  the test left them as migrate made them, compared by a digest of their rows. A test that
  changed them has them emptied and rebuilt as flush does.
"""

from django.core.management import call_command
from django.core.management.sql import emit_post_migrate_signal
from django.db import connections
from django.test import TransactionTestCase

from tests.security.state import tables_state

SET_UP_TABLES = ("django_content_type", "auth_permission", "auth_group", "auth_group_permissions")


def set_up_digest(connection) -> dict:
    """The set-up tables' row counts and digests: any insert, update or delete changes them."""
    return tables_state(SET_UP_TABLES, using=connection)


def can_skip_triggers(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SHOW is_superuser")
        return cursor.fetchone()[0] == "on"


def tables_empty(connection, *, set_up: dict) -> dict:
    """Delete every row of the project's tables; the set-up tables' only when they are no
    longer `set_up` (their digest after migrate), and then rebuilt by post_migrate. Returns
    the set-up tables' digest the next test must leave."""
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    rebuild = set_up_digest(connection) != set_up
    emptied = [t for t in tables if rebuild or t not in SET_UP_TABLES]
    deletes = "".join(f"DELETE FROM {connection.ops.quote_name(t)};" for t in emptied)  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            f"SET session_replication_role = replica;{deletes}"
            "SET session_replication_role = DEFAULT;"
        )
    if not rebuild:
        return set_up
    emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)
    return set_up_digest(connection)  # new ids


def install(aliases) -> None:
    """Make TransactionTestCase's teardown empty the tables with `tables_empty` on each of
    `aliases` where triggers can be switched off; the others are flushed as Django does.
    Call it with the test databases set up, before any test. Each is emptied and its set-up
    tables built again first: a reused database (--reuse-db) may hold what a run stopped
    halfway left, and its digest must not become the one every test is held to."""
    set_up = {
        alias: tables_empty(connections[alias], set_up={})
        for alias in aliases
        if can_skip_triggers(connections[alias])
    }

    def teardown(test_case) -> None:
        for alias in test_case._databases_names(include_mirrors=False):
            if alias in set_up:
                set_up[alias] = tables_empty(connections[alias], set_up=set_up[alias])
            else:
                call_command("flush", verbosity=0, interactive=False, database=alias)

    TransactionTestCase._fixture_teardown = teardown
