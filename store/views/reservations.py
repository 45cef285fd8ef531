"""Reservations: the household reserves from its phone, the manager prepares them from the
day's pick list and hands them over at the counter (store.services reservation_*)."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.access import (
    Role,
    access_required,
    is_villager,
    staff_required,
    village_object_or_404,
    villager_required,
)
from core.db import retry_transient
from core.forms import sheet_save_pressed
from core.idempotency import run_once
from core.pagination import Paginator
from store.forms import (
    collector_parse,
    confirm_parse,
    reservation_gone_check,
    reservation_lines_parse,
    shown_prices_parse,
)
from store.models import Item, Reservation
from store.selectors import (
    pick_list,
    reservations_of_household,
    reservations_open_named,
    shelves_state,
)
from store.services import reservation_cancel, reservation_create, reservation_hand_over
from store.views.access import STAFF
from villagers.models import Household
from villagers.selectors import household_get_for_user


def _messages_of(error: ValidationError) -> str:
    return " ".join(error.messages)


@villager_required
def reserve(request):
    """The household picks goods and quantities; the Reserve button holds them, once (one-time
    key). Enter in a quantity presses the form's first, hidden button (_enter_default.html):
    the choice comes back as typed with its total, nothing reserved, as on the staff's sheets
    (core.forms.sheet_save_pressed); before, Enter reserved the quantities typed so far.
    The household's open reservations are named at the top: after an answer lost on the way
    to the phone, Back and Reserve made the same reservation twice."""
    household = request.user.household
    state = shelves_state(request.village, household.pk)
    items = [
        item
        for item in Item.objects.filter(village=request.village, is_active=True)
        .select_related("zone")
        .order_by("zone__position", "name", "pk")
        if item.available > 0
    ]
    for item in items:
        item.typed = ""
    only_checked, chosen_points = False, None
    if request.method == "POST":
        # Drawn again as typed, whatever happens below: a refusal keeps the choice too.
        for item in items:
            item.typed = request.POST.get(f"qty_{item.pk}", "").strip()[:10]
    if request.method == "POST" and not sheet_save_pressed(request):
        only_checked = True
        try:
            chosen = reservation_lines_parse(request.POST, items)
        except ValidationError as error:
            messages.error(request, _messages_of(error))
        else:
            prices = {item.pk: item.points_price for item in items}
            chosen_points = sum(prices[pk] * quantity for pk, quantity in chosen.items())
    elif request.method == "POST":
        try:
            chosen = reservation_lines_parse(request.POST, items)
            shown_prices = shown_prices_parse(request.POST, chosen)

            def action():
                reservation_gone_check(request.POST, items)
                reservation_create(
                    household=household,
                    lines=chosen,
                    actor=request.user,
                    shown_prices=shown_prices,
                    request=request,
                )
                return reverse("store:my_reservations")

            url, replayed = retry_transient(lambda: run_once(request, action))
        except ValidationError as error:
            messages.error(request, _messages_of(error))
        else:
            if not replayed:
                messages.success(
                    request,
                    _("Reserved. Collect your goods at the store within %(days)d days.")
                    % {"days": request.village.reservation_days},
                )
            return redirect(url)
    reserved, more_reserved = reservations_open_named(household.pk)
    return render(
        request,
        "store/reserve.html",
        {
            "reserved": reserved,
            "more_reserved": more_reserved,
            "today": timezone.localdate(),
            "items": items,
            "spendable": state.spendable or 0,
            "days": request.village.reservation_days,
            "only_checked": only_checked,
            "chosen_points": chosen_points,
        },
    )


@villager_required
def my_reservations(request):
    reservations = reservations_of_household(request.user.household_id)
    page = Paginator(reservations, 20).get_page(request.GET.get("page"))
    return render(request, "store/my_reservations.html", {"page": page})


def _get_reservation_for_user(request, pk: int) -> Reservation:
    """The village's reservations for its manager; a villager only their household's."""
    reservations = Reservation.objects.filter(village=request.village).select_related("household")
    if is_villager(request.user):
        reservations = reservations.filter(household_id=request.user.household_id)
    return village_object_or_404(reservations, request.village, pk=pk)


@require_POST
@access_required(roles=(Role.MANAGER,), villager=True)
def reservation_cancel_view(request, pk):
    reservation = _get_reservation_for_user(request, pk)
    if is_villager(request.user):
        back = reverse("store:my_reservations")
    else:
        back = reverse("store:counter_household", args=[reservation.household_id])

    def action():
        reservation_cancel(reservation=reservation, actor=request.user, request=request)
        return back

    try:
        url, replayed = run_once(request, action)
    except ValidationError as error:
        messages.error(request, _messages_of(error))
        return redirect(back)
    if not replayed:
        messages.success(request, _("The reservation was cancelled; its points are free again."))
    return redirect(url)


@require_POST
@staff_required(Role.MANAGER)
def reservation_hand_over_view(request, household_pk, pk):
    """At the counter: hand the reserved goods over, once (the form's key)."""
    household: Household = household_get_for_user(request, household_pk)
    reservations = Reservation.objects.filter(household=household)
    reservation = village_object_or_404(
        reservations.select_related("household", "village"), request.village, pk=pk
    )
    back = reverse("store:counter_household", args=[household.pk])
    try:
        key, _lines = confirm_parse(request.POST)
        collector = collector_parse(request.POST, household)
        redemption = retry_transient(
            lambda: reservation_hand_over(
                reservation=reservation,
                idempotency_key=key,
                actor=request.user,
                collected_by=collector,
                request=request,
            )
        )
    except ValidationError as error:
        messages.error(request, _messages_of(error))
        return redirect(back)
    if redemption.was_replay:
        messages.info(request, _("These goods were already handed over; here is the receipt."))
    else:
        messages.success(
            request,
            ngettext(
                "Handed over for %(points)d point.",
                "Handed over for %(points)d points.",
                redemption.total_points,
            )
            % {"points": redemption.total_points},
        )
    return redirect("store:receipt", pk=redemption.pk)


@staff_required(*STAFF)
def pick_list_view(request):
    try:
        day = datetime.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        day = None
    if day is None or not datetime.date.min < day < datetime.date.max:
        day = timezone.localdate()
    return render(
        request,
        "store/pick_list.html",
        {
            "pick": pick_list(request.village, day),
            "previous": day - datetime.timedelta(days=1),
            "next": day + datetime.timedelta(days=1),
        },
    )
