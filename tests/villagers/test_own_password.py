"""A staff member changes their own password only by typing the current one.

The admin's user-password page (`<id>/password/`) sets a password without the old one: for
a county admin (or a superuser) on their own account, anyone at an unlocked counter PC
could take the account over. Their own password is changed on the admin's "Change
password" page, which asks for the current password, as every staff member's is; setting
another person's password stays the county admin's (and is audited: test_admin_scoping).
"""

import pytest
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent
from tests.conftest import PASSWORD
from villagers.models import User

STRONG = "Yellow-River-Terraces-87"
# The tests take their user by name (request.getfixturevalue): the database is asked for here.
pytestmark = pytest.mark.django_db

STAFF = ["manager_x", "supervisor_x", "county_admin", "township_officer", "secretary_x"]


@pytest.fixture
def superuser(village_x):
    return User.objects.create_superuser(
        "root", password=PASSWORD, county=village_x.township.county
    )


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("who", ["county_admin", "superuser"])
def test_the_user_password_page_sets_no_password_of_ones_own(request, who):
    user = request.getfixturevalue(who)
    client = _signed_in(user)
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = client.post(url, {"password1": STRONG, "password2": STRONG})
    user.refresh_from_db()
    assert user.check_password(PASSWORD) and not user.check_password(STRONG)
    assert not AuditEvent.objects.filter(action="staff.password").exists()
    own_page = reverse("admin:password_change")  # the current password asked
    assert response.status_code == 302 and response.url == own_page
    assert client.get(url).url == own_page


@pytest.mark.parametrize("who", ["manager_x", "supervisor_x", "township_officer", "secretary_x"])
def test_staff_without_the_user_admin_are_refused_their_user_password_page(request, who):
    user = request.getfixturevalue(who)
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = _signed_in(user).post(url, {"password1": STRONG, "password2": STRONG})
    assert response.status_code == 403
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@pytest.mark.parametrize("who", [*STAFF, "superuser"])
def test_ones_own_password_needs_the_current_one(request, who):
    user = request.getfixturevalue(who)
    client = _signed_in(user)
    url = reverse("admin:password_change")
    for old in ("", "Wrong-Horse-42"):
        body = {"old_password": old, "new_password1": STRONG, "new_password2": STRONG}
        response = client.post(url, body)
        assert response.status_code == 200 and response.context["form"].errors["old_password"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert not AuditEvent.objects.filter(action="staff.password").exists()


@pytest.mark.parametrize("who", [*STAFF, "superuser"])
def test_ones_own_password_changed_is_in_the_audit_log(request, who):
    """As a password the county admin sets for someone else (`staff.password`)."""
    user = request.getfixturevalue(who)
    client = _signed_in(user)
    body = {"old_password": PASSWORD, "new_password1": STRONG, "new_password2": STRONG}
    response = client.post(reverse("admin:password_change"), body)
    assert response.url == reverse("admin:password_change_done")
    user.refresh_from_db()
    assert user.check_password(STRONG)
    [event] = AuditEvent.objects.filter(action="staff.password")
    assert event.actor == user and event.object_id == str(user.pk)
    assert event.village_id == user.village_id and event.detail == {"password": True}
    assert client.get(reverse("admin:index")).status_code == 200  # still signed in


def test_a_villager_has_no_password_page(client_villager_a, villager_a):
    response = client_villager_a.get(reverse("admin:password_change"))
    assert response.status_code == 302 and reverse("admin:login") in response.url
