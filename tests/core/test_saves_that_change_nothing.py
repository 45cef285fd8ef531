"""A points rule, an item or a donor saved as stored writes nothing and audits nothing (an
auditor reads each "*.update" event as a change); a real change is written and audited once.
The household and member edits: tests/villagers/test_household_views.py."""

import uuid
from io import BytesIO

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from PIL import Image

from core.models import AuditEvent
from points.models import Rule
from points.services import rule_save
from store.models import Donor, Item
from store.services import donor_save, item_save, redemption_create
from tests.points.conftest import rule_clean  # noqa: F401 (fixture)
from tests.store.conftest import zones_x  # noqa: F401 (fixture)


@pytest.fixture
def towel(village_x, manager_x, zones_x):  # noqa: F811 (fixture)
    from tests.store.conftest import make_item

    return make_item(village_x, "daily", "毛巾", 5, 10, manager_x)


@pytest.fixture
def donor(village_x, manager_x):
    return donor_save(
        donor=Donor(village=village_x, name="张爱心", kind=Donor.Kind.PERSON), actor=manager_x
    )


def _rule_save(row, actor):
    return rule_save(rule=row, actor=actor)


def _item_save(row, actor):
    return item_save(item=row, actor=actor)


def _donor_save(row, actor):
    return donor_save(donor=row, actor=actor)


SAVES = [
    pytest.param("rule_clean", Rule, _rule_save, "rule.update", {"points": 6}, id="rule"),
    pytest.param("towel", Item, _item_save, "item.update", {"points_price": 6}, id="item"),
    pytest.param("donor", Donor, _donor_save, "donor.update", {"contact": "138"}, id="donor"),
]


def _version(row) -> str:
    """The row's version (PostgreSQL's xmin): every UPDATE written to the row moves it."""
    table = connection.ops.quote_name(row._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT xmin::text FROM {table} WHERE id = %s", [row.pk])  # noqa: S608
        return cursor.fetchone()[0]


def _updates(row):
    return AuditEvent.objects.filter(
        object_type=row._meta.label_lower, object_id=str(row.pk), action__endswith=".update"
    )


@pytest.mark.parametrize(("fixture", "model", "save", "action", "changes"), SAVES)
def test_a_save_that_changes_nothing_writes_and_audits_nothing(
    request, manager_x, fixture, model, save, action, changes
):
    """Noted by the team: saving a rule, an item or a donor unchanged still wrote an
    audit event, a "changed" entry that changed nothing, and the row each time."""
    row = request.getfixturevalue(fixture)
    version = _version(row)
    for _ in range(2):  # saved as drawn, then the same form sent again
        save(model.objects.get(pk=row.pk), manager_x)
    assert not _updates(row).exists()
    assert _version(row) == version


@pytest.mark.parametrize(("fixture", "model", "save", "action", "changes"), SAVES)
def test_a_real_change_is_written_and_audited_once(
    request, manager_x, fixture, model, save, action, changes
):
    row = request.getfixturevalue(fixture)
    version = _version(row)
    edited = model.objects.get(pk=row.pk)
    for name, value in changes.items():
        setattr(edited, name, value)
    save(edited, manager_x)
    assert list(_updates(row).values_list("action", flat=True)) == [action]
    assert _version(row) != version
    stored = model.objects.get(pk=row.pk)
    assert {name: getattr(stored, name) for name in changes} == changes


def test_an_item_saved_unchanged_after_a_sale_audits_nothing(card_a, towel, manager_x):
    """Its stock is its movements' to move (core.models.WriterOwnedColumns): an edit read
    before a sale and saved unchanged after it changes nothing of the edit's."""
    edited = Item.objects.get(pk=towel.pk)  # what the edit page read
    household = card_a.household
    redemption_create(
        village=household.village,
        household=household,
        lines={towel.pk: 3},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    version = _version(towel)
    item_save(item=edited, actor=manager_x)
    assert not _updates(towel).exists()
    assert _version(towel) == version
    towel.refresh_from_db()
    assert towel.stock == 7


def _drawn(client, url) -> dict:
    """What the edit page's form sends as drawn (its hidden digest included; no new file)."""
    form = client.get(url).context["form"]
    fields = {
        name: form[name].value()
        for name, field in form.fields.items()
        if not isinstance(field, forms.FileField)
    }
    return {name: value for name, value in fields.items() if value not in (None, False)}


@pytest.mark.parametrize(
    ("name", "edited"), [("store:item_edit", "towel"), ("points:rule_edit", "rule_clean")]
)
def test_an_edit_page_saved_as_drawn_writes_no_audit_event(request, client_manager_x, name, edited):
    row = request.getfixturevalue(edited)
    version = _version(row)
    url = reverse(name, args=[row.pk])
    sent = _drawn(client_manager_x, url)
    for _ in range(2):
        response = client_manager_x.post(url, sent)
        assert response.status_code == 302, response.context["form"].errors
    assert not _updates(row).exists()
    assert _version(row) == version


@pytest.mark.parametrize(
    ("name", "edited", "changes"),
    [
        ("store:item_edit", "towel", {"points_price": 6}),
        ("points:rule_edit", "rule_clean", {"points": 6}),
    ],
)
def test_an_edit_page_sent_twice_is_saved_once_and_said_so(
    request, client_manager_x, name, edited, changes
):
    """Found by a second read: the item and rule pages showed their form again with "this
    was already saved", as an error, after a double click whose first click had saved. As
    the household's page: the second answer goes where the first went and says so."""
    row = request.getfixturevalue(edited)
    url = reverse(name, args=[row.pk])
    sent = {**_drawn(client_manager_x, url), **changes}
    first = client_manager_x.post(url, sent, HTTP_ACCEPT_LANGUAGE="en")
    second = client_manager_x.post(url, sent, HTTP_ACCEPT_LANGUAGE="en")
    _answered_as_the_first(first, second)
    assert _updates(row).count() == 1


def _answered_as_the_first(first, second) -> None:
    """The second of two identical sends goes where the first went, saying it was sent."""
    assert first.status_code == 302, first.context["form"].errors
    assert second.status_code == 302, second.context["form"].errors
    assert second.url == first.url
    told = [str(m) for m in get_messages(second.wsgi_request)]
    assert told[-1] == "This was already sent; nothing was recorded twice."


def _photo(colour) -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, format="JPEG")
    return SimpleUploadedFile("towel.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_an_edit_with_a_new_photo_sent_twice_is_saved_once_and_said_so(
    client_manager_x, towel, settings, tmp_path
):
    """Noted by the team: an item edit that uploads a new photo, sent twice (a double
    click), read "changed in the meantime" the second time: the first had stored the photo
    under a new name, and the second upload, a new file, was compared by its name. It is
    compared by its content now: the same photo sent again was already saved, and saving
    it once more as drawn writes nothing; another photo is still a change made meanwhile."""
    settings.MEDIA_ROOT = tmp_path
    url = reverse("store:item_edit", args=[towel.pk])
    sent = _drawn(client_manager_x, url)
    first = client_manager_x.post(url, {**sent, "photo": _photo("red")})
    second = client_manager_x.post(url, {**sent, "photo": _photo("red")}, HTTP_ACCEPT_LANGUAGE="en")
    _answered_as_the_first(first, second)
    assert _updates(towel).count() == 1
    stored = Item.objects.get(pk=towel.pk).photo.name
    assert [path.name for path in tmp_path.rglob("*.jpg")] == [stored.rsplit("/", 1)[-1]]

    version = _version(towel)
    again = client_manager_x.post(url, {**_drawn(client_manager_x, url), "photo": _photo("red")})
    assert again.status_code == 302, again.context["form"].errors
    assert _updates(towel).count() == 1 and _version(towel) == version
    other = client_manager_x.post(url, {**sent, "photo": _photo("blue")})
    assert other.status_code == 200 and other.context["form"].has_error("__all__", "stale")
    assert Item.objects.get(pk=towel.pk).photo.name == stored


def test_a_page_drawn_before_the_sites_key_was_changed_is_not_stale(
    client_manager_x, towel, donor, manager_x
):
    """Noted on the way: a page's digest of the row it drew is keyed by SECRET_KEY only, so
    after the key was changed (the old one kept in SECRET_KEY_FALLBACKS) every edit page
    drawn before read "changed in the meantime". A digest under a former key is the row's
    as long as the row is unchanged; a row changed since is still stale."""
    from decimal import Decimal

    from django.conf import settings
    from django.test import override_settings

    from store.models import Donation
    from store.services import donation_correct, donation_drawn, donation_record

    url = reverse("store:item_edit", args=[towel.pk])
    sent = {**_drawn(client_manager_x, url), "points_price": 6}
    donation = donation_record(
        village=towel.village,
        donor=donor,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("5000"),
        thanks="感谢",
        actor=manager_x,
    )
    drawn = donation_drawn(Donation.objects.get(pk=donation.pk))  # as the page reads it
    rotated = override_settings(
        SECRET_KEY="a-new-key-after-the-old-one-was-changed-4a91d0c3e7b2",
        SECRET_KEY_FALLBACKS=[settings.SECRET_KEY],
    )
    with rotated:
        saved = client_manager_x.post(url, sent)
        assert saved.status_code == 302, saved.context["form"].errors
        stale = client_manager_x.post(url, {**sent, "points_price": 7})
        assert stale.context["form"].has_error("__all__", "stale")
        donation_correct(
            donation=donation,
            actor=manager_x,
            reason="多打了一个零",
            drawn=drawn,
            value_yuan=Decimal("500"),
        )
    towel.refresh_from_db()
    donation.refresh_from_db()
    assert towel.points_price == 6 and donation.value_yuan == Decimal("500")
