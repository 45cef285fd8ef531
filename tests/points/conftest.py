"""Fixtures for the points tests: a small rules catalogue, photos, proposing helpers."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import Image

from points.models import Rule
from points.services import proposal_create


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _english(settings):
    """Assertions read the English msgids, whatever translations get compiled later."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def make_rule(village, code, points, category=None, cap=None, description=None):
    if category is None:
        category = Rule.Category.DEDUCTIONS if points < 0 else Rule.Category.LIVING_ENVIRONMENT
    return Rule.objects.create(
        village=village,
        code=code,
        category=category,
        description=description or f"rule {code}",
        points=points,
        monthly_cap=cap,
    )


@pytest.fixture
def rule_clean(village_x):
    return make_rule(village_x, "E01", 5, description="五净一规范 inspection passed")


@pytest.fixture
def rule_capped(village_x):
    return make_rule(
        village_x, "L01", 10, Rule.Category.VOLUNTARY_LABOUR, cap=20, description="road cleaning"
    )


@pytest.fixture
def rule_litter(village_x):
    return make_rule(village_x, "D01", -20, description="littering")


@pytest.fixture
def rule_honour(village_x):
    return make_rule(village_x, "H01", 30, Rule.Category.HONOURS, description="最美婆婆")


@pytest.fixture
def rule_y(village_y):
    return make_rule(village_y, "E01", 5)


def png_upload(name="photo.png", size=(8, 8), image_format="PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=image_format)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}[image_format]
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


def today():
    return timezone.localdate()


def propose(actor, households, rule, **kwargs):
    """Propose through the service with sensible defaults; returns the list of proposals."""
    kwargs.setdefault("reason", "seen by the manager")
    kwargs.setdefault("occurred_on", today())
    kwargs.setdefault("village", actor.village or rule.village)
    return proposal_create(households=list(households), rule=rule, actor=actor, **kwargs)


def last_month():
    return today().replace(day=1) - datetime.timedelta(days=1)
