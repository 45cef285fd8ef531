"""Recompute the ledger, the store and the published notices from their rows and report any
broken invariant (exit 1 if any). What each app checks: README, "Checking the ledger"."""

import importlib

from django.core.management.base import BaseCommand, CommandError

# Apps whose `<app>.checks.check()` joins the audit, in layer order; missing ones are skipped.
AUDITED_APPS = ["points", "store", "reports"]


class Command(BaseCommand):
    help = (
        "Check the points ledger, the store and the published notices (of the apps present); "
        "exit non-zero on any problem."
    )

    def handle(self, *args, **options):
        problems = []
        for app in AUDITED_APPS:
            try:
                module = importlib.import_module(f"{app}.checks")
            except ModuleNotFoundError as error:
                if error.name != f"{app}.checks":
                    raise
                continue
            found = module.check()
            problems += [f"{app}: {line}" for line in found]
            self.stdout.write(f"  {app}: {len(found)} problem(s)")
        if problems:
            for line in problems:
                self.stderr.write(line)
            raise CommandError(f"{len(problems)} ledger problem(s) found.")
        self.stdout.write(self.style.SUCCESS("Ledger consistent."))
