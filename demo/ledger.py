"""Demo ledger for 啊道村: the rules catalogue and a year of approved history.

`load` sets up the rules; `load_month` lays down one past month of approved proposals with
bulk inserts (a service call per entry would take minutes for 154 households), computing
each entry's running balance exactly as `entry_post` would, from the balances the earlier
months (and their store redemptions) left; `load_present` runs this month's workflow
(pending, rejected, publicity and objections, a reversal, declarations) through the real
services. The ledger audit runs at the end and must be clean.
"""

import datetime
from collections import defaultdict

from django.utils import timezone

from points import checks
from points.models import Account, Batch, Entry, Proposal, Rule
from points.publicity import objection_raise, objection_resolve
from points.services import (
    declaration_accept,
    declaration_submit,
    entry_reverse,
    proposal_approve,
    proposal_create,
    proposal_reject,
)
from villagers.models import Member, User

LAST_EVENT_DAY = 17  # + at most 3 days to the decision: every month's points decided by the 20th

C = Rule.Category
# code, category, description, points, monthly cap per household
RULES = [
    ("HJ01", C.LIVING_ENVIRONMENT, "月度“五净一规范”检查达标", 5, 5),
    ("HJ02", C.LIVING_ENVIRONMENT, "庭院美化，落实门前三包", 3, 6),
    ("DD01", C.FAMILY_VIRTUE, "孝敬老人，赡养父母尽心", 5, 10),
    ("DD02", C.FAMILY_VIRTUE, "邻里互助，主动调解纠纷", 3, 6),
    ("CY01", C.INDUSTRY_INCOME, "新发展花椒、苹果等经济作物", 10, None),
    ("CY02", C.INDUSTRY_INCOME, "创办小微企业或合作社，带动就业", 20, None),
    ("CY03", C.INDUSTRY_INCOME, "参加农业实用技术培训", 3, 6),
    ("JT01", C.COLLECTIVE_ACTIVITY, "参加村集体活动、村民大会", 2, 8),
    ("YW01", C.VOLUNTARY_LABOUR, "义务打扫村道", 3, 12),
    ("YW02", C.VOLUNTARY_LABOUR, "参加义务植树、修路", 5, 10),
    ("RY01", C.HONOURS, "评为“五好家庭”", 30, None),
    ("RY02", C.HONOURS, "评为“最美婆婆”", 30, None),
    ("RY03", C.HONOURS, "评为“好媳妇”", 20, None),
    ("KF01", C.DEDUCTIONS, "乱扔垃圾、乱堆乱放", -5, None),
    ("KF02", C.DEDUCTIONS, "不赡养老人、虐待家庭成员", -20, None),
    ("KF03", C.DEDUCTIONS, "月度“五净一规范”检查不达标", -3, None),
    ("KF04", C.DEDUCTIONS, "焚烧秸秆", -5, None),
    ("KF05", C.DEDUCTIONS, "大操大办、封建迷信活动", -10, None),
]


class _Plan:
    """What the points demo keeps between its hooks: rules, accounts, staff, yearly events."""

    def __init__(self, rules, accounts, members, manager, supervisor):
        self.rules = rules
        self.accounts = accounts
        self.members = members
        self.manager = manager
        self.supervisor = supervisor
        self.extra = defaultdict(list)  # month -> [(account, day, rule code, reason, member)]


def load(ctx):
    """Set-up: the village's rules and, per month, the few events that are not monthly."""
    village = ctx.village
    manager, supervisor = ctx.staff.get("manager"), ctx.staff.get("supervisor")
    ctx.points = None
    if village is None or manager is None or supervisor is None:
        return  # the registry demo has not made the village and its staff
    rules = {
        code: Rule.objects.create(
            village=village,
            code=code,
            category=category,
            description=text,
            points=points,
            monthly_cap=cap,
        )
        for code, category, text, points, cap in RULES
    }
    accounts = list(
        Account.objects.filter(village=village)
        .exclude(household_id=supervisor.household_id)
        .select_related("household")
        .order_by("pk")
    )
    if not accounts:
        return
    members = defaultdict(list)
    for member in Member.objects.filter(household__in=[a.household for a in accounts]):
        members[member.household_id].append(member)
    plan = _Plan(rules, accounts, members, manager, supervisor)
    _yearly_events(ctx, plan)
    ctx.points = plan


def _yearly_events(ctx, plan):
    """New businesses now and then, the year's honours, and one serious deduction."""
    rng, months, accounts = ctx.rng, ctx.months, plan.accounts
    for account in accounts:
        if rng.random() < 0.06:
            month = months[rng.randint(0, 11)]
            plan.extra[month].append((account, _day(rng, month), "CY01", "新栽花椒三亩", None))
        if rng.random() < 0.02:
            month = months[rng.randint(0, 11)]
            plan.extra[month].append(
                (account, _day(rng, month), "CY02", "办起农家乐，带动两人就业", None)
            )
    last = months[-1]
    for account in rng.sample(accounts, min(3, len(accounts))):
        plan.extra[last].append((account, last.replace(day=8), "RY01", "年度“五好家庭”评选", None))
    elders = [m for ms in plan.members.values() for m in ms if m.sex == "F" and m.birth_year < 1970]
    by_household = {a.household_id: a for a in accounts}
    for member in rng.sample(elders, min(2, len(elders))):
        account = by_household.get(member.household_id)
        if account is not None:
            plan.extra[last].append(
                (account, last.replace(day=8), "RY02", "年度“最美婆婆”评选", member)
            )
    if len(accounts) > 5:
        plan.extra[months[7]].append(
            (accounts[5], months[7].replace(day=3), "KF02", "经调解仍不赡养老母亲", None)
        )


def _day(rng, month):
    """A day of the month's points work: after the 1st (cards were issued on the first
    day of the history), early enough that every proposal is decided by the 20th."""
    return month.replace(day=rng.randint(2, LAST_EVENT_DAY))


def _at(day, hour):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def load_month(ctx, month):
    """One past month of approved proposals and their entries, in bulk, balances exact.

    Runs before the store's month (its redemption day falls after the 20th), from the
    balances as the earlier months left them; a service call per entry would take minutes.
    """
    plan = getattr(ctx, "points", None)
    if plan is None:
        return
    rng, rules, manager = ctx.rng, plan.rules, plan.manager
    inspection_day = month.replace(day=rng.randint(5, 10))
    cleaning_day = month.replace(day=rng.randint(12, LAST_EVENT_DAY))
    batches = {
        "YW01": Batch(
            village=ctx.village,
            rule=rules["YW01"],
            title=f"{month:%Y年%m月}义务打扫村道",
            date=cleaning_day,
            place="村主干道",
            created_by=manager,
            created_at=_at(cleaning_day, 18),
        )
    }
    if month.month in (3, 6, 9, 12):
        meeting_day = month.replace(day=rng.randint(LAST_EVENT_DAY - 4, LAST_EVENT_DAY))
        batches["JT01"] = Batch(
            village=ctx.village,
            rule=rules["JT01"],
            title=f"{month:%Y年%m月}村民大会",
            date=meeting_day,
            place="村委会广场",
            created_by=manager,
            created_at=_at(meeting_day, 18),
        )
    events = defaultdict(list)  # account id -> [(day, rule code, reason, batch, member)]
    for account in plan.accounts:
        add = events[account.pk].append
        roll = rng.random()
        if roll < 0.8:
            add((inspection_day, "HJ01", "月度检查达标", None, None))
        elif roll < 0.9:
            add((inspection_day, "KF03", "厨房、厕所卫生不达标", None, None))
        if rng.random() < 0.5:
            add((cleaning_day, "YW01", "参加义务打扫村道", "YW01", None))
        if "JT01" in batches and rng.random() < 0.6:
            add((batches["JT01"].date, "JT01", "参加村民大会", "JT01", None))
        if rng.random() < 0.08:
            add((_day(rng, month), "DD01", "照顾患病老人", None, None))
        if rng.random() < 0.05:
            add((_day(rng, month), "DD02", "帮邻居抢收麦子", None, None))
        if rng.random() < 0.04:
            add((_day(rng, month), "KF01", "门前堆放柴草垃圾", None, None))
        if month.month == 11 and rng.random() < 0.03:
            add((_day(rng, month), "KF04", "焚烧秸秆", None, None))
        if month.month == 4 and rng.random() < 0.25:
            add((_day(rng, month), "YW02", "义务植树", None, None))
    for account, day, code, reason, member in plan.extra.get(month, []):
        events[account.pk].append((day, code, reason, None, member))

    Batch.objects.bulk_create(batches.values())
    balances = dict(
        Account.objects.filter(pk__in=[a.pk for a in plan.accounts]).values_list("pk", "balance")
    )
    entries, proposals = [], []
    for account in plan.accounts:
        balance = balances[account.pk]
        decided = [
            (_at(day + datetime.timedelta(days=rng.randint(1, 3)), 10), day, *event)
            for day, *event in events[account.pk]
        ]
        # In decision order: the entry's time, and so its place in the account's ids.
        for decided_at, day, code, reason, batch_key, member in sorted(
            decided, key=lambda d: d[:2]
        ):
            rule = rules[code]
            if balance + rule.points < 0:
                continue  # the ledger would have refused it, so the demo does too
            balance += rule.points
            entries.append(
                Entry(
                    account=account,
                    kind=Entry.Kind.AWARD if rule.points > 0 else Entry.Kind.DEDUCTION,
                    points=rule.points,
                    balance_after=balance,
                    created_at=decided_at,
                    created_by=plan.supervisor,
                    memo=f"{code} {reason}",
                )
            )
            proposals.append(
                Proposal(
                    village=ctx.village,
                    household=account.household,
                    rule=rule,
                    batch=batches.get(batch_key),
                    points=rule.points,
                    reason=reason,
                    occurred_on=day,
                    member=member,
                    status=Proposal.Status.APPROVED,
                    proposed_by=manager,
                    proposed_at=_at(day, 18),
                    decided_by=plan.supervisor,
                    decided_at=decided_at,
                )
            )
        balances[account.pk] = balance
    # One insert per list; PostgreSQL hands out ids in list order, so per account the ids
    # follow the dates, after the earlier months' entries and redemptions.
    Entry.objects.bulk_create(entries, batch_size=2000)
    for proposal, entry in zip(proposals, entries, strict=True):
        proposal.entry = entry
    Proposal.objects.bulk_create(proposals, batch_size=2000)
    accounts = [Account(pk=pk, balance=balance) for pk, balance in balances.items()]
    Account.objects.bulk_update(accounts, ["balance"], batch_size=2000)


def load_present(ctx):
    """This month's open workflow through the services, then the ledger audit must be clean."""
    plan = getattr(ctx, "points", None)
    if plan is None:
        return
    _present(ctx, plan.rules, plan.accounts, plan.manager, plan.supervisor)
    problems = checks.check()
    if problems:
        raise RuntimeError("demo ledger inconsistent: " + "; ".join(problems[:5]))


def _present(ctx, rules, accounts, manager, supervisor):
    """This month's open workflow, through the services: pending, rejected, a reversal."""
    rng = ctx.rng
    today = timezone.localdate()
    households = [a.household for a in accounts]
    attendance = rng.sample(households, min(12, len(households)))
    proposal_create(
        village=ctx.village,
        households=attendance,
        rule=rules["YW01"],
        reason="参加义务打扫村道",
        occurred_on=today,
        actor=manager,
        batch_title=f"{today:%m月%d日}义务打扫村道",
        place="村主干道",
    )
    villagers = {
        user.household_id: user
        for user in User.objects.filter(household__in=households, is_staff=False, is_active=True)
    }
    gardens = []
    for household in rng.sample(households, min(4, len(households))):
        gardens += proposal_create(
            village=ctx.village,
            households=[household],
            rule=rules["HJ02"],
            reason="院内种花，门前整洁",
            occurred_on=today,
            actor=manager,
        )
    rejected = []
    for household, rule, reason in zip(
        rng.sample(households, min(3, len(households))),
        [rules["DD02"], rules["CY03"], rules["KF01"]],
        ["调解邻里纠纷", "参加技术培训", "路边倒垃圾"],
        strict=False,
    ):
        rejected += proposal_create(
            village=ctx.village,
            households=[household],
            rule=rule,
            reason=reason,
            occurred_on=today,
            actor=manager,
        )
    rejections = ["没有照片，请补充证据后再报", "培训签到表上没有此户", "经核实不是该户所为"]
    for proposal, why in zip(rejected, rejections, strict=False):
        proposal_reject(proposal_ids=[proposal.pk], actor=supervisor, reason=why)

    # An award of last month entered for the wrong household, corrected by a reversal.
    mistaken = (
        Entry.objects.filter(
            account__in=accounts,
            account__balance__gte=5,
            kind=Entry.Kind.AWARD,
            proposal__rule__code="HJ01",
        )
        .order_by("-created_at", "-pk")
        .first()
    )
    if mistaken is not None:
        entry_reverse(entry=mistaken, actor=supervisor, reason="记错户了，应为邻户")

    _publicity(ctx, rules, households, gardens, villagers, manager, supervisor)

    declarers = [h for h in households if h.pk in villagers][:2]
    for index, household in enumerate(declarers):
        declaration = declaration_submit(
            user=villagers[household.pk],
            description="帮五保户老人挑水、打扫院子" if index == 0 else "自家新栽了两亩花椒",
            occurred_on=today,
        )
        if index == 0:
            declaration_accept(
                declaration=declaration,
                actor=manager,
                rule=rules["DD02"],
                reason="帮五保户老人挑水、打扫院子",
            )


def _publicity(ctx, rules, households, gardens, villagers, manager, supervisor):
    """Approved today, so on the notice in their publicity period; objections of each outcome.

    With no publicity period in the village, approval credits at once and nothing is left
    to object to.
    """
    richest = Account.objects.filter(household__in=households).order_by("-balance", "pk").first()
    fined = richest.household
    fine = proposal_create(
        village=ctx.village,
        households=[fined],
        rule=rules["KF01"],
        reason="柴草堆在村道边",
        occurred_on=timezone.localdate(),
        actor=manager,
    )
    proposal_approve(proposal_ids=[p.pk for p in gardens + fine], actor=supervisor)
    if not ctx.village.publicity_days or len(gardens) < 3:
        return
    objectors = [
        user
        for household_id, user in villagers.items()
        if household_id not in {p.household_id for p in gardens + fine}
    ]
    if len(objectors) < 3:
        return
    upheld = objection_raise(
        proposal_id=gardens[0].pk, actor=objectors[0], reason="他家院子里并没有种花，照片是别家的"
    )
    objection_resolve(
        objection_id=upheld.pk,
        actor=supervisor,
        upheld=True,
        resolution="经现场核实，院内未种花，取消该项积分",
    )
    dismissed = objection_raise(
        proposal_id=gardens[1].pk, actor=objectors[1], reason="门前好像还堆着杂物"
    )
    objection_resolve(
        objection_id=dismissed.pk,
        actor=supervisor,
        upheld=False,
        resolution="经现场核实，杂物已清理，积分有效",
    )
    objection_raise(
        proposal_id=fine[0].pk,
        actor=villagers.get(fined.pk, objectors[2]),
        reason="柴草是邻居家的，不是我家堆的",
    )
