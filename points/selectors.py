"""Reads of the ledger and the workflow, with bounded query counts, scoped to one village."""

import datetime
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Case,
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from core import sql
from core.months import local_start, month_span
from points import sql as points_sql
from points.models import (
    Account,
    Batch,
    CarryOver,
    CarryOverLine,
    Entry,
    Objection,
    Proposal,
    Rule,
)
from villagers.models import Card, Household, Referral, Village
from villagers.selectors import household_search


def rules_for_village(village: Village, *, active_only: bool = False) -> QuerySet[Rule]:
    """The rules the village keeps; the carried-over rule is the import's, not theirs."""
    rules = Rule.objects.filter(village=village).exclude(category=Rule.Category.CARRIED_OVER)
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


def proposals_repeated(village: Village, household_ids, rule: Rule, day) -> list[Proposal]:
    """The proposals, not rejected or cancelled, of the same rule and day for these
    households: the same deed entered twice (a reply lost, a form filled in again)."""
    return list(
        Proposal.objects.filter(
            village=village, household_id__in=list(household_ids), rule=rule, occurred_on=day
        )
        .exclude(status__in=[Proposal.Status.REJECTED, Proposal.Status.CANCELLED])
        .select_related("household")
        .order_by("household__number", "id")
    )


# The approval queue's order: a batch's proposals together, then those of no batch (a NULL
# batch sorts last in PostgreSQL's ascending order), each oldest first.
QUEUE_ORDER = ("batch_id", "proposed_at", "id")


def proposals_pending(
    village: Village,
    *,
    rule_id: int | None = None,
    group_id: int | None = None,
    proposer_id: int | None = None,
) -> QuerySet[Proposal]:
    """The approval queue, oldest first, with everything a row shows joined in."""
    proposals = _pending(village, rule_id=rule_id, group_id=group_id, proposer_id=proposer_id)
    # Joining all seven tables made PostgreSQL spend 30-40 ms planning each page (the join
    # search grows exponentially); balances and proposers come in two small queries.
    return (
        proposals.select_related("household__group", "rule", "batch", "member")
        .prefetch_related("household__account", "proposed_by")
        .order_by(*QUEUE_ORDER)
    )


def _pending(village: Village, *, rule_id=None, group_id=None, proposer_id=None):
    """The village's proposals waiting for a decision, by the queue's filters."""
    proposals = Proposal.objects.filter(village=village, status=Proposal.Status.PROPOSED)
    if rule_id:
        proposals = proposals.filter(rule_id=rule_id)
    if group_id:
        proposals = proposals.filter(household__group_id=group_id)
    if proposer_id:
        proposals = proposals.filter(proposed_by_id=proposer_id)
    return proposals


def _after_in_queue(after: Proposal | Batch) -> Q:
    """The proposals the queue (QUEUE_ORDER) shows after `after`: a proposal, or a whole
    batch (after its last proposal)."""
    if isinstance(after, Batch):
        return Q(batch_id__gt=after.pk) | Q(batch_id__isnull=True)
    later = Q(proposed_at__gt=after.proposed_at) | Q(proposed_at=after.proposed_at, id__gt=after.pk)
    if after.batch_id is None:
        return Q(batch_id__isnull=True) & later
    return (
        (Q(batch_id=after.batch_id) & later)
        | Q(batch_id__gt=after.batch_id)
        | Q(batch_id__isnull=True)
    )


def queue_next(village: Village, after: Proposal | Batch, actor, **filters) -> Proposal | None:
    """The next item of the approval queue (with its `filters`) that `actor` may decide,
    after `after` (a proposal, or a batch), else the first one from the top: the supervisor
    deciding from a detail page goes on to it. Not one waiting for the township or the
    county, nor one of the actor's own proposals or household. One query."""
    waiting_above = Referral.objects.filter(
        kind=Referral.Kind.PROPOSAL, status=Referral.Status.OPEN, object_id=OuterRef("pk")
    )
    candidates = (
        _pending(village, **filters)
        .exclude(Exists(waiting_above))
        .exclude(proposed_by_id=actor.pk)
        .only("pk", "batch_id")
        .order_by(*QUEUE_ORDER)
    )
    if actor.household_id is not None:
        candidates = candidates.exclude(household_id=actor.household_id)
    if isinstance(after, Batch):
        candidates = candidates.exclude(batch_id=after.pk)
    else:
        candidates = candidates.exclude(pk=after.pk)
    # The first after it, or (past the end) the first from the top: one query for either.
    return (
        candidates.annotate(
            from_top=Case(When(_after_in_queue(after), then=Value(0)), default=Value(1))
        )
        .order_by("from_top", *QUEUE_ORDER)
        .first()
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

    Besides the balance: the active card, the unread messages (the header's bell), the latest
    entry (every credit, redemption and reversal appends one; entries never change), a digest
    of every other row the page's body shows (its proposals, declarations, members and the
    village's rules), under which the page caches its body, and for the rank
    (`household_rank`) the number of the village's active households with an account
    (`ranked`) and
    the version of the village's ledger.
    """
    with connection.cursor() as cursor:
        params = {"household": household.pk, "now": timezone.now()}
        sql.execute(cursor, points_sql.VILLAGER_STATE, params)
        row = cursor.fetchone()
    if row is None:
        return None
    account = sql.instance(Account, row)
    (
        account.last_entry,
        account.ranked,
        account.village_version,
        account.card_number,
        account.unread_notifications,
        account.body_version,
    ) = row[sql.width(Account) :]
    return account


# The village's points earned this year are kept this long after its ledger last moved.
EARNED_CACHE_SECONDS = 600


def earned_this_year(village_id: int, version: int, ranked: int) -> dict[int, int]:
    """Account id -> points earned this year (awards since 1 January, less reversed ones) of
    the accounts of the village's active households that earned any; cached under the
    village's ledger version, which every new entry of the village changes and a household
    leaving or coming back too (points.sql.VILLAGER_STATE), and the number ranked."""
    start = local_start(timezone.localdate().replace(month=1, day=1))
    key = f"earned:{village_id}:{start.date()}:{version}:{ranked}"
    earned = cache.get(key)
    if earned is None:
        with connection.cursor() as cursor:
            params = {"village": village_id, "year": start}
            sql.execute(cursor, points_sql.EARNED_THIS_YEAR, params)
            earned = dict(cursor.fetchall())
        cache.set(key, earned, EARNED_CACHE_SECONDS)
    return earned


@dataclass
class Rank:
    """A household's place in its village by the points earned this year (ties share one)."""

    earned: int
    rank: int
    ranked: int


def household_rank(account: Account) -> Rank:
    """The rank of `account` (from `villager_state`) among the village's active households
    with an account (those that moved away or closed are not ranked, as no page counts them
    among the village's households)."""
    earned = earned_this_year(account.village_id, account.village_version, account.ranked)
    mine = earned.get(account.pk, 0)
    higher = sum(1 for points in earned.values() if points > mine)
    return Rank(earned=mine, rank=higher + 1, ranked=account.ranked)


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
    note: str = ""  # one line under the title: how the figures add up

    @property
    def linked_rows(self) -> list[tuple[list, str]]:
        """(row, url or "") pairs for the page."""
        return list(zip(self.rows, self.links or [""] * len(self.rows), strict=True))

    @property
    def labelled_rows(self) -> list[tuple[list[tuple[str, object]], str]]:
        """Each row's (column heading, cell) pairs and its URL or "": on a narrow screen a row
        is a card, each cell named by its heading."""
        return [(list(zip(self.columns, row, strict=True)), link) for row, link in self.linked_rows]

    @property
    def labelled_totals(self) -> list[tuple[str, object]]:
        """The totals line's (heading, cell) pairs; its first filled cell names the line
        ("Total") and takes no heading."""
        if not self.totals:
            return []
        filled = [index for index, cell in enumerate(self.totals) if cell not in ("", None)]
        caption = filled[0] if filled else 0
        pairs = enumerate(zip(self.columns, self.totals, strict=True))
        return [("" if index <= caption else heading, cell) for index, (heading, cell) in pairs]

    @property
    def headline(self) -> tuple[str, str, object] | None:
        """(what the totals line is, its last figure's heading, that figure), shown with the
        title so that a folded section still tells its total."""
        filled = [
            (heading, cell) for heading, cell in self.labelled_totals if cell not in ("", None)
        ]
        if len(filled) < 2:
            return None
        return filled[0][1], filled[-1][0], filled[-1][1]


def notice_points_sections(village: Village, year: int, month: int) -> list[NoticeSection]:
    """Approved awards and deductions posted in the month (one query), reversals marked, and
    the balances carried over from the paper ledger (points.carryover).

    The entry's time decides the month: with a publicity period an award is credited days
    after its approval, and a held deduction whenever the balance can bear it. A household
    whose paper balance was the card's grant moves no points (no proposal, no entry), yet its
    paper balance is part of the batch's total: it is listed, with 0 points, in the month of
    the batch's first carried entry (a second query, only in such a month).
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
        .select_related(
            "household__group", "rule", "member", "entry__reversed_by", "carry_over_line"
        )
        .order_by("entry__created_at", "id")
    )
    columns = [_("Date"), _("Household head"), _("Group"), _("Rule"), _("Reason"), _("Points")]
    awards = NoticeSection("awards", _("Points awarded"), columns)
    deductions = NoticeSection("deductions", _("Points deducted"), columns)
    carried = NoticeSection(
        "carried",
        _("Balances carried over"),
        [
            _("Date"),
            _("Household head"),
            _("Group"),
            _("Paper balance"),
            _("Opening grant of the card"),
            _("Points"),
        ],
        note=_(
            "Each household's balance on the village's paper ledger, approved by the "
            "supervisor. The card's opening grant is part of it, so the line adds the paper "
            "balance less that grant."
        ),
    )
    carried_batches = set()
    for proposal in proposals:
        if proposal.rule.category == Rule.Category.CARRIED_OVER:
            carried_batches.add(proposal.batch_id)
            line = proposal.carry_over_line
            carried.rows.append(
                [
                    timezone.localdate(proposal.entry.created_at),
                    proposal.household.head_name,
                    proposal.household.group.name,
                    line.paper_balance,
                    line.grant,
                    proposal.points,
                ]
            )
            continue
        # Marked only when reversed within the month: a later reversal is that month's news,
        # and the month's notice may already be published (ledger rule 7).
        reversed_note = ""
        reversal = getattr(proposal.entry, "reversed_by", None)
        if reversal is not None and reversal.created_at < following:
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
    if carried_batches:
        carried.rows.extend(_carried_without_points(carried_batches, start, following))
        carried.rows.sort(key=lambda row: row[0])  # stable: each day's lines keep their order
    for section in (awards, deductions):
        section.totals = ["", "", "", "", _("Total"), sum(row[-1] for row in section.rows)]
    carried.totals = [
        "",
        "",
        _("Total"),
        sum(row[3] for row in carried.rows),
        sum(row[4] for row in carried.rows),
        sum(row[5] for row in carried.rows),
    ]
    return [awards, deductions, carried]


def _carried_without_points(batch_ids, start, following) -> list[list]:
    """The notice's rows of the lines that moved no points, for the carried-over batches
    whose first carried entry was posted in [start, following)."""
    first_entry = (
        Entry.objects.filter(
            kind=Entry.Kind.CARRIED, proposal__batch_id=OuterRef("carry_over__batch_id")
        )
        .order_by("created_at")
        .values("created_at")[:1]
    )
    lines = (
        CarryOverLine.objects.filter(carry_over__batch_id__in=batch_ids, proposal__isnull=True)
        .annotate(first_entry=Subquery(first_entry))
        .filter(first_entry__gte=start, first_entry__lt=following)
        .select_related("household__group")
        .order_by("first_entry", "household__number")
    )
    return [
        [
            timezone.localdate(line.first_entry),
            line.household.head_name,
            line.household.group.name,
            line.paper_balance,
            line.grant,
            0,
        ]
        for line in lines
    ]


def carried_posted(carry_over: CarryOver) -> int:
    """The points a carried-over batch put in the ledger so far: its lines approved and
    credited. Less than the file's total while lines wait, or when one was cancelled (an
    objection upheld, a held line called off) or the batch refused."""
    return Proposal.objects.filter(
        village_id=carry_over.village_id, batch_id=carry_over.batch_id, entry__isnull=False
    ).aggregate(points=Coalesce(Sum("entry__points"), 0))["points"]


# --- a month of the ledger, for the notice (ledger rule 7) ------------------------------------

# The lines of a month's ledger, each a (kind, kind of the entry a reversal cancels) pair.
LEDGER_LINES = (
    (Entry.Kind.OPENING, None),
    (Entry.Kind.AWARD, None),
    (Entry.Kind.DEDUCTION, None),
    (Entry.Kind.REDEMPTION, None),
    (Entry.Kind.REVERSAL, Entry.Kind.AWARD),
    (Entry.Kind.REVERSAL, Entry.Kind.DEDUCTION),
    (Entry.Kind.REVERSAL, Entry.Kind.REDEMPTION),
)
# A yearly settlement's lapses (points.settlement) add their own line after these, in the
# months they happen only: a village without the setting never shows it.


@dataclass
class LedgerLine:
    count: int = 0
    points: int = 0


@dataclass
class HouseholdMonth:
    """One household's month: balance at its start and end and what moved it in between.

    start + earned - deducted - spent = end. Earned: opening grant, balance carried over from
    the paper ledger and awards, less awards reversed; deducted: deductions, less those
    reversed, and lapses (points.settlement); spent: redemptions, less voids.
    """

    household_id: int
    head_name: str
    group: str
    number: str
    card_number: str
    start: int = 0
    earned: int = 0
    deducted: int = 0
    spent: int = 0
    end: int = 0


@dataclass
class LedgerMonth:
    lines: dict[tuple[str, str | None], LedgerLine]
    households: list[HouseholdMonth]

    @property
    def start(self) -> int:
        return sum(household.start for household in self.households)

    @property
    def end(self) -> int:
        return sum(household.end for household in self.households)

    @property
    def net(self) -> int:
        return sum(line.points for line in self.lines.values())


def ledger_month(village: Village, year: int, month: int) -> LedgerMonth:
    """Every entry of the month by kind, and each household's balances, in two queries.

    A household is listed once its account has an entry before the month's end. Its balance
    at the end is today's balance less the entries posted since, read in the same statement
    so a concurrent posting cannot split them. Its card is the one it held at the month's
    end (else the last it had before).
    """
    start, following = month_span(year, month)
    in_month = Q(created_at__lt=following)
    moves = (
        Entry.objects.filter(account__village=village, created_at__gte=start)
        .filter(in_month)
        .values("account_id", "kind", "reverses__kind")
        .annotate(points=Sum("points"), count=Count("id"))
        .order_by()
    )
    since_end = (
        Entry.objects.filter(account=OuterRef("pk"), created_at__gte=following)
        .order_by()
        .values("account")
        .annotate(total=Sum("points"))
        .values("total")
    )
    held_at_end = Q(ended_at__isnull=True) | Q(ended_at__gte=following)
    card = (
        Card.objects.filter(household=OuterRef("household_id"), issued_at__lt=following)
        .order_by(Case(When(held_at_end, then=0), default=1), "-issued_at", "-pk")
        .values("number")[:1]
    )
    accounts = (
        Account.objects.filter(village=village)
        .annotate(
            since_end=Coalesce(Subquery(since_end), 0),
            card_number=Coalesce(Subquery(card), Value("")),
            opened=Exists(Entry.objects.filter(account=OuterRef("pk"), created_at__lt=following)),
        )
        .filter(opened=True)
        .values(
            "pk",
            "balance",
            "since_end",
            "card_number",
            "household_id",
            "household__head_name",
            "household__group__name",
            "household__number",
        )
        .order_by("household__group_id", "household__number", "household_id")
    )
    households, by_account = [], {}
    for row in accounts:
        household = HouseholdMonth(
            household_id=row["household_id"],
            head_name=row["household__head_name"],
            group=row["household__group__name"],
            number=row["household__number"],
            card_number=row["card_number"],
            end=row["balance"] - row["since_end"],
        )
        households.append(household)
        by_account[row["pk"]] = household
    lines = {line: LedgerLine() for line in LEDGER_LINES}
    for row in moves:
        line = lines.setdefault((row["kind"], row["reverses__kind"]), LedgerLine())
        line.count += row["count"]
        line.points += row["points"]
        household = by_account[row["account_id"]]
        basis = row["reverses__kind"] or row["kind"]
        if basis in (Entry.Kind.OPENING, Entry.Kind.CARRIED, Entry.Kind.AWARD):
            household.earned += row["points"]
        elif basis in (Entry.Kind.DEDUCTION, Entry.Kind.LAPSE):
            household.deducted -= row["points"]
        else:
            household.spent -= row["points"]
    for household in households:
        household.start = household.end - household.earned + household.deducted + household.spent
    return LedgerMonth(lines=lines, households=households)


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
        # To the minute: objections close then, not at the end of the day.
        due = timezone.localtime(proposal.credit_due_at).strftime("%Y-%m-%d %H:%M")
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
    # An objection upheld in publicity, or a held deduction cancelled by the supervisor.
    cancelled = NoticeSection(
        "cancelled",
        _("Cancelled before crediting"),
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
