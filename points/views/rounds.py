"""The monthly hygiene round: choose a group, tick one sheet, save once (points.rounds).

Three screens and one POST for the manager: the groups, the sheet, the saved round; the
supervisor approves its batch from the approval queue in one go.
"""

from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import Role, staff_required, village_object_or_404
from core.db import row_id_or_none
from core.forms import sheet_save_pressed
from core.idempotency import run_once
from points.forms import NO_POINTS, RoundForm
from points.models import InspectionRound, Proposal
from points.rounds import (
    CHECK_NAMES,
    RoundLine,
    inspection_round_record,
    round_already_saved,
    round_households,
    round_rule_choices,
    round_rules_remembered,
    round_saved_message,
    rounds_still_counting,
)
from villagers.models import Household, Inspection, VillageGroup

NOTES_MAX = 1000
# What a sheet sends: the CSRF token, the one-time key, the date and the two rules, then for
# each household its id, six checks, "not inspected" and its notes.
SHEET_FIELDS = 5
SHEET_FIELDS_PER_HOUSEHOLD = 9


def sheet_households_max() -> int:
    """The most households one sheet can send within DATA_UPLOAD_MAX_NUMBER_FIELDS (about
    1,100): a larger sheet would be refused whole by Django ("bad request"), every tick lost."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return (limit - SHEET_FIELDS) // SHEET_FIELDS_PER_HOUSEHOLD


@dataclass
class SheetRow:
    """A household's row of the sheet as drawn or as sent back."""

    household: Household
    checks: list[tuple[str, str, bool]]  # (field name, label, ticked)
    absent: bool
    notes: str
    error: str = ""

    @property
    def prefix(self) -> str:
        return f"h{self.household.pk}"


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def round_list(request):
    """The village's groups with this month's round of each, and the rounds saved lately."""
    village = request.village
    today = timezone.localdate()
    done = {}
    # A round whose batch the supervisor rejected may be done again (as the service allows).
    for round_ in rounds_still_counting(village, today):
        done.setdefault(round_.group_id, round_)
    groups = VillageGroup.objects.filter(village=village).annotate(
        active=Count("households", filter=Q(households__status=Household.Status.ACTIVE))
    )
    recent = (
        InspectionRound.objects.filter(village=village)
        .select_related("group", "created_by", "batch")
        .annotate(inspected=Count("inspections"))
        .order_by("-date", "-id")[:12]
    )
    return render(
        request,
        "points/round_list.html",
        {
            "groups": [(group, done.get(group.pk) or done.get(None)) for group in groups],
            # The whole village's sheet would be refused once any round of the month counts.
            "month_has_round": bool(done),
            "recent": recent,
            "today": today,
        },
    )


def _rows_drawn(households, start_clean: bool) -> list[SheetRow]:
    labels = dict(Inspection.CHECKS)
    return [
        SheetRow(
            household=household,
            checks=[(name, labels[name], start_clean) for name in CHECK_NAMES],
            absent=False,
            notes="",
        )
        for household in households
    ]


def _rows_sent(data, households) -> tuple[list[SheetRow], str]:
    """The rows as posted, and a refusal when the sheet's households are not the round's.

    Only the households drawn on the sheet (its hidden `household` fields) are read: one
    registered since is left for the next round, never recorded as failing every check.
    """
    by_id = {household.pk: household for household in households}
    sent = [row_id_or_none(value) for value in data.getlist("household")]
    if not sent or None in sent or len(set(sent)) != len(sent) or not set(sent) <= set(by_id):
        return [], _(
            "The households of this group changed since the sheet was drawn: "
            "reload the page and tick them again."
        )
    labels = dict(Inspection.CHECKS)
    rows = []
    for household_id in sent:
        prefix = f"h{household_id}"
        notes = data.get(f"{prefix}-notes", "").strip()
        rows.append(
            SheetRow(
                household=by_id[household_id],
                checks=[
                    (name, labels[name], data.get(f"{prefix}-{name}") == "on")
                    for name in CHECK_NAMES
                ],
                absent=data.get(f"{prefix}-absent") == "on",
                notes=notes,
                error=_("Notes are at most 1000 characters.") if len(notes) > NOTES_MAX else "",
            )
        )
    return rows, ""


def _initial_rules(village, awards, deductions) -> dict:
    chosen_before, pass_rule, fail_rule = round_rules_remembered(village)
    if not chosen_before:
        return {
            "pass_rule": "" if awards else NO_POINTS,
            "fail_rule": "" if deductions else NO_POINTS,
        }
    return {
        "pass_rule": str(pass_rule.pk) if pass_rule else NO_POINTS,
        "fail_rule": str(fail_rule.pk) if fail_rule else NO_POINTS,
    }


@staff_required(Role.MANAGER)
def round_new(request, pk=None):
    """The sheet of one group (or the whole village): every household, the six checks."""
    village = request.village
    groups = VillageGroup.objects.filter(village=village)
    group = village_object_or_404(groups, village, pk=pk) if pk else None
    households = round_households(village, group)
    if len(households) > sheet_households_max():
        return render(
            request,
            "points/round_sheet_too_large.html",
            {"group": group, "count": len(households), "most": sheet_households_max()},
        )
    awards, deductions = round_rule_choices(village)
    form = RoundForm(
        request.POST if request.method == "POST" else None,
        awards=awards,
        deductions=deductions,
        initial={"date": timezone.localdate(), **_initial_rules(village, awards, deductions)},
    )
    start_clean = request.GET.get("start") != "blank"
    rows = _rows_drawn(households, start_clean)
    if request.method == "POST":
        valid = form.is_valid()
        rows, refusal = _rows_sent(request.POST, households)
        if refusal:
            form.add_error(None, refusal)
            rows = _rows_drawn(households, start_clean)
        if (
            sheet_save_pressed(request)
            and valid
            and not refusal
            and not any(row.error for row in rows)
        ):
            data = form.cleaned_data
            saved = []

            def action():
                saved.append(
                    inspection_round_record(
                        village=village,
                        group=group,
                        date=data["date"],
                        lines=[
                            RoundLine(
                                household=row.household,
                                checks={name: ticked for name, _label, ticked in row.checks},
                                inspected=not row.absent,
                                notes=row.notes,
                            )
                            for row in rows
                        ],
                        pass_rule=data["pass_rule"],
                        fail_rule=data["fail_rule"],
                        actor=request.user,
                        request=request,
                    )
                )
                return reverse("points:round_detail", args=[saved[0].pk])

            try:
                url, replayed = run_once(request, action)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                if replayed:
                    messages.info(request, _("This round was already saved; nothing was added."))
                else:
                    messages.success(request, _("The round is saved."))
                return redirect(url)
    # Said before anything is ticked (a sheet reached by Back, or the whole village's after a
    # group's round), not only when the whole sheet is sent; a save says it as its refusal.
    earlier = None
    if not sheet_save_pressed(request):
        day = form.cleaned_data.get("date") if form.is_bound and form.is_valid() else None
        earlier = round_already_saved(village, group, day or timezone.localdate())
    return render(
        request,
        "points/round_sheet.html",
        {
            "already_saved": round_saved_message(earlier) if earlier else "",
            "form": form,
            "group": group,
            "rows": rows,
            "checks": Inspection.CHECKS,
            "no_awards": not awards,
            "no_deductions": not deductions,
            "start_clean": start_clean,
            "only_checked": request.method == "POST" and not sheet_save_pressed(request),
        },
    )


@staff_required(Role.MANAGER, Role.SUPERVISOR, Role.COUNTY_ADMIN)
def round_detail(request, pk):
    """A saved round: each household's result and what was proposed for it."""
    round_ = village_object_or_404(
        InspectionRound.objects.filter(village=request.village).select_related(
            "group", "pass_rule", "fail_rule", "batch", "created_by"
        ),
        request.village,
        pk=pk,
    )
    inspections = list(
        round_.inspections.select_related("household__group").order_by(
            "household__group_id", "household__number"
        )
    )
    proposals = {}
    if round_.batch_id:
        proposals = {
            proposal.household_id: proposal
            for proposal in Proposal.objects.filter(batch_id=round_.batch_id).select_related("rule")
        }
    why = {item["household"]: item["why"] for item in round_.not_proposed}
    inspected_ids = {inspection.household_id for inspection in inspections}
    absent = Household.objects.filter(
        village=request.village, pk__in=[pk for pk in why if pk not in inspected_ids]
    ).order_by("group_id", "number")
    lines = [
        {
            "inspection": inspection,
            "proposal": proposals.get(inspection.household_id),
            "why": why.get(inspection.household_id, ""),
        }
        for inspection in inspections
    ]
    passed = sum(1 for inspection in inspections if inspection.passed)
    return render(
        request,
        "points/round_detail.html",
        {
            "round": round_,
            "lines": lines,
            "passed": passed,
            "failed": len(inspections) - passed,
            "proposed": len(proposals),
            "absent": [(household, why[household.pk]) for household in absent],
        },
    )
