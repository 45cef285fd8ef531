"""New PINs that are too easy to guess are refused wherever a PIN is set (villagers.pins).

A card number is printed on the card, so its PIN is all that keeps a found or borrowed card
out: 0000, 123456 or the holder's birth year was accepted on every page that sets one.
PINs set before the rule keep working: nobody is made to choose a new one.
"""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from tests.conftest import PIN, form_key
from tests.factories import MemberFactory, ParticipationFactory, PassedInspectionFactory
from tests.villagers.conftest import valid_id
from villagers.models import Card, Member, Referral, User
from villagers.pins import GUESSABLE_MESSAGE
from villagers.services import pin_reset

GUESSABLE = [
    "0000",
    "111111",
    "99999",
    "1234",
    "12345",
    "654321",
    "012345",
    "7890",
    "0987",
    "1212",
    "123123",
    "520520",
    # Runs by twos or threes, up or down (once accepted: "a step of two" was a fine PIN).
    "1357",
    "8642",
    "02468",
    "97531",
    "0369",
    "9630",
]
# Other PINs will do, short and digits only: a keypad column, pairs, steps that change or
# wrap past 9.
FINE = ["1739", "8264", "2580", "5566", "147258", "20467", "13580", "8024"]

GRANDMA_ID = valid_id("61063019560315222")
GRANDMA_PHONE = "13700004916"
HOUSEHOLD_PHONE = "13900007319"
# The household's own dates and numbers: a birth year, a birthday (MMDD, YYMMDD), the end
# of an ID number and of a member's or the household's phone.
HOUSEHOLDS_OWN = ["1956", "0315", "560315", GRANDMA_ID[-4:], "04916", "004916", "7319"]


@pytest.fixture
def grandma(card_a):
    household = card_a.household
    household.phone = HOUSEHOLD_PHONE
    household.save(update_fields=["phone"])
    return MemberFactory(
        household=household,
        name="王奶奶",
        relation=Member.Relation.PARENT,
        sex=Member.Sex.FEMALE,
        birth_year=1956,
        id_number=GRANDMA_ID,
        phone=GRANDMA_PHONE,
    )


def _passwords(household):
    return dict(User.objects.filter(household=household).values_list("pk", "password"))


@pytest.mark.parametrize("pin", GUESSABLE + HOUSEHOLDS_OWN)
def test_the_service_refuses_a_guessable_pin(card_a, grandma, manager_x, pin):
    before = _passwords(card_a.household)
    with pytest.raises(ValidationError) as refused:
        pin_reset(household=card_a.household, actor=manager_x, pin=pin)
    assert refused.value.message_dict == {"pin": [GUESSABLE_MESSAGE]}
    assert _passwords(card_a.household) == before


@pytest.mark.parametrize("pin", FINE)
def test_other_pins_are_set(card_a, grandma, manager_x, pin):
    pin_reset(household=card_a.household, actor=manager_x, pin=pin)
    response = Client().post(reverse("card_login"), {"card_number": card_a.number, "pin": pin})
    assert response.status_code == 302


def test_another_households_dates_are_not_this_ones(card_a, card_b, grandma, manager_x):
    pin_reset(household=card_b.household, actor=manager_x, pin="1956")
    assert card_b.household.users.get(member=None).check_password("1956")


def test_a_full_width_run_is_a_run(card_a, manager_x):
    with pytest.raises(ValidationError):
        pin_reset(household=card_a.household, actor=manager_x, pin="４３２１")


def _issue(household):
    PassedInspectionFactory(household=household)
    ParticipationFactory(household=household)
    url = reverse("points:card_issue", args=[household.pk])
    return url, {"idempotency_key": form_key()}


def _replace(household):
    number = household.cards.get(status=Card.Status.ACTIVE).number
    url = reverse("villagers:card_replace", args=[household.pk])
    return url, {"reason": "丢失", "replacing": number, "idempotency_key": form_key()}


def _reset(household):
    return reverse("villagers:pin_reset", args=[household.pk]), {"idempotency_key": form_key()}


def _member(household):
    member = household.members.get(name="王奶奶")
    return reverse("villagers:member_pin", args=[member.pk]), {"idempotency_key": form_key()}


PAGES = {"issue": _issue, "replace": _replace, "reset": _reset, "member": _member}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("pin", ["123456", "1956"])
def test_every_managers_page_refuses_them_on_the_pin_field(
    client_manager_x, household_a, household_b, card_b, manager_x, page, pin
):
    """Household A has no card yet (for the issue page); B has one (for the others)."""
    household = household_a if page == "issue" else household_b
    MemberFactory(household=household, name="王奶奶", relation="parent", birth_year=1956)
    before = _passwords(household)
    url, body = PAGES[page](household)
    response = client_manager_x.post(url, {**body, "pin": pin, "pin_again": pin})
    assert response.status_code == 200
    assert response.context["form"].errors["pin"] == [GUESSABLE_MESSAGE]
    assert _passwords(household) == before
    assert household.cards.count() == (0 if page == "issue" else 1)


def test_a_pin_sent_up_to_the_county_is_checked_before_it_goes(card_a, grandma, manager_x):
    """The county sets a PIN sent up from its hash, which it cannot judge: judged here."""
    User.objects.filter(pk=manager_x.pk).update(household=card_a.household)
    client = Client()
    client.force_login(manager_x)
    url = reverse("villagers:pin_reset", args=[card_a.household.pk])
    response = client.post(url, {"pin": "1111", "pin_again": "1111", "idempotency_key": form_key()})
    assert response.context["form"].errors["pin"] == [GUESSABLE_MESSAGE]
    assert not Referral.objects.exists()


def test_the_villagers_own_change_refuses_them_and_counts_no_wrong_pin(client_villager_a, card_a):
    url = reverse("villagers:pin_change")
    response = client_villager_a.post(url, {"old_pin": PIN, "pin": "2222", "pin_again": "2222"})
    assert response.status_code == 200
    assert response.context["form"].errors["pin"] == [GUESSABLE_MESSAGE]
    assert not AccessAttempt.objects.exists()  # a rule, not a guess at a PIN of the card
    login = Client().post(reverse("card_login"), {"card_number": card_a.number, "pin": PIN})
    assert login.status_code == 302


def test_a_guessable_pin_set_before_the_rule_keeps_working(villager_a, card_a):
    User.objects.filter(pk=villager_a.pk).update(password=make_password("1111"))
    client = Client()
    login = client.post(reverse("card_login"), {"card_number": card_a.number, "pin": "1111"})
    assert login.status_code == 302
    body = {"old_pin": "1111", "pin": "3971", "pin_again": "3971"}
    assert client.post(reverse("villagers:pin_change"), body).status_code == 302
    villager_a.refresh_from_db()
    assert villager_a.check_password("3971")


def test_the_pin_fields_say_what_to_avoid_before_it_is_typed(client_manager_x, card_a):
    page = client_manager_x.get(reverse("villagers:pin_reset", args=[card_a.household.pk]))
    assert "not 1111, 1234, 1357, 1212 or a birthday" in page.text


def test_the_end_of_the_cards_own_number_is_refused_also_with_a_new_card(
    card_a, household_b, manager_x
):
    """The card number is printed on the card. Found by a second read: the rule read the
    household's cards so far, and a card's issue or replacement draws its number only after
    the check, so the end of the card handed over with the PIN went through."""
    from points.services import card_issue
    from villagers import services

    with pytest.raises(ValidationError) as refused:
        pin_reset(household=card_a.household, actor=manager_x, pin=card_a.number[-5:])
    assert refused.value.message_dict == {"pin": [GUESSABLE_MESSAGE]}
    PassedInspectionFactory(household=household_b)
    ParticipationFactory(household=household_b)
    coming = services._next_card_number(household_b.village)
    with pytest.raises(ValidationError) as refused:
        card_issue(household=household_b, actor=manager_x, pin=coming[-4:])
    assert refused.value.message_dict == {"pin": [GUESSABLE_MESSAGE]}
    assert not household_b.cards.exists()
    coming = services._next_card_number(card_a.household.village)
    with pytest.raises(ValidationError) as refused:
        services.card_replace(
            household=card_a.household, actor=manager_x, pin=coming[-6:], reason="lost"
        )
    assert refused.value.message_dict == {"pin": [GUESSABLE_MESSAGE]}
    assert list(card_a.household.cards.values_list("number", flat=True)) == [card_a.number]


@pytest.mark.parametrize("page", ["issue", "replace"])
def test_a_pin_sent_up_gets_a_card_number_it_is_not_the_end_of(
    household_a, card_b, manager_x, county_admin, page
):
    """Found by the team: a PIN sent up to the county with a card's issue or replacement
    (the manager's own household) was judged before the card had a number, and the county
    sets it from its hash, so the card it issued could end with its PIN. The county cannot
    choose another PIN: the number is passed over, and the card gets the next one."""
    from reports.referrals import referral_decide
    from villagers import services

    household = household_a if page == "issue" else card_b.household
    User.objects.filter(pk=manager_x.pk).update(household=household)
    client = Client()
    client.force_login(manager_x)
    coming = services._next_card_number(household.village)
    pin = coming[-4:]
    url, body = PAGES[page](household)
    response = client.post(url, {**body, "pin": pin, "pin_again": pin})
    assert response.status_code == 302  # sent up: nothing there knew the number
    referral = Referral.objects.get(status=Referral.Status.OPEN)

    referral_decide(referral_ids=[referral.pk], actor=county_admin, decision="do")
    card = household.cards.get(status=Card.Status.ACTIVE)
    assert card.number != coming and not card.number.endswith(pin)
    login = Client().post(reverse("card_login"), {"card_number": card.number, "pin": pin})
    assert login.status_code == 302
    # The number passed over stays unused; the next card of the village gets a new one.
    assert services._next_card_number(household.village) not in {coming, card.number}
