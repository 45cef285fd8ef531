"""Wish wall fixtures: uploaded files go to a temporary folder; wishes in each state."""

import datetime
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import Image

from store.models import Donor
from wishwall import services
from wishwall.models import Wish


@pytest.fixture(autouse=True)
def english(settings):
    """Messages are asserted by their English msgid, whatever translations get compiled."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored_files(root) -> list:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def jpeg_upload(name="photo.jpg", size=(64, 48), exif_gps=False) -> SimpleUploadedFile:
    image = Image.new("RGB", size, (200, 40, 40))
    buffer = BytesIO()
    if exif_gps:
        exif = Image.Exif()
        exif[0x8825] = {1: "N", 2: (34.0, 10.0, 0.0)}  # GPSInfo: a house's position
        image.save(buffer, format="JPEG", exif=exif)
    else:
        image.save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def post_wish(household, actor, title="一辆轮椅", kind=Wish.Kind.HEALTH, **kwargs) -> Wish:
    return services.wish_post(
        household=household,
        actor=actor,
        title=title,
        kind=kind,
        story=kwargs.pop("story", "父亲腿脚不便，出不了门。"),
        **kwargs,
    )


@pytest.fixture
def donor_x(village_x):
    return Donor.objects.create(village=village_x, name="宜川县顺达农资有限公司", kind="company")


@pytest.fixture
def wish_a(household_a, villager_a) -> Wish:
    """Household A's wish, waiting for moderation."""
    return post_wish(household_a, villager_a)


@pytest.fixture
def approved_wish_a(wish_a, manager_x) -> Wish:
    return services.wish_moderate(wish=wish_a, actor=manager_x, hide_household=False)


@pytest.fixture
def matched_wish_a(approved_wish_a, supervisor_x, donor_x) -> Wish:
    return services.wish_match(
        wish=approved_wish_a, actor=supervisor_x, donor=donor_x, note="开学前送到"
    )


@pytest.fixture
def fulfilled_wish_a(matched_wish_a, supervisor_x) -> Wish:
    return services.wish_fulfil(
        wish=matched_wish_a,
        actor=supervisor_x,
        date=timezone.localdate(),
        given="轮椅一辆",
        thanks="谢谢好心人！",
    )


@pytest.fixture
def yesterday():
    return timezone.localdate() - datetime.timedelta(days=1)
