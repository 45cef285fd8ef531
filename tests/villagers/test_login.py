"""Sign-in: staff password and villager card + PIN, lockout (django-axes), session rotation."""

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD, PIN

LIMIT = settings.AXES_FAILURE_LIMIT


def _staff(client, username, password, **headers):
    return client.post(
        reverse("login"), {"username": username, "password": password}, headers=headers
    )


def _card(client, number, pin, **headers):
    return client.post(reverse("card_login"), {"card_number": number, "pin": pin}, headers=headers)


def _is_lockout(response):
    return response.status_code in (403, 429) and "Too many failed" in response.text


def test_limit_is_five():
    assert LIMIT == 5


def test_staff_lockout_after_five_failures(manager_x):
    client = Client()
    for _ in range(LIMIT - 1):
        response = _staff(client, "manager_x", "wrong-password")
        assert response.status_code == 200 and not _is_lockout(response)
    assert _is_lockout(_staff(client, "manager_x", "wrong-password"))
    locked = _staff(Client(), "manager_x", PASSWORD)  # the right password, fresh browser
    assert _is_lockout(locked)
    assert SESSION_KEY not in locked.client.session
    assert AccessAttempt.objects.filter(username="manager_x").exists()  # kept in the DB


def test_forged_forwarded_for_does_not_bypass_lockout(manager_x):
    for index in range(LIMIT):
        _staff(Client(), "manager_x", "wrong", X_FORWARDED_FOR=f"10.0.0.{index}")
    response = _staff(Client(), "manager_x", PASSWORD, X_FORWARDED_FOR="192.168.9.9")
    assert _is_lockout(response)


def test_card_lockout_after_five_failures(card_a, card_b):
    for _ in range(LIMIT - 1):
        response = _card(Client(), card_a.number, "0000")
        assert response.status_code == 200 and "not correct" in response.text
    assert _is_lockout(_card(Client(), card_a.number, "0000"))
    assert _is_lockout(_card(Client(), card_a.number, PIN))
    assert _is_lockout(_card(Client(), card_a.number, PIN, X_FORWARDED_FOR="1.2.3.4"))
    # A scanner's prefix or spaces do not make it another card.
    assert _is_lockout(_card(Client(), f"  {card_a.number} ", PIN))
    # Other households sign in as usual.
    assert _card(Client(), card_b.number, PIN).status_code == 302


@pytest.mark.parametrize("kind", ["staff", "card"])
def test_successful_login_resets_the_count(kind, manager_x, card_a):
    def attempt(right):
        if kind == "staff":
            return _staff(Client(), "manager_x", PASSWORD if right else "wrong")
        return _card(Client(), card_a.number, PIN if right else "0000")

    for _round in range(2):
        for _ in range(LIMIT - 1):
            attempt(right=False)
        assert attempt(right=True).status_code == 302


@pytest.mark.parametrize("kind", ["staff", "card"])
def test_session_key_changes_at_login(kind, manager_x, card_a):
    client = Client()
    session = client.session
    session["before_login"] = True
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    before = session.session_key
    if kind == "staff":
        response = _staff(client, "manager_x", PASSWORD)
    else:
        response = _card(client, card_a.number, PIN)
    assert response.status_code == 302
    assert client.session.session_key != before
    assert client.session[SESSION_KEY]


def test_villager_cannot_use_staff_login(villager_a):
    response = _staff(Client(), villager_a.username, PIN)
    assert response.status_code == 200
    assert SESSION_KEY not in response.client.session


def test_logout_only_by_post(client_manager_x):
    assert client_manager_x.get(reverse("logout")).status_code == 405
    assert client_manager_x.get(reverse("villagers:household_list")).status_code == 200
    assert client_manager_x.post(reverse("logout")).url == reverse("login")
    response = client_manager_x.get(reverse("villagers:household_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
