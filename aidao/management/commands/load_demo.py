"""Load the demo county: 啊道村 with its households, staff, ledger, store and wishes.

Each app contributes its part through hooks of `<app>.demo`, called in layer order:

- `load(ctx)`: set-up (the registry, rules, catalogue, donors, first stock), dated at the
  start of the history (`ctx.start`);
- `load_month(ctx, month)`, optional: what happened in one of the twelve past months,
  called month by month, oldest first, for every app in turn, so that ledger entries,
  redemptions, stock movements and donations interleave in time order;
- `load_present(ctx)`, optional: this month's open workflow, dated now, after the history.

An app without a `demo` module or without a hook is skipped. The context carries the
village, the demo staff and a seeded random generator, so the data is the same on every run.
"""

import datetime
import importlib
import importlib.util
import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from villagers.models import Village

DEMO_APPS = ["villagers", "points", "store", "wishwall"]


def past_months(today: datetime.date, count: int = 12) -> list[datetime.date]:
    """The first day of each of the `count` months before `today`'s, oldest first."""
    first = today.replace(day=1)
    months = []
    for _i in range(count):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
        months.append(first)
    return months[::-1]


class DemoContext:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.village = None
        self.staff = {}
        self.cards = []
        self.months = past_months(timezone.localdate())
        # The history begins on the morning of the first day of the oldest month.
        self.start = timezone.make_aware(
            datetime.datetime.combine(self.months[0], datetime.time(8))
        )


def demo_run(ctx: DemoContext, apps=DEMO_APPS, log=None) -> None:
    """Set up every app, replay the past months oldest first, then lay down the present."""
    modules = [
        importlib.import_module(f"{app}.demo")
        for app in apps
        if importlib.util.find_spec(f"{app}.demo") is not None
    ]
    for module in modules:
        module.load(ctx)
    for month in ctx.months:
        for module in modules:
            if hasattr(module, "load_month"):
                module.load_month(ctx, month)
    for module in modules:
        if hasattr(module, "load_present"):
            module.load_present(ctx)
        if log is not None:
            log(f"  {module.__name__.split('.')[0]}: loaded")


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
            with transaction.atomic():
                demo_run(DemoContext(seed), log=self.stdout.write)
        from villagers.demo import demo_logins_text

        self.stdout.write(self.style.SUCCESS(demo_logins_text()))
