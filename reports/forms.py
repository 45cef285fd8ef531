"""Input forms of the pages that combine apps. They parse and validate input only."""

from django import forms
from django.utils.translation import gettext_lazy as _

from reports.selectors_households import DEFAULT_SORT, SORTS
from villagers.forms import HouseholdFilterForm

SORT_CHOICES = [
    ("number", _("household number")),
    ("-number", _("household number, last first")),
    ("name", _("household head")),
    ("-name", _("household head, reversed")),
    ("group", _("village group")),
    ("-group", _("village group, reversed")),
    ("-balance", _("balance, highest first")),
    ("balance", _("balance, lowest first")),
    ("-activity", _("last activity, latest first")),
    ("activity", _("last activity, earliest first")),
]


class HouseholdListForm(HouseholdFilterForm):
    """The registry's search and filters, and the order of the list (balance and last
    activity come from the ledger, hence here above the apps)."""

    sort = forms.CharField(
        label=_("Order"),
        required=False,
        widget=forms.Select(choices=SORT_CHOICES, attrs={"class": "form-select"}),
    )

    def clean_sort(self) -> str:
        """An unknown order is the default order, not an error that drops the filters."""
        value = self.cleaned_data["sort"]
        return value if value in SORTS else DEFAULT_SORT
