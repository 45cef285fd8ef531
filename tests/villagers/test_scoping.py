"""Who may open every registry URL: the village's own staff only, and only managers change.

manager_y (another village) gets 404 for village X's objects; villagers get 403;
anonymous visitors are sent to sign in; supervisors and the county admin only look.
"""

import pytest
from django.urls import reverse

from core.access import village_pick_url

# (url name, which object of village X it takes, method, manager-only)
OBJECT_URLS = [
    ("reports:household", "household", "get", False),
    ("villagers:household_edit", "household", "get", True),
    ("villagers:household_edit", "household", "post", True),
    ("villagers:member_create", "household", "post", True),
    ("villagers:member_edit", "member", "get", True),
    ("villagers:member_edit", "member", "post", True),
    ("villagers:member_view_id", "member", "post", True),
    ("villagers:inspection_create", "household", "post", True),
    ("villagers:participation_create", "household", "post", True),
    ("villagers:card_replace", "household", "post", True),
    ("villagers:card_recall", "household", "post", True),
    ("villagers:pin_reset", "household", "post", True),
    ("villagers:card_print", "card", "get", False),
    ("points:card_issue", "household", "post", True),
]
PLAIN_URLS = [
    ("reports:household_list", "get", False),
    ("villagers:household_create", "get", True),
    ("villagers:household_create", "post", True),
    ("villagers:roster_upload", "get", True),
    ("villagers:roster_upload", "post", True),
    ("villagers:roster_preview", "get", True),
    ("villagers:roster_confirm", "post", True),
    ("villagers:roster_cancel", "post", True),
    ("villagers:roster_template", "get", True),
]


@pytest.fixture
def x_objects(card_a, member_a):
    return {"household": card_a.household, "member": member_a, "card": card_a}


def _object_url(name, kind, objects):
    return reverse(name, kwargs={"pk": objects[kind].pk})


def _call(client, method, url):
    return getattr(client, method)(url, {"reason": "x", "pin": "3971", "pin_again": "3971"})


@pytest.mark.parametrize(("name", "kind", "method", "_write"), OBJECT_URLS)
def test_object_urls_refuse_outsiders(
    name, kind, method, _write, x_objects, client_anon, client_villager_a, client_manager_y
):
    url = _object_url(name, kind, x_objects)
    response = _call(client_anon, method, url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert _call(client_villager_a, method, url).status_code == 403
    assert _call(client_manager_y, method, url).status_code == 404


@pytest.mark.parametrize(("name", "kind", "method", "write"), OBJECT_URLS)
def test_object_urls_viewers_only_look(
    name, kind, method, write, x_objects, client_supervisor_x, client_county_x
):
    url = _object_url(name, kind, x_objects)
    expected = 403 if write else 200
    assert _call(client_supervisor_x, method, url).status_code == expected
    assert _call(client_county_x, method, url).status_code == expected


@pytest.mark.parametrize(("name", "method", "write"), PLAIN_URLS)
def test_plain_urls_by_role(
    name,
    method,
    write,
    client_anon,
    client_villager_a,
    client_supervisor_x,
    client_county_x,
    client_manager_x,
):
    url = reverse(name)
    response = _call(client_anon, method, url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert _call(client_villager_a, method, url).status_code == 403
    expected = 403 if write else 200
    assert _call(client_supervisor_x, method, url).status_code == expected
    assert _call(client_county_x, method, url).status_code == expected
    assert _call(client_manager_x, method, url).status_code in (200, 302)


def test_county_admin_must_pick_a_village_first(client_county, household_a):
    url = reverse("reports:household", kwargs={"pk": household_a.pk})
    response = client_county.get(url)
    assert response.status_code == 302 and response.url == village_pick_url(url)


def test_manager_y_sees_only_own_households(client_manager_y, household_a, household_y):
    response = client_manager_y.get(reverse("reports:household_list"))
    assert household_y.head_name in response.text
    assert household_a.head_name not in response.text


def test_pin_change_is_for_villagers_only(client_manager_x, client_anon):
    url = reverse("villagers:pin_change")
    assert client_manager_x.get(url).status_code == 403
    assert client_anon.get(url).status_code == 302
