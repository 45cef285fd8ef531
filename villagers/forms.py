from django import forms
from django.contrib import messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.core import validators
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from core.edit_forms import DrawnStateMixin
from core.forms import PinField, number_formfield
from core.idempotency import OneTimeKeyMixin
from core.months import past_day_check
from core.photos import FilesChosenAgainMixin
from core.picker import PickOneField
from core.spreadsheet import ACCEPT
from core.text import person_name_text
from villagers.auth import one_try_at_a_time, tries_left, tries_left_message
from villagers.idnumbers import (
    id_number_invalid_message,
    id_number_is_valid,
    id_number_taken_message,
    id_number_text,
    id_numbers_registered_villages,
    phone_invalid_message,
    phone_text,
)
from villagers.masking import mask_id_number, mask_phone
from villagers.models import (
    Household,
    Inspection,
    Member,
    Participation,
    Village,
    VillageGroup,
    household_number_text,
)
from villagers.second_person import refusal_or_referral
from villagers.selectors import households_matching
from villagers.throttle import STAFF, login_turn


class HouseholdPickField(PickOneField):
    """A household of the village chosen by a search of its name, card or household number,
    group or phone (villagers.selectors.households_matching), not from a list of all."""

    def __init__(self, **kwargs):
        kwargs.setdefault("search", households_matching)
        kwargs.setdefault("placeholder", _("name, card number or group"))
        kwargs.setdefault("none_found", _("No household of the village matches."))
        super().__init__(**kwargs)

    def label_from_instance(self, household):
        return f"{household.head_name} · {household.number} · {household.group.name}"


class BoundedUsernameMixin:
    """Refuse an over-long username before authenticate() sees it.

    AuthenticationForm sets the field's max_length after the field is built, so no validator
    checks it; an overlong name then reached django-axes' 255-character column as a 500.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["username"]
        field.validators.append(validators.MaxLengthValidator(field.max_length))


class AddressThrottleMixin:
    """Many failed staff sign-ins from one address (several usernames, a few passwords each,
    under django-axes' lock of a username): one try every few seconds from it, checked
    before the password (villagers.throttle; the wait is not a failure)."""

    def clean(self):
        if self.request is None:
            return super().clean()
        with login_turn(self.request, STAFF) as wait:
            if wait:
                raise forms.ValidationError(
                    ngettext(
                        "Too many failed sign-ins from this network. Wait %(seconds)s second "
                        "and try again.",
                        "Too many failed sign-ins from this network. Wait %(seconds)s seconds "
                        "and try again.",
                        wait,
                    )
                    % {"seconds": wait},
                    code="address_throttled",
                )
            username = self.cleaned_data.get("username")
            with one_try_at_a_time(self.request, {"username": username}):
                try:
                    return super().clean()
                except forms.ValidationError as error:
                    left = tries_left(self.request)
                    if left is None or getattr(error, "code", None) != "invalid_login":
                        raise
                    # The last try or two: said before it locks the name.
                    message = tries_left_message(left, self.request, card=False)
                    raise forms.ValidationError(
                        [error, forms.ValidationError(message, code="tries_left")]
                    ) from None


class StaffLoginForm(AddressThrottleMixin, BoundedUsernameMixin, AuthenticationForm):
    """Staff sign in with username and password (villagers use their card).

    A villager's login is refused by the backend (villagers.auth.StaffBackend) exactly like
    a wrong password, so this page tells nothing about a PIN.
    """


class AdminLoginForm(AddressThrottleMixin, BoundedUsernameMixin, AdminAuthenticationForm):
    """The back office's own login page, with the same length check."""


CARD_NUMBER_MAX_LENGTH = 40


class CardLoginForm(forms.Form):
    """The card login: two large fields. With the number filled in (the card's QR code), the
    cursor starts on the PIN."""

    card_number = forms.CharField(
        label=_("Card number"),
        max_length=CARD_NUMBER_MAX_LENGTH,
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "username",
                "class": "form-control form-control-lg",
            }
        ),
    )
    pin = PinField(
        label=_("PIN"),
        widget=forms.PasswordInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "current-password",
                "class": "form-control form-control-lg",
            }
        ),
    )

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache = None
        super().__init__(*args, **kwargs)
        filled = self.initial.get("card_number") or self.data.get("card_number")
        self.fields["pin" if filled else "card_number"].widget.attrs["autofocus"] = True

    def clean(self):
        number = self.cleaned_data.get("card_number")
        pin = self.cleaned_data.get("pin")
        if number and pin:
            with one_try_at_a_time(self.request, {"card_number": number}):
                self.user_cache = authenticate(self.request, card_number=number, pin=pin)
            if self.user_cache is None:
                refusal = [
                    forms.ValidationError(
                        _("The card number or PIN is not correct."), code="invalid_login"
                    )
                ]
                left = tries_left(self.request)
                if left is not None:  # the last try or two: said before it locks the card
                    message = tries_left_message(left, self.request, card=True)
                    refusal.append(forms.ValidationError(message, code="tries_left"))
                raise forms.ValidationError(refusal)
        return self.cleaned_data

    def get_user(self):
        return self.user_cache


YES_NO_CHOICES = [("", _("any")), ("yes", _("yes")), ("no", _("no"))]


class VillagePickForm(forms.Form):
    """The village a county admin or township officer looks into: one they oversee."""

    village = forms.ModelChoiceField(queryset=Village.objects.none())

    def __init__(self, *args, villages, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = villages


class HouseholdFilterForm(forms.Form):
    """Search and filters of the household list (GET)."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=300,  # a card's QR code, scanned in, is its login address
        widget=forms.TextInput(
            attrs={
                "placeholder": _("name, card or household number, phone's last 4 digits, group"),
                "type": "search",
            }
        ),
    )
    group = forms.ModelChoiceField(
        label=_("Village group"), queryset=VillageGroup.objects.none(), required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("any"))] + Household.Status.choices, required=False
    )
    poor = forms.ChoiceField(label=_("Registered poor"), choices=YES_NO_CHOICES, required=False)
    card = forms.ChoiceField(label=_("Has a card"), choices=YES_NO_CHOICES, required=False)

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = VillageGroup.objects.filter(village=village)
        for field in self.fields.values():
            css = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
            field.widget.attrs.setdefault("class", css)

    @staticmethod
    def yes_no(value: str) -> bool | None:
        return {"yes": True, "no": False}.get(value)


class SensitiveFieldsMixin:
    """ID numbers and phones are never put back into an edit form in full.

    On an edit the field starts empty with the masked value as help text; leaving it empty
    keeps the stored value, ticking "remove" clears it.
    """

    sensitive_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.sensitive_fields:
            # Nor kept in the browser's tab for a form sent after the sign-in ended
            # (static/js/send-once.js leaves such a field out).
            self.fields[name].widget.attrs["autocomplete"] = "off"
        self._kept = {}
        if self.instance.pk is None:
            return
        for name in self.sensitive_fields:
            current = getattr(self.instance, name)
            self.initial[name] = ""
            if current:
                self._kept[name] = current
                masked = mask_id_number(current) if name == "id_number" else mask_phone(current)
                self.fields[name].help_text = _(
                    "Stored: %(masked)s. Leave empty to keep it, or type a new one."
                ) % {"masked": masked}
                self.fields[f"remove_{name}"] = forms.BooleanField(
                    label=_("Remove the stored %(field)s")
                    % {"field": self.fields[name].label.lower()},
                    required=False,
                )

    def clean(self):
        cleaned = super().clean()
        for name, current in self._kept.items():
            if cleaned.get(f"remove_{name}"):
                cleaned[name] = ""
            elif not cleaned.get(name) and name not in self.errors:
                cleaned[name] = current
        return cleaned


class HouseholdForm(DrawnStateMixin, SensitiveFieldsMixin, forms.ModelForm):
    sensitive_fields = ("phone",)

    class Meta:
        model = Household
        formfield_callback = number_formfield
        fields = [
            "number",
            "group",
            "head_name",
            "address",
            "phone",
            "sms_opt_out",
            "is_poor",
            "poverty_exit_year",
            "status",
        ]
        widgets = {"phone": forms.TextInput(attrs={"inputmode": "tel"})}

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        self.village = village
        self.fields["group"].queryset = VillageGroup.objects.filter(village=village)
        head = Member.Relation.HEAD
        if (
            self.instance.pk
            and self.instance.members.current()
            .filter(relation=head, name=self.instance.head_name)
            .exists()
        ):
            # The head's name follows the member registered as head (villagers.services.
            # member_save): typed here as well, the two drifted apart. Where they differ
            # already (from before), it stays typed here until the head member is saved.
            self.fields["head_name"].disabled = True
            self.fields["head_name"].help_text = _(
                "The name of the member registered as head: correct it on their line under Members."
            )

    def clean_head_name(self):
        name = self.cleaned_data["head_name"]
        # Disabled, it is the head member's, and stays as that member's record has it.
        return name if self.fields["head_name"].disabled else person_name_text(name)

    def clean_number(self):
        number = household_number_text(self.cleaned_data["number"])
        # Whatever the case of its letters, as the database compares numbers: "x001" is X001.
        taken = Household.objects.filter(village=self.village, number__iexact=number)
        if self.instance.pk:
            taken = taken.exclude(pk=self.instance.pk)
        other = taken.values_list("number", flat=True).first()
        if other is not None:
            raise forms.ValidationError(
                _("Household number %(number)s is already used in this village.")
                % {"number": other}
            )
        return number

    def clean_phone(self):
        # As the member's and the roster's: a phone typed in full-width digits was stored
        # so, found by no search and sent no text message.
        return _phone_checked(self.cleaned_data["phone"])


class MemberForm(DrawnStateMixin, SensitiveFieldsMixin, forms.ModelForm):
    sensitive_fields = ("id_number", "phone")

    class Meta:
        model = Member
        formfield_callback = number_formfield
        fields = ["name", "relation", "sex", "birth_year", "id_number", "phone"]
        widgets = {
            "birth_year": forms.NumberInput(attrs={"inputmode": "numeric"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }

    # An ID number typed in groups ("610102 19650312 1234", full-width spaces too) is 18
    # characters once id_number_text has taken the spaces out: the field's own limit of 18
    # refused it for its length before that.
    ID_NUMBER_TYPED_MAX = 40

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["id_number"]
        field.max_length = self.ID_NUMBER_TYPED_MAX
        limit = validators.MaxLengthValidator(self.ID_NUMBER_TYPED_MAX)
        kept = [v for v in field.validators if not isinstance(v, validators.MaxLengthValidator)]
        field.validators = [*kept, limit]
        field.widget.attrs["maxlength"] = str(self.ID_NUMBER_TYPED_MAX)

    def clean_name(self):
        return person_name_text(self.cleaned_data["name"])

    def clean_id_number(self):
        """Checked as the roster import checks it: a valid number, nobody else's."""
        id_number = id_number_text(self.cleaned_data["id_number"])
        if id_number and id_number != self._kept.get("id_number"):
            if not id_number_is_valid(id_number):
                raise forms.ValidationError(id_number_invalid_message(id_number))
            where = id_numbers_registered_villages(
                [id_number], excluding_member_id=self.instance.pk
            )
            if where:  # said as the roster import says it: this village or another
                household = self.instance.household if self.instance.household_id else None
                here = None if household is None else where[id_number] == household.village_id
                raise forms.ValidationError(id_number_taken_message(in_this_village=here))
        return id_number

    def clean_phone(self):
        return _phone_checked(self.cleaned_data["phone"])

    def clean_birth_year(self):
        year = self.cleaned_data.get("birth_year")
        if year is not None and year > timezone.localdate().year:
            raise forms.ValidationError(_("The birth year is in the future."))
        return year

    def clean(self):
        cleaned = super().clean()
        id_number, year = cleaned.get("id_number"), cleaned.get("birth_year")
        # As the roster import checks it: the age decides who may have a PIN of their own.
        if id_number and year and id_number_is_valid(id_number) and int(id_number[6:10]) != year:
            self.add_error("birth_year", _("The birth year does not match the ID number."))
        return cleaned


class NewMemberForm(OneTimeKeyMixin, MemberForm):
    """A member added; one-time key: a double click or a re-sent form adds them once
    (a member without an ID number has nothing else that tells the two apart)."""


def _phone_checked(value) -> str:
    try:
        return phone_text(value)
    except ValueError as error:
        raise forms.ValidationError(phone_invalid_message()) from error


class PastDayMixin:
    """The day something happened: not in the future, not before the scheme's records
    (core.months.past_day_check). A future inspection would stay the household's latest,
    and keep its card away, for years."""

    def clean_date(self):
        day = self.cleaned_data["date"]
        past_day_check(day)
        return day


class MemberLeaveForm(OneTimeKeyMixin, PastDayMixin, forms.Form):
    """When and why a member left the household; one-time key: a re-sent form does it once."""

    date = forms.DateField(
        label=_("Left on"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    why = forms.ChoiceField(
        label=_("Why"), choices=Member.LeftWhy.choices, widget=forms.RadioSelect
    )


class InspectionForm(OneTimeKeyMixin, PastDayMixin, forms.ModelForm):
    """One-time key: a double click or a re-sent form records the inspection once."""

    class Meta:
        model = Inspection
        formfield_callback = number_formfield
        fields = ["date", *[name for name, _label in Inspection.CHECKS], "notes"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {
            "yard_clean": _("Tick if the yard is swept and free of rubbish."),
            "bedroom_clean": _("Tick if the bedroom is clean and tidy."),
            "kitchen_clean": _("Tick if the kitchen, stove and dishes are clean."),
            "toilet_clean": _("Tick if the toilet is clean."),
            "person_clean": _("Tick if the household members are clean and neatly dressed."),
            "belongings_in_order": _("Tick if tools, firewood and belongings are kept in order."),
        }


class ParticipationForm(OneTimeKeyMixin, PastDayMixin, forms.ModelForm):
    """One-time key: a double click or a re-sent form records the participation once."""

    class Meta:
        model = Participation
        formfield_callback = number_formfield
        fields = ["date", "activity", "notes"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }


def _pin_field(label):
    return PinField(
        label=label,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "new-password"}),
        help_text=_("4 to 6 digits, not easy to guess: not 1111, 1234, 1357, 1212 or a birthday."),
    )


class NewPinForm(forms.Form):
    """A new PIN typed twice (card issue, replacement, reset)."""

    pin = _pin_field(_("New PIN"))
    pin_again = _pin_field(_("New PIN again"))

    def clean(self):
        cleaned = super().clean()
        pin, again = cleaned.get("pin"), cleaned.get("pin_again")
        if pin and again and pin != again:
            self.add_error("pin_again", _("The two PINs are not the same."))
        return cleaned


class PinResetForm(OneTimeKeyMixin, NewPinForm):
    """A household's new PIN (it forgot its own); one-time key: a double click sets it once."""


class MemberPinForm(OneTimeKeyMixin, NewPinForm):
    """A family member's own PIN, typed twice; one-time key: one slip, one effect."""


class CardReplaceForm(OneTimeKeyMixin, NewPinForm):
    """A new card and PIN for a lost or damaged one; one-time key: a double click replaces
    it once."""

    reason = forms.CharField(
        label=_("Why is the card replaced?"),
        max_length=200,
        initial=_("reported lost"),
    )
    # The number of the card shown on the form: a resubmitted form replaces nothing twice.
    replacing = forms.CharField(widget=forms.HiddenInput, required=False, max_length=12)
    # The head decides: members' PINs were not on the lost card, so they stay by default.
    keep_members = forms.BooleanField(
        label=_("Family members keep their own PINs (they sign in with the new card number)"),
        required=False,
        initial=True,
    )
    field_order = ["reason", "pin", "pin_again", "keep_members"]

    def __init__(self, *args, has_member_pins: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not has_member_pins:
            del self.fields["keep_members"]


class CardSheetForm(forms.Form):
    """Which cards to put on a printable sheet: not yet printed, issued since a day, a group."""

    unprinted = forms.BooleanField(label=_("Only cards not printed yet"), required=False)
    since = forms.DateField(
        label=_("Issued since"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    group = forms.ModelChoiceField(
        label=_("Village group"), queryset=VillageGroup.objects.none(), required=False
    )

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = VillageGroup.objects.filter(village=village)


class CardRecallForm(OneTimeKeyMixin, forms.Form):
    """Why the card is recalled; one-time key: a double click recalls it once."""

    reason = forms.CharField(
        label=_("Why is the card recalled?"),
        max_length=200,
        help_text=_("For example: the household moved away."),
    )


class PinChangeForm(NewPinForm):
    old_pin = PinField(
        label=_("Current PIN"),
        widget=forms.PasswordInput(
            attrs={"inputmode": "numeric", "autocomplete": "current-password"}
        ),
    )
    field_order = ["old_pin", "pin", "pin_again"]


class RosterUploadForm(FilesChosenAgainMixin, forms.Form):
    file = forms.FileField(
        label=_("Roster file (.xlsx, .csv or .txt)"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )


def form_sent_up(
    request, form: forms.Form, error, asked: dict | None = None, pin: str = ""
) -> bool:
    """A page's answer to the second-person rule (villagers.second_person): the item sent up
    to the county (with `pin`, the PIN chosen, as its hash only), or the refusal, said in a
    message (True: the page goes back where it came from); or, when the check run again as
    it is sent up refuses it (`SecondPersonRequired.recheck`: a recall or a leave
    meanwhile), that refusal on the form (False: the form is shown again)."""
    try:
        messages.warning(request, refusal_or_referral(request, error, asked, pin=pin))
    except ValidationError as refused:
        form_add_service_error(form, refused)
        return False
    return True


def form_add_service_error(form: forms.Form, error) -> None:
    """Show a service's ValidationError on the form: on its field when the form has it."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
