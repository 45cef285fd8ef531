"""The publicity period: objecting to an entry, and the supervisor's page to settle them."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import (
    Role,
    is_supervisor,
    is_villager,
    objector_required,
    staff_required,
    village_object_or_404,
)
from core.forms import reason_refused
from core.idempotency import run_once
from core.pagination import Paginator
from points.forms import ObjectionForm, ObjectionResolveForm, ReasonForm
from points.models import Objection
from points.publicity import (
    objection_dismissed_words,
    objection_raise,
    objection_refusal,
    objection_resolve,
    proposal_cancel,
    proposal_held_credit,
    proposal_shown_to_villager,
)
from points.selectors import objections_of_village, proposals_held, proposals_in_publicity
from points.views.access import _get_proposal_for_user
from villagers.models import Referral
from villagers.second_person import SecondPersonRequired, open_referrals, refusal_or_referral


@objector_required
def objection_new(request, pk):
    """Anyone of the village files an objection (异议) to an entry in its publicity period."""
    proposal = _get_proposal_for_user(request, pk)
    if is_villager(request.user) and not proposal_shown_to_villager(proposal, request.user):
        raise Http404  # another household's pending or rejected proposal is nobody's business
    refusal = objection_refusal(proposal, request.user)
    form = ObjectionForm(request.POST or None)
    if request.method == "POST" and refusal is None and form.is_valid():
        try:
            objection = objection_raise(
                proposal_id=proposal.pk,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if open_referrals(
                kind=Referral.Kind.OBJECTION,
                object_ids=[objection.pk],
                village_id=request.village.pk,
            ):
                filed = _(
                    "Your objection was filed and sent to the township or county, as nobody "
                    "of the village may settle it. The entry is not credited until then."
                )
            else:
                filed = _(
                    "Your objection was filed. The entry is not credited until the supervisor "
                    "has looked into it."
                )
            messages.success(request, filed)
            return redirect("reports:notice")
    context = {"proposal": proposal, "form": form, "refusal": refusal}
    return render(request, "points/objection_form.html", context)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def publicity_overview(request):
    """Entries in publicity, held entries and objections; the supervisor settles them."""
    resolved = Paginator(
        objections_of_village(request.village, open_only=False).exclude(
            status=Objection.Status.OPEN
        ),
        20,
    ).get_page(request.GET.get("page"))
    open_objections = list(objections_of_village(request.village, open_only=True))
    held = list(proposals_held(request.village))
    # What waits for the township or the county is marked so, with no buttons to decide it.
    for kind, rows in ((Referral.Kind.OBJECTION, open_objections), (Referral.Kind.HELD, held)):
        referred = open_referrals(
            kind=kind, object_ids=[row.pk for row in rows], village_id=request.village.pk
        )
        for row in rows:
            row.referral = referred.get(row.pk)
    context = {
        "waiting": proposals_in_publicity(request.village)[:200],
        "held": held,
        "open_objections": open_objections,
        "resolved": resolved,
        "can_decide": is_supervisor(request.user),
    }
    return render(request, "points/publicity.html", context)


def _get_objection_for_user(request, pk: int) -> Objection:
    objections = Objection.objects.filter(village=request.village)
    return village_object_or_404(objections, request.village, pk=pk)


def _settle(request, action, success, asked: dict):
    """Run the supervisor's decision once per form key (a decision may credit points); what
    the second-person rule bars is sent up to the county when nobody of the village may.
    `success` is the message, or a function of what `action` returned that words it."""
    back = reverse("points:publicity")
    done = []

    def once():
        done.append(action())
        return back

    try:
        _url, replayed = run_once(request, once)
    except SecondPersonRequired as error:
        messages.warning(request, refusal_or_referral(request, error, asked))
        return redirect(back)
    except ValidationError as error:
        for line in error.messages:
            messages.error(request, line)
    else:
        if replayed:
            messages.info(request, _("This decision was already recorded."))
        else:
            messages.success(request, success(done[0]) if callable(success) else success)
    return redirect(back)


@staff_required(Role.SUPERVISOR)
@require_POST
def objection_resolve_view(request, pk):
    objection = _get_objection_for_user(request, pk)
    form = ObjectionResolveForm(request.POST)
    if not form.is_valid():
        if not reason_refused(request, form, "resolution"):
            messages.error(request, _("Choose uphold or dismiss."))
        return redirect("points:publicity")
    upheld = form.cleaned_data["decision"] == "uphold"
    return _settle(
        request,
        lambda: objection_resolve(
            objection_id=objection.pk,
            actor=request.user,
            upheld=upheld,
            resolution=form.cleaned_data["resolution"],
            request=request,
        ),
        _("Objection upheld: the entry is cancelled.") if upheld else objection_dismissed_words,
        {
            "decision": form.cleaned_data["decision"],
            "resolution": form.cleaned_data["resolution"],
        },
    )


def _held_words(award: str, deduction: str):
    """What a held entry settled is called: a deduction the balance could not bear, or an
    award (or deduction) of a household whose card was recalled."""
    return lambda proposal: award if proposal.points > 0 else deduction


@staff_required(Role.SUPERVISOR)
@require_POST
def held_credit_view(request, pk):
    proposal = _get_proposal_for_user(request, pk)
    return _settle(
        request,
        lambda: proposal_held_credit(proposal_id=proposal.pk, actor=request.user, request=request),
        _held_words(_("The award was credited."), _("The deduction was credited.")),
        {"action": "credit"},
    )


@staff_required(Role.SUPERVISOR)
@require_POST
def held_cancel_view(request, pk):
    proposal = _get_proposal_for_user(request, pk)
    form = ReasonForm(request.POST)
    if reason_refused(request, form):
        return redirect("points:publicity")
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _settle(
        request,
        lambda: proposal_cancel(
            proposal_id=proposal.pk, actor=request.user, reason=reason, request=request
        ),
        _held_words(_("The award was cancelled."), _("The deduction was cancelled.")),
        {"action": "cancel", "reason": reason},
    )
