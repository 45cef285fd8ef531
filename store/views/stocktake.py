"""The stock-take sheet and the corrections a second person confirms (DESIGN.md rule 8).

The manager counts a zone (or the whole store) on one page and saves once; each difference
waits as a correction. The supervisor confirms (or refuses) the ticked ones with one POST;
only then does the stock move.
"""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_POST

from core import forms as numbers
from core.access import Role, staff_required
from core.db import row_id_or_none
from core.idempotency import OneTimeKeyMixin, run_once
from core.kept import choices_keep, choices_kept
from core.pagination import Paginator
from store.models import Item, StockCorrection, StockMovement
from store.selectors import zones_of
from store.services import (
    CountLine,
    CountRefused,
    count_expected,
    count_most,
    stock_corrections_confirm,
    stock_corrections_refuse,
    stock_count_record,
)
from store.views.access import STAFF
from villagers.models import Referral
from villagers.second_person import open_referrals, refusal_or_referral

# The ticks and the reason of a decision that was not made, for the page drawn next.
KEPT = "corrections"


@dataclass
class SheetRow:
    item: Item
    expected: int  # the figure shown: book stock less the write-offs waiting
    counted: str  # as typed (or prefilled)
    shown: int  # what the count's box was prefilled with (CountLine.shown)
    cause: str = ""
    reason: str = ""
    waiting_count: StockCorrection | None = None
    error: str = ""


def _sheet_items(village, zone_code: str) -> list[Item]:
    items = Item.objects.filter(village=village).select_related("zone")
    if zone_code:
        items = items.filter(zone__code=zone_code)
    return list(items.order_by("zone__position", "name", "pk"))


def _prefilled(expected: int, waiting: StockCorrection | None) -> int:
    """What a row's count starts as: the books' figure, or with a count of the item waiting,
    that count's difference from it (what the shelf holds if that count is right). Left so,
    the row leaves the waiting count as it is; changed, it replaces it."""
    return expected if waiting is None else max(expected + waiting.quantity, 0)


def _rows(items, data=None) -> list[SheetRow]:
    """The sheet's rows: prefilled with what each count should find, or as posted."""
    expected = count_expected(items)
    waiting = {
        c.item_id: c
        for c in StockCorrection.objects.filter(
            item__in=items,
            status=StockCorrection.Status.PENDING,
            source=StockCorrection.Source.COUNT,
        )
    }
    rows = []
    for item in items:
        shown = _prefilled(expected[item.pk], waiting.get(item.pk))
        row = SheetRow(
            item=item,
            expected=expected[item.pk],
            counted=str(shown),
            shown=shown,
            waiting_count=waiting.get(item.pk),
        )
        if data is not None:
            try:
                row.expected = numbers.int_parse(data.get(f"expected-{item.pk}", ""), signed=True)
            except ValidationError:
                row.error = _("This row's figure from the books is missing: reload the sheet.")
            # A sheet drawn before rows said what they showed was prefilled with the books'.
            row.shown = numbers.int_or_none(data.get(f"shown-{item.pk}", ""))
            if row.shown is None:
                row.shown = row.expected
            row.counted = data.get(f"count-{item.pk}", "").strip()[:20]
            row.cause = data.get(f"cause-{item.pk}", "")[:10]
            row.reason = data.get(f"reason-{item.pk}", "").strip()  # its length: the service's
        rows.append(row)
    return rows


def _lines(rows) -> list[CountLine] | None:
    """The rows as count lines; None (with each bad row's error set) when a count is not a
    whole number from 0 to what the row may find (store.services.count_most)."""
    lines = []
    for row in rows:
        if row.error:
            continue
        field = numbers.IntegerField(
            label=_("The count"), min_value=0, max_value=count_most(row.expected)
        )
        try:
            counted = field.clean(row.counted)
        except ValidationError as error:
            row.error = " ".join(error.messages)
            continue
        if counted is None:
            row.error = _("Type the count (it starts as the books' figure).")
            continue
        lines.append(
            CountLine(
                item_id=row.item.pk,
                counted=counted,
                expected=row.expected,
                reason=row.reason,
                cause=row.cause,
                shown=row.shown,
            )
        )
    return None if any(row.error for row in rows) else lines


@staff_required(Role.MANAGER)
def stock_take_sheet(request):
    """Every item of a zone (or of the store) with its counted figure, saved once."""
    zone_code = request.GET.get("zone", "")
    zones = zones_of(request.village)
    if zone_code and zone_code not in {zone.code for zone in zones}:
        zone_code = ""
    items = _sheet_items(request.village, zone_code)
    form = OneTimeKeyMixin(request.POST if request.method == "POST" else None)
    rows = _rows(items, request.POST if request.method == "POST" else None)
    problem = ""
    if request.method == "POST":
        sent = {row_id_or_none(value) for value in request.POST.getlist("item")}
        if sent != {item.pk for item in items}:
            problem = _(
                "The items of this zone changed since the sheet was drawn: reload the page "
                "and count again."
            )
            rows = _rows(items)
        lines = None if problem else _lines(rows)
        if lines is not None and numbers.sheet_save_pressed(request):
            result = []

            def action():
                result.append(
                    stock_count_record(
                        village=request.village, lines=lines, actor=request.user, request=request
                    )
                )
                return reverse("store:corrections")

            try:
                url, replayed = run_once(request, action)
            except CountRefused as refused:
                for row in rows:
                    row.error = refused.rows.get(row.item.pk, "")
                problem = _("Nothing was saved: see the rows marked below.")
            except ValidationError as error:
                problem = " ".join(error.messages)
            else:
                if replayed:
                    messages.info(request, _("This count was already saved; nothing was added."))
                else:
                    _count_message(request, result[0])
                return redirect(url)
        elif not problem and lines is None:
            problem = _("Nothing was saved: see the rows marked below.")
    if problem:
        form.is_valid()
        form.add_error(None, problem)
    return render(
        request,
        "store/stock_take_sheet.html",
        {
            "form": form,
            "rows": rows,
            "zones": zones,
            "zone_code": zone_code,
            "problem": problem,
            "only_checked": request.method == "POST" and not numbers.sheet_save_pressed(request),
            "causes": StockMovement.Cause.choices,
        },
    )


def _count_message(request, result) -> None:
    differences = len(result.corrections)
    if differences:
        messages.success(
            request,
            pgettext("two sentences", "%(first)s. %(second)s")
            % {"first": _items_counted(result.counted), "second": _differences(differences)},
        )
    elif result.counted:
        messages.success(
            request,
            _("%(counted)s: every count agrees with the books.")
            % {"counted": _items_counted(result.counted)},
        )
    if result.left:
        messages.info(
            request,
            ngettext(
                "%(n)d count waiting from before was left as it was: its row was not changed.",
                "%(n)d counts waiting from before were left as they were: their rows were not "
                "changed.",
                result.left,
            )
            % {"n": result.left},
        )


def _items_counted(count: int) -> str:
    return ngettext("%(n)d item counted", "%(n)d items counted", count) % {"n": count}


def _differences(count: int) -> str:
    """A whole sentence of its own: a translator gets no fragment to fit around another."""
    return ngettext(
        "%(n)d difference waits for the supervisor's confirmation; the rest agree with the books.",
        "%(n)d differences wait for the supervisor's confirmation; the rest agree with the books.",
        count,
    ) % {"n": count}


@staff_required(*STAFF)
def corrections(request):
    """The corrections waiting for a second person, and those decided lately."""
    village = request.village
    pending = list(
        StockCorrection.objects.filter(village=village, status=StockCorrection.Status.PENDING)
        .select_related("item__zone", "requested_by")
        .order_by("item__zone__position", "item__name", "pk")
    )
    referred = open_referrals(
        kind=Referral.Kind.STOCK, object_ids=[c.pk for c in pending], village_id=village.pk
    )
    for correction in pending:
        correction.referral = referred.get(correction.pk)
    decided = Paginator(
        StockCorrection.objects.filter(village=village)
        .exclude(status=StockCorrection.Status.PENDING)
        .select_related("item", "requested_by", "decided_by")
        .order_by("-decided_at", "-pk"),
        20,
    ).get_page(request.GET.get("page"))
    # After a form that decided nothing, the ticks and the reason as they were left.
    kept = choices_kept(request, KEPT)
    return render(
        request,
        "store/corrections.html",
        {"pending": pending, "decided": decided, "form": OneTimeKeyMixin(), "kept": kept},
    )


@require_POST
@staff_required(Role.SUPERVISOR)
def corrections_decide(request):
    """Confirm (or refuse, with a reason) the ticked corrections as one, once."""
    action = request.POST.get("action")
    ids = [i for i in map(row_id_or_none, request.POST.getlist("correction")) if i is not None]
    back = reverse("store:corrections")
    if action not in ("confirm", "refuse"):
        # No decision button was pressed (Enter in the reason box presses the form's first,
        # hidden button, which names none): nothing is decided, and the page says so, with
        # the ticks and the reason as they were left.
        messages.error(request, _("Nothing was decided: press the confirm or the refuse button."))
        choices_keep(request, KEPT, ids=ids, reason=request.POST.get("reason", ""))
        return redirect(back)
    decided = []

    def act():
        decided.clear()
        if action == "confirm":
            decided.extend(
                stock_corrections_confirm(correction_ids=ids, actor=request.user, request=request)
            )
        else:
            decided.extend(
                stock_corrections_refuse(
                    correction_ids=ids,
                    actor=request.user,
                    reason=request.POST.get("reason", ""),
                    request=request,
                )
            )
        return back

    try:
        url, replayed = run_once(request, act)
    except ValidationError as error:
        second_person = getattr(error, "second_person", [])
        refused = {line for item in second_person for line in item.messages}
        for line in error.messages:
            if line not in refused:
                messages.error(request, line)
        asked = {"action": action, "reason": request.POST.get("reason", "")}
        for item in second_person:
            messages.warning(request, refusal_or_referral(request, item, asked))
        choices_keep(request, KEPT, ids=ids, reason=request.POST.get("reason", ""))
        return redirect(back)
    if replayed:
        messages.info(request, _("This decision was already recorded."))
    elif action == "confirm":
        messages.success(
            request,
            _("%(count)d confirmed: the stock is corrected.") % {"count": len(decided)},
        )
    else:
        messages.success(request, _("%(count)d refused.") % {"count": len(decided)})
        for correction in decided:
            if correction.source == StockCorrection.Source.WRITE_OFF and (
                correction.counted_without_at is not None
            ):
                # The shortfall joins the count waiting for the item (store.services.
                # counted_shortfalls); a surplus waiting may make up for it exactly, or
                # nothing may be missing any more.
                waits = StockCorrection.objects.filter(
                    item_id=correction.item_id,
                    status=StockCorrection.Status.PENDING,
                    source=StockCorrection.Source.COUNT,
                ).exists()
                words = (
                    _(
                        "%(item)s: a stock-take since counted the shelf without these "
                        "%(quantity)d, so that difference now waits for confirmation."
                    )
                    if waits
                    else _(
                        "%(item)s: a stock-take since counted the shelf without these "
                        "%(quantity)d; no difference is left to confirm."
                    )
                )
                quantity = -correction.quantity
                messages.info(request, words % {"item": correction.item.name, "quantity": quantity})
    return redirect(url)
