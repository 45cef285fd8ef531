"""The monthly 五净一规范 round: a village group's inspections and their points, saved at once.

The manager ticks the six checks for every active household of a group (or of the village)
on one sheet. Saving records each household's inspection (villagers' writer) and proposes the
village's pass or fail rule for each household with a card (`proposal_create`), all as one
batch that the supervisor approves in one go; both in one transaction. It lives in `points`
because it builds on `villagers`, which must not import points.
"""

import datetime
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.access import is_manager
from core.audit import audit_record
from core.months import month_days, past_day_check
from core.text import list_join, records_language
from points.models import Batch, InspectionRound, Proposal, Rule
from points.services import _cap_used, cap_accounts_lock, proposal_create
from villagers.models import Household, Inspection, User, Village, VillageGroup
from villagers.selectors import households_with_active_card
from villagers.services import inspections_record

CHECK_NAMES = [name for name, _label in Inspection.CHECKS]


@dataclass
class RoundLine:
    """One household's row of the sheet: the six checks, or not inspected (nobody home)."""

    household: Household
    checks: dict[str, bool] = field(default_factory=dict)
    inspected: bool = True
    notes: str = ""

    @property
    def passed(self) -> bool:
        return all(self.checks.get(name, False) for name in CHECK_NAMES)

    @property
    def failed_labels(self) -> list[str]:
        return [str(label) for name, label in Inspection.CHECKS if not self.checks.get(name)]


def round_households(village: Village, group: VillageGroup | None) -> list[Household]:
    """The active households a round covers, in the order of the paper register."""
    households = Household.objects.filter(village=village, status=Household.Status.ACTIVE)
    if group is not None:
        households = households.filter(group=group)
    return list(households.select_related("group", "account").order_by("group_id", "number"))


def round_rules_remembered(village: Village) -> tuple[bool, Rule | None, Rule | None]:
    """(chosen before, pass rule, fail rule) of the village's last round: the next one starts
    from them. A rule made inactive since is not offered again."""
    last = (
        InspectionRound.objects.filter(village=village)
        .select_related("pass_rule", "fail_rule")
        .order_by("-created_at", "-id")
        .first()
    )
    if last is None:
        return False, None, None

    def still(rule):
        return rule if rule is not None and rule.active else None

    return True, still(last.pass_rule), still(last.fail_rule)


def round_rule_choices(village: Village) -> tuple[list[Rule], list[Rule]]:
    """The village's active award rules (for a pass) and deduction rules (for a fail)."""
    rules = list(Rule.objects.filter(village=village, active=True).order_by("category", "code"))
    return [r for r in rules if r.points > 0], [r for r in rules if r.points < 0]


def _scope_name(group: VillageGroup | None) -> str:
    return group.name if group is not None else _("the whole village")


def rounds_of_month(village: Village, day: datetime.date):
    """The village's rounds in `day`'s month, newest first."""
    first, following = month_days(day)
    return (
        InspectionRound.objects.filter(village=village, date__gte=first, date__lt=following)
        .select_related("group", "created_by", "batch")
        .order_by("-created_at", "-id")
    )


def rounds_still_counting(village: Village, day: datetime.date):
    """The village's rounds in `day`'s month that still count: all but those whose proposals
    were all rejected (a rejected round may be done again)."""
    rejected = Proposal.Status.REJECTED
    return (
        rounds_of_month(village, day)
        .annotate(
            standing=Count("batch__proposals", filter=~Q(batch__proposals__status=rejected)),
            proposed=Count("batch__proposals"),
        )
        .filter(Q(proposed=0) | Q(standing__gt=0))
    )


def _earlier_round(village: Village, group: VillageGroup | None, day: datetime.date):
    """A round of this month of the same group (or of the whole village) that still counts."""
    rounds = rounds_still_counting(village, day)
    if group is not None:
        rounds = rounds.filter(Q(group__isnull=True) | Q(group=group))
    return rounds.first()


def round_already_saved(
    village: Village, group: VillageGroup | None, day: datetime.date
) -> InspectionRound | None:
    """The round of `day`'s month that keeps this sheet (a group's, or the whole village's)
    from being saved, for the sheet to say so before anything is ticked; the service checks
    again under its locks."""
    return _earlier_round(village, group, day)


def round_saved_message(earlier: InspectionRound) -> str:
    return _(
        "The round of %(scope)s for this month was already saved on %(day)s by "
        "%(who)s. Inspect a single household again from its page, or ask the "
        "supervisor to reject that round's batch first."
    ) % {
        "scope": _scope_name(earlier.group),
        "day": timezone.localdate(earlier.created_at).isoformat(),
        "who": earlier.created_by,
    }


def _rounded_elsewhere(
    village: Village, household_ids: Sequence[int], day: datetime.date
) -> dict[int, InspectionRound]:
    """{household id: the round of this month that still counts and inspected it}: a household
    that moved group since is in another group's round already."""
    rounds = {round_.pk: round_ for round_ in rounds_still_counting(village, day)}
    if not rounds:
        return {}
    rows = InspectionRound.inspections.through.objects.filter(
        inspectionround_id__in=list(rounds), inspection__household_id__in=list(household_ids)
    ).values_list("inspection__household_id", "inspectionround_id")
    return {household_id: rounds[round_id] for household_id, round_id in rows}


def _households_lock(household_ids) -> None:
    """Lock the households' rows in id order (FOR NO KEY UPDATE: rows that refer to them are
    still written meanwhile), so two rounds sharing a household, in whichever groups, take
    turns and the later one sees the household in the earlier."""
    rows = Household.objects.select_for_update(no_key=True).filter(pk__in=list(household_ids))
    list(rows.order_by("pk").values_list("pk", flat=True))


def _rule_check(rule: Rule | None, village: Village, *, award: bool) -> None:
    if rule is None:
        return
    if rule.village_id != village.pk or not rule.active:
        raise ValidationError(_("Choose an active rule of this village."))
    if award and rule.points <= 0:
        raise ValidationError(_("The rule for a pass must be an award."))
    if not award and rule.points >= 0:
        raise ValidationError(_("The rule for a fail must be a deduction."))


def _lines_check(village: Village, group: VillageGroup | None, lines: Sequence[RoundLine]):
    if not lines:
        raise ValidationError(_("The round has no households."))
    ids = [line.household.pk for line in lines]
    if len(set(ids)) != len(ids):
        raise ValidationError(_("A household is listed twice."))
    for line in lines:
        household = line.household
        if household.village_id != village.pk or (
            group is not None and household.group_id != group.pk
        ):
            raise ValidationError(_("A household belongs to another village group."))
        if household.status != Household.Status.ACTIVE:
            raise ValidationError(
                _("%(household)s is no longer an active household.")
                % {"household": household.head_name}
            )
    if not any(line.inspected for line in lines):
        raise ValidationError(_("No household was inspected: tick at least one."))


def inspection_round_record(
    *,
    village: Village,
    group: VillageGroup | None,
    date: datetime.date,
    lines: Sequence[RoundLine],
    pass_rule: Rule | None,
    fail_rule: Rule | None,
    actor: User,
    request=None,
) -> InspectionRound:
    """Record a round's inspections and propose the pass or fail rule for each household,
    as one batch for the supervisor, in one transaction.

    Households without a card are inspected only (an inspection is what a card needs); so is
    one that the rule's monthly cap leaves nothing for. A second round of the same group (or
    of the whole village) in one month is refused, unless the supervisor rejected the earlier
    one; a household another round of the month inspected (it moved group since) is left
    out, with the reason, as the cap leaves a household out: once a month per household.
    """
    if not (is_manager(actor) and actor.village_id == village.pk):
        raise ValidationError(_("Only the village's manager may record an inspection round."))
    if group is not None and group.village_id != village.pk:
        raise ValidationError(_("The village group belongs to another village."))
    past_day_check(date)
    _rule_check(pass_rule, village, award=True)
    _rule_check(fail_rule, village, award=False)
    _lines_check(village, group, lines)
    with transaction.atomic():
        # The village's row first, as card issue and replacement take it before a household
        # (else a card replaced while a round holds its household waited for each other).
        Village.objects.select_for_update(no_key=True).filter(pk=village.pk).first()
        # Two rounds of the same group wait for each other here (groups in id order), then
        # two rounds sharing a household (it moved group), on the households' rows. FOR NO
        # KEY UPDATE: a household may still be moved into the group meanwhile.
        groups = VillageGroup.objects.select_for_update(no_key=True).filter(village=village)
        if group is not None:
            groups = groups.filter(pk=group.pk)
        list(groups.order_by("pk").values_list("pk", flat=True))
        _households_lock(line.household.pk for line in lines)
        earlier = _earlier_round(village, group, date)
        if earlier is not None:
            raise ValidationError(round_saved_message(earlier))
        lines, rounded = _rounded_left_out(village, lines, date)
        inspected = [line for line in lines if line.inspected]
        inspections = inspections_record(
            inspections=[
                Inspection(
                    household=line.household,
                    date=date,
                    notes=line.notes.strip(),
                    **{name: bool(line.checks.get(name)) for name in CHECK_NAMES},
                )
                for line in inspected
            ],
            actor=actor,
            request=request,
        )
        with records_language():  # the reasons and the whys are kept with the round
            not_proposed, to_propose = _who_is_proposed(inspected, pass_rule, fail_rule, date)
            not_proposed += [
                {"household": line.household.pk, "why": _("not inspected (nobody at home)")}
                for line in lines
                if not line.inspected
            ]
        not_proposed += rounded
        round_ = InspectionRound(
            village=village,
            group=group,
            date=date,
            pass_rule=pass_rule,
            fail_rule=fail_rule,
            not_proposed=not_proposed,
            created_by=actor,
        )
        if to_propose:
            round_.batch = _propose(village, group, date, to_propose, actor, request)
        round_.full_clean(exclude=["village", "group", "pass_rule", "fail_rule", "batch"])
        round_.save()
        round_.inspections.set(inspections)
        audit_record(
            action="inspection.round",
            actor=actor,
            village_id=village.pk,
            obj=round_,
            detail={
                "group": group.pk if group else None,
                "inspected": len(inspections),
                "passed": sum(1 for line in inspected if line.passed),
                "batch": round_.batch_id,
            },
            request=request,
        )
    return round_


def _rounded_left_out(village: Village, lines: Sequence[RoundLine], date: datetime.date):
    """(the lines of households no other round of the month inspected, [{"household", "why"}]
    for those left out). Refused when nobody to inspect is left."""
    elsewhere = _rounded_elsewhere(village, [line.household.pk for line in lines], date)
    if not elsewhere:
        return lines, []
    kept = [line for line in lines if line.household.pk not in elsewhere]
    left_out = [line.household for line in lines if line.household.pk in elsewhere]
    if not any(line.inspected for line in kept):
        raise ValidationError(
            _(
                "Every household inspected on this sheet already had this month's round "
                "(%(households)s): nothing was saved."
            )
            % {"households": list_join([household.head_name for household in left_out])}
        )
    with records_language():  # the whys are kept with the round
        why = [
            {
                "household": household.pk,
                "why": _("already in this month's round of %(scope)s, saved on %(day)s")
                % {
                    "scope": _scope_name(elsewhere[household.pk].group),
                    "day": timezone.localdate(elsewhere[household.pk].created_at).isoformat(),
                },
            }
            for household in left_out
        ]
    return kept, why


def _who_is_proposed(inspected, pass_rule, fail_rule, date):
    """([{"household", "why"}] given no proposal, {(rule, reason): [household]} to propose)."""
    with_card = households_with_active_card(line.household.pk for line in inspected)
    if any(rule is not None and rule.monthly_cap is not None for rule in (pass_rule, fail_rule)):
        cap_accounts_lock(line.household.pk for line in inspected)  # counted, then proposed
    used = {}
    for rule in (pass_rule, fail_rule):
        if rule is not None and rule.monthly_cap is not None:
            used[rule.pk] = _cap_used(
                rule=rule,
                household_ids=[line.household.pk for line in inspected],
                day=date,
                include_pending=True,
            )
    not_proposed, to_propose = [], defaultdict(list)
    day = date.isoformat()
    for line in inspected:
        household = line.household
        rule = pass_rule if line.passed else fail_rule
        why = ""
        if rule is None:
            continue  # the village gives no points for this outcome
        if household.pk not in with_card:
            why = _("no active points card")
        elif (
            rule.monthly_cap is not None
            and used[rule.pk].get(household.pk, 0) + abs(rule.points) > rule.monthly_cap
        ):
            why = _("%(rule)s already counted this month (at most %(cap)d points)") % {
                "rule": rule.code,
                "cap": rule.monthly_cap,
            }
        if why:
            not_proposed.append({"household": household.pk, "why": why})
            continue
        if line.passed:
            reason = _("Monthly hygiene inspection of %(day)s: passed") % {"day": day}
        else:
            reason = _("Monthly hygiene inspection of %(day)s: failed (%(checks)s)") % {
                "day": day,
                "checks": list_join(line.failed_labels),
            }
        to_propose[(rule, reason[:300])].append(household)
    return not_proposed, to_propose


def _propose(village, group, date, to_propose, actor, request) -> Batch:
    """The round's batch (its proposals carry the pass and the fail rule) and its proposals."""
    with records_language():  # the batch's title is the village's record
        title = _("Hygiene round: %(scope)s, %(month)s") % {
            "scope": _scope_name(group),
            "month": f"{date:%Y-%m}",
        }
    batch = Batch(
        village=village,
        rule=None,
        title=title[:100],
        date=date,
        created_by=actor,
    )
    batch.full_clean(exclude=["village", "rule", "created_by"])
    batch.save()
    # Awards first, then each set of failed checks: the queue lists them in that order.
    for (rule, reason), households in sorted(
        to_propose.items(), key=lambda pair: (-pair[0][0].points, pair[0][1])
    ):
        proposal_create(
            village=village,
            households=households,
            rule=rule,
            reason=reason,
            occurred_on=date,
            actor=actor,
            batch=batch,
            request=request,
        )
    return batch


def batch_outcomes(batch_ids, *, village_id: int) -> dict[int, dict]:
    """Per batch of the village: its proposals by rule ({code, points, count, pending}) and
    whether it is an inspection round, in one query: for the approval queue's batch rows and
    the batch page. Each table is read with the village named (docs/performance.md)."""
    batch_ids = list(batch_ids)
    if not batch_ids:
        return {}
    rounds = InspectionRound.objects.filter(village_id=village_id, batch_id=OuterRef("batch_id"))
    rows = (
        Proposal.objects.filter(village_id=village_id, batch_id__in=batch_ids)
        .annotate(is_round=Exists(rounds))
        .values("batch_id", "rule__code", "points", "is_round")
        .annotate(count=Count("pk"), pending=Count("pk", filter=Q(status=Proposal.Status.PROPOSED)))
        .order_by("batch_id", "-points", "rule__code")
    )
    outcomes = {
        batch_id: {"round": False, "lines": [], "passed": 0, "failed": 0} for batch_id in batch_ids
    }
    for row in rows:
        outcome = outcomes[row["batch_id"]]
        outcome["round"] = row["is_round"]
        outcome["lines"].append(
            {
                "code": row["rule__code"],
                "points": row["points"],
                "count": row["count"],
                "pending": row["pending"],
            }
        )
        outcome["passed" if row["points"] > 0 else "failed"] += row["count"]
    return outcomes
