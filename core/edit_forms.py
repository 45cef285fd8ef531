"""Edit forms that will not save over a change made after they were drawn.

Two windows on one item's edit page (or two people): the first saves a new points price,
the second, drawn before it and saved later for another field, would put the old price
back without a word. A form with DrawnStateMixin carries a digest of the row's values as
it drew them (an HMAC: the row may hold an ID number, which a plain hash of few possible
values would give away) and refuses to save when the row has changed since. The refusal
says so; the form then carries the row's new digest, so saving again is a choice made
knowingly. The plain forms that change an existing row carry the same digest and their
services check it under the row's lock: the donation correction (store.services.donation_drawn)
and a wish's revision and edit (wishwall.services.wish_drawn).
"""

from django import forms
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

DRAWN_FIELD = "drawn"


def row_digest(instance, names) -> str:
    """An HMAC of `instance`'s values of the model fields `names` (a foreign key by its id)."""
    fields = [field for field in instance._meta.concrete_fields if field.name in set(names)]
    values = "\x1f".join(f"{field.attname}={getattr(instance, field.attname)}" for field in fields)
    return salted_hmac("core.edit_forms.drawn", values).hexdigest()[:20]


class DrawnStateMixin:
    """For a ModelForm editing an existing row (a new row has nothing to be stale about)."""

    stale_message = _(
        "This was changed in the meantime (in another window, or by someone else) after this "
        "page was drawn. Open the page again to see the change; saving here once more "
        "replaces it with what you see here."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[DRAWN_FIELD] = forms.CharField(widget=forms.HiddenInput, required=False)
        if self.instance.pk is not None:
            self.initial[DRAWN_FIELD] = self.drawn_digest()

    def drawn_digest(self) -> str:
        """A digest of the row's values of this form's fields, as the row is now."""
        return row_digest(self.instance, [name for name in self.fields if name != DRAWN_FIELD])

    def clean(self):
        data = super().clean()
        drawn = (data or {}).get(DRAWN_FIELD)
        if self.instance.pk is not None and drawn and drawn != self.drawn_digest():
            # Drawn again with the row's digest as it is now: a second save is deliberate.
            self.data = self.data.copy()
            self.data[self.add_prefix(DRAWN_FIELD)] = self.drawn_digest()
            raise forms.ValidationError(self.stale_message, code="stale")
        return data
