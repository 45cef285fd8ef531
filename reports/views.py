"""Pages that combine apps: the start page router and the public notice (公示)."""

import datetime

from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import (
    is_county_admin,
    is_manager,
    is_supervisor,
    is_villager,
    member_of_village_required,
)
from core.months import requested_month
from reports import xlsx
from reports.notice import notice_sections
from villagers.views import card_login


def home(request):
    """Send each kind of user to the page they start their day on; the signed-out see the
    card login (villagers are most of them; staff have a link there to their own)."""
    user = request.user
    if not user.is_authenticated:
        return card_login(request)
    if is_villager(user):
        return redirect("points:me")
    if is_county_admin(user) and request.village is None:
        return redirect("reports:county_overview")
    if is_manager(user) or is_supervisor(user) or is_county_admin(user):
        return redirect("reports:dashboard")
    if user.is_superuser:
        return redirect("admin:index")
    return render(request, "villagers/no_role.html", status=403)


def _month(year, month) -> datetime.date:
    if year is None:
        return timezone.localdate().replace(day=1)
    return requested_month(year, month)


@member_of_village_required
def notice(request, year=None, month=None):
    """Approved awards and deductions (and later redemptions, donations) of one month."""
    first = _month(year, month)
    previous = (first - datetime.timedelta(days=1)).replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    context = {
        "village": request.village,
        "month": first,
        "sections": notice_sections(request.village, first.year, first.month),
        "previous": previous,
        "following": following if following <= timezone.localdate() else None,
    }
    return render(request, "reports/notice.html", context)


@member_of_village_required
def notice_xlsx(request, year, month):
    first = _month(year, month)
    workbook = xlsx.workbook_new()
    xlsx.sections_add(
        workbook,
        notice_sections(request.village, first.year, first.month),
        f"{request.village.name} {first:%Y-%m}",
    )
    if not workbook.sheetnames:
        workbook.create_sheet(title=_("Notice")[:31])
    filename = f"notice-{request.village.code}-{first:%Y-%m}.xlsx"
    return xlsx.xlsx_response(xlsx.workbook_bytes(workbook), filename)
