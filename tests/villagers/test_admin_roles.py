"""The user admin names the role groups in the reader's language, as the audit log does: the
list's filter, the add and change pages' role picker and their errors (the groups keep their
English names in the database)."""

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from core.access import ROLE_NAMES, Role

CHINESE = {
    Role.MANAGER: "村管理员",
    Role.SUPERVISOR: "监督员",
    Role.PARTY_SECRETARY: "村党支部书记",
    Role.TOWNSHIP_OFFICER: "乡镇干部",
}


@pytest.fixture(autouse=True)
def english(settings):
    """These pages are read in the site's own language (tests/villagers/conftest.py reads
    English): the role names are translated already."""
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        yield


def _english_role_shown(page: str) -> list[str]:
    return [name for name in Role.ALL if re.search(rf">\s*{re.escape(name)}\s*<", page)]


def test_the_user_lists_role_filter_names_the_roles_in_chinese(client_county, manager_x):
    url = reverse("admin:villagers_user_changelist")
    page = client_county.get(url).text
    assert all(name in page for name in CHINESE.values())
    assert not _english_role_shown(page)

    manager = Group.objects.get(name=Role.MANAGER)
    listed = client_county.get(url, {"groups__id__exact": manager.pk}).context["cl"].result_list
    assert list(listed) == [manager_x]
    for odd in ("x", "²", "١", "-1"):  # "²" is a digit to str.isdigit: it was a 500
        assert client_county.get(url, {"groups__id__exact": odd}).status_code in (200, 302, 400)


def test_the_role_picker_names_the_roles_in_chinese(client_county, manager_x):
    for url in (
        reverse("admin:villagers_user_add"),
        reverse("admin:villagers_user_change", args=[manager_x.pk]),
    ):
        page = client_county.get(url).text
        assert all(name in page for name in CHINESE.values()), url
        assert not _english_role_shown(page), url


def test_a_role_without_its_place_is_named_in_chinese(client_county):
    manager = Group.objects.get(name=Role.MANAGER)
    response = client_county.post(
        reverse("admin:villagers_user_add"),
        {
            "username": "new_manager",
            "password1": "Yellow-River-Terraces-87",
            "password2": "Yellow-River-Terraces-87",
            "usable_password": "true",
            "groups": [manager.pk],
        },
    )
    assert response.status_code == 200
    assert "角色“村管理员”需要填写所在的" in response.text


def test_every_role_has_its_name():
    assert set(ROLE_NAMES) == set(Role.ALL)


def test_ones_own_page_shows_ones_roles_in_chinese(client_county, county_admin):
    """Read-only on one's own page, the roles were Django's plain list of the groups'
    English names ("County admin")."""
    url = reverse("admin:villagers_user_change", args=[county_admin.pk])
    page = client_county.get(url)
    assert page.status_code == 200
    assert "groups" not in page.context["adminform"].form.fields
    assert str(ROLE_NAMES[Role.COUNTY_ADMIN]) in page.text
    assert not _english_role_shown(page.text)
