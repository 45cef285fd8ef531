"""What pages show, read in each language: no English left on a Chinese page, no Chinese
outside the data on an English one, and dates as the site writes them.

tests/aidao/test_i18n.py checks the catalogue; this renders pages (a form refused, a
household's messages, the back office's password page) and reads their visible words, for
what the catalogue cannot see: Django's own messages whose msgid its zh_Hans catalogue lacks
(a password too short), a text written without {% translate %}, a Chinese word left in
code, and locale formats ("12/10/2026 2:15 p.m.." in English). A sweep of every page of the
URL table for every role in both languages found those; these pages stand for them.
"""

import datetime
import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from notifications.services import message, notifications_post
from store.models import Item, Zone
from store.services import item_save, zones_ensure

LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z_'’-]+")
CHINESE = re.compile(r"[\u3400-\u9fff]+")
# The site writes dates 2026-12-10 and times 14:15; Django's English short forms are not.
ENGLISH_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b|\b[ap]\.m\.")
# Latin words a Chinese page shows on purpose: units and file kinds, the language switch,
# Django admin's screen-reader texts of its own icons (alt="True", "Search"), the CSRF name.
LATIN_KEPT = {"English", "MB", "kg", "Excel", "CSV", "xlsx", "csv", "JPG", "PNG", "HEIC"}
LATIN_KEPT |= {"JPEG", "WebP", "True", "False", "Search", "CSRF", "Control", "Command", "Mac"}
LATIN_KEPT |= {"LDAP", "PIN"}
# Chinese an English page shows on purpose: the language switch, the source's own terms
# given beside their English name (Points rules (积分管理细则)).
CHINESE_KEPT = {"简体中文", "积分管理细则", "积分申报", "公示", "粮油区", "日用品区", "洗化区"}
CHINESE_KEPT |= {"服装区", "农资区", "家用电器区", "扶贫局", "民政"}


class _Visible(HTMLParser):
    """The words a reader sees or hears: text outside scripts, and the attributes read out."""

    SPOKEN = ("placeholder", "title", "aria-label", "alt")

    def __init__(self):
        super().__init__()
        self.words, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")
        self.words += [value for name, value in attrs if value and name in self.SPOKEN]

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style") and self._hidden > 0

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.words.append(data.strip())


def _visible(response) -> str:
    parser = _Visible()
    parser.feed(response.content.decode())
    return "\n".join(parser.words)


@pytest.fixture
def world(village_x, household_a, card_a, manager_x):
    """A household with a message that gives a deadline, and an item on the shelves."""
    until = timezone.now() + datetime.timedelta(days=3)
    ready = message(
        village_id=village_x.pk,
        household_id=household_a.pk,
        kind="reservation_ready",
        reservation=1,
        items=2,
        points=20,
        until=until.isoformat(),
    )
    notifications_post([ready])
    zones_ensure(village=village_x)
    zone = Zone.objects.get(village=village_x, code="grain_oil")
    item_save(
        item=Item(village=village_x, zone=zone, name="大米", unit="袋", points_price=20),
        actor=manager_x,
    )


def _pages(manager_x):
    """(who, method, url, data): pages, and forms sent with words where numbers go."""
    return [
        ("anon", "get", reverse("card_login"), None),
        ("anon", "post", reverse("card_login"), {"card_number": "12", "pin": "x"}),
        ("anon", "post", reverse("login"), {"username": "nobody", "password": "wrong"}),
        ("anon", "get", "/no-such-page/", None),
        ("villager_a", "get", reverse("points:me"), None),
        ("villager_a", "get", reverse("notifications:mine"), None),
        ("villager_a", "get", reverse("store:catalogue"), None),
        ("villager_a", "post", reverse("points:declaration_new"), {"occurred_on": "x"}),
        ("manager_x", "get", reverse("reports:household_list"), None),
        ("manager_x", "get", reverse("points:rule_list"), None),
        ("manager_x", "post", reverse("points:rule_add"), {"points": "abc", "code": ""}),
        ("manager_x", "post", reverse("villagers:household_create"), {"number": ""}),
        ("county", "get", reverse("admin:villagers_user_add"), None),
        (
            "county",
            "post",
            reverse("admin:auth_user_password_change", args=[manager_x.pk]),
            {"password1": "Qz-7wk", "password2": "Qz-7wk"},
        ),
    ]


def _data_words(household_a, users) -> set[str]:
    """What the cast typed: names, numbers and logins shown as they are."""
    return {household_a.number, *(user.username for user in users)}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_speak_the_readers_language(
    settings,
    world,
    language,
    client_anon,
    client_villager_a,
    client_manager_x,
    client_county,
    household_a,
    manager_x,
    county_admin,
    villager_a,
):
    settings.LANGUAGE_CODE = "zh-hans"
    clients = {
        "anon": client_anon,
        "villager_a": client_villager_a,
        "manager_x": client_manager_x,
        "county": client_county,
    }
    for client in clients.values():
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    data = _data_words(household_a, [manager_x, county_admin, villager_a])
    wrong = []
    with translation.override(language):
        for who, method, url, body in _pages(manager_x):
            response = getattr(clients[who], method)(url, body)
            assert response.status_code in (200, 404, 429), (url, response.status_code)
            text = _visible(response)
            if language == "zh-hans":
                found = set(LATIN_WORD.findall(text)) - LATIN_KEPT - data
            else:
                found = set(CHINESE.findall(text)) - CHINESE_KEPT - set(_chinese_data())
                found |= set(ENGLISH_DATE.findall(text))
            if found:
                wrong.append(f"{method.upper()} {url} as {who}: {sorted(found)}")
    assert not wrong, "\n".join(wrong)


def _chinese_data() -> list[str]:
    """What the cast's factories typed, in Chinese whatever the reader's language, and the
    ledger's memos, kept in the deployment's language (core.text.records_language)."""
    from points.models import Entry
    from villagers.models import Household, Township, Village, VillageGroup

    names = [*Village.objects.values_list("name", flat=True)]
    names += Township.objects.values_list("name", flat=True)
    names += VillageGroup.objects.values_list("name", flat=True)
    names += Household.objects.values_list("head_name", flat=True)
    names += Household.objects.values_list("address", flat=True)
    names += Entry.objects.values_list("memo", flat=True)
    names += Item.objects.values_list("name", "unit").first() or ()
    return [part for name in names for part in CHINESE.findall(name)]
