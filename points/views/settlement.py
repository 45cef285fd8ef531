"""The yearly settlement's page: the village's setting, this year's plan, drafting and
approving it (points.settlement; the task posts it when the year ends)."""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F, Sum
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import Role, is_manager, is_supervisor, staff_required
from core.idempotency import run_once
from points.models import Settlement
from points.settlement import (
    approval_deadline,
    plan_year,
    posting_last_day,
    settlement_approve,
    settlement_day,
    settlement_draft,
)
from villagers.models import Referral
from villagers.second_person import SecondPersonRequired, open_referrals, refusal_or_referral

PAGE = "points:settlement"


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def settlement_page(request):
    village = request.village
    today = timezone.localdate()
    year = plan_year(today)
    plans = list(
        Settlement.objects.filter(village=village, year__gte=year - 1)
        .select_related("drafted_by", "approved_by")
        # Planned at most, and what lapsed: fewer where a household spent since the plan.
        # Each line has at most one entry: the sums do not multiply. Lapsed points are
        # counted as every page counts them, a positive number beside the word (its ledger
        # entry is negative, as a deduction's).
        .annotate(total=Sum("lines__points"), lapsed=-Sum("lines__entry__points"))
        .order_by("-year")
    )
    current = next((plan for plan in plans if plan.year == year), None)
    if current is None:
        # In December, before next year's plan is drawn up: this year's, approved and waiting
        # to lapse (one never approved is too late to approve: it is listed as earlier).
        current = next(
            (
                p
                for p in plans
                if p.year == today.year and p.approved_at is not None and p.posted_at is None
            ),
            None,
        )
        if current is not None:
            year = current.year
    lines, referral = [], None
    if current is not None:
        # Sent up (nobody of the village may approve it): the page says so, and offers the
        # supervisor no approval the service would send up once more.
        referral = open_referrals(
            kind=Referral.Kind.SETTLEMENT, object_ids=[current.pk], village_id=current.village_id
        ).get(current.pk)
        lines = (
            current.lines.select_related("account__household")
            .annotate(lapsed=-F("entry__points"))
            .order_by("account__household__number")
        )
    context = {
        "village": village,
        "year": year,
        "current": current,
        "referral": referral,
        "lines": lines,
        "earlier": [plan for plan in plans if plan.year < year],
        "posting_over": {plan.pk for plan in plans if today > posting_last_day(plan.year)},
        "year_over": {plan.pk for plan in plans if today > settlement_day(plan.year)},
        "deadline": approval_deadline(year),
        "day": settlement_day(year),
        "can_draft": is_manager(request.user),
        "can_approve": is_supervisor(request.user),
    }
    return render(request, "points/settlement.html", context)


@require_POST
@staff_required(Role.MANAGER)
def settlement_draft_view(request):
    """Draw up the plan; one-time key: a double click draws it once (one audit event, the
    time the supervisor's approval form names stays the same)."""

    def action():
        settlement_draft(village=request.village, actor=request.user, request=request)
        return reverse(PAGE)

    try:
        url, replayed = run_once(request, action)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        if replayed:
            messages.info(request, _("The plan was already drawn up; it was not drawn again."))
        else:
            messages.success(request, _("The plan is drawn up: the supervisor approves it."))
        return redirect(url)
    return redirect(PAGE)


@require_POST
@staff_required(Role.SUPERVISOR)
def settlement_approve_view(request):
    settlement = Settlement.objects.filter(
        village=request.village, year=plan_year(timezone.localdate())
    ).first()
    if settlement is None:
        messages.error(request, _("There is no plan for this year to approve."))
        return redirect(PAGE)

    try:
        # When the plan the supervisor read was drawn up (the approve form carries it).
        drafted_at = datetime.datetime.fromisoformat(request.POST.get("drafted", ""))
    except ValueError:
        messages.error(request, _("The form is out of date; confirm again."))
        return redirect(PAGE)

    def action():
        settlement_approve(
            settlement=settlement, actor=request.user, drafted_at=drafted_at, request=request
        )
        return reverse(PAGE)

    try:
        url, _replayed = run_once(request, action)
    except SecondPersonRequired as error:  # sent up when nobody of the village may
        messages.warning(request, refusal_or_referral(request, error))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Approved: every household on the plan is told."))
        return redirect(url)
    return redirect(PAGE)
