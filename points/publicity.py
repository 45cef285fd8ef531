"""The publicity period (公示期): approved awards and deductions wait on the public notice.

Approval (points.services.proposal_approve) either credits at once (publicity_days = 0) or
starts the period. During it anyone of the village may object; the supervisor upholds an
objection (the proposal is cancelled) or dismisses it. `proposals_credit_due` (the
`credit_due` command) posts the entries whose period has ended with no objection open.

Lock order, as everywhere in the ledger: the proposal row first, then the household's
account (inside `entry_post`). Crediting takes one proposal per transaction and skips rows
another process holds, so two runs at once credit each proposal exactly once.
"""

import datetime
import logging
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import sql
from core.access import Role, is_manager, is_supervisor, is_villager
from core.audit import audit_plan, audit_record
from core.text import reason_clean, records_language
from notifications.models import Notification
from notifications.services import (
    message,
    notifications_outdate,
    notifications_plan,
    notifications_post,
)
from points.ledger import (
    BalanceLimit,
    InsufficientPoints,
    Posting,
    balance_after,
    entries_plan,
    entry_post,
)
from points.models import Account, Entry, Objection, Proposal, Rule
from villagers.models import Card, Referral, User
from villagers.second_person import (
    SecondPersonRequired,
    decider_check,
    others_who_may,
    referral_open,
    referrals_close,
)

logger = logging.getLogger(__name__)


def _deduction_refusal(proposal: Proposal, error: InsufficientPoints | BalanceLimit) -> str:
    if isinstance(error, BalanceLimit):
        return _("%(household)s: award refused. %(why)s") % {
            "household": proposal.household.head_name,
            "why": error.messages[0],
        }
    return _("%(household)s: deduction refused. %(why)s") % {
        "household": proposal.household.head_name,
        "why": error.messages[0],
    }


def _entry_fields(proposal: Proposal) -> dict:
    """What a proposal's ledger entry says: its kind, points and memo."""
    if proposal.rule.category == Rule.Category.CARRIED_OVER:
        kind = Entry.Kind.CARRIED  # a paper balance (points.carryover), of either sign
    else:
        kind = Entry.Kind.AWARD if proposal.points > 0 else Entry.Kind.DEDUCTION
    return {
        "kind": kind,
        "points": proposal.points,
        "memo": f"{proposal.rule.code} {proposal.reason}",
    }


def _entry_message(proposal: Proposal, entry: Entry) -> Notification:
    """The household is told of its credited award or deduction (notifications)."""
    return message(
        village_id=proposal.village_id,
        household_id=proposal.household_id,
        kind=Notification.Kind.CREDITED if entry.points > 0 else Notification.Kind.DEDUCTED,
        points=entry.points,
        rule=proposal.rule.description[:40],
        balance=entry.balance_after,
    )


def _announced_message(proposal: Proposal, kind: str, **params) -> Notification:
    """The household hears what became of an entry announced to it (Kind.PUBLICITY) other
    than its crediting: cancelled, or held (with the proposal's id: its "is held" not sent
    yet stops once the entry is credited or cancelled)."""
    return message(
        village_id=proposal.village_id,
        household_id=proposal.household_id,
        kind=kind,
        points=proposal.points,
        rule=proposal.rule.description[:40],
        date=proposal.occurred_on.isoformat(),
        proposal=proposal.pk,
        **params,
    )


def _post_entry(proposal: Proposal, account_id: int, actor: User | None) -> Entry:
    return entry_post(account_id=account_id, actor=actor, **_entry_fields(proposal))


def credit_at_approval(proposals, accounts, actor, now, village_id, request) -> list[str]:
    """No publicity period: post each entry at approval. Returns the refusals, if any.

    The caller holds `accounts` locked (proposal_approve) and gives the proposals in
    (account, id) order, so each entry's balance after follows from the one before. The
    writes are one statement, whatever the number of proposals: the entries and balances
    (points.ledger.entries_plan), the proposals, the audit events.
    """
    problems = []
    balances = {account.pk: account.balance for account in accounts.values()}
    postings = []
    for proposal in proposals:
        account = accounts[proposal.household_id]
        try:
            balances[account.pk] = balance_after(
                balances[account.pk], proposal.points, account.held
            )
        except (InsufficientPoints, BalanceLimit) as error:
            problems.append(_deduction_refusal(proposal, error))
            continue
        postings.append(Posting(account=account, **_entry_fields(proposal)))
    if problems or not postings:
        return problems
    # Drawn under the account locks (LOCK_ONE draws it there; a batch draws them now), so an
    # account's entries take ids in the order their balances follow one another.
    ids = [getattr(p, "entry_id_drawn", None) for p in proposals]
    if None in ids:
        ids = sql.ids_draw(Entry, len(proposals))
    entries, statements = entries_plan(postings=postings, actor=actor, ids=ids, at=now)
    for proposal, entry in zip(proposals, entries, strict=True):
        proposal.status = Proposal.Status.APPROVED
        proposal.entry = entry
        proposal.decided_by = actor
        proposal.decided_at = now
        proposal.credit_due_at = now
    statements.append(
        sql.update_rows(
            Proposal,
            proposals,
            ["status", "entry", "decided_by", "decided_at", "credit_due_at"],
        )
    )
    statements.append(
        audit_plan(
            action="proposal.approve",
            actor=actor,
            village_id=village_id,
            objs=proposals,
            details=[{"entry": p.entry_id, "points": p.points} for p in proposals],
            request=request,
        )
    )
    statements += notifications_plan(
        [_entry_message(p, e) for p, e in zip(proposals, entries, strict=True)], now=now
    )
    counts = sql.run_together(statements)
    expected = [len(entries), len(accounts), len(proposals), len(proposals), len(proposals)]
    if counts != expected:
        # Cannot happen while the rows are locked; never commit a half-written approval.
        raise RuntimeError(f"approval wrote {counts} rows, expected {expected}")
    return problems


def publicity_start(proposals, accounts, actor, now, days, request) -> list[str]:
    """Put approved proposals on the public notice until `now + days`; nothing is posted yet.

    A deduction the balance cannot bear, counting deductions already in publicity and the
    points held for reservations (as crediting does: points.ledger.balance_after), is refused
    now as it would be without a period; crediting checks again when it is due.
    """
    pending = dict(
        Proposal.objects.filter(
            household_id__in=list(accounts),
            status__in=[Proposal.Status.PUBLICITY, Proposal.Status.HELD],
            points__lt=0,
        )
        .values_list("household_id")
        .annotate(total=Sum("points"))
    )
    due = now + datetime.timedelta(days=days)
    problems = []
    told = []
    for proposal in proposals:
        if proposal.points < 0:
            account = accounts[proposal.household_id]
            available = account.spendable + pending.get(proposal.household_id, 0)
            if available + proposal.points < 0:
                problems.append(
                    _(
                        "%(household)s: deduction refused. Not enough points: %(balance)d left "
                        "after the deductions already in publicity and the points held for "
                        "reservations, this needs %(needed)d."
                    )
                    % {
                        "household": proposal.household.head_name,
                        "balance": available,
                        "needed": -proposal.points,
                    }
                )
                continue
            pending[proposal.household_id] = pending.get(proposal.household_id, 0) + proposal.points
        proposal.status = Proposal.Status.PUBLICITY
        proposal.decided_by = actor
        proposal.decided_at = now
        proposal.credit_due_at = due
        proposal.save(update_fields=["status", "decided_by", "decided_at", "credit_due_at"])
        audit_record(
            action="proposal.approve",
            actor=actor,
            village_id=proposal.village_id,
            obj=proposal,
            detail={"points": proposal.points, "credit_due_at": due.isoformat()},
            request=request,
        )
        told.append(
            message(
                village_id=proposal.village_id,
                household_id=proposal.household_id,
                kind=Notification.Kind.PUBLICITY,
                points=proposal.points,
                rule=proposal.rule.description[:40],
                until=due.isoformat(),  # to the minute: objections close then, not at midnight
                proposal=proposal.pk,  # its text is not sent once the entry is cancelled
            )
        )
    if not problems:
        notifications_post(told, now=now)
    return problems


# --- crediting ------------------------------------------------------------------------------


class NoActiveCard(ValidationError):
    """The household's card was recalled: its entry is held, not credited."""


def no_card_refusal(head_name: str) -> str:
    """Why a proposal of a household whose card was recalled is not approved or credited."""
    return _(
        "%(household)s: its card was recalled, and a household without a card earns and "
        "loses no points. Reject this proposal, or approve it once a card is issued again."
    ) % {"household": head_name}


def _credit_locked(proposal: Proposal, *, actor: User | None, request=None) -> bool:
    """Credit a locked proposal whose period is over: post its entry, or hold it: a deduction
    the balance can no longer bear (never deduct part of it), an award that would take the
    balance past what an account holds (points.ledger.MAX_BALANCE), or anything for a
    household whose card was recalled meanwhile (it earns and loses no points without one).
    True when credited."""
    try:
        # Why it is held is kept with it, for the household to read: in the records' words.
        with records_language():
            if not Card.objects.filter(
                household_id=proposal.household_id, status=Card.Status.ACTIVE
            ).exists():
                raise NoActiveCard(
                    _(
                        "The household's card was recalled: it earns and loses no points "
                        "until a card is issued again."
                    )
                )
            entry = _post_entry(proposal, proposal.household.account.pk, actor)
    except (InsufficientPoints, BalanceLimit, NoActiveCard) as error:
        proposal.status = Proposal.Status.HELD
        proposal.hold_reason = error.messages[0][:300]
        proposal.save(update_fields=["status", "hold_reason"])
        why = {InsufficientPoints: "balance", BalanceLimit: "limit"}.get(type(error), "card")
        notifications_post([_announced_message(proposal, Notification.Kind.HELD, why=why)])
        audit_record(
            action="proposal.hold",
            actor=actor,
            village_id=proposal.village_id,
            obj=proposal,
            detail={"points": proposal.points, "why": proposal.hold_reason},
            request=request,
        )
        return False
    proposal.status = Proposal.Status.APPROVED
    proposal.entry = entry
    proposal.hold_reason = ""
    proposal.save(update_fields=["status", "entry", "hold_reason"])
    # Held before, its "is held" not sent yet is no longer true: "credited" tells instead.
    notifications_outdate(
        village_id=proposal.village_id, kinds=[Notification.Kind.HELD], proposal=proposal.pk
    )
    notifications_post([_entry_message(proposal, entry)])
    audit_record(
        action="proposal.credit",
        actor=actor,
        village_id=proposal.village_id,
        obj=proposal,
        detail={"entry": entry.pk, "points": proposal.points},
        request=request,
    )
    return True


@dataclass
class CreditRun:
    """What one run of `proposals_credit_due` did, by proposal id."""

    credited: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # an unforeseen error: left as it was


def proposals_credit_due(*, now: datetime.datetime | None = None) -> CreditRun:
    """Credit every proposal whose publicity period has ended with no objection open.

    Each proposal is locked and re-checked in its own transaction; rows another run holds
    are skipped (it is crediting them), so concurrent runs credit each exactly once. One
    that fails for a reason nobody foresaw is left as it was and logged: it never keeps
    the others, of any village, from being credited.
    """
    now = now or timezone.now()
    candidates = list(
        Proposal.objects.filter(status=Proposal.Status.PUBLICITY, credit_due_at__lte=now)
        .exclude(objections__status=Objection.Status.OPEN)
        .order_by("credit_due_at", "pk")
        .values_list("pk", flat=True)
    )
    run = CreditRun()
    for pk in candidates:
        try:
            with transaction.atomic():
                proposal = (
                    Proposal.objects.select_for_update(no_key=True, skip_locked=True, of=("self",))
                    .select_related("household__account", "rule")
                    .filter(pk=pk, status=Proposal.Status.PUBLICITY, credit_due_at__lte=now)
                    .first()
                )
                if proposal is None:
                    continue  # another run holds it or has credited it
                if proposal.objections.filter(status=Objection.Status.OPEN).exists():
                    continue  # raised since we listed the candidates
                credited = _credit_locked(proposal, actor=None)
        except Exception:
            logger.exception("proposal %s not credited: crediting it failed", pk)
            run.failed.append(pk)
            continue
        (run.credited if credited else run.held).append(pk)
    return run


def _lock_proposal(proposal_id: int, village_id: int) -> Proposal:
    try:
        return (
            Proposal.objects.select_for_update(no_key=True, of=("self",))
            .select_related("household__account", "rule")
            .get(pk=proposal_id, village_id=village_id)
        )
    except Proposal.DoesNotExist as error:
        raise ValidationError(_("This award or deduction was not found.")) from error


def _settle_check(
    proposal: Proposal,
    actor: User,
    *,
    kind: str,
    object_id: int,
    originators: list,
    referral: Referral | None,
) -> None:
    """Refuse unless `actor` may settle what happens to `proposal` after its approval.

    The village's supervisor does, never for their own household or on what they set going
    (their own proposal; for an objection, also one they raised): DESIGN.md rule 8.
    """
    decider_check(
        actor,
        role=Role.SUPERVISOR,
        kind=kind,
        object_id=object_id,
        village_id=proposal.village_id,
        household_id=proposal.household_id,
        household_name=lambda: proposal.household.head_name,
        originators=[proposal.proposed_by_id, *originators],
        referral=referral,
        role_refusal=_("Only the village's supervisor may do this."),
        role_error=ValidationError,
    )


def _village_of(actor: User, referral: Referral | None) -> int:
    """The village whose items `actor` settles: their own, or the referral's (the county)."""
    return referral.village_id if referral is not None else actor.village_id


def _lock_held(proposal_id: int, actor: User, referral: Referral | None, not_held: str):
    """Lock a held entry that `actor` may settle (else refuse, saying `not_held` when it
    is no longer held)."""
    proposal = _lock_proposal(proposal_id, _village_of(actor, referral))
    _settle_check(
        proposal,
        actor,
        kind=Referral.Kind.HELD,
        object_id=proposal.pk,
        originators=[],
        referral=referral,
    )
    if proposal.status != Proposal.Status.HELD:
        raise ValidationError(not_held)
    return proposal


def proposal_held_credit(
    *, proposal_id: int, actor: User, referral: Referral | None = None, request=None
) -> Proposal:
    """The supervisor credits a held entry once it can be: the balance bears the deduction,
    the household has a card again."""
    with transaction.atomic():
        proposal = _lock_held(proposal_id, actor, referral, _("This entry is not held."))
        if not _credit_locked(proposal, actor=actor, request=request):
            raise ValidationError(proposal.hold_reason)
        referrals_close(
            kind=Referral.Kind.HELD,
            object_ids=[proposal.pk],
            actor=actor,
            outcome=gettext_lazy("credited"),
        )
    return proposal


def proposal_cancel(
    *,
    proposal_id: int,
    actor: User,
    reason: str,
    referral: Referral | None = None,
    request=None,
) -> Proposal:
    """The supervisor cancels a held entry, with a reason shown on the public notice."""
    reason = reason_clean(
        reason,
        Proposal._meta.get_field("cancel_reason"),
        missing=_("Give the reason for cancelling."),
    )
    with transaction.atomic():
        proposal = _lock_held(
            proposal_id, actor, referral, _("Only a held entry can be cancelled here.")
        )
        _cancel_locked(proposal, reason)
        audit_record(
            action="proposal.cancel",
            actor=actor,
            village_id=proposal.village_id,
            obj=proposal,
            detail={"reason": reason},
            request=request,
        )
        with records_language():
            outcome = _("cancelled: %(reason)s") % {"reason": reason}
        referrals_close(
            kind=Referral.Kind.HELD, object_ids=[proposal.pk], actor=actor, outcome=outcome
        )
    return proposal


def _cancel_locked(proposal: Proposal, reason: str, *, household_told: bool = True) -> None:
    """Cancel a locked entry in publicity or held; the household is told (Kind.CANCELLED)
    unless `household_told` is False: it hears of it otherwise (its own objection upheld)."""
    # The household's account is locked before the time is taken, as every write the notice
    # shows: publishing a month waits for the village's accounts (reports.notice.
    # notice_publish), so a cancellation dated in the month and still committing then is
    # drawn on its notice, and one dated after waits and lands on the next. Proposals are
    # locked before accounts, as in the ledger's lock order.
    list(
        Account.objects.select_for_update(no_key=True)
        .filter(household_id=proposal.household_id)
        .values_list("pk", flat=True)
    )
    proposal.status = Proposal.Status.CANCELLED
    proposal.cancel_reason = reason
    proposal.cancelled_at = timezone.now()
    proposal.hold_reason = ""
    proposal.save(update_fields=["status", "cancel_reason", "cancelled_at", "hold_reason"])
    # Its "approved for your household, credited after that" and "is held" not sent yet are
    # no longer true, nor is "your objection was dismissed: the entry stands" to a villager
    # whose objection was dismissed before another one was upheld.
    notifications_outdate(
        village_id=proposal.village_id,
        kinds=[Notification.Kind.PUBLICITY, Notification.Kind.HELD],
        proposal=proposal.pk,
    )
    notifications_outdate(
        village_id=proposal.village_id,
        kinds=[Notification.Kind.OBJECTION_ANSWERED],
        proposal=proposal.pk,
        upheld=False,
    )
    if household_told:
        notifications_post([_announced_message(proposal, Notification.Kind.CANCELLED)])


# --- objections (异议) -------------------------------------------------------------------------


# The entries of other households a villager may open from the public notice: in publicity,
# credited, or cancelled. A pending or rejected proposal is never on the notice; a held one is
# listed there as "held", without its reason (points.selectors.notice_publicity_sections), and
# is not opened from it.
PUBLIC_STATUSES = (
    Proposal.Status.PUBLICITY,
    Proposal.Status.APPROVED,
    Proposal.Status.CANCELLED,
)


def proposal_shown_to_villager(proposal: Proposal, user: User) -> bool:
    """Whether a villager may see `proposal` on the objection page: their own household's,
    or one the public notice shows anyway (staff of the village see every one)."""
    return proposal.household_id == user.household_id or proposal.status in PUBLIC_STATUSES


def objection_refusal(proposal: Proposal, user: User) -> str | None:
    """Why `user` may not object to `proposal` now, or None: the one place this rule lives.

    Any villager of the village, and its manager or supervisor, may object while the entry is
    in its publicity period. The county administrator only reads.
    """
    of_village = user.is_authenticated and user.village_id == proposal.village_id
    if not of_village or not (is_villager(user) or is_manager(user) or is_supervisor(user)):
        return _("Only people of the village may object.")
    if proposal.status != Proposal.Status.PUBLICITY or timezone.now() >= proposal.credit_due_at:
        return _("This entry is no longer in its publicity period.")
    return None


def objection_raise(*, proposal_id: int, actor: User, reason: str, request=None) -> Objection:
    """File an objection: the entry is not credited while it is open."""
    reason = reason_clean(
        reason,
        Objection._meta.get_field("reason"),
        missing=_("Say what is wrong with this entry."),
    )
    with transaction.atomic():
        # Locking the proposal queues us behind a run of `credit_due` holding it.
        proposal = _lock_proposal(proposal_id, actor.village_id)
        refusal = objection_refusal(proposal, actor)
        if refusal:
            raise ValidationError(refusal)
        if proposal.objections.filter(raised_by=actor, status=Objection.Status.OPEN).exists():
            raise ValidationError(_("You already have an open objection to this entry."))
        objection = Objection(
            village_id=proposal.village_id, proposal=proposal, raised_by=actor, reason=reason
        )
        objection.full_clean(exclude=["proposal", "village", "raised_by"])
        objection.save()
        audit_record(
            action="objection.raise",
            actor=actor,
            village_id=proposal.village_id,
            obj=objection,
            detail={"proposal": proposal.pk, "reason": reason},
            request=request,
        )
        _objections_referred_if_nobody_may_settle(proposal, actor, request)
    return objection


def _objections_referred_if_nobody_may_settle(proposal, actor, request) -> None:
    """The open objections to `proposal` that no supervisor of the village may settle go up
    to the county as they are raised: they waited for a "decide" nobody could give (rule 8:
    they never wait). Upholding one closes them all, so whoever raised any of them, staff of
    a household that did, and the entry's proposer settle none: when the only supervisors
    are among them (the only one objected, or two objected each), every one goes up."""
    open_ = list(proposal.objections.filter(status=Objection.Status.OPEN).order_by("pk"))
    raisers = [objection.raised_by_id for objection in open_]
    raisers_households = set(
        User.objects.filter(pk__in=raisers, household__isnull=False).values_list(
            "household_id", flat=True
        )
    )
    others = [
        user
        for user in others_who_may(
            village_id=proposal.village_id,
            role=Role.SUPERVISOR,
            household_id=proposal.household_id,
            originators=[proposal.proposed_by_id, *raisers],
        )
        if user.household_id is None or user.household_id not in raisers_households
    ]
    if others:
        return
    with records_language():  # the referral's why, read by the county
        nobody = _(
            "Nobody of the village may settle this objection: its supervisor raised it, "
            "proposed the entry or is of a household concerned."
        )
    for objection in open_:  # one sent up already keeps its place (referral_open)
        referral_open(
            error=SecondPersonRequired(
                nobody,
                kind=Referral.Kind.OBJECTION,
                object_id=objection.pk,
                village_id=proposal.village_id,
                household_id=proposal.household_id,
                referable=True,
            ),
            actor=actor,
            request=request,
        )


def objection_resolve(
    *,
    objection_id: int,
    actor: User,
    upheld: bool,
    resolution: str,
    referral: Referral | None = None,
    request=None,
) -> Objection:
    """The supervisor upholds an objection (the entry is cancelled, the reason public) or
    dismisses it (credited at once if the period is over and nothing else is open)."""
    resolution = reason_clean(resolution, Objection._meta.get_field("resolution"))
    if upheld and not resolution:
        raise ValidationError(_("Give the reason for upholding: it is shown on the notice."))
    village_id = _village_of(actor, referral)
    objection = Objection.objects.filter(pk=objection_id, village_id=village_id).first()
    if objection is None:
        raise ValidationError(_("This objection was not found."))
    with transaction.atomic():
        proposal = _lock_proposal(objection.proposal_id, village_id)
        closing = [objection]
        if upheld:
            # The entry is cancelled, so every objection still open against it succeeded.
            closing = list(
                proposal.objections.select_for_update(no_key=True)
                .filter(status=Objection.Status.OPEN)
                .order_by("pk")
            )
        # Whoever raised an objection this closes does not settle it, upheld with another;
        # nor does staff of the household whose login raised it.
        raisers = [objection.raised_by_id, *(item.raised_by_id for item in closing)]
        if (
            actor.household_id is not None
            and User.objects.filter(pk__in=raisers, household_id=actor.household_id).exists()
        ):
            raisers.append(actor.pk)
        _settle_check(
            proposal,
            actor,
            kind=Referral.Kind.OBJECTION,
            object_id=objection.pk,
            originators=raisers,
            referral=referral,
        )
        objection = Objection.objects.select_for_update(no_key=True).get(pk=objection_id)
        if objection.status != Objection.Status.OPEN:
            raise ValidationError(_("This objection was already resolved."))
        if proposal.status != Proposal.Status.PUBLICITY:
            raise ValidationError(_("This entry is no longer in its publicity period."))
        now = timezone.now()
        if not upheld:
            closing = [objection]
        for item in closing:
            item.status = Objection.Status.UPHELD if upheld else Objection.Status.DISMISSED
            item.resolved_by = actor
            item.resolved_at = now
            item.resolution = resolution
            item.save(update_fields=["status", "resolved_by", "resolved_at", "resolution"])
            if item.pk == objection.pk:
                objection = item
        # Each villager who objected hears how it ended (staff read it on the notice).
        objectors = set(
            User.objects.filter(
                pk__in=[item.raised_by_id for item in closing],
                is_staff=False,
                household__isnull=False,
            ).values_list("household_id", flat=True)
        )
        if upheld:
            # A household whose own objection is upheld hears it once, as the answer to it.
            _cancel_locked(
                proposal, resolution, household_told=proposal.household_id not in objectors
            )
        audit_record(
            action="objection.uphold" if upheld else "objection.dismiss",
            actor=actor,
            village_id=proposal.village_id,
            obj=objection,
            detail={"proposal": proposal.pk, "resolution": resolution},
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.OBJECTION,
            object_ids=[item.pk for item in closing],
            actor=actor,
            outcome=resolution or gettext_lazy("dismissed"),
        )
        notifications_post(
            [
                message(
                    village_id=proposal.village_id,
                    household_id=household_id,
                    kind=Notification.Kind.OBJECTION_ANSWERED,
                    upheld=upheld,
                    points=proposal.points,
                    rule=proposal.rule.description[:40],
                    date=proposal.occurred_on.isoformat(),
                    proposal=proposal.pk,  # "the entry stands" stops if it is cancelled
                )
                for household_id in sorted(objectors)
            ]
        )
        still_open = proposal.objections.filter(status=Objection.Status.OPEN).exists()
        if not upheld and not still_open and proposal.credit_due_at <= now:
            _credit_locked(proposal, actor=actor, request=request)
    return objection


def objection_dismissed_words(objection: Objection) -> str:
    """What dismissing `objection` did to its entry, for the supervisor: credited at once
    (its period was over), held, or still waiting for its period's end or another objection."""
    proposal = Proposal.objects.get(pk=objection.proposal_id)
    if proposal.status == Proposal.Status.APPROVED:
        return _("Objection dismissed: the entry is credited.")
    if proposal.status == Proposal.Status.HELD:
        return _("Objection dismissed. The entry is held: %(why)s") % {"why": proposal.hold_reason}
    if proposal.objections.filter(status=Objection.Status.OPEN).exists():
        return _(
            "Objection dismissed. Another objection to this entry is still open: it is "
            "credited only once that one is settled."
        )
    return _("Objection dismissed: the entry is credited when its period ends.")
