"""Which statements Citus could route to one village's shard: the checker of test_routing.

The plan (docs/performance.md, "Past one database") distributes the per-village tables by
village_id. Citus sends a statement to one shard when every distributed table in it is
filtered on its distribution column by one value (`village_id = 7`, or `= $1`), the same for
all of them, which PostgreSQL also derives across joins on the column (`a.village_id =
h.village_id AND h.village_id = 7` gives `a.village_id = 7`). An INSERT is routed by the
village_id of its row.

So the checker does not parse SQL: it asks PostgreSQL for each statement's plan (EXPLAIN
VERBOSE, the prepared statement's own generic plan for an EXECUTE) and looks at every scan
of a per-village table: its index condition, recheck condition or filter must compare that
table's village_id with one value (a constant or a parameter: not `= ANY (...)`, not another
column). A lookup by primary key alone (`WHERE id = 5`) does not count: Citus would have to
ask every shard. Tables that have no village_id (rows reached through their household,
account, redemption, wish or notice) can never pass, and are listed with why.
"""

import json
import re
from dataclasses import dataclass, field

from django.db import connection

from core.sql import IN_TURN

# Per-village tables that carry the village: distributed by village_id.
BY_VILLAGE = {
    "villagers_household",
    "villagers_referral",
    "points_account",
    "points_batch",
    "points_inspectionround",
    "points_proposal",
    "points_objection",
    "points_declaration",
    "store_item",
    "store_donation",
    "store_redemption",
    "store_stockmovement",
    "store_stockcorrection",
    "wishwall_wish",
    "reports_publishednotice",
    "store_reservation",
    "points_activity",
    "points_carryover",
    "points_settlement",
    "notifications_notification",
    "notifications_announcement",
}
# Per-village tables reached through a parent: under Citus each needs a village_id column
# (filled from its parent, part of its primary key) to be distributed beside it.
THROUGH_PARENT = {
    "villagers_member": "household",
    "villagers_inspection": "household",
    "villagers_participation": "household",
    "villagers_card": "household",
    "points_entry": "account",
    "store_redemptionline": "redemption",
    "wishwall_wishrevision": "wish",
    "wishwall_wishmatch": "wish",
    "wishwall_wishfulfilment": "wish",
    "reports_noticesignature": "notice",
    "store_reservationline": "reservation",
    "points_checkin": "activity",
    "points_carryoverline": "carry_over",
    "points_settlementline": "settlement",
}
PER_VILLAGE = BY_VILLAGE | set(THROUGH_PARENT)
# Small, rarely written, read by every village: Citus reference tables (a copy on every
# node), so joining them never stops a statement from being routed. Listed for the plan;
# the checker has nothing to check on them. villagers_user is read on every request by its
# key, written at sign-in; core_session and the task queue stay on the coordinator.
REFERENCE = {
    "villagers_county",
    "villagers_township",
    "villagers_village",
    "villagers_villagegroup",
    "villagers_user",
    "points_rule",
    "store_zone",
    "store_donor",
    "auth_group",
    "villagers_user_groups",
}
# Not distributed, each with why (docs/performance.md, "Past one database"): they stay on
# the coordinator, or move with the village as the plan says.
ELSEWHERE = {
    "core_session": "on the coordinator: read by its key on every request",
    "reports_exportjob": "on the coordinator, beside the task queue that builds the exports",
    "reports_apitoken": "on the coordinator: a county's or township's key, read by its key",
    "aidao_auditevent": "distributed by village once county events get a reserved value",
    "points_idempotencykey": "distributed by its user's village once it carries it",
}

_ONE_VALUE = r"(?:\$\d+|'[^']*'(?:::[\w ]+)?|-?\d+|\(InitPlan \d+\)\.col\d+)"
_VILLAGE_EQUALS = re.compile(
    rf"\b(?:\w+\.)?village_id = {_ONE_VALUE}(?!\w)|{_ONE_VALUE} = (?:\w+\.)?village_id\b"
)
_CONDITIONS = ("Index Cond", "Recheck Cond", "Filter", "TID Cond")
_JOINS = ("Hash Cond", "Merge Cond", "Join Filter")
_PLANNED = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|EXECUTE)\b", re.IGNORECASE)


@dataclass
class Unrouted:
    """A per-village table a statement touches without one village's condition."""

    table: str
    how: str  # "scan" (read, or the rows an UPDATE/DELETE picks) or "insert"
    sql: str
    # The table's columns the statement finds its rows by (its conditions, wherever in the
    # plan they are checked: an index, a filter, a join): "id", "household_id"...; "" for
    # none (the whole table) or for an insert.
    by: str = ""

    @property
    def text(self) -> str:
        """The statement, or for an EXECUTE the prepared statement's text."""
        if self.sql.startswith("EXECUTE "):
            return _PREPARED.get(self.sql.split()[1], self.sql)
        return self.sql

    @property
    def keys(self) -> set[str]:
        """The keys among the columns it is found by: id, the foreign keys, unique keys."""
        return {c for c in self.by.split(", ") if c == "id" or c.endswith(("_id", "_key"))}

    def __str__(self) -> str:
        return f"{self.table} by {self.by or '-'} ({self.how}): {' '.join(self.text.split())}"


@dataclass
class QueryLog:
    """Every statement run on the default connection while it is open (execute_wrapper)."""

    statements: list[tuple[str, object]] = field(default_factory=list)

    def __call__(self, execute, sql, params, many, context):
        # Prepared statements sent in turn (core.sql.execute_in_turn) are planned one by one.
        parts = sql.split(IN_TURN) if sql.startswith("EXECUTE ") and not params else [sql]
        for part in parts:
            self.statements.append((part, (params[0] if params else None) if many else params))
        return execute(sql, params, many, context)

    def __enter__(self):
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        return self._wrapper.__exit__(*exc)


def plan_of(sql: str, params) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}", params)
        (document,) = cursor.fetchone()
    plan = document if isinstance(document, list) else json.loads(document)
    return plan[0]["Plan"]


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def _has_village_value(node: dict) -> bool:
    return any(_VILLAGE_EQUALS.search(node.get(key, "")) for key in _CONDITIONS)


def unrouted(sql: str, params) -> list[Unrouted]:
    """The per-village tables `sql` touches without one village's condition ([] for a
    statement PostgreSQL does not plan: SAVEPOINT, PREPARE, SET...)."""
    if not _PLANNED.match(sql) or not _mentions_per_village(sql):
        return []
    found = []
    plan = plan_of(sql, params)
    conditions = " ".join(
        node.get(key, "") for node in _nodes(plan) for key in _CONDITIONS + _JOINS
    )
    for node in _nodes(plan):
        table = node.get("Relation Name")
        if table not in PER_VILLAGE:
            continue
        if node["Node Type"] == "ModifyTable":
            # UPDATE/DELETE pick their rows with a scan below (checked there); an INSERT
            # carries its row's village_id when the table has one.
            if node.get("Operation") == "Insert" and table not in BY_VILLAGE:
                found.append(Unrouted(table, "insert", sql))
            continue
        if table not in BY_VILLAGE or not _has_village_value(node):
            found.append(Unrouted(table, "scan", sql, _found_by(node["Alias"], conditions)))
    return found


def _found_by(alias: str, conditions: str) -> str:
    """The columns of `alias` that the plan's conditions name (its village_id too: then
    compared with another row's, not with one value). An alias used in two subqueries of
    one statement gives the columns of both."""
    columns = re.findall(rf'(?<![\w.])"?{re.escape(alias)}"?\.(\w+)', conditions)
    return ", ".join(sorted(set(columns)))


_PREPARED: dict[str, str] = {}


def _mentions_per_village(sql: str) -> bool:
    if sql.startswith("EXECUTE "):  # the prepared statement's text, as PostgreSQL holds it
        name = sql.split()[1]
        if name not in _PREPARED:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT statement FROM pg_prepared_statements WHERE name = %s", [name]
                )
                _PREPARED[name] = cursor.fetchone()[0]
        sql = _PREPARED[name]
    return any(table in sql for table in PER_VILLAGE)
