"""The staff forms that drew a <select> of every household, donor or money donation of the
village choose one with a search instead (core.picker.PickOneField): the page does not grow
with the village, a search finds the row, the row chosen is sent with and without
JavaScript, and another village's row is refused when its id is sent."""

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import reverse

from store.models import Donation, Donor, StockMovement, Zone
from store.services import donation_record, zones_ensure
from tests.conftest import form_key
from tests.factories import HouseholdFactory
from tests.security.hostile import NASTY_STRINGS
from tests.store.conftest import make_item
from tests.villagers.conftest import english  # noqa: F401 (autouse: English messages)
from villagers.models import Household
from wishwall import services as wish_services
from wishwall.models import Wish, WishMatch

MANY = 300


@pytest.fixture
def big_village(village_x, group_x, household_a, household_y, manager_x, manager_y):
    """MANY households, donors and money donations in village X; one of each in village Y."""
    HouseholdFactory.create_batch(MANY, group=group_x)
    donors = Donor.objects.bulk_create(
        Donor(village=village_x, name=f"爱心企业{index:03d}", kind=Donor.Kind.COMPANY)
        for index in range(MANY)
    )
    Donation.objects.bulk_create(
        Donation(
            village=village_x,
            donor=donor,
            kind=Donation.Kind.MONEY,
            value_yuan=Decimal("500"),
            thanks="感谢",
            created_by=manager_x,
        )
        for donor in donors
    )
    donor_y = Donor.objects.create(village=household_y.village, name="外村企业", kind="company")
    money_y = donation_record(
        village=household_y.village,
        donor=donor_y,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("100"),
        thanks="感谢",
        actor=manager_y,
    )
    return {"household_y": household_y, "donor_y": donor_y, "money_y": money_y}


@pytest.fixture
def open_wish(household_a, villager_a, supervisor_x):
    wish = wish_services.wish_post(
        household=household_a, actor=villager_a, title="一辆轮椅", kind="health", story="腿脚不便"
    )
    wish_services.wish_moderate(wish=wish, actor=supervisor_x, hide_household=False)
    return wish


@pytest.fixture
def rice(village_x, manager_x):
    zones_ensure(village=village_x)
    return make_item(village_x, Zone.Code.GRAIN_OIL, "大米 10kg", 20, 50, manager_x)


@dataclass
class Page:
    """A page whose form picks one row, and a body that sends it with the row `name`."""

    url: str
    role: str
    name: str  # the picker's field
    found: str  # what a search types to find one row of the big village
    body: dict
    done: object  # () -> the id of the row the sent form saved, or None
    pick: int  # a row of the big village to choose
    foreign: int  # another village's row of the same kind


def pages(big_village, rice, open_wish, village_x) -> list[Page]:
    """Each form that picks one row, its search and its body (filled in per test)."""
    correctable = Donation.objects.filter(village=village_x, donor__name="爱心企业007").get()
    household = Household.objects.filter(village=village_x, head_name__startswith="张").last()
    donor = Donor.objects.get(village=village_x, name="爱心企业042")
    money = Donation.objects.get(donor=donor)
    household_y, donor_y = big_village["household_y"].pk, big_village["donor_y"].pk
    return [
        Page(
            reverse("wishwall:new"),
            "manager",
            "household",
            "张",  # the factory's heads: 张<n>
            {"title": "老花镜", "kind": "health", "story": "看不清药盒"},
            lambda: Wish.objects.filter(title="老花镜").values_list("household", flat=True).first(),
            household.pk,
            household_y,
        ),
        Page(
            reverse("store:donation_create"),
            "manager",
            "donor",
            "爱心企业",
            {
                "kind": "money",
                "received_on": "2025-01-05",
                "value_yuan": "80",
                "thanks": "感谢",
                "goods-TOTAL_FORMS": "1",
                "goods-INITIAL_FORMS": "0",
            },
            lambda: Donation.objects.filter(value_yuan=80).values_list("donor", flat=True).first(),
            donor.pk,
            donor_y,
        ),
        Page(
            reverse("reports:donation_correct", args=[correctable.pk]),
            "manager",
            "donor",
            "爱心企业",
            {
                "received_on": correctable.received_on.isoformat(),
                "value_yuan": "500",
                "thanks": "感谢",
                "reason": "记错了捐赠人",
            },
            lambda: (
                Donation.objects.filter(pk=correctable.pk)
                .exclude(donor__name="爱心企业007")
                .values_list("donor", flat=True)
                .first()
            ),
            donor.pk,
            donor_y,
        ),
        Page(
            reverse("wishwall:match", args=[open_wish.pk]),
            "supervisor",
            "donor",
            "爱心企业",
            {"note": "月底前送到"},
            lambda: (
                WishMatch.objects.filter(wish=open_wish).values_list("donor", flat=True).first()
            ),
            donor.pk,
            donor_y,
        ),
        Page(
            reverse("store:stock_in"),
            "manager",
            "paid_by",
            "爱心企业",
            {
                "item": rice.pk,
                "quantity": "3",
                "fund_source": StockMovement.FundSource.DONATED_MONEY,
                "cost_yuan": "30",
            },
            lambda: (
                StockMovement.objects.filter(item=rice, quantity=3)
                .values_list("paid_by", flat=True)
                .first()
            ),
            money.pk,
            big_village["money_y"].pk,
        ),
    ]


PAGE_NAMES = ["wish for a household", "donation", "donation corrected", "match", "stock-in"]


@pytest.fixture(params=range(len(PAGE_NAMES)), ids=PAGE_NAMES)
def page(request, big_village, rice, open_wish, village_x) -> Page:
    return pages(big_village, rice, open_wish, village_x)[request.param]


@pytest.fixture
def clients(client_manager_x, client_supervisor_x):
    return {"manager": client_manager_x, "supervisor": client_supervisor_x}


def options(response) -> int:
    return response.text.count("<option")


def found(response, name) -> list[int]:
    return [int(pk) for pk in re.findall(rf'name="{name}_pick" value="(\d+)"', response.text)]


def chosen(response, name) -> list[int]:
    return [
        int(pk)
        for pk in re.findall(rf'<input type="hidden" name="{name}" value="(\d+)"', response.text)
    ]


def test_the_page_does_not_grow_with_the_village(page, clients):
    """Found by a review: at 1,200 households these forms drew a select of every household,
    donor or money donation, hundreds of KB on a slow line. Three hundred of each now draw
    no option of them, and a search shows twenty at most."""
    client = clients[page.role]
    drawn = client.get(page.url)
    assert drawn.status_code == 200
    assert options(drawn) < 30, "a select of every row"
    assert len(drawn.content) < 60_000
    searched = client.get(page.url, {f"{page.name}_find": page.found})  # none chosen
    assert len(found(searched, page.name)) == 20
    assert "More match than are shown" in searched.text
    assert options(searched) < 30 and len(searched.content) < 60_000


def sent(page: Page, **fields) -> dict:
    return {**page.body, "idempotency_key": form_key(), **fields}


def test_without_javascript_a_search_and_a_choice_keep_what_was_typed(page, clients):
    """The picker is part of its form: its buttons (and Enter) send the whole form, which
    comes back as typed with the picker worked and nothing sent; the send button sends the
    row chosen."""
    client = clients[page.role]
    searched = client.post(page.url, sent(page, **{f"{page.name}_find": page.found}))
    assert searched.status_code == 200 and page.done() is None
    assert len(found(searched, page.name)) == 20
    typed = [value for name, value in page.body.items() if not name.startswith("goods-")]
    for value in typed:
        assert str(value) in searched.text, value
    picked = client.post(page.url, sent(page, **{f"{page.name}_pick": page.pick}))
    assert picked.status_code == 200 and page.done() is None
    assert chosen(picked, page.name) == [page.pick] and not found(picked, page.name)
    for value in typed:
        assert str(value) in picked.text, value
    changed = client.post(
        page.url, sent(page, **{page.name: page.pick, f"{page.name}_change": "1"})
    )
    assert chosen(changed, page.name) == [] and f'name="{page.name}_find"' in changed.text
    # Enter in a box with the search empty: nothing sent, and the page says so.
    entered = client.post(page.url, sent(page, **{page.name: page.pick, f"{page.name}_find": ""}))
    assert entered.status_code == 200 and entered.context["pick_only_checked"]
    assert "Not sent yet" in entered.text and page.done() is None
    assert chosen(entered, page.name) == [page.pick]
    send = sent(page, **{page.name: page.pick, f"{page.name}_find": "", "send": "1"})
    assert client.post(page.url, send).status_code == 302
    assert page.done() == page.pick


def test_a_form_sent_with_a_search_typed_and_no_row_chosen_keeps_the_search(page, clients):
    """Found by the second read: the name typed in the search, the form sent without a row
    chosen, came back refused with the search box empty, to be typed again. It comes back
    with the search and its matches, ready to choose."""
    client = clients[page.role]
    refused = client.post(page.url, sent(page, **{f"{page.name}_find": page.found, "send": "1"}))
    assert refused.status_code == 200 and page.done() is None
    assert f'name="{page.name}_find" value="{page.found}"' in refused.text
    assert len(found(refused, page.name)) == 20 and chosen(refused, page.name) == []


def test_with_javascript_the_picker_alone_is_worked_and_the_form_sends_the_row(page, clients):
    """htmx GETs the picker with what it holds and swaps it in place; the form then posts
    the row chosen in the picker's hidden field, with its send button."""
    client = clients[page.role]
    searched = client.get(page.url, {f"{page.name}_find": page.found, f"{page.name}_search": "1"})
    assert page.pick in found(searched, page.name) or len(found(searched, page.name)) == 20
    picked = client.get(page.url, {f"{page.name}_find": page.found, f"{page.name}_pick": page.pick})
    assert chosen(picked, page.name) == [page.pick]
    entered = client.get(page.url, {page.name: page.pick, f"{page.name}_find": "", "enter": "1"})
    assert entered.context["pick_only_checked"] and chosen(entered, page.name) == [page.pick]
    assert (
        client.post(page.url, sent(page, **{page.name: page.pick, "send": "1"})).status_code == 302
    )
    assert page.done() == page.pick


def test_another_villages_row_is_neither_found_nor_chosen_nor_taken(page, clients):
    client = clients[page.role]
    for name in (
        "外村企业",
        Household.objects.get(pk=page.foreign).head_name
        if page.name == "household"
        else "外村企业",
    ):
        assert found(client.get(page.url, {f"{page.name}_find": name}), page.name) == []
    assert chosen(client.get(page.url, {f"{page.name}_pick": page.foreign}), page.name) == []
    assert (
        chosen(client.get(page.url, {page.name: page.foreign, f"{page.name}_find": ""}), page.name)
        == []
    )
    refused = client.post(page.url, sent(page, **{page.name: page.foreign, "send": "1"}))
    assert refused.status_code == 200 and page.done() is None
    assert "Select a valid choice" in refused.text
    # Shown, not hidden: Bootstrap shows the error after a sibling marked .is-invalid.
    assert re.search(rf'id="pick-{page.name}" class="pick-one is-invalid"', refused.text)
    assert f'id="id_{page.name}_error" class="invalid-feedback"' in refused.text


def test_nasty_picker_values_sent_with_the_form_are_answered_with_the_form(page, clients):
    client = clients[page.role]
    for text in [*NASTY_STRINGS, str(2**63), "-1", "0", "²"]:
        fields = {page.name: text, f"{page.name}_pick": text, f"{page.name}_find": text}
        worked = client.post(page.url, sent(page, **fields))
        assert worked.status_code == 200, text
        refused = client.post(page.url, sent(page, **{page.name: text, "send": "1"}))
        assert refused.status_code == 200, text
    assert page.done() is None


def test_a_donor_search_keeps_the_goods_rows_typed(client_manager_x, big_village, rice):
    """The donation form's goods rows are a formset: a search without JavaScript brings
    back the rows something was typed in, the empty ones below them."""
    body = {
        "kind": "goods",
        "received_on": "2025-01-05",
        "value_yuan": "120",
        "thanks": "感谢",
        "goods-TOTAL_FORMS": "5",
        "goods-INITIAL_FORMS": "0",
        "goods-1-item": str(rice.pk),
        "goods-1-quantity": "6",
        "donor_find": "爱心企业04",
        "idempotency_key": form_key(),
    }
    page = client_manager_x.post(reverse("store:donation_create"), body)
    assert page.status_code == 200 and not Donation.objects.filter(value_yuan=120).exists()
    goods = page.context["goods"]
    assert [(row["item"], row["quantity"]) for row in goods.initial] == [(str(rice.pk), "6")]
    assert re.search(rf'<option value="{rice.pk}" selected>', page.text)
    assert 'name="goods-0-quantity" value="6"' in page.text
    donor = Donor.objects.get(name="爱心企业042")
    sent_page = {**body, "goods-TOTAL_FORMS": "6", "goods-INITIAL_FORMS": "1"}
    sent_page |= {"goods-0-item": str(rice.pk), "goods-0-quantity": "6", "goods-1-item": ""}
    sent_page |= {"goods-1-quantity": "", "donor": donor.pk, "donor_find": "", "send": "1"}
    assert client_manager_x.post(reverse("store:donation_create"), sent_page).status_code == 302
    donation = Donation.objects.get(value_yuan=120)
    assert donation.donor == donor
    assert list(donation.movements.values_list("item", "quantity")) == [(rice.pk, 6)]


def test_a_card_scanned_into_the_household_search_finds_its_household(client_manager_x, card_b):
    from django.test import RequestFactory

    from villagers.card_views import card_login_url

    scanned = card_login_url(RequestFactory().get("/"), card_b.number)
    assert len(scanned) > 50
    page = client_manager_x.get(reverse("wishwall:new"), {"household_find": scanned})
    assert found(page, "household") == [card_b.household_id]


def test_a_donor_search_draws_no_more_goods_rows_than_the_form_takes(
    client_manager_x, big_village, rice, django_assert_max_num_queries
):
    """Found by the second read: a search brought back every goods row typed, and a body
    may say it holds a thousand (Django reads up to max_num + 1,000), each drawn with its
    select of the items, a query each. It brings back as many as the form takes (30)."""
    body = {
        "kind": "goods",
        "received_on": "2025-01-05",
        "value_yuan": "120",
        "thanks": "感谢",
        "goods-TOTAL_FORMS": "200",
        "goods-INITIAL_FORMS": "0",
        "donor_find": "爱心企业04",
        "idempotency_key": form_key(),
    }
    body |= {f"goods-{row}-item": str(rice.pk) for row in range(200)}
    body |= {f"goods-{row}-quantity": "1" for row in range(200)}
    with django_assert_max_num_queries(45):
        page = client_manager_x.post(reverse("store:donation_create"), body)
    assert page.status_code == 200 and len(found(page, "donor")) == 10
    assert len(page.context["goods"].forms) == 30
    assert 'name="goods-29-quantity"' in page.text and 'name="goods-30-' not in page.text
