"""The paper ledger's import (结转积分): upload, preview with row-by-row errors, confirm.

As the roster import (villagers.roster_views), the parsed rows wait in the manager's own
session an hour at most (core.spreadsheet) between the upload and the preview. The preview's
form sends them back signed (bound to the manager, the village and the upload's token,
valid for the same hour), and the confirmation imports them only while that upload is still
the session's current one: a discarded upload, or one replaced by a newer upload in another
tab, is never imported from its old preview. It carries a one-time key: a double click or a
re-sent form imports once (the same key replays the first answer).
"""

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core.access import Role, staff_required
from core.idempotency import OneTimeKeyMixin, run_once
from core.spreadsheet import (
    PENDING_FOR,
    SheetFileError,
    SheetRow,
    pending_rows,
    pending_store,
    preview_lines,
)
from core.text import list_join
from points.carryover import (
    COLUMN_KEYS,
    COLUMNS,
    MAX_ROWS,
    carried_over_already,
    carry_over_check,
    carry_over_import,
    carry_over_parse,
    carry_over_template_workbook,
)
from points.forms import CarryOverUploadForm
from points.models import CarryOver
from villagers.masking import mask_upload_cell

SESSION_KEY = "carry_over_upload"
DROPPED = gettext_lazy(
    "The uploaded paper ledger was discarded: an upload waits one hour at most. "
    "Nothing was imported; upload the file again."
)


def _pending(request):
    rows, pending, dropped = pending_rows(request, SESSION_KEY, COLUMN_KEYS)
    return rows, pending, DROPPED if dropped else None


SALT = "points.carryover.confirm"


def _payload(request, pending: dict) -> str:
    """The preview's rows, signed for this manager and village."""
    return signing.dumps(
        {
            "user": request.user.pk,
            "village": request.village.pk,
            "file_name": pending["file_name"],
            "paper_total": pending["paper_total"],
            "token": pending["token"],
            "rows": pending["rows"],
        },
        salt=SALT,
        compress=True,
    )


def _payload_signed(request) -> dict | None:
    """The signed rows sent back, if this manager signed them for this village within the
    hour."""
    try:
        data = signing.loads(
            request.POST.get("payload", ""), salt=SALT, max_age=PENDING_FOR.total_seconds()
        )
    except signing.BadSignature:
        return None
    if data.get("user") != request.user.pk or data.get("village") != request.village.pk:
        return None
    return data


def _is_current(request, data: dict) -> bool:
    """Whether the rows' upload is still the session's current one (not discarded, not
    replaced by a newer upload, not imported already)."""
    _rows, pending, _dropped = _pending(request)
    return pending is not None and bool(data.get("token")) and data["token"] == pending["token"]


def _carried_over_from(request, data: dict) -> CarryOver | None:
    """The batch imported from the rows' upload, if it was (from another tab of its
    preview): the upload left the session then."""
    if not data.get("token"):
        return None
    return (
        CarryOver.objects.filter(village=request.village, upload_token=data["token"])
        .select_related("batch")
        .first()
    )


@staff_required(Role.MANAGER)
def carry_over_upload(request):
    form = CarryOverUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = carry_over_parse(upload)
        except SheetFileError as error:
            form.add_error("file", str(error))
        else:
            pending_store(
                request,
                SESSION_KEY,
                file_name=upload.name,
                rows=rows,
                paper_total=form.cleaned_data["paper_total"],
            )
            return redirect("points:carry_over_preview")
    earlier = CarryOver.objects.filter(village=request.village).select_related("batch")
    return render(
        request,
        "points/carry_over_upload.html",
        {
            "form": form,
            "columns": COLUMNS,
            "max_rows": MAX_ROWS,
            "base_points": request.village.base_points,
            "earlier": earlier,
        },
    )


@staff_required(Role.MANAGER)
def carry_over_preview(request):
    rows, pending, dropped = _pending(request)
    if rows is None:
        if dropped:
            messages.error(request, dropped)
        else:
            messages.info(request, _("Upload the paper ledger first."))
        return redirect("points:carry_over_upload")
    check = carry_over_check(request.village, rows, pending["paper_total"])
    plans = {plan.row: plan for plan in check.plans}

    def line(report):
        return {
            "report": report,
            # Shown masked: a cell one column off may hold an ID number or a phone.
            "values": {k: mask_upload_cell(k, v) for k, v in report.row.values.items()},
            "plan": plans.get(report.row.line),
        }

    lines, problems = preview_lines(check.reports, line, has_errors=lambda r: r.errors)
    return render(
        request,
        "points/carry_over_preview.html",
        {
            "check": check,
            "lines": lines,
            "problems": problems,
            "file_name": pending["file_name"],
            "unread": list_join(pending.get("unread", [])),
            "sheet": pending.get("sheet", ""),
            "unread_sheets": list_join(pending.get("unread_sheets", [])),
            "payload": _payload(request, pending) if check.is_valid else "",
            "form": OneTimeKeyMixin(),
            "base_points": request.village.base_points,
        },
    )


@require_POST
@staff_required(Role.MANAGER)
def carry_over_confirm(request):
    data = _payload_signed(request)

    def act() -> str:
        if data is None or not _is_current(request, data):
            carried = _carried_over_from(request, data) if data is not None else None
            if carried is not None:  # from another tab of this preview, before this
                raise carried_over_already(carried.batch.date)
            raise ValidationError(
                _("This preview is out of date. Upload the file again."), code="stale"
            )
        carry_over = carry_over_import(
            village=request.village,
            rows=[SheetRow.from_data(row, COLUMN_KEYS) for row in data["rows"]],
            paper_total=data["paper_total"],
            file_name=data["file_name"],
            actor=request.user,
            upload_token=data["token"],
            request=request,
        )
        request.session.pop(SESSION_KEY, None)
        return reverse("points:batch_detail", args=[carry_over.batch_id])

    try:
        url, replayed = run_once(request, act)
    except ValidationError as error:
        code = getattr(error, "code", None)
        if code == "stale":
            messages.error(request, error.messages[0])
            return redirect("points:carry_over_upload")
        if code == "carried_over":  # by another tab of this preview, at once or before
            if data is not None and _is_current(request, data):
                request.session.pop(SESSION_KEY, None)  # not a newer upload of another tab
            messages.info(request, error.messages[0])
            return redirect("points:carry_over_upload")
        if code in ("no_key", "key_reused"):
            messages.error(request, error.messages[0])
        else:
            messages.error(
                request,
                _("Nothing was imported: the file has errors. Correct it and upload it again."),
            )
        return redirect("points:carry_over_preview")
    if replayed:
        messages.info(request, _("This import was already recorded."))
    else:
        messages.success(
            request,
            _(
                "The balances carried over wait for the supervisor's approval as one batch; "
                "nothing is in the ledger before that."
            ),
        )
    return redirect(url)


@require_POST
@staff_required(Role.MANAGER)
def carry_over_cancel(request):
    request.session.pop(SESSION_KEY, None)
    messages.info(request, _("The upload was discarded; nothing was imported."))
    return redirect("points:carry_over_upload")


@staff_required(Role.MANAGER)
def carry_over_template(request):
    """An empty paper ledger workbook with the expected columns and a sheet explaining them."""
    workbook = carry_over_template_workbook(request.village)
    response = HttpResponse(
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = 'attachment; filename="paper-ledger-template.xlsx"'
    workbook.save(response)
    return response
