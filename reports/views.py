"""Pages that combine apps: the public notice (公示)."""

import datetime
import io

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from reports.notice import notice_sections
from villagers.roles import member_of_village_required


def _month(year, month) -> datetime.date:
    if year is None:
        return timezone.localdate().replace(day=1)
    try:
        day = datetime.date(year, month, 1)
    except (ValueError, OverflowError) as error:  # month 13, or a year beyond any C long
        raise Http404 from error
    if day > timezone.localdate() or day.year < 2000:
        raise Http404
    return day


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
    workbook = Workbook()
    workbook.remove(workbook.active)
    for section in notice_sections(request.village, first.year, first.month):
        sheet = workbook.create_sheet(title=str(section.title)[:31])
        sheet.append([f"{request.village.name} {first:%Y-%m} {section.title}"])
        sheet["A1"].font = Font(bold=True)
        sheet.append([str(c) for c in section.columns])
        for row in section.rows:
            sheet.append(row)
        if section.totals:
            sheet.append(section.totals)
    if not workbook.sheetnames:
        workbook.create_sheet(title=_("Notice")[:31])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"notice-{request.village.code}-{first:%Y-%m}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
