"""The county's standing data: villages, households, people, staff, cards, rules and shelves.

Village 0 is 啊道村 with the source's 154 households; every village draws from its own
seeded generator, so 啊道村 comes out the same in the one-village, county and province
datasets.
"""

import datetime
import random
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group

from core.access import Role
from demo.county.copyrows import NULL, Table, ts
from demo.ledger import RULES
from demo.registry import FEMALE_GIVEN, MALE_GIVEN, STAFF_PASSWORD, SURNAMES, VILLAGER_PIN
from demo.store import CATALOGUE, DONORS
from points.models import Rule
from store.models import Donor, Item, Zone
from villagers.cardnumbers import card_number_make
from villagers.models import County, Township, User, Village, VillageGroup
from villagers.services import villager_username_new

COUNTY = "宜川县"
TOWNSHIPS = ["英旺乡", "丹州街道", "秋林镇", "云岩镇", "集义镇", "壶口镇", "交里乡"]
# A province is counties of 47 villages each: 宜川县 first, then these.
VILLAGES_PER_COUNTY = 47
OTHER_COUNTIES = ["延长县", "延川县", "子长市", "安塞区", "志丹县", "吴起县", "甘泉县", "富县",
                  "洛川县", "黄龙县", "黄陵县", "宝塔区"]  # fmt: skip
NAME_HEADS = "东西南北上下前后新老高白杨柳枣桃杏石马龙凤云"
NAME_TAILS = ["沟", "庄", "塬", "坪", "河", "湾", "岭", "峪", "川", "坡", "渠", "寨"]
GROUP_NAMES = ["一组", "二组", "三组", "四组", "五组"]
HOUSEHOLD_SIZES = (list(range(1, 9)), [4, 10, 17, 24, 22, 13, 6, 4])  # mean 4.33 people
Z = Zone.Code
# More goods than the demo shop, so the catalogue runs to a second page like a real store's.
EXTRA_ITEMS = [
    (Z.GRAIN_OIL, "小米 5kg", "袋", 12, "34.00", 30),
    (Z.GRAIN_OIL, "绿豆 2kg", "袋", 8, "22.00", 30),
    (Z.GRAIN_OIL, "花生油 5L", "桶", 30, "88.00", 20),
    (Z.GRAIN_OIL, "白糖 1kg", "袋", 3, "8.00", 50),
    (Z.DAILY, "陈醋 500ml", "瓶", 2, "5.00", 40),
    (Z.DAILY, "蜡烛 10支", "包", 2, "5.00", 30),
    (Z.DAILY, "电池 4节", "板", 3, "8.00", 40),
    (Z.DAILY, "保温饭盒", "个", 12, "34.00", 10),
    (Z.DAILY, "雨伞", "把", 8, "22.00", 15),
    (Z.TOILETRIES, "洗洁精 1kg", "瓶", 4, "10.00", 40),
    (Z.TOILETRIES, "牙刷 3支", "板", 2, "6.00", 50),
    (Z.TOILETRIES, "沐浴露 750ml", "瓶", 10, "28.00", 20),
    (Z.CLOTHING, "秋衣秋裤", "套", 20, "55.00", 12),
    (Z.CLOTHING, "棉帽", "顶", 6, "16.00", 20),
    (Z.CLOTHING, "雨靴", "双", 12, "34.00", 15),
    (Z.FARM, "花椒苗 10株", "捆", 8, "22.00", 20),
    (Z.FARM, "喷雾器", "台", 30, "85.00", 6),
    (Z.FARM, "果树剪", "把", 6, "16.00", 15),
    (Z.APPLIANCES, "电热毯", "条", 30, "85.00", 8),
    (Z.APPLIANCES, "插线板", "个", 8, "22.00", 20),
]
STORE_ITEMS = CATALOGUE + EXTRA_ITEMS


# The hygiene inspections' columns: both the registry and the history write them.
INSPECTION_COLUMNS = [
    "household_id",
    "date",
    "inspector_id",
    "yard_clean",
    "bedroom_clean",
    "kitchen_clean",
    "toilet_clean",
    "person_clean",
    "belongings_in_order",
    "notes",
    "created_at",
]


@dataclass
class VillagePlan:
    """One village's ids and its own random generator (used in a fixed order)."""

    index: int
    rng: random.Random
    first_month: datetime.date  # its history (and its households' registration) begins
    households: int = 0  # how many to register; 0: drawn from the village's generator
    village_id: int = 0
    code: str = ""
    manager_id: int = 0
    supervisor_id: int = 0
    group_ids: list[int] = field(default_factory=list)
    # (household id, account id, head name), card holders only
    accounts: list[tuple[int, int, str]] = field(default_factory=list)
    elders: dict[int, list[int]] = field(default_factory=dict)  # household -> older women
    rules: dict[str, tuple[int, int]] = field(default_factory=dict)  # code -> (id, points)
    items: list[tuple[int, int, str, int]] = field(default_factory=list)  # id, price, cost, base
    item_zones: dict[int, int] = field(default_factory=dict)  # item id -> zone id
    donor_ids: list[int] = field(default_factory=list)
    # account id -> (issue time, card number): the history posts each opening grant then
    card_issued: dict[int, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class VillageSpec:
    """A village to add: where, what it is called, its size and when its history begins."""

    township: Township
    name: str
    code: str
    first_month: datetime.date
    households: int = 0  # 0: drawn (110-196)
    index: int = 0  # picks the village's generator; 0 is 啊道村 with the source's 154


def _village_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(NAME_HEADS) + rng.choice(NAME_TAILS) + "村"
        if name not in taken:
            taken.add(name)
            return name


def _person_name(rng: random.Random, surname: str, sex: str) -> str:
    pool = MALE_GIVEN if sex == "M" else FEMALE_GIVEN
    return surname + "".join(rng.choice(pool) for _i in range(1 if rng.random() < 0.3 else 2))


def villages_create(*, count: int, seed: int, first_month: datetime.date) -> list[VillagePlan]:
    """The counties, their townships and administrators, and `count` villages, 47 a county
    (see villages_add).

    The first county is 宜川县 with villages 101-147, drawn the same whether the dataset is a
    county or a province; village i draws from generator i wherever it is, so 啊道村 (101)
    has the same history in every dataset. The first county's administrator is `county`,
    the others' `county02`, `county03`...
    """
    county_count = -(-count // VILLAGES_PER_COUNTY)
    admin_group = Group.objects.get(name=Role.COUNTY_ADMIN)
    names_rng, taken = random.Random(f"{seed}:names"), {"啊道村"}
    specs = []
    for county_index in range(county_count):
        name = COUNTY if county_index == 0 else OTHER_COUNTIES[county_index - 1]
        county = County.objects.create(name=name)
        townships = [
            Township.objects.create(county=county, name=township)
            for township in _township_names(county_index, seed)
        ]
        username = "county" if county_index == 0 else f"county{county_index + 1:02d}"
        display_name = "县管理员" if county_index == 0 else f"{name}管理员"
        admin = User(username=username, display_name=display_name, is_staff=True, county=county)
        admin.password = make_password(STAFF_PASSWORD)
        admin.save()
        admin.groups.add(admin_group)
        if county_index:  # names are unique within a county; the first keeps its draws
            names_rng, taken = random.Random(f"{seed}:names:{county_index}"), set()
        first_index = county_index * VILLAGES_PER_COUNTY
        for index in range(first_index, min(count, first_index + VILLAGES_PER_COUNTY)):
            specs.append(
                VillageSpec(
                    township=townships[index % len(townships)],
                    name="啊道村" if index == 0 else _village_name(names_rng, taken),
                    code=f"{101 + index:03d}",
                    first_month=first_month,
                    index=index,
                )
            )
    return villages_add(specs, seed=seed)


def _township_names(county_index: int, seed: int) -> list[str]:
    """宜川县's seven real townships; the other counties' drawn (unique within each)."""
    if county_index == 0:
        return TOWNSHIPS
    rng, names = random.Random(f"{seed}:townships:{county_index}"), []
    while len(names) < len(TOWNSHIPS):
        name = rng.choice(NAME_HEADS) + rng.choice(NAME_TAILS) + rng.choice(["镇", "乡"])
        if name not in names:
            names.append(name)
    return names


def villages_add(specs: list[VillageSpec], *, seed: int) -> list[VillagePlan]:
    """Villages of an existing county with their manager and supervisor (manager<code>,
    supervisor<code>), groups, rules and shelves; households come from households_create."""
    villages = [
        # No publicity period: the history is credited at approval, and bench/ledger.py
        # measures approval that posts the entry (with one, `credit_due` posts it later).
        # Its records begin with its history (the households are registered then).
        Village(
            township=spec.township,
            name=spec.name,
            code=spec.code,
            publicity_days=0,
            started_on=spec.first_month,
        )
        for spec in specs
    ]
    Village.objects.bulk_create(villages)
    plans = [
        VillagePlan(
            index=spec.index,
            rng=random.Random(f"{seed}:village:{spec.index}"),
            first_month=spec.first_month,
            households=spec.households,
        )
        for spec in specs
    ]

    staff_hash = make_password(STAFF_PASSWORD)
    groups = {group.name: group for group in Group.objects.filter(name__in=Role.ALL)}
    staff = []
    for village in villages:
        staff += [
            User(
                username=f"manager{village.code}",
                display_name=f"{village.name}管理员",
                is_staff=True,
                village=village,
            ),
            User(
                username=f"supervisor{village.code}",
                display_name=f"{village.name}第一书记",
                is_staff=True,
                village=village,
            ),
        ]
    for user in staff:
        user.password = staff_hash
    User.objects.bulk_create(staff)
    memberships = []
    for offset, plan in enumerate(plans):
        village = villages[offset]
        manager, supervisor = staff[2 * offset], staff[1 + 2 * offset]
        plan.village_id, plan.code = village.pk, village.code
        plan.manager_id, plan.supervisor_id = manager.pk, supervisor.pk
        memberships += [
            User.groups.through(user=manager, group=groups[Role.MANAGER]),
            User.groups.through(user=supervisor, group=groups[Role.SUPERVISOR]),
        ]
    User.groups.through.objects.bulk_create(memberships)
    _village_groups(plans)
    _rules_and_shelves(plans, villages)
    return plans


def _village_groups(plans: list[VillagePlan]) -> None:
    groups = []
    for plan in plans:
        count = 3 if plan.index == 0 else plan.rng.randint(3, 5)
        groups += [VillageGroup(village_id=plan.village_id, name=n) for n in GROUP_NAMES[:count]]
    VillageGroup.objects.bulk_create(groups)
    for group in groups:
        next(p for p in plans if p.village_id == group.village_id).group_ids.append(group.pk)


def _rules_and_shelves(plans: list[VillagePlan], villages: list[Village]) -> None:
    rules, zones, donors = [], [], []
    for village in villages:
        rules += [
            Rule(
                village=village,
                code=code,
                category=category,
                description=text,
                points=points,
                monthly_cap=cap,
            )
            for code, category, text, points, cap in RULES
        ]
        zones += [Zone(village=village, code=code, position=i) for i, code in enumerate(Z.values)]
        donors += [Donor(village=village, name=name, kind=kind) for name, kind in DONORS]
    Rule.objects.bulk_create(rules)
    Zone.objects.bulk_create(zones)
    Donor.objects.bulk_create(donors)
    zone_of = {(zone.village_id, zone.code): zone for zone in zones}
    items = [
        Item(
            village=village,
            zone=zone_of[(village.pk, code)],
            name=name,
            unit=unit,
            points_price=price,
            low_stock_threshold=max(2, base // 5),
        )
        for village in villages
        for code, name, unit, price, _cost, base in STORE_ITEMS
    ]
    Item.objects.bulk_create(items)
    by_village = {plan.village_id: plan for plan in plans}
    for rule in rules:
        by_village[rule.village_id].rules[rule.code] = (rule.pk, rule.points)
    for donor in donors:
        by_village[donor.village_id].donor_ids.append(donor.pk)
    per_village = len(STORE_ITEMS)
    for offset, plan in enumerate(plans):
        shelf = items[offset * per_village : (offset + 1) * per_village]
        plan.items = [
            (item.pk, item.points_price, cost, base)
            for item, (_z, _n, _u, _p, cost, base) in zip(shelf, STORE_ITEMS, strict=True)
        ]
        plan.item_zones = {item.pk: item.zone_id for item in shelf}


def households_create(cursor, plans: list[VillagePlan], offset: str):
    """Households, members, first inspections and participations, cards, logins, accounts.

    Each village's households register in its first month; about 95% hold a card from then
    on. The opening grants are posted by the history, which owns the ledger. Returns the
    tables it filled.
    """
    households = Table(
        cursor,
        "villagers_household",
        [
            "village_id",
            "group_id",
            "number",
            "head_name",
            "address",
            "phone",
            "is_poor",
            "poverty_exit_year",
            "status",
            "created_at",
        ],
    )
    members = Table(
        cursor,
        "villagers_member",
        ["household_id", "name", "relation", "sex", "birth_year", "id_number", "phone"],
    )
    inspections = Table(cursor, "villagers_inspection", INSPECTION_COLUMNS)
    participations = Table(
        cursor,
        "villagers_participation",
        ["household_id", "date", "activity", "notes", "recorded_by_id", "created_at"],
    )
    cards = Table(
        cursor,
        "villagers_card",
        ["household_id", "number", "status", "issued_at", "issued_by_id", "ended_at", "end_reason"],
    )
    logins = Table(
        cursor,
        "villagers_user",
        [
            "password",
            "last_login",
            "is_superuser",
            "username",
            "first_name",
            "last_name",
            "email",
            "is_staff",
            "is_active",
            "date_joined",
            "village_id",
            "county_id",
            "household_id",
            "display_name",
        ],
    )
    accounts = Table(
        cursor, "points_account", ["household_id", "village_id", "balance", "opened_at"]
    )
    pin_hash = make_password(VILLAGER_PIN)
    for plan in plans:
        rng, start = plan.rng, plan.first_month
        count = plan.households or (154 if plan.index == 0 else rng.randint(110, 196))
        for number in range(1, count + 1):
            group_id = plan.group_ids[(number - 1) * len(plan.group_ids) // count]
            surname = rng.choice(SURNAMES)
            head = _person_name(rng, surname, "M")
            registered = ts(start, 9, rng.randint(0, 59), offset)
            is_poor = rng.random() < 0.2
            household_id = households.add(
                plan.village_id,
                group_id,
                f"{number:03d}",
                head,
                f"{number}号",
                f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
                is_poor,
                rng.choice([NULL, 2019, 2020]) if is_poor else NULL,
                "active",
                registered,
            )
            size = rng.choices(*HOUSEHOLD_SIZES)[0]
            head_year = rng.randint(1950, 1990)
            members.add(household_id, head, "head", "M", head_year, "", "")
            elders = []
            for person in range(1, size):
                sex = rng.choice("MF")
                relation, year = (
                    ("spouse", head_year + rng.randint(-3, 3))
                    if person == 1
                    else ("child", min(head_year + rng.randint(20, 32), 2018))
                )
                if relation == "spouse":
                    sex = "F"
                member_id = members.add(
                    household_id,
                    _person_name(rng, rng.choice(SURNAMES), sex),
                    relation,
                    sex,
                    year,
                    "",
                    "",
                )
                if sex == "F" and year < 1970:
                    elders.append(member_id)
            day = start + datetime.timedelta(days=rng.randint(0, 9))
            holds_card = rng.random() < 0.95
            checks = [True] * 6 if holds_card else [True] * 5 + [False]
            inspections.add(household_id, day, plan.manager_id, *checks, "", registered)
            if not holds_card:
                continue
            participations.add(household_id, day, "参加村集体活动", "", plan.manager_id, registered)
            issued = ts(day + datetime.timedelta(days=1), 10, rng.randint(0, 59), offset)
            card_number = card_number_make(plan.code, len(plan.accounts) + 1)
            cards.add(household_id, card_number, "active", issued, plan.manager_id, NULL, "")
            logins.add(
                pin_hash,
                NULL,
                False,
                villager_username_new(),
                "",
                "",
                "",
                False,
                True,
                issued,
                plan.village_id,
                NULL,
                household_id,
                head,
            )
            account_id = accounts.add(household_id, plan.village_id, 0, issued)
            plan.accounts.append((household_id, account_id, head))
            plan.card_issued[account_id] = (issued, card_number)
            if elders:
                plan.elders[household_id] = elders
    tables = [households, members, inspections, participations, cards, logins, accounts]
    for table in tables:
        table.flush(cursor)
    return tables
