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
