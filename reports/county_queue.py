"""The queue of items sent up by villages, and each village's view of it.

The township officer decides here what nobody of one of the township's villages may
(DESIGN.md ledger rule 8), and the county admin for every village of the county (a
township without an officer, or an item its officer may not decide): the only write either
has. The village's staff see what they sent up and what became of it.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import Role, overseer_required, staff_required
from core.db import row_id_or_none
from core.idempotency import run_once
from reports.referrals import (
    NEEDS_REASON,
    batches_together,
    queue_items,
    referral_decide,
    referrals_of_village,
    referrals_overseen,
)
from villagers.models import Referral
from villagers.oversight import oversight_of


@overseer_required
def county_queue(request):
    """What the overseen villages sent up, oldest first, and what was decided lately."""
    return _queue_page(request)


def _queue_page(request, kept=None):
    """The queue; `kept`: a refused decision, with the reason typed, shown again in its
    item's form."""
    referrals = referrals_overseen(request.user)
    # A batch's proposals waiting together are one entry, decided as one (DESIGN.md rule 4).
    waiting = batches_together(
        queue_items(referrals.filter(status=Referral.Status.OPEN).order_by("requested_at", "pk"))
    )
    decided = Paginator(
        referrals.exclude(status=Referral.Status.OPEN).order_by("-decided_at", "-id"), 20
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/county_queue.html",
        {
            "waiting": waiting,
            "decided": decided,
            "needs_reason": sorted(NEEDS_REASON),
            "is_township": oversight_of(request.user).is_township,
            "kept": kept or {},
        },
    )


@require_POST
@overseer_required
def county_queue_decide(request):
    """Decide one item, or a batch's proposals waiting together, as one effect (one-time
    key)."""
    ids = [i for i in map(row_id_or_none, request.POST.getlist("referral")) if i is not None]
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")  # its length: the deciding service's
    back = reverse("reports:county_queue")
    if not ids:
        messages.error(request, _("Choose at least one item."))
        return redirect(back)

    def act():
        referral_decide(
            referral_ids=ids, actor=request.user, decision=decision, reason=reason, request=request
        )
        return back

    try:
        url, replayed = run_once(request, act)
    except ValidationError as error:
        for line in error.messages:
            messages.error(request, line)
        # The page again, with the decision and the reason typed kept (a redirect lost them).
        kept = {"referral": ids[0], "decision": decision, "reason": reason}
        return _queue_page(request, kept=kept)
    if replayed:
        messages.info(request, _("This decision was already recorded."))
    else:
        messages.success(request, _("Decided: the village sees the outcome."))
    return redirect(url)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def village_referrals(request):
    """The village's items waiting for the county, and those the county decided."""
    referrals = referrals_of_village(request.village.pk)
    return render(
        request,
        "reports/village_referrals.html",
        {
            "waiting": batches_together(
                queue_items(
                    referrals.filter(status=Referral.Status.OPEN).order_by("requested_at", "pk")
                )
            ),
            "decided": Paginator(
                referrals.exclude(status=Referral.Status.OPEN).order_by("-decided_at", "-id"), 20
            ).get_page(request.GET.get("page")),
        },
    )
