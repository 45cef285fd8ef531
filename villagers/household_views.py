"""Staff pages of the registry: households, members, inspections and participation.

Managers change; supervisors and county admins (after picking a village) only look.
Every object is fetched through `villagers.selectors`, scoped to `request.village`.
"""

import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.access import Role, staff_required
from core.pagination import Paginator
from villagers.forms import (
    HouseholdFilterForm,
    HouseholdForm,
    InspectionForm,
    MemberForm,
    ParticipationForm,
    form_add_service_error,
)
from villagers.models import Card, Household, Inspection, Member, Participation
from villagers.selectors import (
    household_detail_get_for_user,
    household_get_for_user,
    household_search,
    member_get_for_user,
)
from villagers.services import (
    card_prerequisites_missing,
    household_save,
    inspection_record,
    member_id_reveal,
    member_save,
    participation_record,
)

VIEWERS = (Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
PAGE_SIZE = 25


@staff_required(*VIEWERS)
def household_list(request):
    form = HouseholdFilterForm(request.GET or None, village=request.village)
    filters = form.cleaned_data if form.is_valid() else {}
    households = household_search(
        request,
        query=filters.get("q", ""),
        group_id=filters["group"].pk if filters.get("group") else None,
        status=filters.get("status", ""),
        is_poor=form.yes_no(filters.get("poor", "")),
        has_card=form.yes_no(filters.get("card", "")),
    )
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "villagers/household_list.html", {"form": form, "page": page})


@staff_required(*VIEWERS)
def household_detail(request, pk):
    household = household_detail_get_for_user(request, pk)
    cards = list(household.cards.all())
    active_card = next((c for c in cards if c.status == Card.Status.ACTIVE), None)
    return render(
        request,
        "villagers/household_detail.html",
        {
            "household": household,
            "members": household.members.all(),
            "inspections": household.inspections.all(),
            "participations": household.participations.all(),
            "cards": cards,
            "active_card": active_card,
            "missing": [] if active_card else card_prerequisites_missing(household),
        },
    )


@staff_required(Role.MANAGER)
def household_create(request):
    household = Household(village=request.village)
    form = HouseholdForm(request.POST or None, instance=household, village=request.village)
    if request.method == "POST" and form.is_valid():
        try:
            household = household_save(household=form.instance, actor=request.user, request=request)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _("Household registered. Now add its members."))
            return redirect("villagers:household_detail", pk=household.pk)
    return render(request, "villagers/household_form.html", {"form": form, "household": None})


@staff_required(Role.MANAGER)
def household_edit(request, pk):
    household = household_get_for_user(request, pk)
    form = HouseholdForm(request.POST or None, instance=household, village=request.village)
    if request.method == "POST" and form.is_valid():
        try:
            household_save(household=form.instance, actor=request.user, request=request)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _("Household saved."))
            return redirect("villagers:household_detail", pk=household.pk)
    return render(request, "villagers/household_form.html", {"form": form, "household": household})


@staff_required(Role.MANAGER)
def member_create(request, pk):
    household = household_get_for_user(request, pk)
    member = Member(household=household)
    if not household.members.exists():
        member.relation = Member.Relation.HEAD
        member.name = household.head_name
    form = MemberForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        try:
            member_save(member=form.instance, actor=request.user, request=request)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _("Member added."))
            return redirect("villagers:household_detail", pk=household.pk)
    return render(
        request,
        "villagers/member_form.html",
        {"form": form, "household": household, "member": None},
    )


@staff_required(Role.MANAGER)
def member_edit(request, pk):
    member = member_get_for_user(request, pk)
    form = MemberForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        try:
            member_save(member=form.instance, actor=request.user, request=request)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _("Member saved."))
            return redirect("villagers:household_detail", pk=member.household_id)
    return render(
        request,
        "villagers/member_form.html",
        {"form": form, "household": member.household, "member": member},
    )


@never_cache
@require_POST
@staff_required(Role.MANAGER)
def member_view_id(request, pk):
    """The one page that shows a member's full ID number and phone; each look is audited."""
    member = member_get_for_user(request, pk)
    id_number = member_id_reveal(member=member, actor=request.user, request=request)
    return render(
        request,
        "villagers/member_id.html",
        {"member": member, "household": member.household, "id_number": id_number},
    )


@staff_required(Role.MANAGER)
def inspection_create(request, pk):
    household = household_get_for_user(request, pk)
    inspection = Inspection(household=household, date=datetime.date.today())
    form = InspectionForm(request.POST or None, instance=inspection)
    if request.method == "POST" and form.is_valid():
        try:
            inspection = inspection_record(
                inspection=form.instance, actor=request.user, request=request
            )
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            if inspection.passed:
                messages.success(request, _("Inspection recorded: all six checks passed."))
            else:
                messages.warning(
                    request,
                    _("Inspection recorded. Not passed: %(checks)s.")
                    % {"checks": "、".join(str(c) for c in inspection.failed_checks)},
                )
            return redirect("villagers:household_detail", pk=household.pk)
    return render(request, "villagers/inspection_form.html", {"form": form, "household": household})


@staff_required(Role.MANAGER)
def participation_create(request, pk):
    household = household_get_for_user(request, pk)
    participation = Participation(household=household, date=datetime.date.today())
    form = ParticipationForm(request.POST or None, instance=participation)
    if request.method == "POST" and form.is_valid():
        try:
            participation_record(participation=form.instance, actor=request.user, request=request)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _("Participation recorded."))
            return redirect("villagers:household_detail", pk=household.pk)
    return render(
        request, "villagers/participation_form.html", {"form": form, "household": household}
    )
