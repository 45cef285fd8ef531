"""Points typed on the points pages: full-width digits are digits, other scripts' are refused.

Found by an outside attack: '٣', '९' and '1_0' were taken as 3, 9 and 10 in a proposal's
points (Python's int() reads them all).
"""

import pytest
from django.urls import reverse

from points.models import Proposal, Rule
from tests.points.conftest import today

HOSTILE = ["٣", "९", "1_0", "1e1", "+٣", "1 0", "９_"]


def _proposal(rule, household, points, key):
    return {
        "rule": rule.pk,
        "households": [household.pk],
        "points": points,
        "override_reason": "twice the work",
        "reason": "yard swept",
        "occurred_on": today().isoformat(),
        "idempotency_key": key,
    }


@pytest.mark.parametrize("points", HOSTILE)
def test_proposal_points_in_other_digits_are_refused(client_manager_x, card_a, rule_clean, points):
    url = reverse("points:proposal_new")
    response = client_manager_x.post(
        url, _proposal(rule_clean, card_a.household, points, "number-test-key-k1")
    )
    assert response.status_code == 200
    assert "digits 0-9" in response.context["form"].errors["points"][0]
    assert not Proposal.objects.exists()


def test_proposal_points_typed_full_width_are_the_number(
    client_manager_x, card_a, rule_clean, rule_litter
):
    url = reverse("points:proposal_new")
    data = _proposal(rule_clean, card_a.household, "９", "number-test-key-k2")
    assert client_manager_x.post(url, data).status_code == 302
    assert Proposal.objects.get().points == 9
    deduction = _proposal(rule_litter, card_a.household, "－２５", "number-test-key-k3")
    assert client_manager_x.post(url, deduction).status_code == 302
    assert Proposal.objects.get(rule=rule_litter).points == -25


def test_declaration_accept_points_are_read_the_same_way(client_manager_x, card_a, rule_clean):
    from points.services import declaration_submit

    declaration = declaration_submit(
        user=card_a.household.users.get(), description="helped a neighbour", occurred_on=today()
    )
    url = reverse("points:declaration_accept", args=[declaration.pk])
    body = {"rule": rule_clean.pk, "reason": "r", "override_reason": "more", "points": "٧"}
    refused = client_manager_x.post(url, {**body, "idempotency_key": "number-test-key-d1"})
    assert refused.status_code == 400 and refused.context["accept_form"].errors["points"]
    assert not Proposal.objects.exists()
    accepted = client_manager_x.post(
        url, {**body, "points": "７", "idempotency_key": "number-test-key-d2"}
    )
    assert accepted.status_code == 302
    assert Proposal.objects.get().points == 7


def test_rule_points_and_cap(client_manager_x, village_x):
    data = {"code": "E09", "category": "environment", "description": "clean", "active": "on"}
    url = reverse("points:rule_add")
    for points, cap in (("١٠", ""), ("10", "٢٠"), ("1_0", ""), ("10", "-5")):
        page = client_manager_x.post(url, {**data, "points": points, "monthly_cap": cap})
        assert page.status_code == 200 and page.context["form"].errors, (points, cap)
    assert not Rule.objects.filter(code="E09").exists()
    assert (
        client_manager_x.post(url, {**data, "points": "１０", "monthly_cap": "２０"}).status_code
        == 302
    )
    rule = Rule.objects.get(code="E09")
    assert (rule.points, rule.monthly_cap) == (10, 20)


def test_activity_card_numbers_typed_full_width(client_manager_x, card_a, rule_capped):
    wide = card_a.number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    data = {
        "title": "义务打扫村道",
        "rule": rule_capped.pk,
        "date": today().isoformat(),
        "card_numbers": wide,
        "idempotency_key": "number-test-key-a1",
    }
    assert client_manager_x.post(reverse("points:activity_new"), data).status_code == 302
    assert Proposal.objects.get().household_id == card_a.household_id
