"""Display helpers for the public wall pages: masked names, no phone or ID numbers."""

import re

from django import template
from django.utils.translation import gettext as _

from villagers.masking import mask_id_number, mask_name, mask_phone

register = template.Library()

ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
PHONE = re.compile(r"(?<!\d)1\d{10}(?!\d)")


@register.filter
def wall_name(wish) -> str:
    """How a household appears on the wall: a masked name and group, or the group alone."""
    group = wish.household.group.name
    if wish.hide_household:
        return _("a household of %(group)s") % {"group": group}
    return f"{mask_name(wish.household.head_name)} · {group}"


@register.filter
def wall_text(text: str) -> str:
    """Masks phone and ID numbers that moderation missed, as a last line of defence."""
    text = ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text or "")
    return PHONE.sub(lambda m: mask_phone(m.group(0)), text)


@register.filter
def carries_numbers(wish) -> bool:
    """Whether the wish's title or story holds what looks like a phone or ID number: the
    reviewer is told before approving (the wall masks them anyway)."""
    texts = (wish.title or "", wish.story or "")
    return any(ID_NUMBER.search(text) or PHONE.search(text) for text in texts)
