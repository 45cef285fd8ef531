"""One row of many chosen in a form by a search, usable without JavaScript (PickOneField).

A <select> of every household or donor of a village grows with it: at 1,200 households the
page weighed hundreds of KB on a slow line and the cadre scrolled 1,200 names. A
PickOneField draws a search box instead: its matches (RESULTS_SHOWN at most) each have a
Choose button (`<name>_pick`), the row chosen travels in a hidden field of the field's own
name, and Change (`<name>_change`) drops it for another search (`<name>_find`, button
`<name>_search`). As the proposal form's household picker (points.views.picker), it is
part of its form: without JavaScript its buttons, and Enter in any box of the form (the
hidden default first, templates/_pick_enter_default.html), send the whole form, which comes
back as typed with the picker worked and nothing sent (`pick_pressed`, `form_as_typed`);
only the form's send button (`send`) sends. With htmx the same buttons GET the picker alone
and swap it in place. The field's queryset (the village's own rows) bounds the search and
validates what is sent: another village's id is refused as a choice not offered.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django import forms
from django.db.models import QuerySet
from django.forms.utils import flatatt
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from core.db import row_id_or_none
from core.idempotency import FIELD_NAME

RESULTS_SHOWN = 20
FIND_MAX_LENGTH = 300  # a card's QR code, scanned in, is its login address
# The form's own send button, where a picker is part of it.
SEND = "send"
# What a picker's box and buttons are named after its field's name.
PARTS = ("find", "search", "pick", "change")
NONE_FOUND = _("Nothing matches.")
EMPTY = (None, "", [], False)


@dataclass
class PickState:
    """What a picker shows besides the row chosen: the search typed and its matches."""

    path: str = ""
    find: str = ""
    # (id, label) of each match shown.
    results: list[tuple[int, str]] = field(default_factory=list)
    more_results: bool = False
    # The picker was just used (a search, a choice, a change): focus returns to it.
    changed: bool = False
    # Its form has a file box, which a search without JavaScript empties (the page says so).
    files_in_form: bool = False


class PickOneInput(forms.Widget):
    """The picker: the row chosen (a hidden field and its label) with Change, or the search
    box with its matches. Its field's queryset names the row (never all of them)."""

    template_name = "_pick_one.html"

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.state = PickState()
        self.placeholder = ""
        self.none_found = ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        # The search box takes the field's attributes (its id, for the label; its class, and
        # what Django and crispy add: its help text, that it is invalid), but it is not
        # required: an empty one must not stop the form's other buttons.
        box = {key: value for key, value in widget["attrs"].items() if key != "required"}
        box.setdefault("class", "form-control")
        widget.update(
            box_attrs=flatatt(box),
            # Refused: the picker is marked so, as a select would be, for its error below it
            # to show (Bootstrap shows an .invalid-feedback after an .is-invalid sibling).
            invalid=box.get("aria-invalid") == "true",
            state=self.state,
            placeholder=self.placeholder,
            none_found=self.none_found,
        )
        chosen_id = row_id_or_none(value)
        chosen = None
        if chosen_id is not None and getattr(self, "choices", None) is not None:
            chosen = self.choices.queryset.filter(pk=chosen_id).first()
        if chosen is not None:
            widget["chosen"] = (chosen.pk, self.choices.field.label_from_instance(chosen))
        return context

    def render(self, name, value, attrs=None, renderer=None):
        """Drawn by the site's templates (with the rest of the page's), not the forms' own."""
        return render_to_string(self.template_name, self.get_context(name, value, attrs))

    def format_value(self, value):
        return "" if value is None else str(value)

    def value_from_datadict(self, data, files, name):
        return data.get(name)

    def value_omitted_from_data(self, data, files, name):
        return name not in data


class PickOneField(forms.ModelChoiceField):
    """A row of the queryset chosen with the picker (PickOneInput). `search(queryset, text)`
    narrows the queryset to the rows matching what was typed; the form's __init__ sets it
    with the queryset, as it would a select's."""

    widget = PickOneInput

    def __init__(
        self,
        *,
        search: Callable[[QuerySet, str], QuerySet] | None = None,
        placeholder="",
        none_found=NONE_FOUND,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.search = search
        self.widget.placeholder = placeholder
        self.widget.none_found = none_found


def pick_fields(form) -> list[tuple[str, PickOneField]]:
    return [(name, f) for name, f in form.fields.items() if isinstance(f, PickOneField)]


def pick_pressed(request, form) -> bool:
    """A POST of a form holding a picker that only works the picker: one of its buttons, or
    Enter in one of the form's boxes, which presses the form's first, nameless button and
    sends the picker's box with the rest. Only the send button sends; a body without the
    picker's fields (a script's) sends as before."""
    if request.method != "POST" or SEND in request.POST:
        return False
    return any(
        f"{form.add_prefix(name)}_{part}" in request.POST
        for name, _field in pick_fields(form)
        for part in PARTS
    )


def pick_enter_only(request, form) -> bool:
    """The form was sent by Enter with every search box empty: nothing searched, nothing
    sent (with htmx, its Enter default GETs the picker marked `enter`)."""
    if request.method == "GET":
        query = request.GET
        if not query.get("enter"):
            return False
    elif pick_pressed(request, form):
        query = request.POST
    else:
        return False
    names = [form.add_prefix(name) for name, _field in pick_fields(form)]
    buttons = [f"{name}_{part}" for name in names for part in ("search", "pick", "change")]
    return not any(button in query for button in buttons) and not any(
        query.get(f"{name}_find", "").strip() for name in names
    )


def form_as_typed(form) -> dict:
    """The values a bound form was sent with, as the initial values of the same form drawn
    again (unbound: nothing checked, no error shown) after its picker was worked. Files
    are not kept (no browser sends one back); the one-time key is drawn anew."""
    return {
        name: form[name].data
        for name, form_field in form.fields.items()
        if not isinstance(form_field, forms.FileField) and name != FIELD_NAME
    }


def formset_as_typed(formset) -> list[dict]:
    """The rows of a bound formset that something was typed in, as `form_as_typed`: as many
    as it takes at most (its max_num). A body may say it holds a thousand rows (Django reads
    up to max_num + 1,000), and each row drawn again is a select and a query of its own."""
    rows = [form_as_typed(form) for form in formset.forms]
    typed = [row for row in rows if any(value not in EMPTY for value in row.values())]
    return typed[: formset.max_num]


def picks_read(request, form) -> None:
    """Work each picker of `form` as the request asks: a GET (the page, or the picker alone
    for htmx), or a POST of its buttons drawn with `form_as_typed`. The row chosen becomes
    the unbound form's initial value; a bound form (sent) shows what it was sent with."""
    worked = request.method == "GET" or pick_pressed(request, form)
    query = request.GET if request.method == "GET" else request.POST
    has_files = any(isinstance(f, forms.FileField) for f in form.fields.values())
    for name, pick_field in pick_fields(form):
        html_name = form.add_prefix(name)
        state = PickState(path=request.path, files_in_form=has_files)
        pick_field.widget.state = state
        find = query.get(f"{html_name}_find", "").strip()[:FIND_MAX_LENGTH]
        if form.is_bound:
            # Sent with a search typed and no row chosen (refused, or another field's error):
            # it comes back with the search and its matches, not an empty box to type again.
            if find and row_id_or_none(query.get(html_name)) is None:
                state.find = find
                _matches_find(pick_field, state)
            continue
        if not worked:
            continue
        # The picker sent from the page (htmx) names the row chosen, or none; a page opened
        # afresh starts with the form's own (a donation's donor, a link's household).
        sent = (html_name, *(f"{html_name}_{part}" for part in PARTS))
        if request.method == "GET" and any(key in query for key in sent):
            chosen = row_id_or_none(query.get(html_name))
        else:
            initial = form.get_initial_for_field(pick_field, name)
            chosen = row_id_or_none(pick_field.prepare_value(initial))
        if f"{html_name}_change" in query:
            chosen = None
        state.find = find
        picked = row_id_or_none(query.get(f"{html_name}_pick"))
        if picked is not None and pick_field.queryset.filter(pk=picked).exists():
            chosen, state.find = picked, ""
        state.changed = any(f"{html_name}_{part}" in query for part in PARTS[1:]) or bool(
            state.find
        )
        form.initial[name] = chosen
        if state.find and chosen is None:
            _matches_find(pick_field, state)


def _matches_find(pick_field: PickOneField, state: PickState) -> None:
    """The rows of the picker's queryset its search finds for `state.find` (RESULTS_SHOWN)."""
    if pick_field.search is None:
        return
    matches = list(pick_field.search(pick_field.queryset, state.find)[: RESULTS_SHOWN + 1])
    state.results = [(row.pk, pick_field.label_from_instance(row)) for row in matches]
    state.more_results = len(state.results) > RESULTS_SHOWN
    del state.results[RESULTS_SHOWN:]


def pick_context(request, form) -> dict:
    """What a page holding `form` and its picker draws around it: the picker its Enter
    default works (_pick_enter_default.html), and whether Enter only checked the form."""
    names = [form.add_prefix(name) for name, _field in pick_fields(form)]
    return {
        "pick_name": names[0] if names else "",
        "pick_only_checked": bool(names) and pick_enter_only(request, form),
    }
