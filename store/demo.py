"""Demo store for 啊道村: six zones of goods, purchases from every fund, donors and a year at
the counter. Everything goes through the services (and so the ledger), in date order.

Ledger entries carry the time they were posted (now); redemptions and stock movements carry
the demo date they stand for, so the store's pages show a year of history.
"""

import datetime
import uuid
from decimal import Decimal

from django.utils import timezone

from points.models import Account
from store.models import Donation, Donor, Item, StockMovement, Zone
from store.services import (
    donation_record,
    donor_save,
    item_save,
    redemption_create,
    redemption_void,
    stock_purchase,
    stock_take,
    stock_write_off,
    zones_ensure,
)

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


def _at(day: datetime.date, rng) -> datetime.datetime:
    moment = datetime.datetime.combine(day, datetime.time(rng.randint(8, 17), rng.randint(0, 59)))
    return timezone.make_aware(moment)


def load(ctx) -> None:
    village = ctx.village
    manager = ctx.staff.get("manager")
    if village is None or manager is None:
        return
    rng = ctx.rng
    today = timezone.localdate()
    start = today - datetime.timedelta(days=365)
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
            fund_source=FUNDS[index % len(FUNDS)],
            cost_yuan=Decimal(cost) * stock,
            note="开业首批采购",
            at=_at(start, rng),
            actor=manager,
        )
        items.append((item, Decimal(cost), stock))

    donors = [
        donor_save(donor=Donor(village=village, name=name, kind=kind), actor=manager)
        for name, kind in DONORS
    ]
    _donations(ctx, village, donors, items, start, manager)
    # Money donations, oldest first, with what is left of each to spend on restocking.
    ctx.money_left = {
        donation: donation.value_yuan
        for donation in Donation.objects.filter(village=village, kind=Donation.Kind.MONEY).order_by(
            "received_on", "pk"
        )
    }
    _year_at_the_counter(ctx, village, items, start, today, manager)
    _housekeeping(ctx, village, items, manager)


def _donations(ctx, village, donors, items, start, manager):
    rng = ctx.rng
    by_name = {item.name: item for item, _cost, _stock in items}
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
        donation_record(
            village=village,
            donor=donor,
            kind=Donation.Kind.MONEY,
            value_yuan=Decimal(amount),
            description=what,
            thanks=thanks,
            received_on=start + datetime.timedelta(days=20 + 70 * offset + rng.randint(0, 9)),
            actor=manager,
        )
    goods = [
        (donors[2], {"大米 10kg": 20, "菜籽油 5L": 15}, "粮油", "感谢延安爱心粮油有限公司！"),
        (donors[3], {"电热水壶": 5, "LED台灯": 6}, "小家电", "感谢秦川电器为村民送温暖！"),
        (donors[5], {"棉袜 5双装": 20, "毛巾": 20}, "冬季用品", "感谢刘秀兰老师！"),
    ]
    for offset, (donor, lines, what, thanks) in enumerate(goods):
        value = sum(
            Decimal(cost) * lines[item.name] for item, cost, _s in items if item.name in lines
        )
        donation_record(
            village=village,
            donor=donor,
            kind=Donation.Kind.GOODS,
            value_yuan=value,
            description=what,
            thanks=thanks,
            goods={by_name[name].pk: quantity for name, quantity in lines.items()},
            received_on=start + datetime.timedelta(days=60 + 100 * offset + rng.randint(0, 9)),
            actor=manager,
        )


def _year_at_the_counter(ctx, village, items, start, today, manager):
    """About every six weeks a household comes in and spends part of what it has."""
    rng = ctx.rng
    accounts = list(
        Account.objects.filter(village=village)
        .select_related("household")
        .order_by("household__number", "pk")
    )
    redeemed = []
    day = start + datetime.timedelta(days=7)
    while day < today:
        for account in accounts:
            if rng.random() > 0.22:
                continue
            account.refresh_from_db(fields=["balance"])
            budget = int(account.balance * rng.uniform(0.2, 0.7))
            stocks = dict(Item.objects.filter(village=village).values_list("pk", "stock"))
            lines = {}
            for item, _cost, _stock in rng.sample(items, k=6):
                if item.points_price <= budget and stocks[item.pk] > 0:
                    quantity = min(rng.randint(1, 2), stocks[item.pk], budget // item.points_price)
                    lines[item.pk] = quantity
                    budget -= item.points_price * quantity
            if not lines:
                continue
            redeemed.append(
                redemption_create(
                    village=village,
                    household=account.household,
                    lines=lines,
                    idempotency_key=uuid.uuid5(
                        uuid.NAMESPACE_URL, f"aidao-demo/{village.code}/{rng.getrandbits(64)}"
                    ),
                    actor=manager,
                    at=_at(day, rng),
                )
            )
        _restock(ctx, items, day, manager)
        day += datetime.timedelta(days=rng.randint(8, 16))
    supervisor = ctx.staff.get("supervisor")
    if supervisor is not None and len(redeemed) > 10:
        for redemption in rng.sample(redeemed, k=2):
            redemption_void(
                redemption=redemption, actor=supervisor, reason="兑换登记有误，退回积分和商品"
            )


def _restock(ctx, items, day, manager):
    stocks = dict(
        Item.objects.filter(pk__in=[i.pk for i, _c, _s in items]).values_list("pk", "stock")
    )
    for index, (item, cost, stock) in enumerate(items):
        if stocks[item.pk] <= item.low_stock_threshold:
            fund = FUNDS[(index + day.month) % len(FUNDS)]
            paid_by = None
            if fund == StockMovement.FundSource.DONATED_MONEY:
                paid_by = _donation_paying(ctx, day, cost * stock)
            stock_purchase(
                item=item,
                quantity=stock,
                fund_source=fund,
                cost_yuan=cost * stock,
                note="补货",
                at=_at(day, ctx.rng),
                paid_by=paid_by,
                actor=manager,
            )


def _donation_paying(ctx, day, cost):
    """The oldest money donation received by `day` with `cost` left to spend, if any."""
    for donation, left in getattr(ctx, "money_left", {}).items():
        if donation.received_on <= day and left >= cost:
            ctx.money_left[donation] = left - cost
            return donation
    return None


def _housekeeping(ctx, village, items, manager):
    """This month's stock-take found a shortfall, and some goods spoiled."""
    by_name = {item.name: item for item, _cost, _stock in items}
    noodles = by_name["挂面 1kg"]
    noodles.refresh_from_db(fields=["stock"])
    if noodles.stock > 3:
        stock_write_off(item=noodles, quantity=2, cause="spoiled", reason="受潮发霉", actor=manager)
    soap = by_name["香皂"]
    soap.refresh_from_db(fields=["stock"])
    if soap.stock > 1:
        stock_take(item=soap, counted=soap.stock - 1, reason="月末盘点短少1块", actor=manager)
