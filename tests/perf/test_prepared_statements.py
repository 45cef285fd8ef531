"""The ledger's prepared statements are planned once per connection, not on every call.

By default PostgreSQL re-plans a prepared statement whenever its generic plan looks dearer
than a custom one, which it always did for these statements' array parameters; the settings
ask for generic plans (`plan_cache_mode`). Without that, preparing them saved nothing.
"""

from django.db import connection

from points.services import proposal_approve
from store.models import Zone
from tests.perf.conftest import make_item
from tests.points.conftest import propose

CALLS = 8  # PostgreSQL tries custom plans for the first five executions


def prepared_plans() -> dict[str, tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE name LIKE 'aidao_%%'"
        )
        return {name.rsplit("_", 1)[0]: (generic, custom) for name, generic, custom in cursor}


def test_connection_asks_for_generic_plans(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_generic_plan"


def test_approvals_and_redemptions_reuse_one_plan_per_statement(
    card_a, card_b, village_x, zones_x, manager_x, supervisor_x, rule_clean, redeem
):
    soap = make_item(village_x, Zone.Code.DAILY, "肥皂", 1, 100, manager_x)
    towel = make_item(village_x, Zone.Code.DAILY, "毛巾", 1, 100, manager_x)
    for _call in range(CALLS):
        proposal = propose(manager_x, [card_a.household], rule_clean)[0]
        proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
        batch = propose(manager_x, [card_a.household, card_b.household], rule_clean)
        proposal_approve(proposal_ids=[p.pk for p in batch], actor=supervisor_x)
        redeem(card_a.household, {soap: 1, towel: 2}, manager_x)
    plans = prepared_plans()
    used_here = {
        "aidao_lock_one",
        "aidao_lock_proposals",
        "aidao_lock_accounts",
        "aidao_credit_at_approval",
        "aidao_lock_account",
        "aidao_redemption_items",
        "aidao_redemption_write",
    }
    assert set(plans) >= used_here
    for name, (generic, custom) in plans.items():  # with those other tests prepared before
        assert custom == 0, name
        assert generic >= CALLS or name not in used_here, name
