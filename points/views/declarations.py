"""积分申报: a villager declares a good deed; the manager turns it into a proposal or declines."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import (
    Role,
    is_villager,
    staff_required,
    village_object_or_404,
    villager_required,
)
from core.idempotency import key_used, run_once
from core.pagination import Paginator
from points.forms import DeclarationAcceptForm, DeclarationForm, ReasonForm
from points.models import Declaration
from points.services import declaration_accept, declaration_decline, declaration_submit
from points.views.access import _get_declaration_for_user, photo_response
from points.views.proposals import refusals_add

# The declarations waiting for review named on the form (the newest; "more" beyond them).
DECLARATIONS_NAMED = 3


def _refused(request, declaration, error):
    for line in error.messages:
        messages.error(request, line)
    return redirect("points:declaration_review", pk=declaration.pk)


@villager_required
def declaration_new(request):
    """The villager's declaration. Those of the household still waiting for review are named
    at the top, as the reserve page names its reservations: after an answer lost on the way
    to the phone (or Back), the same good deed was declared again, and could be accepted
    twice by a manager reviewing one declaration at a time."""
    household = request.user.household
    form = DeclarationForm(request.POST or None, request.FILES or None, household=household)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def action():
            declaration_submit(
                user=request.user,
                description=data["description"],
                occurred_on=data["occurred_on"],
                member=data["member"],
                photo=data["photo"] or None,
                request=request,
            )
            return reverse("points:me")

        try:
            url, replayed = run_once(request, action)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            if not replayed:
                messages.success(
                    request, _("Thank you. The village manager will review your declaration.")
                )
            return redirect(url)
    waiting = list(
        Declaration.objects.filter(
            household=household, status=Declaration.Status.SUBMITTED
        ).order_by("-submitted_at", "-id")[: DECLARATIONS_NAMED + 1]
    )
    context = {
        "form": form,
        "waiting": waiting[:DECLARATIONS_NAMED],
        "more_waiting": len(waiting) > DECLARATIONS_NAMED,
        "today": timezone.localdate(),
    }
    return render(request, "points/declaration_form.html", context)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def declaration_list(request):
    declarations = (
        Declaration.objects.filter(village=request.village)
        .select_related("household__group", "member", "reviewed_by")
        .order_by("status", "-submitted_at")
    )
    status = request.GET.get("status", Declaration.Status.SUBMITTED)
    if status in Declaration.Status.values:
        declarations = declarations.filter(status=status)
    page = Paginator(declarations, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "points/declaration_list.html",
        {"page": page, "status": status, "statuses": Declaration.Status.choices},
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def declaration_review(request, pk):
    declaration = _get_declaration_for_user(request, pk)
    accept_form = DeclarationAcceptForm(
        village=request.village, initial={"reason": declaration.description[:300]}
    )
    return render(
        request,
        "points/declaration_review.html",
        {"declaration": declaration, "accept_form": accept_form, "decline_form": ReasonForm()},
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR)
@require_POST
def declaration_accept_view(request, pk):
    declaration = _get_declaration_for_user(request, pk)
    form = DeclarationAcceptForm(request.POST, village=request.village)
    if declaration.status == Declaration.Status.SUBMITTED and not key_used(request):
        # Every refusal the proposal would meet, said with the form's own at once: a figure
        # unlike the rule's without a why, the monthly cap, a card taken away since.
        form.is_valid()
        cleaned = form.cleaned_data
        known = {name: cleaned[name] for name in ("rule", "reason", "points") if name in cleaned}
        known.update(
            households=[declaration.household],
            occurred_on=declaration.occurred_on,
            member=declaration.member,
        )
        refusals_add(request, form, known, cleaned.get("override_reason", ""))
    if form.is_valid():
        data = form.cleaned_data

        def action():
            declaration_accept(
                declaration=declaration,
                actor=request.user,
                rule=data["rule"],
                reason=data["reason"],
                points=data["points"],
                override_reason=data["override_reason"],
                request=request,
            )
            return reverse("points:declaration_list")

        try:
            url, _replayed = run_once(request, action)
        except ValidationError as error:
            declaration.refresh_from_db()
            if declaration.status != Declaration.Status.SUBMITTED:
                return _refused(request, declaration, error)
            form.add_error(None, error)
        else:
            messages.success(request, _("The declaration is now a proposal awaiting approval."))
            return redirect(url)
    return render(
        request,
        "points/declaration_review.html",
        {"declaration": declaration, "accept_form": form, "decline_form": ReasonForm()},
        status=400,
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR)
@require_POST
def declaration_decline_view(request, pk):
    declaration = _get_declaration_for_user(request, pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            declaration_decline(
                declaration=declaration,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except ValidationError as error:
            return _refused(request, declaration, error)
        else:
            messages.success(request, _("The declaration was declined."))
            return redirect("points:declaration_list")
    accept_form = DeclarationAcceptForm(village=request.village)
    return render(
        request,
        "points/declaration_review.html",
        {"declaration": declaration, "accept_form": accept_form, "decline_form": form},
        status=400,
    )


def declaration_photo(request, pk):
    """Staff of the village, or the household that declared it, may see the photo."""
    if not request.user.is_authenticated:
        raise PermissionDenied
    if is_villager(request.user):
        # Another household's of the village stays a bare 404; another village's says so.
        own = Declaration.objects.filter(household=request.user.household_id)
        return photo_response(village_object_or_404(own, request.village, pk=pk).photo)
    return _declaration_photo_staff(request, pk)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def _declaration_photo_staff(request, pk):
    return photo_response(_get_declaration_for_user(request, pk).photo)
