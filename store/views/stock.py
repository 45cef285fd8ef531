"""Stock pages for staff: the stock list, items, stock-in, stock-take, write-off, donations.

Managers write; the supervisor and the county admin only look.
"""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access import Role, staff_required
from core.idempotency import run_once
from core.pagination import Paginator
from store.forms import (
    DonatedGoodsFormSet,
    DonationForm,
    ItemForm,
    StockInForm,
    StockTakeForm,
    WriteOffForm,
)
from store.models import Donation, Donor
from store.selectors import money_spent, stock_items, zones_of
from store.services import (
    donation_record,
    item_save,
    stock_purchase,
    stock_take,
    stock_write_off,
    zones_ensure,
)
from store.views.access import STAFF, _get_item_for_user


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
    """An item and its movement history, newest first."""
    item = _get_item_for_user(request, pk)
    movements = item.movements.select_related("created_by", "donation__donor", "redemption")
    page = Paginator(movements, 30).get_page(request.GET.get("page"))
    return render(request, "store/item_detail.html", {"item": item, "page": page})


@staff_required(Role.MANAGER)
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
            _form_error(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("store:item_detail", pk=item.pk)
    return render(request, "store/item_form.html", {"form": form, "item": item})


@staff_required(Role.MANAGER)
def stock_in(request):
    """Stock-in of purchased goods, with the fund that paid."""
    initial = {"item": request.GET.get("item")}
    form = StockInForm(request.POST or None, initial=initial, village=request.village)
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
    return render(request, "store/stock_in.html", {"form": form})


@staff_required(Role.MANAGER)
def item_stock_take(request, pk):
    item = _get_item_for_user(request, pk)
    form = StockTakeForm(request.POST or None, initial={"counted": item.stock})
    if request.method == "POST" and form.is_valid():
        taken = []

        def action():
            taken.append(
                stock_take(
                    item=item,
                    counted=form.cleaned_data["counted"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    request=request,
                )
            )
            return reverse("store:item_detail", args=[item.pk])

        done = _once(request, form, action)
        if done is not None:
            url, _replayed = done
            # On a replay the action did not run and `taken` is empty.
            if taken and taken[0] is None:
                messages.info(request, _("The count agrees with the books; nothing changed."))
            elif taken:
                messages.success(
                    request,
                    _("Stock adjusted by %(quantity)+d.") % {"quantity": taken[0].quantity},
                )
            return redirect(url)
    return render(
        request,
        "store/item_action.html",
        {"form": form, "item": item, "title": _("Stock-take")},
    )


@staff_required(Role.MANAGER)
def item_write_off(request, pk):
    item = _get_item_for_user(request, pk)
    form = WriteOffForm(request.POST or None)
    if request.method == "POST" and form.is_valid():

        def action():
            stock_write_off(
                item=item,
                quantity=form.cleaned_data["quantity"],
                cause=form.cleaned_data["cause"],
                reason=form.cleaned_data["reason"],
                actor=request.user,
                request=request,
            )
            return reverse("store:item_detail", args=[item.pk])

        done = _once(request, form, action)
        if done is not None:
            url, replayed = done
            if not replayed:
                messages.success(request, _("Written off."))
            return redirect(url)
    return render(
        request,
        "store/item_action.html",
        {"form": form, "item": item, "title": _("Write-off (spoiled, damaged)")},
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
    if request.method == "POST" and form.is_valid() and goods.is_valid():
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
    return render(request, "store/donation_form.html", {"form": form, "goods": goods})
