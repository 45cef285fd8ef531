"""Django's default refusals in the app's words, on every form at once.

Found by two probes: a reason forged to 5,000 characters was refused in Django's zh_Hans
words, "确保该变量包含不超过 300 字符 (目前字符数 5000)。" ("ensure the variable...").
The project's catalogue now answers for Django's msgids (core/django_msgids.py marks them);
the English stays Django's own.
"""

from pathlib import Path

import django
import polib
import pytest
from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from points.models import Proposal
from store.models import StockMovement
from tests.conftest import form_key
from wishwall.models import Wish

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
DJANGO = Path(django.__file__).parent
# Django's English catalogues: every msgid Django 5.2 asks for, each once.
DJANGO_ENGLISH = [
    DJANGO / "conf" / "locale" / "en" / "LC_MESSAGES" / "django.po",
    DJANGO / "contrib" / "admin" / "locale" / "en" / "LC_MESSAGES" / "django.po",
    DJANGO / "contrib" / "auth" / "locale" / "en" / "LC_MESSAGES" / "django.po",
]
CHINESE = {"Accept-Language": "zh-hans"}
ENGLISH = {"Accept-Language": "en"}

REQUIRED = "此项必填。"
NOT_OFFERED = "所选的一项不在可选的范围内，请重新选择。"


def _too_long(limit: int, sent: int) -> str:
    return f"最多只能填 {limit} 个字，现在有 {sent} 个。"


def _django_entries() -> list[polib.POEntry]:
    """The project catalogue's entries for the msgids core/django_msgids.py marks."""
    return [
        entry
        for entry in polib.pofile(str(CATALOGUE))
        if not entry.obsolete
        and any(path == "core/django_msgids.py" for path, _line in entry.occurrences)
    ]


def test_each_msgid_marked_is_djangos_and_the_projects_words_answer_for_it():
    """A msgid copied wrong, or one Django rewords in an upgrade, would leave Django's
    words on the page unseen: each must be one Django asks for, translated as here."""
    entries = _django_entries()
    assert len(entries) > 40
    djangos = {
        (entry.msgid, entry.msgid_plural)
        for path in DJANGO_ENGLISH
        for entry in polib.pofile(str(path))
    }
    for entry in entries:
        assert (entry.msgid, entry.msgid_plural) in djangos, entry.msgid
        with translation.override("zh-hans"):
            if entry.msgid_plural:
                said = translation.ngettext(entry.msgid, entry.msgid_plural, 5)
                assert said == entry.msgstr_plural[0], entry.msgid
            else:
                assert translation.gettext(entry.msgid) == entry.msgstr, entry.msgid
        with translation.override("en"):
            assert translation.gettext(entry.msgid) == entry.msgid


def _wish_sent(client, headers):
    sent = {
        "title": "",
        "kind": "palace",
        "story": "长" * 5000,
        "idempotency_key": form_key(),
    }
    response = client.post(reverse("wishwall:new"), sent, headers=headers)
    assert response.status_code == 200
    assert not Wish.objects.exists()
    return response.context["form"].errors


def test_a_villagers_wish_is_refused_in_the_apps_chinese(client_villager_a):
    errors = _wish_sent(client_villager_a, CHINESE)
    assert errors["title"] == [REQUIRED]
    assert errors["kind"] == ["“palace”不在可选的范围内，请重新选择。"]
    assert errors["story"] == [_too_long(1000, 5000)]


def test_a_villagers_wish_is_refused_in_djangos_english(client_villager_a):
    errors = _wish_sent(client_villager_a, ENGLISH)
    assert errors["title"] == ["This field is required."]
    assert errors["kind"] == ["Select a valid choice. palace is not one of the available choices."]
    assert errors["story"] == ["Ensure this value has at most 1000 characters (it has 5000)."]


def test_a_stock_in_is_refused_in_the_apps_chinese(client_manager_x):
    sent = {
        "item": "999999",
        "quantity": "5",
        "fund_source": "lottery",
        "cost_yuan": "10",
        "note": "票" * 5000,
        "idempotency_key": form_key(),
    }
    response = client_manager_x.post(reverse("store:stock_in"), sent, headers=CHINESE)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["item"] == [NOT_OFFERED]
    assert errors["fund_source"] == ["“lottery”不在可选的范围内，请重新选择。"]
    assert errors["note"] == [_too_long(200, 5000)]
    page = response.text
    assert NOT_OFFERED in page and _too_long(200, 5000) in page
    assert "确保" not in page and "选择一个有效的选项" not in page
    assert not StockMovement.objects.exists()


def test_a_proposal_is_refused_in_the_apps_chinese(client_manager_x, card_a):
    sent = {
        "households": [card_a.household.pk],
        "rule": "",
        "reason": "理" * 5000,
        "occurred_on": "2025-13-45",
        "idempotency_key": form_key(),
    }
    response = client_manager_x.post(reverse("points:proposal_new"), sent, headers=CHINESE)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["rule"] == [REQUIRED]
    assert errors["reason"] == [_too_long(300, 5000)]
    assert errors["occurred_on"] == ["请输入正确的日期，例如 2025-05-01。"]
    assert not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("zh-hans", "最多只能填 300 个字，现在有 301 个。"),
        ("en", "Ensure this value has at most 300 characters (it has 301)."),
    ],
)
def test_one_character_too_many_reads_the_same_way(language, expected):
    """The plural's one form in Chinese, both of Django's in English."""
    field = forms.CharField(max_length=300)
    with translation.override(language):
        with pytest.raises(forms.ValidationError) as refused:
            field.clean("字" * 301)
        assert refused.value.messages == [expected]
