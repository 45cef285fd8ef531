"""The ledger's writes: every entry is made by `entries_plan`, on an account its caller holds
locked; `entries_post`, `entry_post` and `reversal_post` run its statements, and approvals and
redemptions run them with their own writes. Points held for reservations move by `hold_plan`.

Who may cause an entry is decided by the services that call these (points.services,
points.publicity, store.services); this module only keeps the ledger whole.
"""

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core import sql
from core.sql import Statement
from points.models import Account, Entry
from villagers.models import Household, User


class InsufficientPoints(ValidationError):
    """The balance would go below zero."""


# The most points an account holds: balances are PostgreSQL integers.
MAX_BALANCE = 2_147_483_647


class BalanceLimit(ValidationError):
    """The balance would pass MAX_BALANCE (a rule or a proposal of absurd points)."""


def balance_after(balance: int, points: int, held: int = 0) -> int:
    """The balance once `points` are posted, refused below zero or, for a debit, below the
    points held for reservations (InsufficientPoints), and above MAX_BALANCE (BalanceLimit:
    else the database refuses the entry, and a crediting run stops at it for everyone)."""
    if points > 0 and balance + points > MAX_BALANCE:
        raise BalanceLimit(
            _(
                "Too many points: the balance is %(balance)d, and %(adding)d more would pass "
                "%(max)d, the most an account can hold."
            )
            % {"balance": balance, "adding": points, "max": MAX_BALANCE},
            code="balance_limit",
        )
    if points < 0 and balance + points < held:
        if held:
            raise InsufficientPoints(
                _(
                    "Not enough points: the balance is %(balance)d, of which %(held)d are "
                    "held for reservations; this needs %(needed)d."
                )
                % {"balance": balance, "held": held, "needed": -points},
                code="insufficient_points",
            )
        raise InsufficientPoints(
            _("Not enough points: the balance is %(balance)d, this needs %(needed)d.")
            % {"balance": balance, "needed": -points},
            code="insufficient_points",
        )
    return balance + points


def account_open(*, household: Household) -> Account:
    """The household's account, created on first use."""
    account, _created = Account.objects.get_or_create(
        household=household, defaults={"village_id": household.village_id}
    )
    return account


@dataclass
class Posting:
    """One entry to append to a locked `account` (its `balance` is current under the lock)."""

    account: Account
    kind: str
    points: int
    memo: str = ""
    reverses: Entry | None = None


def entries_plan(
    *,
    postings: Sequence[Posting],
    actor: User | None,
    ids: Sequence[int],
    at: datetime.datetime | None = None,
) -> tuple[list[Entry], list[Statement]]:
    """The entries of `postings` on accounts the caller holds locked, with the ids drawn for
    them, and the statements that write them and the accounts' cached balances: the one
    place ledger entries are made. `entries_post` runs them; approvals and redemptions run
    them with their own writes, in one round trip (core.sql.run_together).

    Each entry's balance_after follows from the one before it on its account, in the order
    given; nothing is planned if any balance would go below zero or below what is held
    (InsufficientPoints), or past MAX_BALANCE (BalanceLimit). The accounts passed in carry
    their new balances afterwards.
    """
    at = at or timezone.now()
    balances: dict[int, int] = {}
    entries = []
    for posting, entry_id in zip(postings, ids, strict=True):
        account = posting.account
        before = balances.get(account.pk, account.balance)
        balances[account.pk] = balance_after(before, posting.points, account.held)
        entry = Entry(
            id=entry_id,
            account=account,
            kind=posting.kind,
            points=posting.points,
            balance_after=balances[account.pk],
            created_by=actor,
            memo=posting.memo[:200],
            reverses=posting.reverses,
            created_at=at,
        )
        # Field values are validated here. The rows it points at are locked or loaded, and
        # PostgreSQL enforces the kind, sign and balance checks and the one-reversal key.
        entry.full_clean(
            exclude=["account", "created_by", "reverses"],
            validate_unique=False,
            validate_constraints=False,
        )
        entries.append(entry)
    accounts = {posting.account.pk: posting.account for posting in postings}
    for account in accounts.values():
        account.balance = balances[account.pk]
    statements = [
        sql.insert(Entry, entries),
        sql.update_rows(Account, accounts.values(), ["balance"]),
    ]
    return entries, statements


def hold_plan(*, account: Account, points: int) -> Statement:
    """Hold `points` more (or release, when negative) on a locked `account` for reservations:
    the one place Account.held moves. Refused (InsufficientPoints) if the points held would
    exceed the balance; the database refuses it too (account_held_within_balance)."""
    held = account.held + points
    if held < 0:
        raise ValueError(f"account {account.pk}: releasing {-points} of {account.held} held")
    if held > account.balance:
        raise InsufficientPoints(
            _(
                "Not enough points: the balance is %(balance)d, %(held)d already held for "
                "reservations; this needs %(needed)d."
            )
            % {"balance": account.balance, "held": account.held, "needed": points},
            code="insufficient_points",
        )
    account.held = held
    return sql.update_rows(Account, [account], ["held"])


def entries_post(
    *, postings: Sequence[Posting], actor: User | None, at: datetime.datetime | None = None
) -> list[Entry]:
    """Append entries to accounts the caller holds locked (see `entries_plan`)."""
    if not postings:
        return []
    entries, statements = entries_plan(
        postings=postings, actor=actor, ids=sql.ids_draw(Entry, len(postings)), at=at
    )
    sql.run_together(statements)
    return entries


def entry_post(
    *,
    account_id: int,
    kind: str,
    points: int,
    actor: User | None,
    memo: str = "",
    reverses: Entry | None = None,
    at: datetime.datetime | None = None,
) -> Entry:
    """Append one entry, locking its account: `entries_post` for a single change.

    Callers that touch several accounts or items lock them in a fixed order (by id) first.
    `at` backdates the entry, for loaders replaying history (the demo); services used by
    views never pass it. Such a loader replays oldest first, so that an account's entries in
    id order (the order balance_after runs in) are also in date order.
    """
    with transaction.atomic():
        account = Account.objects.select_for_update(no_key=True).get(pk=account_id)
        posting = Posting(account=account, kind=kind, points=points, memo=memo, reverses=reverses)
        return entries_post(postings=[posting], actor=actor, at=at)[0]


def reversal_post(
    *,
    entry: Entry,
    actor: User | None,
    memo: str,
    at: datetime.datetime | None = None,
) -> Entry:
    """Cancel `entry` with an opposite one, at most once. The caller has checked who may.

    Used by points.services.entry_reverse (a correction on the ledger page) and by the
    store's redemption void (points and goods back together). `at` backdates the reversal,
    for loaders replaying history only (see `entry_post`).
    """
    if entry.kind in (Entry.Kind.REVERSAL, Entry.Kind.OPENING):
        raise ValidationError(_("This entry cannot be reversed."))
    with transaction.atomic():
        # Lock the account first so two reversals of one entry queue up, then re-check.
        Account.objects.select_for_update(no_key=True).get(pk=entry.account_id)
        if Entry.objects.filter(reverses=entry).exists():
            raise ValidationError(_("This entry has already been reversed."))
        return entry_post(
            account_id=entry.account_id,
            kind=Entry.Kind.REVERSAL,
            points=-entry.points,
            actor=actor,
            memo=memo,
            reverses=entry,
            at=at,
        )
