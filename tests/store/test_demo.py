import random

from django.db.models import Sum

from points.models import Account, Entry
from points.services import entry_post
from store import audit, demo
from store.models import Donation, Donor, Item, Redemption, StockMovement, Zone
from tests.conftest import issue_card
from tests.factories import HouseholdFactory


class Ctx:
    def __init__(self, village, staff, seed=2018):
        self.rng = random.Random(seed)
        self.village = village
        self.staff = staff
        self.logins = []


def households_with_points(group, manager, supervisor, count=6):
    for n in range(count):
        household = HouseholdFactory(group=group, number=f"{group.village.code}-{n:03d}")
        issue_card(household, manager)
        entry_post(
            account_id=household.account.pk,
            kind=Entry.Kind.AWARD,
            points=600 + 20 * n,
            actor=supervisor,
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
    households_with_points(group_x, manager_x, supervisor_x)
    demo.load(Ctx(village_x, {"manager": manager_x, "supervisor": supervisor_x}))

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
    assert set(Donor.objects.filter(village=village_x).values_list("kind", flat=True)) == set(
        Donor.Kind.values
    )
    redemptions = Redemption.objects.filter(village=village_x)
    months = {r.created_at.strftime("%Y-%m") for r in redemptions}
    assert redemptions.count() > 25 and len(months) >= 11
    assert redemptions.filter(voided_at__isnull=False).count() == 2
    for account in Account.objects.filter(village=village_x):
        assert account.balance == account.entries.aggregate(total=Sum("points"))["total"] >= 0
    assert audit.check() == []

    # The same seed gives the same year in another village.
    households_with_points(group_y, manager_y, supervisor_x)
    demo.load(Ctx(village_y, {"manager": manager_y, "supervisor": None}))
    story_x = redemption_story(village_x)
    story_y = redemption_story(village_y)
    assert story_y == story_x
    assert audit.check() == []


def test_demo_without_a_village_does_nothing(db):
    demo.load(Ctx(None, {}))
    assert not Item.objects.exists()
