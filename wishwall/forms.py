"""Input forms for the wish wall. They only parse and check input; services do the writing."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.idempotency import OneTimeKeyMixin
from core.photos import FilesChosenAgainMixin, PhotoInput, photo_validate
from store.forms import DonorPickField
from store.models import Donor
from villagers.forms import HouseholdPickField
from villagers.models import Household
from wishwall.models import Wish


def _photo_field(label):
    return forms.FileField(
        label=label,
        required=False,
        validators=[photo_validate],
        widget=PhotoInput(),
        help_text=_("Optional. A JPEG, PNG or WebP picture."),
    )


class WishForm(FilesChosenAgainMixin, OneTimeKeyMixin, forms.Form):
    """One-time key: a double tap or a re-sent page posts the wish once."""

    title = forms.CharField(
        label=_("What do you wish for?"),
        max_length=100,
        help_text=_("For example: a school bag for my grandson, a wheelchair, seeds."),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Wish.Kind.choices)
    story = forms.CharField(
        label=_("Why?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Please do not write phone or ID numbers; the wall is seen by the village."),
    )
    photo = _photo_field(_("Photo"))


class WishReviseForm(forms.Form):
    """The household changes its wish before staff have checked it (the photo stays)."""

    title = WishForm.base_fields["title"]
    kind = WishForm.base_fields["kind"]
    story = WishForm.base_fields["story"]
    # The values the form was drawn with (wishwall.services.wish_drawn).
    drawn = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)


class WishOnBehalfForm(WishForm):
    """Staff post a wish for a household that cannot do it from a phone."""

    household = HouseholdPickField(label=_("Household"), queryset=Household.objects.none())
    field_order = ["household", "title", "kind", "story", "photo"]

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["household"].queryset = (
            Household.objects.filter(village=village, status=Household.Status.ACTIVE)
            .select_related("group")
            .order_by("number")
        )


class ApproveForm(forms.Form):
    hide_household = forms.BooleanField(
        label=_("Hide the household on the wall (show only the village group)"), required=False
    )
    # The text the reviewer read (wishwall.services.wish_drawn of WISH_REVISABLE): the
    # household may change it until the approval, which must not put unread text up.
    drawn = WishReviseForm.base_fields["drawn"]


class WishEditForm(forms.Form):
    title = forms.CharField(label=_("What is wished for"), max_length=100)
    story = forms.CharField(
        label=_("Why"), max_length=1000, widget=forms.Textarea(attrs={"rows": 4})
    )
    hide_household = forms.BooleanField(
        label=_("Hide the household on the wall (show only the village group)"), required=False
    )
    reason = forms.CharField(
        label=_("Reason for the change"),
        max_length=300,
        help_text=_("For example: removed a phone number. The old text is kept in the record."),
    )
    drawn = WishReviseForm.base_fields["drawn"]


class DeclineForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for declining"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The household sees this reason."),
    )
    drawn = WishReviseForm.base_fields["drawn"]  # the text the decliner read


class MatchForm(forms.Form):
    donor = DonorPickField(label=_("Existing donor"), queryset=Donor.objects.none(), required=False)
    new_donor_name = forms.CharField(
        label=_("…or a new donor's name"), max_length=100, required=False
    )
    new_donor_kind = forms.ChoiceField(
        label=_("New donor is a"),
        choices=Donor.Kind.choices,
        initial=Donor.Kind.COMPANY,
        required=False,
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("For example: delivers before the school term starts."),
    )

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["donor"].queryset = Donor.objects.filter(village=village).order_by("name")

    def clean(self):
        cleaned = super().clean()
        has_donor = cleaned.get("donor") is not None
        has_new = bool((cleaned.get("new_donor_name") or "").strip())
        if has_donor == has_new:
            raise forms.ValidationError(
                _("Find and choose a donor, or enter a new donor's name (not both).")
            )
        if has_new and not cleaned.get("new_donor_kind"):
            self.add_error(
                "new_donor_kind", _("Say whether the new donor is a company or a person.")
            )
        return cleaned


class FulfilForm(FilesChosenAgainMixin, forms.Form):
    date = forms.DateField(
        label=_("Date given"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    given = forms.CharField(
        label=_("What was given"),
        max_length=200,
        help_text=_("For example: one school bag and stationery."),
    )
    thanks = forms.CharField(
        label=_("Words of thanks for the echo wall"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    photo = _photo_field(_("Photo of the handover"))
