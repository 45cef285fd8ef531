"""Every photo a villager or the staff send is re-encoded by the server whatever the phone did:
downsized, JPEG, no metadata (a phone photo's EXIF carries the house's GPS position). The
photo field offers the album and the camera, and carries what the phone's shrinking needs."""

import re
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from core.photos import MAX_EDGE, photo_prepare
from points.models import Declaration, Proposal
from tests.conftest import form_key

GPS_IFD = 0x8825


def jpeg_with_gps(size=(2400, 1800)) -> SimpleUploadedFile:
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (36.0, 3.0, 12.5), 3: "E", 4: (110.0, 10.0, 7.0)}
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: the phone was held upright
    buffer = BytesIO()
    Image.new("RGB", size, (30, 120, 40)).save(buffer, format="JPEG", exif=exif)
    upload = SimpleUploadedFile("IMG_0001.jpg", buffer.getvalue(), content_type="image/jpeg")
    with Image.open(BytesIO(buffer.getvalue())) as original:  # the fixture really has them
        assert original.getexif().get_ifd(GPS_IFD) and original.getexif()[0x010F]
    return upload


def assert_clean(path, longest=MAX_EDGE):
    with Image.open(path) as stored:
        assert stored.format == "JPEG"
        assert max(stored.size) == longest
        assert stored.size[1] > stored.size[0]  # turned upright, then the tag dropped
        exif = stored.getexif()
        assert not exif.get_ifd(GPS_IFD) and not exif and "exif" not in stored.info


def test_photo_prepare_drops_every_tag_including_gps():
    prepared = photo_prepare(jpeg_with_gps())
    assert_clean(BytesIO(prepared.read()))


def phone_mpo_with_gps(size=(2400, 1800)) -> SimpleUploadedFile:
    """A JPEG as many phones write it (Samsung, LG, an iPhone's portrait mode): a second
    image after the first, which Pillow opens as "MPO"; the location in its EXIF."""
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (36.0, 3.0, 12.5), 3: "E", 4: (110.0, 10.0, 7.0)}
    exif[0x0112] = 6
    buffer = BytesIO()
    Image.new("RGB", size, (30, 120, 40)).save(
        buffer,
        format="MPO",
        save_all=True,
        append_images=[Image.new("RGB", (320, 240), (0, 0, 200))],
        exif=exif,
    )
    with Image.open(BytesIO(buffer.getvalue())) as original:
        assert original.format == "MPO" and original.n_frames == 2
    return SimpleUploadedFile("IMG_0002.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_a_phone_mpo_photo_is_stored_as_its_first_image_without_its_location():
    """Found by a probe: refused as "not a photo" when the phone's shrinking did not run."""
    prepared = photo_prepare(phone_mpo_with_gps())
    with Image.open(BytesIO(prepared.read())) as stored:
        assert getattr(stored, "n_frames", 1) == 1
        assert stored.getpixel((10, 10)) == pytest.approx((30, 120, 40), abs=8)
    prepared.seek(0)
    assert_clean(BytesIO(prepared.read()))


def test_a_declarations_photo_is_stored_without_its_location(client_villager_a, card_a):
    response = client_villager_a.post(
        reverse("points:declaration_new"),
        {
            "description": "帮邻居收麦子",
            "occurred_on": timezone.localdate().isoformat(),
            "photo": jpeg_with_gps(),
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 302
    assert_clean(Declaration.objects.get().photo.path)


def test_staff_evidence_is_stored_without_its_location(client_manager_x, card_a, rule_clean):
    response = client_manager_x.post(
        reverse("points:proposal_new"),
        {
            "rule": rule_clean.pk,
            "households": [card_a.household.pk],
            "reason": "门前干净",
            "occurred_on": timezone.localdate().isoformat(),
            "photo": jpeg_with_gps(),
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 302
    assert_clean(Proposal.objects.get().photo.path)


def test_photo_inputs_offer_album_and_camera_and_tell_the_phone_the_limit(
    client_villager_a, card_a, settings
):
    settings.MAX_PHOTO_BYTES = 2 * 1024 * 1024
    for url in (reverse("points:declaration_new"), reverse("wishwall:new")):
        html = client_villager_a.get(url).content.decode()
        field = re.search(r'<input type="file"[^>]*>', html).group(0)
        assert 'accept="image/*"' in field and "capture" not in field
        assert f'data-photo-max-bytes="{2 * 1024 * 1024}"' in field
        assert f'data-photo-shrink="{MAX_EDGE}"' in field
        assert "js/photo-upload.js" in html


def heic_photo() -> SimpleUploadedFile:
    """The start of a HEIC photo as a phone saves it (the box `ftyp`, brand heic), which
    Pillow cannot read here."""
    head = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    return SimpleUploadedFile("IMG_0003.HEIC", head + b"\x00" * 4096, content_type="image/heic")


def test_a_heic_photo_is_named_as_such_with_a_way_out(client_villager_a, card_a):
    """Found by a probe: a phone's HEIC photo was answered "This file is not a photo", which
    its owner knows to be untrue and can do nothing about."""
    response = client_villager_a.post(
        reverse("points:declaration_new"),
        {
            "description": "帮邻居收麦子",
            "occurred_on": timezone.localdate().isoformat(),
            "photo": heic_photo(),
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()["photo"]
    assert [error.code for error in errors] == ["photo_heic"]
    assert "screenshot" in errors[0].messages[0]
    assert not Declaration.objects.exists()
