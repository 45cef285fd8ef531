"""Proposing awards and deductions: one household, many (a batch), or an activity's attendance."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from core.access import Role, staff_required
from core.decorators import allows_camera
from core.idempotency import key_used, run_once
from core.pagination import Paginator
from points.forms import ActivityForm, ProposalForm
from points.models import CarryOver, InspectionRound, Proposal
from points.rounds import batch_outcomes
from points.selectors import (
    carried_posted,
    households_with_account,
    proposals_of_proposer,
    proposals_repeated,
)
from points.services import ProposalsRepeated, proposal_create, proposal_refusals
from points.views.access import (
    _get_batch_for_user,
    _get_proposal_for_user,
    photo_response,
)
from points.views.approvals import decision_context
from points.views.picker import picker_enter_only, picker_pressed, picker_read


def _created_message(request, proposals, replayed):
    if replayed:
        messages.info(request, _("This was already sent; nothing was added twice."))
    else:
        messages.success(
            request,
            _("%(count)d proposal(s) sent to the supervisor for approval.")
            % {"count": len(proposals)},
        )


def _repeated(request, form, households, day) -> list:
    """The proposals of the form's rule and `day` the households have already: the same
    deed entered again (a reply lost, a form filled in again, a second tab), asked about
    before it is sent. Not when the box "propose again anyway" is ticked, nor for this form
    sent twice, which run_once answers."""
    if form.cleaned_data["again"] or key_used(request):
        return []
    return proposals_repeated(
        request.village, [household.pk for household in households], form.cleaned_data["rule"], day
    )


# The fields each form carries back as typed after a search (or an add, a remove).
PROPOSAL_TYPED = ("rule", "points", "override_reason", "reason", "occurred_on", "member")
ACTIVITY_TYPED = ("title", "rule", "date", "place", "card_numbers")


def _form_as_typed(request, form_class, typed_fields, households, picker):
    """The form of a POST that only worked its picker (picker_pressed): unbound, drawn with
    what was typed and the picker's households, nothing checked and nothing sent; only a
    photo must be chosen again."""
    typed = {name: request.POST[name] for name in typed_fields if name in request.POST}
    return form_class(
        village=request.village,
        households=households,
        initial={**typed, "again": False, "households": picker.chosen_ids},
    )


def _picker_context(request, form, picker, repeated=()) -> dict:
    """The context of a form that holds its household picker. Enter with Find empty
    (sent without JavaScript, or with htmx as `?enter=1`) is answered with a note that
    nothing was sent; Enter after a card scanned into Find (which the picker empties) is a
    scan, not a send, and is not."""
    if request.method == "GET":
        entered = bool(request.GET.get("enter")) and not request.GET.get("find", "").strip()
    else:
        entered = picker_pressed(request) and picker_enter_only(request)
    return {
        "form": form,
        "picker": picker,
        "repeated": list(repeated),
        "picker_only_checked": entered,
    }


def refusals_add(request, form, known: dict, override_reason: str = "") -> None:
    """Every refusal proposal_create would give that the values the form took (`known`, by
    the service's names) let it know now, beside the form's own (a reason left empty, a date
    in the future, a figure unlike the rule's without a why, a monthly cap): all said at
    once, not one per submit."""
    for refusal in proposal_refusals(
        village=request.village, override_reason=override_reason, with_cap=True, **known
    ):
        form.add_error(None, refusal)


def _proposal_known(form) -> dict:
    cleaned = form.cleaned_data
    known = {
        name: cleaned[name]
        for name in ("rule", "reason", "occurred_on", "points", "member")
        if name in cleaned
    }
    if "households" in cleaned:
        known["households"] = list(cleaned["households"])
    return known


def _activity_known(form) -> dict:
    """The activity's values by the service's names: its title is the reason, its date the
    day, the rule's figure the points; the attendees once both their lists were taken (and
    not none, which the form says itself)."""
    cleaned = form.cleaned_data
    known = {"points": None}
    for field, name in (("title", "reason"), ("rule", "rule"), ("date", "occurred_on")):
        if field in cleaned:
            known[name] = cleaned[field]
    if "households" in cleaned and "card_numbers" in cleaned:
        attendees = form.attendees()
        if attendees:
            known["households"] = attendees
    return known


@staff_required(Role.MANAGER, Role.SUPERVISOR)
def proposal_new(request):
    """Propose for one household (a member may be named) or several (a batch).

    The households are chosen with the picker (points.views.picker); `?household=<id>`
    starts with that household (the household page's "Propose points").
    """
    households = households_with_account(request.village)
    picker = picker_read(request, households)
    if picker_pressed(request):
        # A search, an add or a remove (the picker is part of this form): nothing sent.
        form = _form_as_typed(request, ProposalForm, PROPOSAL_TYPED, households, picker)
        return render(request, "points/proposal_form.html", _picker_context(request, form, picker))
    form = ProposalForm(
        request.POST if request.method == "POST" else None,  # bound even when sent empty
        request.FILES or None,
        village=request.village,
        households=households,
        initial={"households": picker.chosen_ids},
    )
    repeated = []
    if request.method == "POST" and not key_used(request):
        form.is_valid()
        known = _proposal_known(form)
        refusals_add(request, form, known, form.cleaned_data.get("override_reason", ""))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        repeated = _repeated(request, form, data["households"], data["occurred_on"])
    if request.method == "POST" and form.is_valid() and not repeated:
        created = []

        def action():
            created.extend(
                proposal_create(
                    village=request.village,
                    households=list(data["households"]),
                    rule=data["rule"],
                    reason=data["reason"],
                    occurred_on=data["occurred_on"],
                    actor=request.user,
                    points=data["points"],
                    override_reason=data["override_reason"],
                    member=data["member"],
                    photo=data["photo"] or None,
                    again=data["again"],
                    request=request,
                )
            )
            return reverse("points:proposals_mine")

        try:
            url, replayed = run_once(request, action)
        except ProposalsRepeated as error:
            repeated = error.proposals  # sent at the same moment from another tab
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _created_message(request, created, replayed)
            return redirect(url)
    context = _picker_context(request, form, picker, repeated)
    return render(request, "points/proposal_form.html", context)


@allows_camera
@staff_required(Role.MANAGER, Role.SUPERVISOR)
def activity_new(request):
    """A collective activity or voluntary-labour day: its attendance becomes one batch.

    The households are chosen with the picker, part of this form as on the proposal form."""
    households = households_with_account(request.village)
    picker = picker_read(request, households)
    if picker_pressed(request):
        form = _form_as_typed(request, ActivityForm, ACTIVITY_TYPED, households, picker)
        return render(request, "points/activity_form.html", _picker_context(request, form, picker))
    form = ActivityForm(
        request.POST if request.method == "POST" else None,  # bound even when sent empty
        request.FILES or None,
        village=request.village,
        households=households,
        initial={"households": picker.chosen_ids},
    )
    repeated = []
    if request.method == "POST" and not key_used(request):
        form.is_valid()
        refusals_add(request, form, _activity_known(form))
    if request.method == "POST" and form.is_valid():
        repeated = _repeated(request, form, form.attendees(), form.cleaned_data["date"])
    if request.method == "POST" and form.is_valid() and not repeated:
        data = form.cleaned_data
        created = []

        def action():
            created.extend(
                proposal_create(
                    village=request.village,
                    households=form.attendees(),
                    rule=data["rule"],
                    reason=data["title"],
                    occurred_on=data["date"],
                    actor=request.user,
                    photo=data["photo"] or None,
                    batch_title=data["title"],
                    place=data["place"],
                    again=data["again"],
                    request=request,
                )
            )
            return reverse("points:batch_detail", args=[created[0].batch_id])

        try:
            url, replayed = run_once(request, action)
        except ProposalsRepeated as error:
            repeated = error.proposals  # sent at the same moment from another tab
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _created_message(request, created, replayed)
            return redirect(url)
    context = _picker_context(request, form, picker, repeated)
    return render(request, "points/activity_form.html", context)


@staff_required(Role.MANAGER, Role.SUPERVISOR)
def proposals_mine(request):
    """The proposer's own pending and rejected items."""
    page = Paginator(proposals_of_proposer(request.village, request.user), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "points/proposals_mine.html", {"page": page})


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def proposal_detail(request, pk):
    proposal = _get_proposal_for_user(request, pk)
    pending = [proposal] if proposal.status == Proposal.Status.PROPOSED else []
    context = {"proposal": proposal, **decision_context(request, proposal, pending)}
    return render(request, "points/proposal_detail.html", context)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def proposal_photo(request, pk):
    return photo_response(_get_proposal_for_user(request, pk).photo)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def batch_detail(request, pk):
    batch = _get_batch_for_user(request, pk)
    # Each read names the village beside the batch: docs/performance.md, "Past one database".
    proposals = (
        batch.proposals.filter(village_id=batch.village_id)
        .select_related("household__group", "decided_by", "rule")
        .order_by("household__number")
    )
    batch.outcome = batch_outcomes([batch.pk], village_id=batch.village_id)[batch.pk]
    pending = [p for p in proposals if p.status == Proposal.Status.PROPOSED]
    round_ = (
        InspectionRound.objects.filter(village_id=batch.village_id, batch=batch).only("pk").first()
    )
    carry_over = CarryOver.objects.filter(village_id=batch.village_id, batch=batch).first()
    lines, posted = [], None
    if carry_over is not None:
        lines = carry_over.lines.select_related("household__group", "proposal").order_by(
            "household__number"
        )
        posted = carried_posted(carry_over)
    return render(
        request,
        "points/batch_detail.html",
        {
            "batch": batch,
            "proposals": proposals,
            "round": round_,
            "carry_over": carry_over,
            "carry_over_lines": lines,
            "carry_over_posted": posted,
            **decision_context(request, batch, pending),
        },
    )
