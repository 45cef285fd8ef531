"""Card numbers: 3-digit village code, 5-digit serial, 1 Luhn check digit (9 digits)."""

import re

from core.forms import number_text


def luhn_check_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def card_number_make(village_code: str, serial: int) -> str:
    body = f"{village_code}{serial:05d}"
    return body + luhn_check_digit(body)


def card_number_is_valid(number: str) -> bool:
    return bool(re.fullmatch(r"[0-9]{9}", number)) and luhn_check_digit(number[:-1]) == number[-1]


def card_number_normalize(raw: str) -> str:
    """What a scanner or a person typed -> the bare number (QR payloads may carry a prefix).

    Full-width digits become ASCII ones; other scripts' digits are dropped like any other
    character, so they never name a card.
    """
    raw = number_text(raw or "")
    match = re.search(r"([0-9]{9})\s*$", raw)
    return match.group(1) if match else re.sub(r"[^0-9]", "", raw)


# What a card's QR code holds, as a scanner types it: the card login's address ending in
# "?card=<number>" (villagers.card_views.card_login_url), or an older "AIDAO-CARD:<number>".
SCANNED_CARD = re.compile(r"card\S*?([0-9]{9})\s*$", re.IGNORECASE)


def scanned_card_number(text: str) -> str | None:
    """The card number when `text` is what a scanner read off a card, else None (a name or a
    number typed into a search box is searched as it is)."""
    match = SCANNED_CARD.search(number_text(text or ""))
    return match.group(1) if match else None


def typed_card_number(text: str) -> str | None:
    """The card number when `text` is one typed bare: nine digits (full-width ones too, from
    a Chinese input method) whose last is the right check digit, else None."""
    number = number_text(text or "")
    return number if card_number_is_valid(number) else None
