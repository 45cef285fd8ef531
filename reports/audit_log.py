"""The audit log page: who did what, when and from where, for the village's staff and the county.

Staff of a village read their village's events; a county admin reads every village of the
county (and the county's own events, e.g. their logins), optionally narrowed to one village.
Villagers never see it.
"""

import datetime

from django import forms
from django.db.models import Q
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.access import Role, access_required, is_county_admin
from core.models import AuditEvent
from core.pagination import Paginator
from villagers.models import Village

PAGE_SIZE = 50
FIRST_DAY, LAST_DAY = datetime.date(2000, 1, 1), datetime.date(2999, 12, 31)


class AuditFilterForm(forms.Form):
    action = forms.CharField(
        label=_("Action"),
        required=False,
        max_length=64,
        help_text=_("For example: proposal, redemption.void, login.failed."),
    )
    user = forms.CharField(label=_("User name"), required=False, max_length=150)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    village = forms.ModelChoiceField(
        label=_("Village"), queryset=Village.objects.none(), required=False
    )

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        if villages is None:
            del self.fields["village"]
        else:
            self.fields["village"].queryset = villages

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        for name, day in (("date_from", start), ("date_to", end)):
            # The log starts this century; the calendar's last day has no next day (a 500).
            if day and not FIRST_DAY <= day <= LAST_DAY:
                self.add_error(name, _("Choose a date from 2000 to 2999."))
                start = end = None
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_events_for_user(request):
    """The events the user may read, and the county's villages (None for a village's staff)."""
    user = request.user
    if is_county_admin(user):
        villages = Village.objects.filter(township__county_id=user.county_id).order_by("name")
        in_county = Q(village_id__in=villages.values("pk")) | Q(
            village_id__isnull=True, actor__county_id=user.county_id
        )
        return AuditEvent.objects.filter(in_county), villages
    return AuditEvent.objects.filter(village_id=request.village.pk), None


@access_required(roles=(Role.MANAGER, Role.SUPERVISOR), county=True)
def audit_log(request):
    """The filtered audit log (newest first); the county admin needs no chosen village here."""
    events, villages = audit_events_for_user(request)
    form = AuditFilterForm(request.GET or None, villages=villages)
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            events = events.filter(action__startswith=data["action"].strip())
        if data["user"]:
            events = events.filter(actor__username=data["user"].strip())
        if data["date_from"]:
            events = events.filter(at__gte=_day_start(data["date_from"]))
        if data["date_to"]:
            events = events.filter(at__lt=_day_start(data["date_to"] + datetime.timedelta(days=1)))
        if data.get("village"):
            events = events.filter(village_id=data["village"].pk)
    page = Paginator(events.select_related("actor"), PAGE_SIZE).get_page(request.GET.get("page"))
    shown = {event.village_id for event in page}
    names = dict(Village.objects.filter(pk__in=shown).values_list("pk", "name"))
    rows = [{"event": event, "village": names.get(event.village_id, "")} for event in page]
    return render(request, "reports/audit_log.html", {"form": form, "page": page, "rows": rows})
