"""A form drawn again after a refusal says a file sent with it must be chosen again
(core.photos.FilesChosenAgainMixin): no browser keeps a chosen file across pages."""

import importlib
import importlib.util
import inspect

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, override

from core.photos import FilesChosenAgainMixin
from points.models import Proposal, Rule
from tests.conftest import PROJECT_PACKAGES, form_key
from tests.points.conftest import make_rule, png_upload

NOTE = "The file chosen before was not kept: choose it again before sending."


def note_in(response) -> bool:
    """Whether the page says the note, in the language it was drawn in."""
    with override(response.wsgi_request.LANGUAGE_CODE):
        return gettext(NOTE) in response.text


@pytest.mark.parametrize("form", ["proposal", "activity"])
@pytest.mark.parametrize("with_photo", [True, False], ids=["photo", "no-photo"])
def test_a_refused_form_says_the_photo_sent_must_be_chosen_again(
    client_manager_x, card_a, village_x, form, with_photo
):
    """Found by a browser probe: a proposal with a photo refused for its reason came back
    with the photo box saying only "No file chosen"; the reason corrected and sent, the
    proposal went without the photo, and nothing had said so."""
    rule = make_rule(village_x, "L01", 10, Rule.Category.VOLUNTARY_LABOUR)
    body = {
        "rule": rule.pk,
        "households": [card_a.household.pk],
        "find": "",
        "send": "1",
        "idempotency_key": form_key(),
        # No reason, no title: refused.
        **({"occurred_on": timezone.localdate()} if form == "proposal" else {}),
        **({"date": timezone.localdate()} if form == "activity" else {}),
    }
    if with_photo:
        body["photo"] = png_upload()
    refused = client_manager_x.post(reverse(f"points:{form}_new"), body)
    assert refused.status_code == 200 and not Proposal.objects.exists()
    assert refused.context["form"].errors
    assert note_in(refused) is with_photo


def test_a_form_drawn_first_says_nothing_of_it(client_manager_x, village_x):
    assert not note_in(client_manager_x.get(reverse("points:proposal_new")))


def _project_forms():
    for package in PROJECT_PACKAGES:
        if importlib.util.find_spec(f"{package}.forms") is None:
            continue
        module = importlib.import_module(f"{package}.forms")
        for _name, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, forms.BaseForm) and value.__module__ == module.__name__:
                yield value


def test_every_form_with_a_file_field_says_so():
    with_files = [
        form
        for form in _project_forms()
        if any(isinstance(field, forms.FileField) for field in form.base_fields.values())
    ]
    assert len(with_files) >= 8  # the walk found them
    missing = [form.__name__ for form in with_files if not issubclass(form, FilesChosenAgainMixin)]
    assert not missing, f"forms with a file field but not FilesChosenAgainMixin: {missing}"
