"""Correcting a donation recorded wrongly: the village's manager, with a reason kept beside
the old and new values; never below what its purchases already paid."""

import datetime
import threading
import time
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from core.months import previous_month
from reports.models import PublishedNotice
from reports.notice import notice_publish
from reports.transparency import thanks_token
from store.models import Donation, Donor, StockMovement
from store.services import donation_correct, donation_record, stock_purchase
from tests.conftest import form_key


@pytest.fixture
def donor(village_x):
    return Donor.objects.create(village=village_x, name="顺达公司", kind="company")


@pytest.fixture
def money(village_x, donor, manager_x):
    """¥500 typed as ¥5000."""
    return donation_record(
        village=village_x,
        donor=donor,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("5000"),
        thanks="感谢顺达公司",
        actor=manager_x,
    )


def test_the_manager_corrects_an_amount_and_the_log_keeps_both(money, manager_x):
    donation_correct(
        donation=money, actor=manager_x, reason="多打了一个零", value_yuan=Decimal("500")
    )
    money.refresh_from_db()
    assert money.value_yuan == Decimal("500")
    event = AuditEvent.objects.get(action="donation.correct")
    assert event.detail == {"reason": "多打了一个零", "changed": {"value_yuan": ["5000.00", "500"]}}


def test_refused_without_a_reason_by_anyone_else_or_with_nothing_changed(
    money, manager_x, supervisor_x, manager_y
):
    for actor in (supervisor_x, manager_y):
        with pytest.raises(PermissionDenied):
            donation_correct(donation=money, actor=actor, reason="x", value_yuan=Decimal("5"))
    with pytest.raises(ValidationError, match="Say what was wrong"):
        donation_correct(donation=money, actor=manager_x, reason=" ", value_yuan=Decimal("5"))
    with pytest.raises(ValidationError, match="more than ¥0"):
        donation_correct(donation=money, actor=manager_x, reason="x", value_yuan=Decimal("0"))
    with pytest.raises(ValidationError, match="Nothing was changed"):
        donation_correct(donation=money, actor=manager_x, reason="x", value_yuan=money.value_yuan)
    money.refresh_from_db()
    assert money.value_yuan == Decimal("5000")
    assert not AuditEvent.objects.filter(action="donation.correct").exists()


def test_a_money_donation_never_falls_below_what_it_paid_for(money, manager_x, rice):
    stock_purchase(
        item=rice,
        quantity=10,
        fund_source=StockMovement.FundSource.DONATED_MONEY,
        cost_yuan=Decimal("800"),
        actor=manager_x,
        paid_by=money,
    )
    with pytest.raises(ValidationError, match="¥800.00 were already paid"):
        donation_correct(donation=money, actor=manager_x, reason="x", value_yuan=Decimal("500"))
    donation_correct(donation=money, actor=manager_x, reason="x", value_yuan=Decimal("800"))
    money.refresh_from_db()
    assert money.value_yuan == Decimal("800")


def test_the_page_corrects_the_thanks_and_the_date(
    money, client_manager_x, client_supervisor_x, donor
):
    url = reverse("reports:donation_correct", args=[money.pk])
    listed = client_manager_x.get(reverse("store:donation_list")).text
    assert url in listed
    assert url not in client_supervisor_x.get(reverse("store:donation_list")).text
    form = client_manager_x.get(url)
    assert form.context["form"]["value_yuan"].value() == Decimal("5000.00")
    day = datetime.date(2026, 11, 3)
    body = {
        "donor": donor.pk,
        "received_on": day.isoformat(),
        "value_yuan": "5000.00",
        "description": "",
        "thanks": "感谢顺达农资公司",
        "reason": "公司名写错了",
        "idempotency_key": form_key(),
    }
    response = client_manager_x.post(url, body)
    assert response.status_code == 302
    money.refresh_from_db()
    assert (money.thanks, money.received_on) == ("感谢顺达农资公司", day)
    changed = AuditEvent.objects.get(action="donation.correct").detail["changed"]
    assert set(changed) == {"thanks", "received_on"}
    log = client_manager_x.get(reverse("reports:audit"), {"action": "donation.correct"}).text
    assert "public thank-you: 感谢顺达公司 → 感谢顺达农资公司" in log
    assert "What was wrong: 公司名写错了" in log
    refused = client_manager_x.post(url, body | {"reason": "", "idempotency_key": form_key()})
    assert refused.status_code == 200 and refused.context["form"].errors["reason"]


def test_a_donation_a_published_notice_shows_stays_as_published(
    money, village_x, supervisor_x, client_manager_x, donor
):
    """The notice keeps what it showed: its donations are not corrected, nor is another
    moved into its month (it would be on no notice)."""
    last = previous_month(timezone.localdate())
    notice_publish(
        village=village_x,
        year=last.year,
        month=last.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )
    old = Donation.objects.create(
        village=village_x, donor=donor, kind="money", value_yuan=100, thanks="谢", received_on=last
    )
    body = {
        "donor": donor.pk,
        "value_yuan": "100",
        "description": "",
        "thanks": "谢谢",
        "reason": "x",
    }
    for donation, day in ((old, last), (money, last)):
        url = reverse("reports:donation_correct", args=[donation.pk])
        page = client_manager_x.post(
            url, body | {"received_on": day.isoformat(), "idempotency_key": form_key()}
        )
        assert page.status_code == 200 and f"The notice of {last:%Y-%m} is published" in page.text
    assert not AuditEvent.objects.filter(action="donation.correct").exists()


def test_a_second_window_drawn_before_a_correction_cannot_undo_it(money, client_manager_x, donor):
    """Found by an attack: two windows on the correction page; the second, sent after the
    first with only the thanks changed, put the old amount back."""
    url = reverse("reports:donation_correct", args=[money.pk])
    drawn = client_manager_x.get(url).context["form"]["drawn"].value()
    assert drawn
    body = {
        "donor": donor.pk,
        "received_on": money.received_on.isoformat(),
        "value_yuan": "5000.00",
        "description": "",
        "thanks": "感谢顺达公司",
        "drawn": drawn,
    }
    first = body | {"value_yuan": "500.00", "reason": "多打了一个零"}
    assert client_manager_x.post(url, first | {"idempotency_key": form_key()}).status_code == 302
    second = body | {"thanks": "感谢顺达农资公司", "reason": "公司名写错了"}
    refused = client_manager_x.post(url, second | {"idempotency_key": form_key()}, follow=True)
    money.refresh_from_db()
    assert (money.value_yuan, money.thanks) == (Decimal("500.00"), "感谢顺达公司")
    assert "corrected in the meantime" in refused.text
    # Drawn again with the values as they are now: the second correction goes through.
    assert refused.context["form"]["value_yuan"].value() == Decimal("500.00")
    again = refused.context["form"]["drawn"].value()
    third = second | {"value_yuan": "500.00", "drawn": again, "idempotency_key": form_key()}
    assert client_manager_x.post(url, third).status_code == 302
    money.refresh_from_db()
    assert (money.value_yuan, money.thanks) == (Decimal("500.00"), "感谢顺达农资公司")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_donation_cannot_be_moved_to_a_month_no_notice_shows(day, money, client_manager_x, donor):
    """Found by an attack: year 1 and year 9999 were taken, months never published."""
    url = reverse("reports:donation_correct", args=[money.pk])
    body = {
        "donor": donor.pk,
        "received_on": day,
        "value_yuan": "5000.00",
        "thanks": "感谢顺达公司",
        "reason": "日期",
        "idempotency_key": form_key(),
    }
    refused = client_manager_x.post(url, body)
    assert refused.status_code == 200 and refused.context["form"].errors["received_on"]
    created = client_manager_x.post(
        reverse("store:donation_create"),
        {"donor": donor.pk, "kind": "money", **body, "idempotency_key": form_key()},
    )
    assert created.status_code == 200 and created.context["form"].errors["received_on"]
    assert Donation.objects.count() == 1


def test_no_donation_is_recorded_or_corrected_into_a_published_month_by_any_caller(
    money, village_x, supervisor_x, manager_x, donor, client_manager_x, rice
):
    """The rule is the services' (store.services), not only the correction page's: a new
    donation dated in a published month would be on no notice, and its goods would come
    into that month's stock after it was published."""
    last = previous_month(timezone.localdate())
    notice_publish(
        village=village_x,
        year=last.year,
        month=last.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )
    stock = StockMovement.objects.count()
    with pytest.raises(ValidationError, match=f"notice of {last:%Y-%m} is published") as refused:
        donation_record(
            village=village_x,
            donor=donor,
            kind=Donation.Kind.GOODS,
            value_yuan=Decimal("50"),
            thanks="谢",
            goods={rice.pk: 5},
            received_on=last,
            actor=manager_x,
        )
    assert refused.value.code == "published"
    with pytest.raises(ValidationError, match=f"notice of {last:%Y-%m} is published"):
        donation_correct(donation=money, actor=manager_x, reason="日期", received_on=last)
    old = Donation.objects.create(
        village=village_x, donor=donor, kind="money", value_yuan=100, thanks="谢", received_on=last
    )
    with pytest.raises(ValidationError, match="stay as they were published"):
        donation_correct(donation=old, actor=manager_x, reason="金额", value_yuan=Decimal("10"))
    page = client_manager_x.post(
        reverse("store:donation_create"),
        {
            "donor": donor.pk,
            "kind": "money",
            "received_on": last.isoformat(),
            "value_yuan": "50",
            "thanks": "谢",
            "goods-TOTAL_FORMS": "0",
            "goods-INITIAL_FORMS": "0",
            "idempotency_key": form_key(),
        },
    )
    assert page.status_code == 200 and f"The notice of {last:%Y-%m} is published" in page.text
    assert Donation.objects.count() == 2 and StockMovement.objects.count() == stock
    money.refresh_from_db()
    assert money.received_on == timezone.localdate()
    assert not AuditEvent.objects.filter(action="donation.correct").exists()
    # The month before it is not published: a late donation may still be dated there.
    earlier = previous_month(last)
    donation_correct(donation=money, actor=manager_x, reason="日期", received_on=earlier)


@pytest.mark.django_db(transaction=True)
def test_a_notice_published_during_a_correction_shows_the_corrected_donation(
    village_x, supervisor_x, manager_x, donor
):
    """A correction and the publishing of its month at the same moment: publishing waits for
    the village's row, which the correction holds until it commits, so the notice shows the
    donation as corrected (it would show the old amount beside a corrected donation, for
    good, if it were drawn first)."""
    last = previous_month(timezone.localdate())
    donation = donation_record(
        village=village_x,
        donor=donor,
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal("5000"),
        thanks="感谢顺达公司",
        received_on=last,
        actor=manager_x,
    )
    corrected, finished = threading.Event(), []

    def correct():
        try:
            with transaction.atomic():
                donation_correct(
                    donation=donation, actor=manager_x, reason="多打了一个零", value_yuan=500
                )
                corrected.set()
                time.sleep(0.5)  # still uncommitted while the supervisor publishes
            finished.append("corrected")
        finally:
            connection.close()

    def publish():
        try:
            corrected.wait(timeout=10)
            notice_publish(
                village=village_x,
                year=last.year,
                month=last.month,
                actor=supervisor_x,
                empty_confirmed=True,
            )
            finished.append("published")
        finally:
            connection.close()

    threads = [threading.Thread(target=correct), threading.Thread(target=publish)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert finished == ["corrected", "published"]  # publishing waited for the correction
    section = next(
        s for s in PublishedNotice.objects.get().document["sections"] if s["key"] == "donations"
    )
    assert [str(row[5]) for row in section["rows"]] == ["500.00"]


def test_a_new_donor_revokes_the_thanks_links_sent_to_the_one_recorded_wrongly(
    money, client_manager_x, client_anon, village_x, donor
):
    """Found by a probe: the link sent to the donor recorded wrongly went on working and
    showed the right donor's name and gift to them."""
    sent = thanks_token(money)
    right = Donor.objects.create(village=village_x, name="顺发公司", kind="company")
    body = {
        "donor": right.pk,
        "received_on": money.received_on.isoformat(),
        "value_yuan": "5000.00",
        "description": "",
        "thanks": "感谢顺发公司",
        "reason": "捐赠人记错了",
        "idempotency_key": form_key(),
    }
    url = reverse("reports:donation_correct", args=[money.pk])
    response = client_manager_x.post(url, body, follow=True)
    assert "Its thanks links made so far no longer work" in response.content.decode()
    gone = client_anon.get(reverse("reports:donation_thanks", args=[sent]))
    assert gone.status_code == 410 and "顺发公司" not in gone.content.decode()
    money.refresh_from_db()
    new = client_anon.get(reverse("reports:donation_thanks", args=[thanks_token(money)]))
    assert new.status_code == 200 and "顺发公司" in new.content.decode()
    # Another detail corrected keeps the donor's link.
    donation_correct(donation=money, actor=money.created_by, reason="日期", thanks="谢谢顺发")
    assert (
        client_anon.get(reverse("reports:donation_thanks", args=[thanks_token(money)])).status_code
        == 200
    )
