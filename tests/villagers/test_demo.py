from io import StringIO

from django.core.management import call_command
from django.db.models import Count, Q

from villagers.models import Card, Household, Member, User, Village
from villagers.roles import Role


def test_demo_village_matches_the_source_and_prints_logins(db):
    out = StringIO()
    call_command("load_demo", stdout=out)
    printed = out.getvalue()

    village = Village.objects.get(name="啊道村")
    assert village.township.name == "英旺鄉"
    assert village.township.county.name == "宜川縣"
    assert sorted(village.groups.values_list("name", flat=True)) == sorted(
        ["啊道", "富莊", "杜河溝"]
    )
    households = Household.objects.filter(village=village)
    assert households.count() == 154
    assert Member.objects.filter(household__village=village).count() == 668
    poor = households.filter(is_poor=True)
    assert poor.count() == 31
    assert Member.objects.filter(household__in=poor).count() == 96
    heads = households.annotate(
        heads=Count("members", filter=Q(members__relation=Member.Relation.HEAD))
    ).values_list("heads", flat=True)
    assert set(heads) == {1}

    cards = Card.objects.filter(status=Card.Status.ACTIVE)
    assert 120 <= cards.count() < 154
    assert not households.annotate(n=Count("cards")).filter(n__gt=1).exists()
    for username, role in [
        ("manager", Role.MANAGER),
        ("supervisor", Role.SUPERVISOR),
        ("county", Role.COUNTY_ADMIN),
    ]:
        assert User.objects.get(username=username).groups.filter(name=role).exists()
        assert username in printed
    card = cards.exclude(household__users__is_staff=True).order_by("household__number").first()
    assert f"demo villager card number: {card.number}" in printed


def test_demo_if_empty_leaves_an_existing_county_alone(village_x):
    out = StringIO()
    call_command("load_demo", "--if-empty", stdout=out)
    assert "already loaded" in out.getvalue()
    assert list(Village.objects.all()) == [village_x]
