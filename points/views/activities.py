"""Activity check-in by QR code (points.activities): the manager's pages and the villager's.

The manager opens an activity, shows its QR code on a page that draws the next code by
itself (a meta refresh: no JavaScript needed) and closes it into one batch; a villager who
scans the code lands on the check-in page, signed in.
"""

from urllib.parse import parse_qs, urlencode, urlsplit

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import Role, staff_required, village_object_or_404, villager_required
from core.decorators import allows_camera
from core.idempotency import OneTimeKeyMixin, run_once
from core.pagination import Paginator
from points.activities import (
    PASS_SECONDS,
    SLOT_SECONDS,
    activity_checkin,
    activity_checkin_base_url,
    activity_close,
    activity_open,
    activity_rule_choices,
    checkin_pass,
    checkin_pass_check,
    checkin_refusal,
    checkin_seconds_left,
    checkin_token_check,
    checkin_url,
)
from points.forms import ActivityOpenForm, CheckInForm
from points.models import Activity, CheckIn, Proposal
from points.views.access import photo_response
from villagers.models import Household


def _get_activity_for_user(request, pk: int) -> Activity:
    return village_object_or_404(
        Activity.objects.filter(village=request.village).select_related(
            "rule", "opened_by", "batch"
        ),
        request.village,
        pk=pk,
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def activity_list(request):
    """The village's activities checked in by QR code, open ones first."""
    activities = (
        Activity.objects.filter(village=request.village)
        .select_related("rule", "opened_by")
        .annotate(checked_in=Count("checkins"))
        .order_by("-status", "-opened_at", "-id")  # descending: "open" before "closed"
    )
    page = Paginator(activities, 25).get_page(request.GET.get("page"))
    return render(request, "points/activity_list.html", {"page": page})


@staff_required(Role.MANAGER)
def activity_open_view(request):
    """Open today's activity for check-in: then show its QR code."""
    rules = activity_rule_choices(request.village)
    form = ActivityOpenForm(request.POST or None, rules=rules)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def action():
            activity = activity_open(
                village=request.village,
                rule=data["rule"],
                title=data["title"],
                place=data["place"],
                actor=request.user,
                request=request,
            )
            return reverse("points:activity_qr", args=[activity.pk])

        try:
            url, _replayed = run_once(request, action)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(url)
    return render(
        request, "points/activity_open.html", {"form": form, "no_rules": not rules.exists()}
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def activity_detail(request, pk):
    """Who checked in (with their photos), and the batch once closed."""
    activity = _get_activity_for_user(request, pk)
    checkins = list(
        activity.checkins.select_related("household__group", "user__member").order_by(
            "checked_in_at", "id"
        )
    )
    proposals = {}
    if activity.batch_id:
        proposals = {
            proposal.household_id: proposal
            for proposal in Proposal.objects.filter(
                village_id=activity.village_id, batch_id=activity.batch_id
            )
        }
    left_out = {item["household"]: item for item in activity.not_proposed}
    lines = [
        {
            "checkin": checkin,
            "proposal": proposals.get(checkin.household_id),
            "why": left_out.get(checkin.household_id, {}).get("why", ""),
            # The proposal of the same rule and day that left it out, if that was why.
            "earlier": left_out.get(checkin.household_id, {}).get("proposal"),
        }
        for checkin in checkins
    ]
    return render(
        request,
        "points/activity_detail.html",
        {"activity": activity, "lines": lines, "close_form": OneTimeKeyMixin()},
    )


def _qr_svg(url: str) -> str:
    svg = segno.make_qr(url, error="m").svg_inline(scale=8, border=4, omitsize=True)
    return mark_safe(svg)  # noqa: S308 - segno's own markup of our own URL


@staff_required(Role.MANAGER)
def activity_qr(request, pk):
    """The QR code to show at the activity. On a screen left alone (`?rotate=1`, the
    manager's choice, like the wish wall's TV) the page draws the next code by itself;
    otherwise a link does, so nobody's page changes under them unasked."""
    activity = _get_activity_for_user(request, pk)
    rotate = request.GET.get("rotate") == "1"
    context = {"activity": activity, "checked_in": activity.checkins.count()}
    if activity.is_open:
        url = checkin_url(activity, base=activity_checkin_base_url(request))
        context.update(
            qr=_qr_svg(url),
            checkin_link=url,
            refresh=checkin_seconds_left() if rotate else None,
            rotate=rotate,
            slot_minutes=max(1, SLOT_SECONDS // 60),
        )
    return render(request, "points/activity_qr.html", context)


@staff_required(Role.MANAGER)
@require_POST
def activity_close_view(request, pk):
    """Close check-in: the attendance becomes one batch for the supervisor."""
    activity = _get_activity_for_user(request, pk)

    def action():
        activity_close(activity=activity, actor=request.user, request=request)
        return reverse("points:activity_detail", args=[activity.pk])

    try:
        url, replayed = run_once(request, action)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect("points:activity_detail", pk=activity.pk)
    if replayed:
        messages.info(request, _("This was already sent; nothing was added twice."))
    else:
        messages.success(request, _("Check-in is closed."))
    return redirect(url)


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def checkin_photo(request, pk):
    checkins = CheckIn.objects.filter(activity__village=request.village)
    checkin = village_object_or_404(
        checkins, request.village, village_field="activity__village", pk=pk
    )
    return photo_response(checkin.photo)


@villager_required
def checkin(request, pk):
    """The page the QR code opens: check the household in, with a photo if wished.

    Opening it needs the code's current token; the form then carries a pass for this login
    (points.activities), so taking a photo may take a while.
    """
    # Another village's QR code (scanned in the next village) says so (core.access).
    activities = Activity.objects.filter(village=request.village).select_related("rule")
    activity = village_object_or_404(activities, request.village, pk=pk)
    user = request.user
    form, refusal = None, None
    if request.method == "POST":
        form = CheckInForm(request.POST, request.FILES)
        if form.is_valid():

            def action():
                checkin_pass_check(activity, user, form.cleaned_data["checkin_pass"])
                activity_checkin(
                    activity=activity,
                    user=user,
                    photo=form.cleaned_data["photo"] or None,
                    request=request,
                )
                return reverse("points:me")

            try:
                url, replayed = run_once(request, action)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if replayed:
                    messages.info(request, _("This was already sent; nothing was added twice."))
                else:
                    messages.success(
                        request,
                        _(
                            "Your household is checked in to %(title)s. The points follow "
                            "once the supervisor approves."
                        )
                        % {"title": activity.title},
                    )
                return redirect(url)
    else:
        refusal = checkin_refusal(activity, user)
        if refusal is None:
            try:
                checkin_token_check(activity, request.GET.get("t", ""))
            except ValidationError as error:
                refusal = " ".join(error.messages)
            else:
                form = CheckInForm(initial={"checkin_pass": checkin_pass(activity, user)})
    household = Household.objects.only("head_name", "number").get(pk=user.household_id)
    return render(
        request,
        "points/checkin.html",
        {
            "activity": activity,
            "form": form,
            "refusal": refusal,
            "household": household,
            "pass_minutes": PASS_SECONDS // 60,
        },
    )


def _checkin_target(code: str) -> str | None:
    """The check-in page a scanned code points to (path and token only: never another host)."""
    try:
        parts = urlsplit(code.strip())  # a code that is no URL ("http://[") is a ValueError
        match = resolve(parts.path)
    except (ValueError, Resolver404):
        return None
    if match.view_name != "points:checkin":
        return None
    token = parse_qs(parts.query).get("t", [""])[0]
    return f"{reverse('points:checkin', args=[match.kwargs['pk']])}?{urlencode({'t': token})}"


@allows_camera
@villager_required
def checkin_scan(request):
    """The in-page scanner for the activity's QR code, for phones whose camera app reads no
    QR codes: the link read is opened here (the phone's camera app opens it directly)."""
    code = request.GET.get("code", "")
    error = ""
    if code.strip():
        target = _checkin_target(code)
        if target is not None:
            return redirect(target)
        error = _(
            "This QR code is not an activity's check-in code. Scan the code the manager shows."
        )
    scan_path = reverse("points:checkin", args=[1])[: -len("1/")]
    return render(
        request, "points/checkin_scan.html", {"code": code, "error": error, "scan_path": scan_path}
    )
