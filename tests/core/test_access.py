"""core.access's way to the login for a request of htmx, through the pages that use htmx."""

from urllib.parse import quote

import pytest
from django.urls import reverse

PICKER = reverse("points:proposal_new")
FORM_PAGE = f"{PICKER}?household=7"
HTMX = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{FORM_PAGE}"}


def test_a_search_of_the_picker_signed_out_sends_the_whole_page_to_the_login(client_anon):
    """Found by a browser probe: a manager's session expired mid-form, and the picker's
    search (htmx) followed the redirect to the login page, found no picker in it and swapped
    that nothing in: the picker vanished with the households chosen, the tab said "Staff
    login", and nothing else said why. htmx now takes the whole page to the login, which
    comes back to the form."""
    searched = client_anon.get(PICKER, {"household": 7, "find": "王"}, headers=HTMX)
    assert searched.status_code == 204 and not searched.content
    assert searched["HX-Redirect"] == f"{reverse('login')}?next={quote(FORM_PAGE, safe='/')}"


def test_the_counter_signed_out_goes_to_the_login_whole_too(client_anon, card_a):
    counter = reverse("store:counter_household", args=[card_a.household_id])
    answer = client_anon.get(
        counter, headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{counter}"}
    )
    assert answer.status_code == 204
    assert answer["HX-Redirect"] == f"{reverse('login')}?next={quote(counter, safe='/')}"


@pytest.mark.parametrize(
    "page", ["https://elsewhere.example/phish", "javascript:alert(1)", ""], ids=str
)
def test_a_page_of_another_site_is_not_where_the_login_returns(client_anon, page):
    searched = client_anon.get(
        PICKER, {"find": "王"}, headers={"HX-Request": "true", "HX-Current-URL": page}
    )
    assert searched["HX-Redirect"] == f"{reverse('login')}?next={quote(PICKER, safe='/')}"


def test_without_htmx_the_login_is_a_redirect_as_before(client_anon):
    searched = client_anon.get(PICKER, {"find": "王"})
    assert searched.status_code == 302 and "HX-Redirect" not in searched
    assert searched["Location"].startswith(f"{reverse('login')}?next=")


def test_a_form_sent_signed_out_comes_back_to_its_page_after_the_login(client_anon):
    """Found by a sweep of the pages: a form sent after the session had ended went to the
    login, which came back to the form's action by GET, a "method not allowed" page. It
    comes back to the page the form was on; a Referer of another site is not followed."""
    decide = reverse("points:approval_decide")
    sent = client_anon.post(
        decide, {"action": "approve"}, headers={"Referer": f"http://testserver{FORM_PAGE}"}
    )
    assert sent.status_code == 302
    assert sent["Location"] == f"{reverse('login')}?next={quote(FORM_PAGE, safe='/')}"
    for elsewhere in ("https://elsewhere.example/phish", ""):
        sent = client_anon.post(decide, {"action": "approve"}, headers={"Referer": elsewhere})
        assert sent["Location"] == f"{reverse('login')}?next=/"
