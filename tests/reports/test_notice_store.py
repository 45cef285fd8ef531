"""Redemptions and donations on the village's public notice."""

from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from reports.notice import notice_sections
from store.models import Donation, Donor
from store.services import donation_record, redemption_void


def _section(sections, key):
    return next(section for section in sections if section.key == key)


def test_notice_lists_every_redemption_of_the_month_a_void_among_the_corrections(
    card_a, card_b, rice, oil, manager_x, supervisor_x, village_x, redeem
):
    """As the ledger has them: the voided redemption debited points and its void gave them
    back, each on its own line, so the notice's totals are the ledger's."""
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
    assert [row[2] for row in redemptions.rows] == [
        card_a.household.head_name,
        card_b.household.head_name,
    ]
    assert [row[1] for row in redemptions.rows] == [kept.number, voided.number]
    assert redemptions.rows[0][-1] == kept.total_points == 70
    assert redemptions.rows[1][4].endswith("(voided)")
    assert redemptions.totals[-1] == 70 + voided.total_points
    assert "A voided redemption stays on the list, marked, and in the total" in redemptions.note
    corrections = _section(sections, "reversals")
    assert [row[1] for row in corrections.rows] == [card_b.household.head_name]
    assert f"Redemption no. {voided.number} of {today.isoformat()}" == corrections.rows[0][3]
    assert corrections.rows[0][4] == "wrong household"
    assert corrections.totals[-1] == voided.total_points

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
