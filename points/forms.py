"""Input forms of the points pages. They parse and validate input; services do the writing."""

from django import forms
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import forms as numbers
from core.db import row_id_or_none
from core.edit_forms import DrawnStateMixin
from core.idempotency import OneTimeKeyMixin
from core.months import day_within_check, past_day_check
from core.photos import FilesChosenAgainMixin, PhotoInput, photo_validate
from core.spreadsheet import ACCEPT
from core.text import list_join
from points.models import Rule
from points.services import declaration_days, member_left_before
from villagers.cardnumbers import card_number_normalize
from villagers.forms import NewPinForm
from villagers.models import Card, Member
from villagers.selectors import card_numbers_of_other_villages


class PhotoField(forms.FileField):
    """An optional photo, checked to be a real JPEG/PNG/WebP within the size limit."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", PhotoInput())
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload:
            photo_validate(upload)
        return upload


class RuleForm(DrawnStateMixin, forms.ModelForm):
    class Meta:
        model = Rule
        formfield_callback = numbers.number_formfield
        fields = ["code", "category", "description", "points", "monthly_cap", "active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The carried-over rule is the paper ledger import's (points.carryover), not a choice.
        self.fields["category"].choices = [
            choice
            for choice in self.fields["category"].choices
            if choice[0] != Rule.Category.CARRIED_OVER
        ]


class PickedHouseholdsField(forms.ModelMultipleChoiceField):
    """The households chosen with the picker (points.views.picker), sent as hidden fields."""

    widget = forms.MultipleHiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "error_messages",
            {"required": _("Choose at least one household: search for it and press Add.")},
        )
        super().__init__(queryset=None, **kwargs)


def picked_ids(form: forms.Form, name: str = "households") -> list[int]:
    """The household ids a form was sent (or drawn with), before validation."""
    if form.is_bound:
        values = form.data.getlist(form.add_prefix(name)) if hasattr(form.data, "getlist") else []
    else:
        values = form.initial.get(name) or []
    return [pk for pk in (row_id_or_none(value) for value in values) if pk is not None]


def _member_there_on_the_day(form, cleaned) -> None:
    """The member named for a deed was still in the household on the deed's day."""
    member, day = cleaned.get("member"), cleaned.get("occurred_on")
    if member is not None and day and member.left_on is not None and member.left_on < day:
        form.add_error("member", member_left_before(member))


class MemberChoiceField(forms.ModelChoiceField):
    """A member by name, relation and birth year: two members may share a name; one who has
    left the household says since when. Left empty, the household as a whole: said in words,
    not Django's "---------", which told a villager nothing."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("empty_label", _("The whole household (nobody named)"))
        super().__init__(*args, **kwargs)

    def label_from_instance(self, member):
        label = f"{member.name} · {member.get_relation_display()} · {member.birth_year}"
        if member.left_on is not None:
            left = _("left %(day)s") % {"day": member.left_on.isoformat()}
            label = f"{label} ({left})"
        return label


class ProposalForm(FilesChosenAgainMixin, OneTimeKeyMixin, forms.Form):
    households = PickedHouseholdsField(label=_("Households"))
    rule = forms.ModelChoiceField(label=_("Rule"), queryset=Rule.objects.none())
    points = numbers.IntegerField(
        label=_("Points"),
        required=False,
        help_text=_("Leave empty to use the rule's points."),
    )
    override_reason = forms.CharField(
        label=_("Why different from the rule"), required=False, max_length=200
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)
    occurred_on = forms.DateField(
        label=_("Date"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    member = MemberChoiceField(
        label=_("Member who earned it"),
        queryset=Member.objects.none(),
        required=False,
        help_text=_("For honours such as 最美婆婆."),
        error_messages={"invalid_choice": _("Choose a member of the one household chosen.")},
    )
    photo = PhotoField(label=_("Photo evidence"))
    # Ticked to propose again what was already proposed (the page asks when it was).
    again = forms.BooleanField(label=_("Propose again anyway"), required=False)

    def __init__(self, *args, village, households, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = Rule.objects.filter(village=village, active=True)
        self.fields["households"].queryset = households
        # A member is named for one household only, and only one of its own members can be
        # chosen: the list holds no one else (a member sent anyway is refused as invalid).
        picked = picked_ids(self)
        self.member_choosable = len(picked) == 1
        if self.member_choosable:
            # Those who left are offered too (after those still in it): a deed done before
            # they left may name them (see clean).
            self.fields["member"].queryset = Member.objects.filter(
                household_id=picked[0], household__village=village
            ).order_by(F("left_on").desc(nulls_first=True), "id")

    def clean(self):
        cleaned = super().clean()
        _member_there_on_the_day(self, cleaned)
        return cleaned


class ActivityForm(FilesChosenAgainMixin, OneTimeKeyMixin, forms.Form):
    """A collective activity or voluntary-labour day with its attendance list."""

    title = forms.CharField(label=_("Activity"), max_length=100)
    rule = forms.ModelChoiceField(label=_("Rule"), queryset=Rule.objects.none())
    date = forms.DateField(
        label=_("Date"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    place = forms.CharField(label=_("Place"), max_length=100, required=False)
    households = PickedHouseholdsField(label=_("Attended"), required=False)
    card_numbers = forms.CharField(
        label=_("Card numbers (typed or scanned, one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "inputmode": "numeric"}),
    )
    photo = PhotoField(label=_("Photo evidence"))
    # Ticked to propose again what was already proposed (the page asks when it was).
    again = forms.BooleanField(label=_("Propose again anyway"), required=False)

    def __init__(self, *args, village, households, **kwargs):
        super().__init__(*args, **kwargs)
        self.village = village
        self.fields["rule"].queryset = Rule.objects.filter(
            village=village,
            active=True,
            category__in=[Rule.Category.COLLECTIVE_ACTIVITY, Rule.Category.VOLUNTARY_LABOUR],
        )
        self.fields["households"].queryset = households

    def clean_card_numbers(self):
        lines = [line.strip() for line in self.cleaned_data["card_numbers"].splitlines()]
        typed = [line for line in lines if line]
        if not typed:
            return []
        cards = {
            card.number: card.household
            for card in Card.objects.filter(
                number__in=[card_number_normalize(line) for line in typed],
                status=Card.Status.ACTIVE,
                household__village=self.village,
            ).select_related("household")
        }
        unknown = [line for line in typed if card_number_normalize(line) not in cards]
        if unknown:
            elsewhere = card_numbers_of_other_villages(
                [card_number_normalize(line) for line in unknown], self.village
            )
            other = [line for line in unknown if card_number_normalize(line) in elsewhere]
            none = [line for line in unknown if line not in other]
            errors = []
            if none:
                message = _("No active card of this village has the number: %(numbers)s")
                errors.append(message % {"numbers": list_join(none)})
            if other:
                message = _("These are another village's cards: %(numbers)s")
                errors.append(message % {"numbers": list_join(other)})
            raise forms.ValidationError(errors)
        return [cards[card_number_normalize(line)] for line in typed]

    def attendees(self):
        """Ticked and scanned households together, each once, in a stable order."""
        seen = {}
        for household in list(self.cleaned_data["households"]) + self.cleaned_data["card_numbers"]:
            seen.setdefault(household.pk, household)
        return list(seen.values())

    def clean(self):
        cleaned = super().clean()
        # Said beside the other fields' refusals, once both lists were taken and both are empty.
        lists = [cleaned.get("households"), cleaned.get("card_numbers")]
        if all(value is not None and not value for value in lists):
            raise forms.ValidationError(_("Add or scan at least one household."))
        return cleaned


class DecideForm(forms.Form):
    rejection_reason = forms.CharField(label=_("Reason for rejection"), required=False)


class DeclarationForm(FilesChosenAgainMixin, OneTimeKeyMixin, forms.Form):
    description = forms.CharField(
        label=_("What good deed was done?"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    occurred_on = forms.DateField(
        label=_("Date"),
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    member = MemberChoiceField(
        label=_("Who did it"), queryset=Member.objects.none(), required=False
    )
    photo = PhotoField(label=_("Photo"))

    def __init__(self, *args, household, **kwargs):
        super().__init__(*args, **kwargs)
        # As on the staff's proposal form: those who left come after those still in the
        # household, for a deed done before they left (see clean).
        self.fields["member"].queryset = Member.objects.filter(household=household).order_by(
            F("left_on").desc(nulls_first=True), "id"
        )
        # The phone's date picker offers only the days that may be declared.
        first, last = declaration_days()
        self.fields["occurred_on"].widget.attrs.update(min=first.isoformat(), max=last.isoformat())

    def clean_occurred_on(self):
        """Said beside the date, with the days allowed (points.services.declaration_days)."""
        day = self.cleaned_data["occurred_on"]
        day_within_check(day, *declaration_days())
        return day

    def clean(self):
        cleaned = super().clean()
        _member_there_on_the_day(self, cleaned)
        return cleaned


class DeclarationAcceptForm(OneTimeKeyMixin, forms.Form):
    rule = forms.ModelChoiceField(label=_("Rule"), queryset=Rule.objects.none())
    points = numbers.IntegerField(
        label=_("Points"), required=False, help_text=_("Leave empty to use the rule's points.")
    )
    override_reason = forms.CharField(
        label=_("Why different from the rule"), required=False, max_length=200
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, village, **kwargs):
        super().__init__(*args, **kwargs)
        # A declared good deed earns points: a deduction rule is never offered for it.
        self.fields["rule"].queryset = Rule.objects.filter(
            village=village, active=True, points__gt=0
        )


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)


class ObjectionForm(forms.Form):
    reason = forms.CharField(
        label=_("What is wrong with this entry?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ObjectionResolveForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=[
            ("uphold", _("Uphold: cancel the entry")),
            ("dismiss", _("Dismiss: the entry stands")),
        ],
        widget=forms.RadioSelect,
    )
    resolution = forms.CharField(
        label=_("Reason (shown on the public notice when upheld)"),
        max_length=300,
        required=False,
    )


class CardIssueForm(OneTimeKeyMixin, NewPinForm):
    """The PIN of a new card; the one-time key stops a re-sent form issuing it twice."""


NO_POINTS = "none"


class RoundForm(OneTimeKeyMixin, forms.Form):
    """The inspection round's own fields; the households' checks are read by `round_rows`.

    Each rule is chosen (or "no points") once; the village's next round starts from it.
    """

    date = forms.DateField(
        label=_("Date of the round"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    pass_rule = forms.ChoiceField(label=_("Points for a household that passes"))
    fail_rule = forms.ChoiceField(label=_("Points for a household that fails"))

    def __init__(self, *args, awards, deductions, **kwargs):
        super().__init__(*args, **kwargs)
        self.rules = {str(rule.pk): rule for rule in [*awards, *deductions]}
        for name, rules, none_label in (
            ("pass_rule", awards, _("No points for a pass")),
            ("fail_rule", deductions, _("No points for a fail")),
        ):
            self.fields[name].choices = [
                ("", _("— choose once; remembered for the next round —")),
                *[(str(rule.pk), str(rule)) for rule in rules],
                (NO_POINTS, none_label),
            ]

    def _rule(self, name) -> Rule | None:
        value = self.cleaned_data[name]
        return None if value == NO_POINTS else self.rules[value]

    def clean_pass_rule(self):
        return self._rule("pass_rule")

    def clean_fail_rule(self):
        return self._rule("fail_rule")

    def clean_date(self):
        day = self.cleaned_data["date"]
        past_day_check(day)
        return day


class CarryOverUploadForm(FilesChosenAgainMixin, forms.Form):
    """The paper ledger's file and the total written on the paper, to be compared."""

    file = forms.FileField(
        label=_("Paper ledger file (.xlsx, .csv or .txt)"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    paper_total = numbers.IntegerField(
        label=_("Total of the paper ledger"),
        min_value=0,
        max_value=2_000_000_000,
        help_text=_(
            "The sum of every household's balance as written on the paper ledger: the file "
            "must add up to the same figure."
        ),
    )


class ActivityOpenForm(OneTimeKeyMixin, forms.Form):
    """Today's activity, opened for check-in by QR code."""

    title = forms.CharField(label=_("Activity"), max_length=100)
    rule = forms.ModelChoiceField(label=_("Rule"), queryset=Rule.objects.none())
    place = forms.CharField(label=_("Place"), max_length=100, required=False)

    def __init__(self, *args, rules, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rule"].queryset = rules


class CheckInForm(FilesChosenAgainMixin, OneTimeKeyMixin, forms.Form):
    """A villager's check-in: the pass the scanned link gave, and an optional photo."""

    checkin_pass = forms.CharField(
        widget=forms.HiddenInput,
        max_length=200,
        error_messages={"required": _("Scan the activity's QR code to check in.")},
    )
    photo = PhotoField(label=_("A photo at the activity (optional)"))
