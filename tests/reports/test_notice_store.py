"""Redemptions and donations on the village's public notice."""

from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from reports.notice import notice_sections
from store.models import Donation, Donor
from store.services import donation_record, redemption_void


def _section(sections, key):
    return next(section for section in sections if section.key == key)


def test_notice_lists_redemptions_that_stand_and_donations(
    card_a, card_b, rice, oil, manager_x, supervisor_x, village_x, redeem
):
    kept = redeem(card_a.household, {rice: 2, oil: 1}, manager_x)
    voided = redeem(card_b.household, {rice: 1}, manager_x)
    redemption_void(redemption=voided, actor=supervisor_x, reason="wrong household")
    donor = Donor.objects.create(village=village_x, name="宜川爱心果业", kind="company")
    donation_record(
        village=village_x,
        donor=donor,
        kind=Donation.Kind.GOODS,
        value_yuan=Decimal("600.00"),
        thanks="感谢宜川爱心果业",
        actor=manager_x,
        goods={rice.pk: 10},
    )
    today = timezone.localdate()
    sections = notice_sections(village_x, today.year, today.month)

    redemptions = _section(sections, "redemptions")
    assert [row[1] for row in redemptions.rows] == [card_a.household.head_name]
    assert redemptions.rows[0][-1] == kept.total_points == 70
    assert redemptions.totals[-1] == 70

    donations = _section(sections, "donations")
    assert len(donations.rows) == 1
    assert donations.rows[0][1] == "宜川爱心果业"
    assert "大米 10kg ×10" in donations.rows[0][4]
    assert donations.rows[0][6] == "感谢宜川爱心果业"


def test_notice_page_shows_store_sections_with_bounded_queries(
    client_villager_b, card_a, rice, manager_x, redeem, django_assert_max_num_queries
):
    url = reverse("reports:notice")
    redeem(card_a.household, {rice: 1}, manager_x)
    with django_assert_max_num_queries(30) as few:
        client_villager_b.get(url)
    for _ in range(3):
        redeem(card_a.household, {rice: 1}, manager_x)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client_villager_b.get(url)
    page = response.content.decode()
    assert "Goods redeemed" in page
    assert "Donations received" in page
