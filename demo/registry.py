"""Demo registry: 啊道村 of 英旺乡, 宜川县, as the 2018 county report describes it.

3 village groups, 154 households and 668 people, of whom 31 households / 96 people are
registered poor. Names are generated from common surnames of the area with a seeded random
generator, so every run gives the same village.
"""

import datetime

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils import timezone

from core.access import Role
from points.services import card_issue
from villagers.models import (
    Card,
    County,
    Household,
    Inspection,
    Member,
    Participation,
    Township,
    User,
    Village,
    VillageGroup,
)
from villagers.second_person import SecondPersonRequired, referral_open

HOUSEHOLDS = 154
PEOPLE = 668
POOR_HOUSEHOLDS = 31
POOR_PEOPLE = 96
GROUPS = [("啊道", 60), ("富庄", 52), ("杜河沟", 42)]

STAFF_PASSWORD = "aidao-demo-2018"  # noqa: S105 (printed demo login, not a secret)
VILLAGER_PIN = "1234"

SURNAMES = "王李张刘杨高白薛马贺冯曹郭赵雷师任党惠霍景兰田"
MALE_GIVEN = "建国军伟强明华平海涛斌勇林峰志文福贵生军宝成德有忠"
FEMALE_GIVEN = "秀英芳兰梅霞玲丽娟花琴艳红翠萍凤珍娥桂莲芬"
ACTIVITIES = [
    "义务打扫村道",
    "参加村集体植树",
    "帮助孤寡老人收秋",
    "参加村民大会",
    "义务修缮村卫生室",
    "参加苹果园集体劳动",
]

DEMO_LOGINS_TEXT = f"""
Demo logins ({{address}}):
  village manager (管理员)      manager     / {STAFF_PASSWORD}
  first secretary (监督员)      supervisor  / {STAFF_PASSWORD}
  county administrator         county      / {STAFF_PASSWORD}
  township officer (乡镇干部)   township    / {STAFF_PASSWORD}
  party secretary (组长)        secretary   / {STAFF_PASSWORD}
  villager: card number printed below, PIN {VILLAGER_PIN}  (every demo card has this PIN)
"""


def _sizes(rng, count: int, total: int, base: int) -> list[int]:
    """`count` household sizes around `base` that add up to exactly `total`."""
    sizes = [base] * count
    remaining = total - base * count
    while remaining > 0:
        sizes[rng.randrange(count)] += 1
        remaining -= 1
    while remaining < 0:
        index = rng.randrange(count)
        if sizes[index] > 1:
            sizes[index] -= 1
            remaining += 1
    return sizes


def _name(rng, surname: str, sex: str) -> str:
    pool = MALE_GIVEN if sex == Member.Sex.MALE else FEMALE_GIVEN
    length = 1 if rng.random() < 0.3 else 2
    return surname + "".join(rng.choice(pool) for _ in range(length))


def _id_number(rng, birth_year: int, sex: str, taken: set[str]) -> str:
    """A valid ID number of someone born in `birth_year`, none of `taken` (each person is
    registered once), added to it."""
    while True:
        body = f"610630{birth_year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        sequence = rng.randrange(0, 999)
        if (sequence % 2 == 1) != (sex == Member.Sex.MALE):
            sequence = (sequence + 1) % 1000
        body += f"{sequence:03d}"
        weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
        if body + check not in taken:
            taken.add(body + check)
            return body + check


def _members(rng, household: Household, size: int, taken: set[str]) -> list[Member]:
    """A plausible family: head, spouse, children, perhaps an elderly parent or grandchild."""
    surname = household.head_name[0]
    head_year = rng.randint(1950, 1990)
    head_sex = Member.Sex.MALE if rng.random() < 0.85 else Member.Sex.FEMALE
    people = [(household.head_name, Member.Relation.HEAD, head_sex, head_year)]
    if size >= 2:
        spouse_sex = Member.Sex.FEMALE if head_sex == Member.Sex.MALE else Member.Sex.MALE
        spouse_surname = rng.choice(SURNAMES)
        people.append(
            (
                _name(rng, spouse_surname, spouse_sex),
                Member.Relation.SPOUSE,
                spouse_sex,
                head_year + rng.randint(-3, 3),
            )
        )
    if size >= 5 and head_year > 1965:
        parent_sex = rng.choice([Member.Sex.MALE, Member.Sex.FEMALE])
        people.append(
            (
                _name(rng, surname, parent_sex),
                Member.Relation.PARENT,
                parent_sex,
                head_year - rng.randint(22, 30),
            )
        )
    while len(people) < size:
        sex = rng.choice([Member.Sex.MALE, Member.Sex.FEMALE])
        if head_year < 1965 and rng.random() < 0.4:
            relation, year = Member.Relation.GRANDCHILD, rng.randint(2008, 2016)
        else:
            relation, year = Member.Relation.CHILD, min(head_year + rng.randint(20, 32), 2017)
        people.append((_name(rng, surname, sex), relation, sex, year))
    members = []
    for name, relation, sex, year in people[:size]:
        adult = year <= 2000
        members.append(
            Member(
                household=household,
                name=name,
                relation=relation,
                sex=sex,
                birth_year=year,
                id_number=_id_number(rng, year, sex, taken),
                phone=f"1{rng.choice('35789')}{rng.randrange(10**9):09d}" if adult else "",
            )
        )
    return members


def _staff(username: str, display_name: str, role: str, **links) -> User:
    user = User.objects.create(
        username=username,
        display_name=display_name,
        is_staff=True,
        password=make_password(STAFF_PASSWORD),
        **links,
    )
    user.groups.add(Group.objects.get(name=role))
    return user


def load(ctx) -> None:
    rng = ctx.rng
    county, _created = County.objects.get_or_create(name="宜川县")
    township, _created = Township.objects.get_or_create(county=county, name="英旺乡")
    # Its records begin with the oldest month of the history the loader replays.
    village = Village.objects.create(
        township=township, name="啊道村", code="101", started_on=ctx.months[0]
    )
    groups = [VillageGroup.objects.create(village=village, name=name) for name, _n in GROUPS]

    poor_sizes = _sizes(rng, POOR_HOUSEHOLDS, POOR_PEOPLE, 3)
    other_sizes = _sizes(rng, HOUSEHOLDS - POOR_HOUSEHOLDS, PEOPLE - POOR_PEOPLE, 4)
    poor_flags = [True] * POOR_HOUSEHOLDS + [False] * (HOUSEHOLDS - POOR_HOUSEHOLDS)
    rng.shuffle(poor_flags)
    poor_iter, other_iter = iter(poor_sizes), iter(other_sizes)

    households, members = [], []
    number = 0
    for group, (_group_name, count) in zip(groups, GROUPS, strict=True):
        for house in range(1, count + 1):
            is_poor = poor_flags[number]
            number += 1
            size = next(poor_iter) if is_poor else next(other_iter)
            surname = rng.choice(SURNAMES)
            household = Household(
                village=village,
                group=group,
                number=f"{number:03d}",
                head_name=_name(rng, surname, Member.Sex.MALE),
                address=f"{village.name}{group.name}组{house}号",
                phone=f"1{rng.choice('35789')}{rng.randrange(10**9):09d}",
                is_poor=is_poor,
                poverty_exit_year=rng.choice([None, 2017, 2018]) if is_poor else None,
                status=Household.Status.ACTIVE,
            )
            households.append((household, size))
    Household.objects.bulk_create([household for household, _size in households])
    taken = set()
    for household, size in households:
        members += _members(rng, household, size, taken)
    Member.objects.bulk_create(members)

    ctx.village = village
    ctx.staff = {
        "manager": _staff(
            "manager", "张建军", Role.MANAGER, village=village, household=households[0][0]
        ),
        "supervisor": _staff("supervisor", "刘书记", Role.SUPERVISOR, village=village),
        "county_admin": _staff("county", "县管理员", Role.COUNTY_ADMIN, county=county),
        # The township's villages are compared and their items sent up decided here.
        "township": _staff("township", "乡镇干部", Role.TOWNSHIP_OFFICER, township=township),
        "secretary": _staff("secretary", "王支书", Role.PARTY_SECRETARY, village=village),
    }
    manager = ctx.staff["manager"]

    # Most households pass the 五净一规范 inspection and join public-welfare work; a few
    # failed their latest inspection or have not taken part yet, so they have no card.
    today = timezone.localdate()
    inspections, participations = [], []
    for household, _size in households:
        outcome = rng.random()
        if outcome < 0.04:
            continue  # not inspected yet
        passed = outcome >= 0.08
        checks = {name: True for name, _label in Inspection.CHECKS}
        if not passed:
            checks[rng.choice(Inspection.CHECKS)[0]] = False
        inspections.append(
            Inspection(
                household=household,
                date=today - datetime.timedelta(days=rng.randint(5, 60)),
                inspector=manager,
                notes="" if passed else "厨房卫生需整改",
                **checks,
            )
        )
        if rng.random() < 0.95:
            participations.append(
                Participation(
                    household=household,
                    date=today - datetime.timedelta(days=rng.randint(10, 120)),
                    activity=rng.choice(ACTIVITIES),
                    recorded_by=manager,
                )
            )
    Inspection.objects.bulk_create(inspections)
    Participation.objects.bulk_create(participations)

    pin_hash = make_password(VILLAGER_PIN)
    passed_ids = {i.household_id for i in inspections if i.passed}
    joined_ids = {p.household_id for p in participations}
    cards = []
    for household, _size in households:
        if household.pk in passed_ids and household.pk in joined_ids:
            # Issued on the first morning of the history, so every household's opening grant
            # is its oldest entry.
            at = ctx.start + datetime.timedelta(minutes=len(cards))
            try:
                card = card_issue(
                    household=household, actor=manager, pin=VILLAGER_PIN, pin_hash=pin_hash, at=at
                )
            except SecondPersonRequired as error:
                # The manager's own household: sent up, and issued by the township officer.
                referral = referral_open(error=error, actor=manager)
                card = card_issue(
                    household=household,
                    actor=ctx.staff["township"],
                    pin=VILLAGER_PIN,
                    pin_hash=pin_hash,
                    at=at,
                    referral=referral,
                )
            cards.append(card)

    ctx.cards = cards


def demo_logins_text(address: str = "http://127.0.0.1:8000") -> str:
    """The demo logins at `address`, with a real card number of the demo village (for `make
    run`), and the staff of the county's other villages."""
    card = (
        Card.objects.filter(status=Card.Status.ACTIVE, household__village__code="101")
        .exclude(household__users__is_staff=True)
        .order_by("household__number")
        .first()
    )
    number = card.number if card else "-"
    text = DEMO_LOGINS_TEXT.format(address=address)
    text += f"  demo villager card number: {number}  PIN: {VILLAGER_PIN}\n"
    villages = {}
    for name, username in (
        User.objects.filter(is_staff=True, village__isnull=False)
        .exclude(village__code="101")
        .order_by("village__code", "username")
        .values_list("village__name", "username")
    ):
        villages.setdefault(name, []).append(username)
    if villages:
        text += f"Other villages of the county (password {STAFF_PASSWORD}):\n"
    for name, usernames in villages.items():
        text += f"  {name}: {'  '.join(usernames)}\n"
    return text
