"""The opt-in yearly settlement: points above a kept amount lapse at the year's end.

Off by default (Village.yearly_settlement): points accumulate, as the source says. A village
that turns it on settles once a year, in three steps, each by someone else:

1. the manager drafts the year's plan (`settlement_draft`): for each household, the points it
   could spend today (balance less the points held for reservations) above the kept amount;
2. the supervisor approves it (`settlement_approve`, the second person) before 1 December,
   which tells each household on it: the settlement is announced at least a month ahead;
3. the task (`points.settle_year`, daily) posts it once the year has ended
   (`settlements_post`): each line lapses as one ledger entry (Entry.Kind.LAPSE, through
   points.ledger), never more than was approved, and never what is held for reservations or
   what is kept; a household that spent since the plan loses less. A plan is posted once,
   and only in the days after its year's end (`posting_last_day`). A village that turns the
   settlement off calls its approved plan off: the task's next daily run closes it unposted
   and tells its households that nothing lapses (`settlements_called_off`); it never lapses
   later.

What a household earned (awards, the rank's figure, honours, the notice's "earned") is never
touched: a lapse is its own kind of entry, counted apart from awards and deductions.
"""

import datetime
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.access import Role, is_manager
from core.audit import audit_record
from core.text import records_language
from notifications.models import Notification
from notifications.services import message, notifications_outdate, notifications_post
from points.ledger import Posting, entries_post
from points.models import Account, Entry, Settlement, SettlementLine
from villagers.models import Referral, User, Village
from villagers.second_person import (
    decider_check,
    others_who_may,
    referrals_close,
    second_person_refusal,
)

logger = logging.getLogger(__name__)


def settlement_day(year: int) -> datetime.date:
    """The year's last day: its points lapse when it ends."""
    return datetime.date(year, 12, 31)


# A plan posts on the first run after its year has ended, or within this many days of it (a
# worker down on New Year's Day). Its households were told their points lapse at the year's
# end: a plan that first run finds the village's settlement off is closed unposted then,
# and one not posted in these days never is, when the village turns the settlement on again.
POSTING_DAYS = 31


def posting_last_day(year: int) -> datetime.date:
    """The last day on which a plan of `year` may still be posted."""
    return settlement_day(year) + datetime.timedelta(days=POSTING_DAYS)


def approval_deadline(year: int) -> datetime.date:
    """The first day on which a plan of `year` may no longer be approved (announced a month
    before the year's end)."""
    return datetime.date(year, 12, 1)


def plan_year(today: datetime.date) -> int:
    """The year whose plan is drawn up and approved now: this year until its approval
    deadline, then the next (a plan made in December is announced more than a month ahead)."""
    return today.year if today < approval_deadline(today.year) else today.year + 1


def _spendable_above(account: Account, keep: int) -> int:
    return max(0, account.spendable - keep)


def _require_open_year(village: Village, year: int, today: datetime.date) -> None:
    if not village.yearly_settlement:
        raise ValidationError(
            _("This village has no yearly settlement: its points accumulate."), code="off"
        )
    if today >= approval_deadline(year):
        raise ValidationError(
            _(
                "It is too late to announce this year's settlement a month before the year "
                "ends (approval by %(deadline)s). Points settle next year."
            )
            % {"deadline": (approval_deadline(year) - datetime.timedelta(days=1)).isoformat()},
            code="too_late",
        )


def _own_household_on(settlement: Settlement, actor: User) -> int | None:
    """`actor`'s own household when the plan has a line of it (the second-person rule)."""
    household_id = actor.household_id
    if (
        household_id is not None
        and settlement.lines.filter(account__household_id=household_id).exists()
    ):
        return household_id
    return None


def settlement_waiting(village: Village, actor: User, today: datetime.date | None = None):
    """This year's plan when it is drawn up and waits for the approval of `actor`, a
    supervisor (not sent up), with the last day to approve it (`approve_by`), for their
    dashboard: the manager's "the supervisor approves it" reached the supervisor nowhere
    else. Or None, also when the second-person rule keeps `actor` from approving it and
    another supervisor may (when nobody else may, their approval sends it up)."""
    if not village.yearly_settlement:
        return None
    today = today or timezone.localdate()
    plan = (
        Settlement.objects.filter(village=village, year=plan_year(today), approved_at=None)
        .exclude(
            pk__in=Referral.objects.filter(
                kind=Referral.Kind.SETTLEMENT, status=Referral.Status.OPEN, village=village
            ).values("object_id")
        )
        .first()
    )
    if plan is None:
        return None
    household_id = _own_household_on(plan, actor)
    originators = [plan.drafted_by_id]
    refusal = second_person_refusal(
        actor, household_id=household_id, household_name="", originators=originators
    )
    if refusal is not None and others_who_may(
        village_id=village.pk,
        role=Role.SUPERVISOR,
        household_id=household_id,
        originators=originators,
    ):
        return None
    plan.approve_by = approval_deadline(plan.year) - datetime.timedelta(days=1)
    return plan


def settlement_draft(
    *, village: Village, actor: User, today: datetime.date | None = None, request=None
) -> Settlement:
    """The manager draws up (or draws again, before approval) this year's plan. A plan
    drawn again is no longer the one sent up, if it was: that item closes, and the new plan
    is approved (or sent up) afresh. `today` is for tests (views never pass it): the plan's
    year and the deadline follow from it."""
    if not (is_manager(actor) and actor.village_id == village.pk):
        raise PermissionDenied(_("Only the village's manager drafts the settlement."))
    today = today or timezone.localdate()
    year = plan_year(today)
    _require_open_year(village, year, today)
    with transaction.atomic():
        # The village's row serialises drafts: a double click makes one plan, not a 500.
        Village.objects.select_for_update(no_key=True).get(pk=village.pk)
        # Its own row too: an approval committing meanwhile is seen, never written over.
        settlement = (
            Settlement.objects.select_for_update(no_key=True)
            .filter(village=village, year=year)
            .first()
        )
        if settlement is not None and settlement.approved_at is not None:
            raise ValidationError(_("This year's settlement is approved already."), code="approved")
        if (
            today <= posting_last_day(year - 1)
            and Settlement.objects.filter(
                village=village,
                year=year - 1,
                approved_at__isnull=False,
                posted_at__isnull=True,
                not_posted_at=None,
            ).exists()
        ):
            # Drawn now, the plan would count points the earlier one still lapses: each
            # household would be told twice of the same points. (Past its posting days an
            # earlier plan never lapses anything, and waits for nothing.)
            raise ValidationError(
                _(
                    "The earlier year's approved plan has not lapsed its points yet: draw up "
                    "the next plan once it is posted."
                ),
                code="earlier_unposted",
            )
        if settlement is None:
            settlement = Settlement(village=village, year=year)
        settlement.keep = village.settlement_keep
        settlement.drafted_by = actor
        settlement.drafted_at = timezone.now()
        settlement.save()
        # A draft is a workflow record, not the ledger: drawn again, its lines are replaced.
        settlement.lines.all().delete()
        SettlementLine.objects.bulk_create(
            SettlementLine(settlement=settlement, account=account, points=points)
            for account in Account.objects.filter(village=village).order_by("pk")
            if (points := _spendable_above(account, settlement.keep))
        )
        audit_record(
            action="settlement.draft",
            actor=actor,
            village_id=village.pk,
            obj=settlement,
            detail={"year": settlement.year, "keep": settlement.keep},
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.SETTLEMENT,
            object_ids=[settlement.pk],
            actor=actor,
            outcome=gettext_lazy("drawn again: the new plan is approved afresh"),
        )
    return settlement


def settlement_approve(
    *,
    settlement: Settlement,
    actor: User,
    today: datetime.date | None = None,
    drafted_at: datetime.datetime | None = None,
    referral: Referral | None = None,
    request=None,
) -> Settlement:
    """The supervisor approves the plan (never their own draft, nor one with their own
    household on it), and each household on it is told what may lapse and when. When
    nobody of the village may, it is sent up and the township officer or the county admin
    approves it with the open `referral`. `today`: as for `settlement_draft`.

    `drafted_at` is when the plan the approver was shown was drawn up: a plan drawn again
    since is not the one they read, and is refused (a referral is closed when its plan is
    drawn again)."""
    today = today or timezone.localdate()
    own_household = _own_household_on(settlement, actor)
    decider_check(
        actor,
        role=Role.SUPERVISOR,
        kind=Referral.Kind.SETTLEMENT,
        object_id=settlement.pk,
        village_id=settlement.village_id,
        household_id=own_household,
        household_name=lambda: actor.household.head_name,
        originators=[settlement.drafted_by_id],
        referral=referral,
        role_refusal=_("Only the village's supervisor approves the settlement."),
    )
    with transaction.atomic():
        settlement = Settlement.objects.select_for_update(no_key=True).get(
            pk=settlement.pk, village_id=settlement.village_id
        )
        village = Village.objects.get(pk=settlement.village_id)
        _require_open_year(village, settlement.year, today)
        if settlement.approved_at is not None:
            raise ValidationError(_("This year's settlement is approved already."), code="approved")
        if drafted_at is not None and settlement.drafted_at != drafted_at:
            raise ValidationError(
                _(
                    "The plan was drawn up again after this page was shown. Check the new "
                    "plan and approve it again."
                ),
                code="stale",
            )
        settlement.approved_by = actor
        settlement.approved_at = timezone.now()
        settlement.save(update_fields=["approved_by", "approved_at"])
        lines = settlement.lines.select_related("account")
        notifications_post(
            [
                message(
                    village_id=settlement.village_id,
                    household_id=line.account.household_id,
                    kind=Notification.Kind.SETTLEMENT_PLANNED,
                    points=line.points,
                    keep=settlement.keep,
                    date=settlement_day(settlement.year).isoformat(),
                )
                for line in lines
            ]
        )
        audit_record(
            action="settlement.approve",
            actor=actor,
            village_id=settlement.village_id,
            obj=settlement,
            detail={"year": settlement.year, "lines": len(lines)},
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.SETTLEMENT,
            object_ids=[settlement.pk],
            actor=actor,
            outcome=gettext_lazy("approved"),
        )
    return settlement


def settlements_called_off(
    *, today: datetime.date | None = None, failed: list[int] | None = None
) -> list[Settlement]:
    """Close, unposted, each plan approved and not yet posted of a village that turned its
    yearly settlement off since, and tell each household on it that its points do not lapse
    (it was told they would). Run daily by the task that posts the plans, so the households
    hear of it the next night. Turned on again, a closed plan stays closed: a new one needs
    its month's notice. A plan past its posting_last_day is left alone: it can lapse nothing
    any more, and its households are not told of a year long gone. One that fails is logged
    and its id added to `failed`; the others go on. The plans closed."""
    today = today or timezone.localdate()
    off = Settlement.objects.filter(
        year__gte=today.year - 1,
        approved_at__isnull=False,
        posted_at__isnull=True,
        not_posted_at=None,
        village__yearly_settlement=False,
    ).values_list("pk", "year")
    closed = []
    for pk, year in list(off):
        if today > posting_last_day(year):
            continue  # never posted in its days: it lapses nothing, and nobody waits on it
        try:
            with transaction.atomic():
                settlement = (
                    Settlement.objects.select_for_update(no_key=True, skip_locked=True)
                    .filter(pk=pk, posted_at__isnull=True, not_posted_at=None)
                    .first()
                )
                # Read after the plan's lock is taken: a village turned on again by then keeps
                # it (one turned on a moment later finds it closed: that is the order).
                if settlement is not None and not settlement.village.yearly_settlement:
                    _settlement_close(settlement)
                    closed.append(settlement)
        except Exception:  # one plan's failure never keeps the other villages' waiting
            logger.exception("settlement %s not called off: closing it failed", pk)
            if failed is not None:
                failed.append(pk)
    return closed


def _settlement_close(settlement: Settlement) -> None:
    """Close the locked, approved `settlement` unposted: its village turned the settlement
    off. Its households are told that nothing lapses."""
    settlement.not_posted_at = timezone.now()
    settlement.save(update_fields=["not_posted_at"])
    day = settlement_day(settlement.year).isoformat()
    # Its "points lapse on ..." not sent yet is no longer true (it says so itself, below).
    notifications_outdate(
        village_id=settlement.village_id, kinds=[Notification.Kind.SETTLEMENT_PLANNED], date=day
    )
    notifications_post(
        [
            message(
                village_id=settlement.village_id,
                household_id=line.account.household_id,
                kind=Notification.Kind.SETTLEMENT_OFF,
                date=day,
            )
            for line in settlement.lines.select_related("account")
        ]
    )
    audit_record(
        action="settlement.close",
        village_id=settlement.village_id,
        obj=settlement,
        detail={"year": settlement.year, "why": "yearly settlement off"},
    )


def settlements_post(
    *, today: datetime.date | None = None, failed: list[int] | None = None
) -> list[Settlement]:
    """Post every approved plan whose year has ended, once, up to its posting_last_day: one
    transaction per village, a plan another run holds is skipped; one that fails for a
    reason nobody foresaw is logged and left for the next day's run (its id added to
    `failed`), never keeping the other villages' waiting. The settlements posted now."""
    today = today or timezone.localdate()
    last_year = today.year - 1
    if today > posting_last_day(last_year):
        return []  # an older plan not posted in its days never is
    due = Settlement.objects.filter(
        year=last_year, approved_at__isnull=False, posted_at__isnull=True, not_posted_at=None
    ).values_list("pk", "village_id")
    posted = []
    for pk, village_id in list(due):
        try:
            settlement = _settlement_post(pk, village_id)
        except Exception:
            logger.exception("settlement %s not posted: posting it failed", pk)
            if failed is not None:
                failed.append(pk)
            continue
        if settlement is not None:
            posted.append(settlement)
    return posted


def _settlement_post(pk: int, village_id: int) -> Settlement | None:
    with transaction.atomic():
        settlement = (
            Settlement.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(pk=pk, village_id=village_id, posted_at__isnull=True, not_posted_at=None)
            .first()
        )
        if settlement is None:
            return None  # posted or closed by another run, or being posted now
        village = Village.objects.get(pk=settlement.village_id)
        if not village.yearly_settlement:
            # Turned off since the day's run called off the others: nothing lapses, now or
            # when it is turned on.
            _settlement_close(settlement)
            return None
        lines = list(settlement.lines.filter(entry__isnull=True).order_by("account_id"))
        # Accounts locked in id order, as everywhere in the ledger.
        accounts = {
            account.pk: account
            for account in Account.objects.select_for_update(no_key=True)
            .filter(pk__in=[line.account_id for line in lines])
            .order_by("pk")
        }
        with records_language():
            memo = _("Yearly settlement %(year)d: points above %(keep)d lapse") % {
                "year": settlement.year,
                "keep": settlement.keep,
            }
        # What each account gained or spent since the year ended (local midnight): points
        # earned in the new year never lapse under last year's plan, however late this runs
        # (a worker down for days, a cron in UTC).
        new_year = timezone.make_aware(
            datetime.datetime(settlement.year + 1, 1, 1), timezone.get_default_timezone()
        )
        since = dict(
            Entry.objects.filter(account_id__in=list(accounts), created_at__gte=new_year)
            .values("account_id")
            .annotate(total=Sum("points"))
            .values_list("account_id", "total")
        )
        postings, posted_lines = [], []
        for line in lines:
            account = accounts[line.account_id]
            at_year_end = account.balance - since.get(account.pk, 0)
            points = min(
                line.points,
                _spendable_above(account, settlement.keep),
                max(0, at_year_end - settlement.keep),
            )
            if points:
                postings.append(
                    Posting(account=account, kind=Entry.Kind.LAPSE, points=-points, memo=memo)
                )
                posted_lines.append(line)
        entries = entries_post(postings=postings, actor=None)
        for line, entry in zip(posted_lines, entries, strict=True):
            line.entry = entry
        SettlementLine.objects.bulk_update(posted_lines, ["entry"])
        settlement.posted_at = timezone.now()
        settlement.save(update_fields=["posted_at"])
        notifications_post(
            [
                message(
                    village_id=settlement.village_id,
                    household_id=entry.account.household_id,
                    kind=Notification.Kind.POINTS_LAPSED,
                    points=-entry.points,
                    balance=entry.balance_after,
                )
                for entry in entries
            ]
        )
        audit_record(
            action="settlement.post",
            village_id=settlement.village_id,
            obj=settlement,
            detail={
                "year": settlement.year,
                "entries": len(entries),
                "points": -sum(entry.points for entry in entries),
            },
        )
    return settlement
