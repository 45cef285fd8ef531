"""Every form and back-office field that takes a number or a PIN reads it through core.forms.

The fields are found, not listed: every form class of the apps (model forms with their
model-made fields) and every form and inline of the admin site. A new number field that
uses Django's own IntegerField or DecimalField fails here by name.
"""

import importlib
import pkgutil

import pytest
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation

from core import forms as numbers
from core.admin import NumberFieldsAdminMixin
from tests.factories import UserFactory

APPS = ("core", "aidao", "villagers", "points", "store", "wishwall", "reports")
NUMBER_FIELDS = (forms.IntegerField, forms.DecimalField, forms.FloatField)
OURS = (numbers.IntegerField, numbers.DecimalField)


def _import_every_module():
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" not in module.name and ".management" not in module.name:
                importlib.import_module(module.name)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _our_form_classes():
    _import_every_module()
    return sorted(
        {cls for cls in _subclasses(forms.BaseForm) if cls.__module__.split(".")[0] in APPS},
        key=lambda cls: f"{cls.__module__}.{cls.__qualname__}",
    )


def _wrong_fields(fields) -> list[str]:
    wrong = []
    for name, field in fields.items():
        number = isinstance(field, NUMBER_FIELDS) and not isinstance(field, OURS)
        pin = "pin" in name and not isinstance(field, numbers.PinField)
        if number or pin:
            wrong.append(f"{name}: {type(field).__name__}")
    return wrong


def test_every_form_class_reads_numbers_through_core():
    classes = _our_form_classes()
    names = {cls.__qualname__ for cls in classes}
    assert {"StockInForm", "ProposalForm", "ItemForm", "NewPinForm", "CardLoginForm"} <= names
    wrong = {
        f"{cls.__module__}.{cls.__qualname__}": found
        for cls in classes
        if (found := _wrong_fields(cls.base_fields))
    }
    assert wrong == {}


@pytest.fixture
def superuser_request(db):
    request = RequestFactory().get("/admin/")
    request.user = UserFactory(username="root", is_staff=True, is_superuser=True)
    return request


def test_every_admin_form_and_inline_reads_numbers_through_core(superuser_request):
    checked, wrong = 0, {}
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in APPS:
            continue
        assert isinstance(model_admin, NumberFieldsAdminMixin), type(model_admin).__name__
        form = model_admin.get_form(superuser_request)
        if found := _wrong_fields(form.base_fields):
            wrong[model._meta.label] = found
        for inline in model_admin.get_inline_instances(superuser_request):
            assert isinstance(inline, NumberFieldsAdminMixin), type(inline).__name__
            inline_form = inline.get_formset(superuser_request).form
            if found := _wrong_fields(inline_form.base_fields):
                wrong[f"{model._meta.label} inline"] = found
        checked += 1
    assert checked > 10 and wrong == {}


def _village_body(village, **fields):
    return {
        "township": village.township_id,
        "name": village.name,
        "code": village.code,
        "base_points": "100",
        "yuan_per_point": "3.00",
        "publicity_days": "3",
        "notice_names": "surname",
        "reservation_days": "3",
        "settlement_keep": "100",
        **fields,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"base_points": "١٠٠"},
        {"base_points": "1_00"},
        {"base_points": "-100"},
        {"yuan_per_point": "1e1"},
        {"yuan_per_point": "٣"},
        {"publicity_days": "३"},
        {"code": "١٠١"},
    ],
)
def test_admin_refuses_other_digits_and_changes_nothing(village_x, bad):
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:villagers_village_change", args=[village_x.pk])
    before = village_x.__dict__.copy()
    response = client.post(url, _village_body(village_x, **bad))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    village_x.refresh_from_db()
    assert {k: getattr(village_x, k) for k in ("base_points", "yuan_per_point", "code")} == {
        k: before[k] for k in ("base_points", "yuan_per_point", "code")
    }


def test_admin_reads_full_width_digits(village_x):
    from decimal import Decimal

    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    url = reverse("admin:villagers_village_change", args=[village_x.pk])
    body = _village_body(
        village_x, base_points="１２０", yuan_per_point="２．５", publicity_days="５"
    )
    assert client.post(url, body).status_code == 302
    village_x.refresh_from_db()
    assert (village_x.base_points, village_x.yuan_per_point, village_x.publicity_days) == (
        120,
        Decimal("2.50"),
        5,
    )


def _out_of_range(field) -> list[str]:
    """What each number beyond the field's limits is told (a number the field refuses for its
    range or its digits)."""
    typed = []
    if field.min_value is not None:
        typed.append(str(field.min_value - 1))
    if field.max_value is not None:
        typed.append(str(field.max_value + 1))
    if isinstance(field, numbers.DecimalField) and field.max_digits is not None:
        typed.append("9" * (field.max_digits + 1))
        if field.decimal_places is not None:
            typed.append("1." + "1" * (field.decimal_places + 1))
    told = []
    for value in typed:
        try:
            field.clean(value)
        except ValidationError as error:
            told.extend(error.messages)
    return told


def _generic_limit_messages(fields) -> list[str]:
    generic = ("Ensure", "less than or equal", "greater than or equal", "no more than")
    found = []
    for name, field in fields.items():
        if not isinstance(field, OURS):
            continue
        for message in _out_of_range(field):
            if any(words in message for words in generic) or str(field.label) not in message:
                found.append(f"{name}: {message}")
    return found


def test_every_number_out_of_range_is_refused_naming_its_field_and_limit(superuser_request):
    """Found by a probe: the item form's price and low-stock fields said Django's "Ensure this
    value is less than or equal to 2147483647." (the model's, from the database column's
    range); each field of every form, the admin's too, now says its name and its limit."""
    with translation.override("en"):
        found = {
            f"{cls.__module__}.{cls.__qualname__}": wrong
            for cls in _our_form_classes()
            if (wrong := _generic_limit_messages(cls.base_fields))
        }
        for model, model_admin in admin.site._registry.items():
            if model._meta.app_label in APPS:
                form = model_admin.get_form(superuser_request)
                if wrong := _generic_limit_messages(form.base_fields):
                    found[model._meta.label] = wrong
    assert found == {}
