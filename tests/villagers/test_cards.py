import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.urls import reverse

from points.models import Entry
from points.services import card_issue
from tests.conftest import PIN, issue_card
from tests.factories import HouseholdFactory, ParticipationFactory, PassedInspectionFactory
from villagers.cardnumbers import card_number_is_valid
from villagers.models import Card
from villagers.services import card_recall, card_replace


def test_card_needs_passed_inspection_and_participation(household_a, manager_x):
    with pytest.raises(ValidationError) as error:
        card_issue(household=household_a, actor=manager_x, pin=PIN)
    text = " ".join(error.value.messages)
    assert "inspection" in text and "participation" in text
    assert not Card.objects.exists()

    PassedInspectionFactory(household=household_a, kitchen_clean=False)
    ParticipationFactory(household=household_a)
    with pytest.raises(ValidationError, match="did not pass"):
        card_issue(household=household_a, actor=manager_x, pin=PIN)
    assert not Card.objects.exists()


def test_card_issue_posts_opening_grant_once(household_a, manager_x):
    card = issue_card(household_a, manager_x)
    assert card_number_is_valid(card.number)
    assert card.number.startswith(household_a.village.code)
    opening = Entry.objects.get(account__household=household_a)
    assert opening.kind == Entry.Kind.OPENING
    assert opening.points == household_a.village.base_points == 100
    household_a.account.refresh_from_db()
    assert household_a.account.balance == 100

    replacement = card_replace(household=household_a, actor=manager_x, pin="1357", reason="lost")
    assert replacement.number != card.number
    card.refresh_from_db()
    assert card.status == Card.Status.LOST
    assert Entry.objects.filter(account__household=household_a).count() == 1


def test_only_one_active_card(household_a, manager_x):
    issue_card(household_a, manager_x)
    with pytest.raises(ValidationError, match="already has an active card"):
        card_issue(household=household_a, actor=manager_x, pin=PIN)
    with pytest.raises(IntegrityError):
        Card.objects.create(household=household_a, number="101999990")


def test_recall_disables_villager_login_and_ends_sessions(card_a, manager_x, client):
    credentials = {"card_number": card_a.number, "pin": PIN}
    assert client.post(reverse("card_login"), credentials).status_code == 302
    assert client.get(reverse("villagers:me")).status_code == 200
    card_recall(household=card_a.household, actor=manager_x, reason="moved away")
    assert client.get(reverse("villagers:me")).status_code == 302  # session ended
    response = client.post(reverse("card_login"), credentials)
    assert response.status_code == 200
    assert "not correct" in response.content.decode() or "不正确" in response.content.decode()


def test_pin_must_be_digits(household_a, manager_x):
    PassedInspectionFactory(household=household_a)
    ParticipationFactory(household=household_a)
    with pytest.raises(ValidationError, match="4 to 6 digits"):
        card_issue(household=household_a, actor=manager_x, pin="abcd")


def test_card_numbers_unique_per_village(group_x, manager_x):
    numbers = {issue_card(HouseholdFactory(group=group_x), manager_x).number for _ in range(3)}
    assert len(numbers) == 3


def test_only_the_villages_manager_issues_replaces_or_recalls_whoever_calls(
    household_a, card_b, manager_x, manager_y, supervisor_x, villager_b, county_admin
):
    """Found by a probe: the pages checked the role, the services nobody, and an issue
    posts the opening grant."""
    PassedInspectionFactory(household=household_a)
    ParticipationFactory(household=household_a)
    outsiders = (manager_y, supervisor_x, villager_b, county_admin)
    for actor in outsiders:
        with pytest.raises(PermissionDenied):
            card_issue(household=household_a, actor=actor, pin=PIN)
    assert not Card.objects.filter(household=household_a).exists()
    assert not Entry.objects.filter(account__household=household_a).exists()
    for actor in outsiders:
        with pytest.raises(PermissionDenied):
            card_replace(household=card_b.household, actor=actor, pin="1357", reason="lost")
        with pytest.raises(PermissionDenied):
            card_recall(household=card_b.household, actor=actor, reason="moved")
    card_b.refresh_from_db()
    assert card_b.status == Card.Status.ACTIVE
