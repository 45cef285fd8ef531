"""The manager's stock pages: items (with photo checks), stock-in, donations, stock-take."""

import datetime
import html
import io
import itertools
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from store.models import Donation, Donor, Item, StockMovement
from store.services import donation_record, item_save
from tests.conftest import form_key

# How the write fails: PostgreSQL refused the address under psycopg2; psycopg 3 refuses it
# before sending (ValueError). Either way inside the write's transaction, after the photo.
REFUSED = (DatabaseError, ValueError)


def png_bytes(size=(8, 8)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "red").save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def item_data(zone, **extra):
    return {
        "zone": zone.pk,
        "name": "洗衣粉 2kg",
        "unit": "袋",
        "points_price": 8,
        "barcode": "",
        "is_active": "on",
        "low_stock_threshold": 5,
        **extra,
    }


def test_item_created_with_a_photo(client_manager_x, zones_x, media_root):
    photo = SimpleUploadedFile("soap.png", png_bytes(), content_type="image/png")
    response = client_manager_x.post(
        reverse("store:item_create"), {**item_data(zones_x[2]), "photo": photo}
    )
    item = Item.objects.get()
    assert response["Location"] == reverse("store:item_detail", args=[item.pk])
    assert item.photo.name.endswith(".jpg")  # stored as every photo is: a plain JPEG
    assert item.stock == 0


def test_an_item_photo_from_a_phone_is_stored_as_every_photo_is(
    client_manager_x, zones_x, media_root
):
    """Found by a second read: goods' photos kept their own list of formats and refused a
    phone's MPO JPEG, and were stored as uploaded, location and all. They now go through
    core.photos.photo_prepare like every other photo."""
    from tests.points.test_photo_reencoding import assert_clean, phone_mpo_with_gps

    response = client_manager_x.post(
        reverse("store:item_create"), {**item_data(zones_x[2]), "photo": phone_mpo_with_gps()}
    )
    item = Item.objects.get()
    assert response["Location"] == reverse("store:item_detail", args=[item.pk])
    assert_clean(item.photo.path)


def test_photo_that_is_not_an_image_refused(client_manager_x, zones_x, media_root):
    fake = SimpleUploadedFile("soap.png", b"not an image at all", content_type="image/png")
    response = client_manager_x.post(
        reverse("store:item_create"), {**item_data(zones_x[2]), "photo": fake}
    )
    assert response.status_code == 200
    assert not Item.objects.exists()


def test_photo_too_large_refused(client_manager_x, zones_x, media_root, settings):
    settings.MAX_PHOTO_BYTES = 50
    photo = SimpleUploadedFile("big.png", png_bytes((64, 64)), content_type="image/png")
    response = client_manager_x.post(
        reverse("store:item_create"), {**item_data(zones_x[2]), "photo": photo}
    )
    assert "the largest allowed is" in response.content.decode()
    assert not Item.objects.exists()


def test_a_barcode_typed_with_full_width_digits_is_kept_as_the_scanner_types_it(
    client_manager_x, zones_x
):
    """Typed through a Chinese input method, it must still match the scanner's ASCII digits."""
    data = item_data(zones_x[2], barcode="６９０９８７６５４３２１２ ")
    assert client_manager_x.post(reverse("store:item_create"), data).status_code == 302
    assert Item.objects.get().barcode == "6909876543212"


NOT_A_BARCODE = (
    "A barcode is the 8, 12, 13 or 14 digits printed under the bars (EAN or UPC): scan it or "
    "type them. Leave it empty for goods without one."
)
WRONG_CHECK_DIGIT = (
    "These digits are no barcode: its last digit does not check the others. Scan it again or "
    "check each digit."
)


def _edit_form(client, item) -> dict:
    """The item's edit form as drawn, to post back with a change."""
    url = reverse("store:item_edit", args=[item.pk])
    drawn = re.search(r'name="drawn" value="([^"]*)"', client.get(url).text).group(1)
    data = item_data(item.zone, name=item.name, unit=item.unit, points_price=item.points_price)
    return {**data, "barcode": item.barcode, "drawn": drawn}


@pytest.mark.parametrize(
    ("typed", "told"),
    [
        ("abc", NOT_A_BARCODE),
        ("😀", NOT_A_BARCODE),
        ("6901234", NOT_A_BARCODE),  # seven digits
        ("690123456789", WRONG_CHECK_DIGIT),  # twelve, but no UPC-A
        ("6901234567890", WRONG_CHECK_DIGIT),  # the EAN-13 below with a wrong last digit
        ("٦٩٠١٢٣٤٥٦٧٨٩٢", NOT_A_BARCODE),  # Arabic-Indic digits: no scanner types them
    ],
)
def test_an_item_barcode_must_be_a_goods_barcode(client_manager_x, rice, typed, told):
    """Found by a probe: `abc` or an emoji was saved as an item's barcode."""
    url = reverse("store:item_edit", args=[rice.pk])
    response = client_manager_x.post(url, {**_edit_form(client_manager_x, rice), "barcode": typed})
    assert response.status_code == 200
    assert response.context["form"].errors["barcode"] == [told]
    assert Item.objects.get(pk=rice.pk).barcode == ""


@pytest.mark.parametrize(
    "barcode",
    [
        "6901234567892",  # EAN-13 (China's prefix 690-699)
        "2000000000121",  # EAN-13 a store prints for its own goods (GS1 prefix 20-29)
        "96385074",  # EAN-8
        "036000291452",  # UPC-A
        "01234565",  # UPC-E, checked as the UPC-A 012345000065 it stands for
        "16901234567899",  # GTIN-14 (a carton's ITF-14)
    ],
)
def test_goods_barcodes_are_taken(client_manager_x, rice, barcode):
    url = reverse("store:item_edit", args=[rice.pk])
    data = {**_edit_form(client_manager_x, rice), "barcode": barcode}
    response = client_manager_x.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    assert Item.objects.get(pk=rice.pk).barcode == barcode


def test_a_barcode_saved_before_the_check_does_not_stop_the_item(client_manager_x, manager_x, rice):
    """Existing data: an item whose barcode was saved before barcodes were checked opens,
    is found at the counter and takes other changes; only a new barcode is checked, here
    and in the service every writer goes through."""
    Item.objects.filter(pk=rice.pk).update(barcode="692222-1")
    rice.refresh_from_db()
    assert client_manager_x.get(reverse("store:item_detail", args=[rice.pk])).status_code == 200
    data = {**_edit_form(client_manager_x, rice), "points_price": 25}
    response = client_manager_x.post(reverse("store:item_edit", args=[rice.pk]), data)
    assert response.status_code == 302
    rice.refresh_from_db()
    assert (rice.points_price, rice.barcode) == (25, "692222-1")
    rice.barcode = "abc"
    with pytest.raises(ValidationError) as refused:
        item_save(item=rice, actor=manager_x)
    assert refused.value.message_dict == {"barcode": [NOT_A_BARCODE]}
    assert Item.objects.get(pk=rice.pk).barcode == "692222-1"


def test_zone_of_another_village_refused(client_manager_x, zones_x, village_y):
    from store.services import zones_ensure

    zone_y = zones_ensure(village=village_y)[0]
    response = client_manager_x.post(reverse("store:item_create"), item_data(zone_y))
    assert response.status_code == 200
    assert not Item.objects.exists()


def test_stock_in_form(client_manager_x, rice):
    response = client_manager_x.post(
        reverse("store:stock_in"),
        {
            "item": rice.pk,
            "quantity": 30,
            "fund_source": "collective",
            "cost_yuan": "1350",
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 302
    rice.refresh_from_db()
    assert rice.stock == 80
    movement = rice.movements.first()
    assert (movement.fund_source, movement.cost_yuan) == ("collective", 1350)


def test_a_stock_in_sent_from_two_tabs_is_taken_in_once_unless_another(client_manager_x, rice):
    """Two tabs of the same stock-in carry two form keys: the second was taken in too (stock
    +10 for 5 delivered). It is refused, saying what was taken in and how to take in a
    second delivery of the same: the box, ticked."""
    sent = {"item": rice.pk, "quantity": 5, "fund_source": "collective", "cost_yuan": "225"}
    first = client_manager_x.post(
        reverse("store:stock_in"), {**sent, "idempotency_key": form_key()}
    )
    assert first.status_code == 302
    second_key = form_key()
    second = client_manager_x.post(
        reverse("store:stock_in"), {**sent, "idempotency_key": second_key}
    )
    assert second.status_code == 200
    assert Item.objects.get(pk=rice.pk).stock == 55
    page = html.unescape(second.content.decode())
    assert (
        "5 × 大米 10kg paid from Village collective (¥225.00) was already taken into stock "
        "today by manager_x at "
    ) in page
    assert "tick “This is another delivery” and save again." in page
    assert re.search(r'<input type="checkbox" name="again"', page)
    again = {**sent, "idempotency_key": second_key, "again": "on"}
    assert client_manager_x.post(reverse("store:stock_in"), again).status_code == 302
    assert Item.objects.get(pk=rice.pk).stock == 60


def test_a_donation_sent_from_two_tabs_is_recorded_once_unless_another(
    client_manager_x, village_x, rice
):
    donor = Donor.objects.create(village=village_x, name="王先生", kind="person")
    sent = {
        "donor": donor.pk,
        "kind": "goods",
        "received_on": "2024-05-01",
        "value_yuan": "100",
        "thanks": "谢谢",
        "goods-TOTAL_FORMS": "1",
        "goods-INITIAL_FORMS": "0",
        "goods-0-item": rice.pk,
        "goods-0-quantity": "4",
    }
    url = reverse("store:donation_create")
    assert client_manager_x.post(url, {**sent, "idempotency_key": form_key()}).status_code == 302
    second_key = form_key()
    second = client_manager_x.post(url, {**sent, "idempotency_key": second_key})
    assert second.status_code == 200
    assert Donation.objects.count() == 1 and Item.objects.get(pk=rice.pk).stock == 54
    assert (
        "A donation of ¥100.00 from 王先生 received on 2024-05-01 was already recorded by "
        "manager_x. Nothing was recorded. If this is another donation, tick “This is another "
        "donation” and save again."
    ) in html.unescape(second.content.decode())
    again = {**sent, "idempotency_key": second_key, "again": "on"}
    assert client_manager_x.post(url, again).status_code == 302
    assert Donation.objects.count() == 2 and Item.objects.get(pk=rice.pk).stock == 58


def test_stock_in_of_another_villages_item_refused(client_manager_y, rice):
    response = client_manager_y.post(
        reverse("store:stock_in"),
        {"item": rice.pk, "quantity": 30, "fund_source": "collective", "cost_yuan": "1"},
    )
    assert response.status_code == 200
    rice.refresh_from_db()
    assert rice.stock == 50


# A donation of goods from a new donor, as the form sends it (its goods' rows apart).
NEW_DONORS_GOODS = {
    "new_donor_name": "延安爱心企业",
    "new_donor_kind": "company",
    "kind": "goods",
    "received_on": "2024-05-01",
    "value_yuan": "800",
    "description": "粮油",
    "thanks": "感谢延安爱心企业的捐赠！",
}


def test_donation_of_goods_from_a_new_donor(client_manager_x, rice, oil):
    response = client_manager_x.post(
        reverse("store:donation_create"),
        {
            **NEW_DONORS_GOODS,
            "goods-TOTAL_FORMS": "2",
            "goods-INITIAL_FORMS": "0",
            "goods-0-item": rice.pk,
            "goods-0-quantity": "10",
            "goods-1-item": oil.pk,
            "goods-1-quantity": "4",
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    donation = Donation.objects.get()
    assert donation.donor.name == "延安爱心企业"
    assert Item.objects.get(pk=rice.pk).stock == 60
    assert Item.objects.get(pk=oil.pk).stock == 24
    assert donation.movements.count() == 2


def test_the_history_follows_the_stock_after_a_donation_dated_days_back(
    client_manager_x, card_a, rice, redeem, manager_x
):
    """Newest recorded first, each row's stock the one after it plus its own change: a
    donation dated three days back sat among the older rows with today's figure."""
    redeem(card_a.household, {rice: 2}, manager_x)
    donation_record(
        village=rice.village,
        donor=Donor.objects.create(village=rice.village, name="延安爱心企业", kind="company"),
        kind=Donation.Kind.GOODS,
        value_yuan=Decimal("100"),
        thanks="谢谢",
        actor=manager_x,
        goods={rice.pk: 10},
        received_on=timezone.localdate() - datetime.timedelta(days=3),
    )
    page = client_manager_x.get(reverse("store:item_detail", args=[rice.pk])).context["page"]
    rows = list(page.object_list)
    assert [row.quantity for row in rows] == [10, -2, 50]
    assert rows[0].stock_after == Item.objects.get(pk=rice.pk).stock == 58
    for newer, older in itertools.pairwise(rows):
        assert newer.stock_after - newer.quantity == older.stock_after


def test_a_new_donor_named_as_one_already_says_to_choose_it(client_manager_x, village_x, rice):
    """Was "The village already has a donor with this name.": nothing said what to do."""
    Donor.objects.create(village=village_x, name="延安爱心企业", kind="company")
    response = client_manager_x.post(
        reverse("store:donation_create"),
        {
            **NEW_DONORS_GOODS,
            "new_donor_name": " 延安爱心企业 ",
            "goods-TOTAL_FORMS": "1",
            "goods-INITIAL_FORMS": "0",
            "goods-0-item": rice.pk,
            "goods-0-quantity": "10",
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 200
    assert (
        "延安爱心企业 is already a donor of the village: search for the name under “Donor” "
        "above, choose it, and leave this box empty."
    ) in html.unescape(response.content.decode())
    assert "Choose a donor or enter a new donor" not in html.unescape(response.content.decode())
    assert not Donation.objects.exists() and Item.objects.get(pk=rice.pk).stock == 50


def test_goods_donation_without_goods_is_a_form_error(client_manager_x, village_x, rice):
    donor = Donor.objects.create(village=village_x, name="王先生", kind="person")
    response = client_manager_x.post(
        reverse("store:donation_create"),
        {
            "donor": donor.pk,
            "kind": "goods",
            "received_on": "2024-05-01",
            "value_yuan": "100",
            "thanks": "谢谢",
            "goods-TOTAL_FORMS": "1",
            "goods-INITIAL_FORMS": "0",
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 200
    assert "List the donated goods" in response.content.decode()
    assert not Donation.objects.exists()


def test_stock_take_and_write_off_forms_wait_for_the_supervisor(
    client_manager_x, client_supervisor_x, rice
):
    client_manager_x.post(
        reverse("store:item_stock_take", args=[rice.pk]),
        {"counted": 48, "expected": 50, "reason": "盘点", "idempotency_key": form_key()},
    )
    (shortfall,) = rice.corrections.all()
    client_manager_x.post(
        reverse("store:item_write_off", args=[rice.pk]),
        {
            "quantity": 3,
            "cause": "spoiled",
            "reason": "受潮",
            "another_loss": str(shortfall.pk),  # besides the count's shortfall, shown
            "idempotency_key": form_key(),
        },
    )
    rice.refresh_from_db()
    assert rice.stock == 50
    waiting = list(rice.corrections.values_list("pk", flat=True))
    assert len(waiting) == 2
    client_supervisor_x.post(
        reverse("store:corrections_decide"),
        {"action": "confirm", "correction": waiting, "idempotency_key": form_key()},
    )
    rice.refresh_from_db()
    assert rice.stock == 45
    kinds = list(rice.movements.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["purchase", "adjustment", "write_off"]


def test_corrections_sent_without_their_button_are_neither_confirmed_nor_refused(
    client_manager_x, client_supervisor_x, kettle
):
    """Enter in the refusal reason presses the form's first button, a hidden one naming no
    action (before Confirm): nothing is decided, and the page says so."""
    client_manager_x.post(
        reverse("store:item_write_off", args=[kettle.pk]),
        {"quantity": 1, "cause": "damaged", "reason": "摔坏", "idempotency_key": form_key()},
    )
    page = client_supervisor_x.get(reverse("store:corrections")).text
    decide = reverse("store:corrections_decide")
    form = re.search(rf'<form[^>]*action="{decide}"[^>]*>.*?</form>', page, re.S).group(0)
    first_button = re.search(r"<button\b[^>]*>", form).group(0)
    assert "name=" not in first_button and 'tabindex="-1"' in first_button
    waiting = list(kettle.corrections.values_list("pk", flat=True))
    response = client_supervisor_x.post(
        decide,
        {"correction": waiting, "reason": "壶没坏", "idempotency_key": form_key()},
        follow=True,
    )
    assert "Nothing was decided" in response.text
    assert set(kettle.corrections.values_list("status", flat=True)) == {"pending"}
    kettle.refresh_from_db()
    assert kettle.stock == 2


def test_corrections_sent_back_undecided_keep_the_ticks_and_the_reason_once(
    client_manager_x, client_supervisor_x, kettle
):
    """Found with JavaScript off: after Enter in the refusal reason the page came back with
    every correction ticked again and the reason gone."""
    for reason in ("摔坏", "漏水"):
        waiting = ",".join(str(pk) for pk in kettle.corrections.values_list("pk", flat=True))
        client_manager_x.post(
            reverse("store:item_write_off", args=[kettle.pk]),
            {
                "quantity": 1,
                "cause": "damaged",
                "reason": reason,
                "another_loss": waiting,  # the second: another kettle broken
                "idempotency_key": form_key(),
            },
        )
    kept, other = kettle.corrections.order_by("pk").values_list("pk", flat=True)
    ticked = re.compile(r'<input[^>]*name="correction" value="(\d+)"[^>]*\bchecked\b')
    page = client_supervisor_x.post(
        reverse("store:corrections_decide"),
        {"correction": [kept], "reason": "壶没坏", "idempotency_key": form_key()},
        follow=True,
    ).text
    assert [int(pk) for pk in ticked.findall(page)] == [kept]
    assert 'value="壶没坏"' in page
    again = client_supervisor_x.get(reverse("store:corrections")).text  # once only
    assert sorted(int(pk) for pk in ticked.findall(again)) == [kept, other]
    assert 'value="壶没坏"' not in again


def test_write_off_beyond_stock_is_a_form_error(client_manager_x, kettle):
    response = client_manager_x.post(
        reverse("store:item_write_off", args=[kettle.pk]),
        {"quantity": 5, "cause": "damaged", "reason": "摔坏", "idempotency_key": form_key()},
    )
    assert response.status_code == 200
    assert "Only 2 of" in response.content.decode()
    assert StockMovement.objects.filter(item=kettle).count() == 1
    assert not kettle.corrections.exists()


def _key_of(page: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]*)"', page).group(1)


def test_a_write_off_already_waiting_is_shown_and_another_is_saved_only_ticked(
    client_manager_x, manager_x, rice
):
    """Found by the brief: a write-off asked from two tabs (or by two people) made two
    corrections waiting for the same loss, each setting its bags aside. The form shows what
    already waits to be written off, with who asked; a write-off beside it is saved only with
    the box "This is another loss" ticked, its value the ones the page showed."""
    url = reverse("store:item_write_off", args=[rice.pk])
    first_tab, second_tab = (client_manager_x.get(url).content.decode() for _ in range(2))
    assert "data-waiting" not in first_tab
    spoiled = {"quantity": 3, "cause": "spoiled", "reason": "受潮"}
    client_manager_x.post(url, {**spoiled, "idempotency_key": _key_of(first_tab)})
    (asked,) = rice.corrections.all()

    # The second tab, drawn before it: refused, the one waiting shown with who asked.
    again = client_manager_x.post(
        url, {**spoiled, "idempotency_key": _key_of(second_tab)}, HTTP_ACCEPT_LANGUAGE="en"
    )
    text = again.content.decode()
    assert again.status_code == 200 and "are already waiting to be written off" in text
    when = timezone.localtime(asked.requested_at)
    assert f"3 袋, asked by {manager_x} on {when:%Y-%m-%d %H:%M} · write-off (spoiled): 受潮" in (
        " ".join(text.split())
    )
    assert Item.objects.get(pk=rice.pk).writing_off == 3 and rice.corrections.count() == 1
    box = re.search(r'<input [^>]*name="another_loss" value="([^"]*)"[^>]*>', text)
    assert box.group(1) == str(asked.pk) and "checked" not in box.group(0)

    # Ticked: another loss, saved beside it, under the refused attempt's key (it kept none).
    saved = client_manager_x.post(
        url, {**spoiled, "another_loss": box.group(1), "idempotency_key": _key_of(second_tab)}
    )
    assert saved.status_code == 302
    assert Item.objects.get(pk=rice.pk).writing_off == 6 and rice.corrections.count() == 2

    # A box ticked on a page that showed fewer than now wait: refused, both shown.
    stale = client_manager_x.post(
        url, {**spoiled, "another_loss": str(asked.pk), "idempotency_key": form_key()}
    )
    assert stale.status_code == 200 and stale.content.decode().count("受潮</li>") == 2
    assert rice.corrections.count() == 2


def test_low_stock_highlighted(client_manager_x, kettle, rice):
    html = client_manager_x.get(reverse("store:stock_list"), {"low": "1"}).content.decode()
    assert kettle.name in html and rice.name not in html


def test_units_held_for_reservations_make_an_item_low(
    client_manager_x, village_x, zones_x, manager_x, card_a, villager_a
):
    """Found in review: the low-stock list and the dashboard went by the stock alone; 8
    towels with 4 held for a reservation leave 4 to offer, below the threshold of 5."""
    from reports.selectors import stock_summary
    from store.services import reservation_create
    from tests.store.conftest import make_item

    towel = make_item(village_x, "daily", "毛巾", 1, 8, manager_x, low_stock_threshold=5)
    reservation_create(household=card_a.household, lines={towel.pk: 4}, actor=villager_a)
    listed = client_manager_x.get(reverse("store:stock_list") + "?low=1")
    assert [item.name for item in listed.context["page"].object_list] == ["毛巾"]
    assert "4 held for reservations" in listed.text
    summary = stock_summary(village_x)
    assert summary["low_count"] == 1 and summary["low_items"] == [towel]


def test_an_item_rolled_back_in_the_database_leaves_no_photo(zones_x, manager_x, media_root):
    """The audit row is refused (a client address PostgreSQL cannot read) after the photo
    was stored: the item is not created and its photo is deleted again."""
    photo = SimpleUploadedFile("soap.png", png_bytes(), content_type="image/png")
    item = Item(village=manager_x.village, zone=zones_x[2], name="肥皂", unit="块", points_price=3)
    item.photo = photo
    with pytest.raises(REFUSED):
        item_save(item=item, actor=manager_x, request=RequestFactory().post("/", REMOTE_ADDR="bad"))
    assert not Item.objects.exists()
    assert not [path for path in media_root.rglob("*") if path.is_file()]


def test_the_low_stock_list_is_what_the_dashboard_counts(
    client_manager_x, village_x, zones_x, manager_x
):
    """Found by a probe: the dashboard said 6 items were low and its link listed 12, those
    taken off sale included."""
    from reports.selectors import stock_summary
    from tests.store.conftest import make_item

    for n in range(2):
        make_item(village_x, "daily", f"在售{n}", 2, 0, manager_x)
        make_item(village_x, "daily", f"下架{n}", 2, 0, manager_x, is_active=False)
    listed = client_manager_x.get(reverse("store:stock_list") + "?low=1").context
    names = sorted(item.name for item in listed["page"].object_list)
    assert stock_summary(village_x)["low_count"] == len(names) == 2
    assert names == ["在售0", "在售1"]


def test_each_item_photo_is_stored_under_a_name_of_its_own(client_manager_x, zones_x, media_root):
    """Found by a third read: every goods photo was stored as item.jpg; a storage that
    overwrites (S3's) would have given every item the last one."""
    for name in ("洗衣粉 2kg", "肥皂"):
        photo = SimpleUploadedFile("soap.png", png_bytes(), content_type="image/png")
        data = {**item_data(zones_x[2]), "name": name, "photo": photo}
        assert client_manager_x.post(reverse("store:item_create"), data).status_code == 302
    first, second = (item.photo.name for item in Item.objects.order_by("pk"))
    assert first != second and "item-" in first and first.endswith(".jpg")


@pytest.mark.parametrize("total", ["abc", None])
def test_a_donation_whose_goods_count_is_unreadable_says_so_and_records_nothing(
    client_manager_x, rice, total
):
    """The goods' hidden count missing or mangled (a page cut short, or altered) drew
    Django's "(Hidden field TOTAL_FORMS) Enter a whole number." and no goods' rows at all."""
    data = {
        **NEW_DONORS_GOODS,
        "goods-INITIAL_FORMS": "0",
        "goods-0-item": rice.pk,
        "goods-0-quantity": "10",
        "idempotency_key": form_key(),
    }
    if total is not None:
        data["goods-TOTAL_FORMS"] = total
    response = client_manager_x.post(reverse("store:donation_create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "list of goods could not be read" in html
    assert "Hidden field" not in html
    assert html.count('name="goods-0-item"') == 1  # the rows are drawn again, to fill in
    assert 'name="goods-TOTAL_FORMS" value="5"' in html
    assert not Donation.objects.exists()
    assert Item.objects.get(pk=rice.pk).stock == rice.stock
