"""The back office speaks the reader's language: every field, model and list column of the
project's apps is named by a translated string, never by Django's English default made from
its Python name ("created by", "Masked id number", "IdempotencyKey")."""

from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.urls import reverse
from django.utils.functional import Promise

from tests.conftest import PROJECT_PACKAGES


def _translated(value) -> bool:
    return isinstance(value, Promise)


def _registered():
    return [
        admin.site.get_model_admin(model)
        for model in apps.get_models()
        if admin.site.is_registered(model)
    ]


def test_every_field_and_model_has_a_translated_name():
    untranslated = []
    for package in PROJECT_PACKAGES:
        for model in apps.get_app_config(package).get_models():
            meta = model._meta
            for attr in ("verbose_name", "verbose_name_plural"):
                if attr not in meta.original_attrs or not _translated(getattr(meta, attr)):
                    untranslated.append(f"{meta.label}.Meta.{attr}")
            for field in meta.get_fields(include_parents=True):
                if field.auto_created or not hasattr(field, "verbose_name"):
                    continue  # the id, a reverse relation: no label of ours
                if not _translated(field.verbose_name):
                    untranslated.append(f"{meta.label}.{field.name}")
    assert not untranslated, f"give these a gettext_lazy verbose_name: {untranslated}"


def test_every_list_column_and_shown_value_has_a_translated_name():
    """Django labels a column or a read-only value by its field's verbose name, else by the
    callable's or property's description (`admin.display`), else by its English name."""
    untranslated = []
    for model_admin in _registered():
        model = model_admin.model
        names = [*model_admin.list_display, *model_admin.readonly_fields]
        for name in names:
            if name == "__str__" or name == model._meta.pk.name:
                continue  # the model's verbose name; Django's "ID"
            label = label_for_field(name, model, model_admin)
            if not _translated(label):
                untranslated.append(f"{type(model_admin).__name__}.{name}: {label}")
    assert not untranslated, f"give these a translated description: {untranslated}"


def test_every_fieldset_has_a_translated_title():
    untranslated = []
    for model_admin in _registered():
        for attr in ("fieldsets", "add_fieldsets"):
            for title, _options in getattr(model_admin, attr, None) or []:
                if title is not None and not _translated(title):
                    untranslated.append(f"{type(model_admin).__name__}.{attr}: {title}")
    assert not untranslated, f"give these fieldsets a gettext_lazy title: {untranslated}"


def test_an_inspection_is_passed_or_not_by_an_icon(client_manager_x, card_a):
    page = client_manager_x.get(reverse("admin:villagers_inspection_changelist"))
    assert page.status_code == 200
    assert "icon-yes.svg" in page.content.decode()
    assert ">True<" not in page.content.decode()
