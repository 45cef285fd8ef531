"""The card-issue page: it lives here because issuing a card also posts the opening points."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.access import Role, staff_required
from core.idempotency import run_once
from points.forms import CardIssueForm
from points.services import card_issue
from villagers.forms import form_add_service_error
from villagers.models import Card
from villagers.selectors import household_get_for_user
from villagers.services import card_prerequisites_missing


@staff_required(Role.MANAGER)
def card_issue_view(request, pk):
    """Issue a household's first (or next, after a recall) card with a PIN.

    The first card posts the opening grant, so the form carries a one-time key: sent twice,
    the second answer is the first card's print page.
    """
    household = household_get_for_user(request, pk)
    form = CardIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = []

        def action():
            issued.append(
                card_issue(
                    household=household,
                    actor=request.user,
                    pin=form.cleaned_data["pin"],
                    request=request,
                )
            )
            return reverse("villagers:card_print", args=[issued[0].pk])

        try:
            url, replayed = run_once(request, action)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            if replayed:
                messages.info(request, _("This card was already issued; here it is."))
            else:
                messages.success(
                    request,
                    _("Card %(number)s issued with %(points)d opening points.")
                    % {"number": issued[0].number, "points": household.village.base_points},
                )
            return redirect(url)
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
