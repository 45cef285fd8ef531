"""The demo ledger loads on its own fixture village, keeps every invariant, and is repeatable."""

import random

from django.db import transaction

from points import audit, demo
from points.models import Account, Batch, Declaration, Entry, Objection, Proposal, Rule
from tests.conftest import issue_card
from tests.factories import HouseholdFactory, MemberFactory
from villagers.models import Member


class Ctx:
    def __init__(self, village, staff, seed=2018):
        self.rng = random.Random(seed)
        self.village = village
        self.staff = staff
        self.logins = []


def demo_village(group, manager):
    for index in range(20):
        household = HouseholdFactory(group=group, number=f"D{index:03d}")
        MemberFactory(household=household, relation=Member.Relation.HEAD, birth_year=1960)
        MemberFactory(
            household=household,
            relation=Member.Relation.SPOUSE,
            sex=Member.Sex.FEMALE,
            birth_year=1955,
        )
        issue_card(household, manager)


def summary(village):
    return (
        sorted(Account.objects.filter(village=village).values_list("household__number", "balance")),
        sorted(
            Proposal.objects.filter(village=village).values_list("status", "rule__code", "points")
        ),
    )


def test_demo_ledger(village_x, group_x, manager_x, supervisor_x, county_admin):
    village_x.publicity_days = 3  # as the demo village has it
    village_x.save()
    demo_village(group_x, manager_x)
    staff = {"manager": manager_x, "supervisor": supervisor_x, "county_admin": county_admin}
    with transaction.atomic():
        demo.load(Ctx(village_x, staff))
        first = summary(village_x)
        transaction.set_rollback(True)
    demo.load(Ctx(village_x, staff))
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
