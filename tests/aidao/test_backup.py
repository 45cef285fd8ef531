"""A backup restores into an empty database with every ledger entry intact."""

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from points.models import Entry
from points.services import entry_post

RESTORED = "aidao_restore_check"
CHECKSUM = (
    "SELECT count(*), md5(string_agg(concat_ws(':', id, account_id, kind, points, "
    "balance_after, reverses_id), ',' ORDER BY id)) FROM points_entry"
)


def _admin_connection():
    params = connection.get_connection_params()
    params["dbname"] = "postgres"
    conn = psycopg.connect(**params)
    conn.autocommit = True
    return conn


@pytest.fixture
def empty_database():
    admin = _admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {RESTORED}")
        cursor.execute(f"CREATE DATABASE {RESTORED}")
    yield RESTORED
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {RESTORED} WITH (FORCE)")
    admin.close()


@pytest.mark.django_db(transaction=True)
def test_backup_restores_with_identical_entries(
    tmp_path, card_a, card_b, manager_x, empty_database
):
    entry_post(
        account_id=card_a.household.account.pk, kind=Entry.Kind.AWARD, points=7, actor=manager_x
    )
    dump = tmp_path / "backup.dump"
    call_command("backup_db", output=str(dump))
    assert dump.stat().st_size > 0
    # Found by a probe: written 644 under the usual umask, ID numbers and phones and all.
    assert dump.stat().st_mode & 0o077 == 0

    call_command("restore_db", str(dump), dbname=empty_database)

    with connection.cursor() as cursor:
        cursor.execute(CHECKSUM)
        original = cursor.fetchone()
    params = connection.get_connection_params()
    params["dbname"] = empty_database
    with psycopg.connect(**params) as restored, restored.cursor() as cursor:
        cursor.execute(CHECKSUM)
        assert cursor.fetchone() == original
        assert original[0] == 3
        cursor.execute("SELECT household_id, balance FROM points_account ORDER BY id")
        assert dict(cursor.fetchall())[card_a.household_id] == 107
        with pytest.raises(psycopg.Error, match="append-only"):
            cursor.execute("DELETE FROM points_entry")


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_with_tables(tmp_path, card_a):
    dump = tmp_path / "backup.dump"
    call_command("backup_db", output=str(dump))
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore_db", str(dump))
