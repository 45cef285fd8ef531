"""Roster import pages: upload, preview with row-by-row errors, confirm; the template file.

The parsed rows wait in the manager's own session (database-backed, rotated at login)
between the preview and the confirmation, tagged with the village, a one-time token and
the time of the upload: a whole village's ID numbers wait an hour at most, not the
session's twelve.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.access import Role, staff_required
from core.idempotency import run_once
from core.spreadsheet import pending_rows, pending_store, preview_lines
from core.text import list_join
from villagers.forms import RosterUploadForm
from villagers.masking import mask_cell, mask_id_number, mask_phone, mask_upload_cell
from villagers.roster import (
    COLUMN_KEYS,
    COLUMNS,
    MAX_ROWS,
    RosterFileError,
    RosterRow,
    roster_check,
    roster_column_notes,
    roster_parse,
    roster_template_workbook,
    roster_villages_named,
)
from villagers.services import roster_import

SESSION_KEY = "roster_upload"
DROPPED = gettext_lazy(
    "The uploaded roster was discarded: an upload waits one hour at most. "
    "Nothing was imported; upload the file again."
)


def _pending_rows(request) -> tuple[list[RosterRow] | None, dict | None, str | None]:
    """The rows this manager uploaded for this village within the hour, if any; the third
    value says an older upload was dropped."""
    rows, pending, dropped = pending_rows(request, SESSION_KEY, COLUMN_KEYS)
    return rows, pending, DROPPED if dropped else None


# The box the preview asks to tick when the file names another village (and the
# confirmation requires ticked): the manager says the roster is this village's after all.
OTHER_VILLAGE_CHECKED = "other_village_checked"


def _villages_named(request, pending: dict) -> list[str]:
    """The other villages the upload's file name, sheet name or title names, and not this one
    (villagers.roster.roster_villages_named)."""
    texts = [pending["file_name"], *pending.get("titles", [])]
    return roster_villages_named(request.village, texts)


@staff_required(Role.MANAGER)
def roster_upload(request):
    form = RosterUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = roster_parse(upload)
        except RosterFileError as error:
            form.add_error("file", str(error))
        else:
            pending_store(request, SESSION_KEY, file_name=upload.name, rows=rows)
            return redirect("villagers:roster_preview")
    notes = roster_column_notes(request.village)
    columns = [(column, notes.get(column.key, "")) for column in COLUMNS]
    return render(
        request,
        "villagers/roster_upload.html",
        {"form": form, "columns": columns, "max_rows": MAX_ROWS},
    )


@staff_required(Role.MANAGER)
def roster_preview(request):
    rows, pending, dropped = _pending_rows(request)
    if rows is None:
        if dropped:
            messages.error(request, dropped)
        else:
            messages.info(request, _("Upload a roster file first."))
        return redirect("villagers:roster_upload")
    check = roster_check(request.village, rows)

    # Every cell is shown masked (villagers.masking.mask_cell): a row one cell short puts
    # the ID number in the birth year's column, the phone in the ID number's.
    def line(report):
        return {
            "line": report.row.line,
            "values": {k: mask_upload_cell(k, v) for k, v in report.row.values.items()},
            "name": mask_cell(report.member.get("name", "")),
            "born": report.member.get("birth_year") or mask_cell(report.row.values["birth_year"]),
            "id_number": mask_id_number(report.member.get("id_number", "")),
            "phone": mask_phone(report.row.values["phone"]),
            "errors": report.errors,
            "is_total": report.is_total,
        }

    lines, problems = preview_lines(check.reports, line, has_errors=lambda r: r.errors)
    return render(
        request,
        "villagers/roster_preview.html",
        {
            "check": check,
            "lines": lines,
            "problems": problems,
            "bad_rows": sum(1 for report in check.reports if report.errors),
            "file_name": pending["file_name"],
            "unread": list_join(pending.get("unread", [])),
            "sheet": pending.get("sheet", ""),
            "unread_sheets": list_join(pending.get("unread_sheets", [])),
            "token": pending["token"],
            "member_total": len(rows),
            "other_villages": list_join(_villages_named(request, pending)),
            "other_village_checked": OTHER_VILLAGE_CHECKED,
            "village_name": request.village.name,
        },
    )


@require_POST
@staff_required(Role.MANAGER)
def roster_confirm(request):
    """Import the previewed upload. Its token is the form's one-time key (run_once): a double
    click, a retry or a second tab of the same preview imports it once, and is told so."""
    imported = {}

    def action():
        rows, pending, dropped = _pending_rows(request)
        if rows is None or request.POST.get("token") != pending["token"]:
            raise ValidationError(
                dropped or _("This preview is out of date. Upload the file again."), code="stale"
            )
        if _villages_named(request, pending) and not request.POST.get(OTHER_VILLAGE_CHECKED):
            raise ValidationError(
                _(
                    "Nothing was imported: the file names another village. Tick the box "
                    "once you have checked that the roster is this village's."
                ),
                code="other_village",
            )
        households = roster_import(
            village=request.village, rows=rows, actor=request.user, request=request
        )
        del request.session[SESSION_KEY]
        imported.update(households=len(households), members=len(rows))
        return reverse("reports:household_list")

    try:
        url, replayed = run_once(request, action)
    except ValidationError as error:
        code = getattr(error, "code", None)
        if code == "stale":
            messages.error(request, error.messages[0])
            return redirect("villagers:roster_upload")
        if code in ("no_key", "key_reused", "other_village"):
            messages.error(request, error.messages[0])
        else:
            messages.error(
                request,
                _(
                    "Nothing was imported: the roster has errors. Correct the file and upload "
                    "it again."
                ),
            )
        return redirect("villagers:roster_preview")
    if replayed:
        messages.info(request, _("This import was already recorded."))
    else:
        messages.success(
            request,
            _("Imported %(households)d households with %(members)d people.") % imported,
        )
    return redirect(url)


@require_POST
@staff_required(Role.MANAGER)
def roster_cancel(request):
    request.session.pop(SESSION_KEY, None)
    messages.info(request, _("The upload was discarded; nothing was imported."))
    return redirect("villagers:roster_upload")


@staff_required(Role.MANAGER)
def roster_template(request):
    """An empty roster workbook with the expected columns and a sheet explaining them."""
    workbook = roster_template_workbook(request.village)
    response = HttpResponse(
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="roster-template.xlsx"'
    workbook.save(response)
    return response
