"""The bell, the household's messages and the delivery log, through the pages."""

import pytest
from django.urls import reverse

from core.audit import AuditEvent
from notifications.models import Notification
from points.services import proposal_approve
from tests.points.conftest import propose
from villagers.models import Household

MINE = reverse("notifications:mine")
READ = reverse("notifications:read")
SMS = reverse("notifications:sms_choice")


@pytest.fixture
def two_messages_to_a(card_a, manager_x, supervisor_x, rule_clean):
    for _i in range(2):
        (proposal,) = propose(manager_x, [card_a.household], rule_clean)
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    return list(Notification.objects.filter(household=card_a.household).order_by("pk"))


def bell(page) -> str:
    html = page.content.decode()
    start = html.index('class="btn btn-outline-light btn-sm bell"')
    return html[start : html.index("</a>", start)]


@pytest.mark.parametrize("url", ["points:me", "store:catalogue", "store:my_redemptions"])
def test_the_bell_shows_the_unread_count_on_the_villagers_pages(
    client_villager_a, client_villager_b, two_messages_to_a, url
):
    assert "2 unread" in bell(client_villager_a.get(reverse(url)))
    assert 'bell-count" aria-hidden="true">2<' in bell(client_villager_a.get(reverse(url)))
    assert "unread" not in bell(client_villager_b.get(reverse(url)))  # B has none


def test_staff_pages_have_no_bell(client_manager_x):
    page = client_manager_x.get(reverse("reports:dashboard")).content.decode()
    assert "btn-sm bell" not in page


def test_reading_one_then_all(client_villager_a, client_villager_b, two_messages_to_a):
    first, second = two_messages_to_a
    page = client_villager_a.get(MINE).content.decode()
    assert page.count("notification-unread") == 2 and "105" in page and "110" in page
    # B cannot mark A's message read: nothing changes
    assert client_villager_b.post(READ, {"id": first.pk}).status_code == 302
    assert Notification.objects.filter(read_at__isnull=True).count() == 2
    assert client_villager_a.post(READ, {"id": first.pk}).url == MINE
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None
    assert "1 unread" in bell(client_villager_a.get(MINE))
    client_villager_a.post(READ)
    assert not Notification.objects.filter(read_at__isnull=True).exists()
    page = client_villager_a.get(MINE)
    assert "unread" not in bell(page) and "notification-unread" not in page.content.decode()


@pytest.mark.parametrize("bad", ["٣", "1_0", "-1", "x", "99999999999999999999999", "１"])
def test_a_bad_message_id_is_refused_and_changes_nothing(client_villager_a, two_messages_to_a, bad):
    answer = client_villager_a.post(READ, {"id": bad}, follow=True)
    assert answer.status_code == 200 and "No such message." in answer.content.decode()
    assert Notification.objects.filter(read_at__isnull=True).count() == 2


def test_the_household_turns_text_messages_off_and_on(client_villager_a, card_a):
    household = card_a.household
    page = client_villager_a.get(MINE).content.decode()
    assert "139****5678" in page and "13912345678" not in page
    answer = client_villager_a.post(SMS, {"receive": "0"}, follow=True)
    assert "No more text messages" in answer.content.decode()
    household.refresh_from_db()
    assert household.sms_opt_out
    assert AuditEvent.objects.filter(action="household.sms", detail={"sms": False}).exists()
    client_villager_a.post(SMS, {"receive": "1"})
    household.refresh_from_db()
    assert not household.sms_opt_out
    for bad in ("", "2", "yes", "１"):
        answer = client_villager_a.post(SMS, {"receive": bad}, follow=True)
        assert "Choose whether to receive text messages." in answer.content.decode()
    household.refresh_from_db()
    assert not household.sms_opt_out


def test_the_delivery_log_shows_the_villages_messages_and_their_sms(
    client_manager_x, client_manager_y, two_messages_to_a, card_a, django_assert_max_num_queries
):
    log = reverse("notifications:log")
    Notification.objects.filter(pk=two_messages_to_a[0].pk).update(
        sms_status=Notification.Sms.FAILED, sms_attempts=5, sms_error="isp.SYSTEM_ERROR: x"
    )
    with django_assert_max_num_queries(8):
        page = client_manager_x.get(log).content.decode()
    assert card_a.household.head_name in page and "139****5678" in page
    assert "13912345678" not in page
    assert "5 attempts: isp.SYSTEM_ERROR: x" in page and "waiting" in page
    failed = client_manager_x.get(log, {"status": "failed"}).content.decode()
    assert "isp.SYSTEM_ERROR" in failed and "waiting" not in failed.split("<tbody>")[1]
    assert client_manager_x.get(log, {"status": "nonsense"}).status_code == 200
    other = client_manager_y.get(log).content.decode()
    assert card_a.household.head_name not in other and "No messages." in other


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"phone": ""}, "No phone number in the register: enter a mobile number"),
        ({"phone": "0911-2345678"}, "The number in the register is no mobile number"),
        ({"sms_opt_out": True}, "The household chose no text messages"),
        ({"status": "moved"}, "The household has moved away or is closed"),
    ],
)
def test_the_delivery_log_says_which_reason_kept_a_text_from_going(
    client_manager_x, two_messages_to_a, card_a, change, why
):
    """Found by a probe: a text not sent read "not sent: no text messages, no mobile phone or
    moved away", beside a phone number: the manager could not tell what to put right."""
    household = card_a.household
    Household.objects.filter(pk=household.pk).update(**change)
    Notification.objects.filter(pk=two_messages_to_a[0].pk).update(
        sms_status=Notification.Sms.SKIPPED
    )
    page = client_manager_x.get(reverse("notifications:log")).content.decode()
    assert why in page
    assert reverse("villagers:household_detail", args=[household.pk]) in page


def test_low_stock_reaches_the_staff_on_the_dashboard_until_seen(
    client_manager_x, client_supervisor_x, client_manager_y, card_a, soap, manager_x, redeem
):
    dashboard = reverse("reports:dashboard")
    assert "For the store's staff" not in client_manager_x.get(dashboard).content.decode()
    redeem(card_a.household, {soap: 4}, manager_x)  # 8 -> 4: below the threshold of 5
    for client in (client_manager_x, client_supervisor_x):
        page = client.get(dashboard).content.decode()
        assert "For the store's staff" in page and "Low stock: 肥皂, 4 left." in page
    assert "肥皂" not in client_manager_y.get(dashboard).content.decode()  # another village
    response = client_manager_x.post(reverse("notifications:staff_alerts_read"))
    assert response.url == dashboard
    assert "For the store's staff" not in client_supervisor_x.get(dashboard).content.decode()
    alert = Notification.objects.get(kind=Notification.Kind.LOW_STOCK)
    assert alert.read_at is not None
    assert (
        "Low stock: 肥皂, 4 left."
        in client_manager_x.get(reverse("notifications:log")).content.decode()
    )
