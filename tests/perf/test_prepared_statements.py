"""The ledger's and the busy pages' prepared statements are planned once per connection.

By default PostgreSQL re-plans a prepared statement whenever its generic plan looks dearer
than a custom one, which it always did for these statements' array parameters; the settings
ask for generic plans (`plan_cache_mode`). Without that, preparing them saved nothing.
"""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from aidao.rows import execute_prepared
from points.models import Proposal
from points.selectors import QUEUE_VERSION_SQL, VILLAGER_STATE_SQL
from points.services import proposal_approve
from store.models import Zone
from store.selectors import SHELVES_STATE_SQL
from store.services import LOCK_ACCOUNT_SQL
from store.views.counter import CART_SESSION_KEY
from tests.perf.conftest import make_item
from tests.points.conftest import propose
from villagers.models import Card

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


def test_busy_pages_read_through_prepared_statements(
    client_villager_a, client_manager_x, client_supervisor_x, card_a, village_x, zones_x,
    manager_x, rule_clean,
):  # fmt: skip
    soap = make_item(village_x, Zone.Code.DAILY, "肥皂", 1, 100, manager_x)
    session = client_manager_x.session
    session[CART_SESSION_KEY] = {"household": card_a.household_id, "lines": {str(soap.pk): 1}}
    session.save()
    propose(manager_x, [card_a.household], rule_clean)
    visits = [
        (client_villager_a, reverse("points:me")),
        (client_villager_a, reverse("store:catalogue")),
        (client_manager_x, reverse("store:counter_household", args=[card_a.household_id])),
        (client_supervisor_x, reverse("points:approval_queue")),
    ]
    for _call in range(CALLS):
        for client, url in visits:
            assert client.get(url).status_code == 200
    plans = prepared_plans()
    for name in (
        "aidao_session_user",
        "aidao_villager_state",
        "aidao_shelves_state",
        "aidao_counter_household",
        "aidao_cart_items",
        "aidao_queue_version",
    ):
        generic, custom = plans[name]
        assert custom == 0 and generic >= CALLS, name


def test_statuses_spelled_out_in_the_page_statements_are_the_models():
    # A generic plan cannot pick a partial index by a status passed as a parameter, so these
    # statements name the statuses themselves; they must stay the models' values.
    assert f"c.status = '{Card.Status.ACTIVE}'" in SHELVES_STATE_SQL
    assert f"c.status = '{Card.Status.ACTIVE}'" in VILLAGER_STATE_SQL
    assert f"p.status = '{Proposal.Status.PROPOSED}'" in VILLAGER_STATE_SQL
    assert f"p.status = '{Proposal.Status.PROPOSED}'" in QUEUE_VERSION_SQL
    assert f"c.status = '{Card.Status.ACTIVE}'" in LOCK_ACCOUNT_SQL


def test_a_statement_prepared_in_a_rolled_back_transaction_still_runs(db):
    sql = "SELECT %(word)s || '%%'"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            execute_prepared(cursor, "aidao_test_percent", sql, {"word": "50"})
            assert cursor.fetchone() == ("50%",)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        execute_prepared(cursor, "aidao_test_percent", sql, {"word": "7"})
        assert cursor.fetchone() == ("7%",)
    assert [query["sql"].split()[0] for query in captured.captured_queries] == ["EXECUTE"]


def test_preparing_is_not_counted_as_a_query(db):
    with CaptureQueriesContext(connection) as captured, connection.cursor() as cursor:
        for number in range(3):
            execute_prepared(cursor, "aidao_test_count", "SELECT %(n)s::int + 1", {"n": number})
            assert cursor.fetchone() == (number + 1,)
    assert len(captured.captured_queries) == 3
