"""The proposal, activity and approval pages, including the one-time form key."""

import datetime
import html
import re

from django.urls import reverse

from points.models import Batch, Entry, Proposal
from tests.points.conftest import png_upload, propose, today

KEY = "test-form-key-000000001"


def test_propose_page_sends_one_proposal_for_approval(
    client_manager_x, card_a, rule_clean, manager_x
):
    url = reverse("points:proposal_new")
    page = client_manager_x.get(url, {"household": card_a.household_id})
    assert page.status_code == 200
    assert 'name="idempotency_key"' in page.content.decode()
    data = {
        "rule": rule_clean.pk,
        "households": [card_a.household_id],
        "reason": "yard swept",
        "occurred_on": today().isoformat(),
        "idempotency_key": KEY,
        "photo": png_upload(),
    }
    response = client_manager_x.post(url, data)
    assert response.status_code == 302
    assert response.url == reverse("points:proposals_mine")
    proposal = Proposal.objects.get()
    assert proposal.proposed_by == manager_x and proposal.photo
    assert not Entry.objects.filter(kind=Entry.Kind.AWARD).exists()

    data["photo"] = png_upload()
    again = client_manager_x.post(url, data, follow=True)
    assert "already sent" in again.content.decode()
    assert Proposal.objects.count() == 1

    data["reason"] = "something else"
    data["photo"] = png_upload()
    refused = client_manager_x.post(url, data)
    assert refused.status_code == 200
    assert "already sent with different content" in refused.content.decode()
    assert Proposal.objects.count() == 1


def test_propose_page_shows_service_refusals_as_form_errors(client_manager_x, card_a, rule_clean):
    data = {
        "rule": rule_clean.pk,
        "households": [card_a.household_id],
        "reason": "extra",
        "points": 9,
        "occurred_on": today().isoformat(),
        "idempotency_key": KEY,
    }
    response = client_manager_x.post(reverse("points:proposal_new"), data)
    assert response.status_code == 200
    assert "say why this proposal gives a different figure" in response.content.decode()
    assert not Proposal.objects.exists()
    # The key was not used up by the refused attempt: the corrected form goes through.
    data["override_reason"] = "twice the work"
    assert client_manager_x.post(reverse("points:proposal_new"), data).status_code == 302
    assert Proposal.objects.get().points == 9


def test_bad_photo_gets_a_clear_message(client_manager_x, card_a, rule_clean):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {
        "rule": rule_clean.pk,
        "households": [card_a.household_id],
        "reason": "r",
        "occurred_on": today().isoformat(),
        "idempotency_key": KEY,
        "photo": SimpleUploadedFile("x.jpg", b"MZ\x90\x00 exe", "image/jpeg"),
    }
    response = client_manager_x.post(reverse("points:proposal_new"), data)
    assert response.status_code == 200
    assert "This file is not a photo" in response.content.decode()
    assert not Proposal.objects.exists()


def test_activity_attendance_by_ticks_and_card_numbers_is_one_batch(
    client_manager_x, card_a, card_b, card_y, rule_capped
):
    data = {
        "title": "义务打扫村道",
        "rule": rule_capped.pk,
        "date": today().isoformat(),
        "place": "村道",
        "households": [card_a.household_id],
        "card_numbers": f"{card_b.number}\n\n{card_a.number}\n",
        "idempotency_key": KEY,
    }
    response = client_manager_x.post(reverse("points:activity_new"), data)
    batch = Batch.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("points:batch_detail", args=[batch.pk])
    assert batch.place == "村道"
    assert set(batch.proposals.values_list("household_id", flat=True)) == {
        card_a.household_id,
        card_b.household_id,
    }
    data["card_numbers"] = "999999999"
    data["idempotency_key"] = KEY + "x"
    bad = client_manager_x.post(reverse("points:activity_new"), data)
    assert "No active card of this village has the number: 999999999" in bad.content.decode()
    # Another village's card is said to be one (found by a probe), naming nobody.
    data["card_numbers"] = f"{card_y.number}\n999999999"
    data["idempotency_key"] = KEY + "y"
    page = html.unescape(client_manager_x.post(reverse("points:activity_new"), data).text)
    assert f"These are another village's cards: {card_y.number}" in page
    assert "No active card of this village has the number: 999999999" in page
    assert card_y.household.head_name not in page


def test_an_activity_entered_again_is_asked_about_before_it_is_sent(
    client_manager_x, card_a, card_b, rule_capped
):
    """Found by a probe posting every form from two tabs: the same labour day sent from
    each made two batches, where the proposal form asks first."""
    data = {
        "title": "义务打扫村道",
        "rule": rule_capped.pk,
        "date": today().isoformat(),
        "households": [card_a.household_id],
        "idempotency_key": KEY,
    }
    url = reverse("points:activity_new")
    assert client_manager_x.post(url, data).status_code == 302
    again = {**data, "households": [card_a.household_id, card_b.household_id]}
    asked = client_manager_x.post(url, {**again, "idempotency_key": KEY + "2"})
    assert asked.status_code == 200 and "Already proposed for the same rule and day" in asked.text
    assert [p.household for p in asked.context["repeated"]] == [card_a.household]
    assert Batch.objects.count() == 1
    sent = client_manager_x.post(url, {**again, "idempotency_key": KEY + "3", "again": "on"})
    assert sent.status_code == 302 and Batch.objects.count() == 2


def test_queue_approves_several_and_rejects_with_reason(
    client_supervisor_x, card_a, card_b, manager_x, rule_clean, rule_litter
):
    award_a = propose(manager_x, [card_a.household], rule_clean)[0]
    award_b = propose(manager_x, [card_b.household], rule_clean)[0]
    fine = propose(manager_x, [card_b.household], rule_litter)[0]
    queue = client_supervisor_x.get(reverse("points:approval_queue"))
    assert queue.status_code == 200
    assert "王大山" in queue.content.decode()

    decide = reverse("points:approval_decide")
    response = client_supervisor_x.post(
        decide,
        {"action": "approve", "proposal": [award_a.pk, award_b.pk], "idempotency_key": KEY},
        follow=True,
    )
    assert "2 approved" in response.content.decode()
    no_reason = client_supervisor_x.post(
        decide,
        {"action": "reject", "proposal": [fine.pk], "idempotency_key": KEY + "2"},
        follow=True,
    )
    assert "reason for the rejection" in no_reason.content.decode()
    # Back at the reason box (under the whole table), focused and marked, filters kept.
    assert no_reason.redirect_chain[-1][0].endswith("?reason=1#rejection_reason")
    box = re.search(r'<input[^>]*id="rejection_reason"[^>]*>', no_reason.text).group(0)
    assert "autofocus" in box and "is-invalid" in box
    # Sent from that page with a reason, it comes back to the queue as it was, unmarked.
    with_reason = client_supervisor_x.post(
        decide,
        {
            "action": "reject",
            "proposal": [fine.pk],
            "rejection_reason": "not seen",
            "next": no_reason.redirect_chain[-1][0].split("#")[0],
            "idempotency_key": KEY + "3",
        },
    )
    assert "reason=" not in with_reason.url and "#" not in with_reason.url
    statuses = dict(Proposal.objects.values_list("pk", "status"))
    assert statuses == {award_a.pk: "approved", award_b.pk: "approved", fine.pk: "rejected"}


def test_queue_approves_a_whole_batch_and_filters(
    client_supervisor_x, card_a, card_b, manager_x, rule_capped, rule_clean
):
    batch_proposals = propose(manager_x, [card_a.household, card_b.household], rule_capped)
    single = propose(manager_x, [card_a.household], rule_clean)[0]
    filtered = client_supervisor_x.get(
        reverse("points:approval_queue"), {"rule": rule_clean.pk}
    ).content.decode()
    assert f'name="proposal" value="{single.pk}"' in filtered
    assert f'name="proposal" value="{batch_proposals[0].pk}"' not in filtered

    batch_id = batch_proposals[0].batch_id
    client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{batch_id}", "idempotency_key": KEY},
    )
    assert set(Proposal.objects.filter(batch_id=batch_id).values_list("status", flat=True)) == {
        "approved"
    }
    # The same batch from a tab drawn before: it says the batch was decided.
    late = client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{batch_id}", "idempotency_key": KEY + "late"},
        follow=True,
    )
    assert "Nothing of this batch is waiting any more" in late.text
    single.refresh_from_db()
    assert single.status == Proposal.Status.PROPOSED


def test_a_decision_sent_without_its_button_decides_nothing_and_says_so(
    client_supervisor_x, card_a, card_b, manager_x, rule_capped, rule_clean
):
    """Enter in the reason box presses the queue's first button, a hidden one naming no
    action (before the batches' approve buttons): nothing is decided, not even by default."""
    batch = propose(manager_x, [card_a.household, card_b.household], rule_capped)
    single = propose(manager_x, [card_a.household], rule_clean)[0]
    queue = client_supervisor_x.get(reverse("points:approval_queue")).text
    decide = reverse("points:approval_decide")
    form = re.search(rf'<form[^>]*action="{decide}"[^>]*>.*?</form>', queue, re.S).group(0)
    first_button = re.search(r"<button\b[^>]*>", form).group(0)
    assert "name=" not in first_button and 'tabindex="-1"' in first_button

    sent = [
        {"proposal": [single.pk], "rejection_reason": "照片不清楚"},  # Enter in the box
        {"proposal": [single.pk], "action": "approve all"},
        {"proposal": [single.pk], "batch_action": "approve:"},  # a batch's, naming none
        {"proposal": [single.pk], "batch_action": f"sign:{batch[0].batch_id}"},
    ]
    for number, data in enumerate(sent):
        response = client_supervisor_x.post(
            decide, {**data, "idempotency_key": f"{KEY}{number}"}, follow=True
        )
        assert "Nothing was decided" in response.text, data
    assert set(Proposal.objects.values_list("status", flat=True)) == {"proposed"}


def _ticked(page: str) -> set[int]:
    return {
        int(pk)
        for pk in re.findall(r'<input[^>]*name="proposal" value="(\d+)"[^>]*\bchecked\b', page)
    }


def test_a_queue_sent_back_undecided_keeps_the_ticks_and_the_reason_once(
    client_supervisor_x, card_a, card_b, manager_x, rule_clean
):
    """Found with JavaScript off: after Enter in the reason box, or a rejection without its
    reason, the queue came back with nothing ticked and the reason gone, to do again."""
    first, second = propose(manager_x, [card_a.household], rule_clean) + propose(
        manager_x, [card_b.household], rule_clean
    )
    third = propose(manager_x, [card_a.household], rule_clean)[0]
    decide, queue = reverse("points:approval_decide"), reverse("points:approval_queue")
    client_supervisor_x.get(queue)  # drawn once: a cached table must not hide what was kept
    for number, data in enumerate(
        [
            {"proposal": [first.pk, third.pk], "rejection_reason": "照片不清楚"},  # Enter
            {
                "proposal": [first.pk, third.pk],
                "action": "reject",
                "rejection_reason": "照片不清楚",
            },
        ]
    ):
        sent = {**data, "idempotency_key": f"{KEY}k{number}"}
        if number == 1:  # a rejection without its reason, the same ticks
            sent["rejection_reason"] = ""
        page = client_supervisor_x.post(decide, sent, follow=True).text
        assert _ticked(page) == {first.pk, third.pk}
        if number == 0:
            assert 'value="照片不清楚"' in page
        assert second.pk not in _ticked(page)
        assert _ticked(client_supervisor_x.get(queue).text) == set()  # once only
    # A decision made: the queue comes back with nothing ticked.
    page = client_supervisor_x.post(
        decide,
        {"proposal": [third.pk], "action": "approve", "idempotency_key": f"{KEY}k3"},
        follow=True,
    ).text
    assert _ticked(page) == set()
    assert set(Proposal.objects.values_list("status", flat=True)) == {"proposed", "approved"}


def test_proposer_sees_own_pending_and_rejected(
    client_manager_x, card_a, manager_x, supervisor_x, rule_clean
):
    from points.services import proposal_reject

    pending, rejected = (propose(manager_x, [card_a.household], rule_clean)[0] for _i in "ab")
    proposal_reject(proposal_ids=[rejected.pk], actor=supervisor_x, reason="photo unclear")
    page = client_manager_x.get(reverse("points:proposals_mine")).content.decode()
    assert "photo unclear" in page
    assert page.count("王大山") == 2


def test_supervisor_reverses_an_entry_from_the_ledger_page(
    client_supervisor_x, card_a, manager_x, supervisor_x, rule_clean
):
    from points.services import proposal_approve

    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    proposal.refresh_from_db()
    url = reverse("points:entry_reverse", args=[proposal.entry_id])
    client_supervisor_x.post(url, {"reason": "wrong household", "idempotency_key": "k" * 20})
    again = client_supervisor_x.post(
        url, {"reason": "again", "idempotency_key": "j" * 20}, follow=True
    )
    assert "already been reversed" in again.content.decode()
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 100


def test_two_entries_reversed_from_one_drawing_of_the_ledger_page(
    client_supervisor_x, card_a, manager_x, supervisor_x, rule_clean
):
    """Each reverse button has its own key: the page once shared one, so the second
    reversal from it was refused as the first one's key with other content."""
    import re

    from points.services import proposal_approve

    proposals = propose(manager_x, [card_a.household], rule_clean) + propose(
        manager_x, [card_a.household], rule_clean
    )
    proposal_approve(proposal_ids=[p.pk for p in proposals], actor=supervisor_x)
    page = client_supervisor_x.get(
        reverse("points:household_ledger", args=[card_a.household_id])
    ).content.decode()
    keys = dict(
        re.findall(
            r'action="(/[^"]+/reverse/)"[^>]*>.*?name="idempotency_key" value="([^"]+)"', page
        )
    )
    assert len(keys) == 2 and len(set(keys.values())) == 2
    for action, key in keys.items():
        client_supervisor_x.post(action, {"reason": "wrong household", "idempotency_key": key})
    assert Entry.objects.filter(kind=Entry.Kind.REVERSAL).count() == 2


def test_a_reversal_reason_too_long_is_said_to_be_too_long(
    client_supervisor_x, card_a, manager_x, supervisor_x, rule_clean
):
    from points.services import proposal_approve

    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    proposal.refresh_from_db()
    response = client_supervisor_x.post(
        reverse("points:entry_reverse", args=[proposal.entry_id]),
        {"reason": "长" * 301, "idempotency_key": "k" * 20},
        follow=True,
    )
    assert "at most 300 characters" in response.text
    assert "Give the reason for the reversal." not in response.text
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 105


def test_the_activity_form_says_every_refusal_at_once(
    client_manager_x, card_a, manager_x, rule_capped
):
    """Found by a probe: the activity form said its refusals one at a time (an empty title
    and a mistyped card number; sent again, a date in the future; again, the monthly cap).
    Those that can be known together are now said together, and nothing is proposed."""
    url = reverse("points:activity_new")
    body = {
        "title": "",
        "rule": rule_capped.pk,
        "date": (today() + datetime.timedelta(days=1)).isoformat(),
        "households": [card_a.household_id],
        "card_numbers": "999999999",
        "idempotency_key": KEY,
    }
    response = client_manager_x.post(url, body)
    form = response.context["form"]
    assert set(form.errors) == {"title", "card_numbers", "__all__"}
    assert "The date cannot be in the future." in form.non_field_errors()
    propose(manager_x, [card_a.household], rule_capped)
    propose(manager_x, [card_a.household], rule_capped)  # the month's cap of 20 is used up
    capped = client_manager_x.post(
        url, {**body, "date": today().isoformat(), "card_numbers": "", "idempotency_key": KEY + "2"}
    )
    form = capped.context["form"]
    assert list(form.errors) == ["title", "__all__"]
    assert "at most 20 points a month; 20 already counted" in " ".join(form.non_field_errors())
    nobody = client_manager_x.post(url, {**body, "households": [], "card_numbers": ""})
    said = nobody.context["form"].non_field_errors()
    assert (
        "Add or scan at least one household." in said and "title" in nobody.context["form"].errors
    )
    assert not Batch.objects.exists()


def test_an_activity_sent_empty_is_refused_field_by_field(client_manager_x):
    response = client_manager_x.post(reverse("points:activity_new"), {})
    assert response.status_code == 200
    assert {"title", "rule", "date"} <= set(response.context["form"].errors)


def test_the_queue_is_paged_keeps_its_filters_and_says_how_many_wait(
    client_supervisor_x, card_a, card_b, manager_x, rule_clean, rule_litter, monkeypatch
):
    """Found on a phone: a month's round put hundreds of items on one page of the queue."""
    from points.views import approvals

    monkeypatch.setattr(approvals, "QUEUE_PAGE_SIZE", 3)
    for card in (card_a, card_b, card_a, card_b, card_a):
        propose(manager_x, [card.household], rule_clean, again=True)
    for card in (card_a, card_b):
        propose(manager_x, [card.household], rule_litter, again=True)
    url = reverse("points:approval_queue")
    first = client_supervisor_x.get(url).text
    assert "7 proposals wait for a decision in all." in first
    assert len(re.findall(r'name="proposal" value="\d+"', first)) == 3
    assert "Page 1 of 3" in first and 'href="?page=2"' in first
    # Filtered, the pages keep the filter, and the whole count is still said.
    second = client_supervisor_x.get(url, {"rule": rule_clean.pk, "page": 2}).text
    assert "7 proposals wait for a decision in all. 5 of them match the filters." in second
    assert len(re.findall(r'name="proposal" value="\d+"', second)) == 2
    assert f'href="?rule={rule_clean.pk}&amp;page=1"' in second
    # A decision made on the second page comes back to it.
    back = re.search(r'name="next" value="([^"]+)"', second).group(1)
    assert html.unescape(back) == f"{url}?rule={rule_clean.pk}&page=2"
    ticked = re.findall(r'name="proposal" value="(\d+)"', second)[0]
    answer = client_supervisor_x.post(
        reverse("points:approval_decide"),
        {
            "action": "approve",
            "proposal": [ticked],
            "next": html.unescape(back),
            "idempotency_key": KEY,
        },
    )
    assert answer.url == f"{url}?rule={rule_clean.pk}&page=2"
    assert "6 proposals wait for a decision in all." in client_supervisor_x.get(answer.url).text
