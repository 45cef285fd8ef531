"""core.forms: the one way numbers and PINs are read, field by field and as properties."""

import unicodedata
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from core.forms import (
    DecimalField,
    IntegerField,
    PinField,
    decimal_parse,
    int_or_none,
    int_parse,
    number_text,
    pin_clean,
)
from core.pagination import Paginator

FULL_WIDTH_DIGITS = "０１２３４５６７８９"
HOSTILE = [
    "٣",  # Arabic-Indic three
    "۳",  # Extended Arabic-Indic
    "९",  # Devanagari nine
    "৩",  # Bengali three
    "๓",  # Thai three
    "²",  # superscript two
    "1_0",
    "1e3",
    "1E3",
    "1 0",
    "1\u30000",  # ideographic space inside
    "0x1F",
    "NaN",
    "Infinity",
    "abc",
    "1,5",
    "9" * 41,
]


def full_width(text: str) -> str:
    return text.translate(str.maketrans("0123456789-+.", FULL_WIDTH_DIGITS + "－＋．"))


def other_script_digit() -> st.SearchStrategy[str]:
    """Any decimal digit of Unicode that is neither ASCII nor full-width."""
    return st.characters(categories=["Nd"]).filter(
        lambda ch: not ("0" <= ch <= "9") and ch not in FULL_WIDTH_DIGITS
    )


@pytest.mark.parametrize(
    ("field", "typed", "value"),
    [
        (IntegerField(min_value=1), "３", 3),
        (IntegerField(min_value=1), " １２ ", 12),
        (IntegerField(), "－５", -5),
        (IntegerField(), "＋５", 5),
        (
            DecimalField(min_value=0, max_digits=10, decimal_places=2),
            "１２．５０",
            Decimal("12.50"),
        ),
        (DecimalField(min_value=0, max_digits=10, decimal_places=2), "7", Decimal(7)),
        (PinField(), "１２３４", "1234"),
        (PinField(), "012345", "012345"),
    ],
)
def test_full_width_digits_are_read_as_ascii(field, typed, value):
    assert field.clean(typed) == value


@pytest.mark.parametrize("typed", HOSTILE)
@pytest.mark.parametrize(
    "field",
    [
        IntegerField(min_value=0),
        IntegerField(),
        DecimalField(min_value=0, max_digits=10, decimal_places=2),
        DecimalField(max_digits=10, decimal_places=2),
        PinField(),
    ],
    ids=["integer", "signed integer", "amount", "signed amount", "pin"],
)
def test_other_digits_separators_and_exponents_are_refused(field, typed):
    with pytest.raises(ValidationError) as refused:
        field.clean(typed)
    assert refused.value.messages  # a message for the form, never a bare exception


@pytest.mark.parametrize(
    ("typed", "told"),
    [
        # A negative number is told the minimum; a plus sign is no way to write a number.
        ("-3", "The number must be at least 0."),
        ("－3", "The number must be at least 0."),
        ("+3", "0-9"),
        ("＋3", "0-9"),
        ("-2.5", "0-9"),  # no whole number
    ],
)
def test_a_sign_is_refused_where_the_number_cannot_be_negative(typed, told):
    with translation.override("en"):
        with pytest.raises(ValidationError) as refused:
            IntegerField(min_value=0).clean(typed)
        assert told in refused.value.messages[0]
    with pytest.raises(ValidationError):
        DecimalField(min_value=0, max_digits=6, decimal_places=2).clean(typed)


def test_the_messages_are_translated():
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as refused:
            IntegerField(min_value=1).clean("٣")
        with pytest.raises(ValidationError) as pin:
            PinField().clean("١٢٣٤")
        number_message, pin_message = refused.value.messages[0], pin.value.messages[0]
    assert "0-9" in number_message and "Enter" not in number_message
    assert "4" in pin_message and "digits" not in pin_message


def test_empty_and_blank_are_no_number():
    assert IntegerField(required=False).clean(" ") is None
    assert DecimalField(required=False).clean("\u3000") is None
    with pytest.raises(ValidationError):
        IntegerField().clean(" ")


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_any_whole_number_typed_full_width_or_ascii_reads_the_same(number):
    assert int_parse(full_width(str(number)), signed=True) == number
    assert int_parse(str(number), signed=True) == number


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=2, min_value=-(10**6), max_value=10**6
    )
)
def test_any_amount_typed_full_width_or_ascii_reads_the_same(amount):
    text = f"{amount:f}"
    assert decimal_parse(full_width(text), signed=True) == amount
    assert decimal_parse(text, signed=True) == amount


@given(st.text(alphabet="0123456789", min_size=4, max_size=6))
def test_a_pin_set_full_width_is_the_pin_typed_in_ascii(pin):
    assert pin_clean(full_width(pin)) == pin_clean(pin) == pin


@given(
    before=st.text(alphabet="0123456789", max_size=3),
    digit=other_script_digit(),
    after=st.text(alphabet="0123456789", max_size=3),
)
def test_any_other_script_digit_anywhere_is_refused(before, digit, after):
    text = before + digit + after
    assert unicodedata.decimal(digit) is not None  # int() would have taken it
    for parse in (int_parse, decimal_parse, pin_clean):
        with pytest.raises(ValidationError):
            parse(text)
    assert int_or_none(text) is None


@given(st.text(max_size=12))
def test_whatever_is_accepted_is_plain_ascii(text):
    """Nothing outside ASCII digits (after the full-width ones) ever comes through."""
    try:
        number = int_parse(text, signed=True)
    except ValidationError:
        return
    assert number_text(text).lstrip("+-").isascii()
    assert int(number_text(text)) == number


@pytest.mark.parametrize("page", ["٣", "1_0", "३", " 2"])
def test_a_page_number_in_another_script_is_no_page_number(page):
    pages = Paginator(list(range(100)), 10)
    expected = 2 if page == " 2" else 1
    assert pages.get_page(page).number == expected
    assert pages.get_page("３").number == 3
