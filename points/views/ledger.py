"""Balances and histories: the villager's phone view and the staff's household ledger."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from points.forms import ReasonForm
from points.idempotency import idempotency_key_new, run_once
from points.models import Account, Declaration, Entry
from points.selectors import (
    entries_of_account,
    household_honours,
    household_publicity,
    household_rank,
    proposals_awaiting,
)
from points.services import entry_reverse
from points.views.access import _get_household_for_user
from villagers.roles import Role, staff_required, villager_required

HISTORY_PAGE_SIZE = 20


def _ledger_context(request, household):
    account = Account.objects.filter(household=household).first()
    context = {
        "household": household,
        "account": account,
        "pending": proposals_awaiting(household),
        "in_publicity": household_publicity(household),
        "honours": household_honours(household),
    }
    if account is not None:
        context["page"] = Paginator(entries_of_account(account), HISTORY_PAGE_SIZE).get_page(
            request.GET.get("page")
        )
        context["yuan"] = account.balance * request.village.yuan_per_point
    return context


@villager_required
def villager_home(request):
    """The villager's start page: balance, its yuan value, rank, history and declarations."""
    household = request.user.household
    context = _ledger_context(request, household)
    account = context["account"]
    if account is not None and request.village.show_rank:
        context["rank"], context["ranked"] = household_rank(account)
    context["declarations"] = Declaration.objects.filter(household=household).order_by(
        "-submitted_at"
    )[:5]
    context["card"] = household.cards.filter(status="active").first()
    return render(request, "points/villager_home.html", context)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def household_ledger(request, pk):
    household = _get_household_for_user(request, pk)
    context = _ledger_context(request, household)
    context["reverse_form"] = ReasonForm()
    context["idempotency_key"] = idempotency_key_new()
    return render(request, "points/household_ledger.html", context)


@staff_required(Role.SUPERVISOR)
@require_POST
def entry_reverse_view(request, pk):
    """The supervisor corrects a mistake with a reversing entry (never an edit)."""
    entry = get_object_or_404(
        Entry.objects.select_related("account"), pk=pk, account__village=request.village
    )
    back = reverse("points:household_ledger", args=[entry.account.household_id])
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the reason for the reversal."))
        return redirect(back)

    def action():
        entry_reverse(
            entry=entry, actor=request.user, reason=form.cleaned_data["reason"], request=request
        )
        return back

    try:
        url, replayed = run_once(request, action)
    except ValidationError as error:
        for line in error.messages:
            messages.error(request, line)
        return redirect(back)
    if replayed:
        messages.info(request, _("This correction was already recorded."))
    else:
        messages.success(request, _("The entry was reversed."))
    return redirect(url)
