"""Reads of the store: catalogue, stock list, summaries and the public notice's rows.

Every function takes the village explicitly, so nothing here can leak another village's data.
"""

import datetime
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Count,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import pgettext

from core import sql
from core.forms import number_text
from core.months import month_span
from core.text import list_join
from store import sql as store_sql
from store.models import (
    Donation,
    Item,
    Redemption,
    RedemptionLine,
    Reservation,
    ReservationLine,
    StockCorrection,
    StockMovement,
    Zone,
)
from villagers.models import Household, Village


def zones_of(village: Village) -> list[Zone]:
    return list(Zone.objects.filter(village=village))


def items_search(queryset: QuerySet, *, zone_code: str = "", query: str = "") -> QuerySet:
    """Narrow items by zone code and a name search; a barcode finds its item in any zone
    (a scanner reads what is in the hand, whatever zone tab is open), typed with full-width
    digits too (a scanner typing through a Chinese input method)."""
    in_zone = Q(zone__code=zone_code) if zone_code else Q()
    query = (query or "").strip()
    if not query:
        return queryset.filter(in_zone)
    return queryset.filter((in_zone & Q(name__icontains=query)) | Q(barcode=number_text(query)))


def catalogue_items(village: Village, *, zone_code: str = "", query: str = "") -> QuerySet:
    """What villagers can see: items on sale, by zone."""
    items = Item.objects.filter(village=village, is_active=True).select_related("zone")
    return items_search(items, zone_code=zone_code, query=query).order_by(
        "zone__position", "name", "pk"
    )


@dataclass
class ShelvesState:
    version: str  # digest of every item and zone row of the village, stock included
    balance: int | None  # the household's, None without an account
    card_number: str | None  # its active card's
    unread_notifications: int  # its unread messages (the villager's bell)
    held: int | None  # its points held for reservations
    # At the counter: the household's redemption the teller confirmed last, if since `since`
    # and not voided (else None): its id, when, and the one-time key of the cart it charged.
    confirmed_id: int | None = None
    confirmed_at: datetime.datetime | None = None
    confirmed_key: uuid.UUID | None = None

    @property
    def spendable(self) -> int | None:
        """What the household may spend now: the balance less what its reservations hold."""
        return None if self.balance is None else self.balance - (self.held or 0)


def shelves_state(
    village: Village,
    household_id: int | None,
    *,
    teller_id: int | None = None,
    since: datetime.datetime | None = None,
) -> ShelvesState:
    """The shelves' fingerprint and what the household brings to them, in one query.

    A catalogue or counter page cached under the fingerprint (a digest of every item and
    zone row of the village: store.sql) is never out of date, and computing it over a
    village's few dozen items costs far less than building the page. With a teller, also
    the household's last redemption they confirmed since `since` (the counter's).
    """
    with connection.cursor() as cursor:
        sql.execute(
            cursor,
            store_sql.SHELVES_STATE,
            {
                "village": village.pk,
                "household": household_id,
                "teller": teller_id,
                "since": since,
            },
        )
        return ShelvesState(*cursor.fetchone())


def cart_items(village: Village, item_ids) -> list[Item]:
    """The village's items in a cart, by id: read on every counter page (store.sql)."""
    with connection.cursor() as cursor:
        sql.execute(
            cursor, store_sql.CART_ITEMS, {"village": village.pk, "items": sorted(item_ids)}
        )
        return [sql.instance(Item, row) for row in cursor.fetchall()]


def stock_items(
    village: Village, *, zone_code: str = "", query: str = "", low_only: bool = False
) -> QuerySet:
    """The staff stock list: every item, low-stock ones flagged."""
    items = Item.objects.filter(village=village).select_related("zone")
    if low_only:
        # Running low: an item on sale whose available units (stock less what reservations
        # hold) are at or below its threshold, as the dashboard counts them (one taken off
        # sale is not restocked).
        items = items.filter(Item.running_low())
    return items_search(items, zone_code=zone_code, query=query).order_by(
        "zone__position", "name", "pk"
    )


def redemption_key_used(key) -> bool:
    """Whether a redemption was made with this one-time key (it is unique in the deployment)."""
    return Redemption.objects.filter(idempotency_key=key).exists()


def redemptions_of(village: Village) -> QuerySet:
    """Redemptions with what a list or receipt shows, in a fixed number of queries."""
    lines = RedemptionLine.objects.select_related("item").order_by("item__name", "pk")
    return (
        Redemption.objects.filter(village=village)
        .select_related("household__group", "created_by", "voided_by", "entry", "collected_by")
        .prefetch_related(Prefetch("lines", queryset=lines))
    )


def items_summary(lines) -> str:
    """'大米 10kg ×2、菜籽油 ×1' from redemption lines (prefetched with their items)."""
    return list_join(f"{line.item.name} ×{line.quantity}" for line in lines)


def _item_totals(lines: QuerySet) -> list[dict]:
    return list(
        lines.values("item__name", "item__unit", "item__zone__code")
        .annotate(quantity=Sum("quantity"), points=Sum("points"))
        .order_by("-points", "item__name")
    )


def day_range(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """A local day as a range of instants (for redemption_village_recent; __date cannot)."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1) - datetime.timedelta(microseconds=1)


def _period_summary(village: Village, start, following) -> tuple[dict, QuerySet]:
    """The counter over [start, following) as it stood when the period ended: redemptions
    made in it, less those voided within it; a later void is the later period's news (ledger
    rule 7), so a closed day's or month's figures never change, as the notice's. The voids
    made in it of earlier redemptions are counted apart (their goods and points came back
    then), and `points_net` takes their points off `points`: the month report's figure (its
    points flow counts every void in the month it is made). Returns the figures and the
    redemptions kept."""
    made = Redemption.objects.filter(
        village=village, created_at__gte=start, created_at__lt=following
    )
    kept = made.exclude(voided_at__lt=following)
    totals = kept.aggregate(count=Count("pk"), points=Sum("total_points"))
    earlier = Redemption.objects.filter(
        village=village, created_at__lt=start, voided_at__gte=start, voided_at__lt=following
    ).aggregate(count=Count("pk"), points=Sum("total_points"))
    return {
        "count": totals["count"],
        "points": totals["points"] or 0,
        "households": kept.values("household").distinct().count(),
        "voided": made.filter(voided_at__lt=following).count(),
        "voided_earlier": earlier["count"],
        "voided_earlier_points": earlier["points"] or 0,
        "points_net": (totals["points"] or 0) - (earlier["points"] or 0),
        "items": _item_totals(RedemptionLine.objects.filter(redemption__in=kept)),
    }, kept


def summary_daily(village: Village, day: datetime.date) -> dict:
    """One day at the counter: totals and what went out (`_period_summary`)."""
    start = day_range(day)[0]
    figures, _kept = _period_summary(village, start, start + datetime.timedelta(days=1))
    return {"day": day, **figures}


def summary_monthly(village: Village, year: int, month: int) -> dict:
    """One month at the counter: per day and per item (`_period_summary`)."""
    start, following = month_span(year, month)
    figures, kept = _period_summary(village, start, following)
    days = list(
        kept.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(count=Count("pk"), points=Sum("total_points"))
        .order_by("day")
    )
    return {"year": year, "month": month, "days": days, **figures}


def notice_redemptions(village: Village, year: int, month: int) -> list[dict]:
    """Rows for the public notice: every redemption of the month, as the ledger has them.

    Each row: number, date, household_head, group, items (summary text), points, and
    `voided` when it was voided before the month ended (its void is listed among the month's
    reversals; a later void is the news of the month it is made in: ledger rule 7).
    """
    start, following = month_span(year, month)
    redemptions = (
        redemptions_of(village)
        .filter(created_at__gte=start, created_at__lt=following)
        .order_by("created_at", "pk")
    )
    return [
        {
            "number": redemption.number,
            "date": timezone.localtime(redemption.created_at).date(),
            "household_head": redemption.household.head_name,
            "group": redemption.household.group.name,
            "items": items_summary(redemption.lines.all()),
            "points": redemption.total_points,
            "voided": redemption.voided_at is not None and redemption.voided_at < following,
        }
        for redemption in redemptions
    ]


def money_spent(donation_ids) -> dict[int, Decimal]:
    """{money donation id: yuan of the purchases it paid for} in one query (others absent)."""
    return dict(
        StockMovement.objects.filter(
            paid_by_id__in=list(donation_ids), kind=StockMovement.Kind.PURCHASE
        )
        .order_by()
        .values_list("paid_by_id")
        .annotate(spent=Sum("cost_yuan"))
    )


def notice_donations(village: Village, year: int, month: int) -> list[dict]:
    """Rows for the public notice: the month's donations with their thanks.

    Each row: date, donor, donor_kind, kind (money/goods, display text), what, value (yuan),
    thanks.
    """
    goods = StockMovement.objects.filter(kind=StockMovement.Kind.DONATION).select_related("item")
    donations = (
        Donation.objects.filter(village=village, received_on__year=year, received_on__month=month)
        .select_related("donor")
        .prefetch_related(Prefetch("movements", queryset=goods.order_by("pk")))
        .order_by("received_on", "pk")
    )
    rows = []
    for donation in donations:
        what = donation.description
        if donation.kind == Donation.Kind.GOODS:
            listed = list_join(
                f"{m.item.name} ×{m.quantity}{m.item.unit}" for m in donation.movements.all()
            )
            what = (
                pgettext("a donation's description and its goods", "%(what)s (%(goods)s)")
                % {"what": what, "goods": listed}
                if what
                else listed
            )
        rows.append(
            {
                "date": donation.received_on,
                "donor": donation.donor.name,
                "donor_kind": donation.donor.get_kind_display(),
                "kind": donation.get_kind_display(),
                "what": what,
                "value": donation.value_yuan,
                "thanks": donation.thanks,
            }
        )
    return rows


def reservations_open_of(household: Household) -> list[Reservation]:
    """The household's reservations waiting to be collected (the counter), with their lines."""
    return list(
        Reservation.objects.filter(
            household=household, status=Reservation.Status.OPEN, expires_at__gt=timezone.now()
        )
        .prefetch_related("lines__item")
        .order_by("created_at", "pk")
    )


def reservations_of_household(household_id: int) -> QuerySet:
    """All the household's reservations, newest first (its own page)."""
    return (
        Reservation.objects.filter(household_id=household_id)
        .select_related("household", "created_by__member", "redemption__collected_by")
        .prefetch_related("lines__item")
        .order_by("-created_at", "-pk")
    )


def shortfalls_waiting(item: Item) -> QuerySet:
    """The item's corrections waiting for the supervisor that take goods out (write-offs
    and stock-take shortfalls), oldest first, with who asked: the write-off form shows
    them, so the same loss is not asked twice."""
    return (
        StockCorrection.objects.filter(
            item=item, status=StockCorrection.Status.PENDING, quantity__lt=0
        )
        .select_related("requested_by")
        .order_by("requested_at", "pk")
    )


# The open reservations the reserve page names, newest first; past these it says there are more.
RESERVATIONS_NAMED = 3


@dataclass(frozen=True)
class ReservationNamed:
    created_at: datetime.datetime
    goods: str


def reservations_open_named(household_id: int) -> tuple[list[ReservationNamed], bool]:
    """The household's open reservations, newest first, with their goods ('大米 ×2、油 ×1'),
    for the reserve page to name (at most RESERVATIONS_NAMED; and whether there are more):
    a villager whose phone lost the answer to Reserve otherwise reserved the same again.
    Only open ones: one cancelled or handed over minutes ago is not held twice."""
    lines = ReservationLine.objects.select_related("item").order_by("pk")
    reservations = list(
        Reservation.objects.filter(household_id=household_id, status=Reservation.Status.OPEN)
        .prefetch_related(Prefetch("lines", queryset=lines))
        .order_by("-created_at", "-pk")[: RESERVATIONS_NAMED + 1]
    )
    named = [
        ReservationNamed(reservation.created_at, items_summary(reservation.lines.all()))
        for reservation in reservations[:RESERVATIONS_NAMED]
    ]
    return named, len(reservations) > RESERVATIONS_NAMED


def pick_list(village: Village, day: datetime.date) -> dict:
    """What to put ready for collection: the open reservations made on `day`, per household
    and added up per item."""
    reservations = list(
        Reservation.objects.filter(
            village=village, status=Reservation.Status.OPEN, created_at__range=day_range(day)
        )
        .select_related("household__group")
        .prefetch_related("lines__item")
        .order_by("household__group__name", "household__number", "pk")
    )
    items = (
        ReservationLine.objects.filter(reservation__in=[r.pk for r in reservations])
        .values("item__name", "item__unit", "item__zone__position")
        .annotate(quantity=Sum("quantity"))
        .order_by("item__zone__position", "item__name")
    )
    return {
        "day": day,
        "reservations": reservations,
        "items": list(items),
        "open_count": Reservation.objects.filter(
            village=village, status=Reservation.Status.OPEN
        ).count(),
    }
