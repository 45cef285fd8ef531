"""Edit forms that will not save over a change made after they were drawn.

Two windows on one item's edit page (or two people): the first saves a new points price,
the second, drawn before it and saved later for another field, would put the old price
back without a word. A form with DrawnStateMixin carries a digest of the row's values as
it drew them (an HMAC: the row may hold an ID number, which a plain hash of few possible
values would give away; one under a key the site had before, in SECRET_KEY_FALLBACKS, is
still the row's) and refuses to save when the row has changed since. The refusal
says so; the form then carries the row's new digest, so saving again is a choice made
knowingly. The plain forms that change an existing row carry the same digest and their
services check it under the row's lock: the donation correction (store.services.donation_drawn)
and a wish's revision and edit (wishwall.services.wish_drawn).

Two saves at the same moment: an edit view whose POST runs in one transaction (`@transaction.
atomic`, as the item, rule, household and member pages do) has the form lock the row before
it compares, so the second save waits for the first and then finds the row changed; what the
form does not edit is then saved as the row has it, not as the page read it.

The same form sent twice (a double click on a slow line, a resent page): the second finds
the row changed, by the first, to exactly what it sends. That is not a change made in the
meantime but one already saved; it is refused with the code ALREADY_SAVED, which the page
answers as a one-time key's replay (`sent_twice`). A row changed to anything else is stale.
A file sent again is a new upload, stored under a new name: it is compared by its content
(core.files.file_as_stored), so a photo sent twice is the photo the first send stored.
"""

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.db import models, transaction
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext_lazy as _

from core.files import file_as_stored

DRAWN_FIELD = "drawn"
ALREADY_SAVED = "already_saved"


def row_digest(instance, names, secret=None) -> str:
    """An HMAC of `instance`'s values of the model fields `names` (a foreign key by its id),
    under the site's key (or `secret`)."""
    fields = [field for field in instance._meta.concrete_fields if field.name in set(names)]
    values = "\x1f".join(f"{field.attname}={getattr(instance, field.attname)}" for field in fields)
    return salted_hmac("core.edit_forms.drawn", values, secret=secret).hexdigest()[:20]


def row_drawn_as_stored(drawn: str, instance, names) -> bool:
    """Whether a form drawn with the digest `drawn` was drawn from `instance` as it is now:
    under the site's key, or one it had before (settings.SECRET_KEY_FALLBACKS: a page drawn
    before the key was changed is not stale for that)."""
    return any(
        constant_time_compare(drawn, row_digest(instance, names, secret=key))
        for key in (None, *settings.SECRET_KEY_FALLBACKS)
    )


class DrawnStateMixin:
    """For a ModelForm editing an existing row (a new row has nothing to be stale about)."""

    stale_message = _(
        "This was changed in the meantime (in another window, or by someone else) after this "
        "page was drawn. Open the page again to see the change; saving here once more "
        "replaces it with what you see here."
    )

    already_saved_message = _(
        "This was already saved as you see it here (the form was sent twice): there is "
        "nothing more to save."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[DRAWN_FIELD] = forms.CharField(widget=forms.HiddenInput, required=False)
        if self.instance.pk is not None:
            self.initial[DRAWN_FIELD] = self.drawn_digest()

    def _edited(self) -> list[str]:
        return [name for name in self.fields if name != DRAWN_FIELD]

    def drawn_digest(self) -> str:
        """A digest of the row's values of this form's fields, as the row is now."""
        return row_digest(self.instance, self._edited())

    def _row_now(self):
        """The row as it is now: inside the view's transaction, locked until it ends, and
        the instance's other fields taken from it (the save then writes them as they are)."""
        if not transaction.get_connection().in_atomic_block:
            return self.instance
        model = type(self.instance)
        row = model._default_manager.select_for_update(no_key=True, of=("self",)).get(
            pk=self.instance.pk
        )
        edited = set(self._edited())
        for field in model._meta.concrete_fields:
            if not field.primary_key and field.name not in edited:
                setattr(self.instance, field.attname, getattr(row, field.attname))
        return row

    def clean(self):
        data = super().clean()
        if self.instance.pk is None:
            return data
        row = self._row_now()
        drawn = (data or {}).get(DRAWN_FIELD)
        now = row_digest(row, self._edited())
        if drawn and not row_drawn_as_stored(drawn, row, self._edited()):
            if not self.errors and self._sent_as_stored(row, data):
                raise forms.ValidationError(self.already_saved_message, code=ALREADY_SAVED)
            # Drawn again with the row's digest as it is now: a second save is deliberate.
            self.data = self.data.copy()
            self.data[self.add_prefix(DRAWN_FIELD)] = now
            raise forms.ValidationError(self.stale_message, code="stale")
        return data

    def _sent_as_stored(self, row, data) -> bool:
        """Whether the row holds every value this form sends (a foreign key by its id)."""
        edited = set(self._edited())
        for field in row._meta.concrete_fields:
            if field.name in edited:
                if field.name not in data:
                    return False
                sent, stored = data[field.name], getattr(row, field.attname)
                if field.is_relation:
                    sent = getattr(sent, "pk", sent)
                if isinstance(field, models.FileField):
                    # The file kept, none, or a new upload of the very file stored (sent
                    # twice: stored by the first under a new name; compared by content).
                    if not file_as_stored(sent, stored):
                        return False
                elif sent != stored:
                    return False
        return True

    def sent_twice(self) -> bool:
        """Refused because the row already holds what this form sends (see ALREADY_SAVED)."""
        return self.is_bound and self.has_error(NON_FIELD_ERRORS, ALREADY_SAVED)
