"""Transparency pages: the red/black board, where donations went, the donor's thanks page,
and the points liability against what is on the shelves."""

import datetime

from django.core import signing
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from core.pagination import Paginator
from reports.selectors import requested_month
from reports.selectors_transparency import (
    board_month,
    donation_thanks,
    donations_traced,
    liability_cover,
)
from store.models import Donation
from villagers.roles import Role, member_of_village_required, staff_required

THANKS_SALT = "reports.donation-thanks"


def thanks_token(donation: Donation) -> str:
    """An unguessable, unforgeable token naming one donation (signed with SECRET_KEY)."""
    return signing.dumps({"donation": donation.pk}, salt=THANKS_SALT, compress=True)


def thanks_url(request, donation: Donation) -> str:
    path = reverse("reports:donation_thanks", args=[thanks_token(donation)])
    return request.build_absolute_uri(path)


def _donation_from_token(token: str) -> Donation:
    try:
        payload = signing.loads(token, salt=THANKS_SALT)
    except signing.BadSignature as error:
        raise Http404 from error
    donation = (
        Donation.objects.select_related("donor", "village")
        .filter(pk=payload.get("donation"))
        .first()
    )
    if donation is None:
        raise Http404
    return donation


def _month(year, month) -> datetime.date:
    """The month asked for; by default the last completed one (the board is monthly)."""
    if year is None:
        return (timezone.localdate().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    return requested_month(year, month)


def _board_context(request, year, month) -> dict:
    first = _month(year, month)
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return {
        "village": request.village,
        "month": first,
        "board": board_month(request.village, first.year, first.month),
        "previous": previous,
        "following": following if following <= timezone.localdate() else None,
    }


@member_of_village_required
def board(request, year=None, month=None):
    """紅黑榜 on the phone: the month's top earners and deductions by rule."""
    return render(request, "reports/transparency/board.html", _board_context(request, year, month))


@member_of_village_required
def board_display(request, year, month):
    """The same board in large type for a TV in the store or a printed poster."""
    return render(
        request, "reports/transparency/board_display.html", _board_context(request, year, month)
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def cover(request):
    """Can the store honour the points? Outstanding points beside the stock by fund source."""
    return render(
        request,
        "reports/transparency/cover.html",
        {"village": request.village, "cover": liability_cover(request.village)},
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def donations_traced_list(request):
    """Every donation with where it went, and the link to send its donor."""
    donations = Donation.objects.filter(village=request.village).select_related("donor")
    page = Paginator(donations.order_by("-received_on", "-pk"), 25).get_page(
        request.GET.get("page")
    )
    rows = donations_traced(request.village, page.object_list)
    for row in rows:
        row["thanks_url"] = thanks_url(request, row["donation"])
    return render(request, "reports/transparency/donations.html", {"page": page, "rows": rows})


def donation_thanks_page(request, token):
    """The donor's thanks page: no login, reached only by its signed link; no personal data."""
    donation = _donation_from_token(token)
    response = render(request, "reports/transparency/thanks.html", donation_thanks(donation))
    # The link is the key: keep it out of referrers and search engines.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
