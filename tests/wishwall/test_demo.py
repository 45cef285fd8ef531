"""The demo wishes: every state, donors of the demo village, the same on every run."""

from io import StringIO

from django.core.management import call_command
from django.db.models import Count

from aidao.management.commands.load_demo import DemoContext
from store.models import Donor
from tests.conftest import make_staff
from tests.factories import HouseholdFactory
from villagers.models import Card, Village
from villagers.roles import Role
from wishwall import demo as wishwall_demo
from wishwall.models import Wish, WishRevision


def _load():
    call_command("load_demo", stdout=StringIO())
    return Village.objects.get(name="啊道村")


def test_demo_wishes_in_every_state_with_donors(db):
    village = _load()
    wishes = Wish.objects.filter(village=village)
    assert 30 <= wishes.count() <= 40
    by_status = dict(wishes.values_list("status").annotate(n=Count("pk")))
    assert set(by_status) == set(Wish.Status.values)
    assert wishes.filter(status="open", approved_at__isnull=True).exists()  # pending review
    assert wishes.filter(status="open", approved_at__isnull=False).exists()
    assert set(wishes.values_list("kind", flat=True)) == set(Wish.Kind.values)
    assert Donor.objects.filter(village=village).count() >= 5
    fulfilled = wishes.filter(status="fulfilled").select_related("fulfilment", "match__donor")
    assert all(w.fulfilment.thanks and w.match.donor.village_id == village.pk for w in fulfilled)
    assert all(w.fulfilment.date >= w.match.matched_at.date() for w in fulfilled)
    assert WishRevision.objects.filter(wish__village=village).exists()
    assert not wishes.filter(story__contains="13912345678").exists()
    # The demo villager (the card the logins print) sees wishes in every state.
    card = (
        Card.objects.filter(status="active", household__village=village)
        .exclude(household__users__is_staff=True)
        .order_by("household__number")
        .first()
    )
    own = set(wishes.filter(household=card.household).values_list("status", flat=True))
    assert own == set(Wish.Status.values)


def _signature(village, households):
    position = {h.pk: index for index, h in enumerate(households)}
    return [
        (title, status, position[household_id], donor)
        for title, status, household_id, donor in Wish.objects.filter(village=village)
        .order_by("id")
        .values_list("title", "status", "household_id", "match__donor__name")
    ]


def test_demo_wishes_are_deterministic(group_x, group_y, manager_x, supervisor_x, manager_y):
    supervisor_y = make_staff(Role.SUPERVISOR, village=group_y.village, username="supervisor_y")
    signatures = []
    for group, staff in (
        (group_x, (manager_x, supervisor_x)),
        (group_y, (manager_y, supervisor_y)),
    ):
        households = [HouseholdFactory(group=group) for _ in range(12)]
        ctx = DemoContext(2018)
        ctx.village = group.village
        ctx.staff = {"manager": staff[0], "supervisor": staff[1]}
        wishwall_demo.load(ctx)
        signatures.append(_signature(group.village, households))
    assert len(signatures[0]) == len(wishwall_demo.PLAN)
    assert signatures[0] == signatures[1]
