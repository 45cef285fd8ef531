"""The supervisor's dashboard of one village, and the list of households to visit.

The supervisor, the manager and the party secretary see their own village; a county admin
or a township officer looks into the village they picked, read-only (there is nothing to
change here anyway).
"""

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.access import Role, is_manager, is_supervisor, staff_required
from core.months import months_ending, next_month
from core.pagination import Paginator
from notifications.models import Notification
from notifications.selectors import STAFF_ALERTS_SHOWN, staff_alerts
from notifications.texts import text
from points.settlement import settlement_waiting
from reports import charts
from reports.notice import notices_to_countersign
from reports.selectors import (
    VISIT_AFTER_MONTHS,
    Period,
    background_work_late,
    declarations_waiting,
    flow_total,
    households_to_visit,
    pending_approvals,
    points_flow,
    redemptions_by_zone,
    rules_most_used,
    stock_summary,
    wishes_open,
)
from reports.selectors_transparency import liability_cover
from villagers.selectors import card_login_attacks

# Who reads the dashboard and the village's monthly and year reports: its staff, the county
# admin and the township officer looking into it, and its party secretary (组长).
STAFF = (
    Role.MANAGER,
    Role.SUPERVISOR,
    Role.COUNTY_ADMIN,
    Role.TOWNSHIP_OFFICER,
    Role.PARTY_SECRETARY,
)
VISITS_SHOWN = 10
VISITS_PAGE_SIZE = 30


def last_twelve_months() -> Period:
    months = months_ending(timezone.localdate(), 12)
    return Period(months[0], next_month(months[-1]))


def flow_chart(flows, *, key: str, title: str) -> charts.Chart:
    first, last = flows[0].month, flows[-1].month
    return charts.grouped_bars(
        key=key,
        title=title,
        desc=_(
            "Points issued, deducted and redeemed per month from %(first)s to %(last)s; "
            "the same figures are in the table below."
        )
        % {"first": date_format(first, "Y-m"), "last": date_format(last, "Y-m")},
        categories=[date_format(flow.month, "m") for flow in flows],
        series=[
            (_("Issued"), "bar-issued", [flow.issued for flow in flows]),
            (_("Deducted"), "bar-deducted", [flow.deducted for flow in flows]),
            (_("Redeemed"), "bar-redeemed", [flow.redeemed for flow in flows]),
        ],
    )


def zone_chart(zones, *, key: str, title: str) -> charts.Chart:
    return charts.horizontal_bars(
        key=key,
        title=title,
        desc=_("Points redeemed in each zone of the store; the same figures are in the table."),
        labels=[zone["label"] for zone in zones],
        values=[zone["points"] for zone in zones],
        css="bar-redeemed",
    )


def _alert_url(notification: Notification) -> str:
    """Where a message to the staff leads: a void asked for, to the receipt."""
    if notification.kind == Notification.Kind.VOID_ASKED:
        return reverse("store:receipt", args=[notification.params["redemption"]])
    return ""


@staff_required(*STAFF)
def dashboard(request):
    """Pending approvals and declarations, points flow, stock, wishes, rules in use and
    households to visit."""
    village = request.village
    year = last_twelve_months()
    flows = points_flow(village, year)
    zones = redemptions_by_zone(village, year)
    visits = households_to_visit(village)
    store_staff = is_manager(request.user) or is_supervisor(request.user)
    alerts = staff_alerts(village.pk, void_asks=store_staff)
    context = {
        "alerts": [
            {"notification": n, "text": text(n), "url": _alert_url(n)}
            for n in alerts[:STAFF_ALERTS_SHOWN]
        ],
        "more_alerts": len(alerts) > STAFF_ALERTS_SHOWN,
        "village": village,
        "pending": pending_approvals(village),
        "declarations": declarations_waiting(village),
        "this_month": flows[-1],
        "year_total": flow_total(flows),
        "flows": flows,
        "flow_chart": flow_chart(flows, key="flow", title=_("Points flow, last 12 months")),
        "zones": zones,
        "zones_total": sum(zone["points"] for zone in zones),
        "zone_chart": zone_chart(zones, key="zones", title=_("Redemptions by zone")),
        "stock": stock_summary(village),
        "wishes": wishes_open(village),
        "rules": rules_most_used(village, year),
        "visits": list(visits[:VISITS_SHOWN]),
        "visit_count": visits.count(),
        "visit_months": VISIT_AFTER_MONTHS,
        "liability": liability_cover(village),
        "period": year,
        "login_attacks": card_login_attacks(village),
        "work_late": background_work_late(village),
        "to_countersign": notices_to_countersign(village, request.user),
        "settlement_waiting": (
            settlement_waiting(village, request.user) if is_supervisor(request.user) else None
        ),
    }
    return render(request, "reports/dashboard.html", context)


@staff_required(*STAFF)
def visit_list(request):
    """Every household that earned no points for three months, paginated, for a round of visits."""
    households = households_to_visit(request.village)
    page = Paginator(households, VISITS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/visit_list.html",
        {"page": page, "visit_months": VISIT_AFTER_MONTHS, "village": request.village},
    )
