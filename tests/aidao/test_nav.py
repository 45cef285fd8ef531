"""The menu (templates/_nav.html) for every role, with and without a village picked: its
lists are closed where they open and every group has its heading.

Its branches nest role flags and `current_village`; an `{% if %}` moved to the wrong line
once left a county admin with no village picked loose items and a stray `</ul>`.
"""

import itertools
import re

import pytest
from django.template.loader import render_to_string

ROLES = (
    "is_villager",
    "is_manager",
    "is_supervisor",
    "is_county_admin",
    "is_township_officer",
    "is_party_secretary",
)


def _balanced(html: str) -> bool:
    """Each </ul> and </li> closes the last list or item opened, and all are closed."""
    opened = []
    for closing, tag in re.findall(r"<(/?)(ul|li)\b", html):
        if not closing:
            opened.append(tag)
        elif not opened or opened.pop() != tag:
            return False
    return not opened


@pytest.mark.parametrize(("role", "village"), list(itertools.product(ROLES, (None, 1))))
def test_the_menu_is_well_formed_for_every_role(role, village):
    context = dict.fromkeys(ROLES, False) | {role: True, "current_village": village}
    context["user"] = type("Staff", (), {"is_staff": role != "is_villager"})()
    html = f"<ul>{render_to_string('_nav.html', context)}</ul>"
    assert _balanced(html), html
    groups = re.findall(r'<li class="nav-group">(.*?)</ul></li>', html, re.S)
    assert all("nav-group-title" in group for group in groups)
    assert _balanced("<ul><li></li></ul>") and not _balanced("<ul><li></ul></li>")
