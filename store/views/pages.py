"""The villagers' catalogue, a household's own redemptions, and the counter's summaries."""

import datetime

from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.access import (
    is_villager,
    member_of_village_required,
    staff_required,
    villager_required,
)
from core.fragments import cached_part
from core.months import DAY, MONTH, asked_within, month_after, month_before, month_of
from core.pagination import Paginator
from store.selectors import (
    catalogue_items,
    redemptions_of,
    shelves_state,
    summary_daily,
    summary_monthly,
    zones_of,
)
from store.views.access import STAFF

CATALOGUE_PAGE_SIZE = 40
# The key says exactly what the body shows (see shelves_state); the timeout only frees memory.
BODY_CACHE_SECONDS = 600
ONE_DAY = datetime.timedelta(days=1)


@member_of_village_required
def catalogue(request):
    """Items by zone with points prices and stock; a villager also sees what they can afford.

    Villagers open it on every visit: the rendered body is cached under a fingerprint of
    the shelves, the balance and the query, so a visit costs one query after the login's.
    """
    household_id = request.user.household_id if is_villager(request.user) else None
    shelves = shelves_state(request.village, household_id)
    balance = shelves.spendable  # a villager's points, less those held for reservations
    if household_id is not None and balance is None:
        balance = 0
    fingerprint = (
        f"{request.village.pk}:{shelves.version}:{household_id is not None}:{balance}:"
        f"{shelves.held}:"
        f"{request.village.yuan_per_point}:{request.GET.urlencode()}"
    )
    body = cached_part(
        "catalogue-body",
        fingerprint,
        lambda: _catalogue_body(request, balance, shelves.held or 0),
        BODY_CACHE_SECONDS,
    )
    context = {"body": body, "balance": balance}
    if household_id is not None:  # the bell's count came with the shelves: no query of its own
        context["unread_notifications"] = shelves.unread_notifications
    return render(request, "store/catalogue.html", context)


def _catalogue_body(request, balance: int | None, held: int) -> str:
    zone_code = request.GET.get("zone", "")
    query = request.GET.get("q", "").strip()
    items = catalogue_items(request.village, zone_code=zone_code, query=query)
    page = Paginator(items, CATALOGUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "item": item,
            "yuan": item.reference_yuan(request.village.yuan_per_point),
            "in_stock": item.available > 0,
            "affordable": (
                balance is not None and item.available > 0 and balance >= item.points_price
            ),
            "max_quantity": (
                min(item.available, balance // item.points_price) if balance is not None else None
            ),
        }
        for item in page
    ]
    return render_to_string(
        "store/_catalogue_body.html",
        {
            "page": page,
            "rows": rows,
            "balance": balance,
            "held": held,
            "zones": zones_of(request.village),
            "zone_code": zone_code,
            "query": query,
        },
        request=request,
    )


@villager_required
def my_redemptions(request):
    redemptions = redemptions_of(request.user.village).filter(
        household_id=request.user.household_id
    )
    page = Paginator(redemptions, 20).get_page(request.GET.get("page"))
    return render(request, "store/my_redemptions.html", {"page": page})


@staff_required(*STAFF)
def summary_day(request):
    """A day's redemptions: today's, or a day the village's records reach (from the first
    day of its first month to today; core.months.asked_within says which do)."""
    today = timezone.localdate()
    since = request.village.started_on
    day = today
    if request.GET.get("day"):
        day = asked_within(
            request.GET["day"],
            unit=DAY,
            since=since,
            link=lambda first: f"{reverse('store:summary_day')}?day={first:%Y-%m-%d}",
        )
    summary = summary_daily(request.village, day)
    return render(
        request,
        "store/summary_day.html",
        {
            "summary": summary,
            "previous": day - ONE_DAY if day > month_of(since) else None,
            "next": day + ONE_DAY if day < today else None,
        },
    )


@staff_required(*STAFF)
def summary_month(request):
    """A month's redemptions: this month's, or one the village's records reach."""
    first = month_of(timezone.localdate())
    since = request.village.started_on
    if request.GET.get("month"):
        first = asked_within(
            request.GET["month"],
            unit=MONTH,
            since=since,
            link=lambda first: f"{reverse('store:summary_month')}?month={first:%Y-%m}",
        )
    summary = summary_monthly(request.village, first.year, first.month)
    previous, following = month_before(first, since), month_after(first)
    return render(
        request,
        "store/summary_month.html",
        {
            "summary": summary,
            "previous": f"{previous:%Y-%m}" if previous else None,
            "next": f"{following:%Y-%m}" if following else None,
            "month_value": f"{first:%Y-%m}",
        },
    )
