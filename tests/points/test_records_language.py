"""Words kept in a record are worded in the deployment's language (core.text.records_language),
whatever the writer's screen shows: a probe found a manager reading English leaving "Opening
grant for card …" and "Store redemption" on Chinese villagers' histories."""

import ast
import uuid
from pathlib import Path

import pytest
from django.utils import translation

from core.access import Role
from points.activities import activity_checkin, activity_close, activity_open
from points.carryover import carried_over_rule
from points.models import Entry, Proposal, Rule
from points.publicity import proposals_credit_due
from points.services import proposal_approve
from store.services import redemption_create, zones_ensure
from tests.conftest import issue_card
from tests.points.conftest import make_rule, propose
from tests.store.conftest import make_item
from villagers.models import Card, Referral, User
from villagers.second_person import SecondPersonRequired, decider_check, referral_open
from villagers.services import card_recall


@pytest.fixture(autouse=True)
def _a_chinese_county_a_manager_reading_english(settings):
    settings.LANGUAGE_CODE = "zh-hans"
    with translation.override("en"):
        yield


def test_ledger_memos_are_in_the_deployments_language(household_a, manager_x):
    card = issue_card(household_a, manager_x)
    opening = Entry.objects.get(account__household=household_a, kind=Entry.Kind.OPENING)
    assert opening.memo == f"积分卡 {card.number} 基础积分"
    zones_ensure(village=household_a.village)
    soap = make_item(household_a.village, "daily", "肥皂", 5, 10, manager_x)
    redemption_create(
        village=household_a.village,
        household=household_a,
        lines={soap.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    redeemed = Entry.objects.get(account__household=household_a, kind=Entry.Kind.REDEMPTION)
    assert redeemed.memo == "超市兑换"


def test_an_activitys_reasons_and_a_carried_over_rule_are_in_the_deployments_language(
    village_x, manager_x, card_a, card_b, villager_a, villager_b
):
    rule = make_rule(village_x, "C01", 2, Rule.Category.COLLECTIVE_ACTIVITY)
    activity = activity_open(village=village_x, rule=rule, title="村民大会", actor=manager_x)
    activity_checkin(activity=activity, user=villager_a)
    activity_checkin(activity=activity, user=villager_b)
    Card.objects.filter(pk=card_b.pk).update(status=Card.Status.RECALLED)  # since taken away
    closed = activity_close(activity=activity, actor=manager_x)
    assert closed.batch.proposals.get().reason == "村民大会：扫码签到"
    [left_out] = closed.not_proposed
    assert left_out == {"household": card_b.household_id, "why": "没有有效积分卡"}
    assert carried_over_rule(village_x).description == "纸质台账结转积分"


def test_why_an_entry_is_held_is_in_the_deployments_language(
    village_x, card_a, manager_x, supervisor_x
):
    """Found by a second read: a held entry's reason, which its household reads, was worded
    in the language of whoever's action held it."""
    village_x.publicity_days = 3
    village_x.save()
    (proposal,) = propose(manager_x, [card_a.household], make_rule(village_x, "A05", 5))
    (approved,) = proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    card_recall(household=card_a.household, actor=manager_x, reason="搬走了")
    approved.refresh_from_db()
    proposals_credit_due(now=approved.credit_due_at)
    approved.refresh_from_db()
    assert approved.status == Proposal.Status.HELD
    assert approved.hold_reason == "这户的卡已收回：重新发卡之前，不加分也不扣分。"


def test_a_referrals_outcome_is_in_the_deployments_language(household_a, manager_x):
    """A referral closed by the village's own action (a card issued while the county was
    asked to) read "card issued" to the Chinese county when the manager's screen was English."""
    waiting = Referral.objects.create(
        village=household_a.village,
        household=household_a,
        kind=Referral.Kind.CARD_ISSUE,
        object_id=household_a.pk,
        why="送县里",
        requested_by=manager_x,
    )
    issue_card(household_a, manager_x)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.outcome) == (Referral.Status.DONE, "已发卡")


def test_why_a_referral_was_sent_up_is_in_the_deployments_language(household_a, manager_x):
    """Found by a second read: the county read why an item was sent up in the language of
    whoever was refused ("王大山 is your own household: …")."""
    User.objects.filter(pk=manager_x.pk).update(household=household_a)
    manager_x.refresh_from_db()
    with pytest.raises(SecondPersonRequired) as refused:
        decider_check(
            manager_x,
            role=Role.MANAGER,
            kind=Referral.Kind.CARD_ISSUE,
            object_id=household_a.pk,
            village_id=household_a.village_id,
            household_id=household_a.pk,
            household_name=household_a.head_name,
        )
    assert "is your own household" in refused.value.messages[0]  # the manager reads English
    referral = referral_open(error=refused.value, actor=manager_x)
    # Named in the third person for the officer (not "your own household"): see
    # tests/reports/test_overseer_month.py.
    assert referral.why == "王大山 是 manager_x 的家，村里没有别人可以处理。"


PACKAGES = ("villagers", "points", "store", "wishwall", "reports", "notifications")


def _eager_outcomes(tree: ast.AST) -> list[int]:
    """Lines where a referral's outcome (`outcome=`) or why (the message a
    SecondPersonRequired is built with for `referral_open`) is translated at once (`_(...)`,
    in the actor's language) outside a `with records_language():` block."""
    found = []

    def eager(value: ast.AST) -> bool:
        calls = [n for n in ast.walk(value) if isinstance(n, ast.Call)]
        return any(isinstance(c.func, ast.Name) and c.func.id == "_" for c in calls)

    def visit(node, kept: bool) -> None:
        if isinstance(node, ast.With):
            kept = kept or any("records_language" in ast.unparse(i) for i in node.items)
        outcome = isinstance(node, ast.keyword) and node.arg == "outcome"
        if outcome and not kept and eager(node.value):
            found.append(node.value.lineno)
        sent_up = isinstance(node, ast.Call) and ast.unparse(node.func) == "SecondPersonRequired"
        if sent_up and node.args and not kept and eager(node.args[0]):
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child, kept)

    visit(tree, False)
    return found


def test_no_referral_outcome_is_translated_in_the_actors_language():
    root = Path(__file__).resolve().parents[2]
    eager = [
        f"{path.relative_to(root)}:{line}"
        for package in PACKAGES
        for path in sorted((root / package).rglob("*.py"))
        for line in _eager_outcomes(ast.parse(path.read_text()))
    ]
    assert not eager, "pass gettext_lazy(...), or word it under records_language(): " + str(eager)
