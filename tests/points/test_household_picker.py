"""The proposal and activity forms' household picker: a GET search, add and remove, and a
member list limited to the one household chosen."""

import datetime
import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.test import RequestFactory
from django.urls import reverse

from points.models import Batch, Proposal, Rule
from points.services import proposal_create
from tests.conftest import form_key, issue_card
from tests.factories import HouseholdFactory, MemberFactory, VillageGroupFactory
from tests.points.conftest import make_rule, today
from tests.security.concurrent import at_once_each, tabs_of
from villagers.card_views import card_login_url

NEW = reverse("points:proposal_new")
ACTIVITY = reverse("points:activity_new")


def picked(response) -> list[int]:
    """The households chosen on the page: the POST form's hidden fields, in order."""
    return [int(pk) for pk in re.findall(r'name="households" value="(\d+)"', response.text)]


def searched_along(response) -> list[int]:
    """The chosen households the search form carries along (its hidden fields)."""
    return [int(pk) for pk in re.findall(r'name="household" value="(\d+)"', response.text)]


def found(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'name="add" value="(\d+)"', response.text)]


@pytest.fixture
def village_of_many(card_a, card_b, group_x, manager_x, village_x):
    """Household A and B, and 24 more with cards in a second group, one without a card."""
    other = VillageGroupFactory(village=village_x, name="杜河沟")
    many = [
        issue_card(HouseholdFactory(group=other, head_name=f"杜{index:02d}"), manager_x).household
        for index in range(24)
    ]
    HouseholdFactory(group=group_x, head_name="王无卡")
    return {"a": card_a.household, "b": card_b.household, "many": many}


@pytest.mark.parametrize("url", [NEW, ACTIVITY])
def test_the_form_lists_no_household_until_one_is_searched(client_manager_x, village_of_many, url):
    page = client_manager_x.get(url)
    assert page.status_code == 200
    assert 'type="checkbox"' not in page.text
    assert not found(page) and not picked(page)
    assert "杜00" not in page.text and 'name="find"' in page.text


@pytest.mark.parametrize("url", [NEW, ACTIVITY])
def test_a_scanned_card_is_added_at_once_and_the_box_emptied(
    client_manager_x, village_of_many, card_a, card_b, url
):
    """A scanner types the card's QR code (the card login's address) and Enter: that
    household is added, the box is empty for the next card, the picks so far kept."""
    a, b = village_of_many["a"], village_of_many["b"]
    scanned = card_login_url(RequestFactory().get("/"), card_b.number)
    assert len(scanned) > 50
    page = client_manager_x.get(url, {"find": scanned, "household": [a.pk]})
    assert picked(page) == [a.pk, b.pk] and not found(page)
    assert re.search(r'name="find" value=""', page.text)
    # On the household list the same scan finds the household too.
    households = client_manager_x.get(reverse("reports:household_list"), {"q": scanned})
    assert households.status_code == 200
    assert list(households.context["page"].object_list) == [b]


@pytest.mark.parametrize("url", [NEW, ACTIVITY])
def test_another_villages_card_scanned_is_said_to_be_one(
    client_manager_x, village_of_many, card_y, url
):
    """Found by a probe: it said "No household with a points card matches", as of a card
    mistyped; it says the card is another village's, naming nobody, and adds nobody."""
    scanned = card_login_url(RequestFactory().get("/"), card_y.number)
    page = client_manager_x.get(url, {"find": scanned})
    text = html.unescape(page.text)
    assert f"Card {card_y.number} is another village's card." in text
    assert not picked(page) and card_y.household.head_name not in text


@pytest.mark.parametrize("url", [NEW, ACTIVITY])
def test_search_narrows_by_name_card_or_group_and_keeps_what_was_typed(
    client_manager_x, village_of_many, url
):
    a, b = village_of_many["a"], village_of_many["b"]
    page = client_manager_x.get(url, {"find": "王大"})
    assert found(page) == [a.pk]
    assert 'name="find" value="王大"' in page.text
    assert found(client_manager_x.get(url, {"find": b.cards.get().number})) == [b.pk]
    group = client_manager_x.get(url, {"find": "杜河沟"})
    assert len(found(group)) == 20  # the first twenty shown; more can be added all at once
    assert "More households match" in group.text
    assert "王无卡" not in client_manager_x.get(url, {"find": "王"}).text  # no card: no points


def test_add_and_remove_keep_the_selection_across_searches(client_manager_x, village_of_many):
    a, b = village_of_many["a"], village_of_many["b"]
    page = client_manager_x.get(NEW, {"household": a.pk, "find": "李秀", "add": b.pk})
    assert picked(page) == [a.pk, b.pk] == searched_along(page)
    assert found(page) == []  # the one match is chosen now: no Add button, marked instead
    assert re.search(rf'data-household="{b.pk}">.*?badge[^>]*>chosen<', page.text, re.S)
    page = client_manager_x.get(NEW, {"household": [a.pk, b.pk], "remove": a.pk})
    assert picked(page) == [b.pk]
    page = client_manager_x.get(NEW, {"household": [b.pk, "x", "99999999", b.pk]})
    assert picked(page) == [b.pk]  # anything else is dropped, each household once


def test_add_all_takes_every_match(client_manager_x, village_of_many):
    a = village_of_many["a"]
    page = client_manager_x.get(NEW, {"household": a.pk, "find": "杜河沟", "add_all": "1"})
    assert picked(page) == [a.pk] + [h.pk for h in village_of_many["many"]]


def test_the_household_page_starts_the_form_with_its_household(client_manager_x, card_a):
    page = client_manager_x.get(NEW, {"household": card_a.household_id})
    assert picked(page) == [card_a.household_id]


def member_options(response) -> list[str]:
    select = re.search(r'<select name="member".*?</select>', response.text, re.S)
    return re.findall(r'<option value="(\d+)"', select.group(0)) if select else []


def test_the_member_list_appears_for_one_household_with_its_members_only(
    client_manager_x, village_of_many
):
    a, b = village_of_many["a"], village_of_many["b"]
    own = [
        MemberFactory(household=a, name="李梅", relation="spouse", birth_year=1970),
        MemberFactory(household=a, name="王小", relation="child", birth_year=2001),
    ]
    MemberFactory(household=b, name="李梅", relation="head", birth_year=1958)
    assert member_options(client_manager_x.get(NEW)) == []
    one = client_manager_x.get(NEW, {"household": a.pk})
    assert member_options(one) == [str(m.pk) for m in own]
    assert "李梅 · spouse · 1970" in one.text and "1958" not in one.text
    assert member_options(client_manager_x.get(NEW, {"household": [a.pk, b.pk]})) == []


@pytest.fixture
def proposal_body(rule_honour):
    def body(households, **extra):
        return {
            "rule": rule_honour.pk,
            "households": [h.pk for h in households],
            "reason": "孝敬老人",
            "occurred_on": today().isoformat(),
            "idempotency_key": form_key(),
            **extra,
        }

    return body


def test_a_member_of_another_household_cannot_be_sent(
    client_manager_x, village_of_many, proposal_body
):
    a, b = village_of_many["a"], village_of_many["b"]
    stranger = MemberFactory(household=b, name="李梅")
    own = MemberFactory(household=a, name="李梅")
    refused = client_manager_x.post(NEW, proposal_body([a], member=stranger.pk))
    assert refused.status_code == 200
    assert "Choose a member of the one household chosen." in refused.text
    assert picked(refused) == [a.pk]  # the choice survives the refusal
    batch = client_manager_x.post(NEW, proposal_body([a, b], member=own.pk))
    assert batch.status_code == 200 and "Choose a member" in batch.text  # no member for a batch
    assert not Proposal.objects.exists()
    sent = client_manager_x.post(NEW, proposal_body([a], member=own.pk))
    assert sent.status_code == 302
    assert Proposal.objects.get().member == own


def test_the_service_still_refuses_another_households_member(
    village_x, card_a, card_b, manager_x, rule_honour
):
    stranger = MemberFactory(household=card_b.household)
    with pytest.raises(ValidationError, match="must belong to the household"):
        proposal_create(
            village=village_x,
            households=[card_a.household],
            rule=rule_honour,
            reason="孝敬老人",
            occurred_on=today(),
            actor=manager_x,
            member=stranger,
        )
    assert not Proposal.objects.exists()


def test_several_households_picked_make_one_batch(client_manager_x, village_of_many, proposal_body):
    households = [village_of_many["a"], village_of_many["b"], *village_of_many["many"][:3]]
    response = client_manager_x.post(NEW, proposal_body(households))
    assert response.status_code == 302
    batch = Batch.objects.get()
    assert set(batch.proposals.values_list("household_id", flat=True)) == {h.pk for h in households}


def test_the_same_deed_entered_again_is_asked_about_before_it_is_sent(
    client_manager_x, village_of_many, proposal_body
):
    """A batch re-entered after its reply was lost: the page names who already has a
    proposal of that rule and day, sends nothing, and sends on a ticked box."""
    a, b = village_of_many["a"], village_of_many["b"]
    first = proposal_body([a])
    assert client_manager_x.post(NEW, first).status_code == 302
    # The same form sent twice (a double click, a retry) is the first one's answer.
    assert client_manager_x.post(NEW, first).status_code == 302
    again = client_manager_x.post(NEW, proposal_body([a, b]))
    assert again.status_code == 200 and "Already proposed for the same rule and day" in again.text
    assert [p.household for p in again.context["repeated"]] == [a]
    assert Proposal.objects.count() == 1
    assert picked(again) == [a.pk, b.pk]  # the choice survives
    body = proposal_body([a, b], again="on")
    assert client_manager_x.post(NEW, body).status_code == 302
    assert Proposal.objects.filter(household=a).count() == 2
    # Another day is another deed: no question asked.
    other_day = proposal_body([b], occurred_on=(today() - datetime.timedelta(days=1)).isoformat())
    assert client_manager_x.post(NEW, other_day).status_code == 302


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", [NEW, ACTIVITY])
def test_the_same_deed_sent_from_two_tabs_at_once_is_proposed_once(
    client_manager_x, card_a, card_b, rule_honour, village_x, url
):
    """Two tabs, each drawn with its own key, sent at the same moment: both passed the
    page's question before either was saved, and the supervisor got the deed twice. The
    service asks it again under the households' locks: one is proposed, the other page asks."""
    rule = rule_honour
    if url == ACTIVITY:
        rule = make_rule(village_x, "C01", 2, category=Rule.Category.COLLECTIVE_ACTIVITY)
    households = [card_a.household.pk, card_b.household.pk]
    bodies = [
        {
            "rule": rule.pk,
            "households": households,
            "reason": "孝敬老人",
            "title": "孝敬老人",
            "occurred_on": today().isoformat(),
            "date": today().isoformat(),
            "idempotency_key": form_key(),
        }
        for _tab in range(2)
    ]
    answers = at_once_each(tabs_of(client_manager_x, 2), url, bodies)
    assert Proposal.objects.count() == 2  # one proposal for each household, once
    asked = [answer for answer in answers if answer.status_code == 200]
    assert len(asked) == 1 and "Already proposed for the same rule and day" in asked[0].text
    assert {p.household_id for p in asked[0].context["repeated"]} == set(households)


def test_nothing_picked_says_how_to_pick(client_manager_x, card_a, proposal_body):
    response = client_manager_x.post(NEW, proposal_body([]))
    assert response.status_code == 200
    assert "search for it and press Add" in response.text
    assert not Proposal.objects.exists()


def test_a_household_of_another_village_cannot_be_picked(
    client_manager_x, card_a, card_y, proposal_body
):
    y = card_y.household
    assert picked(client_manager_x.get(NEW, {"household": y.pk})) == []
    assert found(client_manager_x.get(NEW, {"find": y.head_name})) == []
    response = client_manager_x.post(NEW, proposal_body([card_a.household, y]))
    assert response.status_code == 200 and not Proposal.objects.exists()


def test_activity_attendance_from_the_picker_and_scanned_cards(
    client_manager_x, village_of_many, rule_capped
):
    a, b = village_of_many["a"], village_of_many["b"]
    page = client_manager_x.get(ACTIVITY, {"find": "王大", "add": a.pk})
    assert picked(page) == [a.pk]
    response = client_manager_x.post(
        ACTIVITY,
        {
            "title": "义务打扫村道",
            "rule": rule_capped.pk,
            "date": today().isoformat(),
            "households": [a.pk],
            "card_numbers": b.cards.get().number,
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 302
    assert set(Batch.objects.get().proposals.values_list("household_id", flat=True)) == {
        a.pk,
        b.pk,
    }


def test_the_picker_page_is_small_and_its_queries_fixed(
    client_manager_x, village_of_many, django_assert_max_num_queries
):
    chosen = [h.pk for h in village_of_many["many"][:10]]
    with django_assert_max_num_queries(12):
        page = client_manager_x.get(NEW, {"household": chosen, "find": "杜"})
    assert picked(page) == chosen and len(found(page)) == 10  # 20 shown, 10 of them chosen
    assert len(page.content) < 60_000


def test_without_javascript_a_search_keeps_what_was_typed_below(
    client_manager_x, village_of_many, rule_honour
):
    """Found by a probe: without JavaScript the picker was a form of its own, and a search
    reloaded the page without what was typed in the proposal below it. The picker is part
    of the proposal form: its buttons (and Enter) send the whole form, which comes back as
    typed with the picker worked, and only the send button proposes."""
    a, b = village_of_many["a"], village_of_many["b"]
    typed = {
        "households": [a.pk],
        "rule": rule_honour.pk,
        "points": "25",
        "override_reason": "只照顾了半个月",
        "reason": "照顾瘫痪婆婆",
        "occurred_on": (today() - datetime.timedelta(days=2)).isoformat(),
        "idempotency_key": form_key(),
        "find": "李秀",
    }
    page = client_manager_x.post(NEW, typed)  # Enter in Find, or its Search button
    assert page.status_code == 200 and not Proposal.objects.exists()
    assert found(page) == [b.pk] and picked(page) == [a.pk]
    for value in ("照顾瘫痪婆婆", "只照顾了半个月", typed["occurred_on"]):
        assert f'value="{value}"' in page.text
    assert 'name="points" value="25"' in page.text
    assert re.search(rf'<option value="{rule_honour.pk}" selected>', page.text)
    added = client_manager_x.post(NEW, {**typed, "add": b.pk})
    assert picked(added) == [a.pk, b.pk] and 'value="照顾瘫痪婆婆"' in added.text
    removed = client_manager_x.post(NEW, {**typed, "households": [a.pk, b.pk], "remove": a.pk})
    assert picked(removed) == [b.pk] and 'value="照顾瘫痪婆婆"' in removed.text
    assert not Proposal.objects.exists()
    # Enter with Find empty sends nothing either, and says so; the send button sends.
    entered = client_manager_x.post(NEW, {**typed, "find": ""})
    assert entered.status_code == 200 and entered.context["picker_only_checked"]
    assert not Proposal.objects.exists()
    sent = client_manager_x.post(NEW, {**typed, "find": "", "send": "1"})
    assert sent.status_code == 302
    proposal = Proposal.objects.get()
    assert (proposal.household, proposal.points, proposal.reason) == (a, 25, "照顾瘫痪婆婆")


def test_without_javascript_a_search_keeps_the_activity_typed_below(
    client_manager_x, village_of_many, rule_capped
):
    """Found by a probe: the activity form kept its picker as a GET form of its own, and a
    search without JavaScript reloaded the page without the title, rule, place and card
    numbers typed below it. As on the proposal form, the picker's buttons (and Enter) send
    the whole form, which comes back as typed; only the send button sends the batch."""
    a, b = village_of_many["a"], village_of_many["b"]
    many = village_of_many["many"][0]
    typed = {
        "households": [a.pk],
        "title": "义务打扫村道",
        "rule": rule_capped.pk,
        "date": (today() - datetime.timedelta(days=1)).isoformat(),
        "place": "村口到学校",
        "card_numbers": many.cards.get().number,
        "idempotency_key": form_key(),
        "find": "李秀",
    }
    page = client_manager_x.post(ACTIVITY, typed)  # Enter in Find, or its Search button
    assert page.status_code == 200 and not Batch.objects.exists()
    assert found(page) == [b.pk] and picked(page) == [a.pk]
    for value in ("义务打扫村道", "村口到学校", typed["date"]):
        assert f'value="{value}"' in page.text
    assert re.search(rf">\s*{typed['card_numbers']}</textarea>", page.text)
    assert re.search(rf'<option value="{rule_capped.pk}" selected>', page.text)
    assert not page.context["picker_only_checked"]
    added = client_manager_x.post(ACTIVITY, {**typed, "add": b.pk})
    assert picked(added) == [a.pk, b.pk] and 'value="村口到学校"' in added.text
    entered = client_manager_x.post(ACTIVITY, {**typed, "households": [a.pk, b.pk], "find": ""})
    assert entered.status_code == 200 and entered.context["picker_only_checked"]
    assert "Send the batch for approval" in entered.text and not Batch.objects.exists()
    sent = client_manager_x.post(
        ACTIVITY, {**typed, "households": [a.pk, b.pk], "find": "", "send": "1"}
    )
    assert sent.status_code == 302
    batch = Batch.objects.get()
    assert (batch.title, batch.place) == ("义务打扫村道", "村口到学校")
    assert set(batch.proposals.values_list("household_id", flat=True)) == {a.pk, b.pk, many.pk}


@pytest.mark.parametrize("url", [NEW, ACTIVITY])
def test_with_javascript_enter_says_nothing_was_sent(client_manager_x, village_of_many, url):
    """Enter in a box of the form, with htmx, GETs the picker alone (marked `enter`): with
    Find empty the page's note says nothing was sent, swapped in beside the picker."""
    a = village_of_many["a"]
    entered = client_manager_x.get(url, {"household": a.pk, "find": "", "enter": "1"})
    note = re.search(r'<div id="enter-note" role="status">(.*?)</div>\s', entered.text, re.S)
    assert entered.context["picker_only_checked"] and "Not sent yet" in note.group(1)
    assert picked(entered) == [a.pk]
    searched = client_manager_x.get(url, {"household": a.pk, "find": "李秀", "enter": "1"})
    assert not searched.context["picker_only_checked"] and "Not sent yet" not in searched.text
    assert "Not sent yet" not in client_manager_x.get(url, {"household": a.pk}).text


@pytest.mark.parametrize("url", [NEW, ACTIVITY])
def test_a_card_scanned_with_javascript_is_not_answered_as_enter(
    client_manager_x, village_of_many, card_b, url
):
    """Found by a browser probe: a card scanned into Find (its QR code, then the scanner's
    Enter) with htmx added the household and also said "Not sent yet: Enter only checks
    the form", as if the manager had tried to send; without JavaScript it said nothing.
    The picker empties Find after a scan, and the note read the emptied box."""
    a, b = village_of_many["a"], village_of_many["b"]
    scanned = card_login_url(RequestFactory().get("/"), card_b.number)
    page = client_manager_x.get(url, {"household": a.pk, "find": scanned, "enter": "1"})
    assert picked(page) == [a.pk, b.pk]
    assert not page.context["picker_only_checked"] and "Not sent yet" not in page.text
