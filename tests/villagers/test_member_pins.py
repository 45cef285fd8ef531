"""Family members' own PINs on the household's card: set, sign in, lockout, reset, revoke."""

import datetime
import re
import threading
import time

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.access import Role
from core.models import AuditEvent
from points.services import declaration_submit
from reports.referrals import referral_decide
from tests.conftest import PIN, form_key, make_staff
from tests.factories import MemberFactory
from tests.points.test_concurrency import held_in, run_threads
from villagers import services
from villagers.models import Member, Referral, User
from villagers.second_person import SecondPersonRequired
from villagers.services import (
    card_recall,
    card_replace,
    member_pin_revoke,
    member_pin_set,
    member_save,
    pin_change,
    pin_reset,
)

SON_PIN = "1739"
LIMIT = settings.AXES_FAILURE_LIMIT


@pytest.fixture
def son(card_a):
    """An adult son of household A, working in the city."""
    return MemberFactory(
        household=card_a.household,
        name="王小明",
        relation=Member.Relation.CHILD,
        birth_year=1995,
        id_number="",
        phone="",
    )


@pytest.fixture
def son_login(son, manager_x):
    return member_pin_set(member=son, actor=manager_x, pin=SON_PIN)


def _card_login(number, pin):
    client = Client()
    response = client.post(reverse("card_login"), {"card_number": number, "pin": pin})
    return client, response


def _signed_in_user(client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def _set_pin_page(client, member, pin=SON_PIN):
    return client.post(
        reverse("villagers:member_pin", args=[member.pk]),
        {"pin": pin, "pin_again": pin, "idempotency_key": form_key()},
    )


def test_manager_gives_a_member_a_pin_and_the_slip_shows_it_once(client_manager_x, son, card_a):
    response = _set_pin_page(client_manager_x, son)
    assert response.status_code == 200
    assert SON_PIN in response.text and "王小明" in response.text and card_a.number in response.text
    assert "no-store" in response["Cache-Control"]
    login = User.objects.get(member=son)
    assert (login.household, login.is_staff, login.display_name) == (
        card_a.household,
        False,
        "王小明",
    )
    assert login.password != SON_PIN and login.check_password(SON_PIN)  # kept as a hash only
    event = AuditEvent.objects.get(action="member.pin_set")
    assert SON_PIN not in str(event.detail)
    # The household's own PIN is as it was.
    assert _card_login(card_a.number, PIN)[1].status_code == 302


def _said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_resent_form_sets_once_and_the_second_answer_is_its_slip(client_manager_x, son):
    """Noted by the team: sent twice (a double click; the browser shows the second answer),
    the page said "its slip was shown that one time", and the slip was never seen. The
    second answer is the slip, from the PIN the re-sent form carries, while that PIN still
    opens the member's login (as a PIN reset sent twice)."""
    url = reverse("villagers:member_pin", args=[son.pk])
    body = {"pin": SON_PIN, "pin_again": SON_PIN, "idempotency_key": form_key()}
    first = client_manager_x.post(url, body)
    again = client_manager_x.post(url, body)
    assert first.context["kind"] == again.context["kind"] == "member"
    assert again.context["pin"] == SON_PIN and again.context["member"] == son
    assert "no-store" in again["Cache-Control"]
    assert _said(again)[-1].startswith("This PIN was already set (the form was sent twice)")
    assert AuditEvent.objects.filter(action="member.pin_set").count() == 1
    # Set again since: the first form re-sent shows no slip of a PIN no longer in use.
    client_manager_x.post(url, {"pin": "8264", "pin_again": "8264", "idempotency_key": form_key()})
    late = client_manager_x.post(url, body)
    assert late.status_code == 302
    assert late.url == reverse("reports:household", args=[son.household_id])
    assert "has been changed again since" in _said(late)[-1]
    assert SON_PIN not in client_manager_x.get(late.url).text
    assert AuditEvent.objects.filter(action="member.pin_set").count() == 2


def test_member_signs_in_and_sees_the_households_balance(son_login, card_a):
    client, response = _card_login(card_a.number, SON_PIN)
    assert response.status_code == 302 and response.url == reverse("points:me")
    assert _signed_in_user(client) == son_login  # who is signed in: the member, by name
    page = client.get(reverse("points:me")).text
    assert "100" in page and "Signed in as 王小明" in page
    assert client.get(reverse("store:my_redemptions")).status_code == 200
    assert client.get(reverse("wishwall:mine")).status_code == 200
    # The household's own login is still the household's.
    head, _response = _card_login(card_a.number, PIN)
    assert _signed_in_user(head).member is None


def test_member_cannot_see_another_household(son_login, card_a, card_b, client_manager_x):
    client, _response = _card_login(card_a.number, SON_PIN)
    assert (
        client.get(reverse("points:household_ledger", args=[card_b.household_id])).status_code
        == 403
    )
    assert client.get(reverse("reports:household", args=[card_b.household_id])).status_code == 403
    # Nor does their PIN open another card.
    assert _card_login(card_b.number, SON_PIN)[1].status_code == 200


def test_wrong_pins_lock_the_card_whoevers_pin_is_tried(son_login, card_a, card_b):
    _client, response = _card_login(card_a.number, "0000")
    assert response.status_code == 200 and "not correct" in response.text
    # One wrong PIN is one failure of the card, though two PINs were checked.
    assert AccessAttempt.objects.get(username=f"card:{card_a.number}").failures_since_start == 1
    for _ in range(LIMIT - 1):
        _card_login(card_a.number, "0000")
    for pin in (SON_PIN, PIN):  # neither the member's nor the head's PIN opens it now
        client, response = _card_login(card_a.number, pin)
        assert response.status_code in (403, 429) and SESSION_KEY not in client.session
    assert _card_login(card_b.number, PIN)[1].status_code == 302


def test_a_members_success_does_not_let_the_heads_pin_be_tried_on(son_login, card_a):
    for _ in range(LIMIT - 1):
        _card_login(card_a.number, "0000")
    assert _card_login(card_a.number, SON_PIN)[1].status_code == 302
    client, response = _card_login(card_a.number, "0000")
    assert response.status_code in (403, 429) and SESSION_KEY not in client.session


def test_a_member_edited_into_a_child_while_given_a_pin_ends_with_one_of_them(
    transactional_db, son, manager_x, monkeypatch
):
    """The edit is held between its check and its write while the PIN is set: the PIN
    waits for it and reads the member as saved (a child had a PIN of their own)."""
    # The PIN is set while the edit is held, unless its check holds the lock.
    checked = held_in(monkeypatch, services, "record_save")

    def edit():
        child = Member.objects.get(pk=son.pk)
        child.birth_year = timezone.localdate().year - 10
        member_save(member=child, actor=manager_x)

    def give():
        assert checked.wait(10)
        member_pin_set(member=Member.objects.get(pk=son.pk), actor=manager_x, pin=SON_PIN)

    results = run_threads([edit, give])
    assert [result for result, _ in results] == ["ok", "refused"]
    assert not User.objects.filter(member=son).exists()


@pytest.mark.parametrize(
    ("relation", "birth_year", "why"),
    [
        (Member.Relation.HEAD, 1960, "signs in with the household"),
        (Member.Relation.GRANDCHILD, 2015, "adult"),
    ],
)
def test_the_head_and_children_get_no_pin_of_their_own(
    client_manager_x, manager_x, card_a, relation, birth_year, why
):
    member = MemberFactory(household=card_a.household, relation=relation, birth_year=birth_year)
    with pytest.raises(ValidationError, match=why):
        member_pin_set(member=member, actor=manager_x, pin=SON_PIN)
    page = client_manager_x.get(reverse("villagers:member_pin", args=[member.pk])).text
    assert why in page and 'name="pin"' not in page
    assert _set_pin_page(client_manager_x, member).status_code == 200
    assert not User.objects.filter(member=member).exists()


def test_a_pin_another_login_of_the_card_uses_is_refused(
    client_manager_x, manager_x, son_login, card_a
):
    daughter = MemberFactory(household=card_a.household, relation="child", birth_year=1998)
    for pin in (PIN, SON_PIN):
        response = _set_pin_page(client_manager_x, daughter, pin)
        assert response.status_code == 200 and "already uses this PIN" in response.text
    assert not User.objects.filter(member=daughter).exists()
    # Nor may the household's own PIN become a member's.
    with pytest.raises(ValidationError, match="already uses"):
        pin_reset(household=card_a.household, actor=manager_x, pin=SON_PIN)
    assert _card_login(card_a.number, PIN)[1].status_code == 302


def test_the_head_probing_the_members_pins_locks_the_card(son_login, card_a):
    """Each PIN change refused because a member uses that PIN (or because the current PIN
    is wrong) is a wrong PIN of the card: the head cannot try the members' PINs one refusal
    at a time, nor can whoever holds a signed-in phone try the household's."""
    client, _response = _card_login(card_a.number, PIN)
    url = reverse("villagers:pin_change")
    guesses = [{"old_pin": PIN, "pin": SON_PIN, "pin_again": SON_PIN}] * (LIMIT - 2)
    guesses += [{"old_pin": "0000", "pin": "8264", "pin_again": "8264"}] * 2
    for guess in guesses:
        client.post(url, guess)
    locked = client.post(url, {"old_pin": PIN, "pin": "8264", "pin_again": "8264"})
    assert "Too many wrong PINs" in locked.text
    assert _card_login(card_a.number, PIN)[1].status_code != 302  # the card is locked
    assert _card_login(card_a.number, SON_PIN)[1].status_code != 302
    assert not AuditEvent.objects.filter(action="card.pin_change").exists()
    # The refused PINs were counted, never kept: not one is in axes' rows in clear.
    stored = " ".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert "old_pin=" in stored and "pin=" in stored
    assert not {PIN, SON_PIN, "0000", "8264"} & set(re.findall(r"\d{4}", stored))


def test_members_do_not_change_their_own_pin(son_login, card_a):
    with pytest.raises(ValidationError, match="set by the village's manager"):
        pin_change(user=son_login, old_pin=SON_PIN, new_pin="9517")
    client, _response = _card_login(card_a.number, SON_PIN)
    page = client.get(reverse("villagers:pin_change")).text
    assert "set by the village's manager" in page and 'name="old_pin"' not in page


def test_a_new_pin_signs_the_member_out_and_the_old_one_stops(son, son_login, card_a, manager_x):
    client, _response = _card_login(card_a.number, SON_PIN)
    member_pin_set(member=son, actor=manager_x, pin="9517")
    assert client.get(reverse("points:me")).status_code == 302  # signed out
    assert _card_login(card_a.number, SON_PIN)[1].status_code == 200
    assert _card_login(card_a.number, "9517")[1].status_code == 302
    assert User.objects.filter(member=son).count() == 1
    assert AuditEvent.objects.filter(action="member.pin_set", detail__reset=True).exists()


def test_revoke_signs_the_member_out_and_the_pin_stops(
    client_manager_x, manager_x, son, son_login, card_a
):
    client, _response = _card_login(card_a.number, SON_PIN)
    response = client_manager_x.post(
        reverse("villagers:member_pin_revoke", args=[son.pk]), {"idempotency_key": form_key()}
    )
    assert response.status_code == 302
    assert client.get(reverse("points:me")).status_code == 302
    assert _card_login(card_a.number, SON_PIN)[1].status_code == 200
    son_login.refresh_from_db()
    assert not son_login.is_active and not son_login.has_usable_password()
    assert AuditEvent.objects.filter(action="member.pin_revoke").count() == 1
    assert _card_login(card_a.number, PIN)[1].status_code == 302
    with pytest.raises(ValidationError, match="no PIN of their own"):
        member_pin_revoke(member=son, actor=manager_x)


def test_hub_shows_who_has_a_pin_and_the_managers_button(
    client_manager_x, client_supervisor_x, son, son_login, card_a
):
    url = reverse("reports:household", args=[card_a.household_id])
    page = client_manager_x.get(url).text
    assert "own PIN on the card" in page
    assert reverse("villagers:member_pin", args=[son.pk]) in page
    supervisor_page = client_supervisor_x.get(url).text
    assert "own PIN on the card" in supervisor_page
    assert reverse("villagers:member_pin", args=[son.pk]) not in supervisor_page


def test_replaced_card_keeps_members_pins_unless_the_head_says_otherwise(
    son, son_login, card_a, manager_x
):
    new = card_replace(household=card_a.household, actor=manager_x, pin="8264", reason="丢失")
    assert _card_login(card_a.number, SON_PIN)[1].status_code == 200  # the old number is dead
    assert _card_login(new.number, SON_PIN)[1].status_code == 302
    newer = card_replace(
        household=card_a.household, actor=manager_x, pin="8643", reason="丢失", keep_members=False
    )
    assert _card_login(newer.number, SON_PIN)[1].status_code == 200
    assert _card_login(newer.number, "8643")[1].status_code == 302
    assert AuditEvent.objects.filter(action="card.replace", detail__members_kept=False).exists()


def test_replace_page_asks_about_members_only_when_one_has_a_pin(
    client_manager_x, manager_x, card_a, son
):
    url = reverse("villagers:card_replace", args=[card_a.household_id])
    assert 'name="keep_members"' not in client_manager_x.get(url).text
    member_pin_set(member=son, actor=manager_x, pin=SON_PIN)
    page = client_manager_x.get(url).text
    box = re.search(r'<input[^>]*name="keep_members"[^>]*>', page).group(0)
    assert "checked" in box  # the head's likely wish: the members keep their PINs
    response = client_manager_x.post(
        url,
        {
            "reason": "丢失",
            "pin": "8264",
            "pin_again": "8264",
            "replacing": card_a.number,
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 200  # the slip; the box unticked: members' PINs revoked
    assert not User.objects.get(member=son).is_active


def test_recalled_card_stops_members_too(son_login, card_a, manager_x):
    card_recall(household=card_a.household, actor=manager_x, reason="moved away")
    assert _card_login(card_a.number, SON_PIN)[1].status_code == 200
    son_login.refresh_from_db()
    assert not son_login.is_active


def test_own_households_member_pin_goes_to_the_county(son, card_a, manager_x, county_admin):
    User.objects.filter(pk=manager_x.pk).update(household=card_a.household)
    manager_x.refresh_from_db()
    client = Client()
    client.force_login(manager_x)
    response = _set_pin_page(client, son)
    assert response.status_code == 302 and SON_PIN not in client.get(response.url).text
    assert not User.objects.filter(member=son).exists()
    referral = Referral.objects.get(kind=Referral.Kind.MEMBER_PIN, object_id=son.pk)
    assert SON_PIN not in str(referral.request) and referral.request["pin_hash"]
    with pytest.raises(SecondPersonRequired):
        member_pin_revoke(member=son, actor=manager_x)
    county = Client()
    county.force_login(county_admin)
    queue = county.get(reverse("reports:county_queue")).text
    assert "王小明" in queue and "their own PIN, chosen by the manager" in queue

    referral_decide(referral_ids=[referral.pk], actor=county_admin, decision="do")
    assert _card_login(card_a.number, SON_PIN)[1].status_code == 302
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DONE and referral.request == {}

    client.post(
        reverse("villagers:member_pin_revoke", args=[son.pk]), {"idempotency_key": form_key()}
    )
    revoke = Referral.objects.get(kind=Referral.Kind.MEMBER_PIN, status=Referral.Status.OPEN)
    assert revoke.request == {"revoke": True}
    referral_decide(referral_ids=[revoke.pk], actor=county_admin, decision="do")
    assert _card_login(card_a.number, SON_PIN)[1].status_code == 200


def test_a_members_declaration_carries_their_name_for_the_head(son_login, card_a):
    declaration = declaration_submit(
        user=son_login, description="扶老人过马路", occurred_on=card_a.issued_at.date()
    )
    assert declaration.submitted_by == son_login and declaration.household == card_a.household
    head, _response = _card_login(card_a.number, PIN)
    page = head.get(reverse("points:me")).text
    assert "扶老人过马路" in page and "by 王小明" in page


def test_member_login_names_tell_nothing(son_login):
    assert son_login.username.startswith("v-") and "王" not in son_login.username


def test_a_member_with_a_pin_is_not_edited_into_one_who_may_not_have_it(
    client_manager_x, son, son_login, card_a, manager_x
):
    """Found by a probe: edited into a child (or the head), the member kept their own login
    and PIN, their session alive."""
    url = reverse("villagers:member_edit", kwargs={"pk": son.pk})
    data = {"name": son.name, "sex": "M", "birth_year": "2020", "relation": "grandchild"}
    response = client_manager_x.post(url, data)
    assert response.status_code == 200 and "Revoke that PIN first" in response.text
    son.refresh_from_db()
    assert son.birth_year == 1995
    assert _card_login(card_a.number, SON_PIN)[1].status_code == 302
    member_pin_revoke(member=son, actor=manager_x)
    assert client_manager_x.post(url, data).status_code == 302
    son.refresh_from_db()
    assert son.birth_year == 2020


def _held_after_check(monkeypatch):
    """Hold the first PIN check just after it passed, before its PIN is written, and return
    the event it sets then: another PIN set on the card runs while the first is held."""
    checked = threading.Event()
    original = services._pin_refuse_if_taken
    calls = []

    def held(*args, **kwargs):
        original(*args, **kwargs)
        calls.append(None)
        if len(calls) == 1:
            checked.set()
            time.sleep(0.5)

    monkeypatch.setattr(services, "_pin_refuse_if_taken", held)
    return checked


@pytest.mark.parametrize("other", ["head_changes", "manager_resets"])
def test_two_pins_set_at_once_never_give_two_logins_one_pin(
    transactional_db, monkeypatch, son, card_a, manager_x, villager_a, other
):
    """The member's PIN is held between its check and its write while the head changes
    the household's PIN (or the manager resets it) to the same digits: the second waits
    for the first, under the household's lock, and is refused."""
    checked = _held_after_check(monkeypatch)

    def second():
        assert checked.wait(10)
        if other == "head_changes":
            pin_change(user=User.objects.get(pk=villager_a.pk), old_pin=PIN, new_pin=SON_PIN)
        else:
            pin_reset(household=card_a.household, actor=manager_x, pin=SON_PIN)

    results = run_threads(
        [lambda: member_pin_set(member=son, actor=manager_x, pin=SON_PIN), second]
    )
    assert [result for result, _ in results] == ["ok", "refused"]
    assert "already uses this PIN" in str(results[1][1])
    logins = User.objects.filter(household=card_a.household, is_active=True, is_staff=False)
    assert [login.member_id for login in logins if login.check_password(SON_PIN)] == [son.pk]


def test_a_pin_waiting_at_the_county_is_taken_for_the_card(
    son, card_a, manager_x, villager_a, county_admin
):
    """The county sets the PIN it was sent as a hash, which no other PIN's hash can be
    checked against: so a PIN typed meanwhile is checked against the one waiting, and the
    decision never gives two logins of the card one PIN."""
    User.objects.filter(pk=manager_x.pk).update(household=card_a.household)
    manager_x.refresh_from_db()
    client = Client()
    client.force_login(manager_x)
    assert _set_pin_page(client, son).status_code == 302
    referral = Referral.objects.get(kind=Referral.Kind.MEMBER_PIN, object_id=son.pk)
    head = User.objects.get(pk=villager_a.pk)
    with pytest.raises(ValidationError, match="already uses this PIN"):
        pin_change(user=head, old_pin=PIN, new_pin=SON_PIN)
    # Nor is a second PIN of the same digits sent up for the household's own login.
    other_manager = make_staff(Role.MANAGER, village=card_a.household.village, username="m2")
    with pytest.raises(ValidationError, match="already uses this PIN"):
        pin_reset(household=card_a.household, actor=other_manager, pin=SON_PIN)
    assert _card_login(card_a.number, PIN)[1].status_code == 302

    referral_decide(referral_ids=[referral.pk], actor=county_admin, decision="do")
    client, _response = _card_login(card_a.number, SON_PIN)
    assert _signed_in_user(client).member_id == son.pk
    # The son's own PIN is no "other" PIN: he may be given it again.
    member_pin_set(member=son, actor=other_manager, pin=SON_PIN)


def test_pins_the_manager_sets_refused_as_taken_are_counted_against_the_card(
    card_a, son, manager_x, client_manager_x
):
    """Found by a security probe: a PIN the manager sets is refused when another login of
    the card uses it, and nothing counted those refusals, so a manager could try PIN after
    PIN on a member's page and learn the household's without it knowing. Each refusal now
    counts for the card's staff (and is audited as a failed login, by whom): five, and its
    PINs cannot be set for 15 minutes. The household still signs in; a PIN not taken is
    still set before the limit."""
    member_url = reverse("villagers:member_pin", args=[son.pk])
    reset_url = reverse("villagers:pin_reset", args=[card_a.household_id])

    def post(url, pin):
        body = {"pin": pin, "pin_again": pin, "idempotency_key": form_key()}
        return client_manager_x.post(url, body, HTTP_ACCEPT_LANGUAGE="en")

    for _attempt in range(LIMIT):
        refused = post(member_url, PIN)  # the household's own PIN
        assert "Another login of this card already uses this PIN" in refused.text
    blocked = post(member_url, SON_PIN)
    assert "Too many PINs refused on this card" in blocked.text
    assert "Too many PINs refused on this card" in post(reset_url, "9517").text
    assert not User.objects.filter(member=son).exists()
    assert _card_login(card_a.number, PIN)[1].status_code == 302  # the household is not locked
    failed = AuditEvent.objects.filter(action="login.failed", actor=manager_x)
    assert failed.count() == LIMIT
    assert failed.first().detail == {"card": card_a.number, "pin_set_by_staff": True}


def test_wrong_pins_typed_by_others_never_keep_the_manager_from_setting_a_pin(
    card_a, client_manager_x
):
    """Whoever locks the card by its login must not stop the manager resetting a PIN the
    household forgot."""
    for _attempt in range(LIMIT):
        _card_login(card_a.number, "0000")
    reset = client_manager_x.post(
        reverse("villagers:pin_reset", args=[card_a.household_id]),
        {"pin": "9517", "pin_again": "9517", "idempotency_key": form_key()},
    )
    assert reset.status_code == 200 and "9517" in reset.text  # the slip


def test_two_refusals_at_once_are_counted_one_after_the_other(
    transactional_db, monkeypatch, son, card_a, manager_x
):
    """Found by a review: the staff count's lock was checked, then the PIN refused, then the
    refusal counted, each on its own: two PINs sent at the same moment with four refusals
    counted both passed the check and both were told the PIN was taken (six guesses, not
    five). The first is held inside its PIN check (under the household's lock) while the
    second is sent: the second waits for it, and finds the card's PINs locked."""

    def send():
        client = Client()
        client.force_login(manager_x)
        body = {"pin": PIN, "pin_again": PIN, "idempotency_key": form_key()}
        return client.post(
            reverse("villagers:member_pin", args=[son.pk]), body, HTTP_ACCEPT_LANGUAGE="en"
        ).text

    for _refusal in range(LIMIT - 1):
        assert "already uses this PIN" in send()
    entered = held_in(monkeypatch, services, "_pin_refuse_if_taken", seconds=1)

    def second():
        assert entered.wait(10)
        return send()

    answers = [text for _ok, text in run_threads([send, second])]
    assert "already uses this PIN" in answers[0]
    assert "Too many PINs refused on this card" in answers[1]
    assert "already uses this PIN" not in answers[1]
    assert AccessFailureLog.objects.filter(username=f"card:{card_a.number}/staff").count() == LIMIT


def test_the_member_pin_page_says_until_when_the_cards_pins_are_locked(
    card_a, son, client_manager_x
):
    """Found by the last session: the staff's PIN page said "try again later" where the
    villager's own pages say until when. It says until when, as those do (the cool-off
    after the tries that still count, read from axes' rows)."""
    url = reverse("villagers:member_pin", args=[son.pk])

    def post(pin):
        body = {"pin": pin, "pin_again": pin, "idempotency_key": form_key()}
        return client_manager_x.post(url, body, HTTP_ACCEPT_LANGUAGE="en")

    for _attempt in range(LIMIT):
        post(PIN)  # the household's own PIN: refused, and counted
    start = timezone.now().replace(second=0, microsecond=0)
    counted = AccessAttempt.objects.filter(username=f"card:{card_a.number}/staff")
    counted.update(attempt_time=start - datetime.timedelta(minutes=4))
    until = timezone.localtime(start + datetime.timedelta(minutes=11))
    blocked = post(SON_PIN)
    assert (
        "Too many PINs refused on this card (another login of the card uses them): its PINs "
        f"cannot be set until {until:%H:%M}."
    ) in blocked.text
    assert "try again later" not in blocked.text
    assert not User.objects.filter(member=son).exists()
