"""Village transparency reads: the red/black board, where donations went, points cover.

Each function takes the village (or the donation) explicitly and runs a fixed number of
queries whatever the number of households, entries or movements.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from core.months import month_span
from core.numbers import to_cents
from points.models import Entry, Proposal
from points.selectors import NoticeSection
from store.models import Donation, Item, Redemption, StockMovement
from store.traceability import (
    DONATED_GOODS,
    STOCK_TAKE_SURPLUS,
    Lot,
    donation_lots,
    shelf_lots,
    village_lots,
)
from villagers.masking import mask_name
from villagers.models import Household, Village

RED_LIST_SIZE = 10
THANKS_REDEMPTIONS_SHOWN = 100


# --- red/black board (紅黑榜) ------------------------------------------------------------------


def _month_entries(village: Village, year: int, month: int, kind: str):
    """Credited entries of `kind` posted in the month and not reversed within it: a later
    reversal is the later month's news, and this month's notice may be published already
    (ledger rule 7), so the board stays as the notice has it."""
    start, following = month_span(year, month)
    return Entry.objects.filter(
        Q(reversed_by__isnull=True) | Q(reversed_by__created_at__gte=following),
        account__village=village,
        kind=kind,
        created_at__gte=start,
        created_at__lt=following,
    )


def board_month(village: Village, year: int, month: int) -> dict:
    """Red list: the households that earned most in the month (awards credited in it, not
    reversed); ties share a rank. Black list: the month's deductions by rule, counts only,
    with household names only if the village shows them, and only of deductions made since
    it began to (villagers.models.Village.black_list_names_since)."""
    start, following = month_span(year, month)
    earned = list(
        _month_entries(village, year, month, Entry.Kind.AWARD)
        .values(
            "account__household_id",
            "account__household__head_name",
            "account__household__group__name",
        )
        .annotate(points=Sum("points"))
        .order_by("-points", "account__household__number", "account__household_id")
    )
    red, rank, previous = [], 0, None
    for position, row in enumerate(earned, start=1):
        if row["points"] != previous:
            rank, previous = position, row["points"]
        if rank > RED_LIST_SIZE:
            break
        red.append(
            {
                "rank": rank,
                "household_head": row["account__household__head_name"],
                "group": row["account__household__group__name"],
                "points": row["points"],
            }
        )
    deductions = _month_entries(village, year, month, Entry.Kind.DEDUCTION)
    black = [
        {
            "code": row["proposal__rule__code"],
            "rule": row["proposal__rule__description"],
            "count": row["count"],
            "points": row["points"],
            "names": [],
        }
        for row in deductions.values("proposal__rule__code", "proposal__rule__description")
        .annotate(count=Count("id"), points=Sum("points"))
        .order_by("-count", "proposal__rule__code")
    ]
    since = village.black_list_names_since
    named = since is None or since < following
    if village.black_list_names and black and named:
        names = defaultdict(list)
        if since is not None:
            # Decided since: with a publicity period, one decided (and listed without a
            # name) before is credited, its entry made, days later.
            deductions = deductions.filter(proposal__decided_at__gte=since)
        for code, head in deductions.order_by("created_at", "id").values_list(
            "proposal__rule__code", "account__household__head_name"
        ):
            names[code].append(head)
        for row in black:
            row["names"] = names[row["code"]]
    return {
        "red": red,
        "black": black,
        "households_earning": len(earned),
        "awarded": sum(row["points"] for row in earned),
        "deductions": sum(row["count"] for row in black),
        "show_names": village.black_list_names and named,
        # Names turned on during the month: those fined before are counted, not named.
        "names_since": since if village.black_list_names and since and since > start else None,
    }


# --- donation traceability ---------------------------------------------------------------------


def _households_of(lots: list[Lot]) -> dict[int, tuple[int, str]]:
    """Redemption id -> (household id, head name) of the redemptions that drew on `lots`."""
    ids = {draw.redemption_id for lot in lots for draw in lot.draws if draw.redemption_id}
    rows = Redemption.objects.filter(pk__in=ids).values_list(
        "pk", "household_id", "household__head_name"
    )
    return {pk: (household_id, head) for pk, household_id, head in rows}


def _lot_summary(lots: list[Lot], households: dict) -> dict:
    redeemed = written_off = 0
    reached = set()
    for lot in lots:
        for draw in lot.draws:
            if draw.kind == StockMovement.Kind.REDEMPTION:
                redeemed += draw.quantity
                reached.add(households[draw.redemption_id][0])
            else:
                written_off += draw.quantity
    return {
        "received": sum(lot.quantity for lot in lots),
        "redeemed": redeemed,
        "households": len(reached),
        "reached": reached,  # a total over several summaries counts the distinct households
        "written_off": written_off,
        "on_shelves": sum(lot.remaining for lot in lots),
    }


def donation_thanks(donation: Donation) -> dict:
    """What a gift became, for the donor's public page: no household's personal data.

    Households appear only as masked head names (王**); no group, number, phone or ID.
    """
    lots = donation_lots(donation)
    items = {
        item.pk: item
        for item in Item.objects.filter(pk__in={lot.item_id for lot in lots}).only("name", "unit")
    }
    households = _households_of(lots)
    by_item = defaultdict(list)
    for lot in lots:
        by_item[lot.item_id].append(lot)
    lines = [
        {"item": items[item_id].name, "unit": items[item_id].unit}
        | _lot_summary(item_lots, households)
        for item_id, item_lots in sorted(by_item.items(), key=lambda pair: items[pair[0]].name)
    ]
    redemptions = sorted(
        (
            {
                "date": timezone.localdate(draw.at),
                "item": items[lot.item_id].name,
                "quantity": draw.quantity,
                "household": mask_name(households[draw.redemption_id][1]),
            }
            for lot in lots
            for draw in lot.draws
            if draw.redemption_id
        ),
        key=lambda row: (row["date"], row["item"]),
        reverse=True,
    )
    purchases = [
        {
            "date": timezone.localdate(lot.booked_at),
            "item": items[lot.item_id].name,
            "quantity": lot.quantity,
            "unit": items[lot.item_id].unit,
            "cost": lot.cost_yuan,
        }
        for lot in sorted(lots, key=lambda lot: lot.movement_id)
    ]
    spent = sum((lot.cost_yuan for lot in lots), Decimal(0))
    return {
        "donation": donation,
        "lines": lines,
        "totals": _lot_summary(lots, households),
        "redemptions": redemptions[:THANKS_REDEMPTIONS_SHOWN],
        "redemptions_more": max(len(redemptions) - THANKS_REDEMPTIONS_SHOWN, 0),
        "purchases": purchases if donation.kind == Donation.Kind.MONEY else [],
        "spent": spent,
        "unspent": donation.value_yuan - spent if donation.kind == Donation.Kind.MONEY else None,
    }


def donations_traced(village: Village, donations) -> list[dict]:
    """Totals of where each donation went, for lists and the notice (one FIFO pass)."""
    donations = list(donations)
    if not donations:
        return []
    goods, paid = defaultdict(list), defaultdict(list)
    for lot in village_lots(village):
        if lot.donation_id:
            goods[lot.donation_id].append(lot)
        if lot.paid_by_id:
            paid[lot.paid_by_id].append(lot)
    mine = {
        donation.pk: (goods if donation.kind == Donation.Kind.GOODS else paid)[donation.pk]
        for donation in donations
    }
    # Only the households of these donations' redemptions, not of every redemption ever.
    households = _households_of([lot for lots in mine.values() for lot in lots])
    rows = []
    for donation in donations:
        spent = sum((lot.cost_yuan for lot in paid[donation.pk]), Decimal(0))
        left = donation.value_yuan - spent if donation.kind == Donation.Kind.MONEY else None
        rows.append(
            {"donation": donation, "spent": spent, "left": left}
            | _lot_summary(mine[donation.pk], households)
        )
    return rows


def notice_traceability_sections(village: Village, year: int, month: int) -> list[NoticeSection]:
    """Where the donations of the past twelve months went, to date (FIFO; see store)."""
    start, following = month_span(year, month)
    since = (start.date() - datetime.timedelta(days=334)).replace(day=1)
    donations = (
        Donation.objects.filter(
            village=village, received_on__gte=since, received_on__lt=following.date()
        )
        .select_related("donor")
        .order_by("received_on", "pk")
    )
    section = NoticeSection(
        "donations_traced",
        _("Where donations of the past year went, to date"),
        [
            _("Received"),
            _("Donor"),
            _("Gift"),
            _("Money spent on goods (yuan)"),
            _("Money left (yuan)"),
            _("Units received"),
            _("Units redeemed"),
            _("Households reached"),
            _("Units written off"),
            _("Units on the shelves"),
        ],
    )
    traced = donations_traced(village, donations)
    for row in traced:
        donation = row["donation"]
        gift = donation.description or donation.get_kind_display()
        if donation.kind == Donation.Kind.MONEY:
            gift = f"¥{donation.value_yuan} {gift}"
        section.rows.append(
            [
                donation.received_on,
                donation.donor.name,
                gift,
                to_cents(row["spent"]) if donation.kind == Donation.Kind.MONEY else "",
                to_cents(row["left"]) if donation.kind == Donation.Kind.MONEY else "",
                row["received"],
                row["redeemed"],
                row["households"],
                row["written_off"],
                row["on_shelves"],
            ]
        )
    if section.rows:
        totals = [sum(r[i] for r in section.rows) for i in range(5, 10)]
        # One household reached by two donations is one household reached.
        totals[2] = len(set().union(*(row["reached"] for row in traced)))
        section.totals = [
            "",
            "",
            _("Total"),
            sum((r[3] for r in section.rows if r[3] != ""), Decimal(0)),
            sum((r[4] for r in section.rows if r[4] != ""), Decimal(0)),
            *totals,
        ]
    return [section]


# --- points liability and cover ------------------------------------------------------------------


def _source_label(source: str) -> str:
    if source == DONATED_GOODS:
        return _("Donated goods")
    if source == STOCK_TAKE_SURPLUS:
        return _("Stock-take surplus (no cost)")
    return str(StockMovement.FundSource(source).label)


def liability_cover(village: Village) -> dict:
    """Outstanding points (sum of balances) and their yuan value, beside what is on the
    shelves by fund source: FIFO cost in yuan, and the points the goods would fetch.

    `points_cover` = shelf points value / outstanding points: at 1 or more the store could
    honour every point today at current prices. Goods off sale fetch no points today: their
    points value is none (their cost still counts), their units are `off_sale_units`. Nor
    do goods waiting to be written off (or found missing by a stock-take), whose units are
    `writing_off_units`: of an item on sale, the oldest lots' first, as the write-off will
    take them once confirmed.
    Entries still in publicity are shown apart,
    not counted as owed yet, awards and deductions (negative) apart.

    `households` are the active ones, as every page counts households (the county's
    overview); the points held are every account's, so the points still on the accounts of
    households that moved away or closed are `gone_points` on `gone_households` accounts.
    """
    active = Q(status=Household.Status.ACTIVE)
    balances = Household.objects.filter(village=village).aggregate(
        households=Count("pk", filter=active),
        points=Sum("account__balance"),
        gone_households=Count("pk", filter=~active & Q(account__balance__gt=0)),
        gone_points=Sum("account__balance", filter=~active),
    )
    outstanding = balances["points"] or 0
    yuan_per_point = Decimal(village.yuan_per_point)
    # Only what is in its publicity period: a held deduction is no longer in it (it waits
    # for the supervisor). Awards and deductions apart: +50 and -50 netted showed 0.
    in_publicity = Proposal.objects.filter(
        village=village, status=Proposal.Status.PUBLICITY
    ).aggregate(
        awards=Coalesce(Sum("points", filter=Q(points__gt=0)), 0),
        deductions=Coalesce(Sum("points", filter=Q(points__lt=0)), 0),
    )
    lots = shelf_lots(village)
    on_sale = {
        pk: (price, writing_off)
        for pk, price, writing_off in Item.objects.filter(
            village=village, is_active=True
        ).values_list("pk", "points_price", "writing_off")
    }
    # Of each item on sale, the units still to be passed over as waiting to be written off.
    aside = {pk: writing_off for pk, (_price, writing_off) in on_sale.items()}
    by_source = defaultdict(lambda: {"quantity": 0, "cost": Decimal(0), "points": 0})
    off_sale_units = writing_off_units = 0
    for lot in lots:  # each item's lots, oldest first
        if lot.remaining:
            row = by_source[lot.source]
            row["quantity"] += lot.remaining
            row["cost"] += lot.remaining_cost
            if lot.item_id in on_sale:
                passed = min(aside[lot.item_id], lot.remaining)
                aside[lot.item_id] -= passed
                writing_off_units += passed
                row["points"] += (lot.remaining - passed) * on_sale[lot.item_id][0]
            else:
                off_sale_units += lot.remaining
    order = [*StockMovement.FundSource.values, DONATED_GOODS, STOCK_TAKE_SURPLUS]
    sources = [
        {
            "source": source,
            "label": _source_label(source),
            "quantity": by_source[source]["quantity"],
            "cost_yuan": to_cents(by_source[source]["cost"]),
            "points_value": by_source[source]["points"],
        }
        for source in order
        if source in by_source
    ]
    stock_cost = sum((row["cost_yuan"] for row in sources), Decimal(0))
    stock_points = sum(row["points_value"] for row in sources)
    outstanding_yuan = to_cents(outstanding * yuan_per_point)
    return {
        "households": balances["households"],
        "gone_households": balances["gone_households"],
        "gone_points": balances["gone_points"] or 0,
        "outstanding_points": outstanding,
        "yuan_per_point": yuan_per_point,
        "outstanding_yuan": outstanding_yuan,
        "in_publicity_awards": in_publicity["awards"],
        "in_publicity_deductions": in_publicity["deductions"],  # negative, as proposed
        "sources": sources,
        "stock_cost_yuan": stock_cost,
        "stock_points_value": stock_points,
        "off_sale_units": off_sale_units,
        "writing_off_units": writing_off_units,
        "stock_points_yuan": to_cents(stock_points * yuan_per_point),
        "points_cover": (to_cents(Decimal(stock_points) / outstanding) if outstanding else None),
        "cost_cover": to_cents(stock_cost / outstanding_yuan) if outstanding_yuan else None,
        "covered": stock_points >= outstanding,
    }
