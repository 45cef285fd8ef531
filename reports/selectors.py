"""Aggregate reads for the dashboard, the monthly and year reports and the county overview.

Every function runs a fixed number of queries whatever the number of villages, households or
ledger rows: figures come from GROUP BY aggregates and correlated subqueries, never from a
loop of queries. Figures follow the ledger and the stock movements, with these meanings:

- points *issued*: opening grants and awards (issued = opening + awarded); *deducted*:
  deductions, from the ledger, as posted. A reversal of an award or a deduction is its own
  figure (*reversed*), in the month it is posted: it never nets into what it cancels, so no
  month shows a negative "issued" (the county overview and its trend included).
- points *redeemed*: what the store took in during the month, less what the month's voids
  gave back, each in the month it was posted: the public notice's "spent" (goods redeemed,
  less redemptions voided), so a month's figure never changes once it is over, and the
  report, the notice and the zone totals agree. A month with a void and few redemptions
  may show a negative figure.
- points *carried over* from the paper ledger, *reversed* and *lapsed* (Flow): each its own
  figure, so that with the points held at a month's start (the county overview: today's
  balances less the entries since) the month adds up to the next month's start.
- *stock value*: the goods on sale on the shelves at points prices (and its reference value
  in yuan).
- *open wishes*: wishes not yet met (open, or matched with a donor and waiting) of
  households still in the village (`wishwall.selectors.wishes_waiting`).
"""

import datetime
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from core import sql
from core.months import add_months, local_start, month_days, months_ending, next_month
from core.numbers import ratio, to_cents
from core.queue import cron_longest_gap
from notifications.models import Notification
from points.models import Account, Declaration, Entry, Objection, Proposal, Rule
from reports import sql as reports_sql
from store.models import Donation, Item, RedemptionLine, Reservation, StockMovement, Zone
from villagers.models import Card, Household, Inspection, Village
from villagers.oversight import Oversight
from wishwall.models import Wish
from wishwall.selectors import wishes_waiting

LOW_STOCK_SHOWN = 10
VISIT_AFTER_MONTHS = 3
YUAN = DecimalField(max_digits=12, decimal_places=2)


# --- periods ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A span of local days [start, end): a month, a year or the last twelve months."""

    start: datetime.date
    end: datetime.date

    @classmethod
    def month(cls, year: int, month: int) -> "Period":
        return cls(*month_days(datetime.date(year, month, 1)))

    @classmethod
    def year(cls, year: int) -> "Period":
        return cls(datetime.date(year, 1, 1), datetime.date(year + 1, 1, 1))

    @property
    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        return local_start(self.start), local_start(self.end)

    @property
    def months(self) -> list[datetime.date]:
        months, day = [], self.start.replace(day=1)
        while day < self.end:
            months.append(day)
            day = add_months(day, 1)
        return months


# --- points flow ------------------------------------------------------------------------------


@dataclass
class Flow:
    """Points moved in one month (or summed over several), each kind on its own line.

    `reversed_awards` are points taken back by reversing awards, `reversed_deductions`
    points given back by reversing deductions (both counted positive), `reversals` how
    many such reversals were posted. `carried` are balances carried over from the paper
    ledger (points.carryover), `lapsed` points lapsed at a yearly settlement (counted
    positive): neither is issued nor deducted, but both move balances.

    `redeemed` is net of every void made in the month; `voided_earlier` are the points its
    voids of earlier months' redemptions gave back (counted positive), so
    `redeemed_in_month` is what the month's own redemptions kept, as the store's monthly
    summary counts it (store.selectors.summary_monthly).
    """

    month: datetime.date | None = None
    opening: int = 0
    awarded: int = 0
    deducted: int = 0
    redeemed: int = 0
    reversed_awards: int = 0
    reversed_deductions: int = 0
    reversals: int = 0
    carried: int = 0
    lapsed: int = 0
    voided_earlier: int = 0

    @property
    def issued(self) -> int:
        return self.opening + self.awarded

    @property
    def redeemed_in_month(self) -> int:
        return self.redeemed + self.voided_earlier

    @property
    def reversed_and_lapsed(self) -> int:
        """What reversals and lapses did to the balances, signed: deductions given back, less
        awards taken back and points lapsed."""
        return self.reversed_deductions - self.reversed_awards - self.lapsed

    @property
    def change(self) -> int:
        """What the flow did to the balances: every entry's points, whatever its kind."""
        return self.issued - self.deducted - self.redeemed + self.carried + self.reversed_and_lapsed

    def add(self, other: "Flow") -> None:
        for name in FLOW_FIGURES:
            setattr(self, name, getattr(self, name) + getattr(other, name))


FLOW_FIGURES = (
    "opening",
    "awarded",
    "deducted",
    "redeemed",
    "reversed_awards",
    "reversed_deductions",
    "reversals",
    "carried",
    "lapsed",
    "voided_earlier",
)


def report_state(village: Village, period: "Period") -> str:
    """The key of the village's report of `period` (its notice, month or year report and
    their .xlsx): a digest of every row they show, one statement (reports.sql.REPORT_STATE)."""
    start, end = period.bounds
    params = {
        "village": village.pk,
        "start": start,
        "end": end,
        "month": period.start,
        "now": timezone.now(),
    }
    with connection.cursor() as cursor:
        sql.execute(cursor, reports_sql.REPORT_STATE, params)
        return cursor.fetchone()[0]


def _entries_in(start: datetime.datetime, end: datetime.datetime) -> QuerySet:
    # The kind an entry counts as: its own, or for a reversal the kind of what it cancels.
    # Looked up only for reversals: joining every entry to the one it reverses had
    # PostgreSQL read the whole ledger to build the join.
    reversed_kind = Entry.objects.filter(pk=OuterRef("reverses_id")).values("kind")
    return Entry.objects.filter(created_at__gte=start, created_at__lt=end).annotate(
        basis=Case(When(reverses__isnull=True, then=F("kind")), default=Subquery(reversed_kind))
    )


def _flow_add(
    flow: Flow, kind: str, basis: str, points: int, count: int, earlier: bool = False
) -> None:
    """Add one (kind, basis) total of the ledger to `flow`. `redeemed` is what the store
    took in the month less what voids made in the month gave back, as the public notice
    counts it: a month's figure never changes once it is over (a void made later is the
    later month's). `earlier`: the total reverses entries of earlier months (a void of an
    earlier month's redemption is also counted apart, in `voided_earlier`)."""
    if kind == Entry.Kind.REDEMPTION or (
        kind == Entry.Kind.REVERSAL and basis == Entry.Kind.REDEMPTION
    ):
        flow.redeemed -= points
        if kind == Entry.Kind.REVERSAL and earlier:
            flow.voided_earlier += points
    elif kind == Entry.Kind.OPENING:
        flow.opening += points
    elif kind == Entry.Kind.AWARD:
        flow.awarded += points
    elif kind == Entry.Kind.DEDUCTION:
        flow.deducted -= points
    elif kind == Entry.Kind.REVERSAL and basis == Entry.Kind.AWARD:
        flow.reversed_awards -= points
        flow.reversals += count
    elif kind == Entry.Kind.REVERSAL and basis == Entry.Kind.DEDUCTION:
        flow.reversed_deductions += points
        flow.reversals += count
    elif kind == Entry.Kind.CARRIED:
        flow.carried += points
    elif kind == Entry.Kind.LAPSE:
        flow.lapsed -= points


def _local_day(moment: datetime.datetime) -> datetime.date:
    """The local day of a truncated moment: read through a subquery, it comes as the local
    wall clock, without its time zone (Django converts only what it truncates itself)."""
    return (timezone.localtime(moment) if timezone.is_aware(moment) else moment).date()


def points_flow(village: Village, period: Period) -> list[Flow]:
    """One Flow per month of the period, oldest first (one query)."""
    start, end = period.bounds
    # For a reversal only (as its basis), the month of what it reverses.
    reversed_month = Subquery(
        Entry.objects.filter(pk=OuterRef("reverses_id"))
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values("month")
    )
    rows = (
        _entries_in(start, end)
        .filter(account__village=village)
        .annotate(
            month=TruncMonth("created_at"),
            reversed_month=Case(When(reverses__isnull=True, then=None), default=reversed_month),
        )
        .values("month", "kind", "basis", "reversed_month")
        .annotate(points=Sum("points"), count=Count("id"))
        .order_by()
    )
    flows = {month: Flow(month=month) for month in period.months}
    for row in rows:
        month = timezone.localtime(row["month"]).date()
        earlier = row["reversed_month"] is not None and _local_day(row["reversed_month"]) < month
        _flow_add(flows[month], row["kind"], row["basis"], row["points"], row["count"], earlier)
    return list(flows.values())


def flow_total(flows: list[Flow]) -> Flow:
    total = Flow()
    for flow in flows:
        total.add(flow)
    return total


# --- the supervisor's dashboard ---------------------------------------------------------------


def pending_approvals(village: Village) -> dict:
    """How many proposals wait for the supervisor, and since when the oldest has waited."""
    row = Proposal.objects.filter(village=village, status=Proposal.Status.PROPOSED).aggregate(
        count=Count("pk"), oldest=Min("proposed_at")
    )
    row["age_days"] = (timezone.now() - row["oldest"]).days if row["oldest"] else None
    return row


def declarations_waiting(village: Village) -> dict:
    """Villagers' declarations (积分申报) the manager has not reviewed yet, and the oldest's age."""
    row = Declaration.objects.filter(
        village=village, status=Declaration.Status.SUBMITTED
    ).aggregate(count=Count("pk"), oldest=Min("submitted_at"))
    row["age_days"] = (timezone.now() - row["oldest"]).days if row["oldest"] else None
    return row


# The units of an item that will fetch points: its stock less what waits to be written off
# (what reservations hold is sold at the hand-over).
ON_OFFER = F("stock") - F("writing_off")


def stock_summary(village: Village) -> dict:
    """Stock value at points prices (and in yuan for reference) and the items running low.

    The value is what the shelves fetch today: goods on sale only, as the cover beside it
    and the county's stock value count it (an item off sale cannot be had for points), less
    what waits to be written off."""
    items = Item.objects.filter(village=village)
    low = Item.running_low()
    totals = items.aggregate(
        points=Coalesce(Sum(ON_OFFER * F("points_price"), filter=Q(is_active=True)), 0),
        items=Count("pk"),
        low_count=Count("pk", filter=low),
    )
    totals["yuan"] = totals["points"] * village.yuan_per_point
    totals["low_items"] = list(
        items.filter(low)
        .select_related("zone")
        .order_by(ON_OFFER - F("held"), "name")[:LOW_STOCK_SHOWN]
    )
    return totals


def wishes_open(village: Village) -> dict:
    return wishes_waiting([village.pk]).aggregate(
        open=Count("pk", filter=Q(status=Wish.Status.OPEN)),
        matched=Count("pk", filter=Q(status=Wish.Status.MATCHED)),
    )


def rules_most_used(village: Village, period: Period, limit: int = 5) -> list[dict]:
    """Rules by number of approved proposals posted in the period."""
    start, end = period.bounds
    return list(
        Proposal.objects.filter(
            village=village,
            status=Proposal.Status.APPROVED,
            entry__created_at__gte=start,
            entry__created_at__lt=end,
        )
        .values("rule_id", "rule__code", "rule__description", "rule__category")
        .annotate(count=Count("pk"), points=Sum("points"))
        .order_by("-count", "rule__code")[:limit]
    )


def households_to_visit(village: Village, today: datetime.date | None = None) -> QuerySet:
    """Active households with an active card that earned no award in the last three months.

    An award later reversed does not count as earned. Newest silence last: those who have
    never earned anything come first, then by the date of their last award.
    """
    today = today or timezone.localdate()
    cutoff = local_start(add_months(today, -VISIT_AFTER_MONTHS))
    awards = Entry.objects.filter(
        account__household=OuterRef("pk"),
        kind=Entry.Kind.AWARD,
        reversed_by__isnull=True,
    )
    return (
        Household.objects.filter(
            village=village,
            status=Household.Status.ACTIVE,
            cards__status=Card.Status.ACTIVE,
        )
        .exclude(Exists(awards.filter(created_at__gte=cutoff)))
        .annotate(
            last_award=Subquery(
                awards.order_by()
                .values("account__household")
                .annotate(at=Max("created_at"))
                # One row per household: the GROUP BY turns the subquery into a single value.
                .values("at")
            ),
        )
        .select_related("group")
        .order_by(F("last_award").asc(nulls_first=True), "number")
    )


def redemptions_by_zone(village: Village, period: Period) -> list[dict]:
    """Points and quantities redeemed per zone, zone order: as the period's `redeemed`, what
    was taken in less what the period's voids gave back (a redemption voided in its own
    period counts nothing). By the zone each line was redeemed from: an item moved since
    leaves a past (and published) month as it was."""
    start, end = period.bounds
    made = Q(redemption__created_at__gte=start, redemption__created_at__lt=end)
    voided = Q(redemption__voided_at__gte=start, redemption__voided_at__lt=end)
    totals = {
        row["zone_id"]: row
        for row in RedemptionLine.objects.filter(made | voided, redemption__village=village)
        .values("zone_id")
        .annotate(
            points=Coalesce(Sum("points", filter=made), 0)
            - Coalesce(Sum("points", filter=voided), 0),
            quantity=Coalesce(Sum("quantity", filter=made), 0)
            - Coalesce(Sum("quantity", filter=voided), 0),
        )
        .order_by()
    }
    return [
        {
            "zone": zone,
            "label": zone.get_code_display(),
            "points": totals.get(zone.pk, {}).get("points") or 0,
            "quantity": totals.get(zone.pk, {}).get("quantity") or 0,
        }
        for zone in Zone.objects.filter(village=village)
    ]


# --- the monthly and year reports -------------------------------------------------------------


def totals_by_category(village: Village, period: Period) -> list[dict]:
    """Approved awards and deductions posted in the period, per rule category.

    As on the public notice, an approval counts even if later reversed (the notice marks it).
    """
    start, end = period.bounds
    rows = {
        row["rule__category"]: row
        for row in Proposal.objects.filter(
            village=village,
            status=Proposal.Status.APPROVED,
            entry__account__village=village,  # through entry_account_time, as the notice
            entry__created_at__gte=start,
            entry__created_at__lt=end,
        )
        .values("rule__category")
        .annotate(count=Count("pk"), points=Sum("points"))
        .order_by()
    }
    return [
        {
            "category": code,
            "label": label,
            "count": rows.get(code, {}).get("count", 0),
            "points": rows.get(code, {}).get("points") or 0,
        }
        for code, label in Rule.Category.choices
    ]


def purchases_by_fund_source(village: Village, period: Period) -> list[dict]:
    """Goods bought in the period per fund source: purchases, units and cost in yuan."""
    start, end = period.bounds
    rows = {
        row["fund_source"]: row
        for row in StockMovement.objects.filter(
            village=village,
            kind=StockMovement.Kind.PURCHASE,
            created_at__gte=start,
            created_at__lt=end,
        )
        .values("fund_source")
        .annotate(count=Count("pk"), quantity=Sum("quantity"), cost=Sum("cost_yuan"))
        .order_by()
    }
    return [
        {
            "source": code,
            "label": label,
            "count": rows.get(code, {}).get("count", 0),
            "quantity": rows.get(code, {}).get("quantity") or 0,
            "cost": rows.get(code, {}).get("cost") or 0,
        }
        for code, label in StockMovement.FundSource.choices
    ]


def donations_by_donor(village: Village, period: Period) -> list[dict]:
    """Donations received in the period per donor: money given and estimated goods value."""
    money, goods = Q(kind=Donation.Kind.MONEY), Q(kind=Donation.Kind.GOODS)
    return list(
        Donation.objects.filter(
            village=village, received_on__gte=period.start, received_on__lt=period.end
        )
        .values("donor_id", "donor__name", "donor__kind")
        .annotate(
            count=Count("pk"),
            money=Coalesce(Sum("value_yuan", filter=money), Value(0), output_field=YUAN),
            goods=Coalesce(Sum("value_yuan", filter=goods), Value(0), output_field=YUAN),
        )
        .order_by("-count", "donor__name")
    )


# --- the county overview ----------------------------------------------------------------------


def _by_village(queryset: QuerySet, village_path: str, value) -> dict[int, int]:
    """{village id: the aggregate `value` of `queryset`}, in one GROUP BY query."""
    rows = queryset.order_by().values_list(village_path).annotate(value=value)
    return {village_id: total or 0 for village_id, total in rows}


def _last_activity(village_ids: list[int]) -> dict[int, datetime.datetime]:
    """{village id: its latest ledger entry, stock movement or wish}."""
    # Each account's latest entry through the (account, created_at) index, so the cost
    # follows the number of accounts, never of entries.
    latest_entry = Subquery(
        Entry.objects.filter(account=OuterRef("pk"))
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    latest = dict(
        Account.objects.filter(village_id__in=village_ids)
        .annotate(latest=latest_entry)
        .order_by()
        .values_list("village_id")
        .annotate(last=Max("latest"))
    )
    for model in (StockMovement, Wish):
        # One index probe per village (village, created_at): max() over an index range.
        rows = Village.objects.filter(pk__in=village_ids).values_list(
            "pk",
            Subquery(
                model.objects.filter(village=OuterRef("pk"))
                .order_by("-created_at")
                .values("created_at")[:1]
            ),
        )
        for village_id, moment in rows:
            if moment and (village_id not in latest or moment > latest[village_id]):
                latest[village_id] = moment
    return latest


COUNTY_SORTS = {
    "name": "name",
    "households": "household_count",
    "cards": "card_count",
    "issued": "issued",
    "deducted": "deducted",
    "redeemed": "redeemed",
    "carried": "carried",
    "reversed": "reversed_and_lapsed",
    "held_start": "points_held_at_start",
    "held": "points_held",
    "pending": "pending",
    "stock": "stock_points",
    "cover": "stock_cover",
    "inspections": "pass_rate",
    "wishes": "wishes_open",
    "trend": "trend_total",
    "activity": "last_activity",
}
TREND_MONTHS = 12
# Entries counted as issued (awards, opening grants) or deducted, as posted: a reversal is
# its own figure, never netted into what it cancels.
FLOW_ENTRY_KINDS = [Entry.Kind.AWARD, Entry.Kind.OPENING, Entry.Kind.DEDUCTION]
# How long a closed month's sums stay in the cache unread: they are checked on every read
# (see _flows_by_village), so this only bounds what that check scans.
CLOSED_MONTHS_MAX_AGE = 31 * 24 * 60 * 60
# What a passed hygiene inspection is (Inspection.passed): all six checks.
INSPECTION_PASSED = Q(**{name: True for name, _label in Inspection.CHECKS})


def _flows_by_village(ids: list[int], months: list[datetime.date], end) -> dict[int, dict]:
    """{village id: {"issued": [points issued each month of `months`], "deducted": points
    deducted in the last one}}: one GROUP BY over the months' entries not in the cache.

    A closed month's sums (months that ended before yesterday) are kept in the cache with
    `through`, the highest entry id when they were added up. Entries are appended with ids
    from one sequence, so an entry posted into that month later (a loader backdating it:
    points.ledger takes `at`) has a higher id, and one query over the entries posted since
    the oldest `through` (a day's, as each read moves `through` on) tells which kept months
    are still exact. The county .xlsx is as exact as adding everything up afresh.
    """
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
    keys = {month: f"county-month-flows:{month:%Y-%m}:{digest}" for month in months}
    closed = [month for month in months if next_month(month) < timezone.localdate()]
    cached = cache.get_many([keys[month] for month in closed])
    kept = {month: cached[keys[month]] for month in closed if keys[month] in cached}
    through = None
    if kept:
        posted, through = _posted_since(ids, min(k["through"] for k in kept.values()))
        kept = {m: k for m, k in kept.items() if posted.get(m, 0) <= k["through"]}
    by_month = {month: k["sums"] for month, k in kept.items()}
    missing = [month for month in months if month not in by_month]
    if missing:
        if through is None:  # before adding up: anything later is checked again
            through = _last_entry_id(ids)
        computed = {month: {} for month in missing}
        rows = (
            Entry.objects.filter(created_at__gte=local_start(missing[0]), created_at__lt=end)
            .filter(account__village_id__in=ids, kind__in=FLOW_ENTRY_KINDS)
            .annotate(month=TruncMonth("created_at"))
            .order_by()
            .values_list("account__village_id", "month", "kind")
            .annotate(points=Sum("points"))
        )
        for village_id, moment, kind, points in rows:
            month = timezone.localtime(moment).date()
            if month not in computed:
                continue  # a month in between that was already kept
            issued, deducted = computed[month].get(village_id, (0, 0))
            if kind in (Entry.Kind.AWARD, Entry.Kind.OPENING):
                issued += points
            elif kind == Entry.Kind.DEDUCTION:
                deducted -= points
            computed[month][village_id] = (issued, deducted)
        by_month.update(computed)
    if through is not None:  # the closed months, checked or added up through `through`
        cache.set_many(
            {keys[m]: {"through": through, "sums": by_month[m]} for m in closed},
            CLOSED_MONTHS_MAX_AGE,
        )
    return {
        village_id: {
            "issued": [by_month[month].get(village_id, (0, 0))[0] for month in months],
            "deducted": by_month[months[-1]].get(village_id, (0, 0))[1],
        }
        for village_id in ids
    }


def _last_entry_id(ids: list[int]) -> int:
    """The highest entry id of the villages `ids` (0 before their first entry)."""
    last = Entry.objects.filter(account__village_id__in=ids).aggregate(last=Max("pk"))["last"]
    return last or 0


def _posted_since(ids: list[int], since: int) -> tuple[dict[datetime.date, int], int]:
    """({month: the highest id of the entries dated in it}, the highest id of all) over the
    entries of the villages `ids` with ids above `since`: one range of the primary key."""
    rows = (
        Entry.objects.filter(pk__gt=since, account__village_id__in=ids)
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values_list("month")
        .annotate(last=Max("pk"))
    )
    posted = {timezone.localtime(moment).date(): last for moment, last in rows}
    return posted, max([since, *posted.values()])


def _month_flows_by_village(
    ids: list[int], start: datetime.datetime, end: datetime.datetime
) -> dict[int, Flow]:
    """{village id: the month's Flow} for the villages `ids`: one GROUP BY over the month's
    entries, each kind counted as the village's points flow counts it (_flow_add), so the
    redeemed, carried over, reversed and lapsed points agree with the village's reports."""
    rows = (
        _entries_in(start, end)
        .filter(account__village_id__in=ids)
        .exclude(kind__in=FLOW_ENTRY_KINDS)  # issued and deducted: _flows_by_village
        .order_by()
        .values_list("account__village_id", "kind", "basis")
        .annotate(points=Sum("points"), count=Count("id"))
    )
    flows: dict[int, Flow] = {}
    for village_id, kind, basis, points, count in rows:
        _flow_add(flows.setdefault(village_id, Flow()), kind, basis, points, count)
    return flows


def _held_by_village(ids: list[int], start: datetime.datetime) -> dict[int, tuple[int, int]]:
    """{village id: (points held today, points held when `start` began)}: every account's
    balance, less for the start what its entries since moved; one statement, so both are of
    one moment. Each account's entries since through the (account, created_at) index: the
    cost follows the accounts and the entries since `start`."""
    since = Subquery(
        Entry.objects.filter(account=OuterRef("pk"), created_at__gte=start)
        .order_by()
        .values("account")
        .annotate(points=Sum("points"))
        .values("points")
    )
    rows = (
        Account.objects.filter(village_id__in=ids)
        .annotate(since=Coalesce(since, 0))
        .order_by()
        .values_list("village_id")
        .annotate(held=Sum("balance"), moved=Sum("since"))
    )
    return {village_id: (held or 0, (held or 0) - (moved or 0)) for village_id, held, moved in rows}


def _inspections_by_village(
    ids: list[int], before: datetime.date
) -> dict[int, tuple[int, int, int]]:
    """{village id: (households inspected before `before`, of which the latest inspection
    passed, and those left out for want of a leaving time)}: the latest round per household,
    one query.

    The households are those the village still had at `before` (the month's end: today's,
    for this month): not moved away or closed by then (`left_at`). Their registration does
    not matter: an inspection before `before` shows the household was there (a roster is
    often registered after its paper inspections). One marked moved or closed before the
    time was recorded may have been there or not: it is left out, and counted so the page
    can say so."""
    end = local_start(before)
    latest_passed = Subquery(
        Inspection.objects.filter(household=OuterRef("pk"), date__lt=before)
        .order_by("-date", "-id")
        .annotate(ok=ExpressionWrapper(INSPECTION_PASSED, output_field=BooleanField()))
        .values("ok")[:1]
    )
    there = Q(status=Household.Status.ACTIVE) | Q(left_at__gte=end)
    unknown = ~Q(status=Household.Status.ACTIVE) & Q(left_at__isnull=True)
    rows = (
        Household.objects.filter(village_id__in=ids)
        .filter(there | unknown)
        .annotate(latest_passed=latest_passed)
        .order_by()
        .values_list("village_id")
        .annotate(
            inspected=Count("pk", filter=there & Q(latest_passed__isnull=False)),
            passed=Count("pk", filter=there & Q(latest_passed=True)),
            left_unknown=Count("pk", filter=unknown & Q(latest_passed__isnull=False)),
        )
    )
    return {
        village_id: (inspected, passed, unknown) for village_id, inspected, passed, unknown in rows
    }


def _ratio(part, whole) -> Decimal | None:
    """part / whole to two places, None when there is nothing to divide by. The page and
    the .xlsx show this figure as it is (a pass rate of 0.58 is 58%): worked out again for
    one of them (widthratio, in floats) they disagreed (57% and 58% for 23 of 40)."""
    exact = ratio(part, whole)
    return None if exact is None else to_cents(exact)


def _county_figures(ids: list[int], month: Period) -> dict[int, dict]:
    """{village id: {figure: value}} for the villages `ids`, in twelve queries whatever
    their number.

    Each figure is one GROUP BY over the county's rows (or one index probe per village or
    household): correlated per-village aggregates made PostgreSQL walk the whole county's
    ledger once for every village.
    """
    start, end = month.bounds
    months = months_ending(month.start, TREND_MONTHS)
    figures = {
        "household_count": _by_village(
            Household.objects.filter(village_id__in=ids, status=Household.Status.ACTIVE),
            "village_id",
            Count("pk"),
        ),
        "card_count": _by_village(
            Card.objects.filter(household__village_id__in=ids, status=Card.Status.ACTIVE),
            "household__village_id",
            Count("pk"),
        ),
        "pending": _by_village(
            Proposal.objects.filter(village_id__in=ids, status=Proposal.Status.PROPOSED),
            "village_id",
            Count("pk"),
        ),
        "stock_points": _by_village(  # what the shelves fetch today: goods on sale only
            Item.objects.filter(village_id__in=ids, is_active=True),
            "village_id",
            Sum(ON_OFFER * F("points_price")),
        ),
        "wishes_open": _by_village(
            wishes_waiting(ids),
            "village_id",
            Count("pk"),
        ),
    }
    flows = _flows_by_village(ids, months, end)
    month_flows = _month_flows_by_village(ids, start, end)
    held = _held_by_village(ids, start)
    inspections = _inspections_by_village(ids, month.end)
    latest = _last_activity(ids)
    rows = {}
    for village_id in ids:
        row = {name: values.get(village_id, 0) for name, values in figures.items()}
        trend = flows[village_id]["issued"]
        flow = month_flows.get(village_id, Flow())
        points_held, held_at_start = held.get(village_id, (0, 0))
        inspected, passed, left_unknown = inspections.get(village_id, (0, 0, 0))
        row.update(
            issued=trend[-1],
            deducted=flows[village_id]["deducted"],
            redeemed=flow.redeemed,
            carried=flow.carried,
            reversed_and_lapsed=flow.reversed_and_lapsed,
            points_held=points_held,
            points_held_at_start=held_at_start,
            stock_cover=_ratio(row["stock_points"], points_held),
            inspected=inspected,
            inspections_passed=passed,
            pass_rate=_ratio(passed, inspected),
            inspected_left_unknown=left_unknown,
            trend=trend,
            trend_months=months,
            trend_total=sum(trend),
            last_activity=latest.get(village_id),
        )
        rows[village_id] = row
    return rows


# The figures' layout in the cache, raised when a figure is added (2: the households left
# out of the pass rate; 3: the points carried over, reversed and lapsed, and held at the
# month's start).
FIGURES_LAYOUT = 3


def county_figures(
    oversight: Oversight, *, month: Period, max_age: int = 0
) -> tuple[dict[int, dict], datetime.datetime]:
    """{village id: {figure: value}} for every village of the county (or of the township a
    township officer oversees), and when they were added up.

    With `max_age` (seconds) they may come from the cache, added up at most that long ago
    for the same villages: adding up a county's month reads tens of thousands of rows, its
    twelve-month trend hundreds of thousands. Without (the .xlsx), they are added up now,
    the closed months of the trend from the cache where it is checked exact (see
    _flows_by_village).
    """
    start, _end = month.bounds
    ids = sorted(oversight.villages().values_list("pk", flat=True))
    cache_key = f"county-figures:{oversight.key}:{start.isoformat()}"
    cached = cache.get(cache_key) if max_age else None
    # A village added since is a reason to add up again, and so are figures of another
    # layout (Redis outlives a deploy).
    if cached and cached["ids"] == ids and cached.get("layout") == FIGURES_LAYOUT:
        return cached["figures"], cached["as_of"]
    figures, as_of = _county_figures(ids, month), timezone.now()
    if max_age:
        kept = {"ids": ids, "figures": figures, "as_of": as_of, "layout": FIGURES_LAYOUT}
        cache.set(cache_key, kept, max_age)
    return figures, as_of


def county_villages(
    oversight: Oversight, figures: dict[int, dict], sort: str = "name"
) -> list[Village]:
    """The overseen villages with their `figures` (county_figures) as attributes, sorted.

    `sort` is a key of COUNTY_SORTS, with a leading "-" for descending; unknown keys sort by
    name. Ties (and villages without a last activity, always last) go by village code.
    """
    descending = sort.startswith("-")
    key = COUNTY_SORTS.get(sort.lstrip("-"), "name")
    villages = list(
        oversight.villages()
        .filter(pk__in=list(figures))
        .select_related("township")
        .order_by(F("name").desc() if descending and key == "name" else "name", "code")
    )
    for village in villages:
        for name, value in figures[village.pk].items():
            setattr(village, name, value)
    if key == "name":
        return villages
    villages.sort(key=lambda village: village.code)
    known = [village for village in villages if getattr(village, key) is not None]
    known.sort(key=lambda village: getattr(village, key), reverse=descending)  # stable
    return known + [village for village in villages if getattr(village, key) is None]


@dataclass
class CountyTotal:
    villages: int = 0
    household_count: int = 0
    card_count: int = 0
    issued: int = 0
    deducted: int = 0
    redeemed: int = 0
    carried: int = 0
    reversed_and_lapsed: int = 0
    points_held_at_start: int = 0
    points_held: int = 0
    pending: int = 0
    stock_points: int = 0
    stock_cover: Decimal | None = None
    inspected: int = 0
    inspections_passed: int = 0
    pass_rate: Decimal | None = None
    inspected_left_unknown: int = 0
    wishes_open: int = 0
    trend: list[int] = field(default_factory=list)
    trend_months: list[datetime.date] = field(default_factory=list)
    trend_total: int = 0
    last_activity: datetime.datetime | None = None


# The figures a county total adds up from its villages'.
SUMMED = (
    "household_count",
    "card_count",
    "issued",
    "deducted",
    "redeemed",
    "carried",
    "reversed_and_lapsed",
    "points_held_at_start",
    "points_held",
    "pending",
    "stock_points",
    "inspected",
    "inspections_passed",
    "inspected_left_unknown",
    "wishes_open",
    "trend_total",
)


def county_total(villages) -> CountyTotal:
    """The county's total row, from the already fetched village rows (no query): sums, the
    ratios of the sums, the trend month by month and the latest activity."""
    total = CountyTotal(trend=[0] * TREND_MONTHS)
    for village in villages:
        total.villages += 1
        for name in SUMMED:
            setattr(total, name, getattr(total, name) + getattr(village, name))
        total.trend_months = village.trend_months
        total.trend = [a + b for a, b in zip(total.trend, village.trend, strict=True)]
        if village.last_activity and (
            total.last_activity is None or village.last_activity > total.last_activity
        ):
            total.last_activity = village.last_activity
    total.stock_cover = _ratio(total.stock_points, total.points_held)
    total.pass_rate = _ratio(total.inspections_passed, total.inspected)
    return total


# Work the background worker does at its periodic task's next tick (core.queue): overdue by
# this much past the longest wait for a tick, no worker is running (or none keeps up).
WORK_LATE_AFTER = datetime.timedelta(minutes=15)


def background_work_late(village: Village) -> dict[str, datetime.datetime]:
    """What of the village's timed work is overdue, by kind, with the oldest time it was due:
    entries past their publicity period not credited, text messages not sent, reservations
    past their date still holding points and goods. One statement. Empty when the worker
    keeps up. A deployment whose crons tick less often (CREDIT_DUE_CRON,
    RESERVATION_EXPIRY_CRON) waits that much longer before calling the work late."""
    now = timezone.now()
    late = now - WORK_LATE_AFTER
    credits_late = late - cron_longest_gap(settings.CREDIT_DUE_CRON)
    reservations_late = late - cron_longest_gap(settings.RESERVATION_EXPIRY_CRON)
    oldest = {
        # An entry with an objection open waits for the supervisor, not for the worker.
        "credits": Proposal.objects.filter(
            village_id=OuterRef("pk"),
            status=Proposal.Status.PUBLICITY,
            credit_due_at__lt=credits_late,
        )
        .exclude(objections__status=Objection.Status.OPEN)
        .order_by("credit_due_at")
        .values("credit_due_at")[:1],
        "texts": Notification.objects.filter(
            village_id=OuterRef("pk"), sms_status=Notification.Sms.PENDING, sms_due_at__lt=late
        )
        .order_by("sms_due_at")
        .values("sms_due_at")[:1],
        "reservations": Reservation.objects.filter(
            village_id=OuterRef("pk"),
            status=Reservation.Status.OPEN,
            expires_at__lt=reservations_late,
        )
        .order_by("expires_at")
        .values("expires_at")[:1],
    }
    row = (
        Village.objects.filter(pk=village.pk)
        .values(**{f"late_{kind}": Subquery(query) for kind, query in oldest.items()})
        .get()
    )
    return {kind: row[f"late_{kind}"] for kind in oldest if row[f"late_{kind}"] is not None}
