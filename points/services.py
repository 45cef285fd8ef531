"""Writes of the points workflow: rules, proposals and approval, declarations.

Every change of points goes through `entry_post` (points.ledger, re-exported here);
crediting after the publicity period and objections live in points.publicity.

Awards and deductions reach it only through `proposal_approve`: a proposal is a workflow
record, and approval by the village's supervisor (after the publicity period, if the village
has one) is what posts its immutable entry.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Sum
from django.db.models.functions import Abs
from django.utils import timezone
from django.utils.translation import gettext as _

from aidao.audit import audit_record
from aidao.photos import photo_prepare
from aidao.rows import Joined, columns_of, execute_prepared, instances_from, width_of
from core.files import discard_files_on_error, file_stored
from points.ledger import (  # the ledger's writes, also imported from here by callers
    InsufficientPoints,  # noqa: F401
    account_open,
    balance_after,  # noqa: F401
    entry_post,
    entry_reverse,  # noqa: F401
)
from points.models import Account, Batch, Declaration, Entry, Proposal, Rule
from points.publicity import credit_at_approval, publicity_start
from villagers.models import Card, Household, Member, User, Village
from villagers.roles import is_manager, is_supervisor, is_villager
from villagers.services import card_create


def card_issue(
    *,
    household: Household,
    actor: User,
    pin: str,
    pin_hash: str | None = None,
    at: datetime.datetime | None = None,
    request=None,
) -> Card:
    """Issue the household's points card; the first card ever posts the village's opening grant.

    `at` backdates the card and its opening grant, for loaders replaying history only.
    """
    with transaction.atomic():
        card = card_create(
            household=household, actor=actor, pin=pin, pin_hash=pin_hash, at=at, request=request
        )
        account = account_open(household=household)
        base = household.village.base_points
        if base > 0 and not account.entries.filter(kind=Entry.Kind.OPENING).exists():
            entry_post(
                account_id=account.pk,
                kind=Entry.Kind.OPENING,
                points=base,
                actor=actor,
                memo=_("Opening grant for card %(number)s") % {"number": card.number},
                at=at,
            )
    return card


# --- rules ------------------------------------------------------------------------------------


def rule_save(*, rule: Rule, actor: User, request=None) -> Rule:
    """Create or change a line of the village's points rules (the manager keeps them)."""
    if not (is_manager(actor) and actor.village_id == rule.village_id):
        raise ValidationError(_("Only the village's manager may change the points rules."))
    creating = rule.pk is None
    rule.full_clean()
    with transaction.atomic():
        rule.save()
        audit_record(
            action="rule.create" if creating else "rule.update",
            actor=actor,
            village_id=rule.village_id,
            obj=rule,
            detail={"code": rule.code, "points": rule.points, "active": rule.active},
            request=request,
        )
    return rule


# --- proposals ----------------------------------------------------------------------------------


def _month_bounds(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    first = day.replace(day=1)
    following = (first + datetime.timedelta(days=32)).replace(day=1)
    return first, following


def _cap_used(
    *, rule: Rule, household_ids: Iterable[int], day: datetime.date, include_pending: bool
) -> dict[int, int]:
    """Points (absolute) already counted under `rule` in `day`'s month, per household.

    Approved proposals count unless their entry was reversed; pending ones count when asked.
    """
    first, following = _month_bounds(day)
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
    request=None,
) -> list[Proposal]:
    """Propose an award or deduction for one household, or for many as one batch.

    The points default to the rule's; a different figure needs `override_reason`. Nothing
    reaches the ledger until the supervisor approves.
    """
    if not can_propose(actor, village):
        raise ValidationError(_("Only the village's manager or supervisor may propose points."))
    reason = (reason or "").strip()
    override_reason = (override_reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for the proposal."))
    if not households:
        raise ValidationError(_("Choose at least one household."))
    if len({h.pk for h in households}) != len(households):
        raise ValidationError(_("A household is listed twice."))
    if rule.village_id != village.pk or not rule.active:
        raise ValidationError(_("Choose an active rule of this village."))
    if points is None or points == rule.points:
        points = rule.points
    elif not override_reason:
        raise ValidationError(
            _("The rule gives %(points)+d points; say why this proposal gives a different figure.")
            % {"points": rule.points}
        )
    if points == 0 or (points > 0) != (rule.points > 0):
        raise ValidationError(
            _("The points must have the same sign as the rule (%(points)+d).")
            % {"points": rule.points}
        )
    if occurred_on > timezone.localdate():
        raise ValidationError(_("The date cannot be in the future."))
    if member is not None and (len(households) != 1 or member.household_id != households[0].pk):
        raise ValidationError(_("The member must belong to the household."))
    for household in households:
        if household.village_id != village.pk:
            raise ValidationError(_("A household belongs to another village."))
    with_account = set(
        Account.objects.filter(household__in=households).values_list("household_id", flat=True)
    )
    missing = [h.head_name for h in households if h.pk not in with_account]
    if missing:
        raise ValidationError(
            _("These households have no points card yet: %(names)s.")
            % {"names": "、".join(missing)}
        )
    if photo is not None:
        photo = photo_prepare(photo, name="evidence")

    # A refusal or a failure below deletes the photo stored for it (see core.files).
    with discard_files_on_error(), transaction.atomic():
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
        batch = None
        if len(households) > 1 or batch_title:
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


def _decision_refusal(proposal: Proposal, actor: User) -> str | None:
    """Why `actor` may not decide `proposal`, or None. The one place this rule lives."""
    if not is_supervisor(actor) or actor.village_id != proposal.village_id:
        return _("Only the village's supervisor may approve or reject proposals.")
    if proposal.proposed_by_id == actor.pk:
        return _("You proposed this for %(household)s: someone else must decide it.") % {
            "household": proposal.household.head_name
        }
    if actor.household_id is not None and proposal.household_id == actor.household_id:
        return _("%(household)s is your own household: someone else must decide it.") % {
            "household": proposal.household.head_name
        }
    return None


def proposal_decision_refusal(proposal: Proposal, actor: User) -> str | None:
    """Public form of the decision rule, for pages and the admin to grey out buttons."""
    return _decision_refusal(proposal, actor)


_LOCK_MODELS = [Joined(Proposal, "p"), Joined(Rule, "r", "p", "rule")]
# Proposals of the actor's village with their rules (for memos and caps), locked in id
# order: the ledger's lock order is proposals, then accounts. The household is read only
# for a refusal's message. Plain SQL: the ORM took longer to build this than PostgreSQL to
# run it, and each further join cost more than the lock itself.
LOCK_PROPOSALS_SQL = f"""
    SELECT {columns_of(_LOCK_MODELS)}
    FROM points_proposal p JOIN points_rule r ON r.id = p.rule_id
    WHERE p.id = ANY(%(ids)s) AND p.village_id = %(village)s
    ORDER BY p.id
    FOR UPDATE OF p
"""  # noqa: S608 (column names from the models, values as parameters)
_ACCOUNT_FIELDS = ["id", "household_id", "village_id", "balance", "opened_at"]
LOCK_ACCOUNTS_SQL = """
    SELECT id, household_id, village_id, balance, opened_at FROM points_account
    WHERE household_id = ANY(%(households)s) ORDER BY id FOR UPDATE
"""
# One proposal with its household's account, in one statement: a deed approved on its own is
# the commonest decision. FOR UPDATE OF p, a locks in that order, the ledger's (proposals,
# then accounts), so it queues behind a batch holding the proposal as the two steps would.
LOCK_ONE_SQL = f"""
    SELECT {columns_of(_LOCK_MODELS)}, {", ".join(f"a.{name}" for name in _ACCOUNT_FIELDS)}
    FROM points_proposal p JOIN points_rule r ON r.id = p.rule_id
    JOIN points_account a ON a.household_id = p.household_id
    WHERE p.id = %(id)s AND p.village_id = %(village)s
    FOR UPDATE OF p, a
"""  # noqa: S608 (column names from the models, values as parameters)


def _lock_pending(proposal_ids: Iterable[int], actor: User) -> list[Proposal]:
    """Lock the proposals (by id) and check each is pending and decidable by `actor`."""
    ids = sorted(set(proposal_ids))
    if not ids:
        raise ValidationError(_("Choose at least one proposal."))
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "aidao_lock_proposals",
            LOCK_PROPOSALS_SQL,
            {"ids": ids, "village": actor.village_id},
        )
        rows = cursor.fetchall()
    if len(rows) != len(ids):
        raise ValidationError(_("Some of the chosen proposals were not found."))
    proposals = [instances_from(row, _LOCK_MODELS)["p"] for row in rows]
    _pending_check(proposals, actor)
    return proposals


def _pending_check(proposals: list[Proposal], actor: User) -> None:
    """Refuse unless each (locked) proposal is pending and decidable by `actor`."""
    problems = []
    for proposal in proposals:
        if proposal.status != Proposal.Status.PROPOSED:
            problems.append(
                _("%(household)s: this proposal was already decided (%(status)s).")
                % {
                    "household": proposal.household.head_name,
                    "status": proposal.get_status_display(),
                }
            )
            continue
        refusal = _decision_refusal(proposal, actor)
        if refusal:
            problems.append(refusal)
    if problems:
        raise ValidationError(problems)


def _lock_accounts(household_ids: set[int]) -> dict[int, Account]:
    """The households' accounts, locked in id order: {household id: account}."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor, "aidao_lock_accounts", LOCK_ACCOUNTS_SQL, {"households": sorted(household_ids)}
        )
        accounts = [
            Account.from_db(connection.alias, _ACCOUNT_FIELDS, row) for row in cursor.fetchall()
        ]
    return {account.household_id: account for account in accounts}


def _lock_for_approval(
    proposal_ids: Iterable[int], actor: User
) -> tuple[list[Proposal], dict[int, Account]]:
    """Lock the proposals, then their households' accounts; check each proposal is pending
    and decidable by `actor`. Returns the proposals and {household id: account}."""
    ids = sorted(set(proposal_ids))
    if len(ids) == 1:
        with connection.cursor() as cursor:
            execute_prepared(
                cursor, "aidao_lock_one", LOCK_ONE_SQL, {"id": ids[0], "village": actor.village_id}
            )
            row = cursor.fetchone()
        if row is not None:  # else the steps below say what is missing
            proposal = instances_from(row, _LOCK_MODELS)["p"]
            _pending_check([proposal], actor)
            account_values = row[width_of(_LOCK_MODELS) :]
            account = Account.from_db(connection.alias, _ACCOUNT_FIELDS, account_values)
            return [proposal], {account.household_id: account}
    proposals = _lock_pending(ids, actor)
    return proposals, _lock_accounts({proposal.household_id for proposal in proposals})


def proposal_approve(*, proposal_ids: Iterable[int], actor: User, request=None) -> list[Proposal]:
    """Approve proposals as one: each posts its ledger entry, or none does.

    With a publicity period (village.publicity_days > 0) approval posts nothing yet: each
    proposal goes on the public notice until `credit_due_at`, and `credit_due` credits it
    (see points.publicity). Accounts are locked in id order first so concurrent approvals and
    redemptions queue up instead of deadlocking; monthly caps and the no-negative rule are
    checked under the locks.
    """
    with transaction.atomic():
        proposals, accounts = _lock_for_approval(proposal_ids, actor)
        publicity_days = actor.village.publicity_days  # loaded with the signed-in user
        _approval_caps_check(proposals)
        now = timezone.now()
        ordered = sorted(proposals, key=lambda p: (accounts[p.household_id].pk, p.pk))
        if publicity_days:
            problems = publicity_start(ordered, accounts, actor, now, publicity_days, request)
        else:
            problems = credit_at_approval(ordered, accounts, actor, now, request)
        if problems:
            # Nothing is approved unless everything chosen can be: the batch stays whole.
            raise ValidationError(problems)
    return proposals


def _approval_caps_check(proposals: list[Proposal]) -> None:
    """Re-check monthly caps against approved points only (we hold the account locks)."""
    groups = defaultdict(list)
    for proposal in proposals:
        if proposal.rule.monthly_cap is not None:
            month = _month_bounds(proposal.occurred_on)[0]
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
    *, proposal_ids: Iterable[int], actor: User, reason: str, request=None
) -> list[Proposal]:
    """Reject proposals with a reason; they never reach the ledger."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for the rejection."))
    with transaction.atomic():
        proposals = _lock_pending(proposal_ids, actor)
        now = timezone.now()
        for proposal in proposals:
            proposal.status = Proposal.Status.REJECTED
            proposal.rejection_reason = reason[:300]
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
    return proposals


# --- declarations (積分申報) ---------------------------------------------------------------------


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
    if occurred_on > timezone.localdate():
        raise ValidationError(_("The date cannot be in the future."))
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
    locked = Declaration.objects.select_for_update().get(pk=declaration.pk)
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
    """Turn a declaration into a proposal (with its photo) for the supervisor to decide."""
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
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for declining."))
    with transaction.atomic():
        locked = _lock_submitted(declaration, actor)
        locked.status = Declaration.Status.DECLINED
        locked.decline_reason = reason[:300]
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
