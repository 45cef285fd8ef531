"""Demo store for 啊道村: six zones of goods, purchases from every fund, donors and a year at
the counter. Everything goes through the services (and so the ledger), in date order.

`load` stocks the store at the start of the history; `load_month` replays one past month
(donations, a redemption day after the 20th, restocking) with `at=` so redemptions, their
ledger entries and stock movements carry the date they stand for; `load_present` adds
today's few redemptions and this month's stock-take.
"""

import datetime
import uuid
from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from points.models import Account
from store.models import Donation, Donor, Item, StockMovement, Zone
from store.services import (
    CountLine,
    count_expected,
    donation_record,
    donor_save,
    item_save,
    redemption_create,
    redemption_void,
    stock_corrections_confirm,
    stock_count_record,
    stock_purchase,
    stock_write_off_request,
    zones_ensure,
)
from villagers.models import Card

Z = Zone.Code
# zone, name, unit, points price (1 point = 3 yuan), purchase cost per unit in yuan, stock
CATALOGUE = [
    (Z.GRAIN_OIL, "大米 10kg", "袋", 17, "48.00", 40),
    (Z.GRAIN_OIL, "面粉 10kg", "袋", 15, "42.00", 40),
    (Z.GRAIN_OIL, "菜籽油 5L", "桶", 20, "58.00", 30),
    (Z.GRAIN_OIL, "挂面 1kg", "把", 3, "7.50", 60),
    (Z.GRAIN_OIL, "食盐 400g", "袋", 1, "2.50", 80),
    (Z.DAILY, "酱油 500ml", "瓶", 3, "7.00", 40),
    (Z.DAILY, "卫生纸 10卷", "提", 6, "16.00", 40),
    (Z.DAILY, "暖水瓶", "个", 10, "28.00", 10),
    (Z.DAILY, "搪瓷脸盆", "个", 5, "13.00", 15),
    (Z.TOILETRIES, "香皂", "块", 2, "4.50", 60),
    (Z.TOILETRIES, "洗衣粉 2kg", "袋", 6, "16.00", 40),
    (Z.TOILETRIES, "牙膏", "支", 3, "8.00", 50),
    (Z.TOILETRIES, "洗发水 400ml", "瓶", 8, "22.00", 25),
    (Z.TOILETRIES, "毛巾", "条", 3, "7.00", 50),
    (Z.CLOTHING, "棉大衣", "件", 40, "115.00", 8),
    (Z.CLOTHING, "劳保鞋", "双", 15, "42.00", 15),
    (Z.CLOTHING, "棉袜 5双装", "包", 4, "10.00", 30),
    (Z.CLOTHING, "劳保手套", "副", 1, "2.00", 80),
    (Z.FARM, "玉米种子 2kg", "袋", 12, "34.00", 30),
    (Z.FARM, "复合肥 50kg", "袋", 55, "160.00", 12),
    (Z.FARM, "地膜", "卷", 15, "42.00", 15),
    (Z.FARM, "锄头", "把", 10, "28.00", 8),
    (Z.APPLIANCES, "电热水壶", "个", 25, "70.00", 6),
    (Z.APPLIANCES, "电饭锅", "个", 60, "175.00", 4),
    (Z.APPLIANCES, "电风扇", "台", 50, "145.00", 4),
    (Z.APPLIANCES, "LED台灯", "个", 18, "50.00", 8),
]

DONORS = [
    ("宜川县扶贫局", Donor.Kind.GOVERNMENT),
    ("宜川县民政局", Donor.Kind.GOVERNMENT),
    ("延安爱心粮油有限公司", Donor.Kind.COMPANY),
    ("陕西秦川电器有限公司", Donor.Kind.COMPANY),
    ("张建国（在外务工人员）", Donor.Kind.PERSON),
    ("刘秀兰（退休教师）", Donor.Kind.PERSON),
]

FUNDS = list(StockMovement.FundSource.values)
# The opening stock is bought before any gift of money has come in.
OPENING_FUNDS = [fund for fund in FUNDS if fund != StockMovement.FundSource.DONATED_MONEY]


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    moment = datetime.datetime.combine(day, datetime.time(hour)) + datetime.timedelta(
        minutes=minute
    )
    return timezone.make_aware(moment)


class _Store:
    """What the store demo keeps between its hooks."""

    def __init__(self, village, manager, supervisor, items, donors):
        self.village = village
        self.manager = manager
        self.supervisor = supervisor
        self.items = items  # [(item, cost per unit, quantity bought at a time)]
        self.donors = donors
        self.donations = defaultdict(list)  # month -> [donation_record keyword arguments]
        self.money_left = {}  # money donation -> yuan left to spend on restocking
        self.habits = {}  # account id -> (chance of coming on a month's day, share spent)
        self.voids = set()  # months in which the supervisor voids a redemption


def load(ctx) -> None:
    """Set-up: zones, the catalogue and its first purchase at the start, donors, a plan."""
    village = ctx.village
    manager = ctx.staff.get("manager")
    ctx.store = None
    if village is None or manager is None:
        return
    rng = ctx.rng
    zones = {zone.code: zone for zone in zones_ensure(village=village)}
    items = []
    for index, (code, name, unit, price, cost, stock) in enumerate(CATALOGUE):
        item = item_save(
            item=Item(
                village=village,
                zone=zones[code],
                name=name,
                unit=unit,
                points_price=price,
                low_stock_threshold=max(2, stock // 5),
            ),
            actor=manager,
        )
        stock_purchase(
            item=item,
            quantity=stock,
            fund_source=OPENING_FUNDS[index % len(OPENING_FUNDS)],
            cost_yuan=Decimal(cost) * stock,
            note="开业首批采购",
            at=ctx.start + datetime.timedelta(hours=3, minutes=index),
            actor=manager,
        )
        items.append((item, Decimal(cost), stock))
    donors = [
        donor_save(donor=Donor(village=village, name=name, kind=kind), actor=manager)
        for name, kind in DONORS
    ]
    store = _Store(village, manager, ctx.staff.get("supervisor"), items, donors)
    _donations_plan(ctx, store)
    accounts = Account.objects.filter(village=village).order_by("pk")
    for account in accounts:
        # Some households come to most redemption days and spend a little each time, some
        # save up for a larger thing and come now and then.
        store.habits[account.pk] = (rng.uniform(0.15, 0.45), rng.uniform(0.2, 0.5))
    demo_household = _demo_household(village)
    if demo_household is not None:
        account = Account.objects.filter(household=demo_household).first()
        if account is not None:
            # The demo villager shops nearly every month, so its history shows the counter.
            store.habits[account.pk] = (0.9, 0.35)
    store.voids = set(rng.sample(ctx.months, k=2))
    ctx.store = store


def _demo_household(village):
    """The household whose card number the demo logins print."""
    card = (
        Card.objects.filter(status=Card.Status.ACTIVE, household__village=village)
        .exclude(household__users__is_staff=True)
        .order_by("household__number")
        .first()
    )
    return card.household if card else None


def _donations_plan(ctx, store):
    """Money and goods donations through the year, each in the first days of its month."""
    rng, months, donors = ctx.rng, ctx.months, store.donors
    money = [
        (
            donors[0],
            "20000",
            "扶贫专项资金，用于采购粮油和日用品",
            "感谢宜川县扶贫局对爱心超市的支持！",
        ),
        (donors[1], "8000", "民政临时救助补贴", "感谢县民政局雪中送炭！"),
        (donors[4], "1000", "爱心捐款", "感谢张建国先生心系家乡！"),
        (donors[5], "500", "爱心捐款", "感谢刘秀兰老师的善举！"),
    ]
    for offset, (donor, amount, what, thanks) in enumerate(money):
        month = months[min(11, 2 * offset + rng.randint(0, 1))]
        store.donations[month].append(
            {
                "donor": donor,
                "kind": Donation.Kind.MONEY,
                "value_yuan": Decimal(amount),
                "description": what,
                "thanks": thanks,
                "received_on": month.replace(day=rng.randint(2, 18)),
            }
        )
    by_name = {item.name: (item, cost) for item, cost, _stock in store.items}
    goods = [
        (donors[2], {"大米 10kg": 20, "菜籽油 5L": 15}, "粮油", "感谢延安爱心粮油有限公司！"),
        (donors[3], {"电热水壶": 5, "LED台灯": 6}, "小家电", "感谢秦川电器为村民送温暖！"),
        (donors[5], {"棉袜 5双装": 20, "毛巾": 20}, "冬季用品", "感谢刘秀兰老师！"),
    ]
    for offset, (donor, lines, what, thanks) in enumerate(goods):
        month = months[min(11, 2 + 3 * offset + rng.randint(0, 1))]
        store.donations[month].append(
            {
                "donor": donor,
                "kind": Donation.Kind.GOODS,
                "value_yuan": sum(by_name[name][1] * qty for name, qty in lines.items()),
                "description": what,
                "thanks": thanks,
                "goods": {by_name[name][0].pk: qty for name, qty in lines.items()},
                "received_on": month.replace(day=rng.randint(2, 18)),
            }
        )


def load_month(ctx, month) -> None:
    """One past month: the donations that came in, then the redemption day (after the
    points of the month were decided, by the 20th), then restocking at closing time."""
    store = getattr(ctx, "store", None)
    if store is None:
        return
    for fields in sorted(store.donations.get(month, []), key=lambda f: f["received_on"]):
        donation = donation_record(village=store.village, actor=store.manager, **fields)
        if donation.kind == Donation.Kind.MONEY:
            store.money_left[donation] = donation.value_yuan
    day = month.replace(day=ctx.rng.randint(21, 28))
    redeemed, closing = _redemption_day(ctx, store, day)
    if month in store.voids and redeemed and store.supervisor is not None:
        closing += datetime.timedelta(minutes=5)
        redemption_void(
            redemption=ctx.rng.choice(redeemed),
            actor=store.supervisor,
            reason="兑换登记有误，退回积分和商品",
            at=closing,
        )
    # Restocking after the counter closes, so each item's movements run in time order.
    _restock(ctx, store, day, max(closing + datetime.timedelta(minutes=5), _at(day, 17, 30)))


def _redemption_day(ctx, store, day):
    """Households come to the counter one after another from half past eight and spend
    part of what they have; returns the redemptions and the time the last one was made."""
    rng = ctx.rng
    accounts = list(
        Account.objects.filter(village=store.village)
        .select_related("household")
        .order_by("household__number", "pk")
    )
    stocks = dict(Item.objects.filter(village=store.village).values_list("pk", "stock"))
    clock = _at(day, 8, 30)
    redeemed = []
    for account in accounts:
        chance, share = store.habits.get(account.pk, (0.3, 0.4))
        if rng.random() > chance:
            continue
        budget = int(account.balance * rng.uniform(share * 0.6, share * 1.4))
        lines = {}
        for item, _cost, _stock in rng.sample(store.items, k=6):
            if item.points_price <= budget and stocks[item.pk] > 0:
                quantity = min(rng.randint(1, 2), stocks[item.pk], budget // item.points_price)
                lines[item.pk] = quantity
                budget -= item.points_price * quantity
        if not lines:
            continue
        clock += datetime.timedelta(minutes=rng.randint(2, 7))
        redeemed.append(_redeem(ctx, store, account, lines, clock))
        for item_id, quantity in lines.items():
            stocks[item_id] -= quantity
    return redeemed, clock


def _redeem(ctx, store, account, lines, at=None):
    return redemption_create(
        village=store.village,
        household=account.household,
        lines=lines,
        idempotency_key=uuid.uuid5(
            uuid.NAMESPACE_URL, f"aidao-demo/{store.village.code}/{ctx.rng.getrandbits(64)}"
        ),
        actor=store.manager,
        at=at,
    )


def _restock(ctx, store, day, at):
    stocks = dict(
        Item.objects.filter(pk__in=[i.pk for i, _c, _s in store.items]).values_list("pk", "stock")
    )
    for index, (item, cost, stock) in enumerate(store.items):
        if stocks[item.pk] <= item.low_stock_threshold:
            fund = FUNDS[(index + day.month) % len(FUNDS)]
            paid_by = None
            if fund == StockMovement.FundSource.DONATED_MONEY:
                paid_by = _donation_paying(store, day, cost * stock)
                if paid_by is None:  # no gift has that much left: the collective pays
                    fund = StockMovement.FundSource.COLLECTIVE
            stock_purchase(
                item=item,
                quantity=stock,
                fund_source=fund,
                cost_yuan=cost * stock,
                note="补货",
                at=at + datetime.timedelta(minutes=index),
                paid_by=paid_by,
                actor=store.manager,
            )


def _donation_paying(store, day, cost):
    """The oldest money donation received by `day` with `cost` left to spend, if any."""
    for donation, left in store.money_left.items():
        if donation.received_on <= day and left >= cost:
            store.money_left[donation] = left - cost
            return donation
    return None


def load_present(ctx) -> None:
    """Today: a few households at the counter, and this month's stock-take and write-off."""
    store = getattr(ctx, "store", None)
    if store is None:
        return
    rng = ctx.rng
    stocks = dict(Item.objects.filter(village=store.village).values_list("pk", "stock"))
    accounts = list(
        Account.objects.filter(village=store.village, balance__gte=10)
        .select_related("household")
        .order_by("household__number", "pk")
    )
    for account in rng.sample(accounts, k=min(4, len(accounts))):
        cheap = [
            item for item, _c, _s in store.items if item.points_price <= 6 and stocks[item.pk] > 0
        ]
        lines = {item.pk: 1 for item in rng.sample(cheap, k=min(2, len(cheap)))}
        if lines:
            _redeem(ctx, store, account, lines)
            for item_id in lines:
                stocks[item_id] -= 1
    _housekeeping(store)


def _housekeeping(store):
    """This month's stock-take found a shortfall, and some goods spoiled: the write-off is
    confirmed by the supervisor; the count's difference waits for them on the demo, its
    missing bar of soap set aside (not on offer) meanwhile."""
    by_name = {item.name: item for item, _cost, _stock in store.items}
    noodles = by_name["挂面 1kg"]
    noodles.refresh_from_db(fields=["stock"])
    if noodles.stock > 3:
        write_off = stock_write_off_request(
            item=noodles, quantity=2, cause="spoiled", reason="受潮发霉", actor=store.manager
        )
        if store.supervisor is not None:
            stock_corrections_confirm(correction_ids=[write_off.pk], actor=store.supervisor)
    soap = by_name["香皂"]
    soap.refresh_from_db(fields=["stock"])
    if soap.stock > 1:
        expected = count_expected([soap])[soap.pk]
        stock_count_record(
            village=soap.village,
            lines=[
                CountLine(
                    item_id=soap.pk,
                    counted=expected - 1,
                    expected=expected,
                    reason="月末盘点短少1块",
                )
            ],
            actor=store.manager,
        )
