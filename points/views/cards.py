"""The card-issue page: it lives here because issuing a card also posts the opening points."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import resolve, reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from core.access import Role, staff_required
from core.idempotency import run_once
from points.forms import CardIssueForm
from points.services import card_issue
from villagers.card_views import Slip, card_slip
from villagers.forms import form_add_service_error, form_sent_up
from villagers.models import Card
from villagers.second_person import SecondPersonRequired
from villagers.selectors import card_get_for_user, household_get_for_user, household_pin_is
from villagers.services import card_prerequisites_missing


@never_cache
@staff_required(Role.MANAGER)
def card_issue_view(request, pk):
    """Issue a household's first (or next, after a recall) card with a PIN; the answer is
    the slip with the card and the PIN, shown this once (villagers.card_views.card_slip).

    The first card posts the opening grant, so the form carries a one-time key. Sent twice
    (a double click: the browser shows the second answer), the second answer is the same
    slip, from the PIN in the re-sent form, while that PIN still opens the household's
    login; otherwise the card's print page.
    """
    household = household_get_for_user(request, pk)
    form = CardIssueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        issued = []
        pin = form.cleaned_data["pin"]

        def action():
            issued.append(
                card_issue(household=household, actor=request.user, pin=pin, request=request)
            )
            return reverse("villagers:card_print", args=[issued[0].pk])

        try:
            url, replayed = run_once(request, action)
        except SecondPersonRequired as error:
            # As a PIN reset of one's own household: the county issues the card with the PIN
            # the manager chose; the referral keeps only its hash, and no slip is shown.
            if form_sent_up(request, form, error, pin=pin):
                return redirect("reports:household", pk=household.pk)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            if not replayed:
                card = issued[0]
                if card.opening_points:
                    message = _("Card %(number)s issued with %(points)d opening points.")
                else:  # issued again after a recall: the opening grant went with the first
                    message = _("Card %(number)s issued.")
                messages.success(
                    request, message % {"number": card.number, "points": card.opening_points}
                )
                return card_slip(request, card=issued[0], pin=pin, kind=Slip.ISSUE)
            messages.info(request, _("This card was already issued; here it is."))
            card = card_get_for_user(request, resolve(url).kwargs["pk"])
            if card.status == Card.Status.ACTIVE and household_pin_is(household, pin):
                return card_slip(request, card=card, pin=pin, kind=Slip.ISSUE)
            return redirect(url)
    return render(
        request,
        "points/card_issue.html",
        {
            "household": household,
            "form": form,
            "missing": card_prerequisites_missing(household),
            "active_card": household.cards.filter(status=Card.Status.ACTIVE).first(),
            # Its opening points went with its first card (points.services.card_issue).
            "had_card": household.cards.exists(),
        },
    )
