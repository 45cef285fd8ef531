"""Fill an empty database with a deterministic county: 47 villages and three years of history
(or one village, or a province of ten such counties).

For load tests and growth checks (`make bench` runs it on its own databases). Bulk COPY,
running balances and stock computed in Python, caches set at the end; the ledger audit
runs afterwards and must pass.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from demo.county.generate import SEED, SIZES, county_generate
from villagers.models import Household, Village


class Command(BaseCommand):
    help = (
        "Generate one village, a county (47 villages) or a province (10 counties, 470 "
        "villages) with three years of history."
    )

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(SIZES), default="county")
        parser.add_argument("--seed", type=int, default=SEED)
        parser.add_argument(
            "--skip-audit", action="store_true", help="Do not run audit_ledger afterwards."
        )

    def handle(self, *args, size, seed, skip_audit, **options):
        if Village.objects.exists() or Household.objects.exists():
            raise CommandError(
                "The database already holds villages: generate_county only fills an empty "
                "database. Create a fresh one (createdb, then manage.py migrate) and point "
                "DATABASE_URL at it."
            )
        self.stdout.write(f"Generating the {size} dataset (seed {seed})...")
        counts = county_generate(size=size, seed=seed, log=self.stdout.write)
        for table, count in counts.items():
            self.stdout.write(f"  {table}: {count:,}")
        if not skip_audit:
            call_command("audit_ledger", stdout=self.stdout, stderr=self.stderr)
