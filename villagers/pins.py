"""Which new PINs are refused as too easy to guess: one rule for every place a PIN is set.

A PIN is 4 to 6 digits (`core.forms.pin_clean`); a new one is refused when it is
- one block of digits repeated, one digit throughout included: 0000, 111111, 1212, 520520;
- a run: each digit one more, or each one less, than the one before (0 follows 9, as on a
  keyboard's row of digits): 1234, 654321, 012345, 7890;
- a run by twos or threes, up or down (within 0 to 9): 1357, 8642, 02468, 0369, 9630;
- a date or number of someone in the household, which neighbours and relatives know: a
  member's birth year (1956), their birthday from the ID number as MMDD or YYMMDD (0315,
  560315), or the last 4 to 6 digits of a member's ID number (a final X left out), of the
  household's or a member's phone, or of the household's card number (printed on the card).
Any other 4 to 6 digits will do, so nobody is asked for letters or a long PIN. A PIN set
before this rule keeps working (it is checked when set, never at the login), as does one
set from its hash (the county setting a PIN sent up to it, which was checked when sent; a
card the county issues with it gets a number whose end it is not, `pin_hash_ends`).
"""

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import pin_clean
from villagers.models import Household

GUESSABLE_MESSAGE = _(
    "This PIN is too easy to guess: choose digits that are not all the same, not in a row "
    "(1234, 4321) or in steps (1357, 8642), not a repeated pattern (1212) and not a birth "
    "year, birthday, or the end of an ID, phone or card number of the household."
)


def _repeats_a_block(pin: str) -> bool:
    return any(
        len(pin) % size == 0 and pin == pin[:size] * (len(pin) // size)
        for size in range(1, len(pin) // 2 + 1)
    )


def _is_a_run(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:], strict=False)}
    # By ones, 0 following 9 (7890, 2109); or by twos or threes, never past 9 (1357, 9630):
    # wrapped (8024), they are no pattern anyone tries first.
    return {step % 10 for step in steps} in ({1}, {9}) or steps in ({2}, {-2}, {3}, {-3})


def _households_own_numbers(household: Household) -> set[str]:
    """Birth years, birthdays and the ends of the ID, phone and card numbers of the
    household, as digits a PIN could be."""
    numbers = set()
    # The card's own number is printed on it: its end is no secret (the household's cards
    # so far; a card being issued is checked once its number is drawn, pin_card_check, or
    # with a PIN sent up to the county, drawn so that its end is not it, pin_hash_ends).
    digits_of = [household.phone, *household.cards.values_list("number", flat=True)]
    for birth_year, id_number, phone in household.members.values_list(
        "birth_year", "id_number", "phone"
    ):
        numbers.add(str(birth_year))
        id_digits = id_number.rstrip("Xx")
        if len(id_number) == 18 and id_digits[6:14].isdigit():
            numbers.update({id_digits[10:14], id_digits[8:14]})  # MMDD, YYMMDD
        digits_of += [id_digits, phone]
    for text in digits_of:
        numbers.update(_ends(text))
    return numbers


def _ends(text: str) -> set[str]:
    """The last 4, 5 and 6 digits of `text`'s digits: what a PIN of it would be."""
    digits = "".join(c for c in text if c.isdigit())
    return {digits[-length:] for length in (4, 5, 6) if len(digits) >= length}


def _guessable() -> ValidationError:
    return ValidationError({"pin": ValidationError(GUESSABLE_MESSAGE, code="pin_guessable")})


def pin_card_check(pin: str, card_number: str) -> None:
    """Refuse `pin` (as pin_new_clean read it) if it is the end of `card_number`: the card a
    PIN is issued with has its number drawn only once everything else was checked."""
    if pin in _ends(card_number):
        raise _guessable()


def pin_hash_ends(pin_hash: str, card_number: str) -> bool:
    """Whether the PIN hashed as `pin_hash` is the end of `card_number`: a PIN sent up to the
    county with a card's issue or replacement, judged before the number was drawn. One hash
    check for each end tried, slow by design (about a second for the three)."""
    return any(check_password(end, pin_hash) for end in _ends(card_number))


def pin_new_clean(pin, *, household: Household) -> str:
    """A new PIN for a login of `household`'s card, as `pin_clean` reads it; refused if it is
    not 4 to 6 digits, or (on the form's `pin` field) if it is too easy to guess."""
    pin = pin_clean(pin)
    if _repeats_a_block(pin) or _is_a_run(pin) or pin in _households_own_numbers(household):
        raise _guessable()
    return pin
