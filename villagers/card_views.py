"""Card pages: replace, recall, PIN reset and the printable card (manager); PIN change (villager).

Issuing a card posts the opening points, so its page lives in `points.views.cards`.
"""

import segno
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from villagers.forms import (
    CardRecallForm,
    CardReplaceForm,
    NewPinForm,
    PinChangeForm,
    form_add_service_error,
)
from villagers.models import Card
from villagers.roles import Role, staff_required, villager_required
from villagers.selectors import card_get_for_user, household_get_for_user
from villagers.services import card_recall, card_replace, pin_change, pin_reset


def _card_form_page(request, *, household, form, title, submit, intro=""):
    return render(
        request,
        "villagers/card_form.html",
        {
            "household": household,
            "form": form,
            "title": title,
            "submit": submit,
            "intro": intro,
            "active_card": household.cards.filter(status=Card.Status.ACTIVE).first(),
        },
    )


@staff_required(Role.MANAGER)
def card_replace_view(request, pk):
    household = household_get_for_user(request, pk)
    form = CardReplaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            card = card_replace(
                household=household,
                actor=request.user,
                pin=form.cleaned_data["pin"],
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(
                request,
                _("New card %(number)s issued; the old card no longer works.")
                % {"number": card.number},
            )
            return redirect("villagers:card_print", pk=card.pk)
    return _card_form_page(
        request,
        household=household,
        form=form,
        title=_("Replace a lost or damaged card"),
        submit=_("Issue the new card"),
        intro=_("The household gets a new card number and a new PIN; the old card stops working."),
    )


@staff_required(Role.MANAGER)
def card_recall_view(request, pk):
    household = household_get_for_user(request, pk)
    form = CardRecallForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            card_recall(
                household=household,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _("The card is recalled; its login no longer works."))
            return redirect("villagers:household_detail", pk=household.pk)
    return _card_form_page(
        request,
        household=household,
        form=form,
        title=_("Recall the card"),
        submit=_("Recall the card"),
        intro=_("The card and the household's login stop working. The points stay on record."),
    )


@staff_required(Role.MANAGER)
def pin_reset_view(request, pk):
    household = household_get_for_user(request, pk)
    form = NewPinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pin_reset(
                household=household,
                actor=request.user,
                pin=form.cleaned_data["pin"],
                request=request,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _("The new PIN is set. Tell it to the household in person."))
            return redirect("villagers:household_detail", pk=household.pk)
    return _card_form_page(
        request,
        household=household,
        form=form,
        title=_("Set a new PIN"),
        submit=_("Set the PIN"),
        intro=_("For a household that forgot its PIN. It is signed out everywhere."),
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def card_print(request, pk):
    """The card to print and hand over: number, household and a QR code of the number."""
    card = card_get_for_user(request, pk)
    qr_svg = segno.make_qr(card.number, error="m").svg_inline(scale=6, omitsize=True)
    return render(
        request,
        "villagers/card_print.html",
        {"card": card, "household": card.household, "qr_svg": mark_safe(qr_svg)},  # noqa: S308
    )


@villager_required
def pin_change_view(request):
    form = PinChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pin_change(
                user=request.user,
                old_pin=form.cleaned_data["old_pin"],
                new_pin=form.cleaned_data["pin"],
                request=request,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your PIN is changed."))
            return redirect("villagers:me")
    return render(request, "villagers/pin_change.html", {"form": form})
