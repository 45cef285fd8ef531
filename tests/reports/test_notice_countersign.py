"""The village party secretary (组长) countersigns the published notice after the supervisor
publishes it: their name and the time on the notice, once; the figures do not move.
"""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from core.access import Role
from core.models import AuditEvent
from core.months import previous_month
from reports.models import NoticeSignature
from reports.notice import notice_countersign, notice_publish
from tests.conftest import form_key, make_staff

LAST = previous_month(timezone.localdate())
PAGE = reverse("reports:notice_month", args=[LAST.year, LAST.month])
SIGN = reverse("reports:notice_countersign", args=[LAST.year, LAST.month])


@pytest.fixture
def published(village_x, supervisor_x, card_a):
    return notice_publish(
        village=village_x,
        year=LAST.year,
        month=LAST.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )


def sign(client, key=None):
    return client.post(SIGN, {"idempotency_key": key or form_key()})


def test_the_secretary_countersigns_once_and_the_notice_shows_it(
    client_secretary_x, secretary_x, published, client_anon, village_x
):
    # Found by a probe: their dashboard (their start page) never said a notice waited; the
    # notice they reached from the menu was the running month's, with no button.
    dashboard = client_secretary_x.get(reverse("reports:dashboard")).content.decode()
    assert f'href="{PAGE}"' in dashboard and "waits for your countersignature" in dashboard
    page = client_secretary_x.get(PAGE).content.decode()
    assert "countersignature is still to come" in page
    assert SIGN in page  # the button
    document = published.document

    key = form_key()
    response = sign(client_secretary_x, key)
    assert response.url == PAGE
    sign(client_secretary_x, key)  # a double click: one signature
    signature = NoticeSignature.objects.get(notice=published, role="secretary")
    assert (signature.signed_by, signature.name) == (secretary_x, "secretary_x")
    assert signature.signed_at <= timezone.now()
    published.refresh_from_db()
    assert published.document == document  # the figures do not move
    event = AuditEvent.objects.get(action="notice.countersign")
    assert (event.actor, event.village_id) == (secretary_x, village_x.pk)

    page = client_secretary_x.get(PAGE).content.decode()
    assert "still to come" not in page and SIGN not in page
    dashboard = client_secretary_x.get(reverse("reports:dashboard")).content.decode()
    assert "waits for your countersignature" not in dashboard
    assert page.count('class="notice-signed-name"') == 2
    public = reverse("reports:notice_public", args=[village_x.code, LAST.year, LAST.month])
    assert "secretary_x" in client_anon.get(public).content.decode()

    # A second signature is refused with a message.
    sign(client_secretary_x)
    assert NoticeSignature.objects.filter(notice=published).count() == 2


def test_only_the_villages_secretary_countersigns(
    client_supervisor_x, client_manager_y, village_y, published
):
    assert sign(client_supervisor_x).status_code == 403
    secretary_y = make_staff(Role.PARTY_SECRETARY, village=village_y, username="secretary_y")
    with pytest.raises(ValidationError, match="Only the village's party secretary"):
        notice_countersign(notice=published, actor=secretary_y)
    assert not NoticeSignature.objects.filter(notice=published, role="secretary").exists()


def test_whoever_published_does_not_also_countersign(village_x, card_a, client):
    both = make_staff(Role.SUPERVISOR, village=village_x, username="both")
    both.groups.add(*both.groups.model.objects.filter(name=Role.PARTY_SECRETARY))
    notice = notice_publish(
        village=village_x, year=LAST.year, month=LAST.month, actor=both, empty_confirmed=True
    )
    client.force_login(both)
    assert SIGN not in client.get(PAGE).content.decode()
    response = sign(client)
    assert "someone else must countersign" in str(list(get_messages(response.wsgi_request)))
    assert not NoticeSignature.objects.filter(notice=notice, role="secretary").exists()


def test_an_unpublished_month_cannot_be_countersigned(client_secretary_x, village_x):
    response = sign(client_secretary_x)
    assert response.url == PAGE
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["Only a published notice can be countersigned."]
    assert not NoticeSignature.objects.exists()


def test_the_secretary_reads_the_dashboard_not_the_registry(client_secretary_x, card_a):
    response = client_secretary_x.get(reverse("reports:dashboard"))
    assert response.status_code == 200
    page = response.content.decode()
    # Links to pages that are not theirs are not drawn.
    assert reverse("villagers:card_sheet_choose") not in page
    assert reverse("wishwall:queue") not in page
    assert client_secretary_x.get(reverse("reports:household_list")).status_code == 403
    assert client_secretary_x.get(reverse("points:approval_queue")).status_code == 403
    assert client_secretary_x.get(reverse("home")).url == reverse("reports:dashboard")
