"""PINs and card numbers are read one way when set and when typed: full-width digits are
digits; any other script's digits, separators or signs are refused and change nothing.

Found by an outside attack: after a PIN reset to '１２３４' the household could no longer sign
in with '1234', and '٣' was taken as a digit (the PIN check used `\\d`).
"""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.conftest import PIN, form_key
from tests.factories import ParticipationFactory, PassedInspectionFactory
from villagers.models import Card, Member
from villagers.services import pin_reset

HOSTILE_PINS = [
    "١٢٣٤",
    "१२३४",
    "۱۲۳۴",
    "12_34",
    "1e34",
    "12 34",
    "１２３",
    "+1234",
    "-1234",
    "²²²²",
]
WIDE = str.maketrans("0123456789", "０１２３４５６７８９")


def _card_login(number, pin):
    response = Client().post(reverse("card_login"), {"card_number": number, "pin": pin})
    return response.status_code == 302


def _reset(client, household, pin):
    url = reverse("villagers:pin_reset", kwargs={"pk": household.pk})
    return client.post(url, {"pin": pin, "pin_again": pin, "idempotency_key": form_key()})


@pytest.mark.parametrize(("set_as", "typed_as"), [("３９７１", "3971"), ("3971", "３９７１")])
def test_pin_reset_full_width_and_ascii_are_the_same_pin(
    client_manager_x, card_a, set_as, typed_as
):
    slip = _reset(client_manager_x, card_a.household, set_as)
    assert slip.context["pin"] == "3971"  # the slip shows what to type
    assert _card_login(card_a.number, typed_as)
    assert _card_login(card_a.number, "3971")


@pytest.mark.parametrize("pin", HOSTILE_PINS)
def test_pin_reset_to_other_digits_is_refused_and_changes_nothing(
    client_manager_x, card_a, villager_a, pin
):
    password = villager_a.password
    response = _reset(client_manager_x, card_a.household, pin)
    assert response.status_code == 200
    assert "A PIN is 4 to 6 digits." in response.context["form"].errors["pin"]
    villager_a.refresh_from_db()
    assert villager_a.password == password
    assert _card_login(card_a.number, PIN)


@pytest.mark.parametrize("pin", HOSTILE_PINS)
def test_the_services_refuse_them_too(card_a, manager_x, pin):
    with pytest.raises(ValidationError):
        pin_reset(household=card_a.household, actor=manager_x, pin=pin)


def test_card_issue_and_replace_with_a_full_width_pin(client_manager_x, household_a, card_b):
    PassedInspectionFactory(household=household_a)
    ParticipationFactory(household=household_a)
    issue = reverse("points:card_issue", kwargs={"pk": household_a.pk})
    refused = client_manager_x.post(
        issue, {"pin": "٨٢٦٤", "pin_again": "٨٢٦٤", "idempotency_key": form_key()}
    )
    assert refused.status_code == 200 and not Card.objects.filter(household=household_a).exists()
    client_manager_x.post(
        issue, {"pin": "８２６４", "pin_again": "8264", "idempotency_key": form_key()}
    )
    card = Card.objects.get(household=household_a)
    assert _card_login(card.number, "8264")

    replace = reverse("villagers:card_replace", kwargs={"pk": card_b.household_id})
    slip = client_manager_x.post(
        replace,
        {
            "reason": "丢失",
            "pin": "５５６６",
            "pin_again": "５５６６",
            "idempotency_key": form_key(),
        },
    )
    assert slip.context["pin"] == "5566"  # the slip shows what to type
    new = Card.objects.get(household=card_b.household, status=Card.Status.ACTIVE)
    assert _card_login(new.number, "5566")


def test_villager_changes_pin_typing_full_width(card_a):
    client = Client()
    client.post(reverse("card_login"), {"card_number": card_a.number, "pin": PIN.translate(WIDE)})
    url = reverse("villagers:pin_change")
    refused = client.post(url, {"old_pin": PIN, "pin": "١٧٣٩", "pin_again": "١٧٣٩"})
    assert refused.status_code == 200
    body = {"old_pin": PIN.translate(WIDE), "pin": "１７３９", "pin_again": "1739"}
    assert client.post(url, body).status_code == 302
    assert _card_login(card_a.number, "1739") and not _card_login(card_a.number, PIN)


@pytest.mark.parametrize("pin", HOSTILE_PINS)
def test_card_login_with_other_digits_is_a_form_error(card_a, pin):
    response = Client().post(reverse("card_login"), {"card_number": card_a.number, "pin": pin})
    assert response.status_code == 200 and response.context["form"].errors["pin"]


def test_card_number_typed_full_width_signs_in(card_a):
    assert _card_login(card_a.number.translate(WIDE), PIN)
    arabic = card_a.number.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert not _card_login(arabic, PIN)


def test_member_numbers(client_manager_x, household_a):
    url = reverse("villagers:member_create", kwargs={"pk": household_a.pk})
    body = {"name": "王小明", "relation": "child", "sex": "M", "id_number": "", "phone": ""}
    body["idempotency_key"] = form_key()
    for bad in ({"birth_year": "١٩٨٨"}, {"birth_year": "1_988"}, {"phone": "١٣٩٨٧٦٥٤٣٢١"}):
        response = client_manager_x.post(url, {**body, "birth_year": "1988", **bad})
        assert response.status_code == 200 and response.context["form"].errors, bad
    assert not Member.objects.exists()
    wide = {**body, "birth_year": "１９８８", "phone": "１３９８７６５４３２１"}
    assert client_manager_x.post(url, wide).status_code == 302
    member = Member.objects.get()
    assert (member.birth_year, member.phone) == (1988, "13987654321")


def test_the_pin_change_that_locks_the_card_leaves_the_villager_on_the_pin_page(card_a):
    """Found on the phone: the fifth wrong current PIN replaced the page with the sign-in's
    lockout page ("Too many failed sign-in attempts") though the villager was signed in,
    and later tries showed the form's own words. Now the PIN page says, once, until when the
    card is locked and what to do; the last tries before it say how many are left."""
    client = Client()
    client.post(reverse("card_login"), {"card_number": card_a.number, "pin": PIN})
    url = reverse("villagers:pin_change")
    wrong = {"old_pin": "0000", "pin": "8264", "pin_again": "8264"}
    answers = [client.post(url, wrong) for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert "tries left" not in answers[1].text
    assert "2 tries left before this card is locked for 15 minutes." in answers[2].text
    assert "1 try left before this card is locked for 15 minutes." in answers[3].text
    for page in (answers[-1], client.post(url, wrong), client.get(url)):
        assert page.status_code == 200
        assert "Too many failed sign-in attempts" not in page.text
        assert page.text.count("Too many wrong PINs on this card") == 1
        assert "is locked until " in page.text and "Ask the village manager" in page.text
        assert "The current PIN is not correct." not in page.text
        assert 'name="old_pin"' not in page.text  # no form to be refused
    assert client.get(reverse("villagers:me")).status_code == 200  # still signed in
