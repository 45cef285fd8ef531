"""Masking of personal data (ID numbers, phones) on pages that do not need it in full."""


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


def mask_name(value: str) -> str:
    """'王小明' -> '王**': keeps the family name only, for public pages of other households."""
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 1, 1)
