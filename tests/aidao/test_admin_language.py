"""The back office's own Django strings in the reader's language.

Django's zh_Hans catalogue lacks some of its admin's strings; the project's catalogue
supplies them (core/django_msgids.py keeps their msgids in it). The Chinese pages below
therefore read Chinese only once locale/zh_Hans translates those msgids.
"""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

ENGLISH_ON_CHINESE_PAGES = {
    "admin:index": ["Model name", "Add link", "Change or view list link"],
    "admin:villagers_user_add": [
        "After you’ve created a user, you’ll be able to edit more user options."
    ],
}
PASSWORD_WARNING = "If disabled, the current password for this user will be lost."
PASSWORD_HELP = "Whether the user will be able to authenticate using a password or not."


@pytest.fixture(autouse=True)
def chinese(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        yield


@pytest.mark.parametrize("page", ENGLISH_ON_CHINESE_PAGES)
def test_the_admins_pages_have_no_english_of_djangos(client_county, page):
    text = client_county.get(reverse(page)).text
    assert '<html lang="zh-hans"' in text
    shown = [english for english in ENGLISH_ON_CHINESE_PAGES[page] if english in text]
    assert not shown, f"translate in locale/zh_Hans: {shown}"


def test_a_failed_admin_sign_in_says_so_in_chinese(county_admin):
    response = Client().post(
        reverse("admin:login"), {"username": county_admin.username, "password": "Wrong-1"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    assert "<title>Error:" not in response.text


def test_the_password_page_warns_in_the_readers_language(client_county, manager_x):
    url = reverse("admin:auth_user_password_change", args=[manager_x.pk])
    chinese = client_county.get(url).text
    assert "id_unusable_warning" in chinese
    assert PASSWORD_HELP not in chinese
    assert PASSWORD_WARNING not in chinese, "translate it in locale/zh_Hans"


def test_the_password_page_is_english_in_english(client_county, manager_x):
    """Django joined the help's sentences at import, the first in the language of that moment:
    a Chinese sentence on the English page."""
    client_county.post(reverse("set_language"), {"language": "en", "next": "/"})
    url = reverse("admin:auth_user_password_change", args=[manager_x.pk])
    with translation.override("en"):
        english = client_county.get(url).text
    assert PASSWORD_HELP in english and PASSWORD_WARNING in english


def test_a_password_too_short_is_refused_in_chinese(client_county, manager_x):
    """Django 5.2 words this refusal with a msgid its zh_Hans catalogue does not have yet."""
    url = reverse("admin:auth_user_password_change", args=[manager_x.pk])
    response = client_county.post(url, {"password1": "Qz-7wk", "password2": "Qz-7wk"})
    assert response.status_code == 200
    assert "This password is too short" not in response.text, "translate it in locale/zh_Hans"
    assert "密码长度太短" in response.text


def test_a_villager_opening_the_back_office_is_named_by_name_not_by_login(villager_a):
    """Found by a sweep: Django's login page said "您当前以v-…登录" (the card login's
    internal username) to a villager who opened /admin/."""
    client = Client()
    client.force_login(villager_a)
    page = client.get(reverse("admin:login")).text
    assert villager_a.username not in page
    assert villager_a.household.head_name in page
