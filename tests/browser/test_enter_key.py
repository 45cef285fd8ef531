"""Enter in a text box presses its form's first submit button (HTML's implicit submission).

Where a form has several buttons, that first one is a hidden default that names no action
(templates/_enter_default.html): Enter never approves, confirms, removes or decides, with
JavaScript or without. The accessibility sweep checks the rule on every page
(tests/browser/conftest.py, `enter_key_problems`); these check what Enter does. Assertions
read the database and the page's structure, not words.
"""

import pytest
from django.urls import reverse

from points.models import Proposal
from store.models import StockCorrection
from store.services import stock_write_off_request
from tests.browser.conftest import sign_in
from tests.points.conftest import png_upload, propose
from villagers.models import User

BOTH = pytest.mark.parametrize("browser_page", ["desktop", "desktop_no_js"])
PHOTO = {"name": "yard.png", "mimeType": "image/png", "buffer": png_upload().read()}


@BOTH
def test_enter_in_the_rejection_reason_decides_nothing(
    live_server, request, browser_page, card_a, card_b, manager_x, supervisor_x, rules
):
    """The batch's "approve whole batch" and "approve selected" come before the reason box."""
    page = request.getfixturevalue(browser_page)
    propose(manager_x, [card_a.household, card_b.household], rules["labour"], batch_title="扫路")
    single = propose(manager_x, [card_a.household], rules["clean"])[0]
    sign_in(page, live_server, supervisor_x)
    page.goto(f"{live_server.url}{reverse('points:approval_queue')}")
    page.check(f"input[name=proposal][value='{single.pk}']")
    page.fill("#rejection_reason", "照片不清楚")
    with page.expect_navigation():
        page.press("#rejection_reason", "Enter")
    assert set(Proposal.objects.values_list("status", flat=True)) == {Proposal.Status.PROPOSED}
    assert page.locator(".messages .alert-danger").count() == 1  # nothing was decided
    # The buttons still decide: the reason typed again, Reject rejects the ticked one.
    page.check(f"input[name=proposal][value='{single.pk}']")
    page.fill("#rejection_reason", "照片不清楚")
    with page.expect_navigation():
        page.click("button[name=action][value=reject]")
    single.refresh_from_db()
    assert single.status == Proposal.Status.REJECTED


@BOTH
def test_enter_in_the_refusal_reason_confirms_no_write_off(
    live_server, request, browser_page, shelves, manager_x, supervisor_x
):
    page = request.getfixturevalue(browser_page)
    kettle = shelves["kettle"]
    correction = stock_write_off_request(
        item=kettle, quantity=1, cause="damaged", reason="摔坏", actor=manager_x
    )
    sign_in(page, live_server, supervisor_x)
    page.goto(f"{live_server.url}{reverse('store:corrections')}")
    page.fill("#reason", "壶没坏，在仓库里")
    with page.expect_navigation():
        page.press("#reason", "Enter")
    correction.refresh_from_db()
    kettle.refresh_from_db()
    assert (correction.status, kettle.stock) == (StockCorrection.Status.PENDING, 2)
    assert page.locator(".messages .alert-danger").count() == 1


@BOTH
def test_enter_in_find_searches_and_keeps_the_households_chosen(
    live_server, request, browser_page, card_a, card_b, manager_x, rules
):
    """The chosen households' Remove buttons come before the Find box."""
    page = request.getfixturevalue(browser_page)
    sign_in(page, live_server, manager_x)
    url = reverse("points:proposal_new")
    page.goto(f"{live_server.url}{url}?household={card_a.household.pk}")
    chosen = page.locator("#picked-fields input[name=households]")
    assert chosen.count() == 1
    page.fill("#household-find", card_b.household.head_name)
    page.press("#household-find", "Enter")
    page.locator(f"#household-results button[name=add][value='{card_b.household.pk}']").wait_for()
    assert chosen.count() == 1
    assert chosen.get_attribute("value") == str(card_a.household.pk)


@BOTH
def test_enter_in_the_proposal_sends_nothing_and_keeps_what_was_typed(
    live_server, request, browser_page, card_a, manager_x, rules
):
    """The picker is part of the proposal form: Enter in any of its boxes works the picker
    only (first, a nameless button); the send button proposes."""
    page = request.getfixturevalue(browser_page)
    sign_in(page, live_server, manager_x)
    url = reverse("points:proposal_new")
    page.goto(f"{live_server.url}{url}?household={card_a.household.pk}")
    page.select_option("select[name=rule]", str(rules["clean"].pk))
    page.fill("input[name=reason]", "院落干净整齐")
    page.press("input[name=reason]", "Enter")
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)  # time for a form sent by Enter to arrive
    assert not Proposal.objects.exists()
    assert page.input_value("input[name=reason]") == "院落干净整齐"
    assert page.locator("#picked-fields input[name=households]").count() == 1
    page.locator("#enter-note .alert").wait_for()  # it says nothing was sent
    with page.expect_navigation():
        page.click("main form[method=post] button[name=send]")
    assert Proposal.objects.get().reason == "院落干净整齐"


def test_enter_with_javascript_says_nothing_was_sent_and_keeps_the_photo(
    live_server, desktop, card_a, manager_x, rules
):
    """Found by a probe: with JavaScript, Enter in the reason box only refreshed the
    household picker, and the page showed nothing. It now says nothing was sent (as without
    JavaScript), and the photo chosen stays chosen and goes with the proposal."""
    page = desktop
    sign_in(page, live_server, manager_x)
    url = reverse("points:proposal_new")
    page.goto(f"{live_server.url}{url}?household={card_a.household.pk}")
    page.select_option("select[name=rule]", str(rules["clean"].pk))
    page.set_input_files("input[name=photo]", PHOTO)
    page.fill("input[name=reason]", "院落干净整齐")
    page.press("input[name=reason]", "Enter")
    note = page.locator("#enter-note .alert")
    note.wait_for()
    assert note.is_visible() and not Proposal.objects.exists()
    assert page.eval_on_selector("input[name=photo]", "input => input.files.length") == 1
    assert page.input_value("input[name=reason]") == "院落干净整齐"
    page.fill("#household-find", "nobody-by-this-name")
    page.press("#household-find", "Enter")  # a search clears the note
    note.wait_for(state="detached")
    with page.expect_navigation():
        page.click("main form[method=post] button[name=send]")
    assert Proposal.objects.get().photo


@BOTH
def test_enter_in_the_activity_sends_nothing_and_keeps_what_was_typed(
    live_server, request, browser_page, card_a, card_b, manager_x, rules
):
    """The picker is part of the activity form too: Enter in its title works the picker
    only and says so; the card numbers typed stay; the send button sends the batch."""
    page = request.getfixturevalue(browser_page)
    sign_in(page, live_server, manager_x)
    url = reverse("points:activity_new")
    page.goto(f"{live_server.url}{url}?household={card_a.household.pk}")
    page.select_option("select[name=rule]", str(rules["labour"].pk))
    page.fill("textarea[name=card_numbers]", card_b.number)
    page.fill("input[name=title]", "清扫村道")
    page.press("input[name=title]", "Enter")
    page.locator("#enter-note .alert").wait_for()
    assert not Proposal.objects.exists()
    assert page.input_value("input[name=title]") == "清扫村道"
    assert page.input_value("textarea[name=card_numbers]").strip() == card_b.number
    with page.expect_navigation():
        page.click("main form[method=post] button[name=send]")
    assert {p.household_id for p in Proposal.objects.all()} == {
        card_a.household_id,
        card_b.household_id,
    }


def test_enter_in_the_county_reason_box_sends_no_decision_chosen_in_advance(
    live_server, desktop_no_js, card_a, manager_x, supervisor_x, county_admin, rules
):
    """The county queue's one button sends the decision its list shows: none until chosen,
    so the browser asks for one instead of sending the first (approve)."""
    page = desktop_no_js
    # The supervisor's own household's award: nobody of the village may approve it.
    User.objects.filter(pk=supervisor_x.pk).update(household=card_a.household)
    (proposal,) = propose(manager_x, [card_a.household], rules["labour"])
    sign_in(page, live_server, county_admin)
    page.goto(f"{live_server.url}{reverse('reports:county_queue')}")
    reason = page.locator("input[name=reason]")
    reason.fill("照片不清楚")
    reason.press("Enter")
    page.wait_for_timeout(500)  # time for a form sent by Enter to arrive
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PROPOSED
    assert page.locator("select[name=decision]:invalid").count() == 1
