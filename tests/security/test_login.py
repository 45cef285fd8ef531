"""Sign-in hardening not covered in tests/villagers/test_login.py: lockouts survive a restart
(failures written by another process), logout and disabling end sessions server-side,
and staff passwords must be strong."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from axes.conf import settings as axes_settings
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY, password_validation
from django.contrib.auth.backends import ModelBackend
from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from core.models import Session
from tests.conftest import PASSWORD, PIN
from villagers.auth import CardPinBackend
from villagers.models import User

ROOT = Path(__file__).resolve().parents[2]
FAIL_IN_ANOTHER_PROCESS = """
import sys
import django
django.setup()
from django.test import Client
from django.urls import reverse
username, card_number, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
for attempt in range(times):
    address = f"10.9.0.{attempt}"
    Client().post(reverse("login"), {"username": username, "password": "wrong"},
                  REMOTE_ADDR=address)
    Client().post(reverse("card_login"), {"card_number": card_number, "pin": "0000"},
                  REMOTE_ADDR=address)
"""


def _database_url() -> str:
    """The test database as a URL, for a separate process."""
    params = connection.get_connection_params()
    user = quote(params.get("user") or "", safe="")
    password = quote(str(params.get("password") or ""), safe="")
    host = quote(params.get("host") or "", safe="")
    return f"postgresql://{user}:{password}@{host}:{params.get('port') or 5432}/{params['dbname']}"


def _is_lockout(response) -> bool:
    return response.status_code in (403, 429) and "Too many failed" in response.text


@pytest.mark.django_db(transaction=True)
def test_lockout_written_by_another_process_holds_here(manager_x, card_a, card_b):
    """Failures counted by a separate process (a restart, another gunicorn worker) lock here."""
    assert axes_settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "aidao.test_settings",
        "DATABASE_URL": _database_url(),
        "ALLOWED_HOSTS": "testserver",
    }
    limit = settings.AXES_FAILURE_LIMIT
    subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", FAIL_IN_ANOTHER_PROCESS, "manager_x", card_a.number, str(limit)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    for cache in caches.all():
        cache.clear()
    written = AccessAttempt.objects.filter(username="manager_x")
    assert sum(written.values_list("failures_since_start", flat=True)) == limit
    # The right password from yet another address, in this process: still locked.
    staff = Client().post(
        reverse("login"), {"username": "manager_x", "password": PASSWORD}, REMOTE_ADDR="10.8.8.8"
    )
    assert _is_lockout(staff)
    card = Client().post(
        reverse("card_login"), {"card_number": card_a.number, "pin": PIN}, REMOTE_ADDR="10.8.8.9"
    )
    assert _is_lockout(card)
    assert SESSION_KEY not in card.client.session
    # Others are not affected.
    other = Client().post(reverse("card_login"), {"card_number": card_b.number, "pin": PIN})
    assert other.status_code == 302


@pytest.mark.parametrize("kind", ["staff", "card"])
def test_logout_ends_the_session_on_the_server(kind, manager_x, card_a):
    client = Client()
    if kind == "staff":
        client.post(reverse("login"), {"username": "manager_x", "password": PASSWORD})
        page, way_in = reverse("reports:household_list"), reverse("login")
    else:
        client.post(reverse("card_login"), {"card_number": card_a.number, "pin": PIN})
        page, way_in = reverse("points:me"), reverse("card_login")
    session_key = client.session.session_key
    assert client.get(page).status_code == 200
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=session_key).exists()
    # Someone who copied the old cookie gets nothing.
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = session_key
    response = thief.get(page)
    assert response.status_code == 302 and response.url.startswith(way_in)


def test_disabling_a_staff_user_ends_their_sessions(client_manager_x, manager_x):
    page = reverse("reports:household_list")
    assert client_manager_x.get(page).status_code == 200
    User.objects.filter(pk=manager_x.pk).update(is_active=False)
    # Django's ModelBackend (the backend staff sessions name) refuses an inactive user...
    assert ModelBackend().get_user(manager_x.pk) is None
    assert CardPinBackend().get_user(manager_x.pk) is None
    assert client_manager_x.session["_auth_user_backend"] in settings.AUTHENTICATION_BACKENDS
    # ... so the still-open session is anonymous on its next request.
    response = client_manager_x.get(page)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    # And the login page will not let them back in.
    again = Client().post(reverse("login"), {"username": "manager_x", "password": PASSWORD})
    assert SESSION_KEY not in again.client.session


def test_county_admin_disables_staff_through_the_back_office(county_admin, manager_x):
    """The way a county admin really does it: the user page's "active" box in the admin."""
    client = Client()
    client.force_login(county_admin)
    victim = Client()
    victim.force_login(manager_x)
    url = reverse("admin:villagers_user_change", args=[manager_x.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("password", "groups", "is_active")
    }
    data["groups"] = [group.pk for group in manager_x.groups.all()]
    data.update(
        {
            "date_joined_0": manager_x.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": manager_x.date_joined.strftime("%H:%M:%S"),
            "village": manager_x.village_id,
        }
    )
    data.pop("date_joined", None)
    data.pop("last_login", None)
    response = client.post(url, data)
    assert response.status_code == 302, (response.status_code, response.content[:3000])
    manager_x.refresh_from_db()
    assert not manager_x.is_active
    response = victim.get(reverse("reports:household_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    "password",
    ["short1!", "12345678901", "password123", "manager_x2024", "qwertyuiop"],
)
def test_weak_staff_passwords_are_refused(password, manager_x):
    with pytest.raises(ValidationError):
        password_validation.validate_password(password, user=manager_x)


def test_admin_password_forms_refuse_weak_and_accept_strong(county_admin, manager_x):
    client = Client()
    client.force_login(county_admin)
    url = reverse("admin:auth_user_password_change", args=[manager_x.pk])
    weak = client.post(url, {"password1": "12345678", "password2": "12345678"})
    assert weak.status_code == 200
    assert weak.context["form"].errors
    manager_x.refresh_from_db()
    assert manager_x.check_password(PASSWORD)
    strong = "Yellow-River-Terraces-87"
    response = client.post(url, {"password1": strong, "password2": strong})
    assert response.status_code == 302
    manager_x.refresh_from_db()
    assert manager_x.check_password(strong)


def test_staff_own_password_change_refuses_weak(client_manager_x, manager_x):
    response = client_manager_x.post(
        reverse("admin:password_change"),
        {"old_password": PASSWORD, "new_password1": "aaaaaaaaaa", "new_password2": "aaaaaaaaaa"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["new_password2"]
    manager_x.refresh_from_db()
    assert manager_x.check_password(PASSWORD)


def test_county_admin_cannot_place_staff_in_another_county(county_admin, manager_x):
    """Otherwise a county admin could make a manager of a village they do not oversee."""
    from tests.factories import CountyFactory, TownshipFactory, VillageFactory

    elsewhere = VillageFactory(
        township=TownshipFactory(county=CountyFactory(name="延長縣"), name="某鄉"), code="303"
    )
    client = Client()
    client.force_login(county_admin)
    url = reverse("admin:villagers_user_change", args=[manager_x.pk])
    form = client.get(url).context["adminform"].form
    assert elsewhere not in form.fields["village"].queryset
    assert list(form.fields["county"].queryset) == [county_admin.county]
    assert manager_x.village in form.fields["village"].queryset


FAILED_SIGN_INS = [
    ("login", {"username": "manager_x", "password": "wrong"}),
    ("admin:login", {"username": "manager_x", "password": "wrong"}),
    ("card_login", {"card_number": "X0000001", "pin": "0000"}),
]


@pytest.mark.parametrize(
    ("url_name", "body"), FAILED_SIGN_INS, ids=[row[0] for row in FAILED_SIGN_INS]
)
@pytest.mark.parametrize("header", ["User-Agent", "Accept", "X-Forwarded-For", "Referer"])
def test_a_nul_in_a_header_of_a_failed_sign_in_is_the_apps_400_page(
    url_name, body, header, manager_x
):
    """django-axes writes a failed sign-in's User-Agent to PostgreSQL, which refuses a NUL
    in text: that was a 500. Any header holding one is refused first, as a field is."""
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    response = client.post(reverse(url_name), body, headers={header: "probe\x00x"})
    assert response.status_code == 400
    assert "无法读取此请求" in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert client.post(reverse(url_name), body).status_code == 200  # still a form error
    assert AccessAttempt.objects.count() == 1
