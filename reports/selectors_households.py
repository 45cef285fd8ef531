"""Reads of the staff's household pages: the list with balances and one household's hub.

The registry parts come from `villagers.selectors` (scoped to the request's village); the
balance, the points waiting and the ledger from `points`, the wishes from `wishwall`. Each
read is one query whatever the household's history, so the pages' query counts are fixed.
"""

from dataclasses import dataclass, field

from django.db.models import F, OuterRef, QuerySet, Subquery

from points.models import Account, Entry, Proposal
from points.selectors import HistoryPage, history_page
from villagers.models import Household
from wishwall.models import Wish

RECENT_ENTRIES = 10
WISHES_SHOWN = 5

# ?sort= of the household list: each key in both directions, ending in the household number
# (unique in the village) so that paging through equal balances or dates is stable.
SORTS = {
    "name": (F("head_name").asc(), "number"),
    "-name": (F("head_name").desc(), "number"),
    "number": ("number",),
    "-number": ("-number",),
    "group": (F("group__name").asc(), "number"),
    "-group": (F("group__name").desc(), "number"),
    "balance": (F("balance").asc(nulls_last=True), "number"),
    "-balance": (F("balance").desc(nulls_last=True), "number"),
    "activity": (F("last_activity").asc(nulls_last=True), "number"),
    "-activity": (F("last_activity").desc(nulls_last=True), "number"),
}
DEFAULT_SORT = "number"


def households_listed(households: QuerySet[Household], *, sort: str) -> QuerySet[Household]:
    """The household list's rows with their balance and last activity, in the asked order.

    Last activity is the time of the household's latest ledger entry: every credit,
    deduction, redemption (each debits one entry), void and reversal posts one. A household
    without a card has neither (shown last in both directions).
    """
    latest_entry = (
        Entry.objects.filter(account_id=OuterRef("account__id"))
        .order_by("-id")
        .values("created_at")[:1]
    )
    return households.annotate(
        balance=F("account__balance"), last_activity=Subquery(latest_entry)
    ).order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


# Points of a household not (yet) in its balance: proposed and waiting for the supervisor,
# approved and waiting out the publicity period, or a deduction held for too few points.
WAITING = (Proposal.Status.PROPOSED, Proposal.Status.PUBLICITY, Proposal.Status.HELD)


@dataclass
class HouseholdPoints:
    """What the hub shows of the household's points, read in a fixed number of queries."""

    account: Account | None
    waiting: list[Proposal] = field(default_factory=list)
    history: HistoryPage | None = None

    def waiting_apart(self, status: str) -> list[int]:
        """The awards and the deductions waiting in `status`, each on its own (netted, +50
        and -50 showed as nothing waiting); [0] when none wait."""
        points = [p.points for p in self.waiting if p.status == status]
        apart = [sum(n for n in points if n > 0), sum(n for n in points if n < 0)]
        return [n for n in apart if n] or [0]

    @property
    def proposed_points(self) -> list[int]:
        return self.waiting_apart(Proposal.Status.PROPOSED)

    @property
    def publicity_points(self) -> list[int]:
        return self.waiting_apart(Proposal.Status.PUBLICITY)

    @property
    def held_points(self) -> list[int]:
        return self.waiting_apart(Proposal.Status.HELD)


def household_points(household: Household) -> HouseholdPoints:
    """Balance, the proposals waiting (with their rules) and the latest ledger entries."""
    account = Account.objects.filter(household=household).first()
    waiting = list(
        Proposal.objects.filter(household=household, status__in=WAITING)
        .select_related("rule")
        .order_by("status", "-proposed_at", "-id")
    )
    history = history_page(account, size=RECENT_ENTRIES) if account is not None else None
    return HouseholdPoints(account=account, waiting=waiting, history=history)


def household_wishes(household: Household) -> list[Wish]:
    """The household's latest wishes, whatever their state (staff see them all)."""
    wishes = Wish.objects.filter(household=household).order_by("-created_at", "-id")
    return list(wishes[:WISHES_SHOWN])
