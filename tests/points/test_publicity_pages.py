"""Publicity pages: objecting from the notice, the supervisor's page, the villager's phone view.

Who may do what: objection by people of the village only (other village 404, county admin
403), resolving and settling held deductions by the village's supervisor only.
"""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.access import Role
from points.models import Account, Entry, Objection, Proposal
from points.publicity import objection_raise, proposals_credit_due
from points.services import entry_post, proposal_approve
from tests.conftest import form_key, issue_card, make_staff
from tests.points.conftest import propose


@pytest.fixture
def publicity_x(village_x):
    village_x.publicity_days = 3
    village_x.save()
    return village_x


@pytest.fixture
def waiting(publicity_x, card_a, card_b, manager_x, supervisor_x, rule_clean):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean, reason="院内种花")
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    proposal.refresh_from_db()
    return proposal


@pytest.fixture
def objection(waiting, villager_b):
    return objection_raise(proposal_id=waiting.pk, actor=villager_b, reason="他家没有种花")


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_notice_lists_entries_in_publicity_with_an_object_button(waiting, client_villager_b):
    page = client_villager_b.get(reverse("reports:notice")).content.decode()
    assert "In publicity, open to objection" in page
    assert "院内种花" in page
    assert reverse("points:objection_new", args=[waiting.pk]) in page
    # When objections close, to the minute (the day alone read as the whole of that day).
    assert timezone.localtime(waiting.credit_due_at).strftime("%Y-%m-%d %H:%M") in page


@pytest.mark.parametrize("first", ["manager", "secretary"])
def test_the_object_button_shows_to_who_may_object_whoever_drew_the_page_first(
    waiting, manager_x, secretary_x, client_county, village_x, first
):
    """The notice and the month report are kept drawn in the cache: the button must follow
    the reader, not whoever drew the page first (the party secretary and the county only
    read)."""
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    readers = {"manager": client_for(manager_x), "secretary": client_for(secretary_x)}
    readers["county"] = client_county
    order = [first, *(reader for reader in readers if reader != first)]
    button = reverse("points:objection_new", args=[waiting.pk])
    for page in (reverse("reports:notice"), reverse("reports:month_report_current")):
        shown = {}
        for reader in order:
            response = readers[reader].get(page)
            assert response.status_code == 200, (page, reader)
            shown[reader] = button in response.content.decode()
        assert shown == {"manager": True, "secretary": False, "county": False}, page


def test_notice_shows_cancelled_entries_with_the_reason(
    objection, waiting, supervisor_x, client_villager_a
):
    response = client_for(supervisor_x).post(
        reverse("points:objection_resolve", args=[objection.pk]),
        {"decision": "uphold", "resolution": "经核实未种花", "idempotency_key": form_key()},
    )
    assert response.status_code == 302
    page = client_villager_a.get(reverse("reports:notice")).content.decode()
    assert "Cancelled before crediting" in page
    assert "经核实未种花" in page
    assert reverse("points:objection_new", args=[waiting.pk]) not in page


def test_villager_files_an_objection(waiting, client_villager_b, villager_b):
    url = reverse("points:objection_new", args=[waiting.pk])
    assert client_villager_b.get(url).status_code == 200
    response = client_villager_b.post(url, {"reason": "他家院子里没有花"})
    assert response.status_code == 302
    objection = Objection.objects.get()
    assert (objection.raised_by, objection.reason) == (villager_b, "他家院子里没有花")


def test_empty_objection_is_a_form_error(waiting, client_villager_b):
    response = client_villager_b.post(
        reverse("points:objection_new", args=[waiting.pk]), {"reason": ""}
    )
    assert response.status_code == 200
    assert not Objection.objects.exists()


def test_objection_refused_once_the_period_is_over(waiting, client_villager_b):
    Proposal.objects.filter(pk=waiting.pk).update(credit_due_at=waiting.decided_at)
    url = reverse("points:objection_new", args=[waiting.pk])
    response = client_villager_b.post(url, {"reason": "late"})
    assert "no longer in its publicity period" in response.content.decode()
    assert not Objection.objects.exists()


def test_who_reaches_the_objection_page(
    waiting,
    client_anon,
    client_manager_x,
    client_supervisor_x,
    client_manager_y,
    county_admin,
    card_y,
    village_x,
):
    url = reverse("points:objection_new", args=[waiting.pk])
    assert client_anon.get(url).status_code == 302  # to the login page
    assert client_manager_x.get(url).status_code == 200
    assert client_supervisor_x.get(url).status_code == 200
    assert client_manager_y.post(url, {"reason": "x"}).status_code == 404
    villager_y = card_y.household.users.get(is_staff=False)
    assert client_for(villager_y).post(url, {"reason": "x"}).status_code == 404
    county = client_for(county_admin)
    county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    assert county.post(url, {"reason": "x"}).status_code == 403
    assert not Objection.objects.exists()


def test_publicity_page_for_staff_only(
    objection, client_villager_a, client_manager_x, client_supervisor_x, client_manager_y
):
    url = reverse("points:publicity")
    assert client_villager_a.get(url).status_code == 403
    manager_page = client_manager_x.get(url).content.decode()
    assert "他家没有种花" in manager_page
    assert reverse("points:objection_resolve", args=[objection.pk]) not in manager_page
    supervisor_page = client_supervisor_x.get(url).content.decode()
    assert reverse("points:objection_resolve", args=[objection.pk]) in supervisor_page
    assert "他家没有种花" not in client_manager_y.get(url).content.decode()


def test_only_the_supervisor_resolves(objection, client_manager_x, client_villager_a, manager_y):
    url = reverse("points:objection_resolve", args=[objection.pk])
    data = {"decision": "uphold", "resolution": "x"}
    assert client_manager_x.post(url, data).status_code == 403
    assert client_villager_a.post(url, data).status_code == 403
    supervisor_y = make_staff(Role.SUPERVISOR, village=manager_y.village, username="sup_y")
    assert client_for(supervisor_y).post(url, data).status_code == 404
    assert (
        client_for(supervisor_y)
        .get(reverse("points:objection_resolve", args=[objection.pk]))
        .status_code
        == 405
    )
    objection.refresh_from_db()
    assert objection.status == Objection.Status.OPEN


def test_supervisor_dismisses(objection, waiting, client_supervisor_x):
    response = client_supervisor_x.post(
        reverse("points:objection_resolve", args=[objection.pk]),
        {"decision": "dismiss", "idempotency_key": form_key()},
    )
    assert response.status_code == 302
    objection.refresh_from_db()
    assert objection.status == Objection.Status.DISMISSED


def test_upholding_without_reason_is_a_message_not_a_500(objection, client_supervisor_x):
    response = client_supervisor_x.post(
        reverse("points:objection_resolve", args=[objection.pk]),
        {"decision": "uphold", "resolution": "", "idempotency_key": form_key()},
        follow=True,
    )
    assert "reason for upholding" in response.content.decode()
    objection.refresh_from_db()
    assert objection.status == Objection.Status.OPEN


@pytest.fixture
def held(publicity_x, card_a, manager_x, supervisor_x, rule_litter):
    (fine,) = propose(manager_x, [card_a.household], rule_litter)
    proposal_approve(proposal_ids=[fine.pk], actor=supervisor_x)
    fine.refresh_from_db()
    account = Account.objects.get(household=card_a.household)
    entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-95, actor=manager_x)
    proposals_credit_due(now=fine.credit_due_at)
    fine.refresh_from_db()
    assert fine.status == Proposal.Status.HELD
    return fine


def test_held_deduction_shown_and_settled_by_the_supervisor(
    held, client_supervisor_x, client_manager_x, client_manager_y
):
    page = client_supervisor_x.get(reverse("points:publicity")).content.decode()
    assert "Held entries" in page and "Not enough points" in page
    keys = re.findall(r'name="idempotency_key" value="([^"]+)"', page)
    assert len(keys) == 2 and len(set(keys)) == 2  # credit and cancel: one key per form
    cancel = reverse("points:held_cancel", args=[held.pk])
    credit = reverse("points:held_credit", args=[held.pk])
    assert client_manager_x.post(cancel, {"reason": "x"}).status_code == 403
    assert client_manager_y.post(cancel, {"reason": "x"}).status_code == 403
    response = client_supervisor_x.post(credit, {"idempotency_key": form_key()}, follow=True)
    assert "Not enough points" in response.content.decode()
    client_supervisor_x.post(cancel, {"reason": "改为批评教育", "idempotency_key": form_key()})
    held.refresh_from_db()
    assert held.status == Proposal.Status.CANCELLED


def test_phone_page_shows_pending_in_publicity_with_crediting_date(waiting, client_villager_a):
    page = client_villager_a.get(reverse("points:me")).content.decode()
    assert "Approved, in publicity" in page
    # To the minute: an objection at 23:00 of that day was refused while the page said the day.
    moment = timezone.localtime(waiting.credit_due_at).strftime("%Y-%m-%d %H:%M")
    assert f"credited on {moment}" in page


def test_phone_page_of_another_household_shows_nothing_of_it(waiting, client_villager_b):
    page = client_villager_b.get(reverse("points:me")).content.decode()
    assert "Approved, in publicity" not in page


def test_approval_page_says_when_it_will_be_credited(
    publicity_x, card_a, manager_x, client_supervisor_x, rule_clean
):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    response = client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"action": "approve", "proposal": [proposal.pk], "idempotency_key": "a" * 32},
        follow=True,
    )
    assert "credited after 3 days" in response.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PUBLICITY


def test_publicity_page_query_count_is_flat(
    django_assert_max_num_queries,
    publicity_x,
    group_x,
    manager_x,
    supervisor_x,
    rule_clean,
    villager_a,
    client_supervisor_x,
):
    from tests.conftest import issue_card
    from tests.factories import HouseholdFactory

    homes = [HouseholdFactory(group=group_x, number=f"Q{i:02d}") for i in range(15)]
    for home in homes:
        issue_card(home, manager_x)
    proposals = propose(manager_x, homes, rule_clean)
    proposal_approve(proposal_ids=[p.pk for p in proposals], actor=supervisor_x)
    for proposal in proposals[:8]:
        objection_raise(proposal_id=proposal.pk, actor=villager_a, reason="疑问")
    client_supervisor_x.get(reverse("points:publicity"))
    with django_assert_max_num_queries(14):
        assert client_supervisor_x.get(reverse("points:publicity")).status_code == 200
    with django_assert_max_num_queries(22):
        assert client_supervisor_x.get(reverse("reports:notice")).status_code == 200


def test_notice_lists_an_award_in_the_month_it_is_credited(waiting, client_supervisor_x):
    # Approved weeks ago (a held deduction can wait that long too), credited only now.
    long_ago = timezone.now() - datetime.timedelta(days=40)
    Proposal.objects.filter(pk=waiting.pk).update(
        decided_at=long_ago, credit_due_at=long_ago + datetime.timedelta(days=3)
    )
    assert proposals_credit_due().credited == [waiting.pk]

    def awards(day):
        # The supervisor reads the earlier month's draft (villagers see it once published).
        url = reverse("reports:notice_month", args=[day.year, day.month])
        page = client_supervisor_x.get(url)
        sections = {section.key: section for section in page.context["sections"]}
        return [row[4] for row in sections["awards"].rows]

    assert awards(timezone.localdate()) == ["院内种花"]
    assert awards(timezone.localdate(long_ago)) == []


@pytest.mark.parametrize("status", ["proposed", "rejected", "held"])
def test_a_villager_never_sees_another_households_unpublished_proposal(
    status, waiting, client_villager_a, client_villager_b, client_manager_x
):
    """Found by an attack: the objection page showed any proposal of the village by its id
    (a rejected deduction, with the head's name), only saying it could not be objected to."""
    url = reverse("points:objection_new", args=[waiting.pk])
    assert client_villager_b.get(url).status_code == 200  # in publicity: on the notice anyway
    Proposal.objects.filter(pk=waiting.pk).update(
        status=status, rejection_reason="不属实", hold_reason="积分不足"
    )
    url = reverse("points:objection_new", args=[waiting.pk])
    assert client_villager_b.get(url).status_code == 404
    assert client_villager_b.post(url, {"reason": "x"}).status_code == 404
    assert client_villager_a.get(url).status_code == 200  # their own household's
    assert client_manager_x.get(url).status_code == 200  # the village's staff
    assert not Objection.objects.exists()


def _dismissed_message(client, objection):
    from django.contrib.messages import get_messages

    response = client.post(
        reverse("points:objection_resolve", args=[objection.pk]),
        {"decision": "dismiss", "resolution": "", "idempotency_key": form_key()},
    )
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_dismissing_after_the_period_says_the_entry_is_credited_now(
    objection, waiting, client_supervisor_x, card_a
):
    """Found by a probe: the supervisor read "credited when its period ends" of an entry
    credited that moment, or held."""
    Proposal.objects.filter(pk=waiting.pk).update(credit_due_at=timezone.now())
    assert _dismissed_message(client_supervisor_x, objection) == [
        "Objection dismissed: the entry is credited."
    ]
    assert card_a.household.account.entries.filter(kind="award").exists()


def test_dismissing_while_another_objection_is_open_says_so(
    objection, waiting, client_supervisor_x, villager_a
):
    objection_raise(proposal_id=waiting.pk, actor=villager_a, reason="我也不信")
    (said,) = _dismissed_message(client_supervisor_x, objection)
    assert "Another objection to this entry is still open" in said


def test_dismissing_a_deduction_the_balance_no_longer_bears_says_it_is_held(
    publicity_x, card_a, manager_x, supervisor_x, rule_litter, client_supervisor_x, villager_b
):
    (fine,) = propose(manager_x, [card_a.household], rule_litter)
    proposal_approve(proposal_ids=[fine.pk], actor=supervisor_x)
    account = Account.objects.get(household=card_a.household)
    entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-95, actor=manager_x)
    objection = objection_raise(proposal_id=fine.pk, actor=villager_b, reason="不对")
    Proposal.objects.filter(pk=fine.pk).update(credit_due_at=timezone.now())
    (said,) = _dismissed_message(client_supervisor_x, objection)
    assert said.startswith("Objection dismissed. The entry is held: Not enough points")


def test_a_reason_too_long_is_said_to_be_too_long_and_nothing_is_done(
    objection, waiting, held, client_supervisor_x
):
    """Found by a probe: 301 characters (a script, past the field's maxlength) were answered
    "Choose uphold or dismiss." and "Give the reason for cancelling.\""""
    from django.contrib.messages import get_messages

    long = "长" * 301
    for url, data in (
        (
            reverse("points:objection_resolve", args=[objection.pk]),
            {"decision": "uphold", "resolution": long},
        ),
        (reverse("points:held_cancel", args=[held.pk]), {"reason": long}),
    ):
        response = client_supervisor_x.post(url, {**data, "idempotency_key": form_key()})
        (said,) = [str(message) for message in get_messages(response.wsgi_request)]
        assert "at most 300 characters" in said, said
        client_supervisor_x.get(reverse("points:publicity"))  # the message read
    objection.refresh_from_db()
    held.refresh_from_db()
    assert objection.status == Objection.Status.OPEN
    assert held.status == Proposal.Status.HELD


def test_a_held_award_is_called_an_award_when_credited_or_cancelled(
    publicity_x, card_a, card_b, manager_x, supervisor_x, rule_clean, client_supervisor_x
):
    """An award is held too, when its household's card was recalled: settling it said "The
    deduction was credited" (or cancelled) all the same."""
    from villagers.services import card_recall

    awards = propose(manager_x, [card_a.household, card_b.household], rule_clean)
    proposal_approve(proposal_ids=[award.pk for award in awards], actor=supervisor_x)
    for award in awards:
        card_recall(household=award.household, actor=manager_x, reason="搬走了")
    awards[0].refresh_from_db()
    proposals_credit_due(now=awards[0].credit_due_at)
    assert {award.status for award in Proposal.objects.all()} == {Proposal.Status.HELD}
    cancel = reverse("points:held_cancel", args=[awards[0].pk])
    data = {"reason": "已搬走", "idempotency_key": form_key()}
    assert _told(client_supervisor_x.post(cancel, data, follow=True)) == [
        "The award was cancelled."
    ]
    issue_card(awards[1].household, manager_x)
    credit = reverse("points:held_credit", args=[awards[1].pk])
    response = client_supervisor_x.post(credit, {"idempotency_key": form_key()}, follow=True)
    assert _told(response) == ["The award was credited."]
    assert Proposal.objects.get(pk=awards[1].pk).status == Proposal.Status.APPROVED


def _told(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]
