"""The ledger and the store never disagree: a redemption is undone only by voiding it, and
`audit_ledger` cross-checks the two, naming the row of each kind of break (written around
the services with raw SQL, as an intruder or a bug would)."""

import secrets
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from points.models import Account, Entry
from points.services import entry_reverse
from store import checks
from store.models import Donation, Donor, Item, Redemption, RedemptionLine, StockMovement
from store.services import donation_record, redemption_void, stock_purchase
from tests.conftest import behind_the_app
from villagers.models import User


def test_a_redemptions_entry_cannot_be_reversed_on_the_ledger_page(
    card_a, rice, manager_x, supervisor_x, redeem, client_supervisor_x
):
    redemption = redeem(card_a.household, {rice: 2}, manager_x)
    response = client_supervisor_x.post(
        reverse("points:entry_reverse", args=[redemption.entry_id]),
        {"reason": "undo", "idempotency_key": secrets.token_urlsafe(24)},
        follow=True,
    )
    assert "void the redemption on its receipt" in response.content.decode()
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 60
    assert not Entry.objects.filter(reverses_id=redemption.entry_id).exists()
    with pytest.raises(ValidationError, match="void the redemption"):
        entry_reverse(entry=redemption.entry, actor=supervisor_x, reason="undo")
    # The ledger page links the entry to its receipt, where it can be voided.
    page = client_supervisor_x.get(reverse("points:household_ledger", args=[card_a.household.pk]))
    assert f'href="{reverse("store:receipt", args=[redemption.pk])}"' in page.content.decode()
    assert checks.check() == []


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_a_redemption_entry_reversed_around_the_store_is_named(
    card_a, rice, manager_x, supervisor_x, redeem
):
    redemption = redeem(card_a.household, {rice: 2}, manager_x)
    account = card_a.household.account
    _raw(
        "INSERT INTO points_entry (account_id, kind, points, balance_after, created_at, memo,"
        " reverses_id) VALUES (%s, 'reversal', 40, 100, now(), '', %s)",
        [account.pk, redemption.entry_id],
    )
    _raw("UPDATE points_account SET balance = 100 WHERE id = %s", [account.pk])
    reversal = Entry.objects.get(reverses_id=redemption.entry_id)
    assert checks.check() == [
        f"entry {reversal.pk} reverses redemption entry {redemption.entry_id} without voiding "
        "its redemption: the points came back but not the goods"
    ]
    with pytest.raises(CommandError, match="1 ledger problem"):
        call_command("audit_ledger")


def test_a_redemption_debit_without_a_redemption_is_named(card_a):
    account = card_a.household.account
    _raw(
        "INSERT INTO points_entry (account_id, kind, points, balance_after, created_at, memo)"
        " VALUES (%s, 'redemption', -30, 70, now(), '')",
        [account.pk],
    )
    orphan = Entry.objects.get(kind=Entry.Kind.REDEMPTION)
    assert f"entry {orphan.pk} (redemption, -30 points) has no redemption in the store" in (
        checks.check()
    )


def test_a_line_without_its_movement_and_a_void_without_its_return_are_named(
    card_a, rice, oil, manager_x, supervisor_x, redeem
):
    from store.services import redemption_void

    kept = redeem(card_a.household, {rice: 2}, manager_x)
    voided = redeem(card_a.household, {oil: 1}, manager_x)
    redemption_void(redemption=voided, actor=supervisor_x, reason="wrong")
    # A line added around the counter: no movement took its goods off the shelf, and on
    # the voided redemption none brought them back.
    for redemption in (kept, voided):
        line_item = rice if redemption == voided else oil
        _raw(
            "INSERT INTO store_redemptionline (redemption_id, item_id, zone_id, quantity,"
            " points_each, points) VALUES (%s, %s, %s, 3, 1, 3)",
            [redemption.pk, line_item.pk, line_item.zone_id],
        )
    kept_line = kept.lines.get(quantity=3)
    voided_line = voided.lines.get(quantity=3)
    problems = checks.check()
    for redemption, line in ((kept, kept_line), (voided, voided_line)):
        assert (
            f"redemption {redemption.pk}: line {line.pk} has no stock movement of its item and "
            "quantity" in problems
        )
    assert (
        f"redemption {voided.pk}: voided, but line {voided_line.pk} did not come back into "
        "stock" in problems
    )
    assert not any(
        f"line {line.pk} " in p
        for p in problems
        for line in voided.lines.all()
        if line != voided_line
    )


@pytest.fixture
def gift(village_x, manager_x):
    donor = Donor.objects.create(village=village_x, name="刘秀兰", kind="person")
    return donation_record(
        village=village_x,
        donor=donor,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal(100),
        thanks="谢谢",
        actor=manager_x,
    )


def test_donations_and_donated_money_are_checked_row_by_row(village_x, rice, manager_x, gift):
    purchase = stock_purchase(
        item=rice,
        quantity=2,
        fund_source=StockMovement.FundSource.DONATED_MONEY,
        cost_yuan=Decimal(80),
        paid_by=gift,
        actor=manager_x,
    )
    assert checks.check() == []
    # Goods recorded as given, but nothing came into stock with them.
    _raw(
        "INSERT INTO store_donation (village_id, donor_id, kind, value_yuan, description,"
        " thanks, created_by_id, created_at, received_on, thanks_link_version)"
        " VALUES (%s, %s, 'goods', 50, '', '', %s, now(), current_date, 1)",
        [village_x.pk, gift.donor_id, manager_x.pk],
    )
    empty = Donation.objects.get(kind="goods")
    # A second purchase from the same ¥100 gift, for ¥80 more; one "paid" by goods.
    # (each stock after the one before it plus one: the running stock stays right)
    for stock_after, paid_by in ((53, gift.pk), (54, empty.pk)):
        _raw(
            "INSERT INTO store_stockmovement (village_id, item_id, kind, quantity, stock_after,"
            " fund_source, cost_yuan, cause, reason, paid_by_id, created_at)"
            " VALUES (%s, %s, 'purchase', 1, %s, 'donated_money', 80, '', '', %s, now())",
            [village_x.pk, rice.pk, stock_after, paid_by],
        )
    _raw("UPDATE store_item SET stock = stock + 2 WHERE id = %s", [rice.pk])
    unpaid = StockMovement.objects.get(paid_by=empty)
    problems = checks.check()
    assert f"donation {empty.pk} (goods): no goods came into stock with it" in problems
    assert (
        f"donation {gift.pk} (money): purchases paid from it cost ¥160.00, more than the "
        "¥100.00 given" in problems
    )
    assert (
        f"stock movement {unpaid.pk}: bought with donated money but names no money donation "
        "of its village" in problems
    )
    assert len(problems) == 3, problems
    assert Item.objects.get(pk=rice.pk).stock == purchase.stock_after + 2


def test_a_purchase_from_donated_money_without_its_gift_is_refused_by_the_database(village_x, rice):
    """Since store/0009 (NOT VALID: purchases recorded before stay as they were)."""
    refused = pytest.raises(IntegrityError, match="movement_donated_money_names_donation")
    with refused, transaction.atomic():
        _raw(
            "INSERT INTO store_stockmovement (village_id, item_id, kind, quantity,"
            " stock_after, fund_source, cost_yuan, cause, reason, created_at)"
            " VALUES (%s, %s, 'purchase', 1, 51, 'donated_money', 8, '', '', now())",
            [village_x.pk, rice.pk],
        )


def test_a_purchase_from_donated_money_must_name_the_gift(rice, manager_x, client_manager_x):
    with pytest.raises(ValidationError, match="money donation that paid"):
        stock_purchase(
            item=rice,
            quantity=1,
            fund_source=StockMovement.FundSource.DONATED_MONEY,
            cost_yuan=Decimal(5),
            actor=manager_x,
        )
    response = client_manager_x.post(
        reverse("store:stock_in"),
        {"item": rice.pk, "quantity": 1, "fund_source": "donated_money", "cost_yuan": "5"},
    )
    assert response.status_code == 200
    assert "money donation that paid" in response.content.decode()
    assert not StockMovement.objects.filter(fund_source="donated_money").exists()


# --- the store's running stock and its villages --------------------------------------------


def test_a_stock_after_that_does_not_follow_the_one_before_is_named(rice, manager_x):
    (bought,) = StockMovement.objects.filter(item=rice)
    more = stock_purchase(
        item=rice,
        quantity=5,
        fund_source=StockMovement.FundSource.COLLECTIVE,
        cost_yuan=Decimal("5.00"),
        actor=manager_x,
    )
    assert (bought.stock_after, more.stock_after) == (50, 55)
    assert checks.check() == []
    with behind_the_app():
        StockMovement.objects.filter(pk=bought.pk).update(stock_after=999)
    assert checks.check() == [
        f"stock movement {bought.pk} (item {rice.pk}): stock after 999, the movements up to it "
        "sum to 50"
    ]
    with behind_the_app():
        StockMovement.objects.filter(pk=more.pk).update(stock_after=60)
    assert checks.check() == [
        f"item {rice.pk} {rice.name}: cached stock 55 != stock after 60 of its last movement "
        f"{more.pk}",
        f"stock movement {bought.pk} (item {rice.pk}): stock after 999, the movements up to it "
        "sum to 50",
        f"stock movement {more.pk} (item {rice.pk}): stock after 60, the movements up to it "
        "sum to 55",
    ]


def test_a_movement_of_another_village_is_named(rice, village_y):
    (movement,) = StockMovement.objects.filter(item=rice)
    with behind_the_app():
        StockMovement.objects.filter(pk=movement.pk).update(village=village_y)
    assert checks.check() == [
        f"stock movement {movement.pk} is of village {village_y.pk}, its item {rice.pk} of "
        f"village {rice.village_id}"
    ]


def test_a_redemption_of_another_villages_household_or_goods_is_named(
    card_a, card_y, rice, item_y, manager_x, redeem
):
    """The debit moved with the household, the balances kept right: only the villages tell."""
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    account_a, account_y = card_a.household.account, card_y.household.account
    with behind_the_app():
        Redemption.objects.filter(pk=redemption.pk).update(household=card_y.household)
        Entry.objects.filter(pk=redemption.entry_id).update(account=account_y, balance_after=80)
    Account.objects.filter(pk=account_a.pk).update(balance=100)
    Account.objects.filter(pk=account_y.pk).update(balance=80)
    village_x, village_y = rice.village_id, item_y.village_id
    assert checks.check() == [
        f"redemption {redemption.pk} is of village {village_x}, its household "
        f"{card_y.household_id} of village {village_y}"
    ]
    line = redemption.lines.get()
    with behind_the_app():
        RedemptionLine.objects.filter(pk=line.pk).update(item=item_y)
    assert (
        f"redemption {redemption.pk} is of village {village_x}, its line {line.pk}'s item "
        f"{item_y.pk} of village {village_y}" in checks.check()
    )


# --- the second person (rule 8) ------------------------------------------------------------


def test_a_void_by_the_one_who_served_it_is_named(
    card_a, villager_a, rice, manager_x, supervisor_x, redeem
):
    """Who voided is checked; whose household they are is not: the admin may link a staff
    member to their household after the fact, and their past voids were rightly done."""
    served = redeem(card_a.household, {rice: 1}, manager_x)
    later = redeem(card_a.household, {rice: 1}, manager_x)
    for redemption in (served, later):
        redemption_void(redemption=redemption, actor=supervisor_x, reason="wrong card")
    assert checks.check() == []
    User.objects.filter(pk=supervisor_x.pk).update(household=card_a.household)
    assert checks.check() == []
    with behind_the_app():
        Redemption.objects.filter(pk=served.pk).update(voided_by=manager_x)
    assert checks.check() == [
        f"redemption {served.pk} was voided by user {manager_x.pk} (manager_x), who served it: "
        "a second person voids",
    ]


def test_each_break_of_a_redemption_with_its_entry_and_movements_is_named(
    card_a, card_b, rice, manager_x, supervisor_x, redeem
):
    """Each way a redemption can disagree with its entry, its lines and its movements,
    written around the services: each is named on its own row, and the others are not.
    (The check picks these rows in the database now, not by reading every redemption.)"""
    households = [card_a.household, card_b.household]  # 100 points each: 5 at 20
    made = [redeem(households[i % 2], {rice: 1}, manager_x) for i in range(8)]
    fine = redeem(card_b.household, {rice: 1}, manager_x)
    for redemption in made[5:]:
        redemption_void(redemption=redemption, actor=supervisor_x, reason="wrong")
    kinds, points, total, other, out, back, void_points, fine_void = (
        Redemption.objects.get(pk=redemption.pk) for redemption in made
    )
    with behind_the_app():
        _raw("UPDATE points_entry SET kind = 'deduction' WHERE id = %s", [kinds.entry_id])
        _raw("UPDATE points_entry SET points = -19 WHERE id = %s", [points.entry_id])
        _raw("UPDATE store_redemption SET total_points = 21 WHERE id = %s", [total.pk])
        _raw(
            "UPDATE points_entry SET account_id = %s WHERE id = %s",
            [card_a.household.account.pk, other.entry_id],  # card_b's redemption
        )
        _raw(
            "UPDATE store_stockmovement SET redemption_id = %s WHERE redemption_id = %s",
            [kinds.pk, out.pk],
        )
        _raw(
            "UPDATE store_stockmovement SET redemption_id = %s WHERE redemption_id = %s"
            " AND kind = 'void'",
            [points.pk, back.pk],
        )
        _raw("UPDATE points_entry SET points = 19 WHERE id = %s", [void_points.void_entry_id])
    problems = checks.check()
    named = {
        kinds: (
            f"redemption {kinds.pk}: its entry {kinds.entry_id} is a deduction, not a redemption"
        ),
        points: f"redemption {points.pk}: entry points -19 != -sum of lines 20",
        total: f"redemption {total.pk}: total 21 != sum of its lines",
        other: f"redemption {other.pk}: entry {other.entry_id} debits another household",
        out: f"redemption {out.pk}: 0 stock movements out for 1 lines",
        back: f"redemption {back.pk}: voided, but the reversal or the goods back in do not match",
        void_points: (
            f"redemption {void_points.pk}: voided, but the reversal or the goods back in do "
            "not match"
        ),
    }
    for said in named.values():
        assert said in problems
    assert f"redemption {points.pk}: not voided, yet has a reversal or goods back in" in problems
    assert f"redemption {kinds.pk}: 2 stock movements out for 1 lines" in problems
    assert not any(
        p.startswith((f"redemption {fine.pk}:", f"redemption {fine_void.pk}:")) for p in problems
    )
