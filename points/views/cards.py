"""The card-issue page: it lives here because issuing a card also posts the opening points."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from points.services import card_issue
from villagers.forms import NewPinForm, form_add_service_error
from villagers.models import Card
from villagers.roles import Role, staff_required
from villagers.selectors import household_get_for_user
from villagers.services import card_prerequisites_missing


@staff_required(Role.MANAGER)
def card_issue_view(request, pk):
    """Issue a household's first (or next, after a recall) card with a PIN."""
    household = household_get_for_user(request, pk)
    form = NewPinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            card = card_issue(
                household=household,
                actor=request.user,
                pin=form.cleaned_data["pin"],
                request=request,
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(
                request,
                _("Card %(number)s issued with %(points)d opening points.")
                % {"number": card.number, "points": household.village.base_points},
            )
            return redirect("villagers:card_print", pk=card.pk)
    return render(
        request,
        "points/card_issue.html",
        {
            "household": household,
            "form": form,
            "missing": card_prerequisites_missing(household),
            "active_card": household.cards.filter(status=Card.Status.ACTIVE).first(),
        },
    )
