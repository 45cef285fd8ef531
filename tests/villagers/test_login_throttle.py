"""Failed card logins across many cards from one address: slowed down, never locked out.

One wrong PIN on each of many cards locks no card; an address with many such failures may
try only once every few seconds (429 with Retry-After), and the village's dashboard warns.
Villagers share carrier NAT addresses, so nobody is ever locked out by address.
"""

import datetime
import threading

import pytest
from axes.models import AccessFailureLog
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.db.models import F
from django.test import Client
from django.urls import reverse

from tests.conftest import PIN, form_key
from tests.villagers.test_member_pins import SON_PIN, son, son_login  # noqa: F401 (fixtures)
from villagers.cardnumbers import card_number_make

ATTACKER = "10.20.30.40"
NEIGHBOUR = "10.20.30.41"


def _card(number, pin, address=ATTACKER):
    return Client().post(
        reverse("card_login"), {"card_number": number, "pin": pin}, REMOTE_ADDR=address
    )


def _spray(village_code, count, address=ATTACKER, first_serial=500):
    """One wrong PIN on each of `count` card numbers of the village (no such cards)."""
    for serial in range(first_serial, first_serial + count):
        response = _card(card_number_make(village_code, serial), "0000", address)
        assert response.status_code == 200


def _move_clock(seconds):
    """As if the logged failures had happened `seconds` earlier."""
    AccessFailureLog.objects.update(
        attempt_time=F("attempt_time") - datetime.timedelta(seconds=seconds)
    )


def test_one_address_spraying_cards_is_slowed_not_locked(card_a, card_b, village_x):
    limit, delay = settings.CARD_LOGIN_ADDRESS_LIMIT, settings.CARD_LOGIN_ADDRESS_DELAY
    _spray(village_x.code, limit)
    failures = AccessFailureLog.objects.count()

    # Over the limit: even the right PIN waits, and the wait is not a failure.
    slowed = _card(card_a.number, PIN)
    assert slowed.status_code == 429
    assert 0 < int(slowed["Retry-After"]) <= delay
    assert "Too many failed sign-ins from this network" in slowed.text
    assert SESSION_KEY not in slowed.client.session
    assert AccessFailureLog.objects.count() == failures

    # Another address of the same carrier is not affected at all.
    assert _card(card_b.number, PIN, NEIGHBOUR).status_code == 302

    # A few seconds later this address may try once more...
    _move_clock(delay)
    wrong = _card(card_a.number, "0000")
    assert wrong.status_code == 200 and "not correct" in wrong.text
    # ...and then waits again, whatever it sends.
    assert _card(card_a.number, PIN).status_code == 429
    _move_clock(delay)
    assert _card(card_a.number, PIN).status_code == 302  # never locked out

    # Once the window has passed, the address is like any other.
    _move_clock(settings.CARD_LOGIN_ADDRESS_WINDOW.total_seconds())
    assert _card(card_a.number, "0000").status_code == 200
    assert _card(card_a.number, "0000").status_code == 200


def test_under_the_limit_nothing_changes(card_a, village_x):
    _spray(village_x.code, settings.CARD_LOGIN_ADDRESS_LIMIT - 1)
    assert _card(card_a.number, PIN).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_simultaneous_attempts_from_a_slowed_address_are_one_at_a_time(card_a, village_x):
    """While one attempt of the address is being checked (its lock held), others wait."""
    _spray(village_x.code, settings.CARD_LOGIN_ADDRESS_LIMIT)
    _move_clock(settings.CARD_LOGIN_ADDRESS_DELAY)
    held, release = threading.Event(), threading.Event()

    from villagers.throttle import address_lock_key

    def hold_the_lock():
        from django.db import connection as own

        with own.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [address_lock_key(ATTACKER)])
            held.set()
            release.wait(10)
            cursor.execute("SELECT pg_advisory_unlock(%s)", [address_lock_key(ATTACKER)])
        own.close()

    thread = threading.Thread(target=hold_the_lock)
    thread.start()
    try:
        assert held.wait(10)
        assert _card(card_a.number, PIN).status_code == 429
    finally:
        release.set()
        thread.join()
    assert _card(card_a.number, PIN).status_code == 302
    assert connection.is_usable()


def test_the_villages_dashboard_warns_of_the_address(
    client_manager_x, client_supervisor_x, client_manager_y, village_x, village_y
):
    warning = settings.CARD_LOGIN_WARNING_FAILURES
    url = reverse("reports:dashboard")
    _spray(village_x.code, warning - 1)
    assert client_manager_x.get(url).context["login_attacks"] == []
    _spray(village_x.code, 1, first_serial=900)
    attacks = client_manager_x.get(url).context["login_attacks"]
    assert attacks == [{"address": ATTACKER, "failures": warning, "cards": warning}]
    page = client_supervisor_x.get(url).content.decode()
    assert "Many failed card logins from one address in the last hour" in page
    assert ATTACKER in page
    # Village Y's manager sees nothing of attempts on village X's cards...
    assert client_manager_y.get(url).context["login_attacks"] == []
    # ...and failures on Y's cards count for Y only.
    _spray(village_y.code, warning, address=NEIGHBOUR)
    assert [a["address"] for a in client_manager_x.get(url).context["login_attacks"]] == [ATTACKER]
    assert [a["address"] for a in client_manager_y.get(url).context["login_attacks"]] == [NEIGHBOUR]
    # An hour later the warning is gone.
    _move_clock(3601)
    assert client_manager_x.get(url).context["login_attacks"] == []


def test_the_warning_counts_a_card_once_with_the_failures_of_a_phone_it_signed_in_on(
    card_a, village_x, client_manager_x
):
    """A phone the card signed in on counts its failures apart ("card:<number>/device",
    villagers.devices): the warning still counts the card once."""
    phone = Client(REMOTE_ADDR=ATTACKER)
    signed_in = phone.post(reverse("card_login"), {"card_number": card_a.number, "pin": PIN})
    assert signed_in.status_code == 302
    phone.post(reverse("logout"))
    warning = settings.CARD_LOGIN_WARNING_FAILURES
    for _ in range(2):
        phone.post(reverse("card_login"), {"card_number": card_a.number, "pin": "0000"})
        _card(card_a.number, "0000")
    _spray(village_x.code, warning - 4)
    attacks = client_manager_x.get(reverse("reports:dashboard")).context["login_attacks"]
    assert attacks == [{"address": ATTACKER, "failures": warning, "cards": warning - 3}]


def test_an_ipv6_caller_is_counted_by_its_64_for_the_slow_down_and_the_warning(
    card_a, village_x, client_manager_x
):
    """A phone or home is given a whole /64: each attempt from another address of it."""
    limit = settings.CARD_LOGIN_ADDRESS_LIMIT
    for index in range(limit):
        response = _card(
            card_number_make(village_x.code, 500 + index), "0000", f"2001:db8:2:2::{index + 1:x}"
        )
        assert response.status_code == 200
    assert _card(card_a.number, PIN, "2001:db8:2:2:ffff::9").status_code == 429
    assert _card(card_a.number, PIN, "2001:db8:2:3::1").status_code == 302  # the next /64
    attacks = client_manager_x.get(reverse("reports:dashboard")).context["login_attacks"]
    assert [(a["address"], a["failures"]) for a in attacks] == [("2001:db8:2:2::/64", limit)]


def test_ipv4_callers_seen_by_a_dual_stack_listener_are_each_their_own_address(
    card_a, card_b, village_x, client_manager_x
):
    """::ffff:a.b.c.d is one IPv4 caller: its /64 would be every IPv4 caller at once."""
    _spray(village_x.code, settings.CARD_LOGIN_ADDRESS_LIMIT, address="::ffff:10.20.30.40")
    assert _card(card_a.number, PIN, "::ffff:10.20.30.40").status_code == 429
    assert _card(card_b.number, PIN, "::ffff:10.20.30.41").status_code == 302
    attacks = client_manager_x.get(reverse("reports:dashboard")).context["login_attacks"]
    assert [a["address"] for a in attacks] == ["::ffff:10.20.30.40"]


def test_a_card_login_costs_one_more_query_at_most(card_a, django_assert_max_num_queries):
    """The address check is one indexed query; the rest is the login as before."""
    with django_assert_max_num_queries(30) as captured:
        assert _card(card_a.number, PIN).status_code == 302
    reads = [q["sql"] for q in captured.captured_queries if "axes_accessfailurelog" in q["sql"]]
    assert len(reads) == 1


def _staff(username, password, address=ATTACKER, url="login"):
    return Client().post(
        reverse(url), {"username": username, "password": password}, REMOTE_ADDR=address
    )


@pytest.mark.parametrize("url", ["login", "admin:login"])
def test_one_address_trying_many_staff_usernames_is_slowed_not_locked(
    url, manager_x, supervisor_x, card_a
):
    """Found by a probe: django-axes locks a username after five wrong passwords, but one
    address could try four on each of many usernames. Staff sign-ins from one address are
    now slowed like card logins, counted apart from them, before the password is checked."""
    from tests.conftest import PASSWORD

    limit, delay = settings.STAFF_LOGIN_ADDRESS_LIMIT, settings.STAFF_LOGIN_ADDRESS_DELAY
    for number in range(limit):
        assert _staff(f"guess{number}", "Wrong-Horse-42", url=url).status_code == 200
    failures = AccessFailureLog.objects.count()

    slowed = _staff(supervisor_x.username, PASSWORD, url=url)
    assert slowed.status_code == 200 and "Too many failed sign-ins from this network" in slowed.text
    assert SESSION_KEY not in slowed.client.session
    assert AccessFailureLog.objects.count() == failures  # the wait is not a failure
    # Another address, and card logins from this one, are not affected.
    assert _staff(manager_x.username, PASSWORD, NEIGHBOUR, url=url).status_code == 302
    assert _card(card_a.number, PIN).status_code == 302
    # A few seconds later this address may try again: never locked out.
    _move_clock(delay)
    assert _staff(supervisor_x.username, PASSWORD, url=url).status_code == 302


def test_staff_failures_do_not_slow_the_card_login(card_a, village_x):
    for number in range(settings.CARD_LOGIN_ADDRESS_LIMIT):
        _staff(f"guess{number}", "Wrong-Horse-42")
    assert _card(card_a.number, PIN).status_code == 302


def test_pins_the_manager_set_refused_slow_no_card_login_and_warn_of_nobody(
    settings,
    card_a,
    card_b,
    manager_x,
    client_manager_x,
    son_login,  # noqa: F811 (fixture)
):
    """Found by a review: a PIN the manager sets refused as another login's counts against
    the card's staff count ("card:<number>/staff"), and was counted with the address's card
    logins too: a manager setting PINs at the office could slow the villagers' card logins
    from there and set off the dashboard's warning for the office's address. It counts for
    the card's staff count only."""
    settings.AXES_FAILURE_LIMIT = 100  # the card's staff count locks nothing here
    office = Client(REMOTE_ADDR=ATTACKER)
    office.force_login(manager_x)
    url = reverse("villagers:pin_reset", args=[card_a.household_id])
    refusals = max(settings.CARD_LOGIN_ADDRESS_LIMIT, settings.CARD_LOGIN_WARNING_FAILURES)
    for _refusal in range(refusals):
        body = {"pin": SON_PIN, "pin_again": SON_PIN, "idempotency_key": form_key()}
        refused = office.post(url, body)  # the son's PIN: refused, and counted
        assert "Another login of this card already uses this PIN" in refused.text
    assert AccessFailureLog.objects.filter(username__endswith="/staff").count() == refusals
    assert _card(card_b.number, PIN).status_code == 302  # not slowed
    attacks = client_manager_x.get(reverse("reports:dashboard")).context["login_attacks"]
    assert attacks == []
