"""The village's public walls: open wishes (心愿墙), fulfilled ones (回音墙), TV/poster display.

Names are masked and no phone or ID number is ever shown; only approved wishes appear.
"""

from django.shortcuts import render
from django.urls import reverse

from core.access import member_of_village_required
from core.forms import int_or_none
from core.pagination import Paginator
from wishwall.models import Wish
from wishwall.selectors import echo_wishes, wall_counts, wall_kind_counts, wall_wishes

WALL_PAGE_SIZE = 24
DISPLAY_PAGE_SIZE = 6
REFRESH_MIN, REFRESH_MAX = 15, 600


@member_of_village_required
def wall(request):
    """Open wishes grouped by kind (newest first in each), with the matched/fulfilled figures."""
    village = request.village
    wishes = wall_wishes(village)
    kind = request.GET.get("kind", "")
    if kind in Wish.Kind.values:
        wishes = wishes.filter(kind=kind)
    else:
        kind = ""
    page = Paginator(wishes, WALL_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "counts": wall_counts(village),
        "kinds": wall_kind_counts(village, chosen=kind),
        "kind": kind,
    }
    return render(request, "wishwall/wall.html", context)


@member_of_village_required
def echo(request):
    """回音墙: fulfilled wishes, who met them and the words of thanks."""
    village = request.village
    page = Paginator(echo_wishes(village), WALL_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "wishwall/echo.html", {"page": page, "counts": wall_counts(village)})


@member_of_village_required
def display(request):
    """Large-type version for the store's TV or a printed poster.

    With ?refresh=N the page reloads every N seconds and moves to the next page, so a TV
    cycles through all wishes without any JavaScript.
    """
    village = request.village
    show = "wishes" if request.GET.get("wall") == "wishes" else "echo"
    wishes = wall_wishes(village) if show == "wishes" else echo_wishes(village)
    page = Paginator(wishes, DISPLAY_PAGE_SIZE).get_page(request.GET.get("page"))
    refresh_url = None
    refresh = int_or_none(request.GET.get("refresh", ""))
    if refresh is not None:
        refresh = min(max(refresh, REFRESH_MIN), REFRESH_MAX)
        next_page = page.next_page_number() if page.has_next() else 1
        refresh_url = (
            f"{reverse('wishwall:display')}?wall={show}&refresh={refresh}&page={next_page}"
        )
    context = {
        "page": page,
        "show": show,
        "counts": wall_counts(village),
        "refresh": refresh,
        "refresh_url": refresh_url,
    }
    return render(request, "wishwall/display.html", context)
