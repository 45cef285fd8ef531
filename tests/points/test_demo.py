"""The demo ledger loads on its own fixture village, keeps every invariant, reads true in time
order, and is repeatable."""

import datetime
from itertools import pairwise

from django.db import transaction
from django.utils import timezone

from aidao.management.commands.load_demo import DemoContext, demo_run
from points import audit, demo
from points.models import Account, Batch, Declaration, Entry, Objection, Proposal, Rule
from points.services import entry_post
from tests.conftest import issue_card
from tests.factories import HouseholdFactory, MemberFactory
from villagers.models import Member


def demo_context(village, staff, seed=2018):
    ctx = DemoContext(seed)
    ctx.village = village
    ctx.staff = staff
    return ctx


def demo_village(group, manager, start):
    """20 households whose cards were issued on the first morning of the history."""
    for index in range(20):
        household = HouseholdFactory(group=group, number=f"D{index:03d}")
        MemberFactory(household=household, relation=Member.Relation.HEAD, birth_year=1960)
        MemberFactory(
            household=household,
            relation=Member.Relation.SPOUSE,
            sex=Member.Sex.FEMALE,
            birth_year=1955,
        )
        issue_card(household, manager, at=start + datetime.timedelta(minutes=index))


def summary(village):
    return (
        sorted(Account.objects.filter(village=village).values_list("household__number", "balance")),
        sorted(
            Proposal.objects.filter(village=village).values_list("status", "rule__code", "points")
        ),
    )


def assert_time_ordered(accounts):
    """Per account, the ids run in date order and the opening grant comes first."""
    for account in accounts:
        entries = list(account.entries.order_by("id").values_list("kind", "created_at"))
        assert entries[0][0] == Entry.Kind.OPENING
        assert all(a[1] <= b[1] for a, b in pairwise(entries)), account


def test_demo_ledger(village_x, group_x, manager_x, supervisor_x, county_admin):
    village_x.publicity_days = 3  # as the demo village has it
    village_x.save()
    staff = {"manager": manager_x, "supervisor": supervisor_x, "county_admin": county_admin}
    ctx = demo_context(village_x, staff)
    demo_village(group_x, manager_x, ctx.start)
    with transaction.atomic():
        demo_run(demo_context(village_x, staff), apps=["points"])
        first = summary(village_x)
        transaction.set_rollback(True)
    demo_run(ctx, apps=["points"])
    assert summary(village_x) == first  # the same seed gives the same ledger

    assert audit.check() == []
    assert Rule.objects.filter(village=village_x).count() == len(demo.RULES)
    assert {r.category for r in Rule.objects.all()} == set(Rule.Category.values)
    approved = Proposal.objects.filter(status=Proposal.Status.APPROVED)
    assert approved.count() > 20 * 12  # about a year of monthly inspections and more
    assert approved.filter(rule__code="RY02", member__isnull=False).exists()
    assert approved.filter(points__lt=0).exists()
    assert Proposal.objects.filter(status=Proposal.Status.PROPOSED).count() >= 10
    assert Proposal.objects.filter(status=Proposal.Status.REJECTED).count() == 3
    assert Entry.objects.filter(kind=Entry.Kind.REVERSAL).count() == 1
    assert Batch.objects.filter(proposals__status=Proposal.Status.APPROVED).distinct().count() >= 12
    assert set(Declaration.objects.values_list("status", flat=True)) == {"accepted", "submitted"}
    assert not approved.exclude(proposed_by=manager_x).exists()
    assert not approved.exclude(decided_by=supervisor_x).exists()
    oldest = Entry.objects.filter(kind=Entry.Kind.AWARD).order_by("created_at").first()
    assert (Entry.objects.latest("created_at").created_at - oldest.created_at).days > 300
    assert Account.objects.filter(balance__lt=0).count() == 0

    # Each past month has its awards, all decided by the 20th (the store's redemption day
    # comes after), and each account's entries run in date order from the opening grant.
    history = Entry.objects.filter(kind__in=[Entry.Kind.AWARD, Entry.Kind.DEDUCTION])
    months = {
        timezone.localtime(at).date().replace(day=1)
        for at in history.values_list("created_at", flat=True)
    }
    assert months == set(ctx.months)
    assert all(
        timezone.localtime(at).day <= 20 for at in history.values_list("created_at", flat=True)
    )
    for proposal in approved.select_related("entry"):
        assert proposal.decided_at == proposal.entry.created_at
        assert proposal.occurred_on <= timezone.localtime(proposal.decided_at).date()
    assert_time_ordered(Account.objects.filter(village=village_x))

    # This month's workflow is dated now, after the history.
    today = timezone.localdate()
    this_month = Proposal.objects.exclude(status=Proposal.Status.APPROVED)
    assert {timezone.localtime(p.proposed_at).date() for p in this_month} == {today}
    reversal = Entry.objects.get(kind=Entry.Kind.REVERSAL)
    assert timezone.localtime(reversal.created_at).date() == today
    assert reversal.created_at > history.latest("created_at").created_at

    # Today's approvals wait out the publicity period; one objection of each outcome.
    in_publicity = Proposal.objects.filter(status=Proposal.Status.PUBLICITY)
    assert in_publicity.count() >= 3
    assert in_publicity.filter(points__lt=0).exists()
    assert Proposal.objects.filter(status=Proposal.Status.CANCELLED).count() == 1
    assert sorted(Objection.objects.values_list("status", flat=True)) == [
        "dismissed",
        "open",
        "upheld",
    ]


def test_backdated_entry_carries_its_time(village_x, group_x, manager_x, supervisor_x):
    """`at` dates the card, the opening grant and later entries; the balance runs as ever."""
    start = timezone.now() - datetime.timedelta(days=300)
    household = HouseholdFactory(group=group_x)
    card = issue_card(household, manager_x, at=start)
    opening = household.account.entries.get()
    assert card.issued_at == opening.created_at == start
    later = start + datetime.timedelta(days=30)
    entry = entry_post(
        account_id=household.account.pk,
        kind=Entry.Kind.AWARD,
        points=5,
        actor=supervisor_x,
        at=later,
    )
    assert entry.created_at == later and entry.balance_after == 105
    assert (
        entry_post(
            account_id=household.account.pk, kind=Entry.Kind.AWARD, points=1, actor=supervisor_x
        ).created_at
        > later
    )  # without `at`, as every view posts: now


def test_demo_without_staff_does_nothing(village_x):
    demo_run(demo_context(village_x, {}), apps=["points"])
    assert not Rule.objects.exists()
