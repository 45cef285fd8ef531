"""Three years of ledger and store history, laid down month by month in time order.

Each month every village draws its events from its own generator (proposals approved by the
supervisor, visits to the counter, restocking, donations, write-offs); then the month's
events of all villages are played in time order, exactly as the services would have played
them: a deduction or a cart the balance cannot cover is refused, a line the shelf cannot
fill is cut, every `balance_after` and `stock_after` is the running sum in id order.
"""

import datetime
import heapq
import itertools
import uuid
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from demo.county.copyrows import NULL, Table, copy_in, ts
from demo.county.events import EventHandlers
from demo.county.registry import INSPECTION_COLUMNS, VillagePlan

BATCH_TITLES = {
    "YW01": "义务打扫村道",
    "JT01": "村民大会",
    "CY03": "果树修剪培训",
    "YW02": "义务植树、修路",
}
# Households that come to the counter 0-3 times a month, with carts of 1-4 different goods.
VISITS = ([0, 1, 2, 3], [15, 40, 30, 15])
CART_LINES = ([1, 2, 3, 4], [25, 35, 25, 15])


class History(EventHandlers):
    """The ledger and the store of every village, played forward one month at a time."""

    def __init__(self, cursor, plans: list[VillagePlan], offset: str):
        self.cursor = cursor
        self.plans = plans
        self.offset = offset
        self.seq = itertools.count()
        self.balance = defaultdict(int)  # account id -> points
        self.stock = defaultdict(int)  # item id -> quantity
        self.sold = defaultdict(int)  # item id -> quantity redeemed this month
        self.batches = Table(
            cursor,
            "points_batch",
            ["village_id", "rule_id", "title", "date", "place", "created_by_id", "created_at"],
        )
        self.entries = Table(
            cursor,
            "points_entry",
            [
                "account_id",
                "kind",
                "points",
                "balance_after",
                "created_at",
                "created_by_id",
                "memo",
                "reverses_id",
            ],
        )
        self.proposals = Table(
            cursor,
            "points_proposal",
            [
                "village_id",
                "household_id",
                "rule_id",
                "batch_id",
                "points",
                "override_reason",
                "reason",
                "occurred_on",
                "member_id",
                "photo",
                "status",
                "proposed_by_id",
                "proposed_at",
                "decided_by_id",
                "decided_at",
                "rejection_reason",
                "entry_id",
                "credit_due_at",
                "hold_reason",
                "cancelled_at",
                "cancel_reason",
            ],
        )
        self.redemptions = Table(
            cursor,
            "store_redemption",
            [
                "village_id",
                "household_id",
                "entry_id",
                "total_points",
                "idempotency_key",
                "request_hash",
                "created_at",
                "created_by_id",
                "voided_at",
                "voided_by_id",
                "void_reason",
                "void_entry_id",
            ],
        )
        self.lines = Table(
            cursor,
            "store_redemptionline",
            ["redemption_id", "item_id", "zone_id", "quantity", "points_each", "points"],
        )
        self.donations = Table(
            cursor,
            "store_donation",
            [
                "village_id",
                "donor_id",
                "kind",
                "received_on",
                "value_yuan",
                "description",
                "thanks",
                "thanks_link_version",
                "created_at",
                "created_by_id",
            ],
        )
        self.movements = Table(
            cursor,
            "store_stockmovement",
            [
                "village_id",
                "item_id",
                "kind",
                "quantity",
                "stock_after",
                "fund_source",
                "cost_yuan",
                "cause",
                "reason",
                "donation_id",
                "redemption_id",
                "created_at",
                "created_by_id",
            ],
        )
        self.inspections = Table(cursor, "villagers_inspection", INSPECTION_COLUMNS)
        # In write order: a row is written after the rows it points at.
        self.tables = [
            self.batches,
            self.entries,
            self.proposals,
            self.redemptions,
            self.lines,
            self.donations,
            self.movements,
            self.inspections,
        ]
        with translation.override(settings.LANGUAGE_CODE):
            self.redemption_memo = gettext("Store redemption")
            self.opening_memo = gettext("Opening grant for card %(number)s")

    # --- playing a month -------------------------------------------------------------------

    def month_play(self, first: datetime.date, last: datetime.date) -> None:
        """Draw and play every village's events from `first` to `last` (inclusive); a village
        whose history begins later sits the month out, one beginning now opens its cards."""
        events = []
        for plan in self.plans:
            if first >= plan.first_month:
                events += self._month_draw(plan, first, last, opening=first == plan.first_month)
        heapq.heapify(events)
        self._queue = events
        while events:
            _when_, _seq, handler, args = heapq.heappop(events)
            handler(*args)
        for plan in self.plans:
            for item_id, *_rest in plan.items:
                self.sold[item_id] = 0
        for table in self.tables:
            table.flush(self.cursor)

    def _push(self, events, when: str, handler, *args) -> None:
        events.append((when, next(self.seq), handler, args))

    def _later(self, when: str, handler, *args) -> None:
        heapq.heappush(self._queue, (when, next(self.seq), handler, args))

    def _month_draw(self, plan: VillagePlan, first, last, opening: bool) -> list:
        """One village's month, drawn in a fixed order from the village's own generator."""
        rng, events, offset = plan.rng, [], self.offset
        earliest = 12 if opening else 1  # cards are issued in the first days of the history

        def day_of(number: int):
            return first.replace(day=number) if earliest <= number <= last.day else None

        if opening:
            for account_id, (issued, number) in plan.card_issued.items():
                self._push(events, issued, self._opening, account_id, plan, number)
        self._push(events, ts(first, 8, 0, offset), self._restock, plan, first)
        inspection = day_of(rng.randint(5, 10))
        batches = {}
        activity_days = [("YW01", d + rng.randint(0, 2)) for d in (3, 10, 17, 24)] + [
            ("JT01", rng.randint(20, 26)),
            ("CY03", rng.randint(1, 28)),
            ("YW02", rng.randint(1, 28)),
        ]
        for code, number in activity_days:
            day = day_of(number)
            if day is not None:
                batches[(code, number)] = self.batches.add(
                    plan.village_id,
                    plan.rules[code][0],
                    BATCH_TITLES[code],
                    day,
                    "村委会",
                    plan.manager_id,
                    ts(day, 18, 0, offset),
                )
        yard_days = (rng.randint(1, 14), rng.randint(15, 28))
        for household_id, account_id, _head in plan.accounts:
            chosen = []  # (rule code, day number, batch key)
            roll = rng.random()
            if roll < 0.9 and inspection is not None:
                passed = roll < 0.8
                chosen.append(("HJ01" if passed else "KF03", inspection.day, None))
                checks = [True] * 6 if passed else [True, True, False, True, True, True]
                self.inspections.add(
                    household_id,
                    inspection,
                    plan.manager_id,
                    *checks,
                    "" if passed else "厨房卫生需整改",
                    ts(inspection, 16, 0, offset),
                )
            for code, number in activity_days:
                chance = {"YW01": 0.5, "JT01": 0.6, "CY03": 0.25, "YW02": 0.3}[code]
                if rng.random() < chance:
                    chosen.append((code, number, (code, number)))
            chosen += [("HJ02", number, None) for number in yard_days if rng.random() < 0.35]
            for code, chance, months in (
                ("DD01", 0.15, None),
                ("DD02", 0.1, None),
                ("KF01", 0.04, None),
                ("KF04", 0.05, (10, 11)),
                ("KF05", 0.005, None),
                ("KF02", 0.002, None),
                ("CY01", 0.01, None),
                ("CY02", 0.002, None),
            ):
                number = rng.randint(1, 28)
                if rng.random() < chance and (months is None or first.month in months):
                    chosen.append((code, number, None))
            for code, number, batch_key in chosen:
                self._approval_draw(
                    events,
                    plan,
                    household_id,
                    account_id,
                    code,
                    day_of(number),
                    batches.get(batch_key),
                    None,
                    last,
                )
            for _visit in range(rng.choices(*VISITS)[0]):
                self._visit_draw(events, plan, household_id, account_id, day_of, last)
        if first.month == 12:
            self._honours_draw(events, plan, day_of(rng.randint(20, 28)), last)
        if first.month in (1, 4, 7, 10):
            self._donations_draw(events, plan, day_of(rng.randint(8, 12)))
        if first.month in (2, 5, 8, 11):
            self._write_off_draw(events, plan, day_of(rng.randint(24, 28)))
        return events

    def _approval_draw(
        self, events, plan, household_id, account_id, code, day, batch_id, member_id, last
    ):
        rng = plan.rng
        delay, hour, minute = rng.randint(1, 3), rng.randint(9, 11), rng.randint(0, 59)
        rejected, reversed_ = rng.random() < 0.015, rng.random() < 0.001
        if day is None:
            return
        decided_day = min(day + datetime.timedelta(days=delay), last)
        if decided_day == day:
            hour = 20  # proposed at 18:00 the same evening
        decided = ts(decided_day, hour, minute, self.offset)
        proposal = (
            plan,
            household_id,
            account_id,
            code,
            day,
            batch_id,
            member_id,
            ts(day, 18, 0, self.offset),
            decided,
        )
        if rejected:
            self._push(events, decided, self._rejection, *proposal)
        else:
            reversal = ts(min(decided_day + datetime.timedelta(days=2), last), 21, 0, self.offset)
            self._push(events, decided, self._approval, *proposal, reversal if reversed_ else None)

    def _visit_draw(self, events, plan, household_id, account_id, day_of, last):
        rng = plan.rng
        day = day_of(rng.randint(1, 28))
        hour, minute = rng.randint(9, 16), rng.randint(0, 59)
        wanted = [
            (item, rng.choice((1, 1, 1, 2, 3)))
            for item in rng.sample(plan.items, rng.choices(*CART_LINES)[0])
        ]
        budget = rng.randint(5, 32)
        key = uuid.UUID(int=rng.getrandbits(128), version=4)
        voided = rng.random() < 0.003
        if day is None:
            return
        self._push(
            events,
            ts(day, hour, minute, self.offset),
            self._redemption,
            plan,
            household_id,
            account_id,
            wanted,
            budget,
            key,
            voided,
            day,
            hour,
            minute,
        )

    def _honours_draw(self, events, plan, day, last):
        rng = plan.rng
        picks = rng.sample(plan.accounts, min(5, len(plan.accounts)))
        with_elders = [a for a in plan.accounts if a[0] in plan.elders]
        elders = rng.sample(with_elders, min(2, len(with_elders)))
        if day is None:
            return
        for (household_id, account_id, _head), code in zip(
            picks, ["RY01", "RY01", "RY01", "RY03", "RY03"], strict=False
        ):
            self._approval_draw(events, plan, household_id, account_id, code, day, None, None, last)
        for household_id, account_id, _head in elders:
            member_id = plan.elders[household_id][0]
            self._approval_draw(
                events, plan, household_id, account_id, "RY02", day, None, member_id, last
            )

    def _donations_draw(self, events, plan, day):
        rng = plan.rng
        money_donor = plan.donor_ids[rng.choice((0, 1, 4))]
        amount = Decimal(rng.randrange(1000, 20000, 500))
        goods_donor = plan.donor_ids[rng.choice((2, 3, 5))]
        goods = [(item, rng.randint(5, 20)) for item in rng.sample(plan.items, rng.randint(1, 3))]
        if day is None:
            return
        self._push(
            events,
            ts(day, 10, 0, self.offset),
            self._donation,
            plan,
            day,
            money_donor,
            amount,
            goods_donor,
            goods,
        )

    def _write_off_draw(self, events, plan, day):
        rng = plan.rng
        item, quantity = rng.choice(plan.items), rng.randint(1, 2)
        cause = rng.choice(("spoiled", "damaged"))
        if day is not None:
            when = ts(day, 17, 30, self.offset)
            self._push(events, when, self._write_off, plan, item, quantity, cause, when)

    # --- the present and the end ------------------------------------------------------------

    def pending_add(self, day: datetime.date) -> None:
        """Today's open work for each supervisor: a meeting batch and single proposals."""
        for plan in self.plans:
            rng = plan.rng
            proposed = ts(day, 18, 0, self.offset)
            batch_id = self.batches.add(
                plan.village_id,
                plan.rules["JT01"][0],
                BATCH_TITLES["JT01"],
                day,
                "村委会",
                plan.manager_id,
                proposed,
            )
            attending = rng.sample(plan.accounts, min(15, len(plan.accounts)))
            singles = rng.sample(plan.accounts, min(10, len(plan.accounts)))
            for household_id, _account, _head in attending:
                self._proposal_row(
                    plan, household_id, "JT01", day, batch_id, None, proposed, NULL, "proposed"
                )
            for position, (household_id, _account, _head) in enumerate(singles):
                code = ("DD02", "CY01")[position % 2]
                self._proposal_row(
                    plan, household_id, code, day, None, None, proposed, NULL, "proposed"
                )
        for table in self.tables:
            table.flush(self.cursor)

    def caches_set(self) -> None:
        """Set the cached balances and stocks to the sums just written, and the sequences."""
        cursor = self.cursor
        cursor.execute("CREATE TEMP TABLE bench_cache (id bigint PRIMARY KEY, value integer)")
        for table, column, values in (
            ("points_account", "balance", self.balance),
            ("store_item", "stock", self.stock),
        ):
            cursor.execute("TRUNCATE bench_cache")
            text = "".join(f"{key}\t{value}\n" for key, value in values.items())
            copy_in(cursor, "COPY bench_cache (id, value) FROM STDIN", text)
            cursor.execute(
                f"UPDATE {table} t SET {column} = c.value FROM bench_cache c "  # noqa: S608
                "WHERE t.id = c.id"
            )
        cursor.execute("DROP TABLE bench_cache")
        for table in self.tables:
            table.sequence_reset(cursor)
