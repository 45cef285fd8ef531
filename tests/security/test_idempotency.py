"""Every money-like POST carries a client key: the same key from two threads at once has one
effect, and the same key with a different body is refused.

Each thread is a separate browser tab of the same user, on its own database connection.
"""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import IdempotencyKey
from points.models import Entry, Proposal
from store.models import Redemption
from tests.security.concurrent import at_once, tabs_of
from tests.store.conftest import add_to_cart, confirm_form

pytestmark = pytest.mark.django_db(transaction=True)


def tabs(cast, role, count=2):
    return [cast.client(role) for _ in range(count)]


def key():
    return uuid.uuid4().hex


def messages_of(client) -> str:
    return " ".join(str(m) for m in client.get(reverse("home"), follow=True).context["messages"])


def test_redemption_confirm_twice_at_once_charges_once(cast):
    household = cast.household_a
    household.account.refresh_from_db()
    before = household.account.balance
    url = reverse("store:counter_confirm", args=[household.pk])
    browser = cast.client("manager_x")
    add_to_cart(browser, household, cast.item, 2)
    data = confirm_form(browser, household)
    first, second = at_once(tabs_of(browser, 2), url, data)
    assert first.url == second.url  # both show the one receipt
    assert Redemption.objects.filter(idempotency_key=data["key"]).count() == 1
    household.account.refresh_from_db()
    assert household.account.balance == before - 2 * cast.item.points_price
    # The same key with another cart is refused and charges nothing.
    client = cast.client("manager_x")
    other = client.post(url, data | {f"line_{cast.item.pk}": "3"})
    assert other.status_code == 302
    assert "different cart" in messages_of(client)
    household.account.refresh_from_db()
    assert household.account.balance == before - 2 * cast.item.points_price


def test_proposal_twice_at_once_proposes_once(cast):
    url = reverse("points:proposal_new")
    data = {
        "rule": cast.rule.pk,
        "households": [cast.household_a.pk],
        "reason": "cleaned the well",
        "occurred_on": timezone.localdate().isoformat(),
        "idempotency_key": key(),
        "again": "on",  # the cast's household A has this rule's proposal today already
    }
    at_once(tabs(cast, "manager_x"), url, data)
    assert Proposal.objects.filter(reason="cleaned the well").count() == 1
    refused = cast.client("manager_x").post(url, {**data, "reason": "cleaned two wells"})
    assert refused.status_code == 200
    assert "already sent with different content" in refused.content.decode()
    assert not Proposal.objects.filter(reason="cleaned two wells").exists()


def test_approval_twice_at_once_posts_one_entry(cast):
    # Not household B's: sent up (the cast's referral), it is the county's to decide.
    pending = cast.batch.proposals.exclude(pk=cast.referral.object_id).values_list("pk", flat=True)
    url = reverse("points:approval_decide")
    data = {"action": "approve", "proposal": list(pending), "idempotency_key": key()}
    entries = Entry.objects.count()
    at_once(tabs(cast, "supervisor_x", 3), url, data)
    assert Entry.objects.count() == entries + len(pending)
    assert set(Proposal.objects.filter(pk__in=pending).values_list("status", flat=True)) == {
        Proposal.Status.APPROVED
    }
    client = cast.client("supervisor_x")
    client.post(url, {**data, "action": "reject", "rejection_reason": "changed my mind"})
    assert "already sent with different content" in messages_of(client)
    assert Entry.objects.count() == entries + len(pending)


def test_void_twice_at_once_voids_once(cast):
    redemption = cast.redemption
    url = reverse("store:redemption_void", args=[redemption.pk])
    data = {"reason": "wrong household", "idempotency_key": key()}
    first, second = at_once(tabs(cast, "supervisor_x"), url, data)
    assert first.url == second.url
    redemption.refresh_from_db()
    assert redemption.is_voided
    assert Entry.objects.filter(reverses=redemption.entry).count() == 1
    assert IdempotencyKey.objects.filter(key=data["idempotency_key"]).count() == 1
    client = cast.client("supervisor_x")
    client.post(url, {**data, "reason": "another reason"})
    assert "already sent with different content" in messages_of(client)


def test_reversal_twice_at_once_reverses_once(cast):
    entry = cast.entry
    url = reverse("points:entry_reverse", args=[entry.pk])
    data = {"reason": "wrong household", "idempotency_key": key()}
    balance = entry.account.balance
    at_once(tabs(cast, "supervisor_x"), url, data)
    assert Entry.objects.filter(reverses=entry).count() == 1
    entry.account.refresh_from_db()
    assert entry.account.balance == balance - entry.points
    client = cast.client("supervisor_x")
    client.post(url, {**data, "reason": "another reason"})
    assert "already sent with different content" in messages_of(client)


@pytest.mark.parametrize(
    "name", ["points:entry_reverse", "store:redemption_void", "points:approval_decide"]
)
def test_money_posts_without_a_key_are_refused(cast, name):
    """A POST with no key (an old page, a script) changes nothing."""
    kwargs = {
        "points:entry_reverse": {"pk": cast.entry.pk},
        "store:redemption_void": {"pk": cast.redemption.pk},
        "points:approval_decide": {},
    }[name]
    data = {
        "reason": "x",
        "action": "approve",
        "proposal": [p.pk for p in cast.batch.proposals.all()],
    }
    entries = Entry.objects.count()
    client = cast.client("supervisor_x")
    client.post(reverse(name, kwargs=kwargs), data)
    assert "expired" in messages_of(client)
    assert Entry.objects.count() == entries
