"""The counter as a teller uses it: scan, cart, confirm (once), receipt."""

import datetime
import html
import importlib
import re
import uuid

import pytest
from django.apps import apps
from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation

from core.access import Role
from points.models import Entry
from store.models import Item, Redemption
from store.selectors import items_search
from store.services import redemption_create, reservation_create
from tests.conftest import make_staff
from tests.store.conftest import add_to_cart, confirm_form, counter_url, make_item

ANOTHER_VILLAGES = (
    "Card {number} is another village's card: its household shops at its own village's store."
)


def test_scanner_input_finds_the_household(client_manager_x, card_a):
    scanned = f"AIDAO-CARD:{card_a.number}\n"
    response = client_manager_x.get(reverse("store:counter"), {"card": scanned})
    assert response.status_code == 302
    assert response["Location"] == counter_url(card_a.household)


def test_card_of_another_village_not_found(client_manager_x, card_y):
    """Refused, naming the number read, with the field empty for the next scan: a scanner
    typing into the old number would make the next card unreadable too. It says the card
    is another village's (found by a probe: "no card has this number", as of a mistyped
    one), naming neither its household nor its village."""
    response = client_manager_x.get(reverse("store:counter"), {"card": card_y.number})
    assert response.status_code == 200
    assert ANOTHER_VILLAGES.format(number=card_y.number) in html.unescape(response.text)
    assert card_y.household.head_name not in response.text
    assert card_y.household.village.name not in response.text
    unknown = client_manager_x.get(reverse("store:counter"), {"card": "999999999"})
    assert "No active card of this village has the number 999999999." in unknown.text
    (field,) = re.findall(r'<input[^>]*name="card"[^>]*>', response.text)
    assert "value=" not in field and "autofocus" in field


@pytest.mark.parametrize("read", ["abc", "1.5", "-1", "12345678901234567890", "😀", "barcode"])
def test_what_is_no_card_number_is_refused_naming_what_was_read(client_manager_x, card_a, read):
    """Letters, a decimal or a long number read into the card field are said to be no card
    number, quoting what was read; not "no card has the number ." (letters dropped) or the
    number made of the last nine digits. A product's barcode ending in a card's nine digits
    opens no household's counter."""
    typed = f"690{card_a.number}" if read == "barcode" else read
    response = client_manager_x.get(reverse("store:counter"), {"card": typed})
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert (
        f"“{typed}” is not a card number: scan the QR code on the household's card, or type "
        "the 9 digits printed on it." in page
    )
    assert "No active card of this village" not in page


def test_a_one_point_item_costs_one_point_not_one_points(
    client_manager_x, card_a, manager_x, zones_x
):
    make_item(card_a.household.village, "toiletries", "火柴", 1, 10, manager_x)
    page = client_manager_x.get(counter_url(card_a.household), {"zone": "toiletries"}).text
    assert "1 point each" in page and "1 points" not in page


def test_item_buttons_say_what_one_costs(client_manager_x, card_a, rice, oil, settings):
    """Not "+ 20", which reads like points earned: the price of one, "20 分/件" in Chinese."""
    page = client_manager_x.get(counter_url(card_a.household), {"zone": "grain_oil"}).text
    buttons = re.findall(r'name="item" value="(\d+)">.*?<button[^>]*>(.*?)</button>', page, re.S)
    assert {pk: re.sub(r"<[^>]+>", "", label) for pk, label in buttons} == {
        str(rice.pk): "Add to the cart: 20 points each",
        str(oil.pk): "Add to the cart: 30 points each",
    }
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("zh-hans"):
        chinese = client_manager_x.get(
            counter_url(card_a.household), {"zone": "grain_oil"}, HTTP_ACCEPT_LANGUAGE="zh-hans"
        ).text
    assert "20 分/件" in chinese and "+ 20" not in chinese


def test_cart_confirm_and_receipt(client_manager_x, card_a, rice, oil):
    household = card_a.household
    add_to_cart(client_manager_x, household, rice, 2)
    add_to_cart(client_manager_x, household, oil)
    add_to_cart(client_manager_x, household, rice)  # adds up: three bags
    data = confirm_form(client_manager_x, household)
    assert data[f"line_{rice.pk}"] == "3" and data[f"line_{oil.pk}"] == "1"
    response = client_manager_x.post(reverse("store:counter_confirm", args=[household.pk]), data)
    redemption = Redemption.objects.get()
    assert response["Location"] == reverse("store:receipt", args=[redemption.pk])
    household.account.refresh_from_db()
    assert household.account.balance == 100 - 90
    receipt = client_manager_x.get(response["Location"]).content.decode()
    assert "大米 10kg" in receipt and "90" in receipt
    # The cart is emptied for the next household.
    assert (
        'class="confirm-form"' not in client_manager_x.get(counter_url(household)).content.decode()
    )


def test_the_next_households_card_scanned_on_the_receipt_opens_their_counter(
    client_manager_x, card_a, card_b, rice
):
    """Found by a probe: after a confirmation the receipt had no box to scan into, so the next
    household's card, scanned there (the scanner types into the focused box and Enter), was
    lost. The receipt's focused box takes it to their counter; empty, it is the start page."""
    household = card_a.household
    add_to_cart(client_manager_x, household, rice)
    data = confirm_form(client_manager_x, household)
    confirmed = client_manager_x.post(reverse("store:counter_confirm", args=[household.pk]), data)
    receipt = client_manager_x.get(confirmed["Location"]).text
    (form,) = re.findall(r'<form method="get" action="([^"]*)"[^>]*>(.*?)</form>', receipt, re.S)
    assert form[0] == reverse("store:counter")
    (field,) = re.findall(r'<input[^>]*name="card"[^>]*>', form[1])
    assert "autofocus" in field and "value=" not in field
    scanned = client_manager_x.get(form[0], {"card": f"AIDAO-CARD:{card_b.number}"})
    assert scanned["Location"] == counter_url(card_b.household)
    empty = client_manager_x.get(form[0], {"card": ""})
    assert empty.status_code == 200 and not empty.context["form"].errors


def test_resubmitted_confirm_charges_once_and_shows_the_same_receipt(
    client_manager_x, card_a, rice
):
    household = card_a.household
    add_to_cart(client_manager_x, household, rice, 2)
    data = confirm_form(client_manager_x, household)
    url = reverse("store:counter_confirm", args=[household.pk])
    first = client_manager_x.post(url, data)
    second = client_manager_x.post(url, data)
    assert first["Location"] == second["Location"]
    assert Redemption.objects.count() == 1
    assert Entry.objects.filter(kind=Entry.Kind.REDEMPTION).count() == 1
    household.account.refresh_from_db()
    assert household.account.balance == 60
    assert Item.objects.get(pk=rice.pk).stock == 48
    page = client_manager_x.get(second["Location"]).content.decode()
    assert "already confirmed" in page


def test_same_key_with_another_cart_refused(client_manager_x, card_a, rice, oil):
    household = card_a.household
    url = reverse("store:counter_confirm", args=[household.pk])
    add_to_cart(client_manager_x, household, rice)
    data = confirm_form(client_manager_x, household)
    client_manager_x.post(url, data)
    forged = {"key": data["key"], f"line_{oil.pk}": "1"}
    response = client_manager_x.post(url, forged, follow=True)
    assert "already used for a different cart" in response.content.decode()
    household.account.refresh_from_db()
    assert household.account.balance == 80
    assert Item.objects.get(pk=oil.pk).stock == 20


def test_two_windows_on_one_cart_charge_it_once(client_manager_x, card_a, rice):
    """Two tabs show the same cart; both press Confirm: one redemption, and the second
    tab gets the first one's receipt."""
    household = card_a.household
    url = reverse("store:counter_confirm", args=[household.pk])
    add_to_cart(client_manager_x, household, rice, 2)
    first_tab = confirm_form(client_manager_x, household)
    second_tab = confirm_form(client_manager_x, household)
    first = client_manager_x.post(url, first_tab)
    second = client_manager_x.post(url, second_tab, follow=True)
    assert second.redirect_chain[0][0] == first["Location"]
    assert "already confirmed" in second.content.decode()
    assert Redemption.objects.count() == 1
    household.account.refresh_from_db()
    assert household.account.balance == 60


def test_a_window_whose_cart_changed_elsewhere_charges_nothing(client_manager_x, card_a, rice, oil):
    """A tab drawn before another tab changed the cart (or with no cart at all, or a key of
    its own) is not what the cart holds now: refused, nothing charged."""
    household = card_a.household
    url = reverse("store:counter_confirm", args=[household.pk])
    add_to_cart(client_manager_x, household, rice)
    stale = confirm_form(client_manager_x, household)
    add_to_cart(client_manager_x, household, oil)
    for form in (stale, {"key": str(uuid.uuid4()), f"line_{rice.pk}": "1"}):
        response = client_manager_x.post(url, form, follow=True)
        assert "changed in another window" in response.content.decode()
    current = confirm_form(client_manager_x, household)
    assert current[f"line_{oil.pk}"] == "1" and current["key"] != stale["key"]
    client_manager_x.post(url, current)
    assert Redemption.objects.get().lines.count() == 2
    household.account.refresh_from_db()
    assert household.account.balance == 100 - 20 - 30


def test_a_cart_kept_without_a_key_gets_one_and_confirms(client_manager_x, card_a, rice):
    """A session from before carts had their key: the page gives it one."""
    session = client_manager_x.session
    session["store_cart"] = {"household": card_a.household_id, "lines": {str(rice.pk): 1}}
    session.save()
    form = confirm_form(client_manager_x, card_a.household)
    assert form["key"]
    url = reverse("store:counter_confirm", args=[card_a.household_id])
    assert "/redemptions/" in client_manager_x.post(url, form)["Location"]


def test_too_few_points_shows_a_message_and_changes_nothing(client_manager_x, card_a, kettle):
    household = card_a.household
    url = reverse("store:counter_confirm", args=[household.pk])
    add_to_cart(client_manager_x, household, kettle, 3)
    response = client_manager_x.post(url, confirm_form(client_manager_x, household), follow=True)
    (refusal,) = [str(message) for message in response.context["messages"]]
    assert refusal.startswith("Not enough"), refusal
    household.account.refresh_from_db()
    assert household.account.balance == 100
    assert Item.objects.get(pk=kettle.pk).stock == 2
    assert not Redemption.objects.exists()


def test_counter_warns_before_confirm_when_points_are_short(client_manager_x, card_a, rice):
    add_to_cart(client_manager_x, card_a.household, rice, 6)  # 120 > 100
    html = client_manager_x.get(counter_url(card_a.household)).content.decode()
    assert "20 points short" in html
    assert re.search(r'<button class="btn btn-danger btn-lg w-100" type="submit" disabled', html)


def test_receipt_prints_on_slip_and_a4(client_manager_x, card_a, rice, manager_x, redeem):
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    url = reverse("store:receipt", args=[redemption.pk])
    # The @page rule is a stylesheet of its own (the Content-Security-Policy allows no <style>).
    for paper, rule in (("slip", "size: 80mm auto"), ("a4", "size: A4")):
        page = client_manager_x.get(url, {"paper": paper}).content.decode()
        sheet = f"css/receipt-{paper}.css"
        assert f'href="{static(sheet)}"' in page
        assert rule in (settings.BASE_DIR / "static" / sheet).read_text()
    # The next receipt opens on the paper chosen last, its Print button ready: one click.
    following = redeem(card_a.household, {rice: 1}, manager_x)
    page = client_manager_x.get(reverse("store:receipt", args=[following.pk])).text
    assert f'href="{static("css/receipt-a4.css")}"' in page and "data-print" in page


def test_the_household_reads_its_receipt_with_a_way_back_not_the_staffs_printers(
    client_villager_a, card_a, rice, manager_x, redeem
):
    """Found on the phone: a villager's receipt offered the counter's printers (58/80 mm,
    A4) and no way back to My redemptions. The printers are the staff's; the way back is
    the household's, and a paper asked for in the address is not taken up."""
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    url = reverse("store:receipt", args=[redemption.pk])
    for asked in ({}, {"paper": "a4"}):
        page = client_villager_a.get(url, asked).text
        assert 'href="?paper=' not in page
        assert static("css/receipt-a4.css") not in page
        back = f'href="{reverse("store:my_redemptions")}">← My redemptions</a>'
        assert back in page  # on the page itself, not only in the menu
    assert "receipt_paper" not in client_villager_a.session


def test_supervisor_voids_from_the_receipt(
    client_supervisor_x, client_manager_x, card_a, rice, manager_x, redeem
):
    redemption = redeem(card_a.household, {rice: 2}, manager_x)
    url = reverse("store:receipt", args=[redemption.pk])
    assert "Void this redemption" in client_supervisor_x.get(url).content.decode()
    assert "Only the supervisor can void it" not in client_supervisor_x.get(url).text
    assert "Only the supervisor can void it" in client_manager_x.get(url).text
    client_supervisor_x.post(
        reverse("store:redemption_void", args=[redemption.pk]),
        {"reason": "x", "idempotency_key": "k" * 20},
    )
    page = client_supervisor_x.get(url).content.decode()
    assert "VOIDED" in page and "Void this redemption" not in page
    assert "Only the supervisor can void it" not in client_manager_x.get(url).text
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 100


@pytest.fixture
def many_items(zones_x, village_x, manager_x):
    codes = ["grain_oil", "daily", "toiletries", "clothing", "farm", "appliances"]
    return [
        make_item(village_x, codes[n % 6], f"商品{n:02d}", 5 + n, 10, manager_x) for n in range(45)
    ]


def test_counter_query_count_bounded(
    client_manager_x, card_a, many_items, django_assert_max_num_queries
):
    for item in many_items[:8]:
        add_to_cart(client_manager_x, card_a.household, item)
    with django_assert_max_num_queries(14):
        response = client_manager_x.get(counter_url(card_a.household))
    assert response.content.decode().count('name="action" value="add"') == 20


def test_stock_list_query_count_bounded(
    client_supervisor_x, many_items, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        response = client_supervisor_x.get(reverse("store:stock_list"))
    assert response.status_code == 200


def test_catalogue_query_count_bounded(
    client_villager_a, many_items, django_assert_max_num_queries
):
    with django_assert_max_num_queries(10):
        response = client_villager_a.get(reverse("store:catalogue"))
    html = response.content.decode()
    assert "商品00" in html and "Your household" in html


def test_the_shelves_show_what_reservations_leave(client_manager_x, card_a, card_b, kettle):
    """Two kettles on the shelf: one reserved leaves one to sell; both reserved, none, and
    its button is off (the counter would refuse it anyway)."""

    def kettle_line():
        page = client_manager_x.get(counter_url(card_b.household), {"zone": "appliances"}).text
        line = re.search(
            r'<li class="list-group-item[^"]*">(?:(?!</li>).)*电热水壶.*?</li>', page, re.S
        )
        return re.sub(r"\s+", " ", line.group(0))

    def words(line):
        return re.sub(r"<[^>]+>", "", line)

    assert "2 left" in words(kettle_line()) and "reserved" not in kettle_line()
    villager = card_a.household.users.get(is_staff=False)
    reservation_create(household=card_a.household, lines={kettle.pk: 1}, actor=villager)
    assert "1 left (2 in stock, 1 reserved)" in words(kettle_line())
    assert "disabled" not in kettle_line()
    reservation_create(household=card_a.household, lines={kettle.pk: 1}, actor=villager)
    line = kettle_line()
    assert "0 left (2 in stock, 2 reserved)" in words(line)
    assert re.search(r"<button[^>]*disabled", line)


def test_an_item_named_like_the_token_slot_stays_as_typed(client_manager_x, card_b, kettle):
    """The shelves are cached with a placeholder for the CSRF token: only the forms' token
    fields are filled in, never text that happens to read like the placeholder."""
    from core.fragments import CSRF_SLOT

    Item.objects.filter(pk=kettle.pk).update(name=f"壶 {CSRF_SLOT}")
    page = client_manager_x.get(counter_url(card_b.household), {"zone": "appliances"}).text
    assert f"壶 {CSRF_SLOT}" in page
    tokens = re.findall(r'name="csrfmiddlewaretoken" value="([^"]*)"', page)
    assert tokens and CSRF_SLOT not in tokens


def test_one_point_is_one_point_on_the_household_history(
    client_villager_a, card_a, zones_x, village_x, manager_x
):
    """Found in English: "(1 points)" beside a 1-point line of a redemption."""
    from tests.store.conftest import make_item

    needle = make_item(village_x, "daily", "针", 1, 10, manager_x)
    redemption_create(
        village=village_x,
        household=card_a.household,
        lines={needle.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    page = client_villager_a.get(reverse("points:me")).content.decode()
    assert "(1 point)" in page and "(1 points)" not in page


def test_an_item_page_drawn_before_a_price_change_does_not_put_the_old_price_back(
    client_manager_x, zones_x, village_x, manager_x
):
    """Two windows on one item: the first saves a new price; the second, drawn before it and
    saved for its name, was putting the old price back without a word."""
    from tests.store.conftest import make_item

    item = make_item(village_x, "daily", "毛巾", 5, 10, manager_x)
    url = reverse("store:item_edit", args=[item.pk])
    drawn = client_manager_x.get(url).context["form"]["drawn"].value()
    body = {
        "zone": item.zone_id,
        "name": "毛巾",
        "unit": item.unit,
        "points_price": 5,
        "is_active": "on",
        "low_stock_threshold": item.low_stock_threshold,
        "drawn": drawn,
    }
    assert client_manager_x.post(url, body | {"points_price": 6}).status_code == 302
    stale = client_manager_x.post(url, body | {"name": "纯棉毛巾"})
    item.refresh_from_db()
    assert (item.name, item.points_price) == ("毛巾", 6)
    assert stale.status_code == 200 and "changed in the meantime" in stale.text
    # The page now carries the item's new state: saving again is a deliberate choice.
    again = stale.context["form"]["drawn"].value()
    assert again != drawn
    assert (
        client_manager_x.post(url, body | {"name": "纯棉毛巾", "drawn": again}).status_code == 302
    )
    item.refresh_from_db()
    assert (item.name, item.points_price) == ("纯棉毛巾", 5)


def test_a_void_reason_too_long_is_said_to_be_too_long(
    client_supervisor_x, card_a, rice, manager_x, redeem
):
    """As in every decision with a reason (core.forms.reason_refused): not "Give the reason"."""
    redemption = redeem(card_a.household, {rice: 2}, manager_x)
    response = client_supervisor_x.post(
        reverse("store:redemption_void", args=[redemption.pk]),
        {"reason": "长" * 201, "idempotency_key": "k" * 20},
        follow=True,
    )
    assert "at most 200 characters" in response.text
    assert "Give the reason for voiding." not in response.text
    redemption.refresh_from_db()
    assert redemption.voided_at is None


@pytest.fixture
def coded(rice, kettle):
    """Rice (grain and oil) and the kettle (appliances) with their barcodes."""
    Item.objects.filter(pk=rice.pk).update(barcode="6901234567892")
    Item.objects.filter(pk=kettle.pk).update(barcode="6909876543210")
    return {"rice": rice, "kettle": kettle}


def shelf_items(page: str) -> list[str]:
    """The ids of the items the counter's shelves list (their add forms)."""
    return re.findall(
        r'name="action" value="add"><input type="hidden" name="item" value="(\d+)"', page
    )


def test_the_search_box_opens_empty_the_search_said_beside_it(client_manager_x, card_a, coded):
    """A scanner types after what the box holds: the box is empty for the next barcode, and
    what was searched is said with a way back to the whole zone."""
    page = client_manager_x.get(
        counter_url(card_a.household), {"zone": "grain_oil", "q": "大米"}
    ).text
    (box,) = re.findall(r'<input[^>]*id="item-search"[^>]*>', page)
    assert 'value=""' in box and "autofocus" in box
    assert "Searched for “大米”." in page
    assert 'href="?zone=grain_oil">Clear the search</a>' in page
    assert shelf_items(page) == [str(coded["rice"].pk)]
    # Elsewhere (the stock list) the box keeps what was typed, to be corrected.
    stock = client_manager_x.get(reverse("store:stock_list"), {"q": "大米"}).text
    assert re.search(r'<input[^>]*id="item-search"[^>]*value="大米"', stock)


@pytest.mark.parametrize(
    "typed", ["6909876543210", "６９０９８７６５４３２１０", " 6909876543210\t"]
)
def test_a_barcode_finds_its_item_whatever_zone_is_open_and_however_typed(
    client_manager_x, card_a, coded, typed
):
    """A scanner reads what is in the hand, also through a Chinese input method's full-width
    digits; a name search stays in the zone."""
    kettle = str(coded["kettle"].pk)
    page = client_manager_x.get(counter_url(card_a.household), {"zone": "grain_oil", "q": typed})
    assert shelf_items(page.text) == [kettle]
    stock = client_manager_x.get(reverse("store:stock_list"), {"zone": "grain_oil", "q": typed})
    assert coded["kettle"].name in stock.text  # the stock list searches the same way
    by_name = client_manager_x.get(
        counter_url(card_a.household), {"zone": "grain_oil", "q": "电热水壶"}
    )
    assert shelf_items(by_name.text) == []


def test_a_card_scanned_into_the_goods_search_opens_its_households_counter(
    client_manager_x, card_a, card_b, rice
):
    """The next household's card scanned where barcodes go: their counter, not a goods search.
    The cart built for the first household is not charged, and the teller is told so."""
    add_to_cart(client_manager_x, card_a.household, rice, 2)
    scanned = f"http://testserver/card/login/?card={card_b.number}"
    response = client_manager_x.get(
        counter_url(card_a.household), {"zone": "grain_oil", "q": scanned}, follow=True
    )
    assert response.redirect_chain == [(counter_url(card_b.household), 302)]
    shown = [str(message) for message in response.context["messages"]]
    assert shown == [
        f"Card {card_b.number} is another household's: here is its counter.",
        f"The cart of {card_a.household.head_name} was not charged. It waits on their counter "
        "(scan their card again) until goods go into this cart, which replaces it.",
    ]
    assert not Redemption.objects.exists()
    # Back on the first household's counter, its cart is as it was.
    first = client_manager_x.get(counter_url(card_a.household))
    assert f'name="line_{rice.pk}" value="2"' in first.text
    # Goods put in the second household's cart replace it, and the teller is told.
    added = client_manager_x.post(
        reverse("store:counter_cart", args=[card_b.household.pk]),
        {"action": "add", "item": rice.pk, "quantity": 1, "next": counter_url(card_b.household)},
        follow=True,
    )
    assert [str(message) for message in added.context["messages"]] == [
        f"The cart of {card_a.household.head_name} was never confirmed: it is emptied, and "
        "nothing was charged."
    ]
    emptied = client_manager_x.get(counter_url(card_a.household))
    assert f'name="line_{rice.pk}"' not in emptied.text


def test_a_card_scanned_into_the_goods_search_of_its_own_household_or_unknown(
    client_manager_x, card_a, card_y, rice
):
    own = f"AIDAO-CARD:{card_a.number}"
    response = client_manager_x.get(counter_url(card_a.household), {"zone": "grain_oil", "q": own})
    assert response["Location"] == counter_url(card_a.household) + "?zone=grain_oil"
    other_village = f"AIDAO-CARD:{card_y.number}"
    response = client_manager_x.get(
        counter_url(card_a.household), {"q": other_village}, follow=True
    )
    assert response.redirect_chain == [(counter_url(card_a.household), 302)]
    assert [str(message) for message in response.context["messages"]] == [
        ANOTHER_VILLAGES.format(number=card_y.number)
    ]


def _full_width(digits: str) -> str:
    return digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))


@pytest.mark.parametrize("spelled", [str, _full_width, lambda number: f" {number}\n"])
def test_a_card_number_typed_into_the_goods_search_opens_its_households_counter(
    client_manager_x, card_a, card_b, card_y, rice, spelled
):
    """Found in review: the card's QR code scanned opened its household's counter, its
    number typed bare (a card without a readable code) searched the goods and found none."""
    typed = spelled(card_b.number)
    response = client_manager_x.get(
        counter_url(card_a.household), {"zone": "grain_oil", "q": typed}, follow=True
    )
    assert response.redirect_chain == [(counter_url(card_b.household), 302)]
    assert [str(message) for message in response.context["messages"]] == [
        f"Card {card_b.number} is another household's: here is its counter."
    ]
    response = client_manager_x.get(
        counter_url(card_a.household), {"q": spelled(card_y.number)}, follow=True
    )
    assert response.redirect_chain == [(counter_url(card_a.household), 302)]
    assert [str(message) for message in response.context["messages"]] == [
        ANOTHER_VILLAGES.format(number=card_y.number)
    ]


def test_a_card_number_that_is_also_a_barcode_searches_the_goods(
    client_manager_x, card_a, card_b, rice, kettle
):
    """Goods win a number that is both (a scanner reads the goods in the hand), and the
    teller is told how to open the card's counter; nine digits with a wrong check digit are
    no card number and are searched."""
    Item.objects.filter(pk=rice.pk).update(barcode=card_b.number)
    page = client_manager_x.get(counter_url(card_a.household), {"q": card_b.number})
    assert page.status_code == 200
    assert shelf_items(page.text) == [str(rice.pk)]
    assert [str(message) for message in page.context["messages"]] == [
        f"{card_b.number} is a card number and an item's barcode: the goods are shown. "
        "Scan the card's QR code to open its household's counter."
    ]
    wrong_check_digit = card_b.number[:-1] + str((int(card_b.number[-1]) + 1) % 10)
    Item.objects.filter(pk=kettle.pk).update(barcode=wrong_check_digit)
    page = client_manager_x.get(counter_url(card_a.household), {"q": wrong_check_digit})
    assert page.status_code == 200 and shelf_items(page.text) == [str(kettle.pk)]
    assert not list(page.context["messages"])


def test_a_barcode_saved_in_full_width_digits_is_made_plain(village_x, manager_x, zones_x):
    """Found by a second read: the search reads a scan as plain digits, so an item saved
    before with full-width ones was found by no scan (store/migrations/0017)."""
    migration = importlib.import_module("store.migrations.0017_barcodes_plain_digits")
    old = make_item(village_x, "grain_oil", "大米", 20, 5, manager_x)
    clash = make_item(village_x, "grain_oil", "菜籽油", 30, 5, manager_x)
    twin = make_item(village_x, "grain_oil", "面粉", 25, 5, manager_x)
    Item.objects.filter(pk=old.pk).update(barcode="６９０１２３４５６７８９２")
    Item.objects.filter(pk=clash.pk).update(barcode="６９００００００００００１")
    Item.objects.filter(pk=twin.pk).update(barcode="6900000000001")
    migration.barcodes_plain(apps, None)
    assert Item.objects.get(pk=old.pk).barcode == "6901234567892"
    assert Item.objects.get(pk=clash.pk).barcode == "６９００００００００００１"  # kept: taken
    found = items_search(Item.objects.filter(village=village_x), query="6901234567892")
    assert list(found) == [Item.objects.get(pk=old.pk)]


def test_a_cart_confirmed_whose_reply_was_lost_is_named_on_the_counter(
    client_manager_x, manager_x, village_x, card_a, card_b, rice, django_assert_max_num_queries
):
    """Found by a probe: a confirm whose reply never came back (a poor connection) charged the
    cart once, but the counter page, reloaded, did not say so: the teller could not tell
    whether the household had paid. For a few minutes it names the redemption the teller
    confirmed for the household, with its receipt, in the query it made already."""
    household = card_a.household
    add_to_cart(client_manager_x, household, rice, 2)
    data = confirm_form(client_manager_x, household)
    client_manager_x.post(reverse("store:counter_confirm", args=[household.pk]), data)
    redemption = Redemption.objects.get()
    said = f"was charged once: receipt {redemption.number}."
    # The reply lost: the teller reloads the counter instead of seeing the receipt.
    page = client_manager_x.get(counter_url(household)).text
    assert said in page
    # Drawn again: the session, the user, the household and the shelves' state, as before.
    with django_assert_max_num_queries(4):
        assert said in client_manager_x.get(counter_url(household)).text
    assert f'href="{reverse("store:receipt", args=[redemption.pk])}"' in page
    # The session that forgot the cart lost too: the cart is not offered again.
    session = client_manager_x.session
    lines = {str(rice.pk): 2}
    session["store_cart"] = {"household": household.pk, "lines": lines, "key": data["key"]}
    session.save()
    page = client_manager_x.get(counter_url(household)).text
    assert said in page and 'class="confirm-form"' not in page
    # Not said to another household's counter, nor to another teller, nor after minutes.
    assert "was charged once" not in client_manager_x.get(counter_url(card_b.household)).text
    other = make_staff(Role.MANAGER, village=village_x, username="teller2")
    client_manager_x.force_login(other)
    assert "was charged once" not in client_manager_x.get(counter_url(household)).text
    client_manager_x.force_login(manager_x)
    earlier = redemption.created_at - datetime.timedelta(minutes=11)
    Redemption.objects.filter(pk=redemption.pk).update(created_at=earlier)
    assert "was charged once" not in client_manager_x.get(counter_url(household)).text
    assert Redemption.objects.count() == 1


@pytest.mark.parametrize("quantity", ["0", "-1", "-3", "０"])
def test_adding_none_or_fewer_to_the_cart_is_refused(client_manager_x, card_a, rice, quantity):
    """Found by a probe: "add" with 0 put 1 in the cart, and -1 was told the quantity may
    not be below 0 (as if 0 were taken). Both are refused, saying the least is 1."""
    household = card_a.household
    response = client_manager_x.post(
        reverse("store:counter_cart", args=[household.pk]),
        {"action": "add", "item": rice.pk, "quantity": quantity},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == ["Quantity must be at least 1."]
    assert response.context["cart"] == []
    assert "store_cart" not in client_manager_x.session


def test_adding_past_the_most_a_line_takes_is_refused_not_cut(client_manager_x, card_a, rice):
    """Adding 600 to 500 of an item was kept as 999 without a word."""
    household = card_a.household
    add_to_cart(client_manager_x, household, rice, 500)
    response = client_manager_x.post(
        reverse("store:counter_cart", args=[household.pk]),
        {"action": "add", "item": rice.pk, "quantity": 600},
        follow=True,
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Each quantity must be between 1 and 999."
    ]
    assert [line["quantity"] for line in response.context["cart"]] == [500]
    add_to_cart(client_manager_x, household, rice, "")  # a box left empty adds one
    cart = client_manager_x.get(counter_url(household)).context["cart"]
    assert [line["quantity"] for line in cart] == [501]


@pytest.mark.parametrize("quantity", ["", "  "])
def test_setting_an_emptied_quantity_box_is_refused_not_a_removal(
    client_manager_x, card_a, rice, quantity
):
    """Found by the last session: "Set" with the quantity box emptied took the line out of
    the cart without a word. It is refused, saying what to type and how to take a line
    out, and the cart is as it was; 0 and ✕ still take the line out."""
    household = card_a.household
    add_to_cart(client_manager_x, household, rice, 3)
    cart_url = reverse("store:counter_cart", args=[household.pk])
    response = client_manager_x.post(
        cart_url, {"action": "set", "item": rice.pk, "quantity": quantity}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == [
        "Type how many to keep, from 1 to 999. To take the item out of the cart, type 0 or press ✕."
    ]
    assert [line["quantity"] for line in response.context["cart"]] == [3]
    response = client_manager_x.post(
        cart_url, {"action": "set", "item": rice.pk, "quantity": "0"}, follow=True
    )
    assert response.context["cart"] == []


NOT_IN_THE_CART = "This item is not in the cart (it may have been taken out in another window)."


def _cart_changed(client, household, data):
    """The messages a cart change answered, and the session's cart after it."""
    response = client.post(
        reverse("store:counter_cart", args=[household.pk]),
        data | {"next": counter_url(household)},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]], client.session.get("store_cart")


@pytest.mark.parametrize(
    "data",
    [
        {"action": "set"},
        {"action": "set", "item": "", "quantity": ""},
        {"action": "set", "item": " ", "quantity": "2"},
        {"action": "remove"},
        {"action": "add", "quantity": "1"},
    ],
)
def test_a_cart_change_naming_no_item_asks_for_the_item(client_manager_x, card_a, rice, data):
    """A "Set" sent with neither item nor quantity (forged or cut short) was told to type
    how many to keep. It is told the item is missing, and the cart (its key too) is kept."""
    household = card_a.household
    add_to_cart(client_manager_x, household, rice, 3)
    before = client_manager_x.session["store_cart"]
    told, after = _cart_changed(client_manager_x, household, data)
    assert told == ["Choose an item."]
    assert after == before


@pytest.mark.parametrize("quantity", ["2", "0", ""])
@pytest.mark.parametrize(
    "item", ["abc", "٣", "-1", "0", "1.5", "99999999999999999999", "oil", "item_y"]
)
def test_setting_an_item_not_in_the_cart_is_refused(
    client_manager_x, card_a, rice, oil, item_y, item, quantity
):
    """ "Set" changes a line the cart has: an item that is no number, another village's,
    or one of the shelves not in the cart (put in at the quantity, or dropped without a
    word and the cart's key renewed) is refused, before any quantity, and nothing changes."""
    household = card_a.household
    add_to_cart(client_manager_x, household, rice, 3)
    before = client_manager_x.session["store_cart"]
    item = {"oil": oil.pk, "item_y": item_y.pk}.get(item, item)
    told, after = _cart_changed(
        client_manager_x, household, {"action": "set", "item": item, "quantity": quantity}
    )
    assert told == [NOT_IN_THE_CART]
    assert after == before
    told, after = _cart_changed(client_manager_x, household, {"action": "remove", "item": item})
    assert told == [NOT_IN_THE_CART]
    assert after == before


def test_a_line_changed_in_another_window_is_refused_not_put_back(
    client_manager_x, card_a, card_b, rice, oil
):
    """A line taken out in one window and set in another was put back alone; the cart of
    another household met on a stale page was emptied for it. Both are refused."""
    household = card_a.household
    add_to_cart(client_manager_x, household, rice, 3)
    add_to_cart(client_manager_x, household, oil, 1)
    _cart_changed(client_manager_x, household, {"action": "remove", "item": oil.pk})
    before = client_manager_x.session["store_cart"]
    told, after = _cart_changed(
        client_manager_x, household, {"action": "set", "item": oil.pk, "quantity": "2"}
    )
    assert told == [NOT_IN_THE_CART] and after == before
    # The page of household B, drawn before household A's cart was started.
    for data in (
        {"action": "set", "item": rice.pk, "quantity": "2"},
        {"action": "remove", "item": rice.pk},
    ):
        told, after = _cart_changed(client_manager_x, card_b.household, data)
        assert told == [NOT_IN_THE_CART] and after == before


@pytest.mark.parametrize("item", ["abc", "٣", "0", "99999999999999999999", "item_y"])
def test_adding_an_item_that_is_no_item_of_the_village_is_refused(
    client_manager_x, card_a, rice, item_y, item
):
    household = card_a.household
    add_to_cart(client_manager_x, household, rice, 3)
    before = client_manager_x.session["store_cart"]
    item = item_y.pk if item == "item_y" else item
    told, after = _cart_changed(
        client_manager_x, household, {"action": "add", "item": item, "quantity": "1"}
    )
    assert told == ["This item is not on sale."]
    assert after == before
