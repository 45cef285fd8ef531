"""Card pages: issue (with plain-words prerequisites), replace, recall, PIN reset and change."""

from django.contrib.auth import SESSION_KEY
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent
from points.models import Entry
from tests.conftest import PIN, form_key
from tests.factories import ParticipationFactory, PassedInspectionFactory
from villagers.models import Card

NEW_PIN = {"pin": "8264", "pin_again": "8264"}


def _card_login(number, pin):
    client = Client()
    response = client.post(reverse("card_login"), {"card_number": number, "pin": pin})
    return client, response


def test_issue_page_says_what_is_missing(client_manager_x, household_a):
    url = reverse("points:card_issue", kwargs={"pk": household_a.pk})
    with_nothing = client_manager_x.get(url).text
    assert "hygiene inspection" in with_nothing and "participation" in with_nothing
    assert 'name="pin"' not in with_nothing

    PassedInspectionFactory(household=household_a, toilet_clean=False)
    text = client_manager_x.get(url).text
    assert "did not pass" in text and "toilet clean" in text

    response = client_manager_x.post(url, {**NEW_PIN, "idempotency_key": form_key()})
    assert response.status_code == 200
    assert not Card.objects.filter(household=household_a).exists()


def test_issue_card_with_pin_posts_opening_points(client_manager_x, household_a):
    PassedInspectionFactory(household=household_a)
    ParticipationFactory(household=household_a)
    url = reverse("points:card_issue", kwargs={"pk": household_a.pk})
    assert 'name="pin"' in client_manager_x.get(url).text
    mismatch = client_manager_x.post(url, {"pin": "8264", "pin_again": "8643"})
    assert mismatch.status_code == 200 and not Card.objects.exists()
    response = client_manager_x.post(url, {**NEW_PIN, "idempotency_key": form_key()})
    card = Card.objects.get(household=household_a)
    assert response.status_code == 200 and response.context["card"] == card  # the PIN slip
    assert Entry.objects.get(account__household=household_a).points == 100
    _client, login = _card_login(card.number, "8264")
    assert login.status_code == 302


def test_print_page_has_qr_code(client_supervisor_x, card_a):
    response = client_supervisor_x.get(reverse("villagers:card_print", kwargs={"pk": card_a.pk}))
    assert "<svg" in response.text and card_a.number in response.text


def test_replace_gives_new_number_and_pin(client_manager_x, card_a):
    villager, _response = _card_login(card_a.number, PIN)
    url = reverse("villagers:card_replace", kwargs={"pk": card_a.household_id})
    response = client_manager_x.post(
        url, {"reason": "丢失", **NEW_PIN, "idempotency_key": form_key()}
    )
    new = Card.objects.get(household=card_a.household, status=Card.Status.ACTIVE)
    assert new.number != card_a.number
    # The answer is the replacement slip (see tests/villagers/test_card_sheet.py).
    assert response.status_code == 200 and new.number in response.text
    card_a.refresh_from_db()
    assert card_a.status == Card.Status.LOST and card_a.end_reason == "丢失"
    assert villager.get(reverse("villagers:me")).status_code == 302  # signed out
    assert _card_login(card_a.number, "8264")[1].status_code == 200  # old number refused
    assert _card_login(new.number, PIN)[1].status_code == 200  # old PIN refused
    assert _card_login(new.number, "8264")[1].status_code == 302


def test_recall_needs_reason_and_stops_login(client_manager_x, card_a):
    url = reverse("villagers:card_recall", kwargs={"pk": card_a.household_id})
    key = {"idempotency_key": form_key()}
    assert client_manager_x.post(url, {"reason": "", **key}).status_code == 200
    assert client_manager_x.post(url, {"reason": "搬走了", **key}).status_code == 302
    card_a.refresh_from_db()
    assert card_a.status == Card.Status.RECALLED
    assert _card_login(card_a.number, PIN)[1].status_code == 200
    # Opened again and sent again (a new key): nothing to recall.
    again = client_manager_x.post(url, {"reason": "搬走了", "idempotency_key": form_key()})
    assert again.status_code == 200 and "no active card" in again.text


def test_a_recall_sent_twice_is_one_recall_and_the_second_answer_says_so(client_manager_x, card_a):
    """Noted by the team: a recall sent twice (a double click; the browser shows the second
    answer) ended in "no active card", an error on the form. It has a one-time key now:
    recalled once, and the second answer goes to the household's page as the first did,
    saying it was already sent."""
    url = reverse("villagers:card_recall", kwargs={"pk": card_a.household_id})
    form = client_manager_x.get(url).context["form"]
    sent = {"reason": "搬走了", "idempotency_key": form["idempotency_key"].value()}
    first = client_manager_x.post(url, sent)
    second = client_manager_x.post(url, sent)
    hub = reverse("reports:household", kwargs={"pk": card_a.household_id})
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == hub
    assert _said(second)[-1] == "This was already sent; nothing was recorded twice."
    assert AuditEvent.objects.filter(action="card.recall").count() == 1


def test_a_replacement_sent_twice_is_one_card_and_the_second_answer_is_its_slip(
    client_manager_x, card_a
):
    """Noted by the team: a replacement sent twice (a double click; the browser shows the
    second answer) ended in "already replaced", an error on the form, and the slip with the
    new card was never seen. It has a one-time key now: one new card, and the second answer
    is its slip, from the PIN the re-sent form carries, while the card and that PIN are
    still the household's (as a card issue or a PIN reset sent twice)."""
    url = reverse("villagers:card_replace", kwargs={"pk": card_a.household_id})
    form = client_manager_x.get(url).context["form"]
    sent = {
        "reason": "丢失",
        **NEW_PIN,
        "replacing": form["replacing"].value(),
        "idempotency_key": form["idempotency_key"].value(),
    }
    first = client_manager_x.post(url, sent)
    second = client_manager_x.post(url, sent)
    new = Card.objects.get(household=card_a.household, status=Card.Status.ACTIVE)
    assert first.context["kind"] == second.context["kind"] == "replace"
    assert first.context["card"] == second.context["card"] == new
    assert second.context["pin"] == "8264" and "no-store" in second["Cache-Control"]
    assert second.context["old_number"] == card_a.number
    assert _said(second)[-1].startswith("This card was already replaced (the form was sent")
    assert AuditEvent.objects.filter(action="card.replace").count() == 1
    assert Card.objects.filter(household=card_a.household).count() == 2
    # Its PIN set again since: the first form re-sent shows no slip of a PIN no longer in use.
    client_manager_x.post(
        reverse("villagers:pin_reset", kwargs={"pk": card_a.household_id}),
        {"pin": "3971", "pin_again": "3971", "idempotency_key": form_key()},
    )
    late = client_manager_x.post(url, sent)
    assert late.status_code == 302
    assert late.url == reverse("reports:household", kwargs={"pk": card_a.household_id})
    assert "has been changed again since" in _said(late)[-1]
    assert AuditEvent.objects.filter(action="card.replace").count() == 1
    assert _card_login(new.number, "3971")[1].status_code == 302


def test_manager_resets_pin(client_manager_x, card_a):
    url = reverse("villagers:pin_reset", kwargs={"pk": card_a.household_id})
    key = {"idempotency_key": form_key()}
    assert client_manager_x.post(url, {"pin": "12", "pin_again": "12", **key}).status_code == 200
    assert client_manager_x.post(url, {**NEW_PIN, **key}).context["kind"] == "pin"  # the slip
    assert _card_login(card_a.number, PIN)[1].status_code == 200
    assert _card_login(card_a.number, "8264")[1].status_code == 302
    assert AuditEvent.objects.filter(action="card.pin_reset").exists()


def _said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_a_pin_reset_sent_twice_is_set_once_and_the_second_answer_is_its_slip(
    client_manager_x, card_a
):
    """Noted by the team: a PIN reset sent twice (a double click; the browser shows the
    second answer) set the PIN twice, signed the household out twice and wrote two audit
    events. It has a one-time key now: set once, and the second answer is the slip, from
    the PIN the re-sent form carries, while that PIN is still the household's."""
    url = reverse("villagers:pin_reset", kwargs={"pk": card_a.household_id})
    form = client_manager_x.get(url).context["form"]
    sent = {**NEW_PIN, "idempotency_key": form["idempotency_key"].value()}
    first = client_manager_x.post(url, sent)
    second = client_manager_x.post(url, sent)
    assert first.context["kind"] == second.context["kind"] == "pin"
    assert second.context["pin"] == "8264" and "no-store" in second["Cache-Control"]
    assert _said(second)[-1].startswith("This PIN was already set (the form was sent twice)")
    assert AuditEvent.objects.filter(action="card.pin_reset").count() == 1
    # Set again since: the first form re-sent shows no slip of a PIN no longer in use.
    client_manager_x.post(url, {"pin": "3971", "pin_again": "3971", "idempotency_key": form_key()})
    late = client_manager_x.post(url, sent)
    assert late.status_code == 302
    assert late.url == reverse("reports:household", kwargs={"pk": card_a.household_id})
    assert "has been changed again since" in _said(late)[-1]
    assert AuditEvent.objects.filter(action="card.pin_reset").count() == 2
    assert _card_login(card_a.number, "3971")[1].status_code == 302


def test_villager_changes_pin_and_stays_signed_in(card_a):
    client, _response = _card_login(card_a.number, PIN)
    url = reverse("villagers:pin_change")
    wrong = client.post(url, {"old_pin": "0000", **NEW_PIN})
    assert wrong.status_code == 200 and "not correct" in wrong.text
    assert client.post(url, {"old_pin": PIN, **NEW_PIN}).url == reverse("villagers:me")
    assert client.get(reverse("villagers:me")).status_code == 200
    assert SESSION_KEY in client.session
    assert _card_login(card_a.number, PIN)[1].status_code == 200
    assert _card_login(card_a.number, "8264")[1].status_code == 302
    assert AuditEvent.objects.filter(action="card.pin_change").count() == 1
