"""Reads of the ledger and the workflow, with bounded query counts, scoped to one village."""

import datetime
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import (
    Count,
    Q,
    QuerySet,
    Sum,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import sql
from core.months import local_start, month_span
from points import sql as points_sql
from points.models import Account, Entry, Objection, Proposal, Rule
from villagers.models import Household, Village
from villagers.selectors import household_search


def rules_for_village(village: Village, *, active_only: bool = False) -> QuerySet[Rule]:
    rules = Rule.objects.filter(village=village)
    if active_only:
        rules = rules.filter(active=True)
    return rules.order_by("category", "code")


def households_with_account(village: Village) -> QuerySet[Household]:
    """Households that hold a points account (a card was issued), for choosing in forms."""
    return (
        Household.objects.filter(village=village, account__isnull=False)
        .select_related("group")
        .order_by("group_id", "number")
    )


def households_to_pick(request, query: str) -> QuerySet[Household]:
    """Households with an account matching a search of the proposal forms' picker: a head's
    or member's name, a card or household number, a group, a phone's last four digits."""
    return household_search(request, query=query).filter(account__isnull=False)


def proposals_pending(
    village: Village,
    *,
    rule_id: int | None = None,
    group_id: int | None = None,
    proposer_id: int | None = None,
) -> QuerySet[Proposal]:
    """The approval queue, oldest first, with everything a row shows joined in."""
    proposals = Proposal.objects.filter(village=village, status=Proposal.Status.PROPOSED)
    if rule_id:
        proposals = proposals.filter(rule_id=rule_id)
    if group_id:
        proposals = proposals.filter(household__group_id=group_id)
    if proposer_id:
        proposals = proposals.filter(proposed_by_id=proposer_id)
    # Joining all seven tables made PostgreSQL spend 30-40 ms planning each page (the join
    # search grows exponentially); balances and proposers come in two small queries.
    return (
        proposals.select_related("household__group", "rule", "batch", "member")
        .prefetch_related("household__account", "proposed_by")
        .order_by("batch_id", "proposed_at", "id")
    )


def approval_queue_version(village: Village) -> str:
    """A digest of every row the approval queue shows, in one query (points.sql): the
    pending proposals, their households, accounts (the balances), members, batches and
    proposers, the rules and groups of the filters, and the proposals waiting for the county.
    """
    with connection.cursor() as cursor:
        sql.execute(cursor, points_sql.QUEUE_VERSION, {"village": village.pk})
        return cursor.fetchone()[0]


def proposals_of_proposer(village: Village, user) -> QuerySet[Proposal]:
    return (
        Proposal.objects.filter(
            village=village,
            proposed_by=user,
            status__in=[Proposal.Status.PROPOSED, Proposal.Status.REJECTED],
        )
        .select_related("household__group", "rule", "member", "decided_by", "batch")
        .order_by("-proposed_at", "-id")
    )


def entries_of_account(account: Account) -> QuerySet[Entry]:
    """Newest first in posting order (the order `balance_after` runs in)."""
    return (
        Entry.objects.filter(account=account)
        .select_related("proposal__rule", "proposal__member", "reversed_by")
        .order_by("-id")
    )


@dataclass
class HistoryPage:
    """One page of a household's history and the entry ids its Newer/Older links start from."""

    entries: list[Entry]
    newer: int | None = None
    older: int | None = None


def history_page(
    account: Account, *, before: int | None = None, after: int | None = None, size: int = 20
) -> HistoryPage:
    """Keyset pagination by entry id: one indexed query a page, never a COUNT of the ledger.

    `before` shows the entries older than that id, `after` those newer, else the newest.
    """
    entries = entries_of_account(account)
    if after is not None:
        rows = list(entries.filter(id__gt=after).order_by("id")[: size + 1])
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        return HistoryPage(
            rows, newer=rows[0].pk if more_newer else None, older=rows[-1].pk if rows else None
        )
    if before is not None:
        entries = entries.filter(id__lt=before)
    rows = list(entries[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return HistoryPage(
        rows,
        newer=rows[0].pk if before is not None and rows else None,
        older=rows[-1].pk if more_older else None,
    )


# How long a household still sees a proposal cancelled after an upheld objection.
PUBLICITY_CANCELLED_SHOWN = datetime.timedelta(days=30)


def villager_state(household: Household) -> Account | None:
    """The household's account with everything its start page depends on, in one query.

    Besides the balance: the rank (households with more points, households ranked), the
    active card, the unread messages (the header's bell), the latest entry (every credit,
    redemption and reversal appends one; entries never change) and a digest of every other
    row the page's body shows (its proposals, declarations, members and the village's
    rules), under which the page caches its body.
    """
    with connection.cursor() as cursor:
        sql.execute(cursor, points_sql.VILLAGER_STATE, {"household": household.pk})
        row = cursor.fetchone()
    if row is None:
        return None
    account = sql.instance(Account, row)
    (
        account.last_entry,
        account.higher,
        account.ranked,
        account.card_number,
        account.unread_notifications,
        account.body_version,
    ) = row[sql.width(Account) :]
    return account


def proposals_awaiting(household: Household) -> QuerySet[Proposal]:
    """Proposals for the household not yet decided: shown as pending, never counted."""
    return (
        Proposal.objects.filter(household=household, status=Proposal.Status.PROPOSED)
        .select_related("rule")
        .order_by("-proposed_at")
    )


def household_honours(household: Household) -> QuerySet[Proposal]:
    """Approved, unreversed honours (五好家庭, 最美婆婆...) for the household page.

    For the registry's household page: `{% include "points/_honours.html" %}` with `honours`.
    """
    return (
        Proposal.objects.filter(
            household=household,
            status=Proposal.Status.APPROVED,
            rule__category=Rule.Category.HONOURS,
            entry__reversed_by__isnull=True,
        )
        .select_related("rule", "member")
        .order_by("-occurred_on")
    )


@dataclass
class NoticeSection:
    """One part of the public notice: a title, column headings and rows of plain values.

    `links`, when given, holds one URL (or "") per row, shown as a `link_label` button after
    the row on the page (not in the .xlsx).
    """

    key: str
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    totals: list | None = None
    links: list[str] = field(default_factory=list)
    link_label: str = ""

    @property
    def linked_rows(self) -> list[tuple[list, str]]:
        """(row, url or "") pairs for the page."""
        return list(zip(self.rows, self.links or [""] * len(self.rows), strict=True))


def notice_points_sections(village: Village, year: int, month: int) -> list[NoticeSection]:
    """Approved awards and deductions posted in the month (one query), reversals marked.

    The entry's time decides the month: with a publicity period an award is credited days
    after its approval, and a held deduction whenever the balance can bear it.
    """
    start, following = month_span(year, month)
    # Through the village's accounts (entry_account_time): filtering on the entries' time
    # alone led the planner to walk the whole county's entries of the month.
    proposals = (
        Proposal.objects.filter(
            village=village,
            status=Proposal.Status.APPROVED,
            entry__account__village=village,
            entry__created_at__gte=start,
            entry__created_at__lt=following,
        )
        .select_related("household__group", "rule", "member", "entry__reversed_by")
        .order_by("entry__created_at", "id")
    )
    columns = [_("Date"), _("Household head"), _("Group"), _("Rule"), _("Reason"), _("Points")]
    awards = NoticeSection("awards", _("Points awarded"), columns)
    deductions = NoticeSection("deductions", _("Points deducted"), columns)
    for proposal in proposals:
        reversed_note = ""
        if hasattr(proposal.entry, "reversed_by"):
            reversed_note = " " + _("(reversed)")
        row = [
            timezone.localdate(proposal.entry.created_at),
            proposal.household.head_name,
            proposal.household.group.name,
            f"{proposal.rule.code} {proposal.rule.description}",
            proposal.reason + reversed_note,
            proposal.points,
        ]
        (awards if proposal.points > 0 else deductions).rows.append(row)
    for section in (awards, deductions):
        section.totals = ["", "", "", "", _("Total"), sum(row[-1] for row in section.rows)]
    return [awards, deductions]


def village_points_totals(village: Village) -> dict:
    return Account.objects.filter(village=village).aggregate(
        households=Count("id"), points=Sum("balance")
    )


# --- the publicity period (公示期) -----------------------------------------------------------


def household_publicity(household: Household) -> QuerySet[Proposal]:
    """Approved for the household but not credited (in publicity or held), and those
    cancelled in the last 30 days (counted in whole local days, so the page's cached body,
    keyed by the day, is exact), for the villager's phone page."""
    recent = local_start(timezone.localdate() - PUBLICITY_CANCELLED_SHOWN)
    return (
        Proposal.objects.filter(household=household)
        .filter(
            Q(status__in=[Proposal.Status.PUBLICITY, Proposal.Status.HELD])
            | Q(status=Proposal.Status.CANCELLED, cancelled_at__gte=recent)
        )
        .select_related("rule")
        .order_by("credit_due_at", "pk")
    )


def _with_open_objections(proposals: QuerySet[Proposal]) -> QuerySet[Proposal]:
    return proposals.annotate(
        open_objections=Count("objections", filter=Q(objections__status=Objection.Status.OPEN))
    )


def proposals_in_publicity(village: Village) -> QuerySet[Proposal]:
    """Entries waiting out their period, soonest due first, with their open objections."""
    return (
        _with_open_objections(
            Proposal.objects.filter(village=village, status=Proposal.Status.PUBLICITY)
        )
        .select_related("household__group", "rule")
        .order_by("credit_due_at", "pk")
    )


def proposals_held(village: Village) -> QuerySet[Proposal]:
    return (
        Proposal.objects.filter(village=village, status=Proposal.Status.HELD)
        .select_related("household__group", "household__account", "rule")
        .order_by("credit_due_at", "pk")
    )


def objections_of_village(village: Village, *, open_only: bool) -> QuerySet[Objection]:
    objections = Objection.objects.filter(village=village)
    if open_only:
        objections = objections.filter(status=Objection.Status.OPEN)
    return objections.select_related(
        "proposal__household__group", "proposal__rule", "raised_by", "resolved_by"
    ).order_by("-raised_at", "-pk")


def notice_publicity_sections(village: Village, year: int, month: int) -> list[NoticeSection]:
    """Entries approved by the month's end and still in publicity (or held), each with an
    "object" link while its period runs, and those cancelled in the month with the reason."""
    start, following = month_span(year, month)
    now = timezone.now()
    waiting = (
        _with_open_objections(
            Proposal.objects.filter(
                village=village,
                status__in=[Proposal.Status.PUBLICITY, Proposal.Status.HELD],
                decided_at__lt=following,
            )
        )
        .select_related("household__group", "rule")
        .order_by("credit_due_at", "pk")
    )
    publicity = NoticeSection(
        "publicity",
        _("In publicity, open to objection"),
        [
            _("Approved"),
            _("Household head"),
            _("What for"),
            _("Points"),
            _("To be credited"),
            _("Objections open"),
        ],
        link_label=_("Object"),
    )
    for proposal in waiting:
        due = timezone.localdate(proposal.credit_due_at)
        state = due if proposal.status == Proposal.Status.PUBLICITY else _("held")
        publicity.rows.append(
            [
                timezone.localdate(proposal.decided_at),
                f"{proposal.household.head_name} ({proposal.household.group.name})",
                f"{proposal.rule.description}: {proposal.reason}",
                proposal.points,
                state,
                proposal.open_objections,
            ]
        )
        open_now = proposal.status == Proposal.Status.PUBLICITY and now < proposal.credit_due_at
        publicity.links.append(
            reverse("points:objection_new", args=[proposal.pk]) if open_now else ""
        )
    cancelled = NoticeSection(
        "cancelled",
        _("Cancelled after an objection"),
        [_("Date"), _("Household head"), _("What for"), _("Points"), _("Why cancelled")],
    )
    for proposal in (
        Proposal.objects.filter(
            village=village,
            status=Proposal.Status.CANCELLED,
            cancelled_at__gte=start,
            cancelled_at__lt=following,
        )
        .select_related("household__group", "rule")
        .order_by("cancelled_at", "pk")
    ):
        cancelled.rows.append(
            [
                timezone.localdate(proposal.cancelled_at),
                f"{proposal.household.head_name} ({proposal.household.group.name})",
                f"{proposal.rule.description}: {proposal.reason}",
                proposal.points,
                proposal.cancel_reason,
            ]
        )
    return [publicity, cancelled]
