import datetime
from decimal import Decimal

from django.utils import timezone, translation

from store.models import Donation, Donor
from store.selectors import notice_donations, notice_redemptions, summary_daily, summary_monthly
from store.services import donation_record, redemption_void


def test_notice_redemptions_rows(card_a, card_b, rice, oil, manager_x, supervisor_x, redeem):
    redeem(card_a.household, {rice: 1, oil: 1}, manager_x)
    voided = redeem(card_b.household, {rice: 2}, manager_x)
    redemption_void(redemption=voided, actor=supervisor_x, reason="错")
    today = timezone.localdate()
    rows = notice_redemptions(card_a.household.village, today.year, today.month)
    kept = {
        "date": today,
        "household_head": "王大山",
        "group": "啊道",
        "items": "大米 10kg ×1, 菜籽油 5L ×1",  # in English; 、 in Chinese (below)
        "points": 50,
        "voided": False,
    }
    assert [{k: v for k, v in row.items() if k != "number"} for row in rows] == [
        kept,
        kept | {"household_head": "李秀英", "items": "大米 10kg ×2", "points": 40, "voided": True},
    ]
    assert rows[1]["number"] == voided.number
    assert notice_redemptions(card_a.household.village, today.year - 1, today.month) == []
    with translation.override("zh-hans"):
        rows = notice_redemptions(card_a.household.village, today.year, today.month)
    assert rows[0]["items"] == "大米 10kg ×1、菜籽油 5L ×1"


def test_notice_donations_rows(village_x, village_y, rice, manager_x):
    donor = Donor.objects.create(village=village_x, name="宜川县扶贫局", kind="government")
    donation_record(
        village=village_x,
        donor=donor,
        kind=Donation.Kind.GOODS,
        value_yuan=Decimal("400"),
        description="大米",
        thanks="感谢县扶贫局",
        goods={rice.pk: 10},
        received_on=datetime.date(2024, 3, 5),
        actor=manager_x,
    )
    rows = notice_donations(village_x, 2024, 3)
    assert rows == [
        {
            "date": datetime.date(2024, 3, 5),
            "donor": "宜川县扶贫局",
            "donor_kind": "government body",
            "kind": "goods",
            "what": "大米 (大米 10kg ×10袋)",
            "value": Decimal("400.00"),
            "thanks": "感谢县扶贫局",
        }
    ]
    with translation.override("zh-hans"):  # the published notice's language
        assert notice_donations(village_x, 2024, 3)[0]["what"] == "大米（大米 10kg ×10袋）"
    assert notice_donations(village_y, 2024, 3) == []


def test_summaries_leave_voided_out(card_a, rice, oil, manager_x, supervisor_x, redeem):
    redeem(card_a.household, {rice: 2}, manager_x)
    voided = redeem(card_a.household, {oil: 1}, manager_x)
    redemption_void(redemption=voided, actor=supervisor_x, reason="错")
    today = timezone.localdate()
    day = summary_daily(card_a.household.village, today)
    assert (day["count"], day["points"], day["voided"], day["households"]) == (1, 40, 1, 1)
    assert [(row["item__name"], row["quantity"]) for row in day["items"]] == [("大米 10kg", 2)]
    month = summary_monthly(card_a.household.village, today.year, today.month)
    assert month["points"] == 40
    assert [(row["count"], row["points"]) for row in month["days"]] == [(1, 40)]


def test_a_later_void_leaves_a_closed_days_and_months_summary_as_it_was(
    card_a, rice, manager_x, supervisor_x, village_x, client_manager_x
):
    """Found by a probe: voiding last month's redemption this month took it out of last
    month's counter summaries (the teller's day close no longer matched, nor the notice's
    figure). A closed period keeps its figures; the void is counted in the period it is
    made, apart."""
    import datetime
    import uuid

    from core.months import previous_month
    from reports.selectors import Period, points_flow
    from store.services import redemption_create

    last = previous_month(timezone.localdate())
    at = timezone.make_aware(datetime.datetime.combine(last.replace(day=10), datetime.time(10)))
    redemption = redemption_create(
        village=village_x,
        household=card_a.household,
        lines={rice.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
        at=at,
    )
    month_before = summary_monthly(village_x, last.year, last.month)
    day_before = summary_daily(village_x, at.date())
    redemption_void(redemption=redemption, actor=supervisor_x, reason="wrong household")
    assert summary_monthly(village_x, last.year, last.month) == month_before
    assert summary_daily(village_x, at.date()) == day_before
    (flow,) = points_flow(village_x, Period.month(last.year, last.month))
    assert month_before["points"] == flow.redeemed == 20
    today = timezone.localdate()
    this_month = summary_monthly(village_x, today.year, today.month)
    assert (this_month["voided_earlier"], this_month["voided_earlier_points"]) == (1, 20)
    assert this_month["voided"] == 0
    day = summary_daily(village_x, today)
    assert (day["voided_earlier"], day["voided_earlier_points"]) == (1, 20)
    from django.urls import reverse

    page = client_manager_x.get(reverse("store:summary_month")).content.decode()
    assert "Earlier redemptions voided in this period" in page and "20 points back" in page
