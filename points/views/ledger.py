"""Balances and histories: the villager's phone view and the staff's household ledger."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import Role, staff_required, village_object_or_404, villager_required
from core.db import row_id_or_none
from core.forms import reason_refused
from core.fragments import cached_part
from core.idempotency import run_once
from notifications.selectors import announcements_current
from points.forms import ReasonForm
from points.models import Account, Declaration, Entry
from points.selectors import (
    history_page,
    household_honours,
    household_publicity,
    household_rank,
    proposals_awaiting,
    villager_state,
)
from points.services import entry_reverse
from villagers.models import Referral
from villagers.second_person import SecondPersonRequired, open_referrals, refusal_or_referral
from villagers.selectors import household_get_for_user

HISTORY_PAGE_SIZE = 20
ANNOUNCEMENTS_SHOWN = 2
# Cached page bodies are keyed by a digest of every row they show (see villager_state), so a
# change shows at once; the timeout only frees memory.
BODY_CACHE_SECONDS = 600


def _history_context(request, account) -> dict:
    history = history_page(
        account,
        before=row_id_or_none(request.GET.get("before")),
        after=row_id_or_none(request.GET.get("after")),
        size=HISTORY_PAGE_SIZE,
    )
    return {"history": history}


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
        context.update(_history_context(request, account))
        context["yuan"] = account.balance * request.village.yuan_per_point
    return context


@villager_required
def villager_home(request):
    """The villager's start page: balance, its yuan value, rank, history and declarations.

    The most visited page of all, from phones: one query tells whether the body (honours,
    declarations, pending proposals, a page of history) is the one cached for this household.
    """
    household = request.user.household
    account = villager_state(household)
    context = {"household": household, "account": account}
    if account is None:
        context["announcements"] = _announcements_part(request, household.village_id)
        context["body"] = _villager_body(request, household, None)
    else:
        context["yuan"] = account.balance * request.village.yuan_per_point
        # The bell's count came with the account: no query of its own on the busiest page.
        context["unread_notifications"] = account.unread_notifications
        if request.village.show_rank:
            context["rank"] = household_rank(account)
        fingerprint = (
            f"{account.pk}:{account.last_entry}:{account.body_version}:{timezone.localdate()}:"
            f"{request.GET.get('before')}:{request.GET.get('after')}"
        )
        context["body"] = cached_part(
            "villager-body",
            fingerprint,
            lambda: _villager_body(request, household, account),
            BODY_CACHE_SECONDS,
        )
        # The village's latest announcements, first on the page, cached under the same
        # digest (it covers them): no query once cached.
        context["announcements"] = cached_part(
            "villager-announcements",
            f"{household.village_id}:{account.body_version}",
            lambda: _announcements_part(request, household.village_id),
            BODY_CACHE_SECONDS,
        )
    return render(request, "points/villager_home.html", context)


def _announcements_part(request, village_id: int) -> str:
    announcements = list(announcements_current(village_id)[:ANNOUNCEMENTS_SHOWN])
    return render_to_string(
        "notifications/_announcements_latest.html",
        {"announcements": announcements},
        request=request,
    )


def _villager_body(request, household, account) -> str:
    context = {
        "pending": proposals_awaiting(household),
        "in_publicity": household_publicity(household),
        "honours": household_honours(household),
        # Each with who declared it: the household's login or a member's own.
        "declarations": Declaration.objects.filter(household=household)
        .select_related("submitted_by")
        .order_by("-submitted_at", "-id")[:5],
    }
    if account is not None:
        context.update(_history_context(request, account))
    return render_to_string("points/_villager_body.html", context, request=request)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def household_ledger(request, pk):
    household = household_get_for_user(request, pk)
    context = _ledger_context(request, household)
    context["reverse_form"] = ReasonForm()
    # A reversal sent up waits at the township or the county: no "Reverse" offered again.
    history = context.get("history")
    context["reversal_referred"] = set(
        open_referrals(
            kind=Referral.Kind.REVERSAL,
            object_ids=[e.pk for e in history.entries],
            village_id=household.village_id,
        )
        if history
        else ()
    )
    return render(request, "points/household_ledger.html", context)


@staff_required(Role.SUPERVISOR)
@require_POST
def entry_reverse_view(request, pk):
    """The supervisor corrects a mistake with a reversing entry (never an edit)."""
    entry = village_object_or_404(
        Entry.objects.filter(account__village=request.village).select_related("account"),
        request.village,
        village_field="account__village",
        pk=pk,
    )
    back = reverse("points:household_ledger", args=[entry.account.household_id])
    form = ReasonForm(request.POST)
    if not form.is_valid():
        if not reason_refused(request, form):
            messages.error(request, _("Give the reason for the reversal."))
        return redirect(back)

    def action():
        entry_reverse(
            entry=entry, actor=request.user, reason=form.cleaned_data["reason"], request=request
        )
        return back

    try:
        url, replayed = run_once(request, action)
    except SecondPersonRequired as error:
        asked = {"reason": form.cleaned_data["reason"]}
        messages.warning(request, refusal_or_referral(request, error, asked))
        return redirect(back)
    except ValidationError as error:
        for line in error.messages:
            messages.error(request, line)
        return redirect(back)
    if replayed:
        messages.info(request, _("This correction was already recorded."))
    else:
        messages.success(request, _("The entry was reversed."))
    return redirect(url)
