"""Every audited action, done through the pages as a real user would, from a known address."""

import uuid

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from points.models import Proposal
from tests.conftest import PASSWORD, PIN, form_key
from tests.factories import HouseholdFactory, ParticipationFactory, PassedInspectionFactory
from tests.store.conftest import add_to_cart, confirm_form
from tests.villagers.conftest import valid_id

ADDRESS = "203.0.113.7"
WRONG_PASSWORD = "Wrong-Horse-99"
WRONG_PIN = "9753"
NEW_MEMBER_ID = valid_id("61063019900202567")
NEW_MEMBER_PHONE = "13566667777"
# A name of nobody that is a phone number, and an API key of no token.
NOBODY_PHONE = "13700001111"
UNKNOWN_KEY = "Zq9xUnknownKeyOfNoTokenAtAll-0123456789abcd"


def _key() -> str:
    return uuid.uuid4().hex


def _client(cast, role) -> Client:
    client = Client(REMOTE_ADDR=ADDRESS)
    client.force_login(cast.users[role])
    return client


def _ok(response, what):
    assert response.status_code in (200, 302), (what, response.status_code)
    if response.status_code == 200 and "form" in (response.context or {}):
        assert not response.context["form"].errors, (what, response.context["form"].errors)
    return response


def perform_every_action(cast) -> list[tuple[str, str | None, int | None]]:
    """Do each audited action once; returns (action, actor username, village id) expected."""
    village = cast.village_x.pk
    today = timezone.localdate().isoformat()
    manager = _client(cast, "manager_x")
    supervisor = _client(cast, "supervisor_x")
    expected = []

    # Sign-ins: a success and a failure of each kind (the failures name no one who exists
    # for the staff case, and household B's card for the villager case).
    Client(REMOTE_ADDR=ADDRESS).post(
        reverse("login"), {"username": "manager_x", "password": PASSWORD}
    )
    expected.append(("login", "manager_x", village))
    Client(REMOTE_ADDR=ADDRESS).post(
        reverse("card_login"), {"card_number": cast.card_a.number, "pin": PIN}
    )
    expected.append(("login", cast.users["villager_a"].username, village))
    Client(REMOTE_ADDR=ADDRESS).post(
        reverse("login"), {"username": "supervisor_x", "password": WRONG_PASSWORD}
    )
    expected.append(("login.failed", None, village))
    card_b = cast.household_b.cards.get()
    Client(REMOTE_ADDR=ADDRESS).post(
        reverse("card_login"), {"card_number": card_b.number, "pin": WRONG_PIN}
    )
    expected.append(("login.failed", None, village))
    # A name of nobody and a key of no token: the whole site's (no village).
    Client(REMOTE_ADDR=ADDRESS).post(
        reverse("login"), {"username": NOBODY_PHONE, "password": WRONG_PASSWORD}
    )
    expected.append(("login.failed", None, None))
    refused = Client(REMOTE_ADDR=ADDRESS).get(
        "/api/v1/overview", HTTP_AUTHORIZATION=f"Bearer {UNKNOWN_KEY}"
    )
    assert refused.status_code == 401
    expected.append(("api.refused", None, None))

    # Card issue for a new household that meets the prerequisites.
    newcomer = HouseholdFactory(group=cast.group_x, head_name="孙新户", number="X099")
    PassedInspectionFactory(household=newcomer)
    ParticipationFactory(household=newcomer)
    _ok(
        manager.post(
            reverse("points:card_issue", args=[newcomer.pk]),
            {"pin": "1739", "pin_again": "1739", "idempotency_key": _key()},
        ),
        "card issue",
    )
    expected.append(("card.issue", "manager_x", village))

    # Proposal, approval, rejection, reversal.
    def propose(reason):
        _ok(
            manager.post(
                reverse("points:proposal_new"),
                {
                    "rule": cast.rule.pk,
                    "households": [cast.household_a.pk],
                    "reason": reason,
                    "occurred_on": today,
                    "idempotency_key": _key(),
                    "again": "on",  # three deeds of one rule and day, on purpose
                },
            ),
            "proposal",
        )
        return Proposal.objects.filter(reason=reason).get()

    approved = propose("swept the lane")
    expected.append(("proposal.create", "manager_x", village))
    _ok(
        supervisor.post(
            reverse("points:approval_decide"),
            {"action": "approve", "proposal": [approved.pk], "idempotency_key": _key()},
        ),
        "approve",
    )
    expected.append(("proposal.approve", "supervisor_x", village))
    rejected = propose("claimed twice")
    _ok(
        supervisor.post(
            reverse("points:approval_decide"),
            {
                "action": "reject",
                "proposal": [rejected.pk],
                "rejection_reason": "already counted",
                "idempotency_key": _key(),
            },
        ),
        "reject",
    )
    expected.append(("proposal.reject", "supervisor_x", village))
    approved.refresh_from_db()
    _ok(
        supervisor.post(
            reverse("points:entry_reverse", args=[approved.entry_id]),
            {"reason": "wrong household", "idempotency_key": _key()},
        ),
        "reverse",
    )
    expected.append(("entry.reverse", "supervisor_x", village))

    # Stock movements: purchase, stock-take, write-off, donated goods.
    item = cast.item
    _ok(
        manager.post(
            reverse("store:stock_in"),
            {
                "item": item.pk,
                "quantity": 5,
                "fund_source": "civil_affairs",
                "cost_yuan": "9.50",
                "idempotency_key": _key(),
            },
        ),
        "stock in",
    )
    expected.append(("stock.purchase", "manager_x", village))
    item.refresh_from_db()
    _ok(
        manager.post(
            reverse("store:item_stock_take", args=[item.pk]),
            {
                "counted": item.stock - 1,
                "expected": item.stock,
                "reason": "one bag torn open",
                "idempotency_key": _key(),
            },
        ),
        "stock take",
    )
    expected.append(("stock.count", "manager_x", village))
    _ok(
        manager.post(
            reverse("store:item_write_off", args=[item.pk]),
            {
                "quantity": 1,
                "cause": "spoiled",
                "reason": "damp",
                # Another loss than the count's shortfall waiting, which the form shows.
                "another_loss": ",".join(
                    str(pk) for pk in item.corrections.values_list("pk", flat=True)
                ),
                "idempotency_key": _key(),
            },
        ),
        "write off",
    )
    expected.append(("stock.write_off_request", "manager_x", village))
    # The supervisor confirms both: only then does the stock move.
    _ok(
        supervisor.post(
            reverse("store:corrections_decide"),
            {
                "action": "confirm",
                "correction": list(item.corrections.values_list("pk", flat=True)),
                "idempotency_key": _key(),
            },
        ),
        "confirm the count and the write-off",
    )
    expected.append(("stock.take", "supervisor_x", village))
    expected.append(("stock.write_off", "supervisor_x", village))
    _ok(
        manager.post(
            reverse("store:donation_create"),
            {
                "new_donor_name": "延安爱心企业",
                "new_donor_kind": "company",
                "kind": "goods",
                "received_on": today,
                "value_yuan": "80",
                "thanks": "感谢",
                "goods-TOTAL_FORMS": "1",
                "goods-INITIAL_FORMS": "0",
                "goods-0-item": item.pk,
                "goods-0-quantity": "2",
                "idempotency_key": _key(),
            },
        ),
        "donation",
    )
    expected.append(("donation.record", "manager_x", village))
    _ok(
        manager.post(
            reverse("reports:donation_thanks_revoke", args=[cast.donation.pk]),
            {"idempotency_key": _key()},
        ),
        "thanks link revoke",
    )
    expected.append(("donation.thanks_revoke", "manager_x", village))

    # Redemption at the counter, then its void.
    add_to_cart(manager, cast.household_a, item)
    response = _ok(
        manager.post(
            reverse("store:counter_confirm", args=[cast.household_a.pk]),
            confirm_form(manager, cast.household_a),
        ),
        "redemption",
    )
    assert "/redemptions/" in response.url, response.url
    redemption_pk = int(response.url.rstrip("/").split("/")[-1])
    expected.append(("redemption.create", "manager_x", village))
    _ok(
        supervisor.post(
            reverse("store:redemption_void", args=[redemption_pk]),
            {"reason": "wrong household", "idempotency_key": _key()},
        ),
        "void",
    )
    expected.append(("redemption.void", "supervisor_x", village))

    # Personal data: a member registered with an ID number, then the audited full-ID view.
    _ok(
        manager.post(
            reverse("villagers:member_create", args=[cast.household_b.pk]),
            {
                "name": "李小花",
                "relation": "spouse",
                "sex": "F",
                "birth_year": 1990,
                "id_number": NEW_MEMBER_ID,
                "phone": NEW_MEMBER_PHONE,
                "idempotency_key": _key(),
            },
        ),
        "member create",
    )
    expected.append(("member.create", "manager_x", village))
    shown = _ok(
        manager.post(reverse("villagers:member_view_id", args=[cast.member_a.pk])), "view id"
    )
    assert cast.member_a.id_number in shown.content.decode()
    expected.append(("member.view_id", "manager_x", village))

    # Recall household B's card (last: it signs B out).
    _ok(
        manager.post(
            reverse("villagers:card_recall", args=[cast.household_b.pk]),
            {"reason": "moved", "idempotency_key": form_key()},
        ),
        "recall",
    )
    expected.append(("card.recall", "manager_x", village))
    return expected
