"""Display helpers for the public wall pages: masked names, no phone or ID numbers.

Numbers are found and masked by `villagers.masking.mask_cell`, the one rule the registry's
previews use too (spaces, dashes, full-width digits, a +86 before a mobile number): what
the wall masks is exactly what the reviewer is warned about.
"""

from django import template
from django.utils.translation import gettext as _

from villagers.masking import mask_name
from villagers.templatetags.masking import numbers_masked

register = template.Library()


@register.filter
def wall_name(wish) -> str:
    """How a household appears on the wall: a masked name and group, or the group alone."""
    group = wish.household.group.name
    if wish.hide_household:
        return _("a household of %(group)s") % {"group": group}
    return f"{mask_name(wish.household.head_name)} · {group}"


# Masks phone and ID numbers that moderation missed, as a last line of defence: the filter
# the referral queues read typed words with, under the wall's name.
wall_text = register.filter("wall_text", numbers_masked)


@register.filter
def carries_numbers(wish) -> bool:
    """Whether the wish's title or story holds what looks like a phone or ID number: the
    reviewer is told before approving (the wall masks them anyway)."""
    return any(wall_text(text) != (text or "") for text in (wish.title, wish.story))
