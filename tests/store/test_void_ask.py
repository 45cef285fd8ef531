"""The manager asks the supervisor to void a redemption from its receipt: the ask reaches the
supervisor's dashboard with a link and the reason, the void form opens with the reason filled
in, and the void takes the ask off the dashboard. The ask itself changes nothing in the books."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from core.models import AuditEvent
from notifications.models import Notification
from points.models import Entry
from store.models import StockMovement
from store.services import redemption_void_ask, void_ask_of
from tests.security.concurrent import at_once, tabs_of

REASON = "扫错了户：应是李家"


def _ask(client, redemption, reason=REASON):
    return client.post(
        reverse("store:redemption_void_ask", args=[redemption.pk]), {"reason": reason}
    )


def test_asked_seen_on_the_dashboard_voided_with_the_reason_and_gone(
    client_manager_x, client_supervisor_x, card_a, rice, manager_x, redeem
):
    redemption = redeem(card_a.household, {rice: 2}, manager_x)
    receipt = reverse("store:receipt", args=[redemption.pk])
    assert "Ask the supervisor to void it" in client_manager_x.get(receipt).text
    books = (Entry.objects.count(), StockMovement.objects.count())

    response = _ask(client_manager_x, redemption)

    assert response.url == receipt
    assert (Entry.objects.count(), StockMovement.objects.count()) == books
    (ask,) = Notification.objects.filter(kind=Notification.Kind.VOID_ASKED)
    assert ask.household_id is None and ask.sms_status == Notification.Sms.NONE
    assert AuditEvent.objects.filter(action="redemption.void_ask").count() == 1
    page = client_manager_x.get(receipt).text
    assert "The supervisor was asked on" in page and REASON in page
    assert "Ask the supervisor to void it" not in page
    dashboard = client_supervisor_x.get(reverse("reports:dashboard")).text
    assert f'<a href="{receipt}">Receipt {redemption.number}: the manager asks' in dashboard
    assert REASON in dashboard
    page = client_supervisor_x.get(receipt).text
    assert "The manager asked on" in page
    assert f'value="{REASON}"' in page  # the void form, filled in

    client_supervisor_x.post(
        reverse("store:redemption_void", args=[redemption.pk]),
        {"reason": REASON, "idempotency_key": "k" * 20},
    )

    redemption.refresh_from_db()
    assert redemption.is_voided
    ask.refresh_from_db()
    assert ask.read_at == redemption.voided_at
    assert REASON not in client_supervisor_x.get(reverse("reports:dashboard")).text
    page = client_manager_x.get(receipt).text
    assert "The supervisor was asked" not in page and "Ask the supervisor" not in page
    assert "This redemption has already been voided." in _messages(
        _ask(client_manager_x, redemption)
    )


def _messages(response) -> str:
    return " ".join(str(m) for m in response.wsgi_request._messages)


def test_a_second_ask_waits_for_the_first_and_a_blank_one_is_refused(
    client_manager_x, client_supervisor_x, card_a, rice, manager_x, redeem
):
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    assert "Give the reason for voiding." in _messages(_ask(client_manager_x, redemption, "  "))
    assert not Notification.objects.filter(kind=Notification.Kind.VOID_ASKED).exists()
    assert "at most 200 characters" in _messages(_ask(client_manager_x, redemption, "长" * 201))
    assert not Notification.objects.filter(kind=Notification.Kind.VOID_ASKED).exists()
    _ask(client_manager_x, redemption)
    again = _ask(client_manager_x, redemption, "another reason")
    assert "already been asked" in _messages(again)
    assert Notification.objects.filter(kind=Notification.Kind.VOID_ASKED).count() == 1
    # A manager clearing the dashboard's alerts leaves the ask for the supervisor.
    client_manager_x.post(reverse("notifications:staff_alerts_read"))
    assert void_ask_of(redemption) is not None
    # The supervisor marks it seen without voiding: decided; the manager may ask again.
    client_supervisor_x.post(reverse("notifications:staff_alerts_read"))
    assert void_ask_of(redemption) is None
    _ask(client_manager_x, redemption, "another reason")
    assert void_ask_of(redemption).params["reason"] == "another reason"


def test_the_ask_is_for_the_store_staff_and_comes_before_low_stock(
    client_manager_x, client_secretary_x, card_a, rice, manager_x, redeem
):
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    _ask(client_manager_x, redemption)
    for n in range(12):  # more low-stock alerts than the dashboard shows, all newer
        Notification.objects.create(
            village=redemption.village,
            kind=Notification.Kind.LOW_STOCK,
            params={"item": f"米{n}", "stock": 1},
        )
    dashboard = reverse("reports:dashboard")
    page = client_manager_x.get(dashboard).text
    assert REASON in page and page.index(REASON) < page.index("Low stock: 米11")
    page = client_secretary_x.get(dashboard).text  # reads the dashboard, not receipts
    assert "Low stock: 米11" in page and REASON not in page and redemption.number not in page


def test_only_the_village_manager_may_ask(card_a, rice, manager_x, manager_y, supervisor_x, redeem):
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    for actor in (manager_y, supervisor_x):
        with pytest.raises(PermissionDenied):
            redemption_void_ask(redemption=redemption, actor=actor, reason=REASON)
    with pytest.raises(ValidationError):
        redemption_void_ask(redemption=redemption, actor=manager_x, reason="")
    assert not Notification.objects.filter(kind=Notification.Kind.VOID_ASKED).exists()


@pytest.mark.django_db(transaction=True)
def test_two_tabs_asking_at_once_ask_once(card_a, rice, manager_x, redeem):
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    browser = Client()
    browser.force_login(manager_x)
    url = reverse("store:redemption_void_ask", args=[redemption.pk])
    at_once(tabs_of(browser, 4), url, {"reason": REASON})
    assert Notification.objects.filter(kind=Notification.Kind.VOID_ASKED).count() == 1
    assert AuditEvent.objects.filter(action="redemption.void_ask").count() == 1
