"""Writes of the points workflow: rules, proposals and approval, declarations.

Every change of points is an entry made by points.ledger (`entries_plan`; `entry_post` and
`reversal_post` are re-exported here); crediting after the publicity period and objections
live in points.publicity.

Awards and deductions reach it only through `proposal_approve`: a proposal is a workflow
record, and approval by the village's supervisor (after the publicity period, if the village
has one) is what posts its immutable entry.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Abs
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import sql
from core.access import Role, is_manager, is_supervisor, is_villager
from core.audit import as_stored, audit_record, record_save
from core.files import discard_files_on_error, file_stored
from core.months import day_within_check, month_days, past_day_check, previous_month
from core.photos import photo_prepare
from core.text import list_join, reason_clean, records_language
from notifications.models import Notification
from notifications.services import message, notifications_post
from points import sql as points_sql
from points.ledger import (  # the ledger's writes, also imported from here by callers
    InsufficientPoints,  # noqa: F401
    account_open,
    balance_after,  # noqa: F401
    entry_post,
    reversal_post,
)
from points.models import Account, Batch, Declaration, Entry, Proposal, Rule
from points.publicity import credit_at_approval, no_card_refusal, publicity_start
from points.selectors import proposals_repeated
from villagers.models import Card, Household, Member, Referral, User, Village
from villagers.second_person import (
    SecondPersonRequired,
    batch_check,
    decider_check,
    others_who_may,
    own_household_check,
    referral_open,
    referrals_close,
    role_holders,
    sent_up_words,
)
from villagers.selectors import households_with_active_card
from villagers.services import card_create

# {proposal id: open referral}: items the county admin decides for a village (see
# villagers.second_person); None for the village's own supervisor.
Referrals = Mapping[int, Referral] | None


def card_issue(
    *,
    household: Household,
    actor: User,
    pin: str,
    pin_hash: str | None = None,
    at: datetime.datetime | None = None,
    referral: Referral | None = None,
    request=None,
) -> Card:
    """Issue the household's points card; the first card ever posts the village's opening grant.

    `at` backdates the card and its opening grant, for loaders replaying history only. The
    card's `opening_points` say what it was granted. The county issues one that nobody of
    the village may (their own household's: `referral`, as villagers.services.card_create).
    """
    with transaction.atomic():
        card = card_create(
            household=household,
            actor=actor,
            pin=pin,
            pin_hash=pin_hash,
            at=at,
            referral=referral,
            request=request,
        )
        card.opening_points = 0
        account = account_open(household=household)
        base = household.village.base_points
        # The household's first card only (card_create holds its lock): one issued again
        # after a recall gets nothing, even where the village started with no grant.
        first = not Card.objects.filter(household_id=household.pk).exclude(pk=card.pk).exists()
        if base > 0 and first and not account.entries.filter(kind=Entry.Kind.OPENING).exists():
            with records_language():
                memo = _("Opening grant for card %(number)s") % {"number": card.number}
            entry_post(
                account_id=account.pk,
                kind=Entry.Kind.OPENING,
                points=base,
                actor=actor,
                memo=memo,
                at=at,
            )
            card.opening_points = base
    return card


# --- rules ------------------------------------------------------------------------------------


def rule_check(rule: Rule) -> None:
    """What no edit of a rule may do, whoever makes it and from which page: touch the rule of
    balances carried over, or change the category of a rule already used. Past months'
    reports (published ones too, rule 7) and households' honours count by the category."""
    if rule.category == Rule.Category.CARRIED_OVER:
        raise ValidationError(_("The rule for balances carried over cannot be changed."))
    if rule.pk is None:
        return
    before = Rule.objects.filter(pk=rule.pk).values_list("category", flat=True).first()
    used = Proposal.objects.filter(rule_id=rule.pk).exclude(status=Proposal.Status.REJECTED)
    if before not in (None, rule.category) and used.exists():
        raise ValidationError(
            _(
                "This rule has been used, so its category cannot change: past months' reports "
                "and households' honours count by it. Switch it off and add a new rule instead."
            )
        )


def rule_save(*, rule: Rule, actor: User, request=None) -> Rule:
    """Create or change a line of the village's points rules (the manager keeps them)."""
    if not (is_manager(actor) and actor.village_id == rule.village_id):
        raise PermissionDenied(_("Only the village's manager may change the points rules."))
    rule_check(rule)
    if as_stored(rule, Rule.objects.filter(pk=rule.pk).first() if rule.pk else None):
        return rule  # saved as stored: nothing written, nothing audited as a change
    return record_save(
        rule,
        actor=actor,
        village_id=rule.village_id,
        action="rule.{verb}",
        detail={"code": rule.code, "points": rule.points, "active": rule.active},
        request=request,
    )


# --- proposals ----------------------------------------------------------------------------------


def _cap_used(
    *, rule: Rule, household_ids: Iterable[int], day: datetime.date, include_pending: bool
) -> dict[int, int]:
    """Points (absolute) already counted under `rule` in `day`'s month, per household.

    Approved proposals count unless their entry was reversed; pending ones count when asked.
    """
    first, following = month_days(day)
    # Approved ones count whether credited yet or still in publicity (or held).
    statuses = [Proposal.Status.APPROVED, Proposal.Status.PUBLICITY, Proposal.Status.HELD]
    if include_pending:
        statuses.append(Proposal.Status.PROPOSED)
    rows = (
        Proposal.objects.filter(
            rule=rule,
            household_id__in=list(household_ids),
            occurred_on__gte=first,
            occurred_on__lt=following,
            status__in=statuses,
            entry__reversed_by__isnull=True,
        )
        .values("household_id")
        .annotate(used=Sum(Abs("points")))
    )
    return {row["household_id"]: row["used"] for row in rows}


def cap_accounts_lock(household_ids: Iterable[int]) -> None:
    """Lock the households' accounts (FOR NO KEY UPDATE, in id order) before counting a
    monthly cap for new proposals: two proposals under one rule for one household then take
    turns, and the later counts the earlier. The caller holds no proposal's lock yet, so the
    ledger's order (proposals, then accounts) holds: an approval waits here, never crosses."""
    rows = Account.objects.select_for_update(no_key=True).filter(
        household_id__in=sorted(set(household_ids))
    )
    list(rows.order_by("pk").values_list("pk", flat=True))


def _cap_refusal(rule: Rule, household: Household, used: int, adding: int) -> str:
    return _(
        "%(household)s: the rule %(rule)s allows at most %(cap)d points a month; "
        "%(used)d already counted, this adds %(adding)d."
    ) % {
        "household": household.head_name,
        "rule": rule.code,
        "cap": rule.monthly_cap,
        "used": used,
        "adding": adding,
    }


def can_propose(user: User, village: Village) -> bool:
    return (is_manager(user) or is_supervisor(user)) and user.village_id == village.pk


# A value the caller does not know (its form refused the field): the checks that need it
# wait until it is given.
UNKNOWN = object()


def proposal_refusals(
    *,
    village: Village,
    households=UNKNOWN,
    rule=UNKNOWN,
    reason=UNKNOWN,
    occurred_on=UNKNOWN,
    points=UNKNOWN,
    override_reason: str = "",
    member=UNKNOWN,
    with_cap: bool = False,
) -> list[str]:
    """Every reason `proposal_create` would refuse these values for, all together and
    without writing, so a form says them at once rather than one per submit. A value left
    UNKNOWN skips the checks that need it; `with_cap` adds the monthly caps, read without the
    lock that `proposal_create` takes before it counts them again."""
    refusals = []
    if reason is not UNKNOWN and not (reason or "").strip():
        refusals.append(_("Give the reason for the proposal."))
    if households is not UNKNOWN:
        if not households:
            refusals.append(_("Choose at least one household."))
        elif len({h.pk for h in households}) != len(households):
            refusals.append(_("A household is listed twice."))
        if any(h.village_id != village.pk for h in households):
            refusals.append(_("A household belongs to another village."))
        else:
            with_card = households_with_active_card(h.pk for h in households)
            missing = [h.head_name for h in households if h.pk not in with_card]
            if missing:
                refusals.append(
                    _("These households have no active points card: %(names)s.")
                    % {"names": list_join(missing)}
                )
    rule_usable = rule is not UNKNOWN and rule.village_id == village.pk and rule.active
    if rule is not UNKNOWN and not rule_usable:
        refusals.append(_("Choose an active rule of this village."))
    figure = UNKNOWN
    if rule_usable and points is not UNKNOWN:
        figure = rule.points if points is None else points
        if figure != rule.points and not (override_reason or "").strip():
            refusals.append(
                _(
                    "The rule gives %(points)+d points; say why this proposal gives a "
                    "different figure."
                )
                % {"points": rule.points}
            )
        if figure == 0 or (figure > 0) != (rule.points > 0):
            refusals.append(
                _("The points must have the same sign as the rule (%(points)+d).")
                % {"points": rule.points}
            )
    if occurred_on is not UNKNOWN:
        try:
            past_day_check(occurred_on)
        except ValidationError as error:
            refusals.extend(error.messages)
    if member not in (None, UNKNOWN):
        if households is not UNKNOWN and (
            len(households) != 1 or member.household_id != households[0].pk
        ):
            refusals.append(_("The member must belong to the household."))
        left = member.left_on
        if occurred_on is not UNKNOWN and left is not None and left < occurred_on:
            refusals.append(member_left_before(member))
    if (
        with_cap
        and rule_usable
        and rule.monthly_cap is not None
        and figure is not UNKNOWN
        and households not in (UNKNOWN, [])
        and occurred_on is not UNKNOWN
    ):
        used = _cap_used(
            rule=rule,
            household_ids=[h.pk for h in households],
            day=occurred_on,
            include_pending=True,
        )
        refusals.extend(
            _cap_refusal(rule, h, used.get(h.pk, 0), abs(figure))
            for h in households
            if used.get(h.pk, 0) + abs(figure) > rule.monthly_cap
        )
    return refusals


class ProposalsRepeated(ValidationError):
    """The households already have a proposal of the rule and day (`proposals`): the same
    deed entered again, unless the proposer says it is a second one."""

    def __init__(self, proposals: list[Proposal]):
        super().__init__(
            _("Already proposed for the same rule and day: %(households)s.")
            % {"households": list_join(p.household.head_name for p in proposals)},
            code="repeated",
        )
        self.proposals = proposals


def proposal_create(
    *,
    village: Village,
    households: Sequence[Household],
    rule: Rule,
    reason: str,
    occurred_on: datetime.date,
    actor: User,
    points: int | None = None,
    override_reason: str = "",
    member: Member | None = None,
    photo=None,
    photo_name: str = "",
    batch_title: str = "",
    place: str = "",
    batch: Batch | None = None,
    again: bool = True,
    request=None,
) -> list[Proposal]:
    """Propose an award or deduction for one household, or for many as one batch.

    The points default to the rule's; a different figure needs `override_reason`. Nothing
    reaches the ledger until the supervisor approves. `batch` (saved, of the village) adds
    the proposals to a batch begun by the caller, whose proposals may carry several rules.
    Under a monthly cap the households' accounts are locked before it is counted
    (`cap_accounts_lock`), so two proposals at once never both pass it. Without `again`
    (the forms' "propose again anyway"), a household that already has a proposal of the
    rule and day is refused (ProposalsRepeated), counted under the same locks: the same deed
    sent from two tabs at once is proposed once.
    """
    if not can_propose(actor, village):
        raise ValidationError(_("Only the village's manager or supervisor may propose points."))
    if batch is not None and (batch.pk is None or batch.village_id != village.pk):
        raise ValidationError(_("The batch belongs to another village."))
    refusals = proposal_refusals(
        village=village,
        households=households,
        rule=rule,
        reason=reason,
        occurred_on=occurred_on,
        points=points,
        override_reason=override_reason,
        member=member,
    )
    if refusals:
        raise ValidationError(refusals)
    reason = reason.strip()
    override_reason = (override_reason or "").strip()
    if points is None:
        points = rule.points
    if photo is not None:
        photo = photo_prepare(photo, name="evidence")

    # A refusal or a failure below deletes the photo stored for it (see core.files).
    with discard_files_on_error(), transaction.atomic():
        if rule.monthly_cap is not None or not again:
            cap_accounts_lock(h.pk for h in households)
        if not again:
            repeated = proposals_repeated(village, [h.pk for h in households], rule, occurred_on)
            if repeated:
                raise ProposalsRepeated(repeated)
        if rule.monthly_cap is not None:
            used = _cap_used(
                rule=rule,
                household_ids=[h.pk for h in households],
                day=occurred_on,
                include_pending=True,
            )
            refusals = [
                _cap_refusal(rule, h, used.get(h.pk, 0), abs(points))
                for h in households
                if used.get(h.pk, 0) + abs(points) > rule.monthly_cap
            ]
            if refusals:
                raise ValidationError(refusals)
        if batch is None and (len(households) > 1 or batch_title):
            batch = Batch(
                village=village,
                rule=rule,
                title=(batch_title or rule.description)[:100],
                date=occurred_on,
                place=place[:100],
                created_by=actor,
            )
            batch.full_clean()
            batch.save()
        proposals = []
        for household in households:
            proposal = Proposal(
                village=village,
                household=household,
                rule=rule,
                batch=batch,
                points=points,
                override_reason=override_reason if points != rule.points else "",
                reason=reason,
                occurred_on=occurred_on,
                member=member,
                proposed_by=actor,
            )
            if photo is not None:
                if proposals and proposals[0].photo:
                    # One upload is stored once and shared by every proposal of the batch.
                    proposal.photo.name = proposals[0].photo.name
                else:
                    proposal.photo.save(photo.name, ContentFile(photo.read()), save=False)
                    file_stored(proposal.photo)
            elif photo_name:
                proposal.photo.name = photo_name
            proposal.full_clean()
            proposal.save()
            proposals.append(proposal)
        proposals_refer_if_undecidable(proposals=proposals, actor=actor, request=request)
        audit_record(
            action="proposal.create",
            actor=actor,
            village_id=village.pk,
            obj=batch or proposals[0],
            detail={
                "proposals": [p.pk for p in proposals],
                "rule": rule.code,
                "points": points,
                "reason": reason,
            },
            request=request,
        )
    return proposals


def _decision_check(proposal: Proposal, actor: User, referral: Referral | None = None) -> None:
    """Refuse unless `actor` may approve or reject `proposal`: the one place this rule lives.

    The village's supervisor decides, never a proposal of their own or one for their own
    household (DESIGN.md rule 8); what nobody of the village may decide, the county does.
    """
    try:
        decider_check(
            actor,
            role=Role.SUPERVISOR,
            kind=Referral.Kind.PROPOSAL,
            object_id=proposal.pk,
            village_id=proposal.village_id,
            household_id=proposal.household_id,
            household_name=lambda: proposal.household.head_name,
            originators=[proposal.proposed_by_id],
            referral=referral,
            role_refusal=_("Only the village's supervisor may approve or reject proposals."),
            role_error=ValidationError,
        )
    except SecondPersonRequired as error:
        # Sent up by the page in a transaction of its own (referral_open), which locks the
        # proposal as a decision does: one decided meanwhile is not sent up, and a decision
        # waiting for that lock reads the referral once it has it (_pending_check).
        error.recheck = lambda: _pending_locked(proposal)
        raise


def _pending_locked(proposal: Proposal) -> None:
    """Lock `proposal` and refuse unless it still waits for a decision."""
    status = (
        Proposal.objects.select_for_update(no_key=True)
        .filter(pk=proposal.pk, village_id=proposal.village_id)
        .values_list("status", flat=True)
        .first()
    )
    if status != Proposal.Status.PROPOSED:
        raise ValidationError(
            _("%(household)s: this proposal was already decided (%(status)s).")
            % {
                "household": proposal.household.head_name,
                "status": Proposal.Status(status).label if status else "-",
            }
        )


def proposal_decision_refusal(proposal: Proposal, actor: User) -> str | None:
    """Why `actor` may not decide `proposal`, or None: for pages and the admin to grey out."""
    try:
        _decision_check(proposal, actor)
    except (ValidationError, PermissionDenied) as error:
        return " ".join(getattr(error, "messages", None) or [str(error)])
    return None


def proposals_refer_if_undecidable(*, proposals: Sequence[Proposal], actor: User, request=None):
    """Send up to the county, at once, the proposals no supervisor of the village may decide.

    A supervisor's own proposal, or one for the only supervisor's household, would otherwise
    wait in a queue nobody may clear. Returns the proposals sent up.
    """
    if not proposals:
        return []
    supervisors = role_holders(village_id=proposals[0].village_id, role=Role.SUPERVISOR)
    sent = []
    for proposal in proposals:
        if others_who_may(
            village_id=proposal.village_id,
            role=Role.SUPERVISOR,
            household_id=proposal.household_id,
            originators=[proposal.proposed_by_id],
            candidates=supervisors,
        ):
            continue
        with records_language():  # the referral's why, read by the county
            why = _("No supervisor of the village may decide this proposal for %(household)s.") % {
                "household": proposal.household.head_name
            }
        referral_open(
            error=SecondPersonRequired(
                why,
                kind=Referral.Kind.PROPOSAL,
                object_id=proposal.pk,
                village_id=proposal.village_id,
                household_id=proposal.household_id,
                referable=True,
            ),
            actor=actor,
            request=request,
        )
        sent.append(proposal)
    return sent


def entry_reverse(
    *,
    entry: Entry,
    actor: User,
    reason: str,
    referral: Referral | None = None,
    at: datetime.datetime | None = None,
    request=None,
) -> Entry:
    """The supervisor corrects a mistaken award or deduction with a reversing entry.

    Never their own household's entry nor one they proposed (DESIGN.md rule 8). An entry
    whose effect lives elsewhere is refused: a redemption is undone only by voiding it at the
    store, which gives back points and goods together. `at` backdates, for loaders only.
    """
    reason = reason_clean(
        reason, Entry._meta.get_field("memo"), missing=_("Give the reason for the reversal.")
    )
    if entry.kind == Entry.Kind.REDEMPTION:
        raise ValidationError(
            _(
                "This entry is a store redemption: void the redemption on its receipt, so the "
                "points and the goods come back together."
            ),
            code="redemption_entry",
        )
    if not entry.is_reversible:
        raise ValidationError(_("This entry cannot be reversed."))
    account = entry.account
    proposal = Proposal.objects.filter(entry=entry).only("proposed_by_id").first()
    decider_check(
        actor,
        role=Role.SUPERVISOR,
        kind=Referral.Kind.REVERSAL,
        object_id=entry.pk,
        village_id=account.village_id,
        household_id=account.household_id,
        household_name=lambda: account.household.head_name,
        originators=[proposal.proposed_by_id if proposal else None],
        referral=referral,
        role_refusal=_("Only the village's supervisor may reverse an entry."),
        role_error=ValidationError,
    )
    with transaction.atomic():
        reversal = reversal_post(entry=entry, actor=actor, memo=reason, at=at)
        notifications_post(
            [
                message(
                    village_id=account.village_id,
                    household_id=account.household_id,
                    kind=Notification.Kind.REVERSED,
                    points=reversal.points,
                    date=timezone.localdate(entry.created_at).isoformat(),
                    balance=reversal.balance_after,
                )
            ],
            now=at,
            history=at is not None,
        )
        audit_record(
            action="entry.reverse",
            actor=actor,
            village_id=account.village_id,
            obj=reversal,
            detail={"reverses": entry.pk, "points": reversal.points, "reason": reason},
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.REVERSAL, object_ids=[entry.pk], actor=actor, outcome=reason
        )
    return reversal


def _locked_proposal(row) -> Proposal:
    """A proposal and its rule from LOCK_PROPOSALS' row (points.sql), with whether its
    household has an active card (`carded`)."""
    proposal = sql.instance(Proposal, row)
    proposal.rule = sql.instance(Rule, row, sql.width(Proposal))
    (proposal.carded,) = row[sql.width(Proposal) + sql.width(Rule) :]
    return proposal


def _lock_pending(
    proposal_ids: Iterable[int],
    actor: User,
    village_id: int,
    referrals: Referrals = None,
    approving=False,
) -> list[Proposal]:
    """Lock the village's proposals in id order (the ledger's lock order is proposals, then
    accounts) with their rules, and check each is pending and decidable by `actor`."""
    ids = sorted(set(proposal_ids))
    if not ids:
        raise ValidationError(_("Choose at least one proposal."))
    with connection.cursor() as cursor:
        sql.execute(cursor, points_sql.LOCK_PROPOSALS, {"ids": ids, "village": village_id})
        proposals = [_locked_proposal(row) for row in cursor.fetchall()]
    if len(proposals) != len(ids):
        raise ValidationError(_("Some of the chosen proposals were not found."))
    _pending_check(proposals, actor, referrals, approving)
    return proposals


def _pending_check(
    proposals: list[Proposal],
    actor: User,
    referrals: Referrals = None,
    approving=False,
    sent_up: set[int] | None = None,
) -> None:
    """Refuse unless each (locked) proposal is pending and decidable by `actor`, and when
    `approving`, its household has an active card; listing every problem
    (second_person.batch_check).

    A proposal sent up to the township or the county (an open referral) is theirs to decide
    (DESIGN.md rule 8): the village's supervisor is refused it, whatever page they pressed
    on, in the words its own page uses. Read here, after the locks, in a statement of its
    own: the locking statement's snapshot would miss a send-up committed while it waited
    (the send-up locks the proposal too: referral_open's recheck, set by _decision_check),
    or given as `sent_up` by a caller that read it so. Each is marked `referred` for the
    referrals the decision closes."""
    referrals = referrals or {}
    if sent_up is None:
        with connection.cursor() as cursor:
            # Prepared (points.sql.SENT_UP): built by the ORM, this read doubled the Python
            # work of an approval (docs/performance.md, "Many tellers").
            ids = [proposal.pk for proposal in proposals]
            sql.execute(
                cursor, points_sql.SENT_UP, {"village": proposals[0].village_id, "ids": ids}
            )
            sent_up = {object_id for (object_id,) in cursor.fetchall()}

    def check(proposal: Proposal) -> None:
        proposal.referred = proposal.pk in sent_up
        if proposal.status != Proposal.Status.PROPOSED:
            raise ValidationError(
                _("%(household)s: this proposal was already decided (%(status)s).")
                % {
                    "household": proposal.household.head_name,
                    "status": proposal.get_status_display(),
                }
            )
        behind = proposal.referred and proposal.pk not in referrals
        try:
            _decision_check(proposal, actor, referrals.get(proposal.pk))
        except SecondPersonRequired as error:
            if not behind:
                raise
            # Waiting above already: said as its page says it, nothing sent up again.
            raise ValidationError(
                "%s %s" % (error.messages[0], sent_up_words())  # noqa: UP031 (two sentences)
            ) from error
        if behind:
            raise ValidationError(
                _("%(household)s: %(refusal)s")
                % {"household": proposal.household.head_name, "refusal": sent_up_words()}
            )
        if not proposal.carded and approving:
            raise ValidationError(no_card_refusal(proposal.household.head_name))

    batch_check(proposals, check)
    if referrals:
        _sent_up_batches_whole_check(proposals)


def _sent_up_batches_whole_check(proposals: list[Proposal]) -> None:
    """Refuse the township's or the county's decision on part of what a batch sent up.

    A batch is decided as one (DESIGN.md ledger rule 4): the proposals of a batch waiting
    above are approved or rejected together, never one approved and another rejected. One
    sent up alone (the batch's only proposal nobody of the village may decide, the rest being
    the village's) is decided alone. Read after the proposals' locks, as `_pending_check`."""
    batch_ids = {proposal.batch_id for proposal in proposals if proposal.batch_id}
    if not batch_ids:
        return
    village_id = proposals[0].village_id
    chosen = {proposal.pk for proposal in proposals}
    left_out = dict(
        Proposal.objects.filter(
            village_id=village_id,
            batch_id__in=batch_ids,
            status=Proposal.Status.PROPOSED,
            pk__in=Referral.objects.filter(
                village_id=village_id,
                kind=Referral.Kind.PROPOSAL,
                status=Referral.Status.OPEN,
            ).values("object_id"),
        )
        .exclude(pk__in=chosen)
        .values_list("pk", "batch_id")
    )
    if not left_out:
        return
    batches = Batch.objects.in_bulk(set(left_out.values()))
    problems = []
    for batch_id, batch in sorted(batches.items()):
        waiting = sum(1 for p in proposals if p.batch_id == batch_id) + sum(
            1 for b in left_out.values() if b == batch_id
        )
        problems.append(
            _(
                "“%(batch)s” is one batch: its %(count)d proposals waiting for the township or "
                "the county are approved or rejected together, in one decision. Nothing was "
                "decided."
            )
            % {"batch": batch.title, "count": waiting}
        )
    raise ValidationError(problems, code="batch_whole")


def _lock_accounts(household_ids: set[int]) -> dict[int, Account]:
    """The households' accounts, locked in id order: {household id: account}."""
    with connection.cursor() as cursor:
        sql.execute(cursor, points_sql.LOCK_ACCOUNTS, {"households": sorted(household_ids)})
        accounts = [sql.instance(Account, row) for row in cursor.fetchall()]
    return {account.household_id: account for account in accounts}


def _lock_for_approval(
    proposal_ids: Iterable[int], actor: User, village_id: int, referrals: Referrals
) -> tuple[list[Proposal], dict[int, Account]]:
    """Lock the proposals, then their households' accounts; check each proposal is pending
    and decidable by `actor`. Returns the proposals and {household id: account}.

    One proposal (the commonest decision) is locked with its account in one statement: FOR
    UPDATE OF the proposal and the account, in that order, as the two steps would; whether
    it was sent up is read in the same round trip, after it (`sql.execute_in_turn`).
    """
    ids = sorted(set(proposal_ids))
    if len(ids) == 1:
        with connection.cursor() as cursor:
            locked, sent_up = sql.execute_in_turn(
                cursor,
                (points_sql.LOCK_ONE, {"id": ids[0], "village": village_id}),
                (points_sql.SENT_UP, {"village": village_id, "ids": ids}),
            )
        if locked:  # else the steps below say what is missing
            (row,) = locked
            proposal = sql.instance(Proposal, row)
            proposal.rule = sql.instance(Rule, row, sql.width(Proposal))
            at = sql.width(Proposal) + sql.width(Rule)
            account = sql.instance(Account, row, at)
            proposal.carded, proposal.entry_id_drawn = row[at + sql.width(Account) :]
            referred = {object_id for (object_id,) in sent_up}
            _pending_check([proposal], actor, referrals, approving=True, sent_up=referred)
            return [proposal], {account.household_id: account}
    proposals = _lock_pending(ids, actor, village_id, referrals, approving=True)
    return proposals, _lock_accounts({proposal.household_id for proposal in proposals})


def _deciding_village(actor: User, referrals: Referrals) -> Village:
    """The village whose proposals `actor` decides: their own, or that of the items the
    county admin decides (all of one village)."""
    if not referrals:
        if actor.village_id is None:
            raise ValidationError(
                _("Only the village's supervisor may approve or reject proposals.")
            )
        return actor.village  # loaded with the signed-in user
    villages = {referral.village_id for referral in referrals.values()}
    if len(villages) != 1 or actor.village_id is not None:
        raise ValidationError(_("Decide the items of one village at a time."))
    return next(iter(referrals.values())).village


def proposal_approve(
    *,
    proposal_ids: Iterable[int],
    actor: User,
    referrals: Referrals = None,
    request=None,
) -> list[Proposal]:
    """Approve proposals as one: each posts its ledger entry, or none does.

    With a publicity period (village.publicity_days > 0) approval posts nothing yet: each
    proposal goes on the public notice until `credit_due_at`, and `credit_due` credits it
    (see points.publicity). Accounts are locked in id order first so concurrent approvals and
    redemptions queue up instead of deadlocking; monthly caps and the no-negative rule are
    checked under the locks. `referrals` ({proposal id: open referral}) are the items sent
    up to the county that its admin, `actor`, decides.
    """
    village = _deciding_village(actor, referrals)
    with transaction.atomic():
        proposals, accounts = _lock_for_approval(proposal_ids, actor, village.pk, referrals)
        publicity_days = village.publicity_days
        _approval_caps_check(proposals)
        now = timezone.now()
        ordered = sorted(proposals, key=lambda p: (accounts[p.household_id].pk, p.pk))
        if publicity_days:
            problems = publicity_start(ordered, accounts, actor, now, publicity_days, request)
        else:
            problems = credit_at_approval(ordered, accounts, actor, now, village.pk, request)
        if problems:
            # Nothing is approved unless everything chosen can be: the batch stays whole.
            raise ValidationError(problems)
        referrals_close(
            kind=Referral.Kind.PROPOSAL,
            object_ids=[proposal.pk for proposal in proposals if proposal.referred],
            actor=actor,
            outcome=gettext_lazy("approved"),
        )
    return proposals


def _approval_caps_check(proposals: list[Proposal]) -> None:
    """Re-check monthly caps against approved points only (we hold the account locks)."""
    groups = defaultdict(list)
    for proposal in proposals:
        if proposal.rule.monthly_cap is not None:
            month = month_days(proposal.occurred_on)[0]
            groups[(proposal.rule_id, month)].append(proposal)
    problems = []
    for (_rule_id, month), members in groups.items():
        rule = members[0].rule
        used = _cap_used(
            rule=rule,
            household_ids={p.household_id for p in members},
            day=month,
            include_pending=False,
        )
        for proposal in members:
            already = used.get(proposal.household_id, 0)
            if already + abs(proposal.points) > rule.monthly_cap:
                problems.append(
                    _cap_refusal(rule, proposal.household, already, abs(proposal.points))
                )
            used[proposal.household_id] = already + abs(proposal.points)
    if problems:
        raise ValidationError(problems)


def proposal_reject(
    *,
    proposal_ids: Iterable[int],
    actor: User,
    reason: str,
    referrals: Referrals = None,
    request=None,
) -> list[Proposal]:
    """Reject proposals with a reason; they never reach the ledger."""
    reason = reason_clean(
        reason,
        Proposal._meta.get_field("rejection_reason"),
        missing=_("Give the reason for the rejection."),
    )
    village = _deciding_village(actor, referrals)
    with transaction.atomic():
        proposals = _lock_pending(proposal_ids, actor, village.pk, referrals)
        now = timezone.now()
        for proposal in proposals:
            proposal.status = Proposal.Status.REJECTED
            proposal.rejection_reason = reason
            proposal.decided_by = actor
            proposal.decided_at = now
            proposal.full_clean()
            proposal.save(update_fields=["status", "rejection_reason", "decided_by", "decided_at"])
            audit_record(
                action="proposal.reject",
                actor=actor,
                village_id=proposal.village_id,
                obj=proposal,
                detail={"reason": reason},
                request=request,
            )
        with records_language():
            outcome = _("rejected: %(reason)s") % {"reason": reason}
        referrals_close(
            kind=Referral.Kind.PROPOSAL,
            object_ids=[proposal.pk for proposal in proposals if proposal.referred],
            actor=actor,
            outcome=outcome,
        )
    return proposals


# --- declarations (积分申报) ---------------------------------------------------------------------


def member_left_before(member: Member) -> str:
    return _("%(name)s left the household on %(day)s, before the day of the deed.") % {
        "name": member.name,
        "day": member.left_on.isoformat(),
    }


def declaration_days() -> tuple[datetime.date, datetime.date]:
    """The days a villager may declare a good deed of: from the first day of last month to
    today. The staff's proposals take any day since the scheme began (past_day_check): the
    manager knows what is old. A villager's "2020-01-01" is a slip of the phone's date
    picker, or a deed long since rewarded, sent to a manager who reviews one at a time; a
    deed of late last month may still be declared early in this one."""
    today = timezone.localdate()
    return previous_month(today), today


def declaration_submit(
    *,
    user: User,
    description: str,
    occurred_on: datetime.date,
    member: Member | None = None,
    photo=None,
    request=None,
) -> Declaration:
    """A villager declares a good deed of their household for the manager to review."""
    if not is_villager(user):
        raise ValidationError(_("Only a household's own login can declare a good deed."))
    if member is not None and member.household_id != user.household_id:
        raise ValidationError(_("The member must belong to your household."))
    day_within_check(occurred_on, *declaration_days())
    if member is not None and member.left_on is not None and member.left_on < occurred_on:
        raise ValidationError(member_left_before(member))
    declaration = Declaration(
        village_id=user.village_id,
        household_id=user.household_id,
        member=member,
        description=(description or "").strip(),
        occurred_on=occurred_on,
        submitted_by=user,
    )
    prepared = photo_prepare(photo) if photo is not None else None
    declaration.full_clean()
    # The photo is stored only once the declaration is valid, and deleted if the write fails.
    with discard_files_on_error(), transaction.atomic():
        if prepared is not None:
            declaration.photo.save("declaration.jpg", prepared, save=False)
            file_stored(declaration.photo)
        declaration.save()
        audit_record(
            action="declaration.submit",
            actor=user,
            village_id=declaration.village_id,
            obj=declaration,
            request=request,
        )
    return declaration


def _lock_submitted(declaration: Declaration, actor: User) -> Declaration:
    if not can_propose(actor, declaration.village):
        raise ValidationError(
            _("Only the village's manager or supervisor may review declarations.")
        )
    locked = Declaration.objects.select_for_update(no_key=True).get(pk=declaration.pk)
    if locked.status != Declaration.Status.SUBMITTED:
        raise ValidationError(_("This declaration was already reviewed."))
    return locked


def declaration_accept(
    *,
    declaration: Declaration,
    actor: User,
    rule: Rule,
    reason: str,
    points: int | None = None,
    override_reason: str = "",
    request=None,
) -> Proposal:
    """Turn a declaration into a proposal (with its photo) for the supervisor to decide.
    Only under a rule that awards points: a villager's own word and photo are never made
    the evidence of a deduction (proposal_create keeps the figure's sign the rule's)."""
    if rule.points <= 0:
        raise ValidationError(
            _("A declared good deed is accepted only under a rule that awards points."),
            code="deduction_rule",
        )
    with transaction.atomic():
        locked = _lock_submitted(declaration, actor)
        (proposal,) = proposal_create(
            village=locked.village,
            households=[locked.household],
            rule=rule,
            reason=reason,
            occurred_on=locked.occurred_on,
            actor=actor,
            points=points,
            override_reason=override_reason,
            member=locked.member,
            photo_name=locked.photo.name if locked.photo else "",
            request=request,
        )
        locked.status = Declaration.Status.ACCEPTED
        locked.proposal = proposal
        locked.reviewed_by = actor
        locked.reviewed_at = timezone.now()
        locked.save(update_fields=["status", "proposal", "reviewed_by", "reviewed_at"])
        audit_record(
            action="declaration.accept",
            actor=actor,
            village_id=locked.village_id,
            obj=locked,
            detail={"proposal": proposal.pk},
            request=request,
        )
    return proposal


def declaration_decline(
    *, declaration: Declaration, actor: User, reason: str, request=None
) -> Declaration:
    reason = reason_clean(
        reason,
        Declaration._meta.get_field("decline_reason"),
        missing=_("Give the reason for declining."),
    )
    with transaction.atomic():
        locked = _lock_submitted(declaration, actor)
        own_household_check(
            actor,
            household_id=locked.household_id,
            household_name=lambda: locked.household.head_name,
        )
        locked.status = Declaration.Status.DECLINED
        locked.decline_reason = reason
        locked.reviewed_by = actor
        locked.reviewed_at = timezone.now()
        locked.save(update_fields=["status", "decline_reason", "reviewed_by", "reviewed_at"])
        audit_record(
            action="declaration.decline",
            actor=actor,
            village_id=locked.village_id,
            obj=locked,
            detail={"reason": reason},
            request=request,
        )
    return locked
