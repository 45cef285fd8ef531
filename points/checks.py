"""Ledger invariants, recomputed from the entries. Used by `manage.py audit_ledger`."""

# ruff: noqa: S608 (tables named by the models, values as parameters)

import re

from django.db import connection

from core.sql import table
from points.models import Account, Entry, Objection, Proposal

ACCOUNT, ENTRY = table(Account), table(Entry)
PROPOSAL, OBJECTION = table(Proposal), table(Objection)

# Each query returns rows describing one problem; an empty result means the invariant holds.
# SQL by hand because the ORM cannot say the running sums (window functions); the tables
# are the models', the kinds and statuses parameters holding the models' values (VALUES).
CHECKS = [
    (
        "cached balance differs from the sum of entries",
        f"""
        SELECT a.id, a.balance, COALESCE(SUM(e.points), 0)
        FROM {ACCOUNT} a LEFT JOIN {ENTRY} e ON e.account_id = a.id
        GROUP BY a.id, a.balance
        HAVING a.balance <> COALESCE(SUM(e.points), 0)
        """,
        "account {0}: cached balance {1}, entries sum to {2}",
    ),
    (
        "balance_after is not the running sum",
        f"""
        SELECT id, account_id, balance_after, running FROM (
            SELECT id, account_id, balance_after,
                   SUM(points) OVER (PARTITION BY account_id ORDER BY id) AS running
            FROM {ENTRY}
        ) t WHERE balance_after <> running
        """,
        "entry {0} (account {1}): balance_after {2}, running sum {3}",
    ),
    (
        "negative balance",
        f"""
        SELECT 'account', id, balance FROM {ACCOUNT} WHERE balance < 0
        UNION ALL
        SELECT 'entry', id, balance_after FROM {ENTRY} WHERE balance_after < 0
        """,
        "{0} {1}: negative balance {2}",
    ),
    (
        "reversal does not mirror its entry",
        f"""
        SELECT r.id, o.id, r.points, o.points, r.account_id, o.account_id, o.kind
        FROM {ENTRY} r JOIN {ENTRY} o ON o.id = r.reverses_id
        WHERE r.points <> -o.points OR r.account_id <> o.account_id
           OR o.kind IN ({{reversal}}, {{opening}}) OR r.kind <> {{reversal}} OR r.id < o.id
        """,
        "reversal {0} of entry {1}: points {2} vs {3}, accounts {4}/{5}, reversed kind {6}",
    ),
    (
        "entry reversed more than once",
        f"""
        SELECT reverses_id, COUNT(*) FROM {ENTRY}
        WHERE reverses_id IS NOT NULL GROUP BY reverses_id HAVING COUNT(*) > 1
        """,
        "entry {0} is reversed {1} times",
    ),
    (
        "approved proposal and its entry disagree",
        f"""
        SELECT p.id, p.status, p.points, e.points, p.household_id, a.household_id
        FROM {PROPOSAL} p
        LEFT JOIN {ENTRY} e ON e.id = p.entry_id
        LEFT JOIN {ACCOUNT} a ON a.id = e.account_id
        WHERE (p.status = {{approved}}) <> (p.entry_id IS NOT NULL)
           OR (p.entry_id IS NOT NULL AND (e.points <> p.points
               OR a.household_id <> p.household_id
               OR e.kind <> CASE WHEN p.points > 0 THEN {{award}} ELSE {{deduction}} END))
        """,
        "proposal {0} ({1}, {2} points): entry points {3}, households {4}/{5}",
    ),
    (
        "award or deduction entry without an approved proposal",
        f"""
        SELECT e.id, e.kind FROM {ENTRY} e
        LEFT JOIN {PROPOSAL} p ON p.entry_id = e.id
        WHERE e.kind IN ({{award}}, {{deduction}}) AND p.id IS NULL
        """,
        "entry {0} ({1}) was posted without an approved proposal",
    ),
    (
        "objection open on an entry no longer in publicity",
        f"""
        SELECT o.id, p.id, p.status FROM {OBJECTION} o
        JOIN {PROPOSAL} p ON p.id = o.proposal_id
        WHERE o.status = {{open}} AND p.status <> {{publicity}}
        """,
        "objection {0} is open but proposal {1} is {2}",
    ),
]


# The kinds and statuses the checks name, as the models spell them.
VALUES = {
    "reversal": Entry.Kind.REVERSAL,
    "opening": Entry.Kind.OPENING,
    "award": Entry.Kind.AWARD,
    "deduction": Entry.Kind.DEDUCTION,
    "approved": Proposal.Status.APPROVED,
    "publicity": Proposal.Status.PUBLICITY,
    "open": Objection.Status.OPEN,
}


def check() -> list[str]:
    """Every ledger problem found, as readable lines; an empty list means the ledger is sound."""
    problems = []
    with connection.cursor() as cursor:
        for _title, sql, line in CHECKS:
            # Each {name} becomes a parameter holding the model's value.
            names = re.findall(r"{(\w+)}", sql)
            cursor.execute(sql.format(**dict.fromkeys(names, "%s")), [VALUES[n] for n in names])
            problems += [line.format(*row) for row in cursor.fetchall()]
    return problems
