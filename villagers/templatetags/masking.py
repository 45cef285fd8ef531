"""Typed text shown where nobody needs a phone or an ID number in it (the referral queues):
every run of digits that could be one is masked by `villagers.masking.mask_cell`, the rule
of the wish wall and the audit log."""

from django import template

from villagers.masking import mask_cell

register = template.Library()


@register.filter
def numbers_masked(text) -> str:
    return mask_cell(str(text)) if text else ""
