"""The demo county: 啊道村 with its registry, a year of ledger and store history and its
wishes, then two generated neighbours (`demo.neighbours`).

Each part of the demo (`registry`, `ledger`, `store`, `wishes`) is loaded in layer order in
three steps, called explicitly by `demo_run`:

- `load(ctx)`: set-up (the registry, rules, catalogue, donors, first stock, wishes), dated at
  the start of the history (`ctx.start`);
- `load_month(ctx, month)` (ledger and store): what happened in one of the twelve past
  months, month by month, oldest first, so that ledger entries, redemptions, stock movements
  and donations interleave in time order;
- `load_present(ctx)` (ledger and store): this month's open workflow, dated now.

The context carries the village, the demo staff and a seeded random generator, shared by
the parts in this order, so the data is the same on every run.
"""

import datetime
import random

from django.utils import timezone

from core.months import months_ending, previous_month
from demo import ledger, neighbours, registry, store, wishes


def past_months(today: datetime.date, count: int = 12) -> list[datetime.date]:
    """The first day of each of the `count` months before `today`'s, oldest first."""
    return months_ending(previous_month(today), count)


class DemoContext:
    def __init__(self, seed: int):
        self.seed = seed
        self.rng = random.Random(seed)
        self.village = None
        self.staff = {}
        self.cards = []
        self.today = timezone.localdate()
        self.months = past_months(self.today)
        # The history begins on the morning of the first day of the oldest month.
        self.start = timezone.make_aware(
            datetime.datetime.combine(self.months[0], datetime.time(8))
        )


def demo_run(ctx: DemoContext, log=None) -> None:
    """Set up every part, replay the past months oldest first, then lay down the present."""
    log = log or (lambda line: None)
    registry.load(ctx)
    ledger.load(ctx)
    store.load(ctx)
    wishes.load(ctx)
    log("  registry, rules, catalogue and wishes: loaded")
    for month in ctx.months:
        # The month's points are decided by the 20th, its redemption day comes after.
        ledger.load_month(ctx, month)
        store.load_month(ctx, month)
    log(f"  {len(ctx.months)} months of ledger and store history: loaded")
    ledger.load_present(ctx)
    store.load_present(ctx)
    log("  this month's workflow: loaded")
    neighbours.load(ctx)
    log(f"  {len(neighbours.NEIGHBOURS)} neighbouring villages (generated): loaded")
