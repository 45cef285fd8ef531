"""The village's announcements: the list, the manager's form, withdrawing, and the photo
and recording served to the village's own people only (never a public media URL)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.access import (
    Role,
    is_manager,
    is_supervisor,
    is_villager,
    member_of_village_required,
    staff_required,
    village_object_or_404,
)
from core.decorators import allows_microphone
from core.idempotency import run_once
from core.pagination import Paginator
from notifications.forms import AnnouncementForm
from notifications.models import Announcement
from notifications.selectors import announcements_current, announcements_of_village
from notifications.services import announcement_post, announcement_withdraw

PAGE_SIZE = 10


def _announcements_for_user(request):
    """What the user may see: villagers the current ones, staff every one of their village."""
    if is_villager(request.user):
        return announcements_current(request.village.pk)
    return announcements_of_village(request.village.pk)


def _get_announcement_for_user(request, pk: int, announcements=None) -> Announcement:
    """One of `announcements` (by default those the user may see): another village's is a
    404 saying so (core.access), a withdrawn one a villager asks for a bare 404."""
    if announcements is None:
        announcements = _announcements_for_user(request)
    return village_object_or_404(announcements, request.village, pk=pk)


@member_of_village_required
def announcements(request):
    """The village's announcements, newest first (the latest also top the villager's page)."""
    page = Paginator(_announcements_for_user(request), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "perms_post": is_manager(request.user),
        "can_withdraw": is_manager(request.user) or is_supervisor(request.user),
    }
    return render(request, "notifications/announcements.html", context)


@allows_microphone
@require_http_methods(["GET", "POST"])
@staff_required(Role.MANAGER)
def announcement_new(request):
    """The manager writes an announcement, with a photo or a recording if they like."""
    form = AnnouncementForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def action():
            announcement_post(
                village=request.village,
                actor=request.user,
                text=data["text"],
                photo=data["photo"],
                audio=data["audio"],
                request=request,
            )
            return reverse("notifications:announcements")

        try:
            url, _replayed = run_once(request, action)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The announcement is posted; every household is told."))
            return redirect(url)
    return render(request, "notifications/announcement_form.html", {"form": form})


@require_POST
@staff_required(Role.MANAGER, Role.SUPERVISOR)
def announcement_withdraw_view(request, pk: int):
    announcements = Announcement.objects.filter(village=request.village)
    announcement = _get_announcement_for_user(request, pk, announcements)
    try:
        announcement_withdraw(announcement=announcement, actor=request.user, request=request)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The announcement is withdrawn: nobody sees it any more."))
    return redirect("notifications:announcements")


def _file_response(field, content_type: str):
    if not field:
        raise Http404
    try:
        response = FileResponse(field.open("rb"), content_type=content_type)
    except FileNotFoundError:
        raise Http404 from None
    response["Cache-Control"] = "private, max-age=3600"
    return response


@member_of_village_required
def announcement_photo(request, pk: int):
    announcement = _get_announcement_for_user(request, pk)
    return _file_response(announcement.photo, "image/jpeg")


@member_of_village_required
def announcement_audio(request, pk: int):
    announcement = _get_announcement_for_user(request, pk)
    return _file_response(announcement.audio, announcement.audio_type)
