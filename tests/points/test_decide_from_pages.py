"""The supervisor approves or rejects from a proposal's or a batch's own page, as in the
queue (points.views.approvals), and goes back to the queue's place or on to the next item."""

import html
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from core.access import Role
from points.models import Entry, Proposal
from points.services import proposal_approve
from tests.conftest import form_key, make_staff
from tests.points.conftest import propose
from tests.security.concurrent import at_once_each, tabs_of
from villagers.middleware import COUNTY_VILLAGE_SESSION_KEY
from villagers.models import Referral
from villagers.services import card_recall


def detail(proposal, **place) -> str:
    url = reverse("points:proposal_detail", args=[proposal.pk])
    return f"{url}?{urlencode(place)}" if place else url


def decide(proposal, **place) -> str:
    url = reverse("points:proposal_decide", args=[proposal.pk])
    return f"{url}?{urlencode(place)}" if place else url


def decide_forms(page: str) -> list[str]:
    """The page's forms that decide a proposal or a batch."""
    return re.findall(r'<form[^>]*action="[^"]*/decide/[^"]*"[^>]*>.*?</form>', page, re.S)


def said(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def statuses() -> dict[int, str]:
    return dict(Proposal.objects.values_list("pk", "status"))


def test_the_queue_links_each_item_and_batch_to_its_page_at_the_queues_place(
    client_supervisor_x, card_a, card_b, manager_x, rule_clean, rule_capped
):
    batch = propose(manager_x, [card_a.household, card_b.household], rule_capped)
    single = propose(manager_x, [card_a.household], rule_clean)[0]
    page = client_supervisor_x.get(reverse("points:approval_queue")).text
    for proposal in [*batch, single]:
        assert f'href="{detail(proposal)}"' in page
    assert f'href="{reverse("points:batch_detail", args=[batch[0].batch_id])}"' in page
    # From a filtered queue, the links carry its place: the pages lead back to it.
    filtered = client_supervisor_x.get(
        reverse("points:approval_queue"), {"rule": rule_clean.pk, "reason": "1"}
    ).text
    assert f'href="{detail(single)}?rule={rule_clean.pk}"' in filtered


def test_the_supervisor_approves_from_the_page_and_is_led_back_and_on(
    client_supervisor_x, card_a, card_b, manager_x, rule_clean
):
    first, second = (
        propose(manager_x, [card.household], rule_clean)[0] for card in (card_a, card_b)
    )
    place = {"rule": rule_clean.pk, "page": "1"}
    page = client_supervisor_x.get(detail(first, **place)).text
    forms = decide_forms(page)
    assert len(forms) == 2  # approve; reject with its reason (Enter there never approves)
    for form in forms:
        assert 'name="csrfmiddlewaretoken"' in form and 'name="idempotency_key"' in form
        assert 'autocomplete="off"' in form
    assert 'value="approve"' in forms[0] and "rejection_reason" not in forms[0]
    assert 'value="reject"' in forms[1] and "required" in forms[1]
    key = re.search(r'name="idempotency_key" value="([^"]+)"', forms[0]).group(1)

    response = client_supervisor_x.post(
        decide(first, **place), {"action": "approve", "idempotency_key": key}
    )
    assert response.status_code == 302 and response.url == detail(first, **place)
    after = client_supervisor_x.get(response.url)
    assert "1 approved; the points are in the ledger." in said(after)
    assert after.context["proposal"].status == Proposal.Status.APPROVED
    assert not decide_forms(after.text)  # decided: nothing more to press
    queue = reverse("points:approval_queue")
    assert f'href="{queue}?rule={rule_clean.pk}&amp;page=1"' in after.text
    assert f'href="{detail(second)}?rule={rule_clean.pk}&amp;page=1"' in after.text
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 105

    # The last one decided, nothing else waits: the page says so, and leads back.
    client_supervisor_x.post(decide(second), {"action": "approve", "idempotency_key": form_key()})
    last = client_supervisor_x.get(detail(second)).text
    assert "Nothing else waits for you to decide." in last
    assert f'href="{queue}"' in last


def test_a_rejection_asks_for_its_reason_then_is_made(
    client_supervisor_x, card_a, manager_x, rule_clean
):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    key = form_key()
    asked = client_supervisor_x.post(
        decide(proposal, group="7"), {"action": "reject", "idempotency_key": key}, follow=True
    )
    assert "Give the reason for the rejection." in said(asked)
    assert asked.redirect_chain[-1][0] == detail(proposal, group="7", reason="1") + (
        "#rejection_reason"
    )
    box = re.search(r'<input[^>]*id="rejection_reason"[^>]*>', asked.text).group(0)
    assert "autofocus" in box and "is-invalid" in box
    assert statuses() == {proposal.pk: "proposed"}
    # The same form, with its reason: its key was not used up by the refusal.
    done = client_supervisor_x.post(
        decide(proposal, group="7"),
        {"action": "reject", "rejection_reason": "照片看不清", "idempotency_key": key},
    )
    assert done.url == detail(proposal, group="7")
    proposal.refresh_from_db()
    assert proposal.status == "rejected" and proposal.rejection_reason == "照片看不清"
    assert "1 rejected." in said(client_supervisor_x.get(done.url))


def test_a_form_sent_twice_with_its_key_decides_once(
    client_supervisor_x, card_a, manager_x, rule_clean
):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    body = {"action": "approve", "idempotency_key": form_key()}
    client_supervisor_x.post(decide(proposal), body)
    again = client_supervisor_x.post(decide(proposal), body, follow=True)
    assert "This decision was already recorded." in said(again)
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == 1


def test_the_services_refusals_are_said_in_words(
    client_supervisor_x, card_a, card_b, manager_x, supervisor_x, rule_clean
):
    """Decided meanwhile (another tab, another supervisor), a card recalled since."""
    first, second = (
        propose(manager_x, [card.household], rule_clean)[0] for card in (card_a, card_b)
    )
    proposal_approve(proposal_ids=[first.pk], actor=supervisor_x)
    late = client_supervisor_x.post(
        decide(first),
        {"action": "reject", "rejection_reason": "不对", "idempotency_key": form_key()},
        follow=True,
    )
    assert "王大山: this proposal was already decided (approved and credited)." in said(late)
    card_recall(household=card_b.household, actor=manager_x, reason="搬走了")
    recalled = client_supervisor_x.post(
        decide(second), {"action": "approve", "idempotency_key": form_key()}, follow=True
    )
    head = card_b.household.head_name
    assert f"{head}: its card was recalled" in " ".join(said(recalled))
    assert statuses() == {first.pk: "approved", second.pk: "proposed"}
    # Rejecting it is what is left to do, from the same page.
    assert len(decide_forms(recalled.text)) == 2


def test_who_may_decide_from_the_page(
    client_supervisor_x,
    client_manager_x,
    client_villager_a,
    card_a,
    manager_x,
    supervisor_x,
    village_y,
    county_admin,
    rule_clean,
):
    """Only the village's supervisor, never on their own proposal (DESIGN.md rule 8); the
    manager, the county and another village's supervisor read the page with nothing to press."""
    other = make_staff(Role.SUPERVISOR, village=supervisor_x.village, username="sup_2")
    (by_manager,) = propose(manager_x, [card_a.household], rule_clean)
    (by_supervisor,) = propose(supervisor_x, [card_a.household], rule_clean)
    body = {"action": "approve", "idempotency_key": form_key()}

    # The proposer: the page says who else may; sent anyway, it is refused in those words.
    own = client_supervisor_x.get(detail(by_supervisor)).text
    assert not decide_forms(own)
    assert "This started with you (王大山): someone else must decide it." in own
    assert "It can be done by: sup_2." in own
    refused = client_supervisor_x.post(decide(by_supervisor), body, follow=True)
    assert any("someone else must decide it" in line for line in said(refused))
    assert Proposal.objects.get(pk=by_supervisor.pk).status == "proposed"
    assert not Referral.objects.exists()  # another supervisor may: nothing sent up
    second = Client()
    second.force_login(other)
    assert len(decide_forms(second.get(detail(by_supervisor)).text)) == 2
    second.post(decide(by_supervisor), {**body, "idempotency_key": form_key()})
    assert Proposal.objects.get(pk=by_supervisor.pk).status == "approved"

    # The manager and the county read it, with nothing to press, and may not send it.
    assert not decide_forms(client_manager_x.get(detail(by_manager)).text)
    assert client_manager_x.post(decide(by_manager), body).status_code == 403
    county = Client()
    county.force_login(county_admin)
    session = county.session
    session[COUNTY_VILLAGE_SESSION_KEY] = supervisor_x.village_id
    session.save()
    page = county.get(detail(by_manager))
    assert page.status_code == 200 and not decide_forms(page.text)
    assert county.post(decide(by_manager), body).status_code == 403
    # A villager: neither.
    assert client_villager_a.get(detail(by_manager)).status_code == 403
    assert client_villager_a.post(decide(by_manager), body).status_code == 403
    # Another village's supervisor: the page and the button say it is another village's.
    elsewhere = Client()
    elsewhere.force_login(make_staff(Role.SUPERVISOR, village=village_y, username="sup_y"))
    for response in (elsewhere.get(detail(by_manager)), elsewhere.post(decide(by_manager), body)):
        assert response.status_code == 404
        assert "This is another village's proposal" in html.unescape(response.text)
    assert Proposal.objects.get(pk=by_manager.pk).status == "proposed"


def test_what_waits_for_the_county_is_not_decided_from_the_page(
    client_supervisor_x, card_a, manager_x, rule_clean
):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    page_before = client_supervisor_x.get(detail(proposal)).text
    assert len(decide_forms(page_before)) == 2
    Referral.objects.create(
        village=proposal.village,
        household=proposal.household,
        kind=Referral.Kind.PROPOSAL,
        object_id=proposal.pk,
        why="test: sent up",
        requested_by=manager_x,
    )
    page = client_supervisor_x.get(detail(proposal)).text
    assert not decide_forms(page) and "Waiting for the township or the county" in page
    # Pressed on the page drawn before it was sent up: nothing is decided, and it says why.
    late = client_supervisor_x.post(
        decide(proposal), {"action": "approve", "idempotency_key": form_key()}, follow=True
    )
    assert any("This waits for the township or the county" in line for line in said(late))
    assert statuses() == {proposal.pk: "proposed"}


def test_a_batch_is_decided_from_its_page(
    client_supervisor_x, card_a, card_b, manager_x, rule_capped, rule_clean
):
    first = propose(manager_x, [card_a.household, card_b.household], rule_capped)
    batch_id = first[0].batch_id
    second = propose(manager_x, [card_a.household, card_b.household], rule_clean, again=True)
    single = propose(manager_x, [card_a.household], rule_clean, again=True)[0]
    page_url = reverse("points:batch_detail", args=[batch_id])
    page = client_supervisor_x.get(page_url, {"proposer": manager_x.pk}).text
    forms = decide_forms(page)
    assert len(forms) == 2 and "Approve whole batch" in forms[0]
    # The next waiting item after a batch is the next batch's page.
    following = reverse("points:batch_detail", args=[second[0].batch_id])
    assert f'href="{following}?proposer={manager_x.pk}"' in page
    decide_url = reverse("points:batch_decide", args=[batch_id])
    answer = client_supervisor_x.post(
        f"{decide_url}?proposer={manager_x.pk}",
        {"action": "reject", "rejection_reason": "没有签到表", "idempotency_key": form_key()},
    )
    assert answer.url == f"{page_url}?proposer={manager_x.pk}"
    after = client_supervisor_x.get(answer.url)
    assert "2 rejected." in said(after) and not decide_forms(after.text)
    assert {statuses()[p.pk] for p in first} == {"rejected"}
    # The last batch leads on to the proposal of no batch, on its own page.
    last = client_supervisor_x.get(reverse("points:batch_detail", args=[second[0].batch_id]))
    assert f'href="{detail(single)}"' in last.text
    client_supervisor_x.post(
        reverse("points:batch_decide", args=[second[0].batch_id]),
        {"action": "approve", "idempotency_key": form_key()},
    )
    assert {statuses()[p.pk] for p in second} == {"approved"}
    # Decided already (another tab): it says so.
    late = client_supervisor_x.post(
        decide_url, {"action": "approve", "idempotency_key": form_key()}, follow=True
    )
    assert "Nothing of this batch is waiting any more: it was decided." in said(late)


def test_the_next_item_follows_the_queues_order_and_comes_round_from_the_top(
    client_supervisor_x, card_a, card_b, manager_x, rule_capped, rule_clean
):
    batch = propose(manager_x, [card_a.household, card_b.household], rule_capped)
    loose = [propose(manager_x, [card.household], rule_clean)[0] for card in (card_a, card_b)]
    order = [*batch, *loose]  # the queue's: the batch's together, then the rest, oldest first
    for here, after in zip(order, [*order[1:], order[0]], strict=True):
        page = client_supervisor_x.get(detail(here)).text
        next_link = re.search(r'href="([^"]*)"[^>]*>Next waiting item<', page).group(1)
        assert next_link == detail(after), (here.pk, after.pk)
    # The queue's filters hold: with the rule of the loose ones, the batch is not next.
    page = client_supervisor_x.get(detail(loose[1], rule=rule_clean.pk)).text
    assert f'href="{detail(loose[0])}?rule={rule_clean.pk}"' in page


@pytest.mark.django_db(transaction=True)
def test_two_decisions_at_once_on_one_proposal_make_one(
    client_supervisor_x, card_a, manager_x, rule_clean
):
    """Two tabs of the page, each with its own key, approve and reject at the same moment:
    one decision is made; the other is told it was decided already."""
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    bodies = [
        {"action": "approve", "idempotency_key": form_key()},
        {"action": "reject", "rejection_reason": "重复了", "idempotency_key": form_key()},
    ]
    answers = at_once_each(tabs_of(client_supervisor_x, 2), decide(proposal), bodies)
    assert all(answer.status_code == 302 for answer in answers)
    proposal.refresh_from_db()
    assert proposal.status in ("approved", "rejected")
    entries = Entry.objects.filter(kind=Entry.Kind.AWARD).count()
    assert entries == (1 if proposal.status == "approved" else 0)
    told = [str(m) for answer in answers for m in answer.wsgi_request._messages]
    assert len([line for line in told if "already decided" in line]) == 1, told
