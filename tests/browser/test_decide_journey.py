"""The first secretary on a phone decides from a proposal's and a batch's own pages, with
and without JavaScript: from the queue to the page, approve, on to the next, reject with a
reason, back to the queue where it was (points.views.approvals)."""

import re

import pytest
from django.urls import reverse

from points.models import Account, Proposal
from tests.browser.conftest import (
    assert_no_horizontal_scroll,
    screenshot,
    sign_in,
    small_touch_targets,
)
from tests.points.conftest import propose


def press(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def fits_a_phone(page) -> None:
    assert_no_horizontal_scroll(page)
    assert small_touch_targets(page) == []


@pytest.mark.parametrize("device", ["phone", "phone_no_js"])
def test_deciding_from_the_pages_on_a_phone(
    request, device, live_server, village_now, rules, card_a, card_b, manager_x, supervisor_x
):
    page, shots = request.getfixturevalue(device), f"supervisor-decides-{device}"
    batch = propose(manager_x, [card_a.household, card_b.household], rules["labour"])
    first, second = (
        propose(manager_x, [card.household], rules["clean"], reason="院子干净")[0]
        for card in (card_a, card_b)
    )
    sign_in(page, live_server, supervisor_x)
    queue = f"{reverse('points:approval_queue')}?rule={rules['clean'].pk}"
    page.goto(live_server.url + queue)
    fits_a_phone(page)

    # From the filtered queue to the first proposal's page: approve it there.
    press(page, f"main a[href^='{reverse('points:proposal_detail', args=[first.pk])}']")
    fits_a_phone(page)
    screenshot(page, shots, "01-proposal")
    press(page, "main button[name=action][value=approve]")
    assert page.url.endswith(f"/points/proposals/{first.pk}/?rule={rules['clean'].pk}")
    assert page.locator(".alert-success").count() == 1
    assert Proposal.objects.get(pk=first.pk).status == Proposal.Status.APPROVED
    assert Account.objects.get(household=card_a.household).balance == 105
    fits_a_phone(page)
    screenshot(page, shots, "02-approved")

    # On to the next waiting item of the same filter: a reason is asked before rejecting.
    press(page, "nav.queue-nav a.btn-primary")
    assert f"/points/proposals/{second.pk}/?rule={rules['clean'].pk}" in page.url
    page.click("main button[name=action][value=reject]")  # the box is empty: not sent
    assert f"/points/proposals/{second.pk}/" in page.url
    assert Proposal.objects.get(pk=second.pk).status == Proposal.Status.PROPOSED
    page.fill("#rejection_reason", "当天不在村里")
    press(page, "main button[name=action][value=reject]")
    assert Proposal.objects.get(pk=second.pk).rejection_reason == "当天不在村里"
    screenshot(page, shots, "03-rejected")

    # Back to the queue where it was: nothing of that rule waits any more.
    press(page, "nav.queue-nav a.btn-outline-secondary")
    assert page.url == live_server.url + queue
    assert page.locator("main tbody input[name=proposal]").count() == 0

    # The batch, from the whole queue to its page, approved there whole.
    page.goto(live_server.url + reverse("points:approval_queue"))
    press(page, f"main a[href='{reverse('points:batch_detail', args=[batch[0].batch_id])}']")
    fits_a_phone(page)
    press(page, "main button[name=action][value=approve]")
    assert {p.status for p in Proposal.objects.filter(batch_id=batch[0].batch_id)} == {
        Proposal.Status.APPROVED
    }
    assert re.search(r"/points/batches/\d+/$", page.url)
    assert page.locator("main button[name=action]").count() == 0
    screenshot(page, shots, "04-batch-approved")
