"""Sign-in: staff password and villager card + PIN, lockout (django-axes), session rotation."""

import datetime
import importlib
import re
import threading
import time
from typing import ClassVar

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.hashers import MD5PasswordHasher
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import F
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD, PIN
from villagers import auth
from villagers.models import User
from villagers.views import locked_out

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


def test_a_staff_users_success_resets_their_count(manager_x):
    for _round in range(2):
        for _ in range(LIMIT - 1):
            _staff(Client(), "manager_x", "wrong")
        assert _staff(Client(), "manager_x", PASSWORD).status_code == 302


def test_a_cards_failures_lapse_with_the_cool_off_not_with_a_success(card_a):
    """A card holds several PINs: one that works must not let the others be tried on."""
    for _ in range(LIMIT - 1):
        _card(Client(), card_a.number, "0000")
    assert _card(Client(), card_a.number, PIN).status_code == 302
    assert _is_lockout(_card(Client(), card_a.number, "0000"))
    AccessAttempt.objects.update(attempt_time=timezone.now() - datetime.timedelta(minutes=16))
    assert _card(Client(), card_a.number, PIN).status_code == 302


def test_wrong_pins_typed_elsewhere_do_not_lock_the_owners_phone_out(card_a, card_b):
    """Card numbers are printed and run in order: five wrong PINs every quarter of an hour
    kept a household out for good, whatever it or the manager did. The phones the card
    signed in on count apart (villagers.devices)."""
    owner = Client()
    assert _card(owner, card_a.number, PIN).status_code == 302
    owner.post(reverse("logout"))
    for index in range(LIMIT):
        _card(Client(REMOTE_ADDR=f"10.0.0.{index}"), card_a.number, "0000")
    assert _is_lockout(_card(Client(), card_a.number, PIN))  # any other phone: locked
    assert _card(owner, card_a.number, PIN).status_code == 302
    owner.post(reverse("logout"))
    # Their own wrong PINs lock them, as before, and lock no other card.
    for _ in range(LIMIT):
        _card(owner, card_a.number, "0000")
    assert _is_lockout(_card(owner, card_a.number, PIN))
    assert _card(Client(), card_b.number, PIN).status_code == 302
    # The cookie is worth nothing for another card, and a forged one nothing at all.
    for _ in range(LIMIT):
        _card(Client(), card_b.number, "0000")
    assert _is_lockout(_card(owner, card_b.number, PIN))
    forged = Client()
    forged.cookies["card_device"] = f"{card_a.number}:forged"
    assert _is_lockout(_card(forged, card_a.number, PIN))


def test_signing_in_again_gives_no_fresh_tries_at_the_cards_other_pins(card_a):
    """Whoever knows one PIN of the card (the household's, or a member's) and signs in on
    phone after phone gets five tries a quarter of an hour on all of them together."""
    phones = [Client() for _ in range(3)]
    for phone in phones:
        assert _card(phone, card_a.number, PIN).status_code == 302
        phone.post(reverse("logout"))
    for _ in range(LIMIT):
        _card(phones[0], card_a.number, "0000")
    assert all(_is_lockout(_card(phone, card_a.number, PIN)) for phone in phones)


def test_a_card_number_added_to_a_staff_login_counts_nothing_against_the_card(
    manager_x, manager_y, card_a
):
    """The staff login's failures stay the staff user's; nor does a staff success, with
    a card's number in its POST, clear that card's failures."""
    for index in range(LIMIT):
        Client().post(
            reverse("login"),
            {"username": "manager_x", "password": "wrong", "card_number": f"10000000{index}"},
        )
    assert _is_lockout(_staff(Client(), "manager_x", PASSWORD))
    for _ in range(LIMIT - 1):
        _card(Client(), card_a.number, "0000")
    response = Client().post(
        reverse("login"),
        {"username": "manager_y", "password": PASSWORD, "card_number": card_a.number},
    )
    assert response.status_code == 302
    assert _is_lockout(_card(Client(), card_a.number, "0000"))


def test_a_staff_login_named_as_a_cards_count_locks_nothing_of_the_card(card_a):
    """A name typed at a staff login is no card's count: "card:<number>/device" locked the
    phones the card signed in on (the wrong PINs typed elsewhere the device count is there
    to keep out), "card:<number>/staff" the manager's PIN reset."""
    owner = Client()
    assert _card(owner, card_a.number, PIN).status_code == 302
    owner.post(reverse("logout"))
    for index in range(LIMIT):
        _staff(Client(REMOTE_ADDR=f"10.0.3.{index}"), f"card:{card_a.number}/device", "x")
    for suffix in ("", "/staff"):
        Client().post(reverse("admin:login"), {"username": f"card:{card_a.number}{suffix}"})
    assert not AccessAttempt.objects.filter(username__startswith="card:").exists()
    assert _card(owner, card_a.number, PIN).status_code == 302


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


class CountingHasher(MD5PasswordHasher):
    """The test suite's hasher, counting how often a password is checked or hashed."""

    calls: ClassVar[list[str]] = []

    def verify(self, password, encoded):
        self.calls.append("verify")
        return super().verify(password, encoded)

    def encode(self, password, salt):
        self.calls.append("encode")
        return super().encode(password, salt)


@pytest.fixture
def hasher_calls(settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.calls.clear()
    yield CountingHasher.calls
    CountingHasher.calls.clear()


def _answer(response) -> tuple:
    """What a login page tells: status, errors, and whether a session was opened."""
    form = response.context["form"]
    return (
        response.status_code,
        form.errors.as_data().__repr__(),
        SESSION_KEY in response.client.session,
    )


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_staff_logins_answer_a_villagers_right_and_wrong_pin_alike(url_name, villager_a):
    """Found by an outside attack: the right PIN got "This login is for staff", a wrong one
    "not correct" - a PIN oracle beside the card's lockout."""

    def attempt(username, password):
        return Client().post(reverse(url_name), {"username": username, "password": password})

    right = _answer(attempt(villager_a.username, PIN))
    wrong = _answer(attempt(villager_a.username, "0000"))
    nobody = _answer(attempt("v-0000000000000000", PIN))
    assert right == wrong == nobody
    assert right[0] == 200 and right[2] is False


@pytest.mark.parametrize("url_name", ["login", "admin:login"])
def test_staff_logins_never_check_a_villagers_pin(url_name, villager_a, manager_x, hasher_calls):
    """The hasher runs once as for an unknown name (same time taken), and never verifies."""
    Client().post(reverse(url_name), {"username": villager_a.username, "password": PIN})
    assert hasher_calls == ["encode"]
    hasher_calls.clear()
    Client().post(reverse(url_name), {"username": "nobody", "password": PIN})
    assert hasher_calls == ["encode"]
    hasher_calls.clear()
    Client().post(reverse(url_name), {"username": "manager_x", "password": "wrong"})
    assert hasher_calls.count("verify") == 1  # a staff password is checked


def test_a_locked_card_has_no_way_in_through_the_staff_login(card_a, villager_a):
    for _ in range(LIMIT):
        _card(Client(), card_a.number, "0000")
    assert _is_lockout(_card(Client(), card_a.number, PIN))
    right = _staff(Client(), villager_a.username, PIN)
    nobody = _staff(Client(), "v-0000000000000000", PIN)
    assert _answer(right) == _answer(nobody)
    assert right.status_code == 200 and SESSION_KEY not in right.client.session


def test_a_villagers_login_name_tells_nothing(card_a, villager_a):
    assert re.fullmatch(r"v-[0-9a-f]{16}", villager_a.username)
    assert str(card_a.household_id) not in villager_a.username
    assert card_a.number not in villager_a.username


def test_old_household_login_names_are_renamed(village_x, manager_x, card_a, villager_a):
    from django.apps import apps

    migration = importlib.import_module("villagers.migrations.0005_villager_usernames_random")
    User.objects.filter(pk=villager_a.pk).update(username=f"household-{card_a.household_id}")
    staff = User.objects.create(username="household-office", is_staff=True)
    migration.rename_villager_logins(apps, None)
    villager_a.refresh_from_db()
    assert re.fullmatch(r"v-[0-9a-f]{16}", villager_a.username)
    assert User.objects.get(pk=staff.pk).username == "household-office"
    assert _card(Client(), card_a.number, PIN).status_code == 302


def test_logout_only_by_post(client_manager_x):
    assert client_manager_x.get(reverse("logout")).status_code == 405
    assert client_manager_x.get(reverse("reports:household_list")).status_code == 200
    assert client_manager_x.post(reverse("logout")).url == reverse("login")
    response = client_manager_x.get(reverse("reports:household_list"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


class SlowHasher(MD5PasswordHasher):
    """Checks a password as slowly as production's hasher does, counting the checks."""

    calls: ClassVar[list[str]] = []

    def verify(self, password, encoded):
        self.calls.append(password)
        time.sleep(0.03)
        return super().verify(password, encoded)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", ["card", "staff"])
def test_tries_sent_at_once_are_checked_no_more_than_the_lockout_allows(
    door, card_a, manager_x, settings
):
    """Each try was checked against a count none of those sent with it had written yet:
    eight PINs of one card sent at the same moment were all checked, where five lock it."""
    settings.PASSWORD_HASHERS = [f"{__name__}.SlowHasher"]
    SlowHasher.calls.clear()
    tries = 8
    barrier = threading.Barrier(tries)

    def send(index):
        try:
            barrier.wait(timeout=10)
            phone = Client(REMOTE_ADDR=f"10.0.5.{index}")
            if door == "card":
                _card(phone, card_a.number, f"{1000 + 37 * index}")
            else:
                _staff(phone, "manager_x", f"wrong-{index}")
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(index,)) for index in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(SlowHasher.calls) <= LIMIT


def test_the_card_login_is_kept_by_no_cache_as_the_staff_login(client, card_a):
    """Found by a probe: a refused try at the card login shows the card number typed, and
    went out with no Cache-Control (the staff login is Django's, never cached)."""
    for response in (
        client.get(reverse("card_login"), {"card": card_a.number}),
        client.post(reverse("card_login"), {"card_number": card_a.number, "pin": "0000"}),
        client.get(reverse("home")),  # the front door is the card login
        client.get(reverse("login")),
    ):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", ["card", "staff", "pin change"])
def test_a_try_waits_for_the_one_before_it_only_so_long(door, card_a, manager_x, monkeypatch):
    """A burst of tries at one card held a server worker each until every try before it was
    checked: a try that waits past the bound is refused in words, unchecked and uncounted."""
    monkeypatch.setattr(auth, "TRY_WAIT_SECONDS", 1)
    phone = Client()
    if door == "pin change":
        assert _card(phone, card_a.number, PIN).status_code == 302
    credentials = (
        {"username": "manager_x"}
        if door == "staff"
        else {"card_number": card_a.number, "whole_card": door == "pin change"}
    )
    key = auth.login_count_lock_key(None, credentials)
    other = connections.create_connection(DEFAULT_DB_ALIAS)  # another worker's try
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        started = time.monotonic()
        if door == "card":
            response = _card(phone, card_a.number, PIN)
        elif door == "staff":
            response = _staff(phone, "manager_x", PASSWORD)
        else:
            response = phone.post(
                reverse("villagers:pin_change"),
                {"old_pin": PIN, "pin": "8264", "pin_again": "8264"},
            )
        waited = time.monotonic() - started
    finally:
        other.close()
    assert response.status_code == 200
    assert "being checked at this moment" in response.text
    assert 1 <= waited < 20  # bounded: without the bound it waits for the other try forever
    assert not AccessAttempt.objects.exists()  # nothing counted
    if door != "pin change":
        assert SESSION_KEY not in phone.session
    # The try before it done, the same sign-in goes through, and the lock's wait is as before.
    if door == "card":
        assert _card(phone, card_a.number, PIN).status_code == 302
    elif door == "staff":
        assert _staff(phone, "manager_x", PASSWORD).status_code == 302
    else:
        assert _card(Client(), card_a.number, PIN).status_code == 302  # the PIN unchanged
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] != "1s"


def _refusals(response) -> list[str]:
    return [str(error) for error in response.context["form"].non_field_errors()]


def test_the_last_tries_before_a_cards_lockout_are_said_alike_for_a_card_of_nobody(card_a):
    """Found on the phone: nothing warned before the try that locked the card for a quarter
    of an hour. The last two say how many are left; a number of no card is told the same,
    so the warning tells nothing of which cards exist."""
    nobody = "999000999"
    for number in (card_a.number, nobody):
        said = [_refusals(_card(Client(), number, "0000")) for _ in range(LIMIT - 1)]
        assert said[0] == said[1] == ["The card number or PIN is not correct."]
        assert said[2][1] == "2 tries left before this card is locked for 15 minutes."
        assert said[3][1] == "1 try left before this card is locked for 15 minutes."
        assert _is_lockout(_card(Client(), number, "0000"))


def test_the_lockout_page_says_until_when_and_leads_back_to_the_sign_in(card_a, manager_x):
    """Found on the phone: the lockout page had no button, only the header's title led
    anywhere. It says until when, and leads back to the sign-in page tried."""
    for _ in range(LIMIT):
        locked = _card(Client(), card_a.number, "0000")
    until = timezone.localtime(timezone.now() + datetime.timedelta(minutes=15))
    assert _is_lockout(locked)
    assert "Sign-in with this card is locked until " in locked.text
    # The minute shown is the first a try is taken in: the lock's end rounded up.
    assert until.strftime("%H:%M") in locked.text or (
        (until + datetime.timedelta(minutes=1)).strftime("%H:%M") in locked.text
    )
    assert f'href="{reverse("card_login")}"' in locked.text and "Back to sign in" in locked.text
    for _ in range(LIMIT):
        staff = _staff(Client(), "manager_x", "wrong")
    assert _is_lockout(staff) and "Sign-in with this name is locked until " in staff.text
    assert f'href="{reverse("login")}"' in staff.text


def test_the_lockout_page_keeps_the_next_page_and_reads_async_callers_credentials(rf, db):
    """Found by a second read: the way back dropped the sign-in's ?next=, and axes' async
    middleware calls the page with (request, credentials), which read as a name's lockout."""
    request = rf.post("/card/login/?next=/store/mine/")
    page = locked_out(request, {"card_number": "00000001", "pin": "0000"})
    assert "Sign-in with this card is locked until " in page.text
    assert 'href="/card/login/?next=/store/mine/"' in page.text


def _minute_said(moment) -> str:
    """The "until" a lockout page says for a lock lifting at `moment`: local time, rounded up
    to the minute (a try in the minute said is taken)."""
    whole = moment.replace(second=0, microsecond=0)
    up = whole if whole == moment else whole + datetime.timedelta(minutes=1)
    return f"{timezone.localtime(up):%H:%M}"


def _page_text(response) -> str:
    return " ".join(response.text.split())


def test_the_lockout_page_says_a_try_from_this_device_can_make_the_wait_longer(card_a, manager_x):
    """The page claimed each try before the time said starts the 15 minutes again, but axes
    restarts the cool-off of the phone that tried only (its own row): a try from another
    phone leaves the time said as it was, one from this phone moves it on. It says so, after
    the minute the lock lifts, for a card and for a staff name."""
    cool_off = datetime.timedelta(minutes=15)
    phone = Client(headers={"user-agent": "phone A"})
    for _ in range(LIMIT):
        locked = _card(phone, card_a.number, "0000")
    rows = AccessAttempt.objects.filter(username=f"card:{card_a.number}")
    said = _minute_said(rows.get().attempt_time + cool_off)
    assert _is_lockout(locked)
    assert (
        f"Sign-in with this card is locked until {said}. "
        "A try from this device before then can make the wait longer."
    ) in _page_text(locked)
    for old_claim in ("Each try before then", "starts the 15 minutes", "minutes again"):
        assert old_claim not in locked.text
    # Five minutes on: a try from another phone leaves the time said, this phone's moves it.
    rows.update(attempt_time=F("attempt_time") - datetime.timedelta(minutes=5))
    said = _minute_said(rows.get().attempt_time + cool_off)
    other = _card(Client(headers={"user-agent": "phone B"}), card_a.number, "0000")
    assert _is_lockout(other) and f"is locked until {said}." in other.text
    again = _card(phone, card_a.number, "0000")
    later = _minute_said(rows.get(user_agent="phone A").attempt_time + cool_off)
    assert later != said and f"is locked until {later}." in again.text
    for _ in range(LIMIT):
        staff = _staff(Client(), "manager_x", "wrong")
    said = _minute_said(AccessAttempt.objects.get(username="manager_x").attempt_time + cool_off)
    assert _is_lockout(staff)
    assert (
        f"Sign-in with this name is locked until {said}. "
        "A try from this device before then can make the wait longer."
    ) in _page_text(staff)
    assert "Each try before then" not in staff.text


def test_the_last_tries_before_a_staff_names_lockout_are_said(manager_x):
    said = [_staff(Client(), "manager_x", "wrong").text for _ in range(LIMIT - 1)]
    assert "tries left" not in said[1]
    assert "2 tries left before this name is locked for 15 minutes." in said[2]
    assert "1 try left before this name is locked for 15 minutes." in said[3]


def test_locked_until_is_when_axes_lifts_the_lock_with_tries_from_two_phones(card_a):
    """Found by the last session: "locked until" was the cool-off after the latest failed
    try, but axes keeps a row a phone and counts a row while its latest try is within the
    cool-off: four tries from one phone and one from another lock the card until the first
    phone's row ages out, and the second's alone (under the limit) no longer locks it. Each
    page says when the lock really lifts, and axes agrees."""
    own_phone = Client(headers={"user-agent": "own phone"})
    assert _card(own_phone, card_a.number, PIN).status_code == 302
    phone_a = Client(headers={"user-agent": "phone A"})
    phone_b = Client(headers={"user-agent": "phone B"})
    for _ in range(LIMIT - 1):
        _card(phone_a, card_a.number, "0000")
    assert _is_lockout(_card(phone_b, card_a.number, "0000"))
    start = timezone.now().replace(second=0, microsecond=0)
    rows = AccessAttempt.objects.filter(username=f"card:{card_a.number}")
    rows.filter(user_agent="phone A").update(attempt_time=start - datetime.timedelta(minutes=10))
    rows.filter(user_agent="phone B").update(attempt_time=start - datetime.timedelta(minutes=2))
    lifts = start + datetime.timedelta(minutes=5)  # phone A's row ages out; not start + 13
    said = f"{timezone.localtime(lifts):%H:%M}"
    assert auth.card_locked_until(card_a.number) == lifts
    assert f"is locked until {said}." in own_phone.get(reverse("villagers:pin_change")).text
    again = _card(phone_b, card_a.number, "0000")  # counted on phone B's row, from now
    assert _is_lockout(again) and f"Sign-in with this card is locked until {said}." in again.text

    def shift_to(lift_in: datetime.timedelta):
        """The clock moved on: the lock lifts `lift_in` from now."""
        moved = auth.card_locked_until(card_a.number) - timezone.now() - lift_in
        rows.update(attempt_time=F("attempt_time") - moved)

    shift_to(datetime.timedelta(seconds=30))
    assert _is_lockout(_card(Client(), card_a.number, PIN))  # still locked: counted too
    # Shown rounded up to the minute: a lock lifting at 10:15:40 said "until 10:15", and a
    # try at 10:15:20 was still refused.
    shown = auth.card_locked_until(card_a.number)
    assert shown.second == shown.microsecond == 0
    assert datetime.timedelta(0) <= shown - timezone.now() <= datetime.timedelta(seconds=90)
    shift_to(datetime.timedelta(seconds=-1))
    assert auth.card_locked_until(card_a.number) is None
    assert _card(phone_b, card_a.number, PIN).status_code == 302


def test_a_lock_that_lifted_while_it_was_counted_says_the_next_minute(card_a):
    """Found by a second read: when axes said "locked" and the count lapsed before the page
    read it (the PINs of the card's logins are checked in between), the page said a full
    15 minutes of a lock already gone. Counted from when axes counted, else the next minute."""
    credentials = {"card_number": card_a.number, "whole_card": True}
    assert auth.locked_until(None, credentials) is None
    until = auth.locked_until(None, credentials, locked=True)
    assert timezone.now() <= until <= timezone.now() + datetime.timedelta(seconds=60)


def test_a_sign_in_that_took_time_says_until_when_counted_from_when_axes_counted(card_a, rf):
    """The PINs of a card's logins are checked between axes' count (its attempt time, as the
    sign-in began) and the lockout page: the page says the cool-off after the tries axes
    counted, not a cool-off from the moment it is drawn."""
    for _ in range(LIMIT):
        _card(Client(), card_a.number, "0000")
    counted_at = timezone.now() - datetime.timedelta(seconds=70)
    AccessAttempt.objects.filter(username=f"card:{card_a.number}").update(attempt_time=counted_at)
    request = rf.post(reverse("card_login"))
    request.axes_attempt_time = counted_at
    page = locked_out(request, {"card_number": card_a.number, "pin": "0000"})
    said = _minute_said(counted_at + datetime.timedelta(minutes=15))
    assert f"Sign-in with this card is locked until {said}." in page.text
    drawn = _minute_said(timezone.now() + datetime.timedelta(minutes=15))
    assert drawn != said and drawn not in page.text


def test_a_lock_that_lifted_while_the_pins_were_checked_says_the_minute_it_lifted(card_a, rf):
    """Axes counted four tries from one phone and one from another (locked); the first phone's
    tries aged out while the PINs were checked. Counted from when axes counted, the page says
    the minute the lock lifted. Counted from when it is drawn, that phone's tries are not
    found: it says the minute after the drawing (or the minute before the right one, where
    only the lapsed lock's fallback used axes' time). The times sit across minutes' turns,
    so each of these says a minute of its own. (While the lock still holds as the page is
    drawn, both times find the same tries and say the same minute.)"""
    phone_a = Client(headers={"user-agent": "phone A"})
    for _ in range(LIMIT - 1):
        _card(phone_a, card_a.number, "0000")
    assert _is_lockout(_card(Client(headers={"user-agent": "phone B"}), card_a.number, "0000"))
    minute = timezone.now().replace(second=0, microsecond=0)
    counted_at = minute - datetime.timedelta(seconds=64)  # a minute before the page, and more
    lifted = counted_at + datetime.timedelta(seconds=5)  # said: `minute`
    rows = AccessAttempt.objects.filter(username=f"card:{card_a.number}")
    rows.filter(user_agent="phone A").update(attempt_time=lifted - datetime.timedelta(minutes=15))
    rows.filter(user_agent="phone B").update(attempt_time=counted_at)
    request = rf.post(reverse("card_login"))
    request.axes_attempt_time = counted_at
    page = locked_out(request, {"card_number": card_a.number, "pin": "0000"})
    assert _minute_said(lifted) == f"{timezone.localtime(minute):%H:%M}"
    assert f"Sign-in with this card is locked until {_minute_said(lifted)}." in page.text
