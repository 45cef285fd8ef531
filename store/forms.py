"""Input parsing for the store pages. Forms validate input only; services do the writing."""

import re
import secrets
import uuid
from collections.abc import Mapping

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import forms as numbers
from core.db import row_id_or_none
from core.edit_forms import DrawnStateMixin
from core.idempotency import OneTimeKeyMixin
from core.months import past_day_check
from core.photos import FilesChosenAgainMixin, photo_prepare
from core.picker import PickOneField
from store.models import Donation, Donor, Item, StockMovement, Zone
from store.services import DONATION_CORRECTABLE, MAX_UNITS_IN, donation_drawn
from store.validators import barcode_refusal
from villagers.cardnumbers import card_number_normalize
from villagers.models import Member

QUANTITY_RANGE_MESSAGE = _("Each quantity must be between 1 and 999.")


class ItemForm(FilesChosenAgainMixin, DrawnStateMixin, forms.ModelForm):
    class Meta:
        model = Item
        formfield_callback = numbers.number_formfield
        fields = [
            "zone",
            "name",
            "unit",
            "points_price",
            "barcode",
            "photo",
            "is_active",
            "low_stock_threshold",
        ]

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.village = village
        self.fields["zone"].queryset = Zone.objects.filter(village=village)
        self.fields["photo"].widget.attrs["accept"] = "image/jpeg,image/png,image/webp"

    def clean_barcode(self):
        """Kept as a scanner types it at the counter: full-width digits as ASCII ones. A goods
        barcode (store.validators.barcode_refusal), or the one the item had already."""
        barcode = numbers.number_text(self.cleaned_data.get("barcode", ""))
        if barcode and barcode != self.instance.barcode:
            refusal = barcode_refusal(barcode)
            if refusal:
                raise forms.ValidationError(refusal, code="invalid")
        return barcode

    def clean_photo(self):
        photo = self.cleaned_data.get("photo")
        if getattr(photo, "image", None) is None:
            return photo  # kept, cleared, or none: forms.ImageField opens a new upload only
        # A new upload is stored as every photo of the app is (core.photos.photo_prepare): a
        # downsized JPEG without metadata, of a phone's MPO its first image; under a name of
        # its own (a storage that overwrites, S3's, would give every item the last photo).
        return photo_prepare(photo, name=f"item-{secrets.token_hex(8)}")


def donors_matching(donors, text: str):
    """Of `donors`, those whose name or contact holds `text`."""
    return donors.filter(Q(name__icontains=text) | Q(contact__icontains=text))


class DonorPickField(PickOneField):
    """A donor of the village chosen by a search of its name, not from a list of all."""

    def __init__(self, **kwargs):
        kwargs.setdefault("search", donors_matching)
        kwargs.setdefault("placeholder", _("name of the company or person"))
        kwargs.setdefault("none_found", _("No donor of the village matches."))
        super().__init__(**kwargs)


def money_donations_matching(donations, text: str):
    """Of `donations`, those whose donor's name or what was given holds `text`."""
    return donations.filter(Q(donor__name__icontains=text) | Q(description__icontains=text))


class MoneyDonationPickField(PickOneField):
    """A money donation of the village chosen by a search of its donor, not from a list of
    every donation ever received."""

    def __init__(self, **kwargs):
        kwargs.setdefault("search", money_donations_matching)
        kwargs.setdefault("placeholder", _("the donor's name"))
        kwargs.setdefault("none_found", _("No money donation of the village matches."))
        super().__init__(**kwargs)

    def label_from_instance(self, donation):
        day = donation.received_on.isoformat()
        return f"{donation.donor.name} · {day} · ¥{donation.value_yuan}"


class ItemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name} ({obj.unit}) · {obj.zone}"


def again_field(label) -> forms.BooleanField:
    """The box "This is another …": hidden until the same stock-in or donation is found
    recorded already (store.services.RecordedAlready), then offered (`again_offer`)."""
    return forms.BooleanField(label=label, required=False, widget=forms.HiddenInput)


def again_offer(form) -> None:
    form.fields["again"].widget = forms.CheckboxInput()


class StockInForm(OneTimeKeyMixin, forms.Form):
    item = ItemChoiceField(label=_("Item"), queryset=Item.objects.none())
    quantity = numbers.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_UNITS_IN)
    fund_source = forms.ChoiceField(label=_("Paid from"), choices=StockMovement.FundSource.choices)
    cost_yuan = numbers.DecimalField(
        label=_("Cost (yuan)"), min_value=0, max_digits=10, decimal_places=2
    )
    note = forms.CharField(label=_("Note (supplier, invoice)"), max_length=200, required=False)
    paid_by = MoneyDonationPickField(
        label=_("Which money donation paid"),
        queryset=Donation.objects.none(),
        required=False,
        help_text=_("For donated money: the donor then sees what the gift became."),
    )
    again = again_field(_("This is another delivery"))

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = Item.objects.filter(village=village).select_related("zone")
        self.fields["paid_by"].queryset = Donation.objects.filter(
            village=village, kind=Donation.Kind.MONEY
        ).select_related("donor")

    def clean(self):
        data = super().clean()
        if (
            data.get("paid_by")
            and data.get("fund_source") != StockMovement.FundSource.DONATED_MONEY
        ):
            self.add_error(
                "paid_by", _("Only a purchase paid from donated money names a donation.")
            )
        if (
            not data.get("paid_by")
            and data.get("fund_source") == StockMovement.FundSource.DONATED_MONEY
        ):
            self.add_error(
                "paid_by",
                _("Choose the money donation that paid, so its donor sees what it bought."),
            )
        return data


class DonationDetailsForm(OneTimeKeyMixin, forms.Form):
    """A donation's own details: recorded (DonationForm) and corrected (DonationCorrectForm)."""

    received_on = forms.DateField(
        label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    value_yuan = numbers.DecimalField(
        label=_("Amount or estimated value (yuan)"), min_value=0, max_digits=10, decimal_places=2
    )
    description = forms.CharField(label=_("What was given"), max_length=200, required=False)
    thanks = forms.CharField(
        label=_("Public thank-you"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Shown on the village's public notice."),
    )

    def clean_received_on(self):
        # A donation dated in the future, or in year 1, would sit in a month no notice shows.
        day = self.cleaned_data["received_on"]
        past_day_check(day)
        return day


class DonationForm(DonationDetailsForm):
    donor = DonorPickField(label=_("Donor"), queryset=Donor.objects.none(), required=False)
    new_donor_name = forms.CharField(
        label=_("…or a new donor's name"), max_length=100, required=False
    )
    new_donor_kind = forms.ChoiceField(
        label=_("New donor is a"), choices=Donor.Kind.choices, required=False
    )
    kind = forms.ChoiceField(label=_("Donation of"), choices=Donation.Kind.choices)
    again = again_field(_("This is another donation"))
    field_order = ["donor", "new_donor_name", "new_donor_kind", "kind"]

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["donor"].queryset = Donor.objects.filter(village=village)

    def clean_new_donor_name(self):
        """A giver who is a donor already is chosen, not typed in again (the name is unique
        in the village): the refusal says where to find them."""
        name = self.cleaned_data["new_donor_name"].strip()
        if name and self.fields["donor"].queryset.filter(name=name).exists():
            raise forms.ValidationError(
                _(
                    "%(name)s is already a donor of the village: search for the name under "
                    "“Donor” above, choose it, and leave this box empty."
                )
                % {"name": name}
            )
        return name

    def clean(self):
        data = super().clean()
        named = (data.get("new_donor_name") or "").strip() or "new_donor_name" in self.errors
        if not data.get("donor") and not named:
            raise forms.ValidationError(_("Choose a donor or enter a new donor's name."))
        if data.get("new_donor_name") and not data.get("new_donor_kind"):
            self.add_error("new_donor_kind", _("Say what kind of donor this is."))
        return data


class DonationCorrectForm(DonationDetailsForm):
    """What a donation's manager may correct (store.services.donation_correct), and why."""

    donor = DonorPickField(label=_("Donor"), queryset=Donor.objects.none())
    field_order = ["donor"]
    reason = forms.CharField(
        label=_("What was wrong"),
        max_length=200,
        help_text=_("Kept in the audit log with the old and the new values."),
    )

    # The values the form was drawn with (store.services.donation_drawn).
    drawn = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    def __init__(self, *args, donation, **kwargs):
        initial = {name: getattr(donation, name) for name in DONATION_CORRECTABLE}
        kwargs.setdefault("initial", {**initial, "drawn": donation_drawn(donation)})
        super().__init__(*args, **kwargs)
        self.fields["donor"].queryset = Donor.objects.filter(village_id=donation.village_id)


class DonatedGoodsForm(forms.Form):
    item = ItemChoiceField(label=_("Item"), queryset=Item.objects.none(), required=False)
    quantity = numbers.IntegerField(
        label=_("Quantity"), min_value=1, max_value=MAX_UNITS_IN, required=False
    )

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = Item.objects.filter(village=village).select_related("zone")

    def clean(self):
        data = super().clean()
        if bool(data.get("item")) != bool(data.get("quantity")):
            raise forms.ValidationError(_("Give both the item and its quantity."))
        return data


DonatedGoodsFormSet = forms.formset_factory(DonatedGoodsForm, extra=5, max_num=30)


class StockTakeForm(OneTimeKeyMixin, forms.Form):
    """One item's count; the sheet (store.views.stocktake) counts many at once."""

    counted = numbers.IntegerField(label=_("Counted on the shelf"), min_value=0)
    # The figure the page showed, so a sale made meanwhile is not taken for a shortfall.
    expected = numbers.IntegerField(widget=forms.HiddenInput, signed=True)
    cause = forms.ChoiceField(
        label=_("Cause of a shortfall (optional)"),
        choices=[("", _("— a counting difference —")), *StockMovement.Cause.choices],
        required=False,
    )
    reason = forms.CharField(
        label=_("Reason for the difference (only if the count differs)"),
        max_length=200,
        required=False,
    )


class WriteOffForm(OneTimeKeyMixin, forms.Form):
    quantity = numbers.IntegerField(label=_("Quantity"), min_value=1)
    cause = forms.ChoiceField(label=_("Cause"), choices=StockMovement.Cause.choices)
    reason = forms.CharField(label=_("Details"), max_length=200)


class ScanInput(forms.TextInput):
    """A field a scanner types into: drawn empty every time, so the next scan after a refused
    one is not appended to it (the refusal names what was read)."""

    def format_value(self, value):
        return None


class CardLookupForm(forms.Form):
    card = forms.CharField(
        label=_("Scan or type the card number"),
        max_length=300,  # a card's QR code holds its login URL, the number at its end
        widget=ScanInput(attrs={"autofocus": True, "autocomplete": "off", "inputmode": "numeric"}),
    )

    def clean_card(self):
        """The card's 9 digits; anything else read or typed (letters, a product's barcode,
        a decimal) is refused naming what was read, not a number made of its leftovers."""
        typed = self.cleaned_data["card"]
        number = card_number_normalize(typed)
        # Nine digits that end a longer number (a barcode) are not a card's number.
        if not re.fullmatch(r"[0-9]{9}", number) or re.search(
            r"[0-9]{10}\s*$", numbers.number_text(typed)
        ):
            raise forms.ValidationError(
                _(
                    "“%(typed)s” is not a card number: scan the QR code on the household's "
                    "card, or type the 9 digits printed on it."
                )
                % {"typed": typed[:40]}
            )
        return number


CART_SET_BLANK_MESSAGE = _(
    "Type how many to keep, from 1 to 999. To take the item out of the cart, type 0 or press ✕."
)
CART_LINE_MISSING_MESSAGE = _(
    "This item is not in the cart (it may have been taken out in another window)."
)


class CartChangeForm(forms.Form):
    """A cart line changed: "set" to 0 takes the item out, and a blank is refused (a box
    emptied by mistake took the line out without a word); "add" adds at least 1 (blank: 1),
    and 0 or fewer is refused, never taken as 1 or told it may be 0.

    "set" and "remove" change a line the cart has (`lines`): any other item, or none, is
    refused and said before the quantity (a POST with neither was told to type a quantity).
    """

    ACTIONS = ("add", "set", "remove", "clear")
    LINE_ACTIONS = ("set", "remove")
    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS])
    # An id the page wrote: read by row_id_or_none, so no digits but 0-9, nor a number too
    # large for an id.
    item = forms.CharField(label=_("Item"), required=False)
    quantity = numbers.IntegerField(label=_("Quantity"), required=False, min_value=0, max_value=999)

    def __init__(self, *args, lines: Mapping[int, int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lines = lines or {}
        if self.data.get("action") == "add":
            self.fields["quantity"] = numbers.IntegerField(
                label=_("Quantity"), required=False, min_value=1, max_value=999
            )
        elif self.data.get("action") == "set":
            self.fields["quantity"] = numbers.IntegerField(
                label=_("Quantity"),
                min_value=0,
                max_value=999,
                error_messages={"required": CART_SET_BLANK_MESSAGE},
            )

    def clean_item(self) -> int | None:
        text = self.cleaned_data["item"]
        if not text:
            return None  # told by clean(), which knows whether the action needs an item
        item_id = row_id_or_none(text)
        if self.data.get("action") in self.LINE_ACTIONS:
            if item_id not in self.lines:
                raise forms.ValidationError(CART_LINE_MISSING_MESSAGE)
        elif item_id is None:
            raise forms.ValidationError(_("This item is not on sale."))
        return item_id

    def clean(self):
        data = super().clean()
        needs_item = data.get("action") not in (None, "clear")
        if needs_item and "item" not in self.errors and data.get("item") is None:
            self.add_error("item", _("Choose an item."))
        return data


def confirm_parse(data) -> tuple[uuid.UUID, dict[int, int]]:
    """The confirm form: a one-time key and `line_<item id>` = quantity fields."""
    try:
        key = uuid.UUID(data.get("key", ""))
    except ValueError as error:
        raise forms.ValidationError(_("The form is out of date; confirm again.")) from error
    lines = {}
    for name, value in data.items():
        if not name.startswith("line_"):
            continue
        # An id that names no item (or no bigint, for the locking statement) is an old form.
        item_id = row_id_or_none(name[5:])
        if item_id is None:
            raise forms.ValidationError(_("The form is out of date; confirm again."))
        try:
            lines[item_id] = numbers.int_parse(value)
        except forms.ValidationError as error:
            raise forms.ValidationError(_("A quantity is not a number.")) from error
    return key, lines


def shown_prices_parse(data, lines: Mapping[int, int]) -> dict[int, int]:
    """The price the page showed for each line, from its `price_<item id>` field: charged
    or held only while the item still costs that (store.services.prices_as_shown, which
    also refuses a line without one, after a repeated confirmation is answered)."""
    prices = {}
    for item_id in lines:
        try:
            prices[item_id] = numbers.int_parse(data.get(f"price_{item_id}", ""))
        except forms.ValidationError:
            continue
    return prices


def collector_parse(data, household) -> Member | None:
    """The confirm form's `collector`: a member of the household, or none (the head, on a
    household with no head registered among its members)."""
    value = data.get("collector", "")
    if not value:
        return None
    member_id = row_id_or_none(value)
    members = Member.objects.current().filter(household=household)
    member = members.filter(pk=member_id).first() if member_id else None
    if member is None:
        raise forms.ValidationError(_("The person collecting is not a member of this household."))
    return member


class VoidForm(OneTimeKeyMixin, forms.Form):
    """The supervisor's void: a reason, and a one-time key so a re-sent POST voids once."""

    reason = forms.CharField(label=_("Reason for voiding"), max_length=200)


class VoidAskForm(forms.Form):
    """The manager asks the supervisor to void (store.services.redemption_void_ask): the
    reason only; a second ask while the first is unread is refused, so it needs no key."""

    reason = forms.CharField(
        label=_("What is wrong with this receipt?"),
        max_length=200,
        error_messages={"required": _("Give the reason for voiding.")},
        help_text=_("For example: the wrong household, or one bag of rice too many."),
    )


def reservation_gone_check(data, items) -> None:
    """Refuse the reserve form when it holds a quantity for an item no longer offered (sold
    out or taken off sale since the page was drawn, or none of the village's): reserving
    the rest alone, the household would come for goods never held for it. Called for a new
    one-time key only: a form sent twice is answered as the first time (core.idempotency),
    though the first took the last of the goods."""
    offered = {f"qty_{item.pk}" for item in items}
    for name in data:
        if not name.startswith("qty_") or name in offered:
            continue
        value = (data.get(name) or "").strip()
        try:
            chosen = bool(value) and numbers.int_parse(value, signed=True) != 0
        except forms.ValidationError:
            chosen = True  # not a number: not nothing either
        if chosen:
            raise forms.ValidationError(
                _(
                    "Some of the goods you chose can no longer be reserved (sold out or taken "
                    "off sale since the page was shown). Nothing was reserved: choose again "
                    "from the list."
                ),
                code="not_offered",
            )


def reservation_lines_parse(data, items) -> dict[int, int]:
    """The reserve form: `qty_<item id>` = quantity for the items offered (blank or 0: none);
    see `reservation_gone_check` for the others."""
    lines = {}
    for item in items:
        value = (data.get(f"qty_{item.pk}") or "").strip()
        if not value:
            continue
        try:
            quantity = numbers.int_parse(value)
        except forms.ValidationError as error:
            if numbers.is_negative_number(value):  # a number, out of the range below
                raise forms.ValidationError(QUANTITY_RANGE_MESSAGE) from error
            raise forms.ValidationError(_("A quantity is not a number.")) from error
        if quantity < 0 or quantity > 999:
            raise forms.ValidationError(QUANTITY_RANGE_MESSAGE)
        if quantity:
            lines[item.pk] = quantity
    return lines
