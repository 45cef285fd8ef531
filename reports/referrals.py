"""The county's queue: deciding what nobody of a village may (DESIGN.md ledger rule 8).

A village sends an item up (villagers.second_person.referral_open) when everyone who could
take the effect is barred by the second-person rule. The village's township officer (or the
county admin of its county) decides it here through the very service the village would have
used, with the open referral as their licence for that one item. Lives above the apps
because it calls them all.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, QuerySet, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from points.models import Entry, Objection, Proposal, Settlement, SettlementLine
from points.publicity import objection_resolve, proposal_cancel, proposal_held_credit
from points.services import card_issue, entry_reverse, proposal_approve, proposal_reject
from points.settlement import settlement_approve
from store.models import Donor, Redemption, StockCorrection
from store.services import (
    redemption_void,
    stock_corrections_confirm,
    stock_corrections_refuse,
)
from villagers.models import Card, Household, Member, Referral, User
from villagers.oversight import oversight_of, villages_overseen
from villagers.second_person import referral_refuse
from villagers.services import (
    card_recall,
    card_replace,
    member_pin_revoke,
    member_pin_set,
    pin_reset,
)
from wishwall.models import Wish
from wishwall.services import wish_fulfil, wish_match

Kind = Referral.Kind

# What the county may decide for each kind of item. A proposal, a held entry and an
# objection must be settled one way or the other (nothing waits forever); the other effects
# may be refused, which leaves things as they are. A held entry's choices are worded by its
# sign (`_decisions`): an award is held too, when its household's card was recalled.
DECISIONS: dict[str, list[tuple[str, str]]] = {
    Kind.PROPOSAL: [("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))],
    Kind.HELD: [
        ("credit", gettext_lazy("Credit the deduction")),
        ("cancel", gettext_lazy("Cancel the deduction")),
    ],
    Kind.OBJECTION: [
        ("uphold", gettext_lazy("Uphold: cancel the entry")),
        ("dismiss", gettext_lazy("Dismiss: the entry stands")),
    ],
    Kind.REVERSAL: [("do", gettext_lazy("Reverse the entry")), ("refuse", gettext_lazy("Refuse"))],
    Kind.VOID: [("do", gettext_lazy("Void the redemption")), ("refuse", gettext_lazy("Refuse"))],
    Kind.PIN_RESET: [("do", gettext_lazy("Set the new PIN")), ("refuse", gettext_lazy("Refuse"))],
    Kind.MEMBER_PIN: [("do", gettext_lazy("Do as asked")), ("refuse", gettext_lazy("Refuse"))],
    Kind.CARD_ISSUE: [("do", gettext_lazy("Issue the card")), ("refuse", gettext_lazy("Refuse"))],
    Kind.CARD_REPLACE: [
        ("do", gettext_lazy("Issue the new card")),
        ("refuse", gettext_lazy("Refuse")),
    ],
    Kind.CARD_RECALL: [("do", gettext_lazy("Recall the card")), ("refuse", gettext_lazy("Refuse"))],
    Kind.WISH_MATCH: [("do", gettext_lazy("Match as asked")), ("refuse", gettext_lazy("Refuse"))],
    Kind.WISH_FULFIL: [
        ("do", gettext_lazy("Record as fulfilled")),
        ("refuse", gettext_lazy("Refuse")),
    ],
    # Refusing a correction closes it too: it never waits forever.
    Kind.STOCK: [
        ("confirm", gettext_lazy("Confirm: correct the stock")),
        ("reject", gettext_lazy("Refuse the correction")),
    ],
    Kind.SETTLEMENT: [
        ("do", gettext_lazy("Approve the settlement")),
        ("refuse", gettext_lazy("Refuse")),
    ],
}
# Decisions that need a reason from the county (it is shown to the village).
NEEDS_REASON = {"reject", "cancel", "uphold", "refuse"}


def referrals_overseen(user) -> QuerySet[Referral]:
    """The items sent up by the villages `user` oversees (the township's, or the county's)."""
    return Referral.objects.filter(village__in=villages_overseen(user)).select_related(
        "village", "household", "requested_by", "decided_by"
    )


def referrals_of_village(village_id: int) -> QuerySet[Referral]:
    return Referral.objects.filter(village_id=village_id).select_related(
        "household", "requested_by", "decided_by"
    )


@dataclass
class Item:
    """A referral with the object it concerns, for the queue's rows."""

    referral: Referral
    subject: object | None
    decisions: list[tuple[str, str]]
    is_batch = False

    @property
    def referrals(self) -> list[Referral]:
        return [self.referral]


# How each kind's subject is loaded for the queue's rows.
_SUBJECTS = {
    Kind.PROPOSAL: Proposal.objects.select_related("rule", "proposed_by", "batch"),
    Kind.HELD: Proposal.objects.select_related("rule", "proposed_by"),
    Kind.OBJECTION: Objection.objects.select_related("proposal__rule", "raised_by"),
    Kind.REVERSAL: Entry.objects.select_related("proposal__rule", "created_by"),
    Kind.VOID: Redemption.objects.select_related("created_by").prefetch_related("lines__item"),
    Kind.PIN_RESET: Household.objects.all(),
    Kind.MEMBER_PIN: Member.objects.all(),
    # Whether the card is issued again (no opening points): read with the household.
    Kind.CARD_ISSUE: Household.objects.annotate(
        had_card=Exists(Card.objects.filter(household=OuterRef("pk")))
    ),
    Kind.CARD_REPLACE: Household.objects.all(),
    Kind.CARD_RECALL: Household.objects.all(),
    Kind.WISH_MATCH: Wish.objects.select_related("match__donor"),
    Kind.WISH_FULFIL: Wish.objects.select_related("match__donor"),
    Kind.STOCK: StockCorrection.objects.select_related("item", "requested_by"),
    Kind.SETTLEMENT: Settlement.objects.select_related("drafted_by").annotate(
        households=Count("lines"), points=Sum("lines__points")
    ),
}


# A held award's choices, where DECISIONS words a held deduction's (the same values).
HELD_AWARD_DECISIONS = [
    ("credit", gettext_lazy("Credit the award")),
    ("cancel", gettext_lazy("Cancel the award")),
]


def _decisions(referral: Referral, subject) -> list[tuple[str, str]]:
    if referral.kind == Kind.HELD and subject is not None and subject.points > 0:
        return HELD_AWARD_DECISIONS
    return DECISIONS[referral.kind]


def queue_items(referrals) -> list[Item]:
    """The referrals with their subjects, loaded with one query per kind present."""
    referrals = list(referrals)
    wanted = defaultdict(set)
    for referral in referrals:
        wanted[referral.kind].add(referral.object_id)
    subjects = {}
    for kind, ids in wanted.items():
        subjects[kind] = _SUBJECTS[kind].in_bulk(ids)
    items = []
    for referral in referrals:
        subject = subjects.get(referral.kind, {}).get(referral.object_id)
        items.append(
            Item(referral=referral, subject=subject, decisions=_decisions(referral, subject))
        )
    return items


@dataclass
class BatchItems:
    """The proposals of one batch waiting above together: shown and decided as one (DESIGN.md
    ledger rule 4; points.services refuses a decision on part of them)."""

    batch: object
    items: list[Item]
    decisions: list[tuple[str, str]]
    is_batch = True

    @property
    def referral(self) -> Referral:
        """The first item's referral: the form's place for a decision kept (`kept`)."""
        return self.items[0].referral

    @property
    def referrals(self) -> list[Referral]:
        return [item.referral for item in self.items]

    @property
    def total(self) -> int:
        return sum(item.subject.points for item in self.items)

    @property
    def reason(self) -> str:
        """The reason the batch's proposals share, or "" when each has its own."""
        reasons = {item.subject.reason for item in self.items}
        return reasons.pop() if len(reasons) == 1 else ""

    @property
    def rule(self):
        """The rule the batch's proposals share, or None when each has its own."""
        rules = {item.subject.rule_id for item in self.items}
        return self.items[0].subject.rule if len(rules) == 1 else None


# A batch's choices at the queue: the proposal's, worded for the whole of it.
BATCH_DECISIONS = [
    ("approve", gettext_lazy("Approve whole batch")),
    ("reject", gettext_lazy("Reject whole batch")),
]


def batches_together(items: list[Item]) -> list[Item | BatchItems]:
    """The queue's items with the proposals of one batch waiting together gathered into one
    entry, in the place of its first; a batch's proposal waiting alone stays an item of its
    own (the rest of its batch is the village's to decide)."""

    def batch_of(item: Item) -> int | None:
        if item.referral.kind != Kind.PROPOSAL or item.subject is None:
            return None
        return item.subject.batch_id

    by_batch = defaultdict(list)
    for item in items:
        if batch_of(item):
            by_batch[batch_of(item)].append(item)
    entries, placed = [], set()
    for item in items:
        batch_id = batch_of(item)
        if len(by_batch.get(batch_id, ())) < 2:
            entries.append(item)
        elif batch_id not in placed:
            placed.add(batch_id)
            entries.append(
                BatchItems(
                    batch=item.subject.batch, items=by_batch[batch_id], decisions=BATCH_DECISIONS
                )
            )
    return entries


def referral_decide(
    *,
    referral_ids: list[int],
    actor: User,
    decision: str,
    reason: str = "",
    request=None,
) -> list[Referral]:
    """The township officer or county admin decides open referrals of villages they oversee:
    several proposals of one village at once (a batch's waiting together, all of them:
    points.services refuses part of one), any other kind one at a time. Each effect goes
    through its own service, which checks their licence (and the second-person rule) and
    closes the referral.

    The referrals are locked first, and stay locked until the effect is written: a second
    decision of the same item at the same moment (another overseer refusing it, or doing
    it) waits, then finds it decided. Unlocked, a refusal and a "do" both took effect: the
    village was told "refused" while the ledger had moved."""
    reason = (reason or "").strip()
    with transaction.atomic():
        return _decide_locked(referral_ids, actor, decision, reason, request)


def _decide_locked(referral_ids, actor, decision, reason, request) -> list[Referral]:
    referrals = list(
        Referral.objects.select_for_update(no_key=True, of=("self",))
        .select_related("village__township", "household")
        .filter(
            pk__in=referral_ids,
            status=Referral.Status.OPEN,
            village__in=villages_overseen(actor),
        )
        .order_by("pk")
    )
    if not referrals or len(referrals) != len(set(referral_ids)):
        missing = set(referral_ids) - {referral.pk for referral in referrals}
        raise ValidationError(_not_decidable(missing, actor))
    kinds = {referral.kind for referral in referrals}
    if len(kinds) != 1 or (len(referrals) > 1 and Kind.PROPOSAL not in kinds):
        raise ValidationError(_("Decide several items at once only for proposals."))
    kind = kinds.pop()
    if decision not in dict(DECISIONS[kind]):
        raise ValidationError(_("Choose one of the decisions offered."))
    if decision in NEEDS_REASON and not reason:
        raise ValidationError(_("Give the reason for this decision: the village sees it."))
    if decision == "refuse":
        return [
            referral_refuse(
                referral=referral,
                actor=actor,
                reason=reason,
                own_household_affected=_on_the_plan(referral, actor),
                request=request,
            )
            for referral in referrals
        ]
    if kind == Kind.PROPOSAL:
        by_proposal = {referral.object_id: referral for referral in referrals}
        if decision == "approve":
            proposal_approve(
                proposal_ids=list(by_proposal), actor=actor, referrals=by_proposal, request=request
            )
        else:
            proposal_reject(
                proposal_ids=list(by_proposal),
                actor=actor,
                reason=reason,
                referrals=by_proposal,
                request=request,
            )
        return referrals
    (referral,) = referrals
    _decide_one(referral, actor, decision, reason, request)
    return referrals


def _not_decidable(missing: set[int], actor: User) -> str:
    """Why items chosen are not there to decide. One sent up by a village `actor` does not
    oversee (a form of another township's queue, an address passed on) is said to be
    another township's, or another county's, naming nothing of it; else they were decided
    meanwhile, or never existed. Asked only on a miss."""
    elsewhere = (
        Referral.objects.filter(pk__in=missing)
        .exclude(village__in=villages_overseen(actor))
        .exists()
    )
    oversight = oversight_of(actor)
    if not elsewhere or oversight is None:
        return _("Some of the chosen items were already decided or not found.")
    if oversight.is_township:
        return _(
            "This is another township's item: only that township's officer, or the county, "
            "can decide it."
        )
    return _("This is another county's item: only that county can decide it.")


def _on_the_plan(referral: Referral, actor: User) -> bool:
    """Whether `actor`'s household is on the settlement plan `referral` sent up: refusing
    the plan keeps its points from lapsing (the referral names no household of its own)."""
    return (
        referral.kind == Kind.SETTLEMENT
        and actor.household_id is not None
        and SettlementLine.objects.filter(
            settlement_id=referral.object_id, account__household_id=actor.household_id
        ).exists()
    )


def _decide_one(referral: Referral, actor: User, decision: str, reason: str, request) -> None:
    asked = referral.request or {}
    village_id, object_id = referral.village_id, referral.object_id
    common = {"actor": actor, "referral": referral, "request": request}
    if referral.kind == Kind.REVERSAL:
        entry = _subject(Entry.objects.select_related("account__household"), object_id)
        if entry.account.village_id != village_id:
            raise ValidationError(_("This item was not found."))
        entry_reverse(entry=entry, reason=reason or asked.get("reason", ""), **common)
    elif referral.kind == Kind.VOID:
        redemption = _subject(
            Redemption.objects.select_related("entry", "household").filter(village_id=village_id),
            object_id,
        )
        redemption_void(redemption=redemption, reason=reason or asked.get("reason", ""), **common)
    elif referral.kind == Kind.HELD:
        if decision == "credit":
            proposal_held_credit(proposal_id=object_id, **common)
        else:
            proposal_cancel(proposal_id=object_id, reason=reason, **common)
    elif referral.kind == Kind.OBJECTION:
        objection_resolve(
            objection_id=object_id,
            upheld=decision == "uphold",
            resolution=reason or asked.get("resolution", ""),
            **common,
        )
    elif referral.kind == Kind.PIN_RESET:
        household = _subject(Household.objects.filter(village_id=village_id), object_id)
        pin_reset(household=household, pin_hash=asked.get("pin_hash", ""), **common)
        # The PIN's hash has done its work: the referral keeps no trace of it.
        Referral.objects.filter(pk=referral.pk).update(request={})
    elif referral.kind == Kind.CARD_ISSUE:
        household = _subject(Household.objects.filter(village_id=village_id), object_id)
        card_issue(household=household, pin="", pin_hash=asked.get("pin_hash", ""), **common)
        Referral.objects.filter(pk=referral.pk).update(request={})
    elif referral.kind == Kind.CARD_RECALL:
        household = _subject(Household.objects.filter(village_id=village_id), object_id)
        card_recall(household=household, reason=asked.get("reason", ""), **common)
    elif referral.kind == Kind.CARD_REPLACE:
        household = _subject(Household.objects.filter(village_id=village_id), object_id)
        card_replace(
            household=household,
            pin="",
            pin_hash=asked.get("pin_hash", ""),
            reason=asked.get("reason", ""),
            replacing=asked.get("replacing", ""),
            keep_members=asked.get("keep_members", True),
            **common,
        )
        # As for a PIN reset: the referral keeps no trace of the hash.
        Referral.objects.filter(pk=referral.pk).update(
            request={key: value for key, value in asked.items() if key != "pin_hash"}
        )
    elif referral.kind == Kind.MEMBER_PIN:
        member = _subject(
            Member.objects.select_related("household").filter(household__village_id=village_id),
            object_id,
        )
        if asked.get("revoke"):
            member_pin_revoke(member=member, **common)
        else:
            member_pin_set(member=member, pin_hash=asked.get("pin_hash", ""), **common)
            # As for a household's PIN: the referral keeps no trace of the hash.
            Referral.objects.filter(pk=referral.pk).update(request={})
    elif referral.kind == Kind.WISH_MATCH:
        wish = _subject(Wish.objects.filter(village_id=village_id), object_id)
        donor = Donor.objects.filter(pk=asked.get("donor") or 0, village_id=village_id).first()
        wish_match(
            wish=wish,
            donor=donor,
            new_donor_name="" if donor else asked.get("new_donor_name", ""),
            new_donor_kind=asked.get("new_donor_kind", ""),
            note=asked.get("note", ""),
            **common,
        )
    elif referral.kind == Kind.STOCK:
        referrals = {object_id: referral}
        if decision == "confirm":
            stock_corrections_confirm(
                correction_ids=[object_id], actor=actor, referrals=referrals, request=request
            )
        else:
            stock_corrections_refuse(
                correction_ids=[object_id],
                actor=actor,
                reason=reason,
                referrals=referrals,
                request=request,
            )
    elif referral.kind == Kind.SETTLEMENT:
        settlement = _subject(Settlement.objects.filter(village_id=village_id), object_id)
        settlement_approve(settlement=settlement, **common)
    elif referral.kind == Kind.WISH_FULFIL:
        wish = _subject(Wish.objects.filter(village_id=village_id), object_id)
        try:
            date = datetime.date.fromisoformat(asked.get("date", ""))
        except ValueError as error:
            raise ValidationError(_("The date given is missing.")) from error
        wish_fulfil(
            wish=wish,
            date=date,
            given=asked.get("given", ""),
            thanks=asked.get("thanks", ""),
            **common,
        )


def _subject(queryset, pk):
    subject = queryset.filter(pk=pk).first()
    if subject is None:
        raise ValidationError(_("This item was not found."))
    return subject
