"""Posting, moderating, matching and fulfilling wishes (the wall pages are in wall_views)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.access import (
    Role,
    access_required,
    is_county_admin,
    is_manager,
    is_supervisor,
    is_villager,
    member_of_village_required,
    staff_required,
    village_object_or_404,
    villager_required,
)
from core.idempotency import already_sent, run_once, said_once
from core.pagination import Paginator
from core.picker import form_as_typed, pick_context, pick_pressed, picks_read
from villagers.models import Household, Referral
from villagers.second_person import (
    SecondPersonRequired,
    refusal_or_referral,
    waiting_above,
)
from wishwall import services
from wishwall.forms import (
    ApproveForm,
    DeclineForm,
    FulfilForm,
    MatchForm,
    WishEditForm,
    WishForm,
    WishOnBehalfForm,
    WishReviseForm,
)
from wishwall.models import Wish
from wishwall.selectors import wish_just_posted, wishes_visible_to

PAGE_SIZE = 20
# The household's open wishes named on the wish form (the newest; "more" beyond them).
WISHES_NAMED = 3
QUEUE_TABS = {
    "pending": Wish.objects.filter(status=Wish.Status.OPEN, approved_at__isnull=True),
    "wall": Wish.objects.filter(status=Wish.Status.OPEN, approved_at__isnull=False),
    "matched": Wish.objects.filter(status=Wish.Status.MATCHED),
    "closed": Wish.objects.filter(
        status__in=[Wish.Status.FULFILLED, Wish.Status.DECLINED, Wish.Status.WITHDRAWN]
    ),
}


def _get_wish_for_user(request, pk: int) -> Wish:
    """The wish if the user may see it (own village; a villager: own or on the wall), else 404."""
    wishes = wishes_visible_to(request.user, request.village).select_related(
        "household__group",
        "posted_by",
        "approved_by",
        "declined_by",
        "match__donor",
        "match__matched_by",
        "fulfilment",
    )
    return village_object_or_404(wishes, request.village, pk=pk)


def _add_service_error(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form, on the field it names when the form has it."""
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_messages)
    else:
        form.add_error(None, error.messages)


def _drawn_again(request, error: ValidationError) -> bool:
    """A change refused because the wish changed after the form was drawn: say so; the
    caller draws the page again, with the wish as it is now."""
    if getattr(error, "code", None) != "stale":
        return False
    messages.error(request, error.messages[0])
    return True


def _posted_url(wish: Wish, on_behalf: bool) -> str:
    """Where a posted wish's page goes: staff to the wish, the household to its wishes."""
    return reverse("wishwall:detail", args=[wish.pk]) if on_behalf else reverse("wishwall:mine")


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


@villager_required
def wish_mine(request):
    """The villager's own wishes and where each one stands."""
    wishes = (
        Wish.objects.filter(household_id=request.user.household_id)
        .select_related("match__donor", "fulfilment")
        .order_by("-created_at", "-id")
    )
    return render(request, "wishwall/mine.html", {"page": _page(request, wishes)})


@access_required(roles=(Role.MANAGER, Role.SUPERVISOR), villager=True)
@require_http_methods(["GET", "POST"])
def wish_new(request):
    """Post a wish: a villager for their household, staff on a household's behalf."""
    on_behalf = not is_villager(request.user)
    form_class = WishOnBehalfForm if on_behalf else WishForm
    extra = {"village": request.village} if on_behalf else {}
    form = form_class(request.POST or None, request.FILES or None, **extra)
    if pick_pressed(request, form):  # a search for the household: nothing sent
        form = form_class(initial=form_as_typed(form), **extra)
    picks_read(request, form)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        household = data["household"] if on_behalf else request.user.household

        def action():
            wish = services.wish_post(
                household=household,
                actor=request.user,
                title=data["title"],
                kind=data["kind"],
                story=data["story"],
                photo=data["photo"],
                request=request,
            )
            return _posted_url(wish, on_behalf)

        try:
            url, replayed = run_once(request, action)
        except ValidationError as error:
            posted = getattr(error, "code", None) == "duplicate" and wish_just_posted(
                household=household,
                actor=request.user,
                title=data["title"],
                kind=data["kind"],
                story=data["story"],
                photo=data["photo"],
            )
            if posted:  # the same wish from another tab: posted there, not again
                already_sent(request)
                return redirect(_posted_url(posted, on_behalf))
            _add_service_error(form, error)
        else:
            said_once(
                request,
                replayed,
                _("The wish is posted. It appears on the village wall once staff have checked it."),
            )
            return redirect(url)
    context = {"form": form, "on_behalf": on_behalf, **pick_context(request, form)}
    if not on_behalf:
        context.update(_open_wishes_named(request.user.household_id))
    return render(request, "wishwall/new.html", context)


def _open_wishes_named(household_id: int) -> dict:
    """The household's open wishes, named at the top of its wish form as the declaration form
    names declarations waiting: Back after Post (or an answer lost on 3G) drew an empty form
    that said nothing of the wish just posted, and the same wish was typed again."""
    wishes = list(
        Wish.objects.filter(household_id=household_id, status=Wish.Status.OPEN).order_by(
            "-created_at", "-id"
        )[: WISHES_NAMED + 1]
    )
    return {
        "posted": wishes[:WISHES_NAMED],
        "more_posted": len(wishes) > WISHES_NAMED,
        "today": timezone.localdate(),
    }


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def wish_queue(request):
    """Staff work list: wishes waiting for moderation, on the wall, matched, closed."""
    tab = request.GET.get("tab", "pending")
    if tab not in QUEUE_TABS:
        tab = "pending"
    wishes = (
        QUEUE_TABS[tab]
        .filter(village=request.village)
        .select_related("household__group", "match__donor")
        .order_by("created_at" if tab == "pending" else "-created_at", "id")
    )
    return render(request, "wishwall/queue.html", {"page": _page(request, wishes), "tab": tab})


# What a wish waits for when it is sent up, by its status.
SENT_UP_KIND = {
    Wish.Status.OPEN: Referral.Kind.WISH_MATCH,
    Wish.Status.MATCHED: Referral.Kind.WISH_FULFIL,
}


@member_of_village_required
def wish_detail(request, pk: int):
    """One wish: the household sees its own, staff see everything and the actions open to them."""
    wish = _get_wish_for_user(request, pk)
    user = request.user
    staff = (is_manager(user) or is_supervisor(user)) and user.village_id == wish.village_id
    supervisor = staff and is_supervisor(user)
    is_own = user.household_id == wish.household_id and is_villager(user)
    # A household that moved away or closed: its wish is off the wall, only declined now.
    household_gone = wish.household.status != Household.Status.ACTIVE
    # The village's staff (and the county admin) see whose it is and the text unmasked;
    # the township officer and the party secretary read it as the wall shows it.
    is_staff_view = is_manager(user) or is_supervisor(user) or is_county_admin(user)
    context = {
        "wish": wish,
        "is_own": is_own,
        "is_staff_view": is_staff_view,
        "match": getattr(wish, "match", None) if wish.status != Wish.Status.OPEN else None,
        "fulfilment": getattr(wish, "fulfilment", None)
        if wish.status == Wish.Status.FULFILLED
        else None,
        # Staff are told why the wish can only be declined now.
        "household_gone": services.household_gone_refusal()
        if household_gone
        and is_staff_view
        and wish.status in (Wish.Status.OPEN, Wish.Status.MATCHED)
        else "",
        "can_approve": staff
        and wish.status == Wish.Status.OPEN
        and not wish.is_approved
        and not household_gone,
        "can_revise": is_own and services.wish_revisable(wish),
        "can_withdraw": is_own and wish.status == Wish.Status.OPEN,
        "can_edit": staff,
        "can_decline": staff
        and (
            wish.status == Wish.Status.OPEN or (wish.status == Wish.Status.MATCHED and supervisor)
        ),
        "can_match": supervisor
        and wish.status == Wish.Status.OPEN
        and wish.is_approved
        and not household_gone,
        "can_fulfil": supervisor and wish.status == Wish.Status.MATCHED,
        "approve_form": ApproveForm(
            initial={"drawn": services.wish_drawn(wish, services.WISH_REVISABLE)}
        ),
    }
    # A match or a fulfilment sent up waits at the township or the county: the page says so
    # and offers the supervisor no button that would only send it up again.
    referral = None
    if staff and wish.status in SENT_UP_KIND:
        referral = waiting_above(SENT_UP_KIND[wish.status], wish.pk, village_id=wish.village_id)
    if referral is not None:
        context.update(referral=referral, can_match=False, can_fulfil=False)
    if not is_villager(user):
        context["revisions"] = wish.revisions.select_related("edited_by")
    return render(request, "wishwall/detail.html", context)


def _get_own_wish(request, pk: int) -> Wish:
    """The signed-in household's own wish, else 404 (saying so when another village's)."""
    own = Wish.objects.filter(household_id=request.user.household_id)
    return village_object_or_404(own, request.village, pk=pk)


@villager_required
@require_http_methods(["GET", "POST"])
def wish_revise(request, pk: int):
    """The household changes its wish while staff have not checked it yet."""
    wish = _get_own_wish(request, pk)
    if not services.wish_revisable(wish):
        # Checked by staff meanwhile (the page reached again by Back, or sent after): a form
        # could only be refused, so the page says why and offers none.
        checked = services.wish_checked_message()
        return render(request, "wishwall/revise.html", {"wish": wish, "checked": checked})
    initial = {name: getattr(wish, name) for name in services.WISH_REVISABLE}
    initial["drawn"] = services.wish_drawn(wish, services.WISH_REVISABLE)
    form = WishReviseForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            data = form.cleaned_data | {"drawn": form.cleaned_data["drawn"] or None}
            services.wish_revise(wish=wish, actor=request.user, request=request, **data)
        except ValidationError as error:
            if _drawn_again(request, error):
                return redirect(request.path)
            _add_service_error(form, error)
        else:
            messages.success(request, _("The wish is changed."))
            return redirect("wishwall:detail", pk=wish.pk)
    return render(request, "wishwall/revise.html", {"wish": wish, "form": form})


@villager_required
@require_POST
def wish_withdraw(request, pk: int):
    """The household takes back its open wish; it leaves the wall."""
    wish = _get_own_wish(request, pk)
    try:
        services.wish_withdraw(wish=wish, actor=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("wishwall:detail", pk=wish.pk)
    messages.success(request, _("The wish is withdrawn; it is no longer on the wall."))
    return redirect("wishwall:mine")


@staff_required(Role.MANAGER, Role.SUPERVISOR)
@require_POST
def wish_approve(request, pk: int):
    wish = _get_wish_for_user(request, pk)
    form = ApproveForm(request.POST)
    form.is_valid()  # an optional checkbox and a hidden digest: always valid
    try:
        services.wish_moderate(
            wish=wish,
            actor=request.user,
            hide_household=form.cleaned_data.get("hide_household", False),
            drawn=form.cleaned_data.get("drawn") or None,
            request=request,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The wish is now on the village wall."))
    return redirect("wishwall:detail", pk=wish.pk)


@staff_required(Role.MANAGER, Role.SUPERVISOR)
@require_http_methods(["GET", "POST"])
def wish_edit(request, pk: int):
    """Change a wish's text (e.g. remove personal details); the old text is kept."""
    wish = _get_wish_for_user(request, pk)
    initial = {name: getattr(wish, name) for name in services.WISH_EDITABLE}
    initial["drawn"] = services.wish_drawn(wish, services.WISH_EDITABLE)
    form = WishEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            data = form.cleaned_data | {"drawn": form.cleaned_data["drawn"] or None}
            services.wish_edit(wish=wish, actor=request.user, request=request, **data)
        except ValidationError as error:
            if _drawn_again(request, error):
                return redirect(request.path)
            _add_service_error(form, error)
        else:
            messages.success(request, _("The wish is changed; the change is recorded."))
            return redirect("wishwall:detail", pk=wish.pk)
    return render(request, "wishwall/action.html", _action_context(wish, form, "edit"))


@staff_required(Role.MANAGER, Role.SUPERVISOR)
@require_http_methods(["GET", "POST"])
def wish_decline(request, pk: int):
    wish = _get_wish_for_user(request, pk)
    drawn = services.wish_drawn(wish, services.WISH_REVISABLE)
    form = DeclineForm(request.POST or None, initial={"drawn": drawn})
    if request.method == "POST" and form.is_valid():
        try:
            services.wish_decline(
                wish=wish,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                drawn=form.cleaned_data["drawn"] or None,
                request=request,
            )
        except ValidationError as error:
            if _drawn_again(request, error):
                return redirect(request.path)
            _add_service_error(form, error)
        else:
            messages.success(request, _("The wish is declined."))
            return redirect("wishwall:detail", pk=wish.pk)
    return render(request, "wishwall/action.html", _action_context(wish, form, "decline"))


@staff_required(Role.SUPERVISOR)
@require_http_methods(["GET", "POST"])
def wish_match(request, pk: int):
    """爱心对接: pair the wish with an existing donor or a new one."""
    wish = _get_wish_for_user(request, pk)
    form = MatchForm(request.POST or None, village=request.village)
    if pick_pressed(request, form):  # a search for the donor: nothing sent
        form = MatchForm(initial=form_as_typed(form), village=request.village)
    picks_read(request, form)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.wish_match(
                wish=wish,
                actor=request.user,
                donor=data["donor"],
                new_donor_name=data["new_donor_name"],
                new_donor_kind=data["new_donor_kind"],
                note=data["note"],
                request=request,
            )
        except SecondPersonRequired as error:
            asked = {
                "donor": data["donor"].pk if data["donor"] else None,
                "new_donor_name": data["new_donor_name"],
                "new_donor_kind": data["new_donor_kind"],
                "note": data["note"],
            }
            messages.warning(request, refusal_or_referral(request, error, asked))
            return redirect("wishwall:detail", pk=wish.pk)
        except ValidationError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, _("The wish is matched with the donor."))
            return redirect("wishwall:detail", pk=wish.pk)
    context = {**_action_context(wish, form, "match"), **pick_context(request, form)}
    return render(request, "wishwall/action.html", context)


@staff_required(Role.SUPERVISOR)
@require_http_methods(["GET", "POST"])
def wish_fulfil(request, pk: int):
    """The donor delivered: record it for the echo wall."""
    wish = _get_wish_for_user(request, pk)
    form = FulfilForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.wish_fulfil(
                wish=wish, actor=request.user, request=request, **form.cleaned_data
            )
        except SecondPersonRequired as error:
            data = form.cleaned_data
            asked = {
                "date": data["date"].isoformat(),
                "given": data["given"],
                "thanks": data["thanks"],
            }
            messages.warning(request, refusal_or_referral(request, error, asked))
            return redirect("wishwall:detail", pk=wish.pk)
        except ValidationError as error:
            _add_service_error(form, error)
        else:
            messages.success(request, _("The wish is fulfilled and shown on the echo wall."))
            return redirect("wishwall:detail", pk=wish.pk)
    return render(request, "wishwall/action.html", _action_context(wish, form, "fulfil"))


def _action_context(wish: Wish, form, action: str) -> dict:
    titles = {
        "edit": _("Edit the wish"),
        "decline": _("Decline the wish"),
        "match": _("Match with a donor"),
        "fulfil": _("Mark as fulfilled"),
    }
    return {"wish": wish, "form": form, "action": action, "heading": titles[action]}


@member_of_village_required
def wish_photo(request, pk: int):
    """The wish's photo, served only to those who may see the wish (not a public media URL)."""
    wish = _get_wish_for_user(request, pk)
    return _photo_response(wish.photo)


@member_of_village_required
def fulfilment_photo(request, pk: int):
    wish = _get_wish_for_user(request, pk)
    if wish.status != Wish.Status.FULFILLED:
        raise Http404
    return _photo_response(wish.fulfilment.photo)


def _photo_response(photo):
    if not photo:
        raise Http404
    try:
        response = FileResponse(photo.open("rb"), content_type="image/jpeg")
    except FileNotFoundError:
        raise Http404 from None
    response["Cache-Control"] = "private, max-age=3600"
    return response
