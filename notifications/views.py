"""The household's messages (the bell) and the village's delivery log."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import Role, is_supervisor, staff_required, villager_required
from core.db import row_id_or_none
from core.pagination import Paginator
from notifications.models import Notification
from notifications.selectors import delivery_log, notifications_of_household
from notifications.sending import skipped_why
from notifications.services import (
    household_sms_choose,
    notifications_read,
    staff_alerts_read,
)
from notifications.texts import text

PAGE_SIZE = 20


def _rows(page, *, why: bool = False):
    """Each message with its words; `why`: and why its text message was not sent."""
    return [
        {
            "notification": n,
            "text": text(n),
            "skipped_why": skipped_why(n)
            if why and n.sms_status == Notification.Sms.SKIPPED
            else "",
        }
        for n in page
    ]


@villager_required
def mine(request):
    """The household's messages, newest first; unread ones marked until read."""
    page = Paginator(notifications_of_household(request.user.household_id), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/mine.html",
        {"page": page, "rows": _rows(page), "household": request.user.household},
    )


@require_POST
@villager_required
def read(request):
    """Mark one message read (`id`), or all of them (no `id`)."""
    raw = request.POST.get("id", "")
    notification_id = row_id_or_none(raw) if raw else None
    if raw and notification_id is None:
        messages.error(request, _("No such message."))
    else:
        notifications_read(user=request.user, notification_id=notification_id)
    return redirect("notifications:mine")


@require_POST
@villager_required
def sms_choice(request):
    """The household turns its text messages on or off (its list here stays)."""
    receive = request.POST.get("receive")
    if receive not in ("0", "1"):
        messages.error(request, _("Choose whether to receive text messages."))
        return redirect("notifications:mine")
    household = household_sms_choose(user=request.user, receive=receive == "1", request=request)
    if household.sms_opt_out:
        messages.success(request, _("No more text messages. Your messages stay on this page."))
    else:
        messages.success(request, _("Text messages are on."))
    return redirect("notifications:mine")


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def log(request):
    """The village's messages and what became of each text message (the delivery log)."""
    status = request.GET.get("status", "")
    if status not in Notification.Sms.values:
        status = ""
    page = Paginator(delivery_log(request.village.pk, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/log.html",
        {
            "page": page,
            "rows": _rows(page, why=True),
            "status": status,
            "statuses": Notification.Sms.choices,
        },
    )


@require_POST
@staff_required(Role.MANAGER, Role.SUPERVISOR)
def staff_alerts_read_view(request):
    """The store's staff have seen the alerts on the dashboard (low stock; the supervisor,
    the asks to void too)."""
    staff_alerts_read(village_id=request.village.pk, void_asks=is_supervisor(request.user))
    return redirect("reports:dashboard")
