"""The demo village as `load_demo` builds it, loaded once for the module: it matches the
source, prints its logins, and its year of ledger, counter, stock and wishes reads true in
time order.

The demo takes about ten seconds to load, so every test here reads the same load (made in a
transaction rolled back at the end of the module) and changes nothing but its own rows,
which its test transaction rolls back.
"""

import datetime
import statistics
from dataclasses import dataclass
from io import StringIO
from itertools import pairwise

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.urls import reverse
from django.utils import timezone

from core.access import Role
from core.months import add_months
from demo import ledger as demo_ledger
from demo.loader import past_months
from demo.registry import STAFF_PASSWORD
from points.models import Account, Batch, Declaration, Entry, Objection, Proposal, Rule
from store.models import Donation, Donor, Item, Redemption, StockMovement, Zone
from store.traceability import shelf_lots, village_lots
from villagers.models import Card, Household, Member, User, Village
from wishwall.models import Wish, WishRevision


@dataclass
class LoadedDemo:
    village: Village
    printed: str  # what load_demo wrote: the demo logins
    months: list[datetime.date]  # the twelve past months of the history
    start: datetime.datetime  # the first morning of the history


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """`manage.py load_demo` once for the whole module, rolled back after its last test."""
    with django_db_blocker.unblock(), transaction.atomic():
        out = StringIO()
        call_command("load_demo", stdout=out)
        # The deferred foreign-key checks of the load, once here rather than again at the
        # end of every test (each test's rollback to its savepoint would queue them anew).
        connection.check_constraints()
        months = past_months(timezone.localdate())
        yield LoadedDemo(
            village=Village.objects.get(name="啊道村"),
            printed=out.getvalue(),
            months=months,
            start=timezone.make_aware(datetime.datetime.combine(months[0], datetime.time(8))),
        )
        transaction.set_rollback(True)


@pytest.fixture
def manager(demo):
    return User.objects.get(username="manager")


@pytest.fixture
def supervisor(demo):
    return User.objects.get(username="supervisor")


def demo_card(village):
    """The card whose number the demo logins print."""
    return (
        Card.objects.filter(status=Card.Status.ACTIVE, household__village=village)
        .exclude(household__users__is_staff=True)
        .order_by("household__number")
        .first()
    )


def test_registry_matches_the_source_and_prints_logins(db, demo):
    village = demo.village
    assert village.township.name == "英旺乡"
    assert village.township.county.name == "宜川县"
    assert sorted(village.groups.values_list("name", flat=True)) == sorted(
        ["啊道", "富庄", "杜河沟"]
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

    cards = Card.objects.filter(status=Card.Status.ACTIVE, household__village=village)
    assert 120 <= cards.count() < 154
    assert not households.annotate(n=Count("cards")).filter(n__gt=1).exists()
    for username, role in [
        ("manager", Role.MANAGER),
        ("supervisor", Role.SUPERVISOR),
        ("county", Role.COUNTY_ADMIN),
        ("township", Role.TOWNSHIP_OFFICER),
        ("secretary", Role.PARTY_SECRETARY),
    ]:
        assert User.objects.get(username=username).groups.filter(name=role).exists()
        assert username in demo.printed
    assert f"demo villager card number: {demo_card(village).number}" in demo.printed


def test_the_ledger_audit_finds_nothing(db, demo):
    """audit_ledger (raises on any problem): balances run in id order, the store agrees."""
    call_command("audit_ledger", stdout=StringIO())


def test_ledger_is_in_time_order(db, demo):
    """Cards were issued on the first morning of the history; the opening grant is the first
    and oldest entry of every household, and ids run in date order after it."""
    village = demo.village
    accounts = Account.objects.filter(village=village).select_related("household")
    issued = dict(
        Card.objects.filter(household__village=village).values_list("household", "issued_at")
    )
    for account in accounts:
        entries = list(account.entries.order_by("id").values_list("kind", "created_at"))
        assert entries[0] == (Entry.Kind.OPENING, issued[account.household_id])
        assert demo.start <= entries[0][1] < demo.start + datetime.timedelta(hours=4)
        assert all(a[1] <= b[1] for a, b in pairwise(entries)), account.household.number
        assert account.balance == sum(account.entries.values_list("points", flat=True))
    assert not Account.objects.filter(balance__lt=0).exists()

    # Plausible balances at the end: most households hold some tens to a couple of hundred.
    balances = sorted(accounts.values_list("balance", flat=True))
    held = [b for b in balances if 10 <= b <= 250]
    assert len(held) >= 0.8 * len(balances)
    assert 40 <= statistics.median(balances) <= 150


def test_a_year_of_approved_points(db, demo, manager, supervisor):
    village = demo.village
    assert Rule.objects.filter(village=village).count() == len(demo_ledger.RULES)
    # Every category a village keeps; the carried-over rule is made by the paper ledger import.
    kept = set(Rule.Category.values) - {Rule.Category.CARRIED_OVER}
    assert {r.category for r in Rule.objects.filter(village=village)} == kept
    approved = Proposal.objects.filter(village=village, status=Proposal.Status.APPROVED)
    accounts = Account.objects.filter(village=village).count()
    assert approved.count() > accounts * 12  # about a year of monthly inspections and more
    assert approved.filter(rule__code="RY02", member__isnull=False).exists()
    assert approved.filter(points__lt=0).exists()
    assert not approved.exclude(proposed_by=manager).exists()
    assert not approved.exclude(decided_by=supervisor).exists()
    batches = Batch.objects.filter(village=village, proposals__status=Proposal.Status.APPROVED)
    assert batches.distinct().count() >= 12
    history = Entry.objects.filter(
        account__village=village, kind__in=[Entry.Kind.AWARD, Entry.Kind.DEDUCTION]
    )
    oldest = history.filter(kind=Entry.Kind.AWARD).order_by("created_at").first()
    assert (history.latest("created_at").created_at - oldest.created_at).days > 300

    # Each past month has its awards, all decided by the 20th (the store's redemption day
    # comes after).
    times = list(history.values_list("created_at", flat=True))
    assert {timezone.localtime(at).date().replace(day=1) for at in times} == set(demo.months)
    assert all(timezone.localtime(at).day <= 20 for at in times)
    for proposal in approved.select_related("entry"):
        assert proposal.decided_at == proposal.entry.created_at
        assert proposal.occurred_on <= timezone.localtime(proposal.decided_at).date()


def test_this_months_workflow_is_dated_now(db, demo):
    """Pending, rejected, in publicity with objections of each outcome, a reversal and
    declarations: all dated today, after the history."""
    village = demo.village
    today = timezone.localdate()
    current = Proposal.objects.filter(village=village).exclude(status=Proposal.Status.APPROVED)
    assert {"proposed", "publicity", "rejected", "cancelled"} <= set(
        current.values_list("status", flat=True)
    )
    assert {
        timezone.localtime(p).date() for p in current.values_list("proposed_at", flat=True)
    } == {today}
    assert current.filter(status=Proposal.Status.PROPOSED).count() >= 10
    assert current.filter(status=Proposal.Status.REJECTED).count() == 3
    assert current.filter(status=Proposal.Status.CANCELLED).count() == 1
    in_publicity = current.filter(status=Proposal.Status.PUBLICITY)
    assert in_publicity.count() >= 3
    assert in_publicity.filter(points__lt=0).exists()
    assert sorted(
        Objection.objects.filter(proposal__village=village).values_list("status", flat=True)
    ) == ["dismissed", "open", "upheld"]
    assert set(Declaration.objects.filter(village=village).values_list("status", flat=True)) == {
        "accepted",
        "submitted",
    }

    reversal = Entry.objects.get(
        account__village=village, kind=Entry.Kind.REVERSAL, voided_redemption__isnull=True
    )
    assert timezone.localtime(reversal.created_at).date() == today
    history = Entry.objects.filter(
        account__village=village, kind__in=[Entry.Kind.AWARD, Entry.Kind.DEDUCTION]
    )
    assert reversal.created_at > history.latest("created_at").created_at


def test_store_is_complete_and_consistent(db, demo):
    village = demo.village
    zones_with_items = set(
        Item.objects.filter(village=village).values_list("zone__code", flat=True)
    )
    assert zones_with_items == set(Zone.Code.values)
    purchases = StockMovement.objects.filter(village=village, kind="purchase")
    assert set(purchases.values_list("fund_source", flat=True)) == set(
        StockMovement.FundSource.values
    )
    # Restocks paid from donated money name the donation, never spending more than it gave.
    assert StockMovement.objects.filter(village=village, paid_by__isnull=False).exists()
    for donation in Donation.objects.filter(village=village, purchases__isnull=False).distinct():
        assert sum(m.cost_yuan for m in donation.purchases.all()) <= donation.value_yuan
        assert all(m.created_at.date() >= donation.received_on for m in donation.purchases.all())
    assert set(Donor.objects.filter(village=village).values_list("kind", flat=True)) == set(
        Donor.Kind.values
    )
    donated_in = {d.received_on.replace(day=1) for d in Donation.objects.filter(village=village)}
    assert len(donated_in) >= 5 and donated_in <= set(demo.months)
    for item in Item.objects.filter(village=village):
        times = list(item.movements.order_by("id").values_list("created_at", flat=True))
        assert all(a <= b for a, b in pairwise(times)), item.name


def test_the_shelves_read_short_are_the_whole_historys(db, demo):
    """What the cover page counts on the shelves (store.traceability.shelf_lots) equals what
    the whole first-in-first-out pass leaves, in each village of the demo county: a year and
    more of purchases, donated goods, redemptions, voids, write-offs and stock-takes."""
    from tests.reports.test_traceability import shelves

    for village in Village.objects.all():
        assert shelves(shelf_lots(village)) == shelves(village_lots(village)), village
    kinds = set(StockMovement.objects.values_list("kind", flat=True))
    assert kinds >= {"purchase", "donation", "redemption", "void", "write_off"}


def test_a_year_at_the_counter(db, demo):
    """Redemptions in every past month after the 20th, each with its ledger entry dated with
    it; two voided the same day; this month holds only today's few."""
    village = demo.village
    this_month = timezone.localdate().replace(day=1)
    redemptions = Redemption.objects.filter(village=village).select_related("entry", "void_entry")
    by_month = {}
    for redemption in redemptions:
        assert redemption.entry.created_at == redemption.created_at
        day = timezone.localtime(redemption.created_at).date()
        assert day >= this_month or day.day >= 21
        by_month[day.replace(day=1)] = by_month.get(day.replace(day=1), 0) + redemption.total_points
    assert redemptions.count() > 25
    assert len(set(by_month) & set(demo.months)) >= 10
    assert by_month.get(this_month, 0) < 0.05 * sum(by_month.values())
    recent = [r for r in redemptions if timezone.localtime(r.created_at).date() >= this_month]
    assert 1 <= len(recent) <= 4
    assert not redemptions.exclude(entry__created_at=F("created_at")).exists()

    voided = [r for r in redemptions if r.voided_at is not None]
    assert len(voided) == 2
    for redemption in voided:
        assert redemption.void_entry.created_at == redemption.voided_at
        assert redemption.voided_at.date() == redemption.created_at.date()
        assert redemption.voided_at > redemption.created_at


def test_the_demo_villager_sees_past_redemptions(db, demo, client):
    """The villager whose card the logins print has counter redemptions of past months."""
    villager = demo_card(demo.village).household.users.get(is_staff=False)
    client.force_login(villager)
    response = client.get(reverse("points:me"))
    assert response.status_code == 200
    shown = [e for e in response.context["history"].entries if e.kind == Entry.Kind.REDEMPTION]
    this_month = timezone.localdate().replace(day=1)
    past = [e for e in shown if timezone.localtime(e.created_at).date() < this_month]
    assert past
    day = timezone.localtime(past[0].created_at).strftime("%Y-%m-%d")
    assert f"{day} · redemption" in response.content.decode()


def test_wishes_in_every_state_with_donors(db, demo):
    village = demo.village
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
    own = wishes.filter(household=demo_card(village).household)
    assert set(own.values_list("status", flat=True)) == set(Wish.Status.values)


def test_the_demo_county_has_three_villages_of_different_sizes_and_histories(db, demo):
    """啊道村 and two generated neighbours in its township: a small one whose store opened
    four months ago and a medium one two years in, each with its own staff, printed."""
    village = demo.village
    villages = Village.objects.filter(township__county=village.township.county).order_by("code")
    assert [v.name for v in villages] == ["啊道村", "柳湾村", "枣坪村"]
    assert {v.township_id for v in villages} == {village.township_id}
    sizes, first_months = {}, {}
    for each in villages:
        sizes[each.name] = Household.objects.filter(village=each).count()
        oldest = Entry.objects.filter(account__village=each).earliest("created_at").created_at
        first_months[each.name] = timezone.localtime(oldest).date().replace(day=1)
    assert sizes == {"啊道村": 154, "柳湾村": 58, "枣坪村": 118}
    this_month = timezone.localdate().replace(day=1)
    assert first_months == {
        "啊道村": demo.months[0],
        "柳湾村": add_months(this_month, -3),
        "枣坪村": add_months(this_month, -23),
    }
    for each in villages[1:]:
        # Their own manager and supervisor, who sign in with the printed password.
        staff = {f"manager{each.code}": Role.MANAGER, f"supervisor{each.code}": Role.SUPERVISOR}
        for username, role in staff.items():
            user = User.objects.get(username=username)
            assert user.village == each and user.groups.filter(name=role).exists()
            assert username in demo.printed
            assert user.check_password(STAFF_PASSWORD)
        # A going concern: cards, approved points, counter visits, stock, pending work.
        assert Card.objects.filter(household__village=each, status="active").count() > 40
        assert Redemption.objects.filter(village=each).count() > 50
        assert Item.objects.filter(village=each, stock__gt=0).count() > 20
        assert Proposal.objects.filter(village=each, status="proposed").exists()
    assert f"Other villages of the county (password {STAFF_PASSWORD})" in demo.printed


def _local_day(moment) -> datetime.date | None:
    return timezone.localtime(moment).date() if moment else None


def test_each_village_starts_before_its_history(db, demo, client, supervisor):
    """The month pages reach back to a village's first month (Village.started_on): each
    demo village starts with its history, no record before it, so every month of the demo
    opens, and the month before the first says there is nothing."""
    for each in Village.objects.filter(township=demo.village.township):
        firsts = [
            _local_day(
                Entry.objects.filter(account__village=each)
                .order_by("created_at")
                .first()
                .created_at
            ),
            _local_day(
                Household.objects.filter(village=each).order_by("created_at").first().created_at
            ),
            Donation.objects.filter(village=each)
            .order_by("received_on")
            .values_list("received_on", flat=True)
            .first(),
            _local_day(
                Redemption.objects.filter(village=each)
                .order_by("created_at")
                .values_list("created_at", flat=True)
                .first()
            ),
            _local_day(
                StockMovement.objects.filter(village=each)
                .order_by("created_at")
                .values_list("created_at", flat=True)
                .first()
            ),
        ]
        assert each.started_on <= min(day for day in firsts if day), each.name
    assert demo.village.started_on == demo.months[0]
    client.force_login(supervisor)
    first = demo.months[0]
    page = client.get(reverse("reports:notice_month", args=[first.year, first.month]))
    assert page.status_code == 200 and page.context["previous"] is None
    before = add_months(first, -1)
    refused = client.get(reverse("reports:notice_month", args=[before.year, before.month]))
    assert refused.status_code == 404 and f"Nothing is recorded for {before:%Y-%m}" in refused.text
