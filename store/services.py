"""Writes to the store. Every change of stock is a movement written with the item's cached stock
under the item's row lock, by one writer: `movements_plan` (`_movements_append` runs its
statements; a redemption runs them with its other writes). Goods held move by `_holds_plan`,
goods set aside for the write-offs and shortfalls waiting by `_set_aside_plan`.

Lock order, everywhere: the village's row first (of the store's writes, only donations take
it, against a notice being published; card issue, the carry-over and the yearly settlement
take it too), then the household's points account, then the redemption being voided, then
the donation, then items by ascending id. Keeping one order means two tellers never
deadlock.
"""

import datetime
import hashlib
import json
import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import sql
from core.access import Role, is_manager
from core.audit import as_stored, audit_plan, audit_record, record_save
from core.db import duplicate_checked_again, full_check, unique_checks
from core.edit_forms import row_digest, row_drawn_as_stored
from core.files import discard_files_on_error, file_stored
from core.months import closed_month_check, past_day_check
from core.sql import Statement
from core.text import clauses_join, list_join, reason_clean, records_language
from notifications.models import Notification
from notifications.selectors import void_asks
from notifications.services import (
    message,
    notifications_outdate,
    notifications_plan,
    notifications_post,
)
from points.ledger import Posting, entries_plan, hold_plan, reversal_post
from points.models import Account, Entry
from store import sql as store_sql
from store.models import (
    Donation,
    Donor,
    Item,
    Redemption,
    RedemptionLine,
    Reservation,
    ReservationLine,
    StockCorrection,
    StockMovement,
    Zone,
)
from store.selectors import money_spent, shortfalls_waiting
from store.validators import barcode_refusal
from villagers.models import Card, Household, Member, Referral, User, Village
from villagers.second_person import (
    SecondPersonRequired,
    batch_check,
    decider_check,
    others_who_may,
    referral_open,
    referrals_close,
    role_holders,
)
from villagers.services import village_start_reach

MAX_CART_LINES = 40
MAX_LINE_QUANTITY = 999
# The most units one line brings in, bought or donated: a slip of the keyboard (a barcode
# typed into the quantity) must not put two billion of an item on the shelf and the notice.
MAX_UNITS_IN = 100_000
# The most a quantity typed may take one item's stock to (a stock-in, a donation, a count's
# surplus), and the most a count may find of an item the books hold fewer of: a slip of the
# keyboard is refused in words. Only typed quantities: a void gives back what was sold, and
# an item above it from before this limit is still counted (count_most).
MAX_STOCK = 1_000_000
# The most the stock column holds (PostgreSQL's integer): past it, even a void is refused.
STOCK_COLUMN_MAX = connection.ops.integer_field_range("IntegerField")[1]
# Movements that give back goods taken before, with no quantity typed (a voided redemption):
# never refused for MAX_STOCK.
GIVEN_BACK = frozenset({StockMovement.Kind.VOID})
# An open reservation entering its last day tells its household it is about to expire.
RESERVATION_REMINDER = datetime.timedelta(days=1)


class InsufficientStock(ValidationError):
    """A movement would take an item's stock below zero."""


class IdempotencyKeyReused(ValidationError):
    """A confirmation key came back with a different cart: refused, nothing charged."""


class RecordedAlready(ValidationError):
    """The same stock-in or donation was recorded earlier: the form sent from a second tab,
    or filled in again after a reply was lost (each form has its own one-time key). Recorded
    again only when the manager says it is another (`again`), as a proposal repeated is."""


def zones_ensure(*, village: Village) -> list[Zone]:
    """Create the six zones of the source for `village` (idempotent), in the source's order:
    one read when they are there (the stock page asks on every visit); those missing are
    added, a zone added meanwhile by another request kept (the unique code)."""
    codes = Zone.Code.values
    zones = {zone.code: zone for zone in Zone.objects.filter(village=village)}
    missing = [
        Zone(village=village, code=code, position=position)
        for position, code in enumerate(codes)
        if code not in zones
    ]
    if missing:
        Zone.objects.bulk_create(missing, ignore_conflicts=True)
        zones = {zone.code: zone for zone in Zone.objects.filter(village=village)}
    return [zones[code] for code in codes]


def item_save(*, item: Item, actor: User, request=None) -> Item:
    """Create or update an item (form data already applied). Stock moves only by movements."""
    if item.zone.village_id != item.village_id:
        raise ValidationError(_("The zone belongs to another village."))
    creating = item.pk is None
    stored = Item.objects.filter(pk=item.pk).first() if item.pk else None
    if as_stored(item, stored):
        return item  # saved as stored: nothing written, nothing audited as a change
    # A barcode is checked when it is set: one kept from before the check (whatever it is)
    # does not stop the item's other changes.
    if item.barcode and item.barcode != (stored.barcode if stored else ""):
        refusal = barcode_refusal(item.barcode)
        if refusal:
            raise ValidationError({"barcode": refusal}, code="invalid")
    full_check(item)
    with discard_files_on_error(), transaction.atomic():
        unsaved_name = item.photo.name
        try:
            # Saved by another request since full_clean() (a double click, two tabs).
            with duplicate_checked_again(lambda: unique_checks(item)):
                item.save()
        except (IntegrityError, ValidationError):
            if item.photo and item.photo.name != unsaved_name:
                file_stored(item.photo)
            raise
        if item.photo and item.photo.name != unsaved_name:
            # A new photo was stored by save(); a failure after it deletes it (core.files).
            file_stored(item.photo)
        audit_record(
            action="item.create" if creating else "item.update",
            actor=actor,
            village_id=item.village_id,
            obj=item,
            detail={"name": item.name, "points_price": item.points_price},
            request=request,
        )
    return item


def donor_save(*, donor: Donor, actor: User, request=None) -> Donor:
    """Create or change a donor; one saved as stored is neither written nor audited."""
    if as_stored(donor, Donor.objects.filter(pk=donor.pk).first() if donor.pk else None):
        return donor
    return record_save(
        donor, actor=actor, village_id=donor.village_id, action="donor.{verb}", request=request
    )


def _items_lock(*, village_id: int, item_ids: Iterable[int]) -> dict[int, Item]:
    """Lock the village's items `item_ids` in ascending id order; a missing one is an error."""
    wanted = sorted(set(item_ids))
    items = Item.objects.select_for_update(no_key=True).filter(village_id=village_id, pk__in=wanted)
    locked = {item.pk: item for item in items.order_by("pk")}
    if len(locked) != len(wanted):
        raise ValidationError(_("An item is not in this village's store."), code="unknown_item")
    return locked


def _movement_append(
    *, item: Item, kind: str, quantity: int, actor: User | None, at=None, **fields
) -> StockMovement:
    """Append one movement for a locked `item` and move its cached stock in the same step."""
    return _movements_append(moves=[(item, quantity)], kind=kind, actor=actor, at=at, **fields)[0]


def _low_stock_messages(changes: list[tuple[Item, int]]) -> list[Notification]:
    """The staff are told of each item whose available units (stock less what reservations
    hold and what waits to be written off) a change took to its low-stock threshold (once,
    as it crosses it; a stock-in or a released hold above the threshold arms it again): a
    redemption, a write-off or shortfall asked, a reservation alike. `changes`: (item,
    change of its available units), the items carrying their stock and holds after it."""
    return [
        message(
            village_id=item.village_id,
            household_id=None,
            kind=Notification.Kind.LOW_STOCK,
            item=item.name,
            stock=item.available,
        )
        for item, change in changes
        if item.available - change > item.low_stock_threshold >= item.available
    ]


def _set_aside_refusal(item: Item, needed: int) -> str:
    """Why `needed` units of `item` cannot go: some of its stock is held for reservations or
    waits to be written off."""
    words = {
        "item": item.name,
        "stock": item.stock,
        "held": item.held,
        "writing_off": item.writing_off,
        "needed": needed,
    }
    if not item.writing_off:
        return (
            _(
                "Not enough %(item)s in stock: %(stock)d left, of which %(held)d are held "
                "for reservations; %(needed)d needed. Cancel a reservation first."
            )
            % words
        )
    if not item.held:
        return (
            _(
                "Not enough %(item)s in stock: %(stock)d left, of which %(writing_off)d wait "
                "to be written off; %(needed)d needed."
            )
            % words
        )
    return (
        _(
            "Not enough %(item)s in stock: %(stock)d left, of which %(held)d are held for "
            "reservations and %(writing_off)d wait to be written off; %(needed)d needed."
        )
        % words
    )


def movements_plan(
    *,
    moves: list[tuple[Item, int]],
    kind: str,
    actor: User | None,
    ids: list[int],
    at=None,
    history: bool = False,
    released: Mapping[int, int] | None = None,
    **fields,
) -> tuple[list[StockMovement], list[Statement], list[Notification]]:
    """Movements for locked items (item, quantity), with the ids drawn for them, and the
    statements that write them and the items' cached stock: the one place stock movements
    are made. `_movements_append` runs them; a redemption runs them with its other writes
    in one round trip (core.sql.run_together). Refused (InsufficientStock) before anything
    is written if a stock would go below zero; the items carry their new stock afterwards.
    The staff's low-stock messages of the items it takes to their threshold are written by
    the same statements, whatever took the goods (`history`: see notifications_plan); they
    are returned too, for a caller checking the rows written. `released` (item id ->
    quantity): units just released from a reservation's hold (a hand-over) or from a
    correction's set-aside (its confirmation) to take them here, which were not available
    before either (the hold or the set-aside was alerted for).
    """
    at = at or timezone.now()
    movements = []
    for (item, quantity), movement_id in zip(moves, ids, strict=True):
        new_stock = item.stock + quantity
        if quantity > 0 and new_stock > STOCK_COLUMN_MAX:
            raise ValidationError(
                _(
                    "%(item)s would then have %(stock)d in stock, more than the books can "
                    "hold. Nothing was recorded."
                )
                % {"item": item.name, "stock": new_stock},
                code="stock_too_high",
            )
        if quantity > 0 and new_stock > MAX_STOCK and kind not in GIVEN_BACK:
            raise ValidationError(
                _(
                    "%(item)s would then have %(stock)d in stock: the books keep at most "
                    "%(max)d of one item. Nothing was recorded; check the quantity."
                )
                % {"item": item.name, "stock": new_stock, "max": MAX_STOCK},
                code="stock_too_high",
            )
        if new_stock < 0:
            raise InsufficientStock(
                _("Not enough %(item)s in stock: %(stock)d left, %(needed)d needed.")
                % {"item": item.name, "stock": item.stock, "needed": -quantity},
                code="insufficient_stock",
            )
        if quantity < 0 and new_stock < item.held + item.writing_off:
            raise InsufficientStock(_set_aside_refusal(item, -quantity), code="insufficient_stock")
        movement = StockMovement(
            id=movement_id,
            village_id=item.village_id,
            item=item,
            kind=kind,
            quantity=quantity,
            stock_after=new_stock,
            created_by=actor,
            created_at=at,
            **fields,
        )
        # The rows it points at are locked or just made, and PostgreSQL enforces the check
        # constraints; validating field values here keeps a redemption at a few queries.
        movement.full_clean(
            exclude=["item", "village", "donation", "redemption", "paid_by", "created_by"],
            validate_unique=False,  # its id was just drawn from the sequence
            validate_constraints=False,
        )
        movements.append(movement)
        item.stock = new_stock
    items = [item for item, _quantity in moves]
    released = released or {}
    alerts = _low_stock_messages(
        [(item, quantity + released.get(item.pk, 0)) for item, quantity in moves]
    )
    return (
        movements,
        [
            sql.insert(StockMovement, movements),
            sql.update_rows(Item, items, ["stock"]),
            *notifications_plan(alerts, now=at, history=history),
        ],
        alerts,
    )


def _movements_append(
    *, moves: list[tuple[Item, int]], kind: str, actor: User | None, at=None, **fields
) -> list[StockMovement]:
    """Movements for several locked items (item, quantity) and their cached stock, in one
    round trip however many items (see `movements_plan`)."""
    movements, statements, _alerts = movements_plan(
        moves=moves,
        kind=kind,
        actor=actor,
        ids=sql.ids_draw(StockMovement, len(moves)),
        at=at,
        **fields,
    )
    sql.run_together(statements)
    return movements


def _units_in_check(item: Item, quantity: int) -> None:
    """Refuse more than MAX_UNITS_IN of `item` brought in at once (a purchase, or the lines
    of one donation naming it, added up)."""
    if quantity > MAX_UNITS_IN:
        raise ValidationError(
            _(
                "At most %(max)d of one item come in at once; %(item)s has %(quantity)d. "
                "Nothing was recorded; check the quantity."
            )
            % {"max": MAX_UNITS_IN, "item": item.name, "quantity": quantity},
            code="too_many_in",
        )


def stock_purchase(
    *,
    item: Item,
    quantity: int,
    fund_source: str,
    cost_yuan: Decimal,
    actor: User,
    note: str = "",
    at: datetime.datetime | None = None,
    paid_by: Donation | None = None,
    again: bool = True,
    request=None,
) -> StockMovement:
    """Stock-in of bought goods, recording which fund paid and what it cost.

    `paid_by` names the money donation that paid (fund source "donated money", and only
    then); the purchases paid from one donation never add up to more than it gave. With
    `again` False (the stock-in form's), the same purchase taken in earlier today is
    refused (RecordedAlready): checked under the item's lock, so two tabs sent at once are
    one stock-in.
    """
    if quantity <= 0:
        raise ValidationError(_("The quantity must be at least 1."))
    _units_in_check(item, quantity)
    if paid_by is not None and fund_source != StockMovement.FundSource.DONATED_MONEY:
        raise ValidationError(_("Only a purchase paid from donated money names a donation."))
    if paid_by is None and fund_source == StockMovement.FundSource.DONATED_MONEY:
        raise ValidationError(
            _("Choose the money donation that paid, so its donor sees what it bought.")
        )
    with transaction.atomic():
        if paid_by is not None:
            # Lock the donation before the item (donation_correct locks the village, then it).
            _donated_money_check(paid_by=paid_by, village_id=item.village_id, cost=cost_yuan)
        locked = _items_lock(village_id=item.village_id, item_ids=[item.pk])[item.pk]
        if not again:
            _purchase_repeated_check(
                item=locked, quantity=quantity, fund_source=fund_source, cost_yuan=cost_yuan
            )
        movement = _movement_append(
            item=locked,
            kind=StockMovement.Kind.PURCHASE,
            quantity=quantity,
            actor=actor,
            at=at,
            fund_source=fund_source,
            cost_yuan=cost_yuan,
            reason=note.strip(),
            paid_by=paid_by,
        )
        audit_record(
            action="stock.purchase",
            actor=actor,
            village_id=item.village_id,
            obj=movement,
            detail={
                "item": item.pk,
                "quantity": quantity,
                "fund": fund_source,
                "paid_by": paid_by.pk if paid_by else None,
            },
            request=request,
        )
    return movement


def _purchase_repeated_check(
    *, item: Item, quantity: int, fund_source: str, cost_yuan: Decimal
) -> None:
    """Refuse a purchase of the item taken in today already: same quantity, fund and cost."""
    earlier = (
        StockMovement.objects.filter(
            item=item,
            kind=StockMovement.Kind.PURCHASE,
            quantity=quantity,
            fund_source=fund_source,
            cost_yuan=cost_yuan,
            created_at__date=timezone.localdate(),
        )
        .select_related("created_by")
        .order_by("-id")
        .first()
    )
    if earlier is not None:
        raise RecordedAlready(
            _(
                "%(quantity)d × %(item)s paid from %(fund)s (¥%(cost)s) was already taken "
                "into stock today by %(who)s at %(time)s. Nothing was recorded. If this is "
                "another delivery, tick “This is another delivery” and save again."
            )
            % {
                "quantity": quantity,
                "item": item.name,
                "fund": earlier.get_fund_source_display(),
                "cost": f"{cost_yuan:.2f}",
                "who": earlier.created_by,
                "time": timezone.localtime(earlier.created_at).strftime("%H:%M"),
            },
            code="recorded_already",
        )


def _donation_repeated_check(donation: Donation) -> None:
    """Refuse a donation recorded already: same donor, kind, value and day received."""
    earlier = (
        Donation.objects.filter(
            village_id=donation.village_id,
            donor=donation.donor,
            kind=donation.kind,
            value_yuan=donation.value_yuan,
            received_on=donation.received_on,
        )
        .select_related("created_by")
        .order_by("-id")
        .first()
    )
    if earlier is not None:
        raise RecordedAlready(
            _(
                "A donation of ¥%(value)s from %(donor)s received on %(day)s was already "
                "recorded by %(who)s. Nothing was recorded. If this is another donation, "
                "tick “This is another donation” and save again."
            )
            % {
                "value": f"{donation.value_yuan:.2f}",
                "donor": donation.donor.name,
                "day": donation.received_on.isoformat(),
                "who": earlier.created_by,
            },
            code="recorded_already",
        )


def _donated_money_check(*, paid_by: Donation, village_id: int, cost: Decimal) -> None:
    """Refuse a purchase the money donation cannot pay for, under the donation's row lock."""
    donation = Donation.objects.select_for_update(no_key=True).filter(pk=paid_by.pk).first()
    if (
        donation is None
        or donation.village_id != village_id
        or donation.kind != Donation.Kind.MONEY
    ):
        raise ValidationError(_("Choose a money donation of this village."))
    spent = donation.purchases.aggregate(total=Sum("cost_yuan"))["total"] or Decimal(0)
    if spent + cost > donation.value_yuan:
        raise ValidationError(
            _("This donation has ¥%(left)s left to spend; the purchase costs ¥%(cost)s.")
            % {"left": f"{donation.value_yuan - spent:.2f}", "cost": f"{cost:.2f}"}
        )


def _village_lock(village_id: int) -> None:
    """Lock the village's row, as publishing a notice does (reports.notice.notice_publish),
    so no notice is published before this transaction's donation commits; then
    core.months.closed_month_check can tell. First in the lock order; FOR NO KEY UPDATE, so
    the village's other writes go on meanwhile."""
    Village.objects.select_for_update(no_key=True).filter(pk=village_id).first()


def donation_correction_refusal(donation: Donation) -> str | None:
    """Why `donation` cannot be corrected at all (its month's notice is published), or
    None: what the correction page says before anything is typed."""
    try:
        closed_month_check(
            donation.village_id, donation.received_on, _donation_month_closed(dated=False)
        )
    except ValidationError as error:
        return error.messages[0]
    return None


def _donation_month_closed(*, dated: bool) -> str:
    """Why a published notice's month refuses the donation: one being `dated` in it, else
    one the notice shows."""
    if dated:
        return _(
            "The notice of %(month)s is published, so a donation can no longer be dated in "
            "that month: date it in a month not yet published, and say when it came in the "
            "description."
        )
    return _(
        "The notice of %(month)s is published: the donations it shows, and its month, stay "
        "as they were published."
    )


def donation_record(
    *,
    village: Village,
    donor: Donor,
    kind: str,
    value_yuan: Decimal,
    thanks: str,
    actor: User,
    description: str = "",
    goods: Mapping[int, int] | None = None,
    received_on: datetime.date | None = None,
    again: bool = True,
    request=None,
) -> Donation:
    """Record a donation; donated goods (item id -> quantity) come into stock with it.

    An unsaved `donor` (a first-time giver typed into the form) is saved with the donation.
    With `again` False (the donation form's), the same donation recorded earlier is refused
    (RecordedAlready), checked under the village's lock: two tabs sent at once are one.
    """
    goods = {item_id: qty for item_id, qty in (goods or {}).items() if qty}
    if donor.village_id != village.pk:
        raise ValidationError(_("The donor belongs to another village."))
    if kind == Donation.Kind.GOODS and not goods:
        raise ValidationError(_("List the donated goods and their quantities."))
    if kind == Donation.Kind.MONEY and goods:
        raise ValidationError(_("A money donation has no goods; record purchases made with it."))
    if any(qty < 0 for qty in goods.values()):
        raise ValidationError(_("Quantities must be positive."))
    if received_on is not None:
        past_day_check(received_on)  # else in a month no notice shows
    donation = Donation(
        village=village,
        donor=donor,
        kind=kind,
        value_yuan=value_yuan,
        description=description.strip(),
        thanks=thanks.strip(),
        created_by=actor,
        received_on=received_on or timezone.localdate(),
    )
    donation.full_clean(exclude=["donor"] if donor.pk is None else None)
    with transaction.atomic():
        _village_lock(village.pk)
        closed_month_check(village.pk, donation.received_on, _donation_month_closed(dated=True))
        village_start_reach(village_id=village.pk, day=donation.received_on)
        if not again and donor.pk is not None:
            _donation_repeated_check(donation)
        if donor.pk is None:
            donor_save(donor=donor, actor=actor, request=request)
            donation.donor = donor
        donation.save()
        at = None
        if received_on is not None and received_on != timezone.localdate():
            at = timezone.make_aware(datetime.datetime.combine(received_on, datetime.time(10)))
        items = _items_lock(village_id=village.pk, item_ids=goods)
        for item_id, item in items.items():
            _units_in_check(item, goods[item_id])
            _movement_append(
                item=item,
                kind=StockMovement.Kind.DONATION,
                quantity=goods[item_id],
                actor=actor,
                at=at,
                donation=donation,
            )
        audit_record(
            action="donation.record",
            actor=actor,
            village_id=village.pk,
            obj=donation,
            detail={"donor": donor.name, "kind": kind, "value": str(value_yuan)},
            request=request,
        )
    return donation


def donation_thanks_link_revoke(*, donation: Donation, actor: User, request=None) -> Donation:
    """Make every thanks link given so far for `donation` stop working (a link went astray);
    the next one made carries the new version. The village's manager only."""
    if not (is_manager(actor) and actor.village_id == donation.village_id):
        raise PermissionDenied(_("Only the village's manager may replace a thanks link."))
    with transaction.atomic():
        Donation.objects.filter(pk=donation.pk).update(
            thanks_link_version=F("thanks_link_version") + 1
        )
        donation.refresh_from_db(fields=["thanks_link_version"])
        audit_record(
            action="donation.thanks_revoke",
            actor=actor,
            village_id=donation.village_id,
            obj=donation,
            detail={"version": donation.thanks_link_version},
            request=request,
        )
    return donation


# The details of a donation its manager may correct (the goods it brought in are stock: a
# stock-take or a write-off corrects those).
DONATION_CORRECTABLE = ("donor", "received_on", "value_yuan", "description", "thanks")


def donation_drawn(donation: Donation) -> str:
    """A digest of the donation's correctable values (core.edit_forms.row_digest): the
    correction form carries the one it was drawn with, so a second window cannot undo the
    first one's correction."""
    return row_digest(donation, DONATION_CORRECTABLE)


def donation_correct(
    *,
    donation: Donation,
    actor: User,
    reason: str,
    drawn: str | None = None,
    request=None,
    **changes,
) -> Donation:
    """Correct a donation recorded wrongly (a mistyped amount, donor, date or thanks): the
    village's manager, with a reason; the audit log keeps each old value beside the new.

    Every page and export reads the corrected row. A donation of a published month, or a
    move into one, is refused (core.months.closed_month_check, under the village's row
    lock, which publishing takes too: reports.notice.notice_publish). A money
    donation stays above nothing and never falls below what its purchases already paid.
    `drawn` (donation_drawn of the values the form showed) refuses a correction made on
    values that have changed since. A new donor revokes the thanks links made so far.
    """
    if not (is_manager(actor) and actor.village_id == donation.village_id):
        raise PermissionDenied(_("Only the village's manager may correct its donations."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Say what was wrong, for the record."), code="no_reason")
    unknown = set(changes) - set(DONATION_CORRECTABLE)
    if unknown:
        raise ValueError(f"not correctable here: {sorted(unknown)}")
    with transaction.atomic():
        _village_lock(donation.village_id)
        donation = Donation.objects.select_for_update(no_key=True).get(pk=donation.pk)
        closed_month_check(
            donation.village_id, donation.received_on, _donation_month_closed(dated=False)
        )
        if drawn is not None and not row_drawn_as_stored(drawn, donation, DONATION_CORRECTABLE):
            raise ValidationError(
                _(
                    "This donation was corrected in the meantime (in another window, or by "
                    "someone else): here it is as it is now. Correct it again if it is still "
                    "wrong."
                ),
                code="stale",
            )
        changed = {
            name: (getattr(donation, name), value)
            for name, value in changes.items()
            if getattr(donation, name) != value
        }
        if not changed:
            raise ValidationError(_("Nothing was changed."), code="unchanged")
        if "received_on" in changed:
            past_day_check(changes["received_on"])
            closed_month_check(
                donation.village_id, changes["received_on"], _donation_month_closed(dated=True)
            )
            village_start_reach(village_id=donation.village_id, day=changes["received_on"])
        if "donor" in changed and changes["donor"].village_id != donation.village_id:
            raise ValidationError(_("The donor belongs to another village."))
        for name, (_old, new) in changed.items():
            setattr(donation, name, new)
        written = list(changed)
        if "donor" in changed:
            # A thanks link is the donor's: one sent to the donor recorded wrongly must not
            # show the right donor's name and gift.
            donation.thanks_link_version += 1
            written.append("thanks_link_version")
        if donation.kind == Donation.Kind.MONEY:
            if donation.value_yuan <= 0:
                raise ValidationError(_("A money donation is more than ¥0."), code="nothing")
            spent = money_spent([donation.pk]).get(donation.pk, Decimal(0))
            if donation.value_yuan < spent:
                raise ValidationError(
                    _(
                        "Purchases of ¥%(spent)s were already paid from this donation: it "
                        "cannot be less."
                    )
                    % {"spent": spent},
                    code="spent",
                )
        donation.full_clean()
        donation.save(update_fields=written)
        audit_record(
            action="donation.correct",
            actor=actor,
            village_id=donation.village_id,
            obj=donation,
            detail={
                "reason": reason,
                "changed": {name: [str(old), str(new)] for name, (old, new) in changed.items()},
            }
            | ({"thanks_link_version": donation.thanks_link_version} if "donor" in changed else {}),
            request=request,
        )
    return donation


# --- stock-take and write-off: asked by the manager, confirmed by a second person -------------


@dataclass
class CountLine:
    """One row of a stock-take sheet: what was counted against the figure the sheet showed.

    `shown` is the count the row's box was prefilled with. A row left at it was not counted
    anew on this sheet: it agrees with the books where that is what it showed, and it never
    replaces (nor withdraws) a count of the item still waiting, which may be another zone's
    or another day's. None: the count was asked for this item alone (its own page), so it
    is a count anew whatever its figure.
    """

    item_id: int
    counted: int
    expected: int
    reason: str = ""
    cause: str = ""
    shown: int | None = None

    @property
    def entered(self) -> bool:
        """Whether this figure was typed (or changed) rather than left as prefilled."""
        return self.shown is None or self.counted != self.shown


class CountRefused(ValidationError):
    """Rows of a stock-take sheet refused: {item id: why}. Nothing was recorded."""

    def __init__(self, rows: dict[int, str]):
        super().__init__(list(rows.values()), code="count_refused")
        self.rows = rows


@dataclass
class CountResult:
    corrections: list[StockCorrection]
    replaced: int  # earlier counts of the same items that waited and were replaced
    counted: int
    left: int = 0  # counts waiting that rows left as prefilled did not touch


def _manager_check(actor: User, village_id: int) -> None:
    if not (is_manager(actor) and actor.village_id == village_id):
        raise PermissionDenied(_("Only the village's manager may count or write off goods."))


def _set_aside_plan(*, moves: Iterable[tuple[Item, int]], now=None) -> list[Statement]:
    """Set aside (or put back on offer, when negative) units of locked items for the
    write-offs and stock-take shortfalls waiting (StockCorrection.set_aside): the one place
    Item.writing_off moves. Refused (InsufficientStock) beyond what is on the shelf and not
    held for reservations. Setting aside takes units from what is available, so it tells
    the staff of an item it takes low. `moves` of one item are added up."""
    changes: dict[int, list] = {}
    for item, quantity in moves:
        changes.setdefault(item.pk, [item, 0])[1] += quantity
    changed = [(item, quantity) for item, quantity in changes.values() if quantity]
    if not changed:
        return []
    for item, quantity in changed:
        writing_off = item.writing_off + quantity
        if writing_off < 0:
            raise ValueError(f"item {item.pk}: putting back {-quantity} of {item.writing_off}")
        if quantity > 0 and item.held + writing_off > item.stock:
            raise InsufficientStock(_set_aside_refusal(item, quantity), code="insufficient_stock")
        item.writing_off = writing_off
    alerts = _low_stock_messages([(item, -quantity) for item, quantity in changed])
    return [
        sql.update_rows(Item, [item for item, _quantity in changed], ["writing_off"]),
        *notifications_plan(alerts, now=now),
    ]


def _set_aside(*, moves: Iterable[tuple[Item, int]], now=None) -> None:
    """Run `_set_aside_plan` (one round trip)."""
    statements = _set_aside_plan(moves=moves, now=now)
    if statements:
        sql.run_together(statements)


MAX_COUNT = MAX_STOCK


def count_most(expected: int) -> int:
    """The most a count of an item may find, the books' figure `expected` shown: MAX_COUNT,
    or that figure where it is higher (an item stocked above MAX_COUNT before the limit)."""
    return max(MAX_COUNT, min(expected, STOCK_COLUMN_MAX))


def _line_refusal(line: CountLine) -> str:
    if abs(line.expected) > STOCK_COLUMN_MAX:
        return _("This row's figure from the books is missing: reload the sheet.")
    if not 0 <= line.counted <= count_most(line.expected):
        return _("A count is a whole number from 0 to %(max)d.") % {
            "max": count_most(line.expected)
        }
    if line.cause and line.cause not in StockMovement.Cause.values:
        return _("Choose one of the causes offered.")
    if line.counted == line.expected or not line.entered:
        return ""
    if not line.reason.strip():
        return _("The count differs from the books: give the reason for the difference.")
    try:
        reason_clean(line.reason, StockCorrection._meta.get_field("reason"))
    except ValidationError as error:
        return error.messages[0]
    if line.cause and line.counted > line.expected:
        return _("A cause is for goods missing or spoiled, not for a surplus.")
    return ""


def _pending_write_offs(item_ids) -> dict[int, int]:
    """{item id: units waiting to be written off} (negative), of items the caller locked."""
    rows = (
        StockCorrection.objects.filter(
            item_id__in=list(item_ids),
            status=StockCorrection.Status.PENDING,
            source=StockCorrection.Source.WRITE_OFF,
        )
        .values("item_id")
        .annotate(total=Sum("quantity"))
    )
    return {row["item_id"]: row["total"] for row in rows}


def count_expected(items) -> dict[int, int]:
    """What a count of each item should find: the book stock less the write-offs waiting."""
    waiting = _pending_write_offs(item.pk for item in items)
    return {item.pk: item.stock + waiting.get(item.pk, 0) for item in items}


def stock_count_record(
    *, village: Village, lines: list[CountLine], actor: User, request=None
) -> CountResult:
    """A stock-take of many items at once (a zone, the store): each difference from the
    figure the sheet showed becomes a correction waiting for the supervisor.

    A row whose stock moved since the sheet was drawn (a sale meanwhile) is refused if its
    count differs, so the manager counts it again. A new count of an item (a row's figure
    typed, not left as prefilled: CountLine.shown) replaces the count of it still waiting;
    a row left as it was leaves that count waiting. Write-offs waiting are already out of
    the figure shown. The goods a shortfall finds missing are set aside until the
    supervisor decides, so nobody sells them meanwhile; a shortfall below what reservations
    hold is refused on its row (they cannot all be handed over: cancel one first).
    """
    _manager_check(actor, village.pk)
    if not lines:
        raise ValidationError(_("Count at least one item."))
    if len({line.item_id for line in lines}) != len(lines):
        raise ValidationError(_("An item is listed twice."))
    refusals = {line.item_id: _line_refusal(line) for line in lines}
    refusals = {item_id: why for item_id, why in refusals.items() if why}
    if refusals:
        raise CountRefused(refusals)
    with transaction.atomic():
        items = _items_lock(village_id=village.pk, item_ids=[line.item_id for line in lines])
        expected_now = count_expected(items.values())
        waiting = list(
            StockCorrection.objects.select_for_update(no_key=True).filter(
                item_id__in=list(items),
                status=StockCorrection.Status.PENDING,
                source=StockCorrection.Source.COUNT,
            )
        )
        # A row left as the sheet prefilled it was not counted anew: the count of its item
        # still waiting stays as it is (another zone's, another day's), and a figure that
        # differs from the books only as the sheet showed it is no new difference.
        waiting_items = {earlier.item_id for earlier in waiting}
        left = {
            line.item_id
            for line in lines
            if not line.entered and (line.item_id in waiting_items or line.counted != line.expected)
        }
        counting = [line for line in lines if line.item_id not in left]
        kept = [earlier for earlier in waiting if earlier.item_id in left]
        waiting = [earlier for earlier in waiting if earlier.item_id not in left]
        if not counting:  # every row left as drawn: nothing counted, nothing to record
            return CountResult(corrections=[], replaced=0, counted=0, left=len(kept))
        for line in counting:
            if line.counted != line.expected and expected_now[line.item_id] != line.expected:
                refusals[line.item_id] = _(
                    "%(item)s: the stock changed while you counted (%(then)d on the sheet, "
                    "%(now)d now, after sales or stock-in): count it again."
                ) % {
                    "item": items[line.item_id].name,
                    "then": line.expected,
                    "now": expected_now[line.item_id],
                }
            elif line.counted < min(line.expected, items[line.item_id].held):
                refusals[line.item_id] = _(
                    "%(item)s: %(counted)d counted, but %(held)d are held for reservations. "
                    "Cancel the reservations the shelf cannot fill, then count it again."
                ) % {
                    "item": items[line.item_id].name,
                    "counted": line.counted,
                    "held": items[line.item_id].held,
                }
        if refusals:
            raise CountRefused(refusals)
        now = timezone.now()
        for earlier in waiting:
            earlier.status = StockCorrection.Status.REPLACED
            earlier.decided_by = actor
            earlier.decided_at = now
            with records_language():
                earlier.refusal_reason = _("replaced by a new count")
            earlier.save(update_fields=["status", "decided_by", "decided_at", "refusal_reason"])
        referrals_close(
            kind=Referral.Kind.STOCK,
            object_ids=[earlier.pk for earlier in waiting],
            actor=actor,
            outcome=gettext_lazy("replaced by a new count"),
        )
        corrections = [
            StockCorrection(
                village=village,
                item=items[line.item_id],
                source=StockCorrection.Source.COUNT,
                kind=StockMovement.Kind.WRITE_OFF if line.cause else StockMovement.Kind.ADJUSTMENT,
                quantity=line.counted - line.expected,
                counted=line.counted,
                expected=line.expected,
                cause=line.cause,
                reason=line.reason.strip(),
                requested_by=actor,
                requested_at=now,
                set_aside=max(line.expected - line.counted, 0),
            )
            for line in counting
            if line.counted != line.expected
        ]
        for correction in corrections:
            # PostgreSQL enforces the check constraints: one query a row saved for nothing.
            correction.full_clean(
                exclude=["village", "item", "requested_by"], validate_constraints=False
            )
        StockCorrection.objects.bulk_create(corrections)
        # The replaced counts' shortfalls are on offer again; the new ones are set aside.
        _set_aside(
            moves=[(items[earlier.item_id], -earlier.set_aside) for earlier in waiting]
            + [(items[c.item_id], c.set_aside) for c in corrections],
            now=now,
        )
        # The sheet's figures left the waiting write-offs' goods out: this count found the
        # shelf without them, which a refusal of one must not forget.
        StockCorrection.objects.filter(
            item_id__in=[line.item_id for line in counting],
            status=StockCorrection.Status.PENDING,
            source=StockCorrection.Source.WRITE_OFF,
        ).update(counted_without_at=now, counted_without_by=actor)
        audit_record(
            action="stock.count",
            actor=actor,
            village_id=village.pk,
            detail={
                "items": len(counting),
                "differences": {str(c.item_id): c.quantity for c in corrections},
                "corrections": [c.pk for c in corrections],
                "replaced": [earlier.pk for earlier in waiting],
                "left": [earlier.pk for earlier in kept],
            },
            request=request,
        )
        _corrections_refer_if_undecidable(corrections, actor, request)
    return CountResult(
        corrections=corrections, replaced=len(waiting), counted=len(counting), left=len(kept)
    )


class AlreadyWaiting(ValidationError):
    """Goods of the item already wait to be written off, which the asker did not say this
    request is besides: perhaps the same loss asked twice (two tabs, two people)."""


def stock_write_off_request(
    *,
    item: Item,
    quantity: int,
    cause: str,
    reason: str,
    actor: User,
    besides: Collection[int] | None = None,
    request=None,
) -> StockCorrection:
    """Ask to take spoiled, damaged or lost goods off the books: the supervisor confirms.
    Until they decide, the goods are set aside: neither sold nor reserved. Goods a
    reservation holds are not written off while it holds them (cancel it first).

    `besides`: the ids of the item's corrections waiting to take goods out
    (`shortfalls_waiting`) that the asker saw and says this is another loss than; any other
    one waiting refuses it (AlreadyWaiting), checked under the item's lock, so two tabs
    asking the same at once make one. None (a loader, a script): not checked."""
    _manager_check(actor, item.village_id)
    if quantity <= 0:
        raise ValidationError(_("The quantity must be at least 1."))
    reason = reason_clean(
        reason,
        StockCorrection._meta.get_field("reason"),
        missing=_("Give the reason for the write-off."),
    )
    if cause not in StockMovement.Cause.values:
        raise ValidationError(_("Choose one of the causes offered."))
    with transaction.atomic():
        locked = _items_lock(village_id=item.village_id, item_ids=[item.pk])[item.pk]
        if quantity > locked.available:
            words = {"left": max(locked.available, 0), "item": locked.name, "held": locked.held}
            raise InsufficientStock(
                _(
                    "Only %(left)d of %(item)s are in stock and not already waiting to be "
                    "written off."
                )
                % words
                if not locked.held
                else _(
                    "Only %(left)d of %(item)s are in stock and neither held for reservations "
                    "nor already waiting to be written off. To write off goods a reservation "
                    "holds (%(held)d now), cancel it first."
                )
                % words,
                code="insufficient_stock",
            )
        # After the stock's refusal, which ticking the box would not lift.
        if besides is not None and (
            shortfalls_waiting(locked).exclude(pk__in=list(besides)).exists()
        ):
            raise AlreadyWaiting(
                _(
                    "Goods of %(item)s are already waiting to be written off (listed above). "
                    "If they are this loss, there is nothing more to do. If this is another "
                    "loss, tick “This is another loss” and save again."
                )
                % {"item": locked.name},
                code="already_waiting",
            )
        correction = StockCorrection(
            village_id=locked.village_id,
            item=locked,
            source=StockCorrection.Source.WRITE_OFF,
            kind=StockMovement.Kind.WRITE_OFF,
            quantity=-quantity,
            cause=cause,
            reason=reason,
            requested_by=actor,
            set_aside=quantity,
        )
        correction.full_clean(exclude=["village", "item", "requested_by"])
        correction.save()
        _set_aside(moves=[(locked, quantity)])
        audit_record(
            action="stock.write_off_request",
            actor=actor,
            village_id=locked.village_id,
            obj=correction,
            detail={"item": locked.pk, "quantity": quantity, "cause": cause},
            request=request,
        )
        _corrections_refer_if_undecidable([correction], actor, request)
    return correction


def _corrections_refer_if_undecidable(corrections, actor: User, request) -> None:
    """Send up to the county at once what no supervisor of the village may confirm (the
    one who asked is the only one), so nothing waits in a queue nobody may clear."""
    if not corrections:
        return
    village_id = corrections[0].village_id
    supervisors = role_holders(village_id=village_id, role=Role.SUPERVISOR)
    for correction in corrections:
        if others_who_may(
            village_id=village_id,
            role=Role.SUPERVISOR,
            household_id=None,
            originators=[correction.requested_by_id],
            candidates=supervisors,
        ):
            continue
        with records_language():  # the referral's why, read by the county
            why = _("No supervisor of the village may confirm this correction of %(item)s.") % {
                "item": correction.item.name
            }
        referral_open(
            error=SecondPersonRequired(
                why,
                kind=Referral.Kind.STOCK,
                object_id=correction.pk,
                village_id=village_id,
                household_id=None,
                referable=True,
            ),
            actor=actor,
            request=request,
        )


Referrals = Mapping[int, Referral] | None


def _correction_check(correction: StockCorrection, actor: User, referral) -> None:
    """The village's supervisor decides, never what they asked for themselves (rule 8)."""
    decider_check(
        actor,
        role=Role.SUPERVISOR,
        kind=Referral.Kind.STOCK,
        object_id=correction.pk,
        village_id=correction.village_id,
        household_id=None,
        household_name=lambda: correction.item.name,
        originators=[correction.requested_by_id],
        referral=referral,
        role_refusal=_("Only the village's supervisor may confirm or refuse stock corrections."),
        role_error=ValidationError,
    )


def _lock_corrections(correction_ids, actor: User, referrals: Referrals):
    """Lock the corrections' items (ascending id, as everywhere), then the corrections, and
    check each waits and may be decided by `actor`. Returns (corrections, {item id: item})."""
    ids = sorted(set(correction_ids))
    if not ids:
        raise ValidationError(_("Choose at least one correction."))
    village_ids = {referral.village_id for referral in (referrals or {}).values()}
    village_id = village_ids.pop() if len(village_ids) == 1 else actor.village_id
    found = list(StockCorrection.objects.filter(pk__in=ids, village_id=village_id))
    if len(found) != len(ids):
        raise ValidationError(_("Some of the chosen corrections were not found."))
    items = _items_lock(village_id=village_id, item_ids=[c.item_id for c in found])
    corrections = list(
        StockCorrection.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk")
    )
    for correction in corrections:
        correction.item = items[correction.item_id]

    def check(correction: StockCorrection) -> None:
        if correction.status != StockCorrection.Status.PENDING:
            raise ValidationError(
                _("%(item)s: this correction was already decided (%(status)s).")
                % {"item": correction.item.name, "status": correction.get_status_display()}
            )
        _correction_check(correction, actor, (referrals or {}).get(correction.pk))

    batch_check(corrections, check)
    return corrections, items


def stock_corrections_confirm(
    *, correction_ids, actor: User, referrals: Referrals = None, request=None
) -> list[StockCorrection]:
    """Confirm waiting corrections as one: each writes its movement (the difference as
    counted, or the write-off), or none does; the goods it set aside leave with it.
    Refused if a stock would go below zero (only a correction asked before goods were set
    aside can still find fewer on the shelf than it takes)."""
    with transaction.atomic():
        corrections, items = _lock_corrections(correction_ids, actor, referrals)
        stock = {item_id: item.stock for item_id, item in items.items()}
        short = []
        for correction in corrections:
            stock[correction.item_id] += correction.quantity
            if stock[correction.item_id] < 0:
                short.append(
                    _(
                        "%(item)s: the correction takes %(quantity)d, but only %(left)d are in "
                        "stock now. Refuse it and count again."
                    )
                    % {
                        "item": correction.item.name,
                        "quantity": -correction.quantity,
                        "left": stock[correction.item_id] - correction.quantity,
                    }
                )
        if short:
            raise InsufficientStock(short, code="insufficient_stock")
        now = timezone.now()
        for correction in corrections:
            item = items[correction.item_id]
            # Set aside, then gone: the statements apart, as both write the item's row.
            _set_aside(moves=[(item, -correction.set_aside)], now=now)
            correction.movement = _movement_append(
                item=item,
                kind=correction.kind,
                quantity=correction.quantity,
                actor=actor,
                at=now,
                cause=correction.cause,
                reason=correction.reason,
                released={item.pk: correction.set_aside},
            )
            correction.status = StockCorrection.Status.CONFIRMED
            correction.decided_by = actor
            correction.decided_at = now
            correction.save(update_fields=["status", "decided_by", "decided_at", "movement"])
            counted = correction.kind == StockMovement.Kind.ADJUSTMENT
            detail = {
                "item": correction.item_id,
                "quantity": correction.quantity,
                "correction": correction.pk,
                "asked_by": correction.requested_by_id,
            }
            audit_record(
                action="stock.take" if counted else "stock.write_off",
                actor=actor,
                village_id=correction.village_id,
                obj=correction.movement,
                # A write-off's sentence says why the goods went (damaged, expired, lost).
                detail=detail if counted else detail | {"cause": correction.cause},
                request=request,
            )
        referrals_close(
            kind=Referral.Kind.STOCK,
            object_ids=[c.pk for c in corrections],
            actor=actor,
            outcome=gettext_lazy("confirmed"),
        )
    return corrections


def stock_corrections_refuse(
    *, correction_ids, actor: User, reason: str, referrals: Referrals = None, request=None
) -> list[StockCorrection]:
    """Refuse waiting corrections with a reason: the books stay as they are, and the goods
    they set aside are on offer again.

    A write-off refused after a stock-take counted its item without its goods (the sheet's
    figure left them out) would leave the books above the shelf, unseen: its quantity then
    waits for confirmation as that count's difference, asked by whoever counted
    (`counted_shortfalls`)."""
    reason = reason_clean(
        reason,
        StockCorrection._meta.get_field("refusal_reason"),
        missing=_("Give the reason for refusing."),
    )
    with transaction.atomic():
        corrections, items = _lock_corrections(correction_ids, actor, referrals)
        now = timezone.now()
        _set_aside(moves=[(items[c.item_id], -c.set_aside) for c in corrections], now=now)
        for correction in corrections:
            correction.status = StockCorrection.Status.REFUSED
            correction.refusal_reason = reason
            correction.decided_by = actor
            correction.decided_at = now
            correction.save(update_fields=["status", "refusal_reason", "decided_by", "decided_at"])
            audit_record(
                action="stock.correction_refuse",
                actor=actor,
                village_id=correction.village_id,
                obj=correction,
                detail={"reason": reason},
                request=request,
            )
        with records_language():
            outcome = _("refused: %(reason)s") % {"reason": reason}
        referrals_close(
            kind=Referral.Kind.STOCK,
            object_ids=[c.pk for c in corrections],
            actor=actor,
            outcome=outcome,
        )
        counted_shortfalls(corrections, actor=actor, now=now, request=request)
    return corrections


def counted_shortfalls(refused, *, actor: User, now, request=None) -> list[StockCorrection]:
    """For each refused write-off a stock-take counted without, the count's difference it
    leaves (books above the shelf by its quantity), waiting for a second person.

    An item has one count waiting at most (as `stock_count_record` keeps it): the write-offs
    of one item refused together, and the count already waiting for it (a difference found,
    or the shortfall of an earlier refusal), become one count of the whole difference, which
    replaces the one waiting. Replacing it by the shortfall alone would lose what it found.
    The refused write-offs' goods were put back on offer (`stock_corrections_refuse`): the
    shortfall sets aside what it finds missing, as a count does, never more than the shelf
    has room for (the write-offs it comes from set at least as much aside, but for one asked
    before goods were set aside)."""
    relied_on = [
        correction
        for correction in refused
        if correction.source == StockCorrection.Source.WRITE_OFF
        and correction.counted_without_at is not None
    ]
    if not relied_on:
        return []
    items = {c.item_id: c.item for c in relied_on}
    # The figures as a sheet would show them now (the items are locked): the books less the
    # write-offs still waiting.
    expected = count_expected(items.values())
    waiting = {
        earlier.item_id: earlier
        for earlier in StockCorrection.objects.select_for_update(no_key=True).filter(
            item_id__in=list(items),
            status=StockCorrection.Status.PENDING,
            source=StockCorrection.Source.COUNT,
        )
    }
    # What the counts say the shelf holds: the figure less the difference waiting; each
    # refused write-off takes its goods from it (never below zero).
    shelf = {
        item_id: expected[item_id] + (waiting[item_id].quantity if item_id in waiting else 0)
        for item_id in items
    }
    missing = dict.fromkeys(items, 0)
    reasons = {item_id: [] for item_id in items}
    for correction in relied_on:
        taken = max(0, min(-correction.quantity, shelf[correction.item_id]))
        shelf[correction.item_id] -= taken
        missing[correction.item_id] += taken
        reasons[correction.item_id].append(
            _("Counted on %(date)s without the %(quantity)d of a write-off since refused.")
            % {
                "date": timezone.localtime(correction.counted_without_at).date().isoformat(),
                "quantity": -correction.quantity,
            }
        )
    first_of = {}  # item id -> its first refused write-off: whose count it is, and where
    for correction in relied_on:
        first_of.setdefault(correction.item_id, correction)
    replaced, shortfalls = [], []
    for item_id, correction in first_of.items():
        if not missing[item_id]:
            continue  # nothing found missing: the shelf holds what the books say
        earlier = waiting.get(item_id)
        quantity = (earlier.quantity if earlier else 0) - missing[item_id]
        if earlier is not None:
            replaced.append(earlier)
        if quantity:
            shortfalls.append(
                StockCorrection(
                    village_id=correction.village_id,
                    item=correction.item,
                    source=StockCorrection.Source.COUNT,
                    kind=earlier.kind if earlier else StockMovement.Kind.ADJUSTMENT,
                    cause=earlier.cause if earlier else "",
                    quantity=quantity,
                    counted=max(shelf[item_id], 0),
                    expected=expected[item_id],
                    reason=" ".join(([earlier.reason] if earlier else []) + reasons[item_id])[:200],
                    requested_by_id=(
                        earlier.requested_by_id if earlier else correction.counted_without_by_id
                    ),
                    requested_at=now,
                )
            )
    if replaced:
        with records_language():  # kept as the corrections' reason too
            outcome = _("joined with the shortfall of a refused write-off")
        for earlier in replaced:
            earlier.status = StockCorrection.Status.REPLACED
            earlier.decided_by = actor
            earlier.decided_at = now
            earlier.refusal_reason = outcome
            earlier.save(update_fields=["status", "decided_by", "decided_at", "refusal_reason"])
        referrals_close(
            kind=Referral.Kind.STOCK,
            object_ids=[earlier.pk for earlier in replaced],
            actor=actor,
            outcome=outcome,
        )
    released = {earlier.item_id: earlier.set_aside for earlier in replaced}
    for shortfall in shortfalls:
        item = items[shortfall.item_id]
        room = item.stock - item.held - item.writing_off + released.get(item.pk, 0)
        shortfall.set_aside = max(min(-shortfall.quantity, room), 0)
    StockCorrection.objects.bulk_create(shortfalls)
    _set_aside(
        moves=[(items[item_id], -quantity) for item_id, quantity in released.items()]
        + [(items[shortfall.item_id], shortfall.set_aside) for shortfall in shortfalls],
        now=now,
    )
    made = {shortfall.item_id: shortfall for shortfall in shortfalls}
    replaced_of = {earlier.item_id: earlier for earlier in replaced}
    for item_id in sorted(made.keys() | replaced_of.keys()):
        shortfall, earlier = made.get(item_id), replaced_of.get(item_id)
        audit_record(
            action="stock.count_shortfall",
            actor=actor,
            village_id=(shortfall or earlier).village_id,
            obj=shortfall or earlier,
            detail={
                "item": item_id,
                "quantity": shortfall.quantity if shortfall else 0,
                "replaced": earlier.pk if earlier else None,
            },
            request=request,
        )
    _corrections_refer_if_undecidable(shortfalls, actor, request)
    return shortfalls


def cart_hash(*, village_id: int, household_id: int, lines: Mapping[int, int]) -> str:
    """What a confirmation key is bound to: the village, the household and the exact cart."""
    body = {
        "village": village_id,
        "household": household_id,
        "lines": sorted([int(item_id), int(qty)] for item_id, qty in lines.items()),
    }
    return hashlib.sha256(json.dumps(body, separators=(",", ":")).encode()).hexdigest()


def _replay(*, idempotency_key: uuid.UUID, request_hash: str) -> Redemption | None:
    """The redemption already made with this key, or a refusal if the cart differs."""
    existing = Redemption.objects.filter(idempotency_key=idempotency_key).first()
    if existing is None:
        return None
    if existing.request_hash != request_hash:
        raise IdempotencyKeyReused(
            _("This confirmation was already used for a different cart. Nothing was charged."),
            code="key_reused",
        )
    existing.was_replay = True
    return existing


def redemption_create(
    *,
    village: Village,
    household: Household,
    lines: Mapping[int, int],
    idempotency_key: uuid.UUID,
    actor: User,
    collected_by: Member | None = None,
    shown_prices: Mapping[int, int] | None = None,
    at: datetime.datetime | None = None,
    request=None,
) -> Redemption:
    """Debit points (one REDEMPTION entry) and stock (one movement per line) at once.

    `shown_prices` (item id -> points) are the prices the counter page showed the teller:
    if one has changed since, nothing is charged (`prices_as_shown`).

    `collected_by` is the member of the household who takes the goods (兑换人), shown on
    the receipt and in the household's history.

    `at` backdates the redemption, its entry and its stock movements, for loaders replaying
    history only (the demo); the counter never passes it.

    Idempotent on `idempotency_key`: the same key with the same cart returns the first
    redemption (its `was_replay` is True) and charges nothing again.

    The village's manager redeems (the counter); who may is checked here, whatever the caller.
    """
    if not (is_manager(actor) and actor.village_id == village.pk):
        raise PermissionDenied(_("Only the village's manager redeems at its counter."))
    lines = {int(item_id): int(qty) for item_id, qty in lines.items() if int(qty) != 0}
    if not lines:
        raise ValidationError(_("The cart is empty."), code="empty_cart")
    if len(lines) > MAX_CART_LINES:
        raise ValidationError(_("Too many different items in one redemption."))
    if any(not 0 < qty <= MAX_LINE_QUANTITY for qty in lines.values()):
        raise ValidationError(_("Each quantity must be between 1 and 999."))
    if household.village_id != village.pk:
        raise ValidationError(_("The household belongs to another village."))
    if collected_by is not None and (
        collected_by.household_id != household.pk or collected_by.left_on is not None
    ):
        raise ValidationError(_("The person collecting is not a member of this household."))
    request_hash = cart_hash(village_id=village.pk, household_id=household.pk, lines=lines)
    try:
        return _redemption_create_locked(
            village=village,
            household=household,
            lines=lines,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            actor=actor,
            collected_by=collected_by,
            at=at,
            request=request,
            shown_prices=shown_prices,
        )
    except IntegrityError:
        # Another teller's transaction used the same key for another household at the same
        # moment; ours rolled back whole. Answer as if we had come second.
        existing = _replay(idempotency_key=idempotency_key, request_hash=request_hash)
        if existing is None:
            raise
        return existing


def _lines_on_sale(items: dict[int, Item], lines: dict[int, int], *, reserved=False) -> None:
    """Refuse `lines` ({item id: quantity}) unless each of the locked `items` is on sale and
    has that many available (neither held for reservations nor waiting to be written off):
    a redemption's and a reservation's check alike. `reserved` goods (a reservation handed
    over) were put by while the item was on sale: taken off sale since, they are still
    handed over."""
    inactive = [item.name for item in items.values() if not item.is_active and not reserved]
    if inactive:
        raise ValidationError(
            _("Not on sale any more: %(items)s.") % {"items": list_join(inactive)}
        )
    short = [
        _("%(item)s: %(stock)d left, %(needed)d wanted")
        % {"item": item.name, "stock": item.available, "needed": lines[item_id]}
        for item_id, item in items.items()
        if item.available < lines[item_id]
    ]
    if short:
        raise InsufficientStock(
            _("Not enough in stock. %(lines)s.") % {"lines": clauses_join(short)},
            code="insufficient_stock",
        )


def prices_as_shown(items: Mapping[int, Item], shown: Mapping[int, int] | None) -> None:
    """Refuse unless each locked item still costs what the page showed (`shown`, item id ->
    points; None: nothing was shown, as for a loader). A price changed after the counter's
    cart or the reserve page was drawn would otherwise be charged, or held, unseen."""
    if shown is None:
        return
    if set(shown) != set(items):
        raise ValidationError(_("The form is out of date; confirm again."), code="prices_unknown")
    changed = [
        _("%(item)s now costs %(now)d points, not %(shown)d")
        % {"item": item.name, "now": item.points_price, "shown": shown[item_id]}
        for item_id, item in sorted(items.items())
        if shown[item_id] != item.points_price
    ]
    if changed:
        raise ValidationError(
            _(
                "A price changed after the page was shown: %(lines)s. Nothing was done; "
                "check and confirm again."
            )
            % {"lines": clauses_join(changed)},
            code="price_changed",
        )


def _redemption_create_locked(
    *,
    village,
    household,
    lines,
    idempotency_key,
    request_hash,
    actor,
    collected_by,
    at,
    request,
    prices=None,
    shown_prices=None,
) -> Redemption:
    """Lock order as everywhere: the account, then the items by id (store.sql). A repeated
    confirmation (a double click, a resent form) queues on the account lock, so by the time
    it holds the lock the first has committed and its redemption is found. Then everything
    is written in one statement: the entry and balance, the redemption and its lines, the
    stock movements and stock, the audit event."""
    with transaction.atomic(), connection.cursor() as cursor:
        sql.execute(cursor, store_sql.LOCK_ACCOUNT, {"household": household.pk})
        row = cursor.fetchone()
        if row is None:
            raise ValidationError(_("This household has no points account."))
        account = sql.instance(Account, row)
        has_card = row[sql.width(Account)]
        sql.execute(
            cursor,
            store_sql.REDEMPTION_ITEMS,
            {"key": idempotency_key, "village": village.pk, "items": sorted(lines)},
        )
        rows = cursor.fetchall()
        if rows[0][0] is not None:
            return _replay(idempotency_key=idempotency_key, request_hash=request_hash)
        if not has_card:
            raise ValidationError(_("This household has no active points card."))
        items = {
            item.pk: item
            for item in (sql.instance(Item, row, 4) for row in rows)
            if item is not None
        }
        redemption_id, entry_id = rows[0][1], rows[0][2]
        movement_ids = [row[3] for row in rows]
        if len(items) != len(lines):
            raise ValidationError(_("An item is not in this village's store."), code="unknown_item")
        # A reservation handed over (`prices`, those it was reserved at) takes goods set aside.
        handed_over = prices is not None
        _lines_on_sale(items, lines, reserved=handed_over)
        prices_as_shown(items, shown_prices)
        # A reservation handed over is charged at the prices it was reserved at.
        prices = prices or {item_id: item.points_price for item_id, item in items.items()}
        total = sum(prices[item_id] * qty for item_id, qty in lines.items())
        replayed = at is not None  # a loader replaying history: nobody is told now
        at = at or timezone.now()
        with records_language():
            redemption_memo = _("Store redemption")
        (entry,), statements = entries_plan(
            postings=[
                Posting(
                    account=account,
                    kind=Entry.Kind.REDEMPTION,
                    points=-total,
                    memo=redemption_memo,
                )
            ],
            actor=actor,
            ids=[entry_id],
            at=at,
        )
        redemption = Redemption(
            id=redemption_id,
            village=village,
            household=household,
            entry=entry,
            total_points=total,
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            created_by=actor,
            created_at=at,
            collected_by=collected_by,
        )
        ordered = [items[item_id] for item_id in sorted(items)]
        redemption_lines = [
            RedemptionLine(
                redemption=redemption,
                item=item,
                zone_id=item.zone_id,
                quantity=lines[item.pk],
                points_each=prices[item.pk],
                points=prices[item.pk] * lines[item.pk],
            )
            for item in ordered
        ]
        _movements, moved, alerts = movements_plan(
            moves=[(item, -lines[item.pk]) for item in ordered],
            kind=StockMovement.Kind.REDEMPTION,
            actor=actor,
            ids=movement_ids,
            at=at,
            history=replayed,
            released=lines if handed_over else None,
            redemption=redemption,
        )
        statements += [
            sql.insert(Redemption, [redemption]),
            sql.insert(RedemptionLine, redemption_lines),
            *moved,
            audit_plan(
                action="redemption.create",
                actor=actor,
                village_id=village.pk,
                objs=[redemption],
                details=[
                    {"household": household.pk, "points": total, "entry": entry.pk}
                    | ({"collected_by": collected_by.pk} if collected_by else {})
                ],
                request=request,
            ),
        ]
        told = [
            message(
                village_id=village.pk,
                household_id=household.pk,
                kind=Notification.Kind.REDEMPTION,
                receipt=Redemption.number_of(redemption_id),
                items=sum(lines.values()),
                points=total,
                balance=entry.balance_after,
            ),
        ]
        statements += notifications_plan(told, now=at, history=replayed)
        counts = sql.run_together(statements)
        alerted = [len(alerts)] if alerts else []
        expected = [1, 1, 1, len(ordered), len(ordered), len(ordered), *alerted, 1, len(told)]
        if counts != expected:
            # Cannot happen while the rows are locked; never commit a half-written redemption.
            raise RuntimeError(f"redemption wrote {counts} rows, expected {expected}")
    redemption.was_replay = False
    return redemption


def redemption_void(
    *,
    redemption: Redemption,
    actor: User,
    reason: str,
    referral: Referral | None = None,
    at: datetime.datetime | None = None,
    request=None,
) -> Redemption:
    """The supervisor cancels a redemption once: points back by a reversal, goods back in.

    The only way a redemption is undone (its entry cannot be reversed on the ledger page), so
    the ledger and the store never disagree. Never for the supervisor's own household nor a
    redemption they served (DESIGN.md rule 8). `at` backdates the void, for loaders replaying
    history only (see `redemption_create`).
    """
    decider_check(
        actor,
        role=Role.SUPERVISOR,
        kind=Referral.Kind.VOID,
        object_id=redemption.pk,
        village_id=redemption.village_id,
        household_id=redemption.household_id,
        household_name=lambda: redemption.household.head_name,
        originators=[redemption.created_by_id],
        referral=referral,
        role_refusal=_("Only the village's supervisor may void a redemption."),
    )
    reason = reason_clean(
        reason, Redemption._meta.get_field("void_reason"), missing=_("Give the reason for voiding.")
    )
    with transaction.atomic():
        Account.objects.select_for_update(no_key=True).get(pk=redemption.entry.account_id)
        locked = Redemption.objects.select_for_update(no_key=True).get(pk=redemption.pk)
        if locked.is_voided:
            raise ValidationError(_("This redemption has already been voided."), code="voided")
        lines = list(locked.lines.all())
        items = _items_lock(village_id=locked.village_id, item_ids=[line.item_id for line in lines])
        reversal = reversal_post(entry=locked.entry, actor=actor, memo=reason, at=at)
        _movements_append(
            moves=[
                (items[line.item_id], line.quantity)
                for line in sorted(lines, key=lambda line: line.item_id)
            ],
            kind=StockMovement.Kind.VOID,
            actor=actor,
            redemption=locked,
            reason=reason,
            at=reversal.created_at,
        )
        locked.voided_at = reversal.created_at
        locked.voided_by = actor
        locked.void_reason = reason
        locked.void_entry = reversal
        locked.full_clean()
        locked.save(update_fields=["voided_at", "voided_by", "void_reason", "void_entry"])
        notifications_post(
            [
                message(
                    village_id=locked.village_id,
                    household_id=locked.household_id,
                    kind=Notification.Kind.VOIDED,
                    receipt=locked.number,
                    points=reversal.points,
                    balance=reversal.balance_after,
                )
            ],
            now=at,
            history=at is not None,
        )
        audit_record(
            action="redemption.void",
            actor=actor,
            village_id=locked.village_id,
            obj=locked,
            detail={"reason": reason, "reversal": reversal.pk},
            request=request,
        )
        referrals_close(
            kind=Referral.Kind.VOID, object_ids=[locked.pk], actor=actor, outcome=reason
        )
        void_asks(village_id=locked.village_id, redemption_id=locked.pk).update(
            read_at=reversal.created_at
        )  # done: off the dashboard
    return locked


def void_ask_of(redemption: Redemption) -> Notification | None:
    """The manager's unread ask to void `redemption`, if any (the receipt shows it)."""
    asks = void_asks(village_id=redemption.village_id, redemption_id=redemption.pk)
    return asks.order_by("-id").first()


def redemption_void_ask(
    *, redemption: Redemption, actor: User, reason: str, request=None
) -> Notification:
    """The manager asks the supervisor to void a redemption: a message to the village's staff
    with the receipt and the reason, on the dashboard until the void or until the supervisor
    marks it seen. The manager may not void it (DESIGN.md rule 8); the ask changes nothing in
    the books."""
    if not (is_manager(actor) and actor.village_id == redemption.village_id):
        raise PermissionDenied(_("Only the village's manager asks for a void."))
    # Asked in the words the void will keep.
    reason = reason_clean(
        reason, Redemption._meta.get_field("void_reason"), missing=_("Give the reason for voiding.")
    )
    with transaction.atomic():
        # The redemption's lock orders two asks (two tabs) and an ask against the void.
        locked = Redemption.objects.select_for_update(no_key=True).get(pk=redemption.pk)
        if locked.is_voided:
            raise ValidationError(_("This redemption has already been voided."), code="voided")
        if void_asks(village_id=locked.village_id, redemption_id=locked.pk).exists():
            raise ValidationError(
                _("The supervisor has already been asked to void this redemption."),
                code="asked",
            )
        ask = message(
            village_id=locked.village_id,
            household_id=None,
            kind=Notification.Kind.VOID_ASKED,
            receipt=locked.number,
            redemption=locked.pk,
            reason=reason,
        )
        notifications_post([ask])
        audit_record(
            action="redemption.void_ask",
            actor=actor,
            village_id=locked.village_id,
            obj=locked,
            detail={"reason": reason},
            request=request,
        )
    return ask


# --- reservations -----------------------------------------------------------------------
# A household reserves from its phone; the points and goods are held (Account.held,
# Item.held) under the same locks, in the same order, as a redemption takes them: the
# account, then the reservation, then the items by id. The database refuses a hold above
# the balance or the stock (account_held_within_balance, item_held_within_stock), and every
# debit and stock-out checks what is left after the holds (points.ledger.balance_after,
# movements_plan), so held points and goods cannot be spent twice.


def _holds_plan(*, moves: list[tuple[Item, int]], now=None) -> list[Statement]:
    """Hold (or release, when negative) quantities of locked items for reservations: the one
    place Item.held moves. Refused (InsufficientStock) above what is on the shelf and not
    waiting to be written off. A hold takes units from what is available, so it tells the
    staff of an item it takes low."""
    for item, quantity in moves:
        held = item.held + quantity
        if held < 0:
            raise ValueError(f"item {item.pk}: releasing {-quantity} of {item.held} held")
        if held + item.writing_off > item.stock:
            raise InsufficientStock(
                _("Not enough %(item)s in stock: %(stock)d left, %(needed)d wanted.")
                % {"item": item.name, "stock": item.available, "needed": quantity},
                code="insufficient_stock",
            )
        item.held = held
    alerts = _low_stock_messages([(item, -quantity) for item, quantity in moves])
    return [
        sql.update_rows(Item, [item for item, _quantity in moves], ["held"]),
        *notifications_plan(alerts, now=now),
    ]


def _account_lock(household: Household) -> tuple[Account, bool]:
    """The household's account, locked (the first lock, as at the counter); has it a card?"""
    with connection.cursor() as cursor:
        sql.execute(cursor, store_sql.LOCK_ACCOUNT, {"household": household.pk})
        row = cursor.fetchone()
    if row is None:
        raise ValidationError(_("This household has no points account."))
    return sql.instance(Account, row), row[sql.width(Account)]


def _reservation_lock(reservation: Reservation) -> Reservation:
    return Reservation.objects.select_for_update(no_key=True).get(pk=reservation.pk)


def _holds_release(*, reservation: Reservation, account: Account) -> None:
    """Give back what an open `reservation` holds: its points, then its goods (items by id)."""
    lines = sorted(reservation.lines.all(), key=lambda line: line.item_id)
    items = _items_lock(
        village_id=reservation.village_id, item_ids=[line.item_id for line in lines]
    )
    sql.run_together(
        [
            hold_plan(account=account, points=-reservation.total_points),
            *_holds_plan(moves=[(items[line.item_id], -line.quantity) for line in lines]),
        ]
    )


def reservation_create(
    *,
    household: Household,
    lines: Mapping[int, int],
    actor: User,
    shown_prices: Mapping[int, int] | None = None,
    request=None,
) -> Reservation:
    """The household reserves goods (item id -> quantity): their points and stock are held
    until it is handed over, cancelled, or expires after the village's reservation days.
    `shown_prices` are the prices its page showed (`prices_as_shown`).

    The household's own act (its villager login), checked here whatever the caller; the
    hand-over at the counter is the manager's. Once-only through the page's one-time key
    (core.idempotency.run_once).
    """
    if actor.household_id != household.pk:
        raise PermissionDenied(_("Only the household itself reserves its goods."))
    lines = {int(item_id): int(qty) for item_id, qty in lines.items() if int(qty) != 0}
    if not lines:
        raise ValidationError(_("Choose at least one item to reserve."), code="empty_cart")
    if len(lines) > MAX_CART_LINES:
        raise ValidationError(_("Too many different items in one reservation."))
    if any(not 0 < qty <= MAX_LINE_QUANTITY for qty in lines.values()):
        raise ValidationError(_("Each quantity must be between 1 and 999."))
    village = household.village
    with transaction.atomic():
        account, has_card = _account_lock(household)
        if not has_card:
            raise ValidationError(_("This household has no active points card."))
        items = _items_lock(village_id=village.pk, item_ids=lines)
        _lines_on_sale(items, lines)
        prices_as_shown(items, shown_prices)
        total = sum(item.points_price * lines[item_id] for item_id, item in items.items())
        now = timezone.now()
        reservation = Reservation(
            village=village,
            household=household,
            total_points=total,
            created_at=now,
            created_by=actor,
            expires_at=now + datetime.timedelta(days=village.reservation_days),
        )
        statements = [hold_plan(account=account, points=total)]
        reservation.save()
        ReservationLine.objects.bulk_create(
            ReservationLine(
                reservation=reservation,
                item=item,
                quantity=lines[item_id],
                points_each=item.points_price,
                points=item.points_price * lines[item_id],
            )
            for item_id, item in sorted(items.items())
        )
        statements += _holds_plan(
            moves=[(item, lines[item_id]) for item_id, item in sorted(items.items())], now=now
        )
        statements += notifications_plan(
            [
                message(
                    village_id=village.pk,
                    household_id=household.pk,
                    kind=Notification.Kind.RESERVATION_READY,
                    reservation=reservation.number,
                    items=sum(lines.values()),
                    points=total,
                    until=reservation.expires_at.isoformat(),
                )
            ],
            now=now,
        )
        sql.run_together(statements)
        audit_record(
            action="reservation.create",
            actor=actor,
            village_id=village.pk,
            obj=reservation,
            detail={"household": household.pk, "points": total, "lines": lines},
            request=request,
        )
    return reservation


def reservation_cancel(*, reservation: Reservation, actor: User, request=None) -> Reservation:
    """The household, or the village's manager, cancels an open reservation: the held points
    and goods are free again. Who may is checked here, whatever the caller."""
    own = actor.household_id is not None and actor.household_id == reservation.household_id
    manager = is_manager(actor) and actor.village_id == reservation.village_id
    if not (own or manager):
        raise PermissionDenied(_("Only the household or the village's manager may cancel it."))
    return _reservation_close(
        reservation=reservation,
        status=Reservation.Status.CANCELLED,
        actor=actor,
        request=request,
    )


def _reservation_texts_outdate(reservation: Reservation) -> None:
    """Its texts not sent yet ("held for you until", "kept only until") would send the
    household to collect what is no longer held: they are not sent."""
    notifications_outdate(
        village_id=reservation.village_id,
        kinds=[Notification.Kind.RESERVATION_READY, Notification.Kind.RESERVATION_EXPIRING],
        reservation=reservation.number,
    )


def _reservation_close(
    *, reservation, status, actor, request=None, now=None, no_card=False
) -> Reservation:
    """`no_card`: closed because the household's card was recalled, which is read again
    under the account's lock (a card issued again keeps it open); the household is not told
    its points can be spent again, having no card to spend them with."""
    with transaction.atomic():
        account, has_card = _account_lock(reservation.household)
        if no_card and has_card:
            raise ValidationError(_("This household has a points card again."), code="card")
        locked = _reservation_lock(reservation)
        if not locked.is_open:
            raise ValidationError(
                _("This reservation is already %(status)s.")
                % {"status": locked.get_status_display()},
                code="closed",
            )
        _holds_release(reservation=locked, account=account)
        locked.status = status
        locked.closed_at = now or timezone.now()
        locked.closed_by = actor
        locked.full_clean()
        locked.save(update_fields=["status", "closed_at", "closed_by"])
        _reservation_texts_outdate(locked)
        audit_record(
            action=f"reservation.{status}",
            actor=actor,
            village_id=locked.village_id,
            obj=locked,
            detail={"household": locked.household_id, "points": locked.total_points},
            request=request,
        )
        if not no_card and (actor is None or actor.household_id != locked.household_id):
            # Closed by the store or the clock: the household was told to come and collect.
            notifications_post(
                [
                    message(
                        village_id=locked.village_id,
                        household_id=locked.household_id,
                        kind=Notification.Kind.RESERVATION_CLOSED,
                        reservation=locked.number,
                        points=locked.total_points,
                        expired=status == Reservation.Status.EXPIRED,
                    )
                ],
                now=now,
            )
    return locked


def reservation_hand_over(
    *,
    reservation: Reservation,
    idempotency_key: uuid.UUID,
    actor: User,
    collected_by: Member | None = None,
    request=None,
) -> Redemption:
    """At the counter: the held goods are handed over, turning the reservation into one
    redemption at the prices it was reserved at (the store's redemption path, one ledger
    entry). The holds are released and spent in one transaction, so nothing else can take
    them in between. Once only: the same key again returns the redemption (`was_replay`);
    a second hand-over with another key is refused. `collected_by`: as at the counter
    (redemption_create), a member of the household or None for the head."""
    if not is_manager(actor) or actor.village_id != reservation.village_id:
        raise PermissionDenied(_("Only the village's manager hands over reserved goods."))
    if collected_by is not None and (
        collected_by.household_id != reservation.household_id or collected_by.left_on is not None
    ):
        raise ValidationError(_("The person collecting is not a member of this household."))
    household = reservation.household
    with transaction.atomic():
        account, has_card = _account_lock(household)
        locked = _reservation_lock(reservation)
        if locked.status == Reservation.Status.FULFILLED:
            redemption = locked.redemption
            if redemption.idempotency_key == idempotency_key:
                redemption.was_replay = True
                return redemption
        if not locked.is_open:
            raise ValidationError(
                _("This reservation is already %(status)s.")
                % {"status": locked.get_status_display()},
                code="closed",
            )
        if locked.expires_at <= timezone.now():
            raise ValidationError(
                _("This reservation has expired; its goods go back on the shelf."),
                code="expired",
            )
        if not has_card:
            raise ValidationError(_("This household has no active points card."))
        lines = list(locked.lines.all())
        _holds_release(reservation=locked, account=account)
        quantities = {line.item_id: line.quantity for line in lines}
        redemption = _redemption_create_locked(
            village=locked.village,
            household=household,
            lines=quantities,
            idempotency_key=idempotency_key,
            request_hash=cart_hash(
                village_id=locked.village_id, household_id=household.pk, lines=quantities
            ),
            actor=actor,
            collected_by=collected_by,
            at=None,
            request=request,
            prices={line.item_id: line.points_each for line in lines},
        )
        if redemption.was_replay:
            # The key was already spent on a counter cart of the same goods: not this one.
            raise IdempotencyKeyReused(
                _("This confirmation was already used. Please reload the page."),
                code="key_reused",
            )
        locked.status = Reservation.Status.FULFILLED
        locked.redemption = redemption
        locked.closed_at = redemption.created_at
        locked.closed_by = actor
        locked.save(update_fields=["status", "redemption", "closed_at", "closed_by"])
        _reservation_texts_outdate(locked)
        audit_record(
            action="reservation.fulfilled",
            actor=actor,
            village_id=locked.village_id,
            obj=locked,
            detail={"redemption": redemption.pk, "points": redemption.total_points},
            request=request,
        )
    return redemption


def reservations_expire(*, now: datetime.datetime | None = None) -> list[int]:
    """Close every open reservation past its date and free what it held (the periodic task
    store.expire_reservations). Each is locked and re-checked, so two runs at once, or a
    hand-over at the same moment, close it once. Returns the ids it expired."""
    now = now or timezone.now()
    due = Reservation.objects.filter(status=Reservation.Status.OPEN, expires_at__lte=now)
    expired = []
    for reservation in due.select_related("household").order_by("pk"):
        try:
            _reservation_close(
                reservation=reservation, status=Reservation.Status.EXPIRED, actor=None, now=now
            )
        except ValidationError:
            continue  # handed over or cancelled meanwhile
        expired.append(reservation.pk)
    return expired


def reservations_without_card_cancel(*, now: datetime.datetime | None = None) -> list[int]:
    """Cancel every open reservation of a household whose card was recalled (the periodic
    task store.expire_reservations): its goods cannot be handed over without a card, so
    they go back on the shelf now rather than when the reservation would have expired.
    Returns the ids it cancelled."""
    now = now or timezone.now()
    stranded = Reservation.objects.filter(status=Reservation.Status.OPEN).exclude(
        household__cards__status=Card.Status.ACTIVE
    )
    cancelled = []
    for reservation in stranded.select_related("household").order_by("pk"):
        try:
            _reservation_close(
                reservation=reservation,
                status=Reservation.Status.CANCELLED,
                actor=None,
                now=now,
                no_card=True,
            )
        except ValidationError:
            continue  # closed meanwhile, or a card issued again
        cancelled.append(reservation.pk)
    return cancelled


def reservations_remind(*, now: datetime.datetime | None = None) -> list[int]:
    """Tell each household whose open reservation has entered its last day
    (RESERVATION_REMINDER) that it is about to expire (the periodic task
    store.expire_reservations, after expiring). Once per reservation: expiry_reminded_at is
    set in the transaction writing the message, on rows locked here (SKIP LOCKED: a
    reservation being handed over is left to the next run, which sees it closed). A
    reservation kept no longer than a day is not reminded: its first message gave the time.
    Returns the ids reminded."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Reservation.objects.select_for_update(no_key=True, skip_locked=True)
            .filter(
                status=Reservation.Status.OPEN,
                expiry_reminded_at__isnull=True,
                expires_at__gt=now,
                expires_at__lte=now + RESERVATION_REMINDER,
                created_at__lt=F("expires_at") - RESERVATION_REMINDER,
            )
            .order_by("pk")
        )
        if not due:
            return []
        Reservation.objects.filter(pk__in=[r.pk for r in due]).update(expiry_reminded_at=now)
        notifications_post(
            [
                message(
                    village_id=reservation.village_id,
                    household_id=reservation.household_id,
                    kind=Notification.Kind.RESERVATION_EXPIRING,
                    reservation=reservation.number,
                    points=reservation.total_points,
                    until=reservation.expires_at.isoformat(),
                )
                for reservation in due
            ],
            now=now,
        )
    return [reservation.pk for reservation in due]
