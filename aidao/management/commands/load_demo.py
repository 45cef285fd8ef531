"""Load the demo county: 啊道村 with its households, staff, ledger, store and wishes.

Each app contributes its part through `<app>.demo.load(ctx)`, called in layer order; the
context carries the village, the demo staff and a seeded random generator so the data is
the same on every run.
"""

import importlib
import random

from django.core.management.base import BaseCommand
from django.db import transaction

from villagers.models import Village

DEMO_APPS = ["villagers", "points", "store", "wishwall"]


class DemoContext:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.village = None
        self.staff = {}
        self.logins = []  # (role, login, password) lines printed at the end


class Command(BaseCommand):
    help = "Load the demo village 啊道村 (英旺鄉, 宜川縣) with demo logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when any village exists already (used by `make run`).",
        )
        parser.add_argument("--seed", type=int, default=2018)

    def handle(self, *args, if_empty=False, seed=2018, **options):
        if if_empty and Village.objects.exists():
            self.stdout.write("Demo data already loaded.")
            self._print_logins(None)
            return
        ctx = DemoContext(seed)
        with transaction.atomic():
            for app in DEMO_APPS:
                try:
                    module = importlib.import_module(f"{app}.demo")
                except ModuleNotFoundError:
                    continue
                module.load(ctx)
                self.stdout.write(f"  {app}: loaded")
        self._print_logins(ctx)

    def _print_logins(self, ctx):
        from villagers.demo import DEMO_LOGINS_TEXT

        self.stdout.write(self.style.SUCCESS(DEMO_LOGINS_TEXT))
