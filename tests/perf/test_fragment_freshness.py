"""A cached page part is never stale: change any field of any row it may show, and the page
served from the cache is the page rendered afresh.

The busy pages keep rendered parts under a digest of the rows they show
(core.sql.rows_digest). Rather than list the fields each template shows (a list that
would drift from the templates), this test changes every plain field of every model the page
draws on, one after the other, and compares the cached page with a fresh render. A field a
template shows but the digest misses makes the two differ. The county overview is left out:
its figures may be up to a minute old and the page says so (reports.county.FIGURES_MAX_AGE).

The notice and the reports (reports.selectors.report_state) follow the ledger and the stock
through the row versions of the accounts and items that every entry and stock movement
writes in its own transaction; the rows written with an entry and never changed after it (the
entries, approved proposals, redemptions and their lines, stock movements) are followed that
way, and are changed here only through the services (test_reports_follow_the_ledger).
"""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone

from core import fragments
from points.models import Account, Batch, Declaration, Objection, Proposal, Rule
from points.publicity import objection_raise
from points.services import declaration_submit, proposal_approve
from reports.models import NoticeSignature, PublishedNotice
from reports.notice import notice_publish
from store.models import Donation, Donor, Item, Redemption, Zone
from store.services import donation_record, redemption_void
from tests.points.conftest import propose
from villagers.models import Card, Household, Member, User, Village, VillageGroup

PLAIN = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.DecimalField,
    models.BooleanField,
    models.DateField,
)
# Changing these breaks the scene itself (who is signed in, which village, which card).
KEEP = {"id", "password", "username", "is_staff", "is_active", "is_superuser", "code", "status"}
KEYS = re.compile(r'(name="(?:csrfmiddlewaretoken|idempotency_key|key)" value=")[^"]*')


def changed(field, value):
    """Another valid-looking value for `field`."""
    if field.choices:
        others = [choice for choice, _label in field.choices if choice != value]
        return others[0] if others else value
    if isinstance(field, models.BooleanField):
        return not value
    if isinstance(field, models.DateTimeField | models.DateField):
        return None if value is None else value - datetime.timedelta(days=1)
    if isinstance(field, models.DecimalField):
        return (value or Decimal(0)) + 1
    if isinstance(field, models.IntegerField):
        return (value or 0) + (-1 if (value or 0) < 0 else 1)
    return f"{value or ''}改"[: field.max_length or 100]


def page(client, url) -> str:
    return KEYS.sub(r"\1", client.get(url).content.decode())


class HitCounting:
    """The cache, counting the page parts it serves (core.fragments.cached_part)."""

    def __init__(self, cache):
        self.cache, self.hits = cache, 0

    def get(self, key, default=None):
        part = self.cache.get(key, default)
        self.hits += part is not None
        return part

    def __getattr__(self, name):
        return getattr(self.cache, name)


@pytest.fixture(autouse=True)
def parts(monkeypatch):
    counting = HitCounting(fragments.cache)
    monkeypatch.setattr(fragments, "cache", counting)
    return counting


def assert_fresh_after_every_change(client, url, querysets):
    counting = fragments.cache
    page(client, url)  # the parts are cached now
    hits = counting.hits
    page(client, url)
    assert counting.hits > hits, f"{url}: no part of the page is served from the cache"
    tried = 0
    for queryset in querysets:
        for field in queryset.model._meta.concrete_fields:
            if not isinstance(field, PLAIN) or field.name in KEEP or field.primary_key:
                continue
            rows = list(queryset.all())
            values = [getattr(row, field.attname) for row in rows]
            if (
                isinstance(field, models.IntegerField)
                and len(set(values)) > 1
                and not field.choices
            ):
                # Reversed among the rows, so an order the field sets changes too.
                ranked = sorted(set(values))
                new_values = [ranked[-1 - ranked.index(value)] for value in values]
            else:
                new_values = [changed(field, value) for value in values]
            for row, value in zip(rows, new_values, strict=True):
                try:
                    with transaction.atomic():
                        queryset.model.objects.filter(pk=row.pk).update(**{field.attname: value})
                except IntegrityError:
                    continue  # a value the table's constraints refuse: nothing can show it
                tried += 1
            hits = counting.hits
            cached = page(client, url)
            if counting.hits == hits:
                continue  # every part was rendered afresh: a new fingerprint, nothing stale
            cache.clear()
            fresh = page(client, url)
            assert cached == fresh, f"{url}: {queryset.model.__name__}.{field.name} went stale"
    assert tried > 20


@pytest.fixture
def scene(card_a, card_b, manager_x, supervisor_x, villager_a, rule_clean, rice, oil):
    """Village X with history, pending and approved proposals, a declaration, shelves."""
    household = card_a.household
    (done,) = propose(manager_x, [household], rule_clean)
    proposal_approve(proposal_ids=[done.pk], actor=supervisor_x)
    propose(manager_x, [household, card_b.household], rule_clean, batch_title="扫路")
    declaration_submit(user=villager_a, description="帮邻居", occurred_on=timezone.localdate())
    return household


def test_villager_home_follows_every_row_it_shows(client_villager_a, scene):
    household = scene
    assert_fresh_after_every_change(
        client_villager_a,
        reverse("points:me"),
        [
            Proposal.objects.filter(household=household),
            Rule.objects.filter(village=household.village),
            Declaration.objects.filter(household=household),
            Member.objects.filter(household=household),
            Household.objects.filter(pk=household.pk),
            Card.objects.filter(household=household),
            Village.objects.filter(pk=household.village_id),
        ],
    )


def test_approval_queue_follows_every_row_it_shows(client_supervisor_x, scene, manager_x):
    village = scene.village
    assert_fresh_after_every_change(
        client_supervisor_x,
        reverse("points:approval_queue"),
        [
            Proposal.objects.filter(village=village),
            Household.objects.filter(village=village),
            Account.objects.filter(village=village),
            Member.objects.filter(household__village=village),
            Batch.objects.filter(village=village),
            Rule.objects.filter(village=village),
            VillageGroup.objects.filter(village=village),
            User.objects.filter(pk=manager_x.pk),
        ],
    )


def test_catalogue_follows_every_row_it_shows(client_villager_a, scene):
    village = scene.village
    assert_fresh_after_every_change(
        client_villager_a,
        reverse("store:catalogue"),
        [
            Item.objects.filter(village=village),
            Zone.objects.filter(village=village),
            Account.objects.filter(household=scene),
            Village.objects.filter(pk=village.pk),
        ],
    )


def test_counter_follows_every_row_it_shows(client_manager_x, scene):
    village = scene.village
    assert_fresh_after_every_change(
        client_manager_x,
        reverse("store:counter_household", args=[scene.pk]),
        [
            Item.objects.filter(village=village),
            Zone.objects.filter(village=village),
            Account.objects.filter(household=scene),
            Household.objects.filter(pk=scene.pk),
            Card.objects.filter(household=scene),
        ],
    )


@pytest.fixture
def report_scene(scene, village_x, card_b, manager_x, supervisor_x, rule_clean, rice, redeem):
    """The scene with what the notice and the reports show besides: an award in publicity
    with an objection, a redemption, a donation of money and one of goods."""
    village_x.publicity_days = 3
    village_x.save()
    (waiting,) = propose(manager_x, [card_b.household], rule_clean)
    proposal_approve(proposal_ids=[waiting.pk], actor=supervisor_x)
    objection_raise(proposal_id=waiting.pk, actor=manager_x, reason="not him")
    redeem(scene, {rice: 1}, manager_x)
    donor = Donor.objects.create(village=village_x, name="爱心企业", kind="company")
    for kind, goods in ((Donation.Kind.MONEY, None), (Donation.Kind.GOODS, {rice.pk: 2})):
        donation_record(
            village=village_x,
            donor=donor,
            kind=kind,
            value_yuan=Decimal(50),
            thanks="谢谢",
            actor=manager_x,
            goods=goods,
        )
    return scene


def report_rows(village):
    """Every row the notice and the reports may show that the digest reads itself."""
    return [
        Village.objects.filter(pk=village.pk),
        Household.objects.filter(village=village),
        VillageGroup.objects.filter(village=village),
        Rule.objects.filter(village=village),
        Card.objects.filter(household__village=village),
        Account.objects.filter(village=village),
        Item.objects.filter(village=village),
        Zone.objects.filter(village=village),
        Donor.objects.filter(village=village),
        Donation.objects.filter(village=village),
        # Those not posted: an approved one is written with its entry, and never after.
        Proposal.objects.filter(village=village).exclude(status=Proposal.Status.APPROVED),
        Objection.objects.filter(village=village),
    ]


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(lambda today: reverse("reports:notice"), id="notice"),
        pytest.param(lambda today: reverse("reports:month_report_current"), id="month_report"),
        pytest.param(
            lambda today: reverse("reports:year_report", args=[today.year]), id="year_report"
        ),
    ],
)
def test_notice_and_reports_follow_every_row_they_show(client_supervisor_x, report_scene, url):
    url = url(timezone.localdate())
    assert_fresh_after_every_change(client_supervisor_x, url, report_rows(report_scene.village))


def test_reports_follow_the_ledger(client_supervisor_x, report_scene, manager_x, supervisor_x):
    """What the digest follows through the accounts' and items' row versions: a void (the
    redemption's row and a reversal entry), an award posted, a purchase."""
    urls = [
        reverse("reports:notice"),
        reverse("reports:month_report_current"),
        reverse("reports:year_report", args=[timezone.localdate().year]),
    ]
    for _url in urls:
        page(client_supervisor_x, _url)
    redemption = Redemption.objects.get(household=report_scene)
    redemption_void(redemption=redemption, actor=supervisor_x, reason="wrong card")
    for _url in urls:
        cached = page(client_supervisor_x, _url)
        cache.clear()
        assert cached == page(client_supervisor_x, _url), _url


def test_published_notice_follows_its_row_and_signatures(
    client_villager_a, report_scene, supervisor_x
):
    """A published notice is frozen: its sections are kept under its id and row version; the
    signatures around them are read on every visit."""
    village = report_scene.village
    last_month = timezone.localdate().replace(day=1) - datetime.timedelta(days=1)
    notice_publish(
        village=village,
        year=last_month.year,
        month=last_month.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )
    assert_fresh_after_every_change(
        client_villager_a,
        reverse("reports:notice_month", args=[last_month.year, last_month.month]),
        [
            PublishedNotice.objects.filter(village=village),
            NoticeSignature.objects.filter(notice__village=village),
            *report_rows(village),
        ],
    )


def test_a_part_cached_before_an_upgrade_is_not_served_after_it(tmp_path, monkeypatch):
    """A shared cache (Redis) outlives an upgrade: the parts' keys held no trace of the code
    that drew them, so a changed layout (a column added to the year report) was served in its
    old form for a day. The key holds a digest of the templates, code and translations."""
    (tmp_path / "templates" / "reports").mkdir(parents=True)
    body = tmp_path / "templates" / "reports" / "_year_report_body.html"
    body.write_text("<td>{{ flow.redeemed }}</td>")
    before = fragments.code_digest(tmp_path)
    assert fragments.code_digest(tmp_path) == before
    body.write_text("<td>{{ flow.redeemed }}</td><td>{{ flow.voided_earlier }}</td>")
    after = fragments.code_digest(tmp_path)
    assert after != before
    (tmp_path / "templates" / "reports" / "__pycache__").mkdir()
    (tmp_path / "templates" / "reports" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert fragments.code_digest(tmp_path) == after  # what draws nothing is left out

    cache.clear()
    drawn = []

    def draw():
        drawn.append(1)
        return f"part {len(drawn)}"

    fragments.code_fingerprint.cache_clear()
    monkeypatch.setattr(fragments, "code_digest", lambda root: before)
    assert fragments.cached_part("year-report", "rows", draw, 60) == "part 1"
    assert fragments.cached_part("year-report", "rows", draw, 60) == "part 1"
    fragments.code_fingerprint.cache_clear()  # the next release's process
    monkeypatch.setattr(fragments, "code_digest", lambda root: after)
    assert fragments.cached_part("year-report", "rows", draw, 60) == "part 2"
    fragments.code_fingerprint.cache_clear()
