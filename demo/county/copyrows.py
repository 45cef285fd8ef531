"""Rows with ids handed out in Python, written to PostgreSQL with COPY.

The generator gives every row its id itself, so rows can point at each other (a proposal at
its entry, a movement at its redemption) before anything is written; the tables' identity
sequences are moved past the highest id at the end.
"""

import io

NULL = r"\N"


def copy_in(cursor, statement: str, text: str) -> None:
    """Run `COPY ... FROM STDIN` with `text` (tab-separated lines) as its input: psycopg 3's
    copy, or psycopg2's copy_expert (a Django cursor hands either to the driver's)."""
    if hasattr(cursor, "copy_expert"):
        cursor.copy_expert(statement, io.StringIO(text))
        return
    with cursor.copy(statement) as copy:
        copy.write(text)


def ts(day, hour: int, minute: int, offset: str) -> str:
    """A timestamptz literal that sorts as text within one offset: '2024-05-07 09:13:00+0800'."""
    return f"{day.isoformat()} {hour:02d}:{minute:02d}:00{offset}"


class Table:
    """Buffered rows of one table; `add` returns the new row's id."""

    def __init__(self, cursor, name: str, columns: list[str]):
        self.name = name
        self.columns = ["id", *columns]
        self.rows: list[list] = []
        self.count = 0
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {name}")  # noqa: S608 (our names)
        self.next_id = cursor.fetchone()[0]

    def add(self, *values) -> int:
        row_id = self.next_id
        self.next_id += 1
        self.rows.append([row_id, *values])
        return row_id

    def flush(self, cursor) -> None:
        if not self.rows:
            return
        # NULLs are already the NULL marker.
        text = "".join("\t".join(map(str, row)) + "\n" for row in self.rows)
        copy_in(cursor, f"COPY {self.name} ({', '.join(self.columns)}) FROM STDIN", text)
        self.count += len(self.rows)
        self.rows = []

    def sequence_reset(self, cursor) -> None:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{self.name}', 'id'), "  # noqa: S608
            f"(SELECT COALESCE(MAX(id), 1) FROM {self.name}))"
        )


class BulkLoad:
    """Drop the secondary indexes and foreign keys of `tables` for a bulk load, then put them
    back: one sort per index and one set-based check per foreign key instead of a lookup per
    row, as pg_restore does. Inside the caller's transaction, so a failure leaves them intact.
    """

    def __init__(self, cursor, tables: list[str]):
        self.cursor = cursor
        self.tables = tables

    def __enter__(self):
        cursor = self.cursor
        # Run the deferred checks of rows inserted so far: ALTER TABLE refuses pending ones.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            """
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s)
            """,
            [self.tables],
        )
        self.foreign_keys = cursor.fetchall()
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid::regclass::text = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            """,
            [self.tables],
        )
        self.indexes = cursor.fetchall()
        for table, name, _definition in self.foreign_keys:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for name, _definition in self.indexes:
            cursor.execute(f"DROP INDEX {name}")
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            return False  # the transaction rolls back, and the drops with it
        cursor = self.cursor
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _name, definition in self.indexes:
            cursor.execute(definition)
        for table, name, definition in self.foreign_keys:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        return False
