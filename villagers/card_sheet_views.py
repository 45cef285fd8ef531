"""Sheets of points cards to print on A4 and cut out (ten 85.6 x 54 mm cards a page).

The manager picks the cards (not printed yet, issued since a day, a village group, or ticks
households), prints the sheet from the browser, then notes them as printed.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.access import Role, staff_required
from core.db import row_id_or_none
from core.idempotency import already_sent, run_once
from villagers.card_views import card_qr_svg
from villagers.forms import CardSheetForm
from villagers.models import Card
from villagers.services import cards_mark_printed

CARDS_PER_PAGE = 10
MAX_CARDS = 200  # one sheet request; narrow the choice for more


def _active_cards(request):
    """Active cards of the request's village, with what a printed card shows."""
    return (
        Card.objects.filter(household__village=request.village, status=Card.Status.ACTIVE)
        .select_related("household__group", "household__village")
        .order_by("household__group_id", "household__number")
    )


def _chosen_ids(values) -> list[int]:
    return [i for i in map(row_id_or_none, values) if i is not None][:MAX_CARDS]


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def card_sheet_choose(request):
    """Choose the cards for a sheet; every listed card starts ticked."""
    form = CardSheetForm(request.GET or {"unprinted": True}, village=request.village)
    cards = _active_cards(request)
    if form.is_valid():
        if form.cleaned_data["unprinted"]:
            cards = cards.filter(printed_at__isnull=True)
        if form.cleaned_data["since"]:
            cards = cards.filter(issued_at__date__gte=form.cleaned_data["since"])
        if form.cleaned_data["group"]:
            cards = cards.filter(household__group=form.cleaned_data["group"])
    shown = list(cards[: MAX_CARDS + 1])
    return render(
        request,
        "villagers/card_sheet_choose.html",
        {
            "form": form,
            "cards": shown[:MAX_CARDS],
            "too_many": len(shown) > MAX_CARDS,
            "max_cards": MAX_CARDS,
        },
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def card_sheet(request):
    """The printable sheet of the chosen cards, ten to an A4 page."""
    ids = _chosen_ids(request.GET.getlist("card"))
    if not ids:
        messages.info(request, _("Tick the cards to print first."))
        return redirect("villagers:card_sheet_choose")
    cards = [
        {"card": card, "qr_svg": card_qr_svg(request, card.number, scale=3, border=1)}
        for card in _active_cards(request).filter(pk__in=ids)
    ]
    pages = [cards[i : i + CARDS_PER_PAGE] for i in range(0, len(cards), CARDS_PER_PAGE)]
    return render(
        request,
        "villagers/card_sheet.html",
        {"pages": pages, "cards": cards, "village": request.village},
    )


@require_POST
@staff_required(Role.MANAGER)
def card_sheet_printed(request):
    """After printing: these cards no longer show as 'not printed yet'.

    One-time key, drawn with the sheet: a double click notes the print once; the sheet
    opened and printed again is noted again, for a second print is a second copy of the
    cards that an auditor may need to know of (a card lost in the print room)."""
    noted = []

    def action():
        noted.append(
            cards_mark_printed(
                village=request.village,
                card_ids=_chosen_ids(request.POST.getlist("card")),
                actor=request.user,
                request=request,
            )
        )
        return reverse("villagers:card_sheet_choose")

    try:
        url, replayed = run_once(request, action)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("villagers:card_sheet_choose")
    if replayed:
        already_sent(request)
    else:
        messages.success(
            request,
            ngettext("%(n)d card noted as printed.", "%(n)d cards noted as printed.", noted[0])
            % {"n": noted[0]},
        )
    return redirect(url)
