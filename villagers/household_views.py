"""Staff pages of the registry: households, members, inspections and participation.

Managers change; supervisors and county admins (after picking a village) only look.
Every object is fetched through `villagers.selectors`, scoped to `request.village`. The
household list and a household's page show points and wishes too, so they are composed in
`reports.households`; each save here returns to that page.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.access import Role, staff_required
from core.idempotency import already_sent, key_used, run_once, said_once
from core.text import list_join
from villagers.forms import (
    HouseholdForm,
    InspectionForm,
    MemberForm,
    MemberLeaveForm,
    NewMemberForm,
    ParticipationForm,
    form_add_service_error,
)
from villagers.models import Household, Inspection, Member, Participation, User
from villagers.selectors import (
    household_get_for_user,
    member_get_for_user,
)
from villagers.services import (
    household_save,
    inspection_record,
    member_id_reveal,
    member_leave,
    member_return,
    member_save,
    participation_record,
)

VIEWERS = (Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)


@staff_required(*VIEWERS)
def household_list(request):
    """The list shows balances, so it is composed above the apps (reports.households)."""
    query = request.GET.urlencode()
    return redirect(reverse("reports:household_list") + (f"?{query}" if query else ""))


@staff_required(*VIEWERS)
def household_detail(request, pk):
    """The household's page is its hub, composed above the apps (reports.households)."""
    household = household_get_for_user(request, pk)
    return redirect("reports:household", pk=household.pk)


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
            return redirect("reports:household", pk=household.pk)
    return render(request, "villagers/household_form.html", {"form": form, "household": None})


@staff_required(Role.MANAGER)
@transaction.atomic  # the edited row is locked while the form checks and saves it
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
            return redirect("reports:household", pk=household.pk)
    elif form.sent_twice():
        already_sent(request)
        return redirect("reports:household", pk=household.pk)
    return render(request, "villagers/household_form.html", {"form": form, "household": household})


@staff_required(Role.MANAGER)
def member_create(request, pk):
    household = household_get_for_user(request, pk)
    hub = reverse("reports:household", args=[household.pk])
    member = Member(household=household)
    if not household.members.exists():  # its first: the head (not after a head who left)
        member.relation = Member.Relation.HEAD
        member.name = household.head_name
    form = NewMemberForm(request.POST or None, instance=member)

    def action():
        member_save(member=form.instance, actor=request.user, request=request)
        return hub

    # A form sent again after it was saved is answered by run_once before the form is
    # checked: checked again, its ID number would now be "already registered".
    if request.method == "POST" and (key_used(request) or form.is_valid()):
        try:
            url, replayed = run_once(request, action)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            said_once(request, replayed, _("Member added."))
            return redirect(url)
    return render(
        request,
        "villagers/member_form.html",
        {"form": form, "household": household, "member": None},
    )


@staff_required(Role.MANAGER)
@transaction.atomic  # the edited row is locked while the form checks and saves it
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
            return redirect("reports:household", pk=member.household_id)
    elif form.sent_twice():
        already_sent(request)
        return redirect("reports:household", pk=member.household_id)
    return render(
        request,
        "villagers/member_form.html",
        {"form": form, "household": member.household, "member": member},
    )


@staff_required(Role.MANAGER)
def member_leave_view(request, pk):
    """A member died, moved or married away: kept on record, no longer of the household."""
    member = member_get_for_user(request, pk)
    hub = reverse("reports:household", args=[member.household_id])
    if member.left_on is not None:
        messages.info(
            request,
            _("%(name)s left the household on %(day)s.")
            % {"name": member.name, "day": member.left_on.isoformat()},
        )
        return redirect(hub)
    form = MemberLeaveForm(request.POST or None, initial={"date": timezone.localdate()})
    if request.method == "POST" and form.is_valid():

        def action():
            member_leave(
                member=member,
                on=form.cleaned_data["date"],
                why=form.cleaned_data["why"],
                actor=request.user,
                request=request,
            )
            return hub

        try:
            _url, replayed = run_once(request, action)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            said_once(
                request,
                replayed,
                _("%(name)s is no longer a member of the household; they stay on record.")
                % {"name": member.name},
            )
            return redirect(hub)
    # One with a PIN of their own leaves once it is revoked (member_leave): said before the
    # form is filled in, with the way to it, not only as the refusal of a filled-in form.
    has_pin = User.objects.filter(member=member, is_active=True).exists()
    return render(
        request,
        "villagers/member_leave.html",
        {"form": form, "member": member, "household": member.household, "has_pin": has_pin},
    )


@require_POST
@staff_required(Role.MANAGER)
def member_return_view(request, pk):
    """A former member is one of the household again (recorded as left by mistake, or come
    back); one-time key: a re-sent button does it once."""
    member = member_get_for_user(request, pk)
    hub = reverse("reports:household", args=[member.household_id])

    def action():
        member_return(member=member, actor=request.user, request=request)
        return hub

    try:
        _url, replayed = run_once(request, action)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        said_once(
            request,
            replayed,
            _("%(name)s is a member of the household again.") % {"name": member.name},
        )
    return redirect(hub)


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
    hub = reverse("reports:household", args=[household.pk])
    inspection = Inspection(household=household, date=timezone.localdate())
    form = InspectionForm(request.POST or None, instance=inspection)
    if request.method == "POST" and form.is_valid():

        def action():
            inspection_record(inspection=form.instance, actor=request.user, request=request)
            return hub

        try:
            url, replayed = run_once(request, action)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            if replayed:
                already_sent(request)
            elif inspection.passed:
                messages.success(request, _("Inspection recorded: all six checks passed."))
            else:
                messages.warning(
                    request,
                    _(
                        "Inspection recorded. Not passed: %(checks)s. To deduct points for it, "
                        "use Propose points on this page."
                    )
                    % {"checks": list_join(inspection.failed_checks)},
                )
            return redirect(url)
    return render(request, "villagers/inspection_form.html", {"form": form, "household": household})


@staff_required(Role.MANAGER)
def participation_create(request, pk):
    household = household_get_for_user(request, pk)
    hub = reverse("reports:household", args=[household.pk])
    participation = Participation(household=household, date=timezone.localdate())
    form = ParticipationForm(request.POST or None, instance=participation)
    if request.method == "POST" and form.is_valid():

        def action():
            participation_record(participation=form.instance, actor=request.user, request=request)
            return hub

        try:
            url, replayed = run_once(request, action)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            said_once(request, replayed, _("Participation recorded."))
            return redirect(url)
    return render(
        request, "villagers/participation_form.html", {"form": form, "household": household}
    )
