"""The household picker of the proposal and activity forms, usable without JavaScript.

The picker is part of the form it picks for. The households picked so far travel in its
hidden fields (`household`, and the form's own `households`). A search (`find`) lists the
matching households, each with an Add button (`add`); Remove drops one (`remove`), "Add all"
takes every match (`add_all`). Without JavaScript these buttons POST the whole form, which
comes back as typed with the picker worked and nothing sent (`picker_pressed`), so a search
never loses what was typed below it; only the form's send button sends. With htmx the same
buttons GET the picker alone (`?household=1&household=5&find=...`) and swap it in place.
"""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from core.db import row_id_or_none
from core.picker import FIND_MAX_LENGTH, RESULTS_SHOWN, SEND
from points.selectors import households_to_pick
from villagers.cardnumbers import scanned_card_number
from villagers.models import Card, Household
from villagers.selectors import card_numbers_of_other_villages


@dataclass
class Picker:
    find: str = ""
    chosen: list[Household] = field(default_factory=list)
    results: list[Household] = field(default_factory=list)
    more_results: bool = False
    # The picker was just used (a search, an add or a remove): focus returns to the search.
    changed: bool = False
    # A card scanned in that is another village's (said so, instead of "none matches").
    card_elsewhere: str = ""

    @property
    def chosen_ids(self) -> list[int]:
        return [household.pk for household in self.chosen]


def _ids(values) -> list[int]:
    """Ids in the order given, each once; anything that is no id is dropped."""
    ids = []
    for value in values:
        pk = row_id_or_none(value)
        if pk is not None and pk not in ids:
            ids.append(pk)
    return ids


# The buttons of a picker inside its form (Search, Add, Remove, Add all): pressed, they
# work the picker and send nothing.
PICKER_BUTTONS = ("search", "add", "remove", "add_all")


def picker_pressed(request) -> bool:
    """A POST of a form holding its picker that only works the picker: one of its buttons,
    or Enter in one of the form's boxes, which presses the form's first, nameless button
    (_enter_default.html) and sends Find with the rest. Only the send button sends; a body
    without the picker's fields (a script's) sends as before."""
    if request.method != "POST":
        return False
    data = request.POST
    return SEND not in data and any(name in data for name in (*PICKER_BUTTONS, "find"))


def picker_enter_only(request) -> bool:
    """The picker was worked by Enter with Find empty: nothing searched, nothing sent."""
    data = request.POST
    return not any(name in data for name in PICKER_BUTTONS) and not data.get("find", "").strip()


def picker_read(request, households: QuerySet[Household]) -> Picker:
    """The picker's state from a GET, or from a POST of the form holding it (its buttons
    pressed, or the households a refused form sent)."""
    if request.method == "POST":
        query = request.POST
        chosen_before = query.getlist("households")
        if not picker_pressed(request):
            return Picker(chosen=_in_order(households, _ids(chosen_before)))
    else:
        query = request.GET
        chosen_before = query.getlist("household")
    find = query.get("find", "").strip()[:FIND_MAX_LENGTH]
    wanted = _ids([*chosen_before, query.get("add", "")])
    removed = row_id_or_none(query.get("remove"))
    wanted = [pk for pk in wanted if pk != removed]
    matches = households_to_pick(request, find) if find else households.none()
    if find and query.get("add_all"):
        wanted += [pk for pk in matches.values_list("pk", flat=True) if pk not in wanted]
    number = scanned_card_number(find)
    if number:
        # A card scanned (its QR code and Enter): its household is added at once and the box
        # is emptied for the next card, as at the counter.
        card = households.filter(cards__number=number, cards__status=Card.Status.ACTIVE)
        household_id = card.values_list("pk", flat=True).first()
        if household_id is not None:
            wanted += [household_id] if household_id not in wanted else []
            find, matches = "", households.none()
    picker = Picker(find=find, chosen=_in_order(households, wanted))
    if number and find and request.village is not None:
        picker.card_elsewhere = "".join(card_numbers_of_other_villages([number], request.village))
    picker.changed = bool(find or number or query.get("add") or removed)
    if find:
        results = list(matches[: RESULTS_SHOWN + 1])
        chosen = set(picker.chosen_ids)
        for household in results:
            household.is_chosen = household.pk in chosen
        picker.results = results[:RESULTS_SHOWN]
        picker.more_results = len(results) > RESULTS_SHOWN
    return picker


def _in_order(households: QuerySet[Household], ids: list[int]) -> list[Household]:
    """The households of `ids` that may be picked, in the order they were picked."""
    if not ids:
        return []
    found = {household.pk: household for household in households.filter(pk__in=ids)}
    return [found[pk] for pk in ids if pk in found]
