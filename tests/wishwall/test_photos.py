"""Photo uploads: the content decides, not the name; too large or not a photo is refused."""

import os
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from tests.conftest import form_key
from tests.points.test_photo_reencoding import phone_mpo_with_gps
from tests.wishwall.conftest import jpeg_upload, post_wish, stored_files
from wishwall import services
from wishwall.models import Wish, WishFulfilment

WISH = {"title": "一辆轮椅", "kind": "health", "story": "父亲腿脚不便"}

# How the write fails: PostgreSQL refused the address under psycopg2; psycopg 3 refuses it
# before sending (ValueError). Either way inside the write's transaction, after the photo.
REFUSED = (DatabaseError, ValueError)


def text_renamed_jpg():
    return SimpleUploadedFile("photo.jpg", b"this is not a picture\n" * 20, "image/jpeg")


def oversized_png(limit: int) -> SimpleUploadedFile:
    """A real PNG just over the limit (random pixels do not compress)."""
    side = int((limit / 3) ** 0.5) + 20
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    buffer = BytesIO()
    image.save(buffer, format="PNG", compress_level=0)
    assert buffer.tell() > limit
    return SimpleUploadedFile("big.png", buffer.getvalue(), "image/png")


def test_text_file_renamed_jpg_is_refused_on_the_page(client_villager_a, media_root):
    response = client_villager_a.post(
        reverse("wishwall:new"),
        {**WISH, "photo": text_renamed_jpg(), "idempotency_key": form_key()},
    )
    assert response.status_code == 200
    assert "This file is not a photo. Choose a JPEG, PNG or WebP picture." in (
        response.content.decode().replace("&#x27;", "'")
    )
    assert not Wish.objects.exists()
    assert stored_files(media_root) == []


def test_oversized_photo_is_refused_on_the_page(client_villager_a, media_root, settings):
    upload = oversized_png(settings.MAX_PHOTO_BYTES)
    response = client_villager_a.post(
        reverse("wishwall:new"), {**WISH, "photo": upload, "idempotency_key": form_key()}
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "The photo is" in body and "the largest allowed is 3.0\xa0MB" in body
    assert not Wish.objects.exists()
    assert stored_files(media_root) == []


def test_service_refuses_bad_photos_too(household_a, villager_a, media_root, settings):
    with pytest.raises(ValidationError, match="not a photo"):
        post_wish(household_a, villager_a, photo=text_renamed_jpg())
    settings.MAX_PHOTO_BYTES = 1000
    with pytest.raises(ValidationError, match="largest allowed"):
        post_wish(household_a, villager_a, photo=jpeg_upload(size=(400, 400)))
    assert not Wish.objects.exists()
    assert stored_files(media_root) == []


def test_truncated_image_is_refused(household_a, villager_a):
    data = jpeg_upload(size=(300, 300)).read()
    broken = SimpleUploadedFile("cut.jpg", data[: len(data) // 3], "image/jpeg")
    with pytest.raises(ValidationError, match="not a photo"):
        post_wish(household_a, villager_a, photo=broken)


def test_good_photo_is_stored_as_jpeg_without_location(client_villager_a, media_root):
    upload = jpeg_upload(name="王大山 13912345678.png", size=(2400, 1200), exif_gps=True)
    response = client_villager_a.post(
        reverse("wishwall:new"), {**WISH, "photo": upload, "idempotency_key": form_key()}
    )
    assert response.status_code == 302
    wish = Wish.objects.get()
    assert "王大山" not in wish.photo.name and wish.photo.name.endswith(".jpg")
    with Image.open(wish.photo.path) as stored:
        assert stored.format == "JPEG"
        assert max(stored.size) == 1600
        assert not stored.getexif().get_ifd(0x8825)
    assert len(stored_files(media_root)) == 1


def test_a_phone_mpo_photo_sent_as_it_is_is_stored_as_jpeg_without_location(
    client_villager_a, media_root
):
    """Found by a probe: when the page's shrinking script does not run (old browser, script
    blocked) a phone's own JPEG is sent, and one Pillow opens as "MPO" was "not a photo"."""
    response = client_villager_a.post(
        reverse("wishwall:new"),
        {**WISH, "photo": phone_mpo_with_gps(), "idempotency_key": form_key()},
    )
    assert response.status_code == 302
    with Image.open(Wish.objects.get().photo.path) as stored:
        assert stored.format == "JPEG" and getattr(stored, "n_frames", 1) == 1
        assert not stored.getexif() and "mp" not in stored.info
    assert len(stored_files(media_root)) == 1


def test_photo_is_served_only_to_who_may_see_the_wish(
    client_villager_a, client_villager_b, household_a, villager_a, manager_x
):
    wish = post_wish(household_a, villager_a, photo=jpeg_upload())
    photo_url = reverse("wishwall:photo", args=[wish.pk])
    response = client_villager_a.get(photo_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert client_villager_b.get(photo_url).status_code == 404  # not yet moderated
    services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)
    assert client_villager_b.get(photo_url).status_code == 200


def test_fulfilment_photo_validated_and_shown_on_the_echo_wall(
    client_supervisor_x, client_villager_b, matched_wish_a, media_root
):
    fulfil_url = reverse("wishwall:fulfil", args=[matched_wish_a.pk])
    data = {"date": timezone.localdate().isoformat(), "given": "轮椅一辆", "thanks": "谢谢"}
    response = client_supervisor_x.post(fulfil_url, {**data, "photo": text_renamed_jpg()})
    assert response.status_code == 200 and "not a photo" in response.content.decode()
    assert not WishFulfilment.objects.exists() and stored_files(media_root) == []
    response = client_supervisor_x.post(fulfil_url, {**data, "photo": jpeg_upload()})
    assert response.status_code == 302
    echo = client_villager_b.get(reverse("wishwall:echo")).content.decode()
    photo_url = reverse("wishwall:fulfilment_photo", args=[matched_wish_a.pk])
    assert photo_url in echo
    assert client_villager_b.get(photo_url).status_code == 200


def failing_request():
    """A request whose client address cannot be stored (inet): the audit event, the last
    row of the write, fails after the photo was stored, and it all rolls back."""
    return RequestFactory().post("/", REMOTE_ADDR="not-an-address")


def test_a_refused_wish_leaves_no_photo(household_a, villager_a, media_root):
    post_wish(household_a, villager_a)
    with pytest.raises(ValidationError, match="already has an open wish"):
        post_wish(household_a, villager_a, photo=jpeg_upload())
    assert stored_files(media_root) == []


def test_a_wish_rolled_back_in_the_database_leaves_no_photo(household_a, villager_a, media_root):
    with pytest.raises(REFUSED):
        post_wish(household_a, villager_a, photo=jpeg_upload(), request=failing_request())
    assert not Wish.objects.exists()
    assert stored_files(media_root) == []
