"""Write a consistent backup of the database with pg_dump (custom format).

pg_dump reads inside one repeatable-read snapshot, so a backup taken while tellers work is
consistent: a redemption's ledger entry and its stock movements are both in it or both not.
"""

import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from aidao.pgtools import libpq_env, pg_binary


class Command(BaseCommand):
    help = "Back up the database to a pg_dump custom-format file (default: backups/)."

    def add_arguments(self, parser):
        parser.add_argument("--output", help="file to write (default backups/aidao-<time>.dump)")
        parser.add_argument("--database", default="default", help="Django database alias")

    def handle(self, *args, output=None, database="default", **options):
        if output is None:
            folder = Path(settings.BASE_DIR) / "backups"
            folder.mkdir(mode=0o700, exist_ok=True)
            output = folder / f"aidao-{timezone.now():%Y%m%d-%H%M%S}.dump"
        output = Path(output)
        # The dump holds everything, ID numbers, phones and PIN hashes included: readable by
        # its owner only, whatever the umask (the file is made before pg_dump fills it).
        try:
            output.touch(mode=0o600)
            output.chmod(0o600)
        except OSError as error:
            raise CommandError(f"cannot write {output}: {error.strerror}") from None
        result = subprocess.run(  # noqa: S603 (fixed program, no shell)
            [pg_binary("pg_dump"), "--format=custom", "--no-owner", "--file", str(output)],
            env=libpq_env(database),
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            output.unlink(missing_ok=True)
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")
        self.stdout.write(str(output))
