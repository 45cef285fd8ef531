"""A proposal or declaration that is refused or rolled back leaves no photo in storage."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from points.models import Declaration, Proposal
from points.services import declaration_submit
from tests.conftest import form_key
from tests.points.conftest import png_upload, propose

# How the write fails: PostgreSQL refused the address under psycopg2; psycopg 3 refuses it
# before sending (ValueError). Either way inside the write's transaction, after the photo.
REFUSED = (DatabaseError, ValueError)


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def failing_request():
    """A request whose client address cannot be stored (inet): the audit event, the last
    row each of these writes adds, fails after the photo was stored, and it all rolls back."""
    return RequestFactory().post("/", REMOTE_ADDR="not-an-address")


def test_a_proposal_refused_after_its_photo_was_stored_leaves_no_file(
    card_a, manager_x, rule_clean
):
    with pytest.raises(ValidationError):
        propose(manager_x, [card_a.household], rule_clean, reason="x" * 301, photo=png_upload())
    assert not Proposal.objects.exists()
    assert stored_files() == []


def test_a_proposal_over_the_monthly_cap_leaves_no_file(
    card_a, manager_x, rule_capped, client_manager_x
):
    propose(manager_x, [card_a.household], rule_capped)
    propose(manager_x, [card_a.household], rule_capped)
    response = client_manager_x.post(
        reverse("points:proposal_new"),
        {
            "rule": rule_capped.pk,
            "households": [card_a.household.pk],
            "reason": "swept the road again",
            "occurred_on": timezone.localdate().isoformat(),
            "photo": png_upload(),
            "idempotency_key": form_key(),
            "again": "on",  # a third time the same day, on purpose
        },
    )
    assert "at most 20 points a month" in response.content.decode()
    assert Proposal.objects.count() == 2
    assert stored_files() == []


def test_a_proposal_rolled_back_in_the_database_leaves_no_file(
    card_a, card_b, manager_x, rule_clean
):
    households = [card_a.household, card_b.household]
    with pytest.raises(REFUSED):
        propose(manager_x, households, rule_clean, photo=png_upload(), request=failing_request())
    assert not Proposal.objects.exists()
    assert stored_files() == []


def test_a_proposal_that_succeeds_keeps_its_photo(card_a, card_b, manager_x, rule_clean):
    households = [card_a.household, card_b.household]
    proposals = propose(manager_x, households, rule_clean, photo=png_upload())
    assert [path.name for path in stored_files()] == [Path(proposals[0].photo.name).name]


def declare(villager, **kwargs):
    kwargs.setdefault("description", "helped an old neighbour home")
    return declaration_submit(
        user=villager, occurred_on=timezone.localdate(), photo=png_upload(), **kwargs
    )


def test_a_declaration_refused_with_a_photo_leaves_no_file(villager_a):
    with pytest.raises(ValidationError):
        declare(villager_a, description="   ")  # blank once stripped: full_clean refuses it
    assert not Declaration.objects.exists()
    assert stored_files() == []


def test_a_declaration_rolled_back_in_the_database_leaves_no_file(villager_a):
    with pytest.raises(REFUSED):
        declare(villager_a, request=failing_request())
    assert not Declaration.objects.exists()
    assert stored_files() == []


def test_a_declaration_that_succeeds_keeps_its_photo(villager_a):
    declaration = declare(villager_a)
    assert [path.name for path in stored_files()] == [Path(declaration.photo.name).name]
