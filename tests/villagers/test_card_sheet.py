"""Printable sheets of points cards, and the PIN slips: at a card's first issue, at a
replacement and at a PIN reset."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from core.models import AuditEvent
from points.models import Entry
from tests.conftest import form_key, issue_card
from tests.factories import HouseholdFactory, ParticipationFactory, PassedInspectionFactory
from villagers.models import Card, User

CHOOSE = reverse("villagers:card_sheet_choose")
SHEET = reverse("villagers:card_sheet")
PRINTED = reverse("villagers:card_sheet_printed")


@pytest.fixture
def many_cards(group_x, manager_x, card_a, card_b):
    cards = [card_a, card_b]
    for _ in range(10):
        cards.append(issue_card(HouseholdFactory(group=group_x), manager_x))
    return cards


def test_sheet_has_ten_cards_a_page_with_qr_codes(client_manager_x, many_cards, village_x):
    response = client_manager_x.get(SHEET, {"card": [c.pk for c in many_cards]})
    assert response.status_code == 200
    page = response.text
    assert page.count('class="card-sheet"') == 2  # 12 cards: a full page and a second one
    assert page.count('class="points-card"') == 12
    assert page.count("<svg") == 12
    for card in many_cards:
        assert card.number in page and card.household.head_name in page
    assert village_x.name in page
    assert "css/cards.css" in page


def test_card_size_and_a4_layout_in_the_stylesheet(client_manager_x):
    css = b"".join(client_manager_x.get("/static/css/cards.css").streaming_content).decode()
    assert "width: 85.6mm; height: 54mm;" in css
    assert "size: A4 portrait" in css
    assert "grid-template-columns: 85.6mm 85.6mm" in css


def test_sheet_ignores_other_villages_and_inactive_cards(client_manager_x, card_a, card_y):
    response = client_manager_x.get(SHEET, {"card": [card_a.pk, card_y.pk, "x"]})
    assert card_a.number in response.text
    assert card_y.number not in response.text
    assert client_manager_x.get(SHEET).url == CHOOSE


def test_choose_lists_unprinted_cards_then_marks_them_printed(
    client_manager_x, many_cards, manager_x
):
    page = client_manager_x.get(CHOOSE).text
    assert page.count('name="card"') == 12
    chosen = [c.pk for c in many_cards[:3]]
    response = client_manager_x.post(PRINTED, {"card": chosen, "idempotency_key": form_key()})
    assert response.url == CHOOSE
    assert Card.objects.filter(printed_at__isnull=False).count() == 3
    assert AuditEvent.objects.filter(action="card.printed").exists()
    page = client_manager_x.get(CHOOSE, {"unprinted": "on"}).text
    assert page.count('name="card"') == 9
    assert client_manager_x.get(CHOOSE, {"since": "2000-01-01"}).text.count('name="card"') == 12


def _sheet_note(client, cards) -> dict:
    """What the sheet's "They are printed" button sends (its one-time key drawn with it)."""
    text = client.get(SHEET, {"card": [card.pk for card in cards]}).text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', text).group(1)
    return {"card": [card.pk for card in cards], "idempotency_key": key}


def test_a_sheet_noted_twice_is_one_print_and_printed_again_is_another(
    client_manager_x, card_a, card_b
):
    """Noted by the team: "They are printed" sent twice (a double click) wrote two audit
    events. Its key is drawn with the sheet: sent twice, one print is noted and the second
    answer says so; the sheet opened and printed again is a second print, noted again, for
    it is a second copy of the cards."""
    sent = _sheet_note(client_manager_x, [card_a, card_b])
    first = client_manager_x.post(PRINTED, sent)
    second = client_manager_x.post(PRINTED, sent)
    assert second.status_code == 302 and second.url == first.url == CHOOSE
    said = [str(m) for m in get_messages(second.wsgi_request)]
    assert said[-1] == "This was already sent; nothing was recorded twice."
    assert AuditEvent.objects.filter(action="card.printed").count() == 1
    client_manager_x.post(PRINTED, _sheet_note(client_manager_x, [card_a, card_b]))
    assert AuditEvent.objects.filter(action="card.printed").count() == 2


def test_only_the_manager_marks_printed_and_others_only_look(
    client_supervisor_x, client_villager_a, client_manager_y, card_a
):
    assert client_supervisor_x.get(SHEET, {"card": card_a.pk}).status_code == 200
    key = {"idempotency_key": form_key()}
    assert client_supervisor_x.post(PRINTED, {"card": card_a.pk, **key}).status_code == 403
    assert client_villager_a.get(CHOOSE).status_code == 403
    client_manager_y.post(PRINTED, {"card": card_a.pk, **key})
    card_a.refresh_from_db()
    assert card_a.printed_at is None  # another village's card is left alone
    assert client_manager_y.get(SHEET, {"card": card_a.pk}).text.count('points-card"') == 0


def test_county_admin_views_a_sheet_read_only(client_county, village_x, card_a):
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    assert client_county.get(SHEET, {"card": card_a.pk}).status_code == 200
    key = {"idempotency_key": form_key()}
    assert client_county.post(PRINTED, {"card": card_a.pk, **key}).status_code == 403


def test_replacement_shows_the_slip_with_the_pin_once(client_manager_x, card_a):
    url = reverse("villagers:card_replace", kwargs={"pk": card_a.household_id})
    form = client_manager_x.get(url).text
    assert f'name="replacing" value="{card_a.number}"' in form
    data = {"reason": "丢失", "pin": "8264", "pin_again": "8264", "replacing": card_a.number}
    response = client_manager_x.post(url, {**data, "idempotency_key": form_key()})
    new = Card.objects.get(household=card_a.household, status=Card.Status.ACTIVE)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    slip = response.text
    assert re.search(r'class="slip-pin">8264<', slip)
    assert new.number in slip and card_a.number in slip and "<svg" in slip
    assert card_a.household.head_name in slip
    # The PIN is kept only as a password hash, and nowhere in the audit log.
    login = User.objects.get(household=card_a.household, is_staff=False)
    assert login.password.startswith(("pbkdf2", "argon2", "bcrypt", "scrypt", "md5"))
    assert login.password.rsplit("$", 1)[-1] != "8264" and login.check_password("8264")
    assert not any("8264" in str(e.detail) for e in AuditEvent.objects.all())
    # The old card's form sent again (another page, another key): nothing is replaced twice.
    again = client_manager_x.post(url, {**data, "idempotency_key": form_key()})
    assert again.status_code == 200 and "already replaced" in again.text
    assert "8264" not in again.text.split('name="pin"')[0].split("<main")[1]
    assert Card.objects.filter(household=card_a.household).count() == 2


def _slip_pin(response) -> str | None:
    found = re.search(r'class="slip-pin">(\d+)<', response.text)
    return found.group(1) if found else None


def _pin_kept_only_as_a_hash(household, pin):
    login = User.objects.get(household=household, is_staff=False)
    assert login.check_password(pin) and pin not in login.password
    assert not any(pin in str(event.detail) for event in AuditEvent.objects.all())


def test_first_issue_shows_the_slip_with_the_pin_once(client_manager_x, household_a):
    PassedInspectionFactory(household=household_a)
    ParticipationFactory(household=household_a)
    url = reverse("points:card_issue", kwargs={"pk": household_a.pk})
    data = {"pin": "8264", "pin_again": "8264", "idempotency_key": form_key()}
    response = client_manager_x.post(url, data)
    card = Card.objects.get(household=household_a)
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert response.context["kind"] == "issue" and _slip_pin(response) == "8264"
    assert card.number in response.text and "<svg" in response.text
    assert "The card starts with 100 points." in response.text
    _pin_kept_only_as_a_hash(household_a, "8264")
    # A double click: the browser shows the second answer, which must be the slip too.
    again = client_manager_x.post(url, data)
    assert _slip_pin(again) == "8264" and again.context["card"] == card
    assert Card.objects.filter(household=household_a).count() == 1
    assert Entry.objects.filter(account__household=household_a).count() == 1


def test_a_resent_issue_shows_no_pin_once_the_pin_was_changed(client_manager_x, household_a):
    PassedInspectionFactory(household=household_a)
    ParticipationFactory(household=household_a)
    url = reverse("points:card_issue", kwargs={"pk": household_a.pk})
    data = {"pin": "8264", "pin_again": "8264", "idempotency_key": form_key()}
    client_manager_x.post(url, data)
    card = Card.objects.get(household=household_a)
    client_manager_x.post(
        reverse("villagers:pin_reset", kwargs={"pk": household_a.pk}),
        {"pin": "1739", "pin_again": "1739", "idempotency_key": form_key()},
    )
    again = client_manager_x.post(url, data)
    assert again.status_code == 302
    assert again.url == reverse("villagers:card_print", kwargs={"pk": card.pk})


def test_pin_reset_shows_the_slip_with_the_new_pin(client_manager_x, card_a):
    url = reverse("villagers:pin_reset", kwargs={"pk": card_a.household_id})
    response = client_manager_x.post(
        url, {"pin": "8264", "pin_again": "8264", "idempotency_key": form_key()}
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert response.context["kind"] == "pin" and _slip_pin(response) == "8264"
    assert card_a.number in response.text
    assert "only the PIN changes" in response.text
    _pin_kept_only_as_a_hash(card_a.household, "8264")


def test_pin_reset_sent_to_the_county_shows_no_slip(client_manager_x, manager_x, card_a):
    manager_x.household = card_a.household  # the manager's own household
    manager_x.save(update_fields=["household"])
    url = reverse("villagers:pin_reset", kwargs={"pk": card_a.household_id})
    response = client_manager_x.post(
        url, {"pin": "8264", "pin_again": "8264", "idempotency_key": form_key()}
    )
    assert response.status_code == 302
    assert response.url == reverse("reports:household", kwargs={"pk": card_a.household_id})
    assert "8264" not in client_manager_x.get(response.url).text
    login = User.objects.get(household=card_a.household, is_staff=False)
    assert not login.check_password("8264")
