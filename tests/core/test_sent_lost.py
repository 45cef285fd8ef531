"""A form sent from a page left open overnight: after the sign-in ended, or refused by the CSRF
check (a sign-in elsewhere changed the token). Nothing is saved, and the page that answers
says so in plain words and is marked for static/js/send-once.js, which puts what was typed
back in the form (tests/browser/test_session_expired.py sees that in the browser).

Found by the phone's 3G probe: a wish written on a page left open overnight landed on the
card login without a word and came back empty after signing in; the CSRF refusal read
"Not allowed", spoke of cookies and told the household to go back and reload.
"""

import re

import pytest
from django.test import Client
from django.urls import reverse

from wishwall.models import Wish

WISH = {"title": "一副老花镜", "kind": "health", "story": "眼睛看不清了。"}
SIGNED_OUT = "You were no longer signed in, so what you sent was not saved."


@pytest.fixture
def signed_out():
    """A phone whose sign-in has ended (its session is gone; the CSRF cookie stays)."""
    return Client(headers={"Accept-Language": "en"})


def _from(page: str) -> dict:
    return {"Referer": f"http://testserver{page}"}


def test_a_form_sent_after_the_sign_in_ended_says_so_on_the_login(signed_out, card_a):
    new_wish = reverse("wishwall:new")
    answer = signed_out.post(new_wish, WISH, headers=_from(new_wish))
    assert answer.url == f"{reverse('card_login')}?next={new_wish}"
    html = signed_out.get(answer.url).content.decode()
    alert = re.search(r'<div class="alert alert-warning"[^>]*>([^<]*)</div>', html)
    assert alert and alert.group(1).startswith(SIGNED_OUT)
    assert "data-sent-lost" in alert.group(0)
    assert 'data-text-kept="What you typed before is back in the form.' in alert.group(0)
    assert not Wish.objects.exists()
    # Said once: the login drawn again (a wrong PIN) no longer says it.
    assert SIGNED_OUT not in signed_out.get(answer.url).content.decode()


def test_a_staff_form_sent_after_the_sign_in_ended_says_so_too(signed_out, village_x):
    stock_in = reverse("store:stock_in")
    answer = signed_out.post(stock_in, {"quantity": "5"}, headers=_from(stock_in))
    assert answer.url == f"{reverse('login')}?next={stock_in}"
    assert SIGNED_OUT in signed_out.get(answer.url).content.decode()


def test_a_page_opened_after_the_sign_in_ended_goes_to_the_login_without_that_word(signed_out):
    answer = signed_out.get(reverse("wishwall:new"))
    assert SIGNED_OUT not in signed_out.get(answer.url).content.decode()


@pytest.fixture
def client_csrf_villager_a(villager_a):
    client = Client(enforce_csrf_checks=True, headers={"Accept-Language": "en"})
    client.force_login(villager_a)
    client.get(reverse("wishwall:new"))  # the form's page sets the CSRF cookie
    return client


def test_a_form_refused_by_the_csrf_check_says_nothing_was_saved_and_leads_back(
    client_csrf_villager_a,
):
    new_wish = reverse("wishwall:new")
    token = {"csrfmiddlewaretoken": "a" * 32}  # another token than the cookie's
    answer = client_csrf_villager_a.post(new_wish, WISH | token, headers=_from(new_wish))
    assert answer.status_code == 403
    html = answer.content.decode()
    assert "<title>What you sent was not received" in html
    assert "Nothing was saved." in html and "data-sent-lost" in html
    assert f'<a class="btn btn-primary btn-lg" href="{new_wish}">Back to the form</a>' in html
    assert "Not allowed" not in html
    assert not Wish.objects.exists()


def test_a_csrf_refusal_leads_nowhere_outside_the_site(client_csrf_villager_a):
    answer = client_csrf_villager_a.post(
        reverse("wishwall:new"), WISH, headers={"Referer": "https://elsewhere.example/form"}
    )
    assert answer.status_code == 403
    assert "Back to the form" not in answer.content.decode()


@pytest.mark.parametrize("path", ["//elsewhere.example/form", "/\\elsewhere.example/form"])
def test_a_csrf_refusal_leads_nowhere_outside_the_site_from_a_path_of_this_one(
    client_csrf_villager_a, path
):
    """A Referer of this site whose path reads as another site's address (`//host/…`, or
    `/\\host/…`, which browsers read alike) was given as the link back: a link off the site."""
    answer = client_csrf_villager_a.post(
        reverse("wishwall:new"), WISH, headers={"Referer": f"http://testserver{path}"}
    )
    assert answer.status_code == 403
    html = answer.content.decode()
    assert "elsewhere.example" not in html and "Back to the form" not in html


def test_a_form_sent_after_the_sign_in_ended_from_such_a_path_goes_back_to_the_start(signed_out):
    answer = signed_out.post(
        reverse("wishwall:new"), WISH, headers={"Referer": "http://testserver//elsewhere.example/"}
    )
    assert answer.url == f"{reverse('card_login')}?next=/"
