"""Registry fixtures: a member with personal data, and helpers for ID numbers."""

import pytest
from django.urls import reverse
from django.utils import translation

from tests.factories import MemberFactory, valid_id

SECRET_ID = valid_id("61063019880101123")
SECRET_PHONE = "13987654321"


@pytest.fixture(autouse=True)
def english(settings):
    """Assert on the English messages, whatever translations the lead compiles later."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def member_a(household_a):
    """A member of household A whose ID number and phone must never show in full."""
    return MemberFactory(
        household=household_a,
        name="王大山",
        id_number=SECRET_ID,
        phone=SECRET_PHONE,
        birth_year=1988,
    )


@pytest.fixture
def client_county_x(client_county, village_x):
    """The county admin, looking into village X."""
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    return client_county
