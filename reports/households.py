"""The staff's household pages: the list with balances and the hub of one household.

A household's page combines the registry (villagers), its points (points), the store's
counter and its wishes (wishwall), so it lives here above the apps; the registry's own
addresses (villagers:household_list, villagers:household_detail) lead here.
"""

from django.db.models import Q
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from core.access import Role, is_manager, is_supervisor, staff_required
from core.decorators import allows_camera
from core.pagination import Paginator
from reports.forms import HouseholdListForm
from reports.selectors_households import (
    DEFAULT_SORT,
    household_points,
    household_wishes,
    households_listed,
)
from villagers.models import Card, Household, Referral
from villagers.selectors import (
    INSPECTIONS_SHOWN,
    PARTICIPATIONS_SHOWN,
    household_detail_get_for_user,
    household_search,
    member_ids_with_pin,
)
from villagers.services import card_prerequisites_missing, member_pin_refusal

# What can be sent up about a household's card (the referral's object is the household).
CARD_KINDS = (
    Referral.Kind.CARD_ISSUE,
    Referral.Kind.CARD_REPLACE,
    Referral.Kind.PIN_RESET,
    Referral.Kind.CARD_RECALL,
)
VIEWERS = (Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
PAGE_SIZE = 25

# The list's sortable columns: (sort key, heading, the direction a first click asks for).
SORTABLE_COLUMNS = [
    ("name", _("Household head"), "name"),
    ("number", _("No."), "number"),
    ("group", _("Village group"), "group"),
    ("balance", _("Balance"), "-balance"),
    ("activity", _("Last activity"), "-activity"),
]


def _sort_columns(sort: str) -> dict[str, dict]:
    """Per column: the ?sort= its heading links to (the other direction once sorted by it)
    and its aria-sort state."""
    columns = {}
    for key, label, first in SORTABLE_COLUMNS:
        state = {key: "ascending", f"-{key}": "descending"}.get(sort, "")
        flipped = {"ascending": f"-{key}", "descending": key}
        columns[key] = {"label": label, "sort": flipped.get(state, first), "state": state}
    return columns


@allows_camera
@staff_required(*VIEWERS)
def household_list(request):
    form = HouseholdListForm(request.GET or None, village=request.village)
    filters = form.cleaned_data if form.is_valid() else {}
    sort = filters.get("sort") or DEFAULT_SORT
    households = household_search(
        request,
        query=filters.get("q", ""),
        group_id=filters["group"].pk if filters.get("group") else None,
        status=filters.get("status", ""),
        is_poor=form.yes_no(filters.get("poor", "")),
        has_card=form.yes_no(filters.get("card", "")),
    )
    page = Paginator(households_listed(households, sort=sort), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    # Not filtered by status, the list holds every household on record: it says how many of
    # them are active, the households every other page counts.
    active = None
    if not filters.get("status"):
        active = households.filter(status=Household.Status.ACTIVE).count()
    return render(
        request,
        "reports/household_list.html",
        {"form": form, "page": page, "columns": _sort_columns(sort), "active": active},
    )


def _sent_up(household, members) -> dict:
    """{(kind, object id): open referral} of the household's card and its members' PINs."""
    waiting = Referral.objects.filter(status=Referral.Status.OPEN).filter(
        Q(kind__in=CARD_KINDS, object_id=household.pk)
        | Q(kind=Referral.Kind.MEMBER_PIN, object_id__in=[member.pk for member in members])
    )
    return {(referral.kind, referral.object_id): referral for referral in waiting}


@staff_required(*VIEWERS)
def household_hub(request, pk):
    """One household on one page: points, card, members, inspections, participation and
    wishes, with the buttons to what each role may do for it next."""
    household = household_detail_get_for_user(request, pk)
    cards = list(household.cards.all())
    active_card = next((c for c in cards if c.status == Card.Status.ACTIVE), None)
    points = household_points(household)
    manager = is_manager(request.user)
    everyone = list(household.members.all())
    members = [member for member in everyone if member.left_on is None]
    with_pin = member_ids_with_pin(household)
    # What is sent up about its card or a member's PIN waits at the township or the county:
    # the page says so and offers none of it again (one query for all of it).
    sent_up = _sent_up(household, members)
    for member in members:
        member.has_pin = member.pk in with_pin
        member.may_have_pin = not member_pin_refusal(member)
        member.sent_up = sent_up.get((Referral.Kind.MEMBER_PIN, member.pk))
    context = {
        "household": household,
        "points": points,
        "account": points.account,
        "members": members,
        "former_members": [member for member in everyone if member.left_on is not None],
        "inspections": household.recent_inspections,
        "participations": household.recent_participations,
        "inspections_shown": INSPECTIONS_SHOWN,
        "participations_shown": PARTICIPATIONS_SHOWN,
        "wishes": household_wishes(household),
        "cards": cards,
        "active_card": active_card,
        "missing": [] if active_card else card_prerequisites_missing(household),
        "card_sent_up": next(
            (sent_up[kind, household.pk] for kind in CARD_KINDS if (kind, household.pk) in sent_up),
            None,
        ),
        "can_propose": points.account is not None and (manager or is_supervisor(request.user)),
    }
    if points.account is not None:
        context["yuan"] = points.account.balance * household.village.yuan_per_point
    return render(request, "reports/household.html", context)
