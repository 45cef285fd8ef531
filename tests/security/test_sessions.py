"""Sessions carry their user's id, so ending a user's sessions is one indexed DELETE.

It used to read and decode every session of the county (at a card's replacement or recall
and at a PIN reset); and the session read overrode a private method of Django's engine. It
now overrides the engine's public `load`, to read with one prepared statement (every
signed-in request reads its session).
"""

import datetime
import importlib
import importlib.util

import pytest
from django.conf import settings
from django.contrib.sessions.backends import db
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import Session
from core.sessions import SessionStore
from tests.conftest import PASSWORD, PIN
from villagers.services import card_recall, pin_reset


def _card_client(card):
    client = Client()
    assert (
        client.post(reverse("card_login"), {"card_number": card.number, "pin": PIN}).status_code
        == 302
    )
    return client


def test_the_engine_is_djangos_with_a_user_column():
    assert settings.SESSION_ENGINE == "core.sessions"
    assert issubclass(SessionStore, db.SessionStore)
    assert "_get_session_from_db" not in vars(SessionStore)  # no private API overridden
    assert "load" in vars(SessionStore)  # SessionBase's documented method
    assert importlib.util.find_spec("aidao.sessions") is None


def test_a_session_knows_its_user(card_a, villager_a, manager_x):
    villager = _card_client(card_a)
    staff = Client()
    staff.post(reverse("login"), {"username": "manager_x", "password": PASSWORD})
    assert Session.objects.get(session_key=villager.session.session_key).user_id == villager_a.pk
    assert Session.objects.get(session_key=staff.session.session_key).user_id == manager_x.pk
    anonymous = Client()
    anonymous.get(reverse("card_login"))
    session = anonymous.session
    session["anything"] = 1
    session.save()
    assert Session.objects.get(session_key=session.session_key).user_id is None


def test_pin_reset_ends_only_that_users_sessions_in_one_delete(
    card_a, card_b, villager_a, manager_x
):
    phone, tablet, neighbour = _card_client(card_a), _card_client(card_a), _card_client(card_b)
    with CaptureQueriesContext(connection) as captured:
        pin_reset(household=card_a.household, actor=manager_x, pin="1739")
    session_queries = [q["sql"] for q in captured.captured_queries if "core_session" in q["sql"]]
    assert len(session_queries) == 1
    assert session_queries[0].startswith("DELETE") and "user_id" in session_queries[0]
    assert not Session.objects.filter(user_id=villager_a.pk).exists()
    for client in (phone, tablet):
        response = client.get(reverse("points:me"))
        assert response.status_code == 302 and response.url.startswith(reverse("card_login"))
    assert neighbour.get(reverse("points:me")).status_code == 200


def test_recall_ends_the_households_sessions(card_a, card_b, villager_a, manager_x):
    villager, neighbour = _card_client(card_a), _card_client(card_b)
    card_recall(household=card_a.household, actor=manager_x, reason="搬走了")
    assert villager.get(reverse("points:me")).status_code == 302
    assert neighbour.get(reverse("points:me")).status_code == 200


def test_the_old_session_tables_rows_are_deleted(db):
    """Nobody reads django_session any more; what it held (a roster's ID numbers) goes."""
    from django.apps import apps
    from django.contrib.sessions.models import Session as OldSession
    from django.utils import timezone

    migration = importlib.import_module("core.migrations.0002_old_sessions_dropped")
    OldSession.objects.create(session_key="x" * 32, session_data="old", expire_date=timezone.now())
    migration.old_sessions_delete(apps, None)
    assert not OldSession.objects.exists()


def test_a_session_reads_back_what_was_saved_until_it_expires(card_a, villager_a):
    villager = _card_client(card_a)
    key = villager.session.session_key
    store = SessionStore(key)
    assert int(store.load()["_auth_user_id"]) == villager_a.pk
    assert store.session_key == key
    assert villager.get(reverse("points:me")).status_code == 200
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    expired = SessionStore(key)
    assert expired.load() == {} and expired.session_key is None  # saving makes a new one
    response = villager.get(reverse("points:me"))
    assert response.status_code == 302 and response.url.startswith(reverse("card_login"))


@pytest.mark.parametrize(
    "cookie",
    ["k" * 41, "ABCDEFGHIJKLMNOP", "abcdefgh'; --", "abcdefgh\x00ijkl", "abcdéfghijkl"],
    ids=["too-long", "upper-case", "quote", "nul", "non-ascii"],
)
def test_a_cookie_no_store_could_have_made_is_no_session(card_a, cookie):
    """Not an error page: the NUL byte once reached PostgreSQL, which refuses it in text."""
    villager = _card_client(card_a)
    assert SessionStore(cookie).load() == {}
    villager.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = villager.get(reverse("points:me"))
    assert response.status_code == 302 and response.url.startswith(reverse("card_login"))
