"""The menu (templates/_nav.html) for every role, with and without a village picked: its
lists are closed where they open and every group has its heading; every link opens for the
person shown it, and the overseers and the party secretary find there what they may read.

Its branches nest role flags and `current_village`; an `{% if %}` moved to the wrong line
once left a county admin with no village picked loose items and a stray `</ul>`.
"""

import itertools
import re

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from core.access import OPEN, access_of

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


# --- each role's menu against what they may open -------------------------------------------

MENU = re.compile(r'<ul class="list-unstyled nav-menu-list">(.*?)data-sign-out', re.S)
# (person, the village they look into: an overseer's pick; None for the others, who work in
# their own or their household's).
PEOPLE = [
    ("villager_a", None),
    ("manager_x", None),
    ("supervisor_x", None),
    ("secretary_x", None),
    ("county_admin", None),
    ("county_admin", "village_x"),
    ("township_officer", None),
    ("township_officer", "village_x"),
]
OVERSEERS = {"county_admin", "township_officer"}
# Pages without arguments an overseer or the party secretary may open that the menu leaves
# to another page: each is reached from the page named, or is a form's action.
REACHED_FROM = {
    "reports:visit_list": "reports:dashboard",
    "wishwall:display": "wishwall:wall",
    "store:summary_day": "store:summary_month",
    "villagers:card_sheet": "villagers:card_sheet_choose",
    "villagers:household_list": "reports:household_list",
    "reports:county_export": "reports:county_overview (POST)",
    "reports:county_queue_decide": "reports:county_queue (POST)",
}


def _signed_in(request, person, village):
    """The person's client, looking into `village` (a fixture's name) if given, and the
    village they work in."""
    user = request.getfixturevalue(person)
    client = Client()
    client.force_login(user)
    if village is None:
        return user, client, user.village
    picked = request.getfixturevalue(village)
    client.post(reverse("villagers:village_pick"), {"village": picked.pk})
    return user, client, picked


def menu_links(client) -> list[str]:
    """The menu's links as the person's start page draws it."""
    html = client.get(reverse("home"), follow=True).content.decode()
    return re.findall(r'class="nav-link" href="([^"]+)"', MENU.search(html).group(1))


def _pages_without_arguments(resolver=None, prefix=""):
    """The names of the site's pages whose address takes no argument (the admin's aside)."""
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            namespace = pattern.namespace
            if namespace != "admin":
                yield from _pages_without_arguments(
                    pattern, f"{prefix}{namespace}:" if namespace else prefix
                )
        elif pattern.name and not pattern.pattern.regex.groupindex:
            yield prefix + pattern.name


@pytest.mark.parametrize(("person", "village"), PEOPLE)
def test_every_link_of_each_roles_menu_opens_for_them(db, request, person, village):
    """No link of anyone's menu is refused them; an overseer who has not picked a village
    is asked to pick one first."""
    _user, client, _village = _signed_in(request, person, village)
    links = menu_links(client)
    refused = {}
    for url in links:
        response = client.get(url)
        picking = response.status_code == 302 and response.url.startswith(
            reverse("villagers:village_pick")
        )
        if response.status_code != 200 and not (
            picking and village is None and person in OVERSEERS
        ):
            refused[url] = (response.status_code, getattr(response, "url", ""))
    assert not refused, (links, refused)


@pytest.mark.parametrize(
    ("person", "village"),
    [(person, village) for person, village in PEOPLE if person in {"secretary_x", *OVERSEERS}],
)
def test_what_the_overseers_and_the_secretary_may_read_is_in_their_menu(
    db, request, person, village
):
    """Found by the probe of the county's month: the county admin's menu showed the audit
    log only while looking into a village, though the log reads the whole county; the
    township officer's and the party secretary's, looking into a village, left out its
    announcements, its walls and its catalogue, which they may read."""
    user, client, working_in = _signed_in(request, person, village)
    links = set(menu_links(client))
    missing = []
    for name in sorted(set(_pages_without_arguments())):
        url = reverse(name)
        access = access_of(url)
        if access is None or name in REACHED_FROM:
            continue
        if access.decide(user, working_in) == OPEN and url not in links:
            missing.append(name)
    assert not missing, missing
    audit = reverse("reports:audit")
    assert (audit in links) == (person != "secretary_x")
