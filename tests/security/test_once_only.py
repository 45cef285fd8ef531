"""Ledger rule 10: every POST that moves points or goods (or holds them for a reservation)
has one effect per one-time key.

The URL table (tests/security/url_table.py) says for every POST what it writes. Each URL
that writes ledger entries, stock movements, donations, proposals (which become entries) or
stock corrections (which become movements) gets five identical POSTs at once
(five tabs, five database connections) and must change the books exactly as one POST does;
without its key it must change nothing. Every other POST gets its valid body once and must
write none of them, so a row marked wrongly is caught.
"""

from dataclasses import dataclass

import pytest
from django.contrib.messages import ERROR, get_messages
from django.core.cache import cache
from django.db import transaction
from django.db.models import Sum
from django.forms import BaseForm, BaseFormSet
from django.urls import reverse

from points.models import Account, Entry, Proposal
from store.models import Donation, Item, Reservation, StockCorrection, StockMovement
from store.services import stock_write_off_request
from tests.security.bodies import NOTHING, Body, Writes
from tests.security.concurrent import at_once, tabs_of
from tests.security.conftest import ROLES
from tests.security.url_table import URLS, Row, expect

KEY_FIELDS = ("idempotency_key", "key")  # run_once's, and the counter confirmation's own
MOVING = sorted(name for name, row in URLS.items() if row.post and row.writes)
STILL = sorted(name for name, row in URLS.items() if row.post and row.writes == NOTHING)


@dataclass(frozen=True)
class Books:
    """What the rule protects: entries, movements and donations, and the totals they move;
    what becomes them once decided: proposals and stock corrections, and the goods those set
    aside (Item.writing_off) meanwhile; and what reservations hold."""

    entries: int
    movements: int
    donations: int
    stock: int
    balances: int
    proposals: int
    corrections: int
    reservations: int
    held: int
    writing_off: int

    @classmethod
    def now(cls) -> "Books":
        return cls(
            entries=Entry.objects.count(),
            movements=StockMovement.objects.count(),
            donations=Donation.objects.count(),
            stock=Item.objects.aggregate(total=Sum("stock"))["total"] or 0,
            balances=Account.objects.aggregate(total=Sum("balance"))["total"] or 0,
            proposals=Proposal.objects.count(),
            corrections=StockCorrection.objects.count(),
            reservations=Reservation.objects.count(),
            held=(Account.objects.aggregate(total=Sum("held"))["total"] or 0)
            + (Item.objects.aggregate(total=Sum("held"))["total"] or 0),
            writing_off=Item.objects.aggregate(total=Sum("writing_off"))["total"] or 0,
        )

    def minus(self, before: "Books") -> "Books":
        pairs = zip(vars(self).values(), vars(before).values(), strict=True)
        return Books(*(now - then for now, then in pairs))

    def writes(self) -> Writes:
        """Which kinds of record a change of the books (self - before) added. Goods set aside
        are not a record: they come and go with the corrections, compared in the books whole."""
        found = NOTHING
        for flag, count in (
            (Writes.ENTRIES, self.entries),
            (Writes.MOVEMENTS, self.movements),
            (Writes.DONATIONS, self.donations),
            (Writes.PROPOSALS, self.proposals),
            (Writes.CORRECTIONS, self.corrections),
            (Writes.HOLDS, self.reservations or self.held),
        ):
            if count:
                found |= flag
        return found


def sender(row: Row) -> str:
    """The role that sends the row's body: `by`, else the first the table lets through."""
    if row.by:
        return row.by
    allowed = [role for role, token in expect(row.post).items() if token in ("200", "R")]
    assert allowed, "no role may POST here: give the row a `by`"
    return allowed[0]


def request_for(cast, name: str, row: Row, client) -> tuple[str, dict]:
    """The URL and the valid body of the row's POST (the body may prepare the world first)."""
    made = row.body(cast, client) if row.body else row.data(cast)
    body = made if isinstance(made, Body) else Body(made)
    kwargs = body.kwargs if body.kwargs is not None else row.kwargs(cast)
    return reverse(name, kwargs=kwargs) + row.query, body.data


def _context_values(response) -> list:
    context = response.context
    if context is None:
        return []
    contexts = [context] if hasattr(context, "flatten") else context  # one, or a ContextList
    return [value for each in contexts for value in each.flatten().values()]


def refusal(response) -> str | None:
    """Why the page did not do what was asked (a status, a form's errors, an error message)."""
    if response.status_code not in (200, 302):
        return f"status {response.status_code}"
    for value in _context_values(response):
        if isinstance(value, BaseForm | BaseFormSet) and value.is_bound and not value.is_valid():
            return f"form errors: {value.errors}"
    errors = [str(m) for m in get_messages(response.wsgi_request) if m.level >= ERROR]
    return f"messages: {errors}" if errors else None


def test_every_post_says_what_it_writes():
    """A new POST fails here until someone decides what it writes and how to send it."""
    undecided = [name for name, row in URLS.items() if row.post and row.writes is None]
    assert not undecided, f"say what these POSTs write (Row.writes): {undecided}"
    no_body = [name for name, row in URLS.items() if row.writes and row.body is None]
    assert not no_body, f"give these a valid body (Row.body): {no_body}"
    stray = [name for name, row in URLS.items() if not row.post and row.writes is not None]
    assert not stray, f"these take no POST: {stray}"
    assert {sender(row) for row in URLS.values() if row.post} <= set(ROLES)


def test_the_moving_posts_include_every_stock_and_money_form():
    """The forms of the attack's findings are on the list (and so fired at below)."""
    assert {
        "store:stock_in",
        "store:item_stock_take",
        "store:item_write_off",
        "store:stock_take_sheet",
        "store:corrections_decide",
        "points:round_new",
        "store:donation_create",
        "store:counter_confirm",
        "store:redemption_void",
        "store:reserve",
        "store:reservation_cancel",
        "store:reservation_hand_over",
        "points:card_issue",
        "points:entry_reverse",
        "points:approval_decide",
    } <= set(MOVING)


def test_the_books_count_goods_set_aside(cast):
    """A write-off asked sets its goods aside: a second one for the same request would move
    Item.writing_off again, which the books compared below must see."""
    before = Books.now()
    stock_write_off_request(
        item=cast.item, quantity=2, cause="spoiled", reason="damp", actor=cast.users["manager_x"]
    )
    change = Books.now().minus(before)
    assert (change.corrections, change.writing_off) == (1, 2)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", MOVING)
def test_five_identical_posts_at_once_have_one_effect(cast, name):
    row = URLS[name]
    role = sender(row)
    browser = cast.client(role)
    url, data = request_for(cast, name, row, browser)
    before = Books.now()

    # Without its key (a page drawn before keys, a script) the POST changes nothing.
    cast.client(role).post(url, {k: v for k, v in data.items() if k not in KEY_FIELDS})
    assert Books.now() == before, "a POST without its one-time key changed the books"

    # What one POST does, measured in a transaction rolled back after.
    with transaction.atomic():
        response = browser.post(url, data)
        one = Books.now().minus(before)
        transaction.set_rollback(True)
    assert refusal(response) is None, refusal(response)
    assert one.writes() == row.writes, f"one POST wrote {one.writes()}, the table says {row.writes}"

    # Five tabs of the browser send it at the same moment: the books move as for one.
    at_once(tabs_of(browser, 5), url, data)
    assert Books.now().minus(before) == one


def test_posts_marked_as_writing_nothing_write_nothing(cast):
    """Each in a savepoint rolled back after it, so every POST meets the same cast (one cast
    for all of them: building it for each took half a minute of the suite)."""
    wrong = []
    for name in STILL:
        row = URLS[name]
        cache.clear()  # nothing a rolled-back POST left in the pages' cache is seen again
        with transaction.atomic():
            client = cast.client(sender(row))
            url, data = request_for(cast, name, row, client)
            before = Books.now()
            response = client.post(url, data)
            if refused := refusal(response):
                wrong.append(f"{name}: {refused}")
            elif Books.now() != before:
                wrong.append(f"{name} wrote {Books.now().minus(before)}")
            transaction.set_rollback(True)
    assert len(STILL) > 40  # every POST of the table that writes none of the books
    assert not wrong, "\n".join(wrong)


def test_the_form_pages_that_move_something_draw_a_key(cast):
    """The page's own form carries the key the view requires (a missing one is refused)."""
    keyless = []
    for name in (name for name in MOVING if not URLS[name].action):
        row = URLS[name]
        with transaction.atomic():
            client = cast.client(sender(row))
            url, _data = request_for(cast, name, row, client)
            if 'name="idempotency_key"' not in client.get(url).content.decode():
                keyless.append(name)
            transaction.set_rollback(True)
    assert not keyless, f"pages without their one-time key: {keyless}"
