"""Who collected a redemption (兑换人): asked at the counter, on the receipt and the history."""

import re
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent
from store.models import Redemption
from store.services import redemption_create
from tests.conftest import PIN
from tests.factories import MemberFactory
from villagers.models import Member
from villagers.services import member_pin_set

SON_PIN = "1739"


@pytest.fixture
def family(card_a):
    household = card_a.household
    head = MemberFactory(household=household, name="王大山", relation=Member.Relation.HEAD)
    son = MemberFactory(
        household=household, name="王小明", relation=Member.Relation.CHILD, birth_year=1995
    )
    return head, son


def _counter(household):
    return reverse("store:counter_household", args=[household.pk])


def _confirm_form(client, household) -> tuple[str, dict]:
    html = client.get(_counter(household)).text
    form = html[html.index('class="confirm-form"') :]
    form = form[: form.index("</form>")]
    return form, dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))


def _fill_cart(client, household, item):
    client.post(
        reverse("store:counter_cart", args=[household.pk]),
        {"action": "add", "item": item.pk, "quantity": 1, "next": _counter(household)},
    )


def test_counter_asks_who_collects_with_the_head_chosen(client_manager_x, card_a, family, rice):
    head, son = family
    _fill_cart(client_manager_x, card_a.household, rice)
    form, _fields = _confirm_form(client_manager_x, card_a.household)
    assert 'name="collector"' in form
    assert re.search(rf'<option value="{head.pk}" selected>', form)
    assert f'<option value="{son.pk}">王小明' in form


def test_member_collecting_is_on_the_receipt_and_the_households_history(
    client_manager_x, card_a, family, rice, manager_x
):
    _head, son = family
    household = card_a.household
    _fill_cart(client_manager_x, household, rice)
    _form, fields = _confirm_form(client_manager_x, household)
    response = client_manager_x.post(
        reverse("store:counter_confirm", args=[household.pk]), {**fields, "collector": son.pk}
    )
    redemption = Redemption.objects.get(household=household)
    assert response.url == reverse("store:receipt", args=[redemption.pk])
    assert redemption.collected_by == son
    assert AuditEvent.objects.get(action="redemption.create").detail["collected_by"] == son.pk
    assert "王小明" in client_manager_x.get(response.url).text

    # The head, signed in with the household's PIN, sees who collected.
    head = Client()
    head.post(reverse("card_login"), {"card_number": card_a.number, "pin": PIN})
    assert "Collected by: 王小明" in head.get(reverse("points:me")).text
    assert "王小明" in head.get(reverse("store:my_redemptions")).text
    assert "王小明" in head.get(reverse("store:receipt", args=[redemption.pk])).text
    # So does the member on their own phone.
    member_pin_set(member=son, actor=manager_x, pin=SON_PIN)
    phone = Client()
    phone.post(reverse("card_login"), {"card_number": card_a.number, "pin": SON_PIN})
    assert "Collected by: 王小明" in phone.get(reverse("points:me")).text


def test_someone_of_another_household_cannot_collect(
    client_manager_x, manager_x, card_a, card_b, family, rice
):
    stranger = MemberFactory(household=card_b.household, relation="spouse")
    household = card_a.household
    _fill_cart(client_manager_x, household, rice)
    _form, fields = _confirm_form(client_manager_x, household)
    response = client_manager_x.post(
        reverse("store:counter_confirm", args=[household.pk]),
        {**fields, "collector": stranger.pk},
        follow=True,
    )
    assert "not a member of this household" in response.text
    assert not Redemption.objects.exists()
    with pytest.raises(ValidationError, match="not a member"):
        redemption_create(
            village=household.village,
            household=household,
            lines={rice.pk: 1},
            idempotency_key=uuid.uuid4(),
            actor=manager_x,
            collected_by=stranger,
        )
    assert not Redemption.objects.exists()


def test_household_with_no_members_registered_asks_nobody(client_manager_x, card_a, rice):
    _fill_cart(client_manager_x, card_a.household, rice)
    form, fields = _confirm_form(client_manager_x, card_a.household)
    assert 'name="collector"' not in form
    client_manager_x.post(reverse("store:counter_confirm", args=[card_a.household_id]), fields)
    assert Redemption.objects.get().collected_by is None


def test_a_reservation_handed_over_records_who_collected(client_manager_x, card_a, family, rice):
    """The hand-over of reserved goods asks who collects as the cart's confirmation does."""
    from store.services import reservation_create

    head, son = family
    household = card_a.household
    villager = household.users.get(is_staff=False, member__isnull=True)
    reservation = reservation_create(household=household, lines={rice.pk: 1}, actor=villager)
    html = client_manager_x.get(_counter(household)).text
    action = reverse("store:reservation_hand_over", args=[household.pk, reservation.pk])
    form = html[html.index(f'action="{action}"') :]
    form = form[: form.index("</form>")]
    assert re.search(rf'<option value="{head.pk}" selected>', form)
    key = re.search(r'name="key" value="([^"]+)"', form).group(1)
    other = MemberFactory(name="李四")  # of another household: refused, nothing handed over
    client_manager_x.post(action, {"key": key, "collector": other.pk})
    reservation.refresh_from_db()
    assert reservation.redemption_id is None
    client_manager_x.post(action, {"key": key, "collector": son.pk})
    reservation.refresh_from_db()
    assert reservation.redemption.collected_by == son
