"""The history explains itself: a redemption line lists its goods and links to its receipt, an
award or deduction shows its rule and reason; on the villager's page and the staff ledger,
with the store's lines read in one query whatever the page holds."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from points.services import proposal_approve
from store.services import redemption_void
from tests.points.conftest import propose, rule_clean  # noqa: F401


def test_a_redemption_lists_its_goods_and_links_its_receipt(
    client_villager_a, client_manager_x, card_a, rice, oil, redeem, manager_x
):
    """The link is the receipt's own address: through the entry's (a redirect) it cost a
    round trip more, half a second on 3G (found by the phone's 3G probe)."""
    redemption = redeem(card_a.household, {rice: 2, oil: 1}, manager_x)
    receipt = reverse("store:receipt", args=[redemption.pk])
    for client, url in (
        (client_villager_a, reverse("points:me")),
        (client_manager_x, reverse("points:household_ledger", args=[card_a.household.pk])),
    ):
        html = client.get(url).content.decode()
        assert "大米 10kg × 2 袋" in html and "菜籽油 5L × 1 桶" in html
        assert f'href="{receipt}"' in html
        assert reverse("store:receipt_of_entry", args=[redemption.entry_id]) not in html
        assert client.get(receipt).status_code == 200
    # The entry's address still leads there (a link saved before).
    of_entry = reverse("store:receipt_of_entry", args=[redemption.entry_id])
    assert client_villager_a.get(of_entry).url == receipt


def test_an_award_shows_its_rule_and_reason_and_a_void_its_reason(
    client_villager_a,
    card_a,
    rice,
    redeem,
    manager_x,
    supervisor_x,
    rule_clean,  # noqa: F811
):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean, reason="扫了门前雪")
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    redemption = redeem(card_a.household, {rice: 1}, manager_x)
    redemption_void(redemption=redemption, actor=supervisor_x, reason="拿错了户")
    html = client_villager_a.get(reverse("points:me")).content.decode()
    assert f"Rule: {rule_clean.code} {rule_clean.description}" in html
    assert "Reason: 扫了门前雪" in html
    assert "Reason: 拿错了户" in html


def test_redemption_lines_cost_one_query_however_many(
    client_villager_a, card_a, rice, oil, redeem, manager_x
):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            client_villager_a.get(reverse("points:me"))
        # The village's announcements are read once, then kept with the page: not counted.
        return [
            q["sql"]
            for q in captured.captured_queries
            if not q["sql"].startswith("PREPARE") and "notifications_announcement" not in q["sql"]
        ]

    redeem(card_a.household, {rice: 1}, manager_x)  # 20 points
    one = queries()
    redeem(card_a.household, {rice: 1, oil: 1}, manager_x)  # 50 points
    redeem(card_a.household, {rice: 1}, manager_x)
    many = queries()
    assert len(many) == len(one)
    assert sum("store_redemptionline" in q for q in many) == 1
