"""Mainland resident ID numbers (居民身份证号码): one reading and one check, however one is
typed in (the roster import, the member form); and the phone numbers those forms take.

A number is valid when it has 18 characters, a real birth date between 1900 and today and
the GB 11643 check digit; a person is registered once in the deployment, whichever village.
"""

import datetime
import re

from django.utils import timezone
from django.utils.translation import gettext as _

from core.forms import number_text
from villagers.models import Member

ID_PATTERN = re.compile(r"^[0-9]{17}[0-9X]$")
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_YEAR = 1900
# A phone as typed: digits (full-width ones read as digits), spaces, dashes, a leading "+".
PHONE_PATTERN = re.compile(r"^\+?[0-9\- ]{5,20}$")


# What a Chinese input method in full-width mode types besides the digits (core.forms.
# number_text reads those): the X of an ID number, and the full-width space.
FULL_WIDTH_LETTERS = str.maketrans("Ｘｘ\u3000", "Xx ")


def phone_text(value) -> str:
    """A phone as it is stored (full-width digits and spaces as ASCII ones); ValueError when
    it is none."""
    phone = number_text(str(value or "").translate(FULL_WIDTH_LETTERS))
    if phone and not PHONE_PATTERN.fullmatch(phone):
        raise ValueError(phone)
    return phone


def phone_invalid_message() -> str:
    return _("The phone number is not valid.")


def id_number_text(value: str) -> str:
    """The number as it is stored: full-width digits and X as ASCII, no spaces of any width
    (a number typed in groups), X upper case."""
    return "".join(number_text(str(value or "").translate(FULL_WIDTH_LETTERS)).split()).upper()


def id_number_is_valid(value: str) -> bool:
    """18 characters, a real birth date from 1900 to today and the GB 11643 check digit."""
    if not ID_PATTERN.fullmatch(value):
        return False
    try:
        born = datetime.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if born.year < EARLIEST_BIRTH_YEAR or born > timezone.localdate():
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value[:17], ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11] == value[17]


def _current_holders(numbers, excluding_member_id: int | None = None):
    members = Member.objects.current().filter(id_number__in=[n for n in numbers if n])
    if excluding_member_id is not None:
        members = members.exclude(pk=excluding_member_id)
    return members


def id_numbers_registered(numbers, *, excluding_member_id: int | None = None) -> set[str]:
    """Of `numbers`, those a member anywhere in the deployment holds now (one who left their
    household may be registered where they live now)."""
    members = _current_holders(numbers, excluding_member_id)
    return set(members.values_list("id_number", flat=True))


def id_numbers_registered_villages(
    numbers, *, excluding_member_id: int | None = None
) -> dict[str, int]:
    """Of `numbers`, those a member anywhere in the deployment holds now, with the id of the
    village that member's household is in (id_numbers_registered, saying where)."""
    holders = _current_holders(numbers, excluding_member_id)
    return dict(holders.values_list("id_number", "household__village_id"))


OLD_ID_PATTERN = re.compile(r"^[0-9]{15}$")


def id_number_invalid_message(value: str = "") -> str:
    """Why `value` is no ID number, in words a clerk can act on: a first-generation card's
    15 digits (issued before 1999, no longer valid) need the person's 18-character number,
    which Excel's rounding would not explain."""
    if OLD_ID_PATTERN.fullmatch(value):
        return _(
            "This is an old 15-digit ID number. Write the 18-character number from the "
            "person's current ID card, or leave the cell empty (it is optional)."
        )
    return _(
        "The ID number is not a valid 18-character ID number. If Excel shows it like "
        "6.1E+17, format the column as text and type it again."
    )


def id_number_taken_message(*, in_this_village: bool | None = None) -> str:
    """That the number is registered; where, when the reader may know (`in_this_village`):
    a roster's manager is told this village or another, never whose household it is."""
    if in_this_village is None:
        return _("A person with this ID number is already registered.")
    if in_this_village:
        return _("A person with this ID number is already registered in this village.")
    return _("A person with this ID number is already registered in another village.")
