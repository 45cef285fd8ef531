"""Posting a wish (wishwall:new) twice: a double tap, a re-sent page, a second tab."""

import datetime
import threading
from io import BytesIO

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent
from tests.conftest import form_key
from tests.wishwall.conftest import jpeg_upload, stored_files
from wishwall.models import Wish

NEW = reverse("wishwall:new")
MINE = reverse("wishwall:mine")
ALREADY = "This was already sent; nothing was recorded twice."
WISH = {"title": "书包", "kind": "study", "story": "孙子上学用"}


def _said(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def _drawn_key(client) -> str:
    return client.get(NEW).context["form"]["idempotency_key"].value()


def test_a_wish_sent_twice_is_posted_once_and_the_second_answer_says_so(client_villager_a):
    """Noted by the team: a wish sent twice (a double tap on a slow line) was refused the
    second time as "already has an open wish", an error for one's own double tap. The
    form carries a one-time key now: the second answer goes where the first went."""
    sent = {**WISH, "idempotency_key": _drawn_key(client_villager_a)}
    first = client_villager_a.post(NEW, sent)
    second = client_villager_a.post(NEW, sent)
    assert first.status_code == second.status_code == 302
    assert first.url == second.url == MINE
    assert _said(second)[-1] == ALREADY
    assert Wish.objects.count() == 1
    assert AuditEvent.objects.filter(action="wish.post").count() == 1


@pytest.mark.parametrize("poster", ["client_villager_a", "client_manager_x"])
def test_the_same_wish_from_a_second_tab_goes_where_the_first_went(request, household_a, poster):
    """Two tabs (two keys), or the page opened again after a lost reply: the same words
    from the same poster moments ago are that wish, posted once, not a refusal."""
    client = request.getfixturevalue(poster)
    sent = {**WISH, "household": household_a.pk}
    first = client.post(NEW, {**sent, "idempotency_key": form_key()})
    second = client.post(NEW, {**sent, "idempotency_key": form_key()})
    assert second.status_code == 302 and second.url == first.url
    assert _said(second)[-1] == ALREADY
    assert Wish.objects.count() == 1


def test_another_wish_of_the_same_title_is_still_refused(client_villager_a):
    """Other words under the same title, or the same words long after: the household
    already has that wish open, and is told so."""
    assert client_villager_a.post(NEW, {**WISH, "idempotency_key": form_key()}).status_code == 302
    other = client_villager_a.post(NEW, {**WISH, "story": "自己用", "idempotency_key": form_key()})
    assert other.status_code == 200
    assert "already has an open wish" in str(other.context["form"].non_field_errors())
    Wish.objects.update(created_at=Wish.objects.get().created_at - datetime.timedelta(hours=1))
    later = client_villager_a.post(NEW, {**WISH, "idempotency_key": form_key()})
    assert later.status_code == 200
    assert Wish.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_same_wish_from_two_tabs_at_once_is_posted_once(villager_a):
    """Both tabs' posts at the same moment: the household's lock lets one post; the other
    waits, then finds the same wish just posted and says so."""
    answers = []
    barrier = threading.Barrier(2, timeout=10)

    def tab():
        client = Client()
        client.force_login(villager_a)
        try:
            barrier.wait()
            answers.append(client.post(NEW, {**WISH, "idempotency_key": form_key()}))
        finally:
            connection.close()

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert [answer.status_code for answer in answers] == [302, 302]
    assert {answer.url for answer in answers} == {MINE}
    assert sorted(_said(answer)[-1] == ALREADY for answer in answers) == [False, True]
    assert Wish.objects.count() == 1


def test_the_same_wish_with_another_photo_is_another_wish(client_villager_a, media_root):
    """Noted by the team: the check for the same wish from a second tab asked only whether
    each post had a photo, so the same words with another photo read as the wish already
    posted, and the second photo was dropped without a word. The photo is compared by its
    content now: the same photo sent again is that wish, another one is refused as the
    household's open wish of that title (a second post is not taken for a change)."""
    first = client_villager_a.post(
        NEW, {**WISH, "photo": jpeg_upload(), "idempotency_key": form_key()}
    )
    assert first.status_code == 302
    same = client_villager_a.post(
        NEW, {**WISH, "photo": jpeg_upload(), "idempotency_key": form_key()}
    )
    assert same.status_code == 302 and same.url == first.url
    assert _said(same)[-1] == ALREADY
    other = client_villager_a.post(
        NEW, {**WISH, "photo": jpeg_upload(size=(48, 64)), "idempotency_key": form_key()}
    )
    assert other.status_code == 200
    assert "already has an open wish" in str(other.context["form"].non_field_errors())
    without = client_villager_a.post(NEW, {**WISH, "idempotency_key": form_key()})
    assert without.status_code == 200
    assert Wish.objects.count() == 1
    assert len(stored_files(media_root)) == 1


def test_one_key_sent_again_with_another_photo_of_the_same_size_is_refused(
    client_villager_a, media_root
):
    """Noted on the way: the one-time key's fingerprint read an upload by its name and size,
    and a phone names every photo alike (image.jpg), so the same form sent again with
    another photo of the same size read as the first, and that photo was dropped."""
    from PIL import Image

    def photo(colour):
        image, buffer = Image.new("RGB", (64, 48), colour), BytesIO()
        image.save(buffer, format="JPEG")
        return SimpleUploadedFile("image.jpg", buffer.getvalue(), content_type="image/jpeg")

    red, blue = photo((200, 40, 40)), photo((10, 10, 200))
    assert red.size == blue.size and red.read() != blue.read()
    red.seek(0), blue.seek(0)
    key = form_key()
    assert (
        client_villager_a.post(NEW, {**WISH, "photo": red, "idempotency_key": key}).status_code
        == 302
    )
    other = client_villager_a.post(NEW, {**WISH, "photo": blue, "idempotency_key": key})
    assert "already sent with different content" in other.content.decode()
    assert Wish.objects.count() == 1 and len(stored_files(media_root)) == 1


def test_the_form_names_the_households_open_wishes(
    client_villager_a, client_villager_b, client_manager_x, household_a
):
    """Found on the phone: Back after Post drew an empty form that said nothing of the wish
    just posted, and the same wish was typed again. The form now names the household's open
    wishes, as the declaration form names its declarations waiting for review."""
    assert "data-posted" not in client_villager_a.get(NEW).content.decode()
    client_villager_a.post(NEW, {**WISH, "idempotency_key": form_key()})
    page = client_villager_a.get(NEW).content.decode()
    assert "You posted “书包” at " in page
    assert "Staff have not checked it yet." in page
    assert "there is no need to post them again" in page
    # Only the household's own, only while open, and not on the staff's form for anyone.
    assert "书包" not in client_villager_b.get(NEW).content.decode()
    assert "data-posted" not in client_manager_x.get(NEW).content.decode()
    wish = Wish.objects.get()
    client_villager_a.post(reverse("wishwall:withdraw", args=[wish.pk]))
    assert "data-posted" not in client_villager_a.get(NEW).content.decode()
