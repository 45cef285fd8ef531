"""Reservations: points and goods held until handed over, cancelled or expired, never spent
twice (store.services reservation_*, the checks of audit_ledger)."""

import datetime
import re
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation

from notifications.models import Notification
from notifications.texts import text
from points import checks as ledger_checks
from points.ledger import InsufficientPoints
from points.models import Account, Entry, Proposal
from points.services import card_issue, proposal_approve
from store import checks
from store import services as store_services
from store.models import Item, Redemption, Reservation
from store.services import (
    InsufficientStock,
    item_save,
    redemption_create,
    reservation_cancel,
    reservation_create,
    reservation_hand_over,
    reservations_expire,
    reservations_without_card_cancel,
    stock_write_off_request,
)
from store.tasks import expire_reservations
from tests.points.conftest import make_rule, propose
from tests.store.conftest import make_item
from tests.store.test_concurrency import run_at_once, tellers
from tests.villagers.test_member_pins import son, son_login  # noqa: F401 (fixtures)
from villagers.services import card_recall


def account(household) -> Account:
    return Account.objects.get(household=household)


def books_sound():
    assert checks.check() == []
    assert ledger_checks.check() == []


@pytest.fixture
def reserve(villager_a):
    def _reserve(lines, user=villager_a):
        return reservation_create(
            household=user.household,
            lines={item.pk: qty for item, qty in lines.items()},
            actor=user,
        )

    return _reserve


def test_a_reservation_holds_points_and_goods(card_a, rice, reserve, redeem, manager_x):
    """100 points; 3 bags of rice at 20 reserved: 60 held, 40 left to spend at the counter."""
    reservation = reserve({rice: 3})
    assert reservation.total_points == 60
    assert reservation.expires_at.date() == (timezone.now() + datetime.timedelta(days=3)).date()
    assert (account(card_a.household).balance, account(card_a.household).held) == (100, 60)
    assert Item.objects.get(pk=rice.pk).held == 3
    with pytest.raises(InsufficientPoints, match="held for reservations"):
        redeem(card_a.household, {rice: 3}, manager_x)
    with pytest.raises(InsufficientPoints):
        reserve({rice: 3})
    redeem(card_a.household, {rice: 2}, manager_x)  # the 40 not held
    assert (account(card_a.household).balance, account(card_a.household).held) == (60, 60)
    books_sound()


def test_the_balance_pages_say_what_a_reservation_holds(
    card_a, rice, reserve, client_villager_a, client_manager_x
):
    """The start page's 100 points are not all to spend: it says 60 are held, and reads it
    aloud; the manager's household page says so too."""
    home = client_villager_a.get(reverse("points:me")).text
    assert "held for your reservations" not in home
    reserve({rice: 3})
    home = client_villager_a.get(reverse("points:me")).text
    assert "Of these, 60 are held for your reservations: collect" in home
    assert "其中 60 分为您的预订保留。" in home  # the spoken text, always in Chinese
    assert reverse("store:my_reservations") in home
    household = client_manager_x.get(reverse("reports:household", args=[card_a.household_id])).text
    assert "60 held for reservations" in household


def test_the_counter_calls_balance_what_the_receipt_calls_balance(
    card_a, rice, oil, reserve, client_manager_x
):
    """Found by a probe: with 60 of 100 points held, the counter's "余额" read 40 and its cart
    "余额 10" after 30 points of oil, while the receipt printed for the household said
    "余额 70", as its pages and the notice do. The counter's figure is now called what it is,
    the points to spend, beside the balance and what is held."""
    from tests.store.conftest import add_to_cart, confirm_form, counter_url

    household = card_a.household
    reserve({rice: 3})
    add_to_cart(client_manager_x, household, oil)
    counter = client_manager_x.get(counter_url(household))
    page = counter.text
    assert "Points to spend" in page and '<div class="balance-figure">40</div>' in page
    assert "Balance 100, of which 60 held for reservations" in page
    assert "Points to spend after" in page and "Balance after" not in page
    confirmed = client_manager_x.post(
        reverse("store:counter_confirm", args=[household.pk]),
        confirm_form(client_manager_x, household),
    )
    receipt = client_manager_x.get(confirmed["Location"]).text
    assert '<td>Balance after</td><td class="num">70</td>' in receipt
    assert "Balance 70, of which 60 held" in client_manager_x.get(counter_url(household)).text


def test_the_catalogue_says_and_reads_aloud_the_balance_the_start_page_does(
    card_a, rice, reserve, client_villager_a
):
    """Found by a probe: with 60 of 100 points held, the catalogue read aloud "您家有 40
    积分" where the start page reads "您家有 100 积分…其中 60 分为您的预订保留", and called the
    40 the household's points. It calls them the points to spend, as the counter does, and
    reads the balance and what is held as the start page reads them."""
    reserve({rice: 3})
    page = client_villager_a.get(reverse("store:catalogue")).text
    assert "Points to spend" in page and "Your household&#x27;s points" not in page
    assert '<strong class="fs-3">40</strong>' in page and "60 more held" in page
    assert "您家有 100 积分。 其中 60 分为您的预订保留。" in page
    assert "您家有 40 积分" not in page


def test_held_goods_cannot_be_taken_by_another_household(
    card_a, card_b, kettle, reserve, redeem, manager_x
):
    reserve({kettle: 2})
    with pytest.raises(InsufficientStock):
        redeem(card_b.household, {kettle: 1}, manager_x)
    # Nor can a write-off: goods a reservation holds are not asked to be written off while
    # it holds them (the reservation is cancelled first).
    with pytest.raises(InsufficientStock, match="held for reservations.*cancel it first"):
        stock_write_off_request(
            item=kettle, quantity=1, cause="damaged", reason="cracked", actor=manager_x
        )
    books_sound()


def test_cancel_by_the_household_or_the_manager_releases_the_hold(
    card_a, rice, reserve, villager_a, villager_b, manager_x, manager_y
):
    first, second = reserve({rice: 1}), reserve({rice: 2})
    with pytest.raises(PermissionDenied):
        reservation_cancel(reservation=first, actor=villager_b)
    with pytest.raises(PermissionDenied):
        reservation_cancel(reservation=first, actor=manager_y)
    reservation_cancel(reservation=first, actor=villager_a)
    reservation_cancel(reservation=second, actor=manager_x)
    with pytest.raises(ValidationError, match="already cancelled"):
        reservation_cancel(reservation=first, actor=villager_a)
    assert account(card_a.household).held == 0
    assert Item.objects.get(pk=rice.pk).held == 0
    assert set(Reservation.objects.values_list("status", flat=True)) == {"cancelled"}
    # The household is told of the one the store cancelled, not of the one it cancelled.
    (told,) = Notification.objects.filter(kind=Notification.Kind.RESERVATION_CLOSED)
    assert told.params == {"reservation": second.number, "points": 40, "expired": False}
    assert "cancelled at the store" in text(told)
    books_sound()


def test_hand_over_is_one_redemption_at_the_reserved_prices_once(
    card_a, rice, oil, reserve, manager_x, supervisor_x
):
    reservation = reserve({rice: 1, oil: 1})
    Item.objects.filter(pk=rice.pk).update(points_price=25)  # the price rose since
    with pytest.raises(PermissionDenied):
        reservation_hand_over(
            reservation=reservation, idempotency_key=uuid.uuid4(), actor=supervisor_x
        )
    key = uuid.uuid4()
    redemption = reservation_hand_over(
        reservation=reservation, idempotency_key=key, actor=manager_x
    )
    assert redemption.total_points == 50 and not redemption.was_replay
    again = reservation_hand_over(reservation=reservation, idempotency_key=key, actor=manager_x)
    assert again.pk == redemption.pk and again.was_replay
    with pytest.raises(ValidationError, match="already handed over"):
        reservation_hand_over(
            reservation=reservation, idempotency_key=uuid.uuid4(), actor=manager_x
        )
    assert Redemption.objects.count() == 1
    assert (account(card_a.household).balance, account(card_a.household).held) == (50, 0)
    assert Item.objects.get(pk=rice.pk).stock == 49
    assert Item.objects.get(pk=rice.pk).held == 0
    reservation.refresh_from_db()
    assert reservation.status == "fulfilled" and reservation.redemption_id == redemption.pk
    books_sound()


def test_goods_taken_off_sale_after_they_were_reserved_are_still_handed_over(
    card_a, rice, reserve, redeem, manager_x
):
    """Found by a probe: taking the item off sale stranded the reservation, its points and
    goods held until it expired, the household not told."""
    reservation = reserve({rice: 2})
    off_sale = Item.objects.get(pk=rice.pk)
    off_sale.is_active = False
    item_save(item=off_sale, actor=manager_x)
    with pytest.raises(ValidationError, match="Not on sale any more"):
        redeem(card_a.household, {rice: 1}, manager_x)  # the shelves' rice is off sale
    redemption = reservation_hand_over(
        reservation=reservation, idempotency_key=uuid.uuid4(), actor=manager_x
    )
    assert redemption.total_points == 2 * rice.points_price
    assert (Item.objects.get(pk=rice.pk).stock, Item.objects.get(pk=rice.pk).held) == (48, 0)
    books_sound()


def test_expiry_releases_the_hold(card_a, rice, reserve, manager_x):
    reservation = reserve({rice: 2})
    kept = reserve({rice: 1})
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    with pytest.raises(ValidationError, match="expired"):
        reservation_hand_over(
            reservation=reservation, idempotency_key=uuid.uuid4(), actor=manager_x
        )
    expire_reservations(timestamp=0)  # the periodic task's function, run directly
    assert reservations_expire() == []  # a second run finds nothing left to do
    reservation.refresh_from_db()
    kept.refresh_from_db()
    assert (reservation.status, kept.status) == ("expired", "open")
    assert account(card_a.household).held == 20
    (told,) = Notification.objects.filter(kind=Notification.Kind.RESERVATION_CLOSED)
    assert told.params["expired"] is True and "not collected in time" in text(told)
    assert Item.objects.get(pk=rice.pk).held == 1
    books_sound()


def test_a_recalled_cards_reservations_give_their_goods_back_at_the_next_run(
    card_a, card_b, rice, reserve, villager_b, manager_x
):
    """Without a card nothing is handed over: the goods go back now, not when it expires."""
    stranded = reserve({rice: 2})
    other = reserve({rice: 1}, user=villager_b)
    card_recall(household=card_a.household, actor=manager_x, reason="搬走了")
    expire_reservations(timestamp=0)
    assert reservations_without_card_cancel() == []  # a second run finds nothing to do
    stranded.refresh_from_db()
    other.refresh_from_db()
    assert (stranded.status, stranded.closed_by, other.status) == ("cancelled", None, "open")
    assert account(card_a.household).held == 0
    assert Item.objects.get(pk=rice.pk).held == 1
    # Not told its points can be spent again: it has no card to spend them with.
    assert not Notification.objects.filter(kind=Notification.Kind.RESERVATION_CLOSED).exists()
    books_sound()


def test_a_card_issued_again_before_the_cancel_keeps_the_reservations(
    card_a, rice, reserve, manager_x, monkeypatch
):
    """Found without a card, issued one before its turn: the card is read again under the
    account's lock, and the reservation stays."""
    stranded = reserve({rice: 2})
    card_recall(household=card_a.household, actor=manager_x, reason="搬走了")
    close = store_services._reservation_close

    def issued_meanwhile(**kwargs):
        card_issue(household=card_a.household, actor=manager_x, pin="8264")
        return close(**kwargs)

    monkeypatch.setattr(store_services, "_reservation_close", issued_meanwhile)
    assert reservations_without_card_cancel() == []
    stranded.refresh_from_db()
    assert stranded.status == "open" and account(card_a.household).held == 40
    books_sound()


def test_the_checks_see_a_hold_that_disagrees(card_a, rice, reserve):
    reserve({rice: 1})
    Item.objects.filter(pk=rice.pk).update(held=2)
    Account.objects.filter(household=card_a.household).update(held=5)
    problems = checks.check()
    assert any("open reservations hold 1" in line for line in problems), problems
    assert any("open reservations hold 20" in line for line in problems), problems


def test_the_database_refuses_a_hold_above_the_balance_or_the_stock(card_a, rice):
    with pytest.raises(IntegrityError, match="account_held_within_balance"), transaction.atomic():
        Account.objects.filter(household=card_a.household).update(held=101)
    with pytest.raises(IntegrityError, match="item_held_within_stock"), transaction.atomic():
        Item.objects.filter(pk=rice.pk).update(held=51)


def test_twenty_reservations_and_redemptions_at_once(
    transactional_db, card_a, zones_x, village_x, manager_x, villager_a
):
    """One household (100 points), one item (3 in stock, 10 points): ten reservations and
    ten redemptions of one at the same moment. Whatever wins, balance and stock, held
    amounts included, never go below zero; then expiry gives back what was held."""
    item = make_item(village_x, "daily", "肥皂", 10, 3, manager_x)
    household = card_a.household
    jobs = [
        lambda: reservation_create(household=household, lines={item.pk: 1}, actor=villager_a)
        for _n in range(10)
    ] + [
        (lambda teller=teller: reservation_free_redeem(household, item, teller))
        for teller in tellers(village_x, 10)
    ]
    results = run_at_once(jobs)
    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, ValidationError)
    ]
    assert not unexpected, unexpected
    done = [r for r in results if isinstance(r, Reservation | Redemption)]
    assert len(done) == 3, results  # the stock is the limit
    item.refresh_from_db()
    held_account = account(household)
    assert 0 <= item.held <= item.stock
    assert item.stock == 3 - sum(isinstance(r, Redemption) for r in done)
    assert item.held == sum(isinstance(r, Reservation) for r in done)
    assert 0 <= held_account.held <= held_account.balance
    assert held_account.balance == 100 - 10 * sum(isinstance(r, Redemption) for r in done)
    books_sound()

    reservations_expire(now=timezone.now() + datetime.timedelta(days=4))
    item.refresh_from_db()
    assert item.held == 0 and account(household).held == 0
    assert Entry.objects.filter(kind=Entry.Kind.REDEMPTION).count() == 3 - item.stock
    books_sound()


def reservation_free_redeem(household, item, teller):
    return redemption_create(
        village=household.village,
        household=household,
        lines={item.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=teller,
    )


def test_twenty_at_once_bound_by_points(transactional_db, card_a, rice, village_x, villager_a):
    """Rice at 20 with plenty in stock: of twenty at once, five fit in the 100 points."""
    household = card_a.household
    jobs = [
        lambda: reservation_create(household=household, lines={rice.pk: 1}, actor=villager_a)
        for _n in range(10)
    ] + [
        (lambda teller=teller: reservation_free_redeem(household, rice, teller))
        for teller in tellers(village_x, 10)
    ]
    results = run_at_once(jobs)
    done = [r for r in results if isinstance(r, Reservation | Redemption)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert (len(done), len(refused)) == (5, 15), results
    held = account(household)
    assert held.balance >= held.held >= 0
    assert held.balance - held.held == 0
    books_sound()


@pytest.mark.django_db(transaction=True)
def test_a_worker_expires_reservations_on_its_schedule(queue_workers, card_a, rice, villager_a):
    reservation = reservation_create(
        household=card_a.household, lines={rice.pk: 2}, actor=villager_a
    )
    Reservation.objects.filter(pk=reservation.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    workers = queue_workers(1)
    workers.wait_until(
        lambda: Reservation.objects.filter(pk=reservation.pk, status="expired").exists()
    )
    assert account(card_a.household).held == 0
    assert Item.objects.get(pk=rice.pk).held == 0
    books_sound()


def test_approval_counts_held_points_as_crediting_does(
    village_x, card_a, rice, reserve, manager_x, supervisor_x
):
    """100 points, 60 held: a deduction in publicity may take only the 40 not held, as the
    crediting at the end of the period would (points.ledger.balance_after)."""
    village_x.publicity_days = 3
    village_x.save()
    reserve({rice: 3})
    fine = make_rule(village_x, "D09", -30, description="littering")
    first, second = (propose(manager_x, [card_a.household], fine)[0] for _i in range(2))
    proposal_approve(proposal_ids=[first.pk], actor=supervisor_x)  # 40 left: 30 fits
    with pytest.raises(ValidationError, match="points held for reservations"):
        proposal_approve(proposal_ids=[second.pk], actor=supervisor_x)  # 10 left
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Proposal.Status.PUBLICITY, Proposal.Status.PROPOSED)


def test_the_head_sees_which_member_reserved_and_who_collected(
    card_a,
    villager_a,
    rice,
    manager_x,
    client_villager_a,
    reserve,
    son,  # noqa: F811 (fixture)
    son_login,  # noqa: F811 (fixture)
):
    """Issue 20 asked that the head see who did what; a reservation kept the login that made
    it (a member's own PIN) and who collected it, and the household's page showed neither
    (noted by a probe)."""
    by_son = reserve({rice: 1}, user=son_login)
    reserve({rice: 1})  # the head's own
    reservation_hand_over(
        reservation=by_son, idempotency_key=uuid.uuid4(), actor=manager_x, collected_by=son
    )
    page = client_villager_a.get(reverse("store:my_reservations"), HTTP_ACCEPT_LANGUAGE="en")
    said = [
        " ".join(line.split())
        for line in page.content.decode().split('class="small text-body-secondary reserved-by">')[
            1:
        ]
    ]
    assert said[0].startswith(f"Reserved by {card_a.household.head_name}</div>")
    assert said[1].startswith("Reserved by 王小明 · collected by 王小明</div>")


def test_enter_in_a_quantity_reserves_nothing_and_keeps_the_choice(
    client_villager_a, card_a, rice, kettle
):
    """Found by a probe: Enter in a quantity (HTML's implicit submission, the form's first
    button) reserved the quantities typed so far. It now only checks the choice: drawn again
    as typed with its total, nothing held; the Reserve button reserves."""
    url = reverse("store:reserve")
    page = client_villager_a.get(url).content.decode()
    assert page.index("data-enter-default") < page.index('name="save" value="1"')
    shown = dict(re.findall(r'name="((?:price_|idempotency_key)[^"]*)" value="([^"]*)"', page))
    typed = {**shown, f"qty_{rice.pk}": "2", f"qty_{kettle.pk}": "1"}

    checked = client_villager_a.post(url, typed)

    assert checked.status_code == 200
    assert not Reservation.objects.exists()
    assert account(card_a.household).held == 0
    again = checked.content.decode()
    assert re.search(rf'name="qty_{rice.pk}"[^>]*value="2"', again)
    assert re.search(rf'name="qty_{kettle.pk}"[^>]*value="1"', again)
    assert checked.context["chosen_points"] == 2 * 20 + 40
    reserved = client_villager_a.post(url, {**typed, "save": "1"})
    assert reserved.status_code == 302
    assert Reservation.objects.get().total_points == 2 * 20 + 40


def test_enter_says_when_the_choice_is_more_than_the_household_can_spend(
    client_villager_a, card_a, rice
):
    """Found by a probe: Enter gave the choice's total but not that it passed what the
    household may spend; only the Reserve button's refusal said so."""
    url = reverse("store:reserve")
    page = client_villager_a.get(url).content.decode()
    shown = dict(re.findall(r'name="((?:price_|idempotency_key)[^"]*)" value="([^"]*)"', page))
    spendable = account(card_a.household).spendable

    within = client_villager_a.post(url, {**shown, f"qty_{rice.pk}": "1"})
    assert "data-over-spendable" not in within.content.decode()
    over = spendable // rice.points_price + 1
    beyond = client_villager_a.post(
        url, {**shown, f"qty_{rice.pk}": str(over)}, HTTP_ACCEPT_LANGUAGE="en"
    )
    said = re.search(r"<p [^>]*data-over-spendable>([^<]*)</p>", beyond.content.decode())
    assert said and f"more than you can spend now: {spendable} points" in said.group(1)
    assert not Reservation.objects.exists()


def test_the_reserve_page_names_what_the_household_has_reserved(
    client_villager_a, villager_a, card_a, rice, kettle, reserve, django_assert_max_num_queries
):
    """Found by the brief: after Reserve, a phone that lost the answer went Back, the page
    came again with a new key, and the villager reserved the same goods twice. The page now
    names the open reservations at the top, with their time and a link to them."""
    url = reverse("store:reserve")
    assert "data-reserved" not in client_villager_a.get(url).content.decode()
    page = client_villager_a.get(url).content.decode()
    shown = dict(re.findall(r'name="((?:price_|idempotency_key)[^"]*)" value="([^"]*)"', page))
    client_villager_a.post(url, {**shown, f"qty_{rice.pk}": "1", "save": "1"})
    made = Reservation.objects.get()

    with django_assert_max_num_queries(7):
        again = client_villager_a.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    notice = re.search(r"<div [^>]*data-reserved>(.*?)</div>", again, re.S).group(1)
    at = timezone.localtime(made.created_at)
    assert f"You reserved {rice.name} ×1 at {at:%H:%M}." in notice
    assert f'href="{reverse("store:my_reservations")}"' in notice
    assert "no need to reserve them again" in notice
    assert again.index("data-reserved") < again.index('name="save"')

    # Past three, the page says there are more; an older one says its day.
    older = reserve({kettle: 1})
    Reservation.objects.filter(pk=older.pk).update(
        created_at=made.created_at - datetime.timedelta(days=1)
    )
    newer = [reserve({rice: 1}) for _ in range(2)]  # the balance's 100 points all held
    page = client_villager_a.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "More of your reservations are waiting" in page
    assert f"{kettle.name} ×1" not in page  # the oldest, past the three named
    for reservation in newer:
        reservation_cancel(reservation=reservation, actor=villager_a)
    page = client_villager_a.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    on = timezone.localtime(made.created_at - datetime.timedelta(days=1))
    assert f"You reserved {kettle.name} ×1 on {on:%Y-%m-%d} at {on:%H:%M}." in page
    assert "More of your reservations" not in page and page.count("You reserved") == 2
    chinese = client_villager_a.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert f"您在 {at:%H:%M} 预订了：{rice.name} ×1。" in chinese and "不用再订一次" in chinese

    # Cancelled, handed over or expired, a reservation is not named: nothing is held twice.
    for reservation in (made, older):
        reservation_cancel(reservation=reservation, actor=villager_a)
    assert "data-reserved" not in client_villager_a.get(url).content.decode()


def test_cancelling_a_reservation_asks_first_and_says_cancelled_as_the_status_does(
    card_a, rice, reserve, client_villager_a, client_manager_x
):
    """Found on the phone: one tap cancelled a reservation (withdrawing a wish asks first),
    and its status then read 已撤销 where the message said 预订已取消. The button opens a
    question (<details>, no JavaScript needed) whose own button cancels, here and at the
    counter; the status and the message use one word."""
    reservation = reserve({rice: 1})
    cancel_url = reverse("store:reservation_cancel", args=[reservation.pk])
    pages = [
        client_villager_a.get(reverse("store:my_reservations")).content.decode(),
        client_manager_x.get(
            reverse("store:counter_household", args=[card_a.household_id])
        ).content.decode(),
    ]
    for page in pages:
        asked = page.split('class="reservation-cancel')[1].split("</details>")[0]
        assert "<summary" in asked and f'action="{cancel_url}"' in asked
        assert "Yes, cancel it" in asked
    with translation.override("zh-hans"):
        status = str(Reservation.Status.CANCELLED.label)
        said = str(translation.gettext("The reservation was cancelled; its points are free again."))
    assert status == "已取消" and status in said
