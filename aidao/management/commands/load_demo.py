"""Load the demo county: 啊道村 with its households, staff, ledger, store and wishes.

Each app contributes its part through `<app>.demo.load(ctx)`, called in layer order; the
context carries the village, the demo staff and a seeded random generator so the data is
the same on every run.
"""

import importlib
import importlib.util
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
        self.cards = []


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
        else:
            self._load(seed)
        from villagers.demo import demo_logins_text

        self.stdout.write(self.style.SUCCESS(demo_logins_text()))

    def _load(self, seed):
        ctx = DemoContext(seed)
        with transaction.atomic():
            for app in DEMO_APPS:
                if importlib.util.find_spec(f"{app}.demo") is None:
                    continue
                importlib.import_module(f"{app}.demo").load(ctx)
                self.stdout.write(f"  {app}: loaded")
