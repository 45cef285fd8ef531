"""Each part of the demo on its own, on the fixture villages: the same seed gives the same
data in another village or on another run, a part without its village or staff does
nothing, and `load_demo --if-empty` leaves an existing county alone."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from core.access import Role
from demo import ledger, store, wishes
from demo.loader import DemoContext
from points import checks as points_checks
from points.models import Account, Entry, Proposal, Rule
from points.services import entry_post
from store import checks as store_checks
from store.models import Item, Redemption
from tests.conftest import issue_card, make_staff
from tests.factories import HouseholdFactory, MemberFactory
from villagers.models import Member, Village
from wishwall.models import Wish


def demo_context(village, staff, seed=2018):
    ctx = DemoContext(seed)
    ctx.village = village
    ctx.staff = staff
    return ctx


def ledger_run(ctx):
    """The ledger part as `demo_run` calls it: set-up, the past months, this month."""
    ledger.load(ctx)
    for month in ctx.months:
        ledger.load_month(ctx, month)
    ledger.load_present(ctx)


def store_run(ctx):
    """The store part as `demo_run` calls it: set-up, the past months, this month."""
    store.load(ctx)
    for month in ctx.months:
        store.load_month(ctx, month)
    store.load_present(ctx)


def households_with_cards(group, manager, start, count):
    """Households of a head and spouse whose cards were issued on the first morning."""
    for index in range(count):
        household = HouseholdFactory(group=group, number=f"D{index:03d}")
        MemberFactory(household=household, relation=Member.Relation.HEAD, birth_year=1960)
        MemberFactory(
            household=household,
            relation=Member.Relation.SPOUSE,
            sex=Member.Sex.FEMALE,
            birth_year=1955,
        )
        issue_card(household, manager, at=start + datetime.timedelta(minutes=index))


def ledger_summary(village):
    return (
        sorted(Account.objects.filter(village=village).values_list("household__number", "balance")),
        sorted(
            Proposal.objects.filter(village=village).values_list("status", "rule__code", "points")
        ),
    )


def test_the_ledger_is_the_same_on_every_run(
    village_x, group_x, manager_x, supervisor_x, county_admin
):
    village_x.publicity_days = 3  # as the demo village has it
    village_x.save()
    staff = {"manager": manager_x, "supervisor": supervisor_x, "county_admin": county_admin}
    ctx = demo_context(village_x, staff)
    households_with_cards(group_x, manager_x, ctx.start, count=20)
    with transaction.atomic():
        ledger_run(demo_context(village_x, staff))
        first = ledger_summary(village_x)
        transaction.set_rollback(True)
    ledger_run(ctx)
    assert ledger_summary(village_x) == first
    approved = [p for p in first[1] if p[0] == Proposal.Status.APPROVED]
    assert len(approved) > 20 * 12  # about a year of monthly inspections and more
    assert points_checks.check() == []


def test_the_ledger_without_staff_does_nothing(village_x):
    ledger_run(demo_context(village_x, {}))
    assert not Rule.objects.exists()


def households_with_points(group, manager, supervisor, start, count=6):
    """Cards issued and a large award on the first morning of the history."""
    for n in range(count):
        household = HouseholdFactory(group=group, number=f"{group.village.code}-{n:03d}")
        issue_card(household, manager, at=start)
        entry_post(
            account_id=household.account.pk,
            kind=Entry.Kind.AWARD,
            points=600 + 20 * n,
            actor=supervisor,
            at=start + datetime.timedelta(minutes=1),
        )


def redemption_story(village):
    return [
        (
            r.household.number[-3:],
            r.created_at.date(),
            sorted((line.item.name, line.quantity) for line in r.lines.all()),
        )
        for r in Redemption.objects.filter(village=village).order_by("created_at", "pk")
    ]


def test_the_store_gives_the_same_year_in_another_village(
    village_x, village_y, group_x, group_y, manager_x, supervisor_x, manager_y
):
    supervisor_y = make_staff(Role.SUPERVISOR, village=village_y, username="supervisor_y")
    for group, manager, supervisor in (
        (group_x, manager_x, supervisor_x),
        (group_y, manager_y, supervisor_y),
    ):
        ctx = demo_context(group.village, {"manager": manager, "supervisor": supervisor})
        households_with_points(group, manager, supervisor, ctx.start)
        store_run(ctx)
    story = redemption_story(village_x)
    assert len(story) > 25
    assert redemption_story(village_y) == story
    assert store_checks.check() == []


def test_the_store_without_a_village_does_nothing(db):
    store_run(DemoContext(2018))
    assert not Item.objects.exists()


def wish_signature(village, households):
    position = {h.pk: index for index, h in enumerate(households)}
    return [
        (title, status, position[household_id], donor)
        for title, status, household_id, donor in Wish.objects.filter(village=village)
        .order_by("id")
        .values_list("title", "status", "household_id", "match__donor__name")
    ]


def test_the_wishes_are_the_same_in_another_village(
    group_x, group_y, manager_x, supervisor_x, manager_y
):
    supervisor_y = make_staff(Role.SUPERVISOR, village=group_y.village, username="supervisor_y")
    signatures = []
    for group, manager, supervisor in (
        (group_x, manager_x, supervisor_x),
        (group_y, manager_y, supervisor_y),
    ):
        households = [HouseholdFactory(group=group) for _ in range(12)]
        wishes.load(demo_context(group.village, {"manager": manager, "supervisor": supervisor}))
        signatures.append(wish_signature(group.village, households))
    assert len(signatures[0]) == len(wishes.PLAN)
    assert signatures[0] == signatures[1]


def test_load_demo_if_empty_leaves_an_existing_county_alone(village_x):
    out = StringIO()
    call_command("load_demo", "--if-empty", stdout=out)
    assert "already loaded" in out.getvalue()
    assert "Demo logins (http://127.0.0.1:8000)" in out.getvalue()
    assert list(Village.objects.all()) == [village_x]
    # `make run PORT=8001` serves elsewhere: the logins say where.
    out = StringIO()
    call_command("load_demo", "--if-empty", "--address", "http://127.0.0.1:8001", stdout=out)
    assert "Demo logins (http://127.0.0.1:8001)" in out.getvalue()


def test_load_demo_refuses_a_loaded_database_and_production(village_x, settings):
    """Found by a probe: loaded twice, it ended in an IntegrityError traceback; and nothing
    kept its public-password logins out of a production database."""
    from django.core.management.base import CommandError

    village_x.code = "101"
    village_x.save()
    with pytest.raises(CommandError, match="demo's codes"):
        call_command("load_demo", stdout=StringIO())
    settings.DEBUG, settings.TESTING = False, False
    with pytest.raises(CommandError, match="public password"):
        call_command("load_demo", "--if-empty", stdout=StringIO())
    assert list(Village.objects.all()) == [village_x]
