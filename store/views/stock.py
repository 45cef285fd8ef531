"""Stock pages for staff: the stock list, items, stock-in, one item's count, write-off,
donations. The stock-take sheet and the confirmation of corrections: store.views.stocktake.

Managers write; the supervisor confirms counts and write-offs; the county admin only looks.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import Role, staff_required
from core.db import row_id_or_none
from core.idempotency import already_sent, run_once
from core.pagination import Paginator
from core.picker import form_as_typed, formset_as_typed, pick_context, pick_pressed, picks_read
from store.forms import (
    DonatedGoodsFormSet,
    DonationForm,
    ItemForm,
    StockInForm,
    StockTakeForm,
    WriteOffForm,
    again_offer,
)
from store.models import Donation, Donor, StockCorrection
from store.selectors import money_spent, shortfalls_waiting, stock_items, zones_of
from store.services import (
    CountLine,
    RecordedAlready,
    count_expected,
    donation_record,
    item_save,
    stock_count_record,
    stock_purchase,
    stock_write_off_request,
    zones_ensure,
)
from store.views.access import STAFF, _get_item_for_user
from villagers.forms import form_add_service_error


def _form_error(form, error: ValidationError) -> None:
    """Show a service's refusal on the form instead of a 500."""
    for message in error.messages:
        form.add_error(None, message)


def _once(request, form, action) -> tuple[str, bool] | None:
    """Run a stock form's effect once per form key: (url, replayed), or None when refused.

    Goods moved twice by a double click or a re-sent form could be redeemed though they
    never existed, so every form here that moves stock carries a one-time key.
    """
    try:
        url, replayed = run_once(request, action)
    except ValidationError as error:
        _form_error(form, error)
        if isinstance(error, RecordedAlready):
            again_offer(form)
        return None
    if replayed:
        messages.info(request, _("This was already sent; nothing was recorded twice."))
    return url, replayed


@staff_required(*STAFF)
def stock_list(request):
    zone_code = request.GET.get("zone", "")
    query = request.GET.get("q", "").strip()
    low_only = request.GET.get("low") == "1"
    items = stock_items(request.village, zone_code=zone_code, query=query, low_only=low_only)
    page = Paginator(items, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "store/stock_list.html",
        {
            "page": page,
            "zones": zones_of(request.village),
            "zone_code": zone_code,
            "query": query,
            "low_only": low_only,
        },
    )


@require_POST
@staff_required(Role.MANAGER)
def zones_setup(request):
    zones_ensure(village=request.village)
    messages.success(request, _("The six zones of the store are ready."))
    return redirect("store:stock_list")


@staff_required(*STAFF)
def item_detail(request, pk):
    """An item and its movement history, the latest recorded first: in the order its stock
    moved, so each row's stock is the next one's plus its own change, though a donation
    may be dated days before it was recorded."""
    item = _get_item_for_user(request, pk)
    movements = item.movements.select_related(
        "created_by", "donation__donor", "redemption"
    ).order_by("-id")
    page = Paginator(movements, 30).get_page(request.GET.get("page"))
    waiting = item.corrections.filter(status=StockCorrection.Status.PENDING).select_related(
        "requested_by"
    )
    return render(
        request, "store/item_detail.html", {"item": item, "page": page, "waiting": waiting}
    )


@staff_required(Role.MANAGER)
@transaction.atomic  # the edited row is locked while the form checks and saves it
def item_edit(request, pk=None):
    item = _get_item_for_user(request, pk) if pk else None
    if not zones_of(request.village):
        messages.info(request, _("Set up the store's zones first."))
        return redirect("store:stock_list")
    form = ItemForm(
        request.POST or None, request.FILES or None, instance=item, village=request.village
    )
    if request.method == "POST" and form.is_valid():
        try:
            item = item_save(item=form.instance, actor=request.user, request=request)
        except ValidationError as error:
            form_add_service_error(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("store:item_detail", pk=item.pk)
    elif item is not None and form.sent_twice():  # a double click: the first click saved it
        already_sent(request)
        return redirect("store:item_detail", pk=item.pk)
    return render(request, "store/item_form.html", {"form": form, "item": item})


@staff_required(Role.MANAGER)
def stock_in(request):
    """Stock-in of purchased goods, with the fund that paid."""
    initial = {"item": request.GET.get("item")}
    form = StockInForm(request.POST or None, initial=initial, village=request.village)
    if pick_pressed(request, form):  # a search for the donation that paid: nothing sent
        form = StockInForm(initial=form_as_typed(form), village=request.village)
    picks_read(request, form)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def action():
            stock_purchase(
                item=data["item"],
                quantity=data["quantity"],
                fund_source=data["fund_source"],
                cost_yuan=data["cost_yuan"],
                note=data["note"],
                paid_by=data["paid_by"],
                again=data["again"],
                actor=request.user,
                request=request,
            )
            return reverse("store:item_detail", args=[data["item"].pk])

        done = _once(request, form, action)
        if done is not None:
            url, replayed = done
            if not replayed:
                messages.success(
                    request,
                    _("%(quantity)d × %(item)s taken into stock.")
                    % {"quantity": data["quantity"], "item": data["item"].name},
                )
            return redirect(url)
    return render(request, "store/stock_in.html", {"form": form, **pick_context(request, form)})


@staff_required(Role.MANAGER)
def item_stock_take(request, pk):
    """One item's count: a difference waits for the supervisor, as on the sheet."""
    item = _get_item_for_user(request, pk)
    expected = count_expected([item])[item.pk]
    form = StockTakeForm(request.POST or None, initial={"counted": expected, "expected": expected})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        result = []

        def action():
            result.append(
                stock_count_record(
                    village=request.village,
                    lines=[
                        CountLine(
                            item_id=item.pk,
                            counted=data["counted"],
                            expected=data["expected"],
                            reason=data["reason"],
                            cause=data["cause"],
                        )
                    ],
                    actor=request.user,
                    request=request,
                )
            )
            return reverse("store:item_detail", args=[item.pk])

        done = _once(request, form, action)
        if done is not None:
            url, _replayed = done
            # On a replay the action did not run and `result` is empty.
            if result and not result[0].corrections:
                messages.info(request, _("The count agrees with the books; nothing changed."))
            elif result:
                messages.success(
                    request,
                    _("A difference of %(quantity)+d waits for the supervisor's confirmation.")
                    % {"quantity": result[0].corrections[0].quantity},
                )
            return redirect(url)
    return render(
        request,
        "store/item_action.html",
        {"form": form, "item": item, "title": _("Stock-take"), "expected": expected},
    )


# The write-off form's box "This is another loss": its value lists the waiting write-offs
# (and shortfalls) the page showed, the ones the new write-off is besides.
ANOTHER_LOSS = "another_loss"


def _besides(request) -> list[int]:
    """The ids the ticked box "This is another loss" carries (none when not ticked)."""
    ids = (row_id_or_none(text) for text in request.POST.get(ANOTHER_LOSS, "").split(",")[:100])
    return [pk for pk in ids if pk is not None]


@staff_required(Role.MANAGER)
def item_write_off(request, pk):
    """Spoiled, damaged or lost goods: the write-off waits for the supervisor's confirmation.

    What of the item already waits to be written off is shown with who asked; a new one is
    saved beside it only with the box "This is another loss" ticked (its value: the ones
    shown), else refused (store.services.AlreadyWaiting): two tabs, or two people, asked
    the same loss twice, each setting the goods aside."""
    item = _get_item_for_user(request, pk)
    form = WriteOffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():

        def action():
            stock_write_off_request(
                item=item,
                quantity=form.cleaned_data["quantity"],
                cause=form.cleaned_data["cause"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                besides=_besides(request),
                request=request,
            )
            return reverse("store:item_detail", args=[item.pk])

        done = _once(request, form, action)
        if done is not None:
            url, replayed = done
            if not replayed:
                messages.success(
                    request, _("The write-off waits for the supervisor's confirmation.")
                )
            return redirect(url)
    waiting = list(shortfalls_waiting(item))
    for correction in waiting:
        correction.units = -correction.quantity
    shown = ",".join(str(correction.pk) for correction in waiting)
    return render(
        request,
        "store/item_action.html",
        {
            "form": form,
            "item": item,
            "title": _("Write-off (spoiled, damaged)"),
            "waiting": waiting,
            "another_loss": {
                "name": ANOTHER_LOSS,
                "value": shown,
                # Kept ticked when the form comes back for another reason, the same shown.
                "ticked": bool(waiting) and request.POST.get(ANOTHER_LOSS) == shown,
            },
        },
    )


@staff_required(*STAFF)
def donation_list(request):
    donations = (
        Donation.objects.filter(village=request.village)
        .select_related("donor")
        .prefetch_related("movements__item")
    )
    page = Paginator(donations, 30).get_page(request.GET.get("page"))
    # A money donation shows what its purchases used of it and what is left.
    spent = money_spent(d.pk for d in page if d.kind == Donation.Kind.MONEY)
    for donation in page:
        if donation.kind == Donation.Kind.MONEY:
            donation.used_yuan = spent.get(donation.pk, Decimal(0))
            donation.left_yuan = donation.value_yuan - donation.used_yuan
    return render(request, "store/donation_list.html", {"page": page})


@staff_required(Role.MANAGER)
def donation_create(request):
    village = request.village
    data = request.POST or None
    form = DonationForm(data, initial={"received_on": timezone.localdate()}, village=village)
    goods = DonatedGoodsFormSet(data, prefix="goods", form_kwargs={"village": village})
    # The goods' hidden count missing or mangled (a page cut short on a bad line, or altered):
    # Django said "(Hidden field TOTAL_FORMS) Enter a whole number." and drew no goods' rows.
    goods_unread = data is not None and not goods.management_form.is_valid()
    if goods_unread:
        goods = DonatedGoodsFormSet(prefix="goods", form_kwargs={"village": village})
    if pick_pressed(request, form):  # a search for the donor: nothing sent
        form = DonationForm(initial=form_as_typed(form), village=village)
        goods = DonatedGoodsFormSet(
            initial=formset_as_typed(goods), prefix="goods", form_kwargs={"village": village}
        )
    picks_read(request, form)
    if request.method == "POST" and form.is_valid() and not goods_unread and goods.is_valid():
        lines: dict[int, int] = {}
        for row in goods.cleaned_data:
            if row.get("item"):
                lines[row["item"].pk] = lines.get(row["item"].pk, 0) + row["quantity"]
        values = form.cleaned_data
        donor = values["donor"] or Donor(
            village=village, name=values["new_donor_name"].strip(), kind=values["new_donor_kind"]
        )

        def action():
            donation_record(
                village=village,
                donor=donor,
                kind=values["kind"],
                value_yuan=values["value_yuan"],
                description=values["description"],
                thanks=values["thanks"],
                goods=lines,
                received_on=values["received_on"],
                again=values["again"],
                actor=request.user,
                request=request,
            )
            return reverse("store:donation_list")

        done = _once(request, form, action)
        if done is not None:
            url, replayed = done
            if not replayed:
                messages.success(
                    request,
                    _("Donation recorded. Thank you to %(donor)s!") % {"donor": donor.name},
                )
            return redirect(url)
    context = {"form": form, "goods": goods, "goods_unread": goods_unread}
    return render(request, "store/donation_form.html", {**context, **pick_context(request, form)})
