"""Numbers and PINs from people: the digits a Chinese input method types, and nothing else.

A phone's Chinese keyboard in full-width mode types ０-９ (U+FF10-FF19), and －, ＋, ．: those
become their ASCII characters, the same way wherever a number or a PIN is read (a PIN is
set and typed at login through `pin_clean`). Python's int() and Decimal() also take other
scripts' digits (٣, ९), `_` separators, exponents (Decimal) and surrounding signs, so no
text reaches them unchecked: anything but ASCII digits (with a sign where one is allowed, a
point in an amount) is refused with a translated message.

Every form field taking a number uses the fields below (model forms through
`number_formfield`, the admin through `NUMBER_FORMFIELD_OVERRIDES`); views reading a
number by hand use `int_parse` / `int_or_none`. Row ids are not numbers people type: they
go through `core.db.row_id_or_none`.
"""

import contextlib
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

FULL_WIDTH = str.maketrans("０１２３４５６７８９－＋．", "0123456789-+.")
# Longer than any number the app keeps (bigint has 19 digits, amounts 10): refused unread.
MAX_NUMBER_LENGTH = 40

UNSIGNED_INTEGER = re.compile(r"[0-9]+")
SIGNED_INTEGER = re.compile(r"[+-]?[0-9]+")
UNSIGNED_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
SIGNED_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
PIN = re.compile(r"[0-9]{4,6}")

WHOLE_NUMBER_MESSAGE = _("Enter a whole number with the digits 0-9, such as 12.")
SIGNED_WHOLE_NUMBER_MESSAGE = _("Enter a whole number with the digits 0-9, such as 12 or -5.")
AMOUNT_MESSAGE = _("Enter an amount with the digits 0-9 and a point, such as 12.50.")
SIGNED_AMOUNT_MESSAGE = _("Enter an amount with the digits 0-9 and a point, such as 12.50 or -3.")
PIN_MESSAGE = _("A PIN is 4 to 6 digits.")
# A number out of its field's range, worded with the field's name and the limit (Django says
# "Ensure this value is less than or equal to 2147483647." of any field).
AT_LEAST_MESSAGE = _("%(field)s must be at least %(limit)s.")
AT_MOST_MESSAGE = _("%(field)s can be at most %(limit)s.")
PLACES_MESSAGE = _("%(field)s has at most %(places)s digits after the point.")
UNNAMED_AT_LEAST_MESSAGE = _("The number must be at least %(limit)s.")
UNNAMED_AT_MOST_MESSAGE = _("The number can be at most %(limit)s.")
UNNAMED_PLACES_MESSAGE = _("The number has at most %(places)s digits after the point.")


def number_text(value) -> str:
    """Full-width digits, signs and point as ASCII, surrounding white space dropped."""
    return str(value).translate(FULL_WIDTH).strip()


def _checked(value, pattern: re.Pattern, message) -> str:
    text = number_text(value)
    if len(text) > MAX_NUMBER_LENGTH or not pattern.fullmatch(text):
        raise ValidationError(message, code="invalid")
    return text


def int_parse(value, *, signed: bool = False) -> int:
    """A whole number typed by a person; a translated ValidationError if it is not one."""
    if signed:
        return int(_checked(value, SIGNED_INTEGER, SIGNED_WHOLE_NUMBER_MESSAGE))
    return int(_checked(value, UNSIGNED_INTEGER, WHOLE_NUMBER_MESSAGE))


def int_or_none(value, *, signed: bool = False) -> int | None:
    """A whole number from a query parameter, or None for anything else (a filter's default)."""
    try:
        return int_parse(value, signed=signed)
    except ValidationError:
        return None


def decimal_parse(value, *, signed: bool = False) -> Decimal:
    """An amount typed by a person (no exponent, no NaN); a ValidationError if it is not one."""
    if signed:
        text = _checked(value, SIGNED_DECIMAL, SIGNED_AMOUNT_MESSAGE)
    else:
        text = _checked(value, UNSIGNED_DECIMAL, AMOUNT_MESSAGE)
    try:
        return Decimal(text)
    except InvalidOperation as error:  # the pattern leaves nothing Decimal refuses
        raise ValidationError(AMOUNT_MESSAGE, code="invalid") from error


def pin_clean(value) -> str:
    """A PIN as it is stored and checked: 4 to 6 ASCII digits (full-width ones accepted)."""
    return _checked(value, PIN, PIN_MESSAGE)


def _may_be_negative(min_value, signed: bool | None) -> bool:
    if signed is not None:
        return signed
    return min_value is None or min_value < 0


def is_negative_number(value) -> bool:
    """Whether `value` is a number below zero as typed (-3, -2.5, full-width digits too).

    Where only 0 or more is taken, -3 is told it is out of range ("at least 1"), not to use
    the digits 0-9: it is a number."""
    try:
        return decimal_parse(value, signed=True) < 0
    except ValidationError:
        return False


class WordedLimitsMixin:
    """A number out of range is refused in words naming the field and its limit: the
    validators' codes (Django's generic messages) become this module's messages."""

    def _largest(self):
        """The largest amount the field's digits hold (99999999.99 for 10 digits, 2 after
        the point), or its maximum if that is smaller."""
        places = self.decimal_places or 0
        largest = Decimal(10) ** (self.max_digits - places) - Decimal(1).scaleb(-places)
        return largest if self.max_value is None else min(largest, Decimal(self.max_value))

    def _worded(self, error: ValidationError) -> ValidationError:
        named = bool(self.label)
        params = {"field": self.label}
        if error.code == "min_value":
            message = AT_LEAST_MESSAGE if named else UNNAMED_AT_LEAST_MESSAGE
            params["limit"] = error.params["limit_value"]
        elif error.code == "max_value":
            message = AT_MOST_MESSAGE if named else UNNAMED_AT_MOST_MESSAGE
            params["limit"] = error.params["limit_value"]
        elif error.code in ("max_digits", "max_whole_digits"):
            message = AT_MOST_MESSAGE if named else UNNAMED_AT_MOST_MESSAGE
            params["limit"] = self._largest()
        elif error.code == "max_decimal_places":
            message = PLACES_MESSAGE if named else UNNAMED_PLACES_MESSAGE
            params["places"] = self.decimal_places
        else:
            return error
        return ValidationError(message % params, code=error.code)

    def run_validators(self, value):
        try:
            super().run_validators(value)
        except ValidationError as error:
            raise ValidationError([self._worded(each) for each in error.error_list]) from None


class IntegerField(WordedLimitsMixin, forms.IntegerField):
    """A whole number; a sign only where the field may be negative (no minimum, or one < 0)."""

    def __init__(self, *, signed: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        self.signed = _may_be_negative(self.min_value, signed)
        if "invalid" not in (kwargs.get("error_messages") or {}):
            message = SIGNED_WHOLE_NUMBER_MESSAGE if self.signed else WHOLE_NUMBER_MESSAGE
            self.error_messages["invalid"] = message

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not number_text(value):
            return None
        try:
            return int_parse(value, signed=self.signed)
        except ValidationError as error:
            if self.min_value is not None and is_negative_number(value):
                with contextlib.suppress(ValidationError):  # -2.5 is no whole number
                    return int_parse(value, signed=True)  # its minimum's validator says why not
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error


class DecimalField(WordedLimitsMixin, forms.DecimalField):
    """An amount of money: digits and one point; a sign only where it may be negative."""

    def __init__(self, *, signed: bool | None = None, **kwargs):
        super().__init__(**kwargs)
        self.signed = _may_be_negative(self.min_value, signed)
        if "invalid" not in (kwargs.get("error_messages") or {}):
            message = SIGNED_AMOUNT_MESSAGE if self.signed else AMOUNT_MESSAGE
            self.error_messages["invalid"] = message

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return Decimal(value)
        if not number_text(value):
            return None
        try:
            return decimal_parse(value, signed=self.signed)
        except ValidationError as error:
            if self.min_value is not None and is_negative_number(value):
                return decimal_parse(value, signed=True)  # its minimum's validator says why not
            raise ValidationError(self.error_messages["invalid"], code="invalid") from error


class PinField(forms.CharField):
    """A PIN (typed at login, set at card issue and reset, changed by the villager)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 6)
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return value
        return pin_clean(value)


# Model fields -> this module's form fields. BigIntegerField has its own entry because the
# admin looks its overrides up along each model field's class hierarchy, first match wins.
NUMBER_FORMFIELD_OVERRIDES = {
    models.IntegerField: {"form_class": IntegerField},
    models.BigIntegerField: {"form_class": IntegerField},
    models.SmallIntegerField: {"form_class": IntegerField},
    models.DecimalField: {"form_class": DecimalField},
}


def number_limits(db_field) -> dict:
    """The model field's range as a form field's `min_value` and `max_value`: its validators'
    limits (the database column's range among them), the narrowest. The form field then
    refuses a number out of range in its own words; before, the model's validators did, in
    Django's ("Ensure this value is less than or equal to 2147483647."). A validator with a
    message of its own, or a limit computed when it runs, is left to say it."""
    if db_field.choices or not isinstance(db_field, (models.IntegerField, models.DecimalField)):
        return {}
    lows, highs = [], []
    for validator in db_field.validators:
        limit = getattr(validator, "limit_value", None)
        if limit is None or callable(limit) or validator.message != type(validator).message:
            continue
        if type(validator) is MinValueValidator:
            lows.append(limit)
        elif type(validator) is MaxValueValidator:
            highs.append(limit)
    limits = {}
    if lows:
        limits["min_value"] = max(lows)
    if highs:
        limits["max_value"] = min(highs)
    return limits


def number_formfield(db_field, **kwargs):
    """A model field's form field, numbers through this module (a ModelForm's
    `Meta.formfield_callback`), with the model's range (`number_limits`). Fields with choices
    stay choice fields."""
    if isinstance(db_field, models.DecimalField):
        kwargs.setdefault("form_class", DecimalField)
    elif isinstance(db_field, models.IntegerField):
        kwargs.setdefault("form_class", IntegerField)
    return db_field.formfield(**{**number_limits(db_field), **kwargs})


def reason_refused(request, form, name: str = "reason") -> bool:
    """For a POST whose only field to fill is a reason: True when the reason was typed and
    the form refuses it (too long), each error put as a message after the field's label.
    An empty reason is left to the caller's own words ("Give the reason ...")."""
    if form.is_valid() or not str(form.data.get(name, "")).strip():
        return False
    errors = form.errors.get(name, [])
    for error in errors:
        messages.error(request, f"{form[name].label}: {error}")
    return bool(errors)


# A sheet of many rows (the hygiene round, the stock-take) is saved by its own button only.
# Enter in any of its boxes presses the form's first submit button (HTML's implicit
# submission), and that one is templates/_enter_default.html, which sends no SHEET_SAVE: the
# sheet comes back checked, as typed, with nothing saved. Without this, Enter in the first
# row's note saved the whole round, every household below it passing unseen.
SHEET_SAVE = "save"


def sheet_save_pressed(request) -> bool:
    """True when the sheet's save button sent it; Enter in one of its boxes only checks it."""
    return request.POST.get(SHEET_SAVE) == "1"
