"""Upload checks for item photos (type by extension and content, size by settings), and
what a goods barcode is."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


def validate_photo_size(file) -> None:
    """Refuse photos larger than MAX_PHOTO_BYTES: they are slow to load on a village 3G phone."""
    limit = settings.MAX_PHOTO_BYTES
    if file and file.size > limit:
        raise ValidationError(
            _("The photo is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(file.size), "limit": filesizeformat(limit)},
            code="photo_too_large",
        )


# What a goods barcode is: the GS1 numbers scanners read off packaging. EAN-13 (China's 690-699
# included), EAN-8, UPC-A (12) and GTIN-14 (a carton's ITF-14) end in the same mod-10 check
# digit; UPC-E (8 digits) checks as the UPC-A it abbreviates. A village's own labels for
# loose goods are such numbers too: GS1 keeps the prefixes 20-29 (EAN-13) and 2 (EAN-8) for
# in-store use, and they check the same way. Nothing else is one (a card's nine digits, words).
BARCODE_LENGTHS = (8, 12, 13, 14)


def gs1_check_digit(body: str) -> str:
    """The check digit GS1 numbers end in: weights 3, 1, 3... from the right."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(body)))
    return str((10 - total % 10) % 10)


def upc_e_expanded(code: str) -> str | None:
    """The UPC-A an 8-digit UPC-E (number system 0 or 1) abbreviates, or None."""
    if len(code) != 8 or code[0] not in "01":
        return None
    digits, last = code[1:7], code[6]
    if last in "012":
        body = digits[:2] + last + "0000" + digits[2:5]
    elif last == "3":
        body = digits[:3] + "00000" + digits[3:5]
    elif last == "4":
        body = digits[:4] + "00000" + digits[4]
    else:
        body = digits[:5] + "0000" + last
    return code[0] + body + code[7]


def barcode_refusal(code: str) -> str:
    """Why `code` (as the item form keeps it: core.forms.number_text) is no goods barcode,
    or "" when it is one."""
    if not (code.isascii() and code.isdigit() and len(code) in BARCODE_LENGTHS):
        return _(
            "A barcode is the 8, 12, 13 or 14 digits printed under the bars (EAN or UPC): "
            "scan it or type them. Leave it empty for goods without one."
        )
    if gs1_check_digit(code[:-1]) == code[-1]:
        return ""
    expanded = upc_e_expanded(code)
    if expanded is not None and gs1_check_digit(expanded[:-1]) == expanded[-1]:
        return ""
    return _(
        "These digits are no barcode: its last digit does not check the others. Scan it "
        "again or check each digit."
    )
