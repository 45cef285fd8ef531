import datetime
import statistics
from io import StringIO
from itertools import pairwise

from django.core.management import call_command
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from aidao.management.commands.load_demo import past_months
from points.models import Account, Entry, Objection, Proposal
from store.models import Redemption
from villagers.models import Card, Household, Member, User, Village
from villagers.roles import Role


def test_demo_village_matches_the_source_and_prints_logins(db, client):
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

    _history_reads_true_in_time_order(client, village, card)


def _history_reads_true_in_time_order(client, village, demo_card):
    """A year of ledger, counter and stock, interleaved in time order, then this month."""
    today = timezone.localdate()
    this_month = today.replace(day=1)
    start = timezone.make_aware(datetime.datetime.combine(past_months(today)[0], datetime.time(8)))
    call_command("audit_ledger", stdout=StringIO())  # balances run in id order; store agrees

    # Cards were issued on the first morning of the history; the opening grant is the
    # first and oldest entry of every household, and ids run in date order after it.
    accounts = Account.objects.filter(village=village).select_related("household")
    issued = dict(
        Card.objects.filter(household__village=village).values_list("household", "issued_at")
    )
    for account in accounts:
        entries = list(account.entries.order_by("id").values_list("kind", "created_at"))
        assert entries[0] == (Entry.Kind.OPENING, issued[account.household_id])
        assert start <= entries[0][1] < start + datetime.timedelta(hours=4)
        assert all(a[1] <= b[1] for a, b in pairwise(entries)), account.household.number

    # Plausible balances at the end: most households hold some tens to a couple of hundred.
    balances = sorted(accounts.values_list("balance", flat=True))
    held = [b for b in balances if 10 <= b <= 250]
    assert len(held) >= 0.8 * len(balances)
    assert 40 <= statistics.median(balances) <= 150

    # Redemptions in every past month; this month holds only today's few.
    redemptions = Redemption.objects.filter(village=village)
    by_month = {}
    for at, points in redemptions.values_list("created_at", "total_points"):
        month = timezone.localtime(at).date().replace(day=1)
        by_month[month] = by_month.get(month, 0) + points
    assert len([m for m in by_month if m < this_month]) >= 10
    assert by_month.get(this_month, 0) < 0.05 * sum(by_month.values())
    assert not redemptions.exclude(entry__created_at=F("created_at")).exists()

    # This month's workflow is still there, dated now.
    current = Proposal.objects.filter(village=village).exclude(status=Proposal.Status.APPROVED)
    statuses = set(current.values_list("status", flat=True))
    assert {"proposed", "publicity", "rejected", "cancelled"} <= statuses
    assert {
        timezone.localtime(p).date() for p in current.values_list("proposed_at", flat=True)
    } == {today}
    assert Objection.objects.filter(proposal__village=village).count() == 3
    reversal = Entry.objects.get(
        account__village=village, kind=Entry.Kind.REVERSAL, voided_redemption__isnull=True
    )
    assert timezone.localtime(reversal.created_at).date() == today

    # The demo villager's history page shows counter redemptions of past months.
    villager = demo_card.household.users.get(is_staff=False)
    client.force_login(villager)
    response = client.get(reverse("points:me"))
    assert response.status_code == 200
    shown = [e for e in response.context["history"].entries if e.kind == Entry.Kind.REDEMPTION]
    past = [e for e in shown if timezone.localtime(e.created_at).date() < this_month]
    assert past
    day = timezone.localtime(past[0].created_at).strftime("%Y-%m-%d")
    assert f"{day} · redemption" in response.content.decode()


def test_demo_if_empty_leaves_an_existing_county_alone(village_x):
    out = StringIO()
    call_command("load_demo", "--if-empty", stdout=out)
    assert "already loaded" in out.getvalue()
    assert list(Village.objects.all()) == [village_x]
