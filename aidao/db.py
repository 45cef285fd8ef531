"""Database-level guards shared by the apps (append-only tables)."""

from django.db import migrations

REFUSE_CHANGE_FUNCTION = """
CREATE OR REPLACE FUNCTION aidao_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
"""


def append_only(table: str) -> migrations.RunSQL:
    """A migration operation making `table` refuse UPDATE and DELETE in PostgreSQL.

    TRUNCATE is left to the table owner (a deployment's migration role, and the test
    runner's flush between transactional tests); the app never issues it.
    """
    return migrations.RunSQL(
        sql=f"""
        CREATE TRIGGER {table}_append_only
            BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION aidao_refuse_change();
        """,
        reverse_sql=f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};",
    )
