"""The demo store replays a year at the counter in time order: each redemption's ledger entry,
stock movements and any void carry the date it stands for."""

import datetime
from itertools import pairwise

from django.db.models import Sum
from django.utils import timezone

from aidao.management.commands.load_demo import DemoContext, demo_run
from points.models import Account, Entry
from points.services import entry_post
from store import audit, demo
from store.models import Donation, Donor, Item, Redemption, StockMovement, Zone
from tests.conftest import issue_card, make_staff
from tests.factories import HouseholdFactory
from villagers.roles import Role


def demo_context(village, staff, seed=2018):
    ctx = DemoContext(seed)
    ctx.village = village
    ctx.staff = staff
    return ctx


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


def test_demo_store_is_complete_and_consistent(
    village_x, village_y, group_x, group_y, manager_x, supervisor_x, manager_y
):
    ctx = demo_context(village_x, {"manager": manager_x, "supervisor": supervisor_x})
    households_with_points(group_x, manager_x, supervisor_x, ctx.start)
    demo_run(ctx, apps=["store"])

    zones_with_items = set(
        Item.objects.filter(village=village_x).values_list("zone__code", flat=True)
    )
    assert zones_with_items == set(Zone.Code.values)
    funds = set(
        StockMovement.objects.filter(village=village_x, kind="purchase").values_list(
            "fund_source", flat=True
        )
    )
    assert funds == set(StockMovement.FundSource.values)
    # Restocks paid from donated money name the donation, never spending more than it gave.
    paid = StockMovement.objects.filter(village=village_x, paid_by__isnull=False)
    assert paid.exists()
    for donation in Donation.objects.filter(purchases__isnull=False).distinct():
        assert sum(m.cost_yuan for m in donation.purchases.all()) <= donation.value_yuan
        assert all(m.created_at.date() >= donation.received_on for m in donation.purchases.all())
    assert set(Donor.objects.filter(village=village_x).values_list("kind", flat=True)) == set(
        Donor.Kind.values
    )
    donated_in = {d.received_on.replace(day=1) for d in Donation.objects.filter(village=village_x)}
    assert len(donated_in) >= 5 and donated_in <= set(ctx.months)

    redemptions = Redemption.objects.filter(village=village_x).select_related("entry", "void_entry")
    months = {timezone.localtime(r.created_at).date().replace(day=1) for r in redemptions}
    assert redemptions.count() > 25 and len(months & set(ctx.months)) >= 10
    # A redemption's ledger entry is dated with it, after the month's points (by the 20th).
    this_month = timezone.localdate().replace(day=1)
    for redemption in redemptions:
        assert redemption.entry.created_at == redemption.created_at
        day = timezone.localtime(redemption.created_at).date()
        assert day >= this_month or day.day >= 21
    voided = [r for r in redemptions if r.voided_at is not None]
    assert len(voided) == 2
    for redemption in voided:
        assert redemption.void_entry.created_at == redemption.voided_at
        assert redemption.voided_at.date() == redemption.created_at.date()
        assert redemption.voided_at > redemption.created_at
    # Only today's few redemptions are dated this month.
    recent = [r for r in redemptions if timezone.localtime(r.created_at).date() >= this_month]
    assert 1 <= len(recent) <= 4

    for account in Account.objects.filter(village=village_x):
        assert account.balance == account.entries.aggregate(total=Sum("points"))["total"] >= 0
        times = list(account.entries.order_by("id").values_list("created_at", flat=True))
        assert all(a <= b for a, b in pairwise(times))
    for item in Item.objects.filter(village=village_x):
        times = list(item.movements.order_by("id").values_list("created_at", flat=True))
        assert all(a <= b for a, b in pairwise(times)), item.name
    assert audit.check() == []

    # The same seed gives the same year in another village.
    supervisor_y = make_staff(Role.SUPERVISOR, village=village_y, username="supervisor_y")
    ctx_y = demo_context(village_y, {"manager": manager_y, "supervisor": supervisor_y})
    households_with_points(group_y, manager_y, supervisor_x, ctx_y.start)
    demo_run(ctx_y, apps=["store"])
    assert redemption_story(village_y) == redemption_story(village_x)
    assert audit.check() == []


def test_demo_without_a_village_does_nothing(db):
    demo.load(DemoContext(2018))
    demo_run(DemoContext(2018), apps=["store"])
    assert not Item.objects.exists()
