"""When a village's records begin (Village.started_on): the day it started using the app.

Its month pages reach back to that day's month (tests/reports/test_months_reached.py). A new
village starts the day it is added; a village from before gets the day of its earliest
record (reports 0006); a donation recorded as received before it moves it back, so its month
stays on the pages.
"""

import datetime
import importlib
from decimal import Decimal

from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from core.months import add_months, month_of
from store.models import Donation, Donor
from store.services import donation_correct, donation_record
from tests.factories import TownshipFactory
from villagers.models import Village

TODAY = timezone.localdate()
STARTED = add_months(month_of(TODAY), -2).replace(day=10)


def test_a_donation_received_before_the_start_moves_it_back(
    village_x, manager_x, client_supervisor_x
):
    """A donation received before the village started using the app is recorded: its month
    becomes the village's first, its notice shows it (else it sat in a month no page shows)."""
    Village.objects.filter(pk=village_x.pk).update(started_on=STARTED)
    village_x.refresh_from_db()
    received = add_months(STARTED, -3).replace(day=20)
    donation_record(
        village=village_x,
        donor=Donor.objects.create(village=village_x, name="宜川县民政局", kind="government"),
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal(500),
        thanks="感谢",
        actor=manager_x,
        received_on=received,
    )
    village_x.refresh_from_db()
    assert village_x.started_on == received
    notice = client_supervisor_x.get(
        reverse("reports:notice_month", args=[received.year, received.month])
    )
    assert notice.status_code == 200 and "宜川县民政局" in notice.text


def test_a_donation_whose_date_is_corrected_to_before_the_start_moves_it_back(village_x, manager_x):
    donation = donation_record(
        village=village_x,
        donor=Donor.objects.create(village=village_x, name="爱心企业", kind="company"),
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal(80),
        thanks="谢谢",
        actor=manager_x,
    )
    Village.objects.filter(pk=village_x.pk).update(started_on=STARTED)
    received = STARTED - datetime.timedelta(days=40)
    donation_correct(donation=donation, actor=manager_x, reason="日期记错了", received_on=received)
    assert Village.objects.get(pk=village_x.pk).started_on == received


def test_a_new_village_starts_today(db):
    village = Village.objects.create(township=TownshipFactory(), name="新村", code="808")
    assert village.started_on == timezone.localdate()


def test_the_villages_before_get_the_day_of_their_earliest_record(
    village_x, village_y, card_a, manager_x
):
    """reports 0006: each village's start is its earliest record, whichever kind (here a
    donation received long before its cards); a village with none keeps its day."""
    received = datetime.date(2021, 3, 8)
    donation_record(
        village=village_x,
        donor=Donor.objects.create(village=village_x, name="爱心人士", kind="person"),
        kind=Donation.Kind.MONEY,
        value_yuan=Decimal(50),
        thanks="谢谢",
        actor=manager_x,
        received_on=received,
    )
    Village.objects.update(started_on=TODAY)
    migration = importlib.import_module("reports.migrations.0006_village_started_on_filled")
    migration.started_on_filled(apps, None)
    assert Village.objects.get(pk=village_x.pk).started_on == received
    assert Village.objects.get(pk=village_y.pk).started_on == TODAY
