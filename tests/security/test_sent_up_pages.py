"""An item sent up to the township or the county (DESIGN.md ledger rule 8) is not offered
again in the village: its page says it waits there, with the link to the Sent up page, and
has no button to decide it; a form drawn before it was sent up is refused, changing nothing.

Found by a probe: the wish's page offered the supervisor "Match with a donor" and "Mark as
fulfilled" again, and the household's page the card's buttons and a member's PIN, as if
nothing waited (the settlement, a reversal and a void were fixed before: tests/points/
test_settlement.py, tests/security/test_second_person.py).
"""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.conftest import form_key
from tests.factories import MemberFactory
from villagers.models import Card, Referral, User
from villagers.services import card_recall
from wishwall import services as wish_services
from wishwall.models import Wish

WAITING = "Waiting for the township or the county"


def _wish(card, villager, manager, supervisor, matched=False) -> Wish:
    wish = wish_services.wish_post(
        household=card.household, actor=villager, title="轮椅", kind="health", story="腿"
    )
    wish_services.wish_moderate(wish=wish, actor=manager, hide_household=False)
    if matched:
        wish_services.wish_match(
            wish=wish, actor=supervisor, new_donor_name="顺达公司", new_donor_kind="company"
        )
    return wish


def _sent_up(kind, obj, household, actor) -> Referral:
    return Referral.objects.create(
        village=household.village,
        household=household,
        kind=kind,
        object_id=obj.pk,
        request={"reason": "asked first"},
        why="本户是监督员自己家",
        requested_by=actor,
    )


# A stale POST is tried where it carries no PIN: a PIN is chosen again (refusal_or_referral).
CASES = [
    "card_issue",
    "wish_match",
    "wish_fulfil",
    "card_recall",
    "card_replace",
    "pin_reset",
    "member_pin",
]


@pytest.mark.parametrize("kind", CASES)
def test_an_item_sent_up_is_not_offered_again_in_the_village(
    kind, card_a, villager_a, manager_x, supervisor_x
):
    household = card_a.household
    if kind.startswith("wish"):
        wish = _wish(card_a, villager_a, manager_x, supervisor_x, matched=kind == "wish_fulfil")
        obj, who, page = wish, supervisor_x, reverse("wishwall:detail", args=[wish.pk])
        button = reverse(f"wishwall:{kind.removeprefix('wish_')}", args=[wish.pk])
        stale = {
            "wish_match": {"new_donor_name": "另一家", "new_donor_kind": "company", "note": ""},
            "wish_fulfil": {
                "date": timezone.localdate().isoformat(),
                "given": "一辆轮椅",
                "thanks": "谢谢",
            },
        }[kind]
    elif kind == "member_pin":
        member = MemberFactory(household=household, name="王小花", relation="spouse")
        obj, who, page = member, manager_x, reverse("reports:household", args=[household.pk])
        button = reverse("villagers:member_pin", args=[member.pk])
        stale = None
    else:
        if kind == "card_issue":  # recalled: the next card is to be issued
            card_recall(household=household, actor=manager_x, reason="丢了")
        obj, who, page = household, manager_x, reverse("reports:household", args=[household.pk])
        namespace = "points" if kind == "card_issue" else "villagers"
        button = reverse(f"{namespace}:{kind}", args=[household.pk])
        stale = {"reason": "another reason"} if kind == "card_recall" else None
    # Sent up as it is when the one who presses lives in the household and nobody else may.
    User.objects.filter(pk=who.pk).update(household=household)
    referral = _sent_up(kind, obj, household, who)
    client = Client()
    client.force_login(who)

    text = client.get(page).content.decode()
    assert WAITING in text and reverse("reports:village_referrals") in text
    assert f'href="{button}"' not in text

    if stale is not None:  # a form drawn before it was sent up
        response = client.post(button, {**stale, "idempotency_key": form_key()}, follow=True)
        assert "nothing was changed" in response.content.decode()
        referral.refresh_from_db()
        assert referral.status == Referral.Status.OPEN
        assert referral.request == {"reason": "asked first"}
        if kind.startswith("wish"):
            wish.refresh_from_db()
            assert wish.status == ("open" if kind == "wish_match" else "matched")
        else:
            assert Card.objects.get(pk=card_a.pk).status == Card.Status.ACTIVE
    if kind == "card_issue":  # found by the probe: "Issue a card" was offered again
        assert not household.cards.filter(status=Card.Status.ACTIVE).exists()
