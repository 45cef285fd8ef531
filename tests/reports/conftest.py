"""Report fixtures: a village with a year of ledger and store history, and independent sums.

`village_history` lays down approvals, a reversal, redemptions (one voided), purchases from
each fund source, donations and wishes, some in earlier months. The `expected_*` helpers
recompute the figures in plain Python over the ledger and stock rows, so the tests compare
the report's SQL aggregates with an independent count.
"""

import datetime
import uuid
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import F as Field
from django.urls import reverse
from django.utils import timezone

from core.access import Role
from core.months import add_months
from points.models import Account, CarryOver, Entry, Proposal, Rule
from points.services import entry_post, entry_reverse, proposal_approve
from store.models import (
    Donation,
    Donor,
    Redemption,
    RedemptionLine,
    StockCorrection,
    StockMovement,
)
from store.services import (
    donation_record,
    redemption_create,
    redemption_void,
    stock_purchase,
)
from tests.conftest import form_key, make_staff
from tests.factories import CountyFactory, TownshipFactory, VillageFactory
from tests.points.conftest import make_rule, propose
from tests.points.test_carry_over import good_rows, xlsx_file
from tests.store.conftest import (  # noqa: F401
    _english,
    count,
    kettle,
    make_item,
    oil,
    redeem,
    rice,
    write_off,
    zones_x,
)
from wishwall.models import Wish
from wishwall.services import wish_post


def local_month(moment) -> datetime.date:
    return timezone.localtime(moment).date().replace(day=1)


def months_ago(count: int, day: int = 10, hour: int = 11) -> datetime.datetime:
    first = add_months(timezone.localdate().replace(day=1), -count)
    moment = datetime.datetime.combine(first.replace(day=day), datetime.time(hour))
    return timezone.make_aware(moment)


def backdated_entry(account, kind, points, at, reverses=None):
    """An old ledger row, as the demo loader writes history (inserts are allowed)."""
    return Entry.objects.create(
        account=account,
        kind=kind,
        points=points,
        balance_after=max(0, account.balance + points),
        created_at=at,
        reverses=reverses,
    )


def at(month: datetime.date, day: int, hour: int = 10) -> datetime.datetime:
    """A local moment on `day` of `month` (a month's first day)."""
    moment = datetime.datetime.combine(month.replace(day=day), datetime.time(hour))
    return timezone.make_aware(moment)


def dated_entry(account, kind, points, when, *, reverses=None, memo=""):
    """A ledger row dated in the past, its account's balance kept in step (as the demo)."""
    account.refresh_from_db()
    entry = Entry.objects.create(
        account=account,
        kind=kind,
        points=points,
        balance_after=account.balance + points,
        created_at=when,
        reverses=reverses,
        memo=memo,
    )
    Account.objects.filter(pk=account.pk).update(balance=Field("balance") + points)
    return entry


def dated_approval(household, rule, when, *, manager, supervisor, reason):
    """An award or deduction approved and credited at `when`, as the demo loader writes it."""
    kind = Entry.Kind.AWARD if rule.points > 0 else Entry.Kind.DEDUCTION
    entry = dated_entry(household.account, kind, rule.points, when)
    return Proposal.objects.create(
        village=household.village,
        household=household,
        rule=rule,
        points=rule.points,
        reason=reason,
        occurred_on=when.date(),
        status=Proposal.Status.APPROVED,
        proposed_by=manager,
        proposed_at=when,
        decided_by=supervisor,
        decided_at=when,
        entry=entry,
    )


def _rule(village, code, points, category=None):
    return Rule.objects.filter(village=village, code=code).first() or make_rule(
        village, code, points, category
    )


def build_history(village, *, households, manager, supervisor, items):
    """Approvals, deductions, a reversal, redemptions and store movements in several months."""
    award = _rule(village, f"A{village.code}", 10, Rule.Category.VOLUNTARY_LABOUR)
    virtue = _rule(village, f"V{village.code}", 15, Rule.Category.FAMILY_VIRTUE)
    litter = _rule(village, f"D{village.code}", -5)
    first, second = households[0], households[1]
    approved = propose(manager, [first, second], award)
    proposal_approve(proposal_ids=[p.pk for p in approved], actor=supervisor)
    virtue_ok = propose(manager, [first], virtue)
    proposal_approve(proposal_ids=[p.pk for p in virtue_ok], actor=supervisor)
    fined = propose(manager, [second], litter)
    proposal_approve(proposal_ids=[p.pk for p in fined], actor=supervisor)
    virtue_ok[0].refresh_from_db()
    entry_reverse(entry=virtue_ok[0].entry, actor=supervisor, reason="wrong household")
    propose(manager, [first], award)  # stays pending
    rice_, oil_, kettle_ = items
    kept = redemption_create(
        village=village,
        household=first,
        lines={rice_.pk: 1, oil_.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager,
    )
    voided = redemption_create(
        village=village,
        household=second,
        lines={kettle_.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager,
    )
    redemption_void(redemption=voided, actor=supervisor, reason="mistake")
    redemption_create(
        village=village,
        household=second,
        lines={rice_.pk: 2},
        idempotency_key=uuid.uuid4(),
        actor=manager,
        at=months_ago(2),
    )
    # Older history straight into the ledger, as the demo loader does.
    account = first.account
    backdated_entry(account, Entry.Kind.AWARD, 20, months_ago(5))
    backdated_entry(account, Entry.Kind.DEDUCTION, -5, months_ago(5, day=12))
    backdated_entry(account, Entry.Kind.AWARD, 30, months_ago(14))  # outside 12 months
    stock_purchase(
        item=oil_,
        quantity=4,
        fund_source=StockMovement.FundSource.CIVIL_AFFAIRS,
        cost_yuan=Decimal("200.00"),
        actor=manager,
    )
    donor, _ = Donor.objects.get_or_create(
        village=village, name=f"爱心企业{village.code}", kind="company"
    )
    person, _ = Donor.objects.get_or_create(
        village=village, name=f"爱心人士{village.code}", kind="person"
    )
    gift = donation_record(
        village=village,
        donor=person,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("1000.00"),
        thanks="感谢",
        actor=manager,
    )
    stock_purchase(
        item=rice_,
        quantity=3,
        fund_source=StockMovement.FundSource.DONATED_MONEY,
        cost_yuan=Decimal("150.50"),
        paid_by=gift,
        actor=manager,
        at=months_ago(1),
    )
    donation_record(
        village=village,
        donor=donor,
        kind=Donation.Kind.GOODS,
        value_yuan=Decimal("600.00"),
        thanks="感谢",
        actor=manager,
        goods={rice_.pk: 5},
    )
    donation_record(
        village=village,
        donor=person,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("300.00"),
        thanks="感谢",
        actor=manager,
    )
    wish_post(household=first, actor=manager, title="轮椅", kind=Wish.Kind.HEALTH, story="腿脚不便")
    wish_post(household=second, actor=manager, title="书包", kind=Wish.Kind.STUDY, story="上学")
    return {"kept": kept, "voided": voided}


@pytest.fixture
def history_x(card_a, card_b, manager_x, supervisor_x, village_x, rice, oil, kettle):  # noqa: F811
    households = [card_a.household, card_b.household]
    for household in households:
        household.refresh_from_db()
    return build_history(
        village_x,
        households=households,
        manager=manager_x,
        supervisor=supervisor_x,
        items=[rice, oil, kettle],
    )


FLOW_KEYS = (
    "issued",
    "awarded",
    "opening",
    "deducted",
    "reversed_awards",
    "reversed_deductions",
    "reversals",
    "redeemed",
)


def expected_flows(village) -> dict:
    """{month: {figure: points}} from the ledger and the store's rows.

    issued = awarded + opening, as posted; deducted as posted; a reversal of an award or a
    deduction on its own line (points taken back, points given back), in its own month;
    redeemed: the points the store took in, less those voids gave back, each in the month
    it was posted (as the public notice counts them).
    """
    flows = defaultdict(lambda: dict.fromkeys(FLOW_KEYS, 0))
    for entry in Entry.objects.filter(account__village=village).select_related("reverses"):
        flow = flows[local_month(entry.created_at)]
        basis = entry.reverses.kind if entry.kind == Entry.Kind.REVERSAL else entry.kind
        if entry.kind == "award":
            flow["awarded"] += entry.points
            flow["issued"] += entry.points
        elif entry.kind == "opening":
            flow["opening"] += entry.points
            flow["issued"] += entry.points
        elif entry.kind == "deduction":
            flow["deducted"] -= entry.points
        elif entry.kind == "reversal" and basis == "award":
            flow["reversed_awards"] -= entry.points
            flow["reversals"] += 1
        elif entry.kind == "reversal" and basis == "deduction":
            flow["reversed_deductions"] += entry.points
            flow["reversals"] += 1
        elif basis == "redemption":  # the redemption, or its void
            flow["redeemed"] -= entry.points
    return flows


def expected_zone_points(village, start, end) -> dict:
    totals = defaultdict(int)
    for line in RedemptionLine.objects.filter(redemption__village=village).select_related(
        "redemption", "zone"
    ):
        redemption = line.redemption
        if start <= redemption.created_at < end:
            totals[line.zone.get_code_display()] += line.points
        if redemption.voided_at is not None and start <= redemption.voided_at < end:
            totals[line.zone.get_code_display()] -= line.points
    return {zone: points for zone, points in totals.items() if points}


def expected_stock_points(village) -> int:
    """What the shelves fetch at points prices: the goods on sale, from their movements,
    less what the corrections waiting set aside to be written off."""
    stock = defaultdict(int)
    for movement in StockMovement.objects.filter(village=village):
        stock[movement.item_id] += movement.quantity
    for correction in StockCorrection.objects.filter(village=village, status="pending"):
        stock[correction.item_id] -= correction.set_aside
    prices = {item.pk: item.points_price for item in village.items.filter(is_active=True)}
    return sum(quantity * prices.get(item_id, 0) for item_id, quantity in stock.items())


def expected_redeemed_month(village, month) -> int:
    """Points the store took in during the month, less what the month's voids gave back:
    from the store's own rows (a redemption in the month it was made, its void in the month
    the void was)."""
    redemptions = Redemption.objects.filter(village=village)
    return sum(r.total_points for r in redemptions if local_month(r.created_at) == month) - sum(
        r.total_points
        for r in redemptions
        if r.voided_at is not None and local_month(r.voided_at) == month
    )


F = StockMovement.FundSource


def give_points(household, points, actor):
    account = Account.objects.get(household=household)
    entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=points, actor=actor)


@pytest.fixture
def story(zones_x, village_x, card_a, card_b, manager_x, supervisor_x, redeem):  # noqa: F811
    """The hand-worked donation story of tests/reports/test_traceability.py.

    Two items, rice and oil, in booking order:

         1 P1  purchase rice 10 (poverty bureau, ¥300)
         2 D1  donated goods: rice 5, oil 4 (declared ¥330)
         3 R1  household A redeems rice 8
         4 M1  money donation ¥500
         5 D2  donated goods: rice 6 (declared ¥120)
         6 R2  household B redeems rice 5, oil 2
         7 W1  rice 1 written off (spoiled)
         8 P2  purchase rice 4 paid from M1 (¥160)
         9 R3  household A redeems rice 9
        10 R4  household B redeems rice 2 — then voided (as if it never happened)
        11 R5  household B redeems rice 1, oil 1
        12 S1  stock-take finds oil 1 short

    Rice, oldest lot first: R1 takes P1 8; R2 takes P1 2 + D1 3; W1 takes D1 1; R3 takes D1 1 +
    D2 6 + P2 2; R5 takes P2 1; one rice of P2 is left. Oil: R2 takes D1 2, R5 D1 1, S1 D1 1.
    """
    rice_item = make_item(village_x, "grain_oil", "大米", 20, 0, manager_x, unit="袋")
    oil_item = make_item(village_x, "grain_oil", "菜籽油", 30, 0, manager_x, unit="桶")
    a, b = card_a.household, card_b.household
    give_points(a, 1000, supervisor_x)
    give_points(b, 1000, supervisor_x)
    grain_co = Donor.objects.create(village=village_x, name="延安爱心粮油", kind="company")
    person = Donor.objects.create(village=village_x, name="张建国", kind="person")

    def goods(donor, value, lines):
        return donation_record(
            village=village_x,
            donor=donor,
            kind=Donation.Kind.GOODS,
            value_yuan=Decimal(value),
            thanks="谢谢",
            actor=manager_x,
            goods={item.pk: qty for item, qty in lines.items()},
        )

    s = {"rice": rice_item, "oil": oil_item, "A": a, "B": b}
    s["P1"] = stock_purchase(
        item=rice_item,
        quantity=10,
        fund_source=F.POVERTY_BUREAU,
        cost_yuan=Decimal(300),
        actor=manager_x,
    )
    s["D1"] = goods(grain_co, "330", {rice_item: 5, oil_item: 4})
    s["R1"] = redeem(a, {rice_item: 8}, manager_x)
    s["M1"] = donation_record(
        village=village_x,
        donor=person,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal(500),
        thanks="谢谢张先生",
        actor=manager_x,
    )
    s["D2"] = goods(grain_co, "120", {rice_item: 6})
    s["R2"] = redeem(b, {rice_item: 5, oil_item: 2}, manager_x)
    s["W1"] = write_off(rice_item, 1, "spoiled", "受潮", manager_x, supervisor_x)
    s["P2"] = stock_purchase(
        item=rice_item,
        quantity=4,
        fund_source=F.DONATED_MONEY,
        cost_yuan=Decimal(160),
        paid_by=s["M1"],
        actor=manager_x,
    )
    s["R3"] = redeem(a, {rice_item: 9}, manager_x)
    s["R4"] = redeem(b, {rice_item: 2}, manager_x)
    redemption_void(redemption=s["R4"], actor=supervisor_x, reason="登记有误")
    s["R5"] = redeem(b, {rice_item: 1, oil_item: 1}, manager_x)
    s["S1"] = count(oil_item, 0, "盘点短少", manager_x, supervisor_x)
    return s


# A second county of the same (provincial) database, with its own admin.


@pytest.fixture
def county_b(db):
    return CountyFactory(name="黄龙縣")


@pytest.fixture
def village_b(county_b):
    return VillageFactory(
        name="乙村", code="909", township=TownshipFactory(county=county_b, name="白马滩鄉")
    )


@pytest.fixture
def county_admin_b(village_b, county_b):
    return make_staff(Role.COUNTY_ADMIN, county=county_b, username="county_b")


def carry_over_approved(client_manager, client_supervisor):
    """The paper ledger of tests/points/test_carry_over.py imported and approved: 350 for
    X001 and 80 for X002, each less its card's 100: 250 and -20 carried over."""
    client_manager.post(
        reverse("points:carry_over_upload"),
        {"file": xlsx_file(good_rows()), "paper_total": "430"},
    )
    payload = client_manager.get(reverse("points:carry_over_preview")).context["payload"]
    client_manager.post(
        reverse("points:carry_over_confirm"), {"payload": payload, "idempotency_key": form_key()}
    )
    batch = CarryOver.objects.get().batch_id
    client_supervisor.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{batch}", "idempotency_key": form_key()},
    )


def table_rows(sheet) -> list[tuple]:
    """The county .xlsx's villages and its total row (the notes below it left out)."""
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    end = next(i for i, row in enumerate(rows) if row[0] in ("County total", "Township total"))
    return rows[: end + 1]
