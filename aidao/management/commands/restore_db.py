"""Restore a backup made by backup_db into an EMPTY database (all or nothing)."""

import subprocess

from django.core.management.base import BaseCommand, CommandError

from aidao.pgtools import libpq_env, pg_binary


class Command(BaseCommand):
    help = "Restore a backup_db file into an empty database (refuses a database with tables)."

    def add_arguments(self, parser):
        parser.add_argument("backup", help="the .dump file written by backup_db")
        parser.add_argument("--database", default="default", help="Django database alias")
        parser.add_argument("--dbname", help="restore into this database name instead")

    def handle(self, *args, backup, database="default", dbname=None, **options):
        env = libpq_env(database, dbname=dbname)
        tables = subprocess.run(  # noqa: S603 (fixed program, no shell)
            [
                pg_binary("psql"),
                "-At",
                "-c",
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if tables.returncode != 0:
            raise CommandError(f"cannot reach the target database: {tables.stderr.strip()}")
        if int(tables.stdout.strip() or 0) > 0:
            raise CommandError(
                "the target database is not empty; restore into a new, empty database"
            )
        result = subprocess.run(  # noqa: S603 (fixed program, no shell)
            [
                pg_binary("pg_restore"),
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                "--dbname",
                env["PGDATABASE"],
                backup,
            ],
            env=env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()}")
        self.stdout.write(self.style.SUCCESS(f"restored {backup} into {env['PGDATABASE']}"))
