"""Masking of personal data (ID numbers, phones) on pages that do not need it in full."""

import re

from core.spreadsheet import date_read

# A run of digits (ASCII or full-width) with up to three spaces, dashes, dots, slashes or
# brackets between them, as people write a phone (138-1234-5678, 138 - 1234 - 5678,
# 139.1234.5678, (139)1234-5678) or an ID number in blocks, and an ID number's check
# character X at its end. A date (1965.03.04, 2024/01/05) keeps fewer digits than either.
SEPARATOR = r"[ \u3000\-－–—.．/／()（）]"
DIGIT_RUN = re.compile(rf"[0-9０-９](?:{SEPARATOR}{{0,3}}[0-9０-９])*[XxＸｘ]?")
SEPARATORS = re.compile(rf"{SEPARATOR}+")
# A country code before a mobile number (8613812345678, 0086 138 1234 5678; a "+" is not
# part of the run): the number after it is masked as any phone is.
COUNTRY_CODE = re.compile(rf"(?:00|０{{2}})?[8８][6６]{SEPARATOR}{{0,3}}(?=[1１])")


# A mobile number after China's country code, digits only (8613812345678, 008613812345678).
MOBILE_WITH_COUNTRY_CODE = re.compile(r"(?:00)?86(?:1[3-9][0-9]{9})")


def mask_id_number(value: str) -> str:
    """'610630198801011234' -> '6106**********1234'."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """'13912345678' -> '139****5678'."""
    if not value:
        return ""
    digits = value.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_household_number(value: str) -> str:
    """A household number echoed from an upload: as typed (it is no personal data, and
    masked it names nothing the clerk can find), unless it has a phone's 11 digits or an ID
    number's 15 or more (one of those a column off): then masked as `mask_cell` masks."""
    digits = "".join(str(int(char)) for char in value or "" if char.isdecimal())
    phone = len(digits) == 11 or MOBILE_WITH_COUNTRY_CODE.fullmatch(digits)
    return mask_cell(value) if phone or len(digits) >= 15 else value


def mask_upload_cell(column: str, value: str) -> str:
    """A cell of an uploaded table as its preview shows it: the household number as
    `mask_household_number` shows it, any other cell as `mask_cell` does."""
    if column == "household_number":
        return mask_household_number(value)
    return mask_cell(value)


def mask_name(value: str) -> str:
    """'王小明' -> '王**': keeps the family name only, for public pages of other households."""
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 1, 1)


def _is_day(run: str) -> bool:
    """Whether a run of 8 digits is a day written without separators (20240305)."""
    day = date_read(run) if len(run) == 8 else None
    return day is not None and 1900 <= day.year <= 2100


def _run_masked(match: re.Match) -> str:
    run = match.group()
    digits = sum(1 for char in run if char.isdecimal())
    longest = max(len(block) for block in SEPARATORS.split(run))
    # Seven digits in a row, or eleven in all, could be a phone; fifteen an ID number. A date
    # (1965-03-04, 20240305) or a year is neither and stays as it is.
    if (longest < 7 and digits < 11) or _is_day(run):
        return run
    prefix = COUNTRY_CODE.match(run)
    if prefix and digits - sum(1 for char in prefix.group() if char.isdecimal()) == 11:
        return prefix.group() + mask_phone(run[prefix.end() :])
    if digits < 11:
        # A landline's local number, or any figure of so many digits: shown with a digit or
        # three hidden ("202*0305"), it was neither hidden nor readable. Hidden whole.
        return "*" * len(run)
    return mask_id_number(run) if digits >= 15 else mask_phone(run)


def mask_cell(value: str) -> str:
    """Any text echoed from an uploaded cell, with every run of digits that could be an ID
    number or a phone masked as those are: a cell one column off (an ID number in the birth
    year's column) is never shown in full."""
    if not value:
        return value
    return DIGIT_RUN.sub(_run_masked, str(value))
