"""Credit the awards and deductions whose publicity period (公示期) has ended.

Run it from cron or a systemd timer in production (see the README); `make run` runs it with
`--every 60` beside the dev server. Safe to run twice, or in two processes at once: each
proposal is credited exactly once (points.publicity.proposals_credit_due).
"""

import os
import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections

from points.publicity import proposals_credit_due


class Command(BaseCommand):
    help = "Credit approved awards and deductions whose publicity period ended without objection."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Keep running, crediting every SECONDS, until stopped (or the parent exits).",
        )

    def handle(self, *args, every=0, **options):
        if every < 0:
            raise CommandError("--every must be positive.")
        if not every:
            self._run_once()
            return
        stop = []
        signal.signal(signal.SIGTERM, lambda *_args: stop.append(True))
        parent = os.getppid()
        self.stdout.write(f"Crediting due entries every {every} s; stop with Ctrl-C or SIGTERM.")
        try:
            while not stop and os.getppid() == parent:
                close_old_connections()
                self._run_once(quiet=True)
                # Sleep in short steps so a stop request or an orphaned loop ends promptly.
                for _step in range(every):
                    if stop or os.getppid() != parent:
                        break
                    time.sleep(1)
        except KeyboardInterrupt:
            pass

    def _run_once(self, quiet=False):
        run = proposals_credit_due()
        if run.credited or run.held or not quiet:
            self.stdout.write(f"Credited {len(run.credited)}, held {len(run.held)}.")
        for pk in run.held:
            self.stderr.write(f"proposal {pk}: deduction held (too few points), see the supervisor")
