"""The redemption counter: find the household by card, build a cart, confirm, print, void.

The cart lives in the teller's session with a one-time key of its own, new whenever its
lines change. The confirm form carries the lines and that key: what is charged is exactly
what the teller saw, at most once, however many windows show the same cart.
"""

import datetime
import uuid
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from core.access import (
    Role,
    access_required,
    is_manager,
    is_supervisor,
    is_villager,
    staff_required,
)
from core.db import retry_transient
from core.decorators import allows_camera
from core.forms import reason_refused
from core.fragments import CSRF_SLOT, cached_part, csrf_fill
from core.idempotency import run_once
from core.pagination import Paginator
from core.redirects import local_next
from store.forms import (
    QUANTITY_RANGE_MESSAGE,
    CardLookupForm,
    CartChangeForm,
    VoidAskForm,
    VoidForm,
    collector_parse,
    confirm_parse,
    shown_prices_parse,
)
from store.models import Item, Redemption
from store.selectors import (
    cart_items,
    catalogue_items,
    day_range,
    redemption_key_used,
    redemptions_of,
    reservations_open_of,
    shelves_state,
    zones_of,
)
from store.services import (
    redemption_create,
    redemption_void,
    redemption_void_ask,
    void_ask_of,
)
from store.views.access import (
    STAFF,
    _get_redemption_for_user,
)
from villagers.cardnumbers import scanned_card_number, typed_card_number
from villagers.models import Card, Member, Referral
from villagers.second_person import SecondPersonRequired, open_referrals, refusal_or_referral
from villagers.selectors import (
    card_numbers_of_other_villages,
    household_get_for_user,
    households_for_request,
)

CART_SESSION_KEY = "store_cart"
PAPER_SESSION_KEY = "receipt_paper"
PAPERS = ("slip", "a4")
COUNTER_PAGE_SIZE = 20


def _cart_get(request, household_id: int) -> dict[int, int]:
    cart = request.session.get(CART_SESSION_KEY) or {}
    if cart.get("household") != household_id:
        return {}
    return {int(item_id): qty for item_id, qty in cart.get("lines", {}).items()}


def _cart_key(request, household_id: int) -> str:
    """The one-time key of the household's cart as it stands ("" when there is none)."""
    cart = request.session.get(CART_SESSION_KEY) or {}
    return cart.get("key", "") if cart.get("household") == household_id else ""


def _cart_put(request, household_id: int, lines: dict[int, int]) -> None:
    """Keep the cart, under a new key: a changed cart is another redemption."""
    request.session[CART_SESSION_KEY] = {
        "household": household_id,
        "lines": {str(item_id): qty for item_id, qty in lines.items() if qty > 0},
        "key": str(uuid.uuid4()),
    }


def _cart_of_another_dropped(request, household_id: int) -> None:
    """The session keeps one cart: a change here replaces another household's unconfirmed
    cart, and the teller is told (it was never charged)."""
    cart = request.session.get(CART_SESSION_KEY) or {}
    if cart.get("household") in (None, household_id) or not cart.get("lines"):
        return
    other = households_for_request(request).filter(pk=cart["household"])
    messages.warning(
        request,
        _("The cart of %(name)s was never confirmed: it is emptied, and nothing was charged.")
        % {"name": other.values_list("head_name", flat=True).first() or "?"},
    )


def _messages_of(error: ValidationError) -> str:
    return " ".join(error.messages)


@allows_camera
@staff_required(Role.MANAGER)
def counter(request):
    """Start: scan the card's QR code (a USB scanner types the number and Enter, the camera
    fills it in: static/js/scan.js) or type it."""
    # No number (the receipt's "next household" pressed with its box empty): the start page.
    form = CardLookupForm(request.GET if request.GET.get("card", "").strip() else None)
    if form.is_valid():
        household_id = _household_of_card(request, form.cleaned_data["card"])
        if household_id is not None:
            return redirect("store:counter_household", household_pk=household_id)
        form.add_error("card", _card_unknown(request, form.cleaned_data["card"]))
    return render(request, "store/counter_start.html", {"form": form})


def _household_of_card(request, number: str) -> int | None:
    """The household whose active card of the request's village has this number."""
    return (
        Card.objects.filter(
            number=number, status=Card.Status.ACTIVE, household__village=request.village
        )
        .values_list("household_id", flat=True)
        .first()
    )


def _card_unknown(request, number: str) -> str:
    """Why a card read at the counter opens no household's counter."""
    if card_numbers_of_other_villages([number], request.village):
        return _(
            "Card %(number)s is another village's card: its household shops at its own "
            "village's store."
        ) % {"number": number}
    return _("No active card of this village has the number %(number)s.") % {"number": number}


def _counter_of_scanned_card(request, household, number: str):
    """A card scanned into the goods search: its household's counter, not a goods search.
    The cart on this counter is not charged; the teller is told it waits here."""
    household_id = _household_of_card(request, number)
    if household_id is None:
        messages.error(request, _card_unknown(request, number))
    if household_id is None or household_id == household.pk:
        zone = request.GET.get("zone", "")
        here = reverse("store:counter_household", args=[household.pk])
        return redirect(f"{here}?{urlencode({'zone': zone})}" if zone else here)
    messages.info(
        request,
        _("Card %(number)s is another household's: here is its counter.") % {"number": number},
    )
    if _cart_get(request, household.pk):
        messages.warning(
            request,
            _(
                "The cart of %(name)s was not charged. It waits on their counter (scan their "
                "card again) until goods go into this cart, which replaces it."
            )
            % {"name": household.head_name},
        )
    return redirect("store:counter_household", household_pk=household_id)


def _typed_card_number(request, text: str) -> str | None:
    """A card number typed bare into the goods search opens its household's counter as its
    QR code scanned does; unless it is an item's barcode too: then the goods are searched
    (None), and the teller is told how to open the card's counter."""
    number = typed_card_number(text)
    if number is None:
        return None
    if not Item.objects.filter(village=request.village, barcode=number).exists():
        return number
    if _household_of_card(request, number) is not None:
        messages.info(
            request,
            _(
                "%(number)s is a card number and an item's barcode: the goods are shown. "
                "Scan the card's QR code to open its household's counter."
            )
            % {"number": number},
        )
    return None


# Shelves are cached under a fingerprint of every item and zone (stock included).
SHELVES_CACHE_SECONDS = 600
# How long the counter page names the redemption the teller last confirmed for its household:
# long enough to reload after a reply lost on a poor connection, or to retry.
CONFIRMED_LATELY = datetime.timedelta(minutes=10)


@staff_required(Role.MANAGER)
def counter_household(request, household_pk):
    """The household's balance, the shelves by zone with search, and the cart."""
    household = household_get_for_user(request, household_pk)
    query = request.GET.get("q", "")
    number = scanned_card_number(query) or _typed_card_number(request, query)
    if number:  # the next household's card scanned (or typed) where barcodes are scanned
        return _counter_of_scanned_card(request, household, number)
    state = shelves_state(
        request.village,
        household.pk,
        teller_id=request.user.pk,
        since=timezone.now() - CONFIRMED_LATELY,
    )
    balance = state.spendable or 0  # less the points its reservations hold
    confirmed = None
    if state.confirmed_id is not None:
        # Said whether or not the confirm's reply came back: a teller whose reply was lost
        # (a reload, a retry) learns the cart was charged, once, and where its receipt is.
        confirmed = {
            "number": Redemption.number_of(state.confirmed_id),
            "at": state.confirmed_at,
            "url": reverse("store:receipt", args=[state.confirmed_id]),
        }
        if _cart_key(request, household.pk) == str(state.confirmed_key):
            # The cart it charged is still kept (the reply, and the session that forgets
            # the cart, lost together): it is not offered to confirm again.
            request.session.pop(CART_SESSION_KEY, None)
    here = request.get_full_path()
    cart_url = reverse("store:counter_cart", args=[household.pk])
    shelves = cached_part(
        "counter-shelves",
        f"{request.village.pk}:{household.pk}:{state.version}:{here}",
        lambda: _shelves(request, cart_url, here),
        SHELVES_CACHE_SECONDS,
    )

    lines = _cart_get(request, household.pk)
    if lines and not _cart_key(request, household.pk):
        _cart_put(request, household.pk, lines)  # a cart kept before carts had their key
    cart = []
    if lines:
        cart = [
            {
                "item": item,
                "quantity": lines[item.pk],
                "points": item.points_price * lines[item.pk],
                "short": item.available < lines[item.pk] or not item.is_active,
            }
            for item in cart_items(request.village, lines)
        ]
    total = sum(line["points"] for line in cart)
    # Open reservations hold their points (Account.held, at least a point each): none held,
    # none to look for, the commonest case at the counter.
    reservations = reservations_open_of(household) if state.held else []
    everyone = list(household.members.all()) if cart or reservations else []
    members = [member for member in everyone if member.left_on is None]
    # A head who left is not offered, nor named as the one collecting by default.
    head_left = any(m.relation == Member.Relation.HEAD and m.left_on for m in everyone)
    for reservation in reservations:
        reservation.hand_over_key = uuid.uuid4()  # each hand-over form its own, once-only
    return render(
        request,
        "store/counter.html",
        {
            "household": household,
            # Who collects (兑换人): the head by default, or another member of the household.
            "members": members,
            "head_member": next((m for m in members if m.relation == Member.Relation.HEAD), None),
            "head_left": head_left,
            "card_number": state.card_number,
            "balance": balance,
            "held": state.held or 0,
            "reservations": reservations,
            "shelves": csrf_fill(shelves, request),
            "cart": cart,
            "total": total,
            "balance_after": balance - total,
            "points_short": max(total - balance, 0),
            "cart_blocked": total > balance or any(line["short"] for line in cart),
            "confirm_key": _cart_key(request, household.pk),
            "confirmed": confirmed,
            "here": here,
            # Reversed once here rather than in each form of the page.
            "cart_url": cart_url,
        },
    )


def _shelves(request, cart_url: str, here: str) -> str:
    zone_code = request.GET.get("zone", "")
    query = request.GET.get("q", "").strip()
    items = catalogue_items(request.village, zone_code=zone_code, query=query)
    page = Paginator(items, COUNTER_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "zones": zones_of(request.village),
        "zone_code": zone_code,
        "query": query,
        "page": page,
        "cart_url": cart_url,
        "here": here,
        "csrf_token": CSRF_SLOT,
    }
    return render_to_string("store/_counter_shelves.html", context, request=request)


@require_POST
@staff_required(Role.MANAGER)
def counter_cart(request, household_pk):
    """Add, change or remove a cart line, then back to the counter page the teller was on."""
    household = household_get_for_user(request, household_pk)
    back = local_next(request, request.POST.get("next", "")) or reverse(
        "store:counter_household", args=[household.pk]
    )
    lines = _cart_get(request, household.pk)
    form = CartChangeForm(request.POST, lines=lines)
    if not form.is_valid():
        # The item is told before the quantity (a line that is not there has none to fix),
        # a quantity typed out of range says its range; an unknown action is no form of ours.
        told = form.errors.get("item") or form.errors.get("quantity")
        if not told or "action" in form.errors:
            told = [_("The cart could not be changed.")]
        messages.error(request, " ".join(told))
        return redirect(back)
    action = form.cleaned_data["action"]
    item_id = form.cleaned_data.get("item")
    quantity = form.cleaned_data.get("quantity") or 0
    if action == "clear":
        lines = {}
    elif action == "remove" or (action == "set" and quantity == 0):
        lines.pop(item_id, None)
    else:
        item = Item.objects.filter(village=request.village, pk=item_id, is_active=True).first()
        if item is None:
            messages.error(request, _("This item is not on sale."))
            return redirect(back)
        new_quantity = quantity if action == "set" else lines.get(item_id, 0) + (quantity or 1)
        if new_quantity > 999:  # it was cut to 999 without a word
            messages.error(request, QUANTITY_RANGE_MESSAGE)
            return redirect(back)
        lines[item_id] = new_quantity
    _cart_of_another_dropped(request, household.pk)
    _cart_put(request, household.pk, lines)
    return redirect(back)


@require_POST
@staff_required(Role.MANAGER)
def counter_confirm(request, household_pk):
    """Charge the cart once: a repeated key shows the receipt of the first confirm."""
    household = household_get_for_user(request, household_pk)
    back = reverse("store:counter_household", args=[household.pk])
    try:
        key, lines = confirm_parse(request.POST)
        shown_prices = shown_prices_parse(request.POST, lines)
        collector = collector_parse(request.POST, household)
        # Only the cart as it stands is charged. Any other key was confirmed already (from
        # this window, or another showing the same cart: its receipt again), or its cart
        # has changed since this form was drawn.
        is_the_cart = str(key) == _cart_key(request, household.pk)
        if not (is_the_cart and lines == _cart_get(request, household.pk)) and not (
            redemption_key_used(key)
        ):
            raise ValidationError(
                _("The cart was changed in another window. Check it and confirm again.")
            )
        redemption = retry_transient(
            lambda: redemption_create(
                village=request.village,
                household=household,
                lines=lines,
                idempotency_key=key,
                actor=request.user,
                collected_by=collector,
                shown_prices=shown_prices,
                request=request,
            )
        )
    except ValidationError as error:
        messages.error(request, _messages_of(error))
        return redirect(back)
    if redemption.was_replay:
        messages.info(request, _("This cart was already confirmed; here is its receipt."))
    else:
        points = redemption.total_points
        messages.success(
            request,
            ngettext("Redeemed for %(points)d point.", "Redeemed for %(points)d points.", points)
            % {"points": points},
        )
    if _cart_key(request, household.pk) == str(key):
        request.session.pop(CART_SESSION_KEY, None)
    return redirect("store:receipt", pk=redemption.pk)


@access_required(roles=STAFF, villager=True)
def receipt(request, pk):
    """The receipt: for the village's staff and the household itself. Prints on 58/80 mm or A4."""
    redemption = _get_redemption_for_user(request, pk)
    # The counter prints on the same printer every time: the paper chosen once is kept.
    # The household reads its receipt on a phone: the printer's choices are the staff's.
    paper = request.GET.get("paper") if not is_villager(request.user) else ""
    if paper in PAPERS:
        request.session[PAPER_SESSION_KEY] = paper
    elif not is_villager(request.user):
        paper = request.session.get(PAPER_SESSION_KEY, "")
    # A void the manager asked for: the supervisor sees it with its reason already filled in;
    # the manager sees that it was asked, or the form to ask.
    staff = is_supervisor(request.user) or is_manager(request.user)
    ask = void_ask_of(redemption) if staff and not redemption.is_voided else None
    void_form = void_ask_form = None
    # A void sent up waits at the township or the county: the page says so, no form again.
    referral = None
    if staff and not redemption.is_voided:
        referral = open_referrals(
            kind=Referral.Kind.VOID, object_ids=[redemption.pk], village_id=redemption.village_id
        ).get(redemption.pk)
    if referral is None and is_supervisor(request.user):
        void_form = VoidForm(initial={"reason": ask.params["reason"] if ask else ""})
    elif referral is None and is_manager(request.user) and ask is None:
        void_ask_form = VoidAskForm()
    return render(
        request,
        "store/receipt.html",
        {
            "redemption": redemption,
            "lines": redemption.lines.all(),
            "paper": paper if paper in PAPERS else "",
            "void_form": void_form,
            "void_ask": ask,
            "void_ask_form": void_ask_form,
            "void_referral": referral,
        },
    )


@access_required(roles=STAFF, villager=True)
def receipt_of_entry(request, entry_pk):
    """The receipt of the redemption a ledger entry debited: the ledger's way to the store."""
    redemption = _get_redemption_for_user(request, entry_pk=entry_pk)
    return redirect("store:receipt", pk=redemption.pk)


@require_POST
@staff_required(Role.MANAGER)
def redemption_void_ask_view(request, pk):
    """The manager asks the supervisor to void a redemption (the dashboard tells them)."""
    redemption = _get_redemption_for_user(request, pk)
    back = reverse("store:receipt", args=[redemption.pk])
    form = VoidAskForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("reason", []):
            messages.error(request, error)
        return redirect(back)
    try:
        redemption_void_ask(
            redemption=redemption,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
    except ValidationError as error:
        messages.error(request, _messages_of(error))
    else:
        messages.success(
            request,
            _(
                "The supervisor has been asked to void it: they see it on their dashboard, "
                "with your reason."
            ),
        )
    return redirect(back)


@require_POST
@staff_required(Role.SUPERVISOR)
def redemption_void_view(request, pk):
    redemption = _get_redemption_for_user(request, pk)
    form = VoidForm(request.POST)
    if not form.is_valid():
        if not reason_refused(request, form):
            messages.error(request, _("Give the reason for voiding."))
        return redirect("store:receipt", pk=redemption.pk)
    back = reverse("store:receipt", args=[redemption.pk])

    def action():
        redemption_void(
            redemption=redemption,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            request=request,
        )
        return back

    try:
        url, replayed = run_once(request, action)
    except SecondPersonRequired as error:
        asked = {"reason": form.cleaned_data["reason"]}
        messages.warning(request, refusal_or_referral(request, error, asked))
        return redirect(back)
    except ValidationError as error:
        messages.error(request, _messages_of(error))
        return redirect(back)
    if replayed:
        messages.info(request, _("This void was already recorded."))
    else:
        messages.success(request, _("The redemption was voided: points and goods are back."))
    return redirect(url)


@staff_required(*STAFF)
def redemption_list(request):
    redemptions = redemptions_of(request.village)
    day = _date_or_none(request.GET.get("day", ""))
    if day is not None:
        redemptions = redemptions.filter(created_at__range=day_range(day))
    page = Paginator(redemptions, 30).get_page(request.GET.get("page"))
    return render(request, "store/redemption_list.html", {"page": page, "day": day})


def _date_or_none(text: str) -> datetime.date | None:
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        return None
    # The calendar's last day has no next day to end the range at (that was a 500).
    return day if day < datetime.date.max else None
