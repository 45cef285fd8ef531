"""Ledger invariants, recomputed from the entries. Used by `manage.py audit_ledger`."""

import re

from django.db import connection

from points.models import Entry, Objection, Proposal

# Each query returns rows describing one problem; an empty result means the invariant holds.
CHECKS = [
    (
        "cached balance differs from the sum of entries",
        """
        SELECT a.id, a.balance, COALESCE(SUM(e.points), 0)
        FROM points_account a LEFT JOIN points_entry e ON e.account_id = a.id
        GROUP BY a.id, a.balance
        HAVING a.balance <> COALESCE(SUM(e.points), 0)
        """,
        "account {0}: cached balance {1}, entries sum to {2}",
    ),
    (
        "balance_after is not the running sum",
        """
        SELECT id, account_id, balance_after, running FROM (
            SELECT id, account_id, balance_after,
                   SUM(points) OVER (PARTITION BY account_id ORDER BY id) AS running
            FROM points_entry
        ) t WHERE balance_after <> running
        """,
        "entry {0} (account {1}): balance_after {2}, running sum {3}",
    ),
    (
        "negative balance",
        """
        SELECT 'account', id, balance FROM points_account WHERE balance < 0
        UNION ALL
        SELECT 'entry', id, balance_after FROM points_entry WHERE balance_after < 0
        """,
        "{0} {1}: negative balance {2}",
    ),
    (
        "reversal does not mirror its entry",
        """
        SELECT r.id, o.id, r.points, o.points, r.account_id, o.account_id, o.kind
        FROM points_entry r JOIN points_entry o ON o.id = r.reverses_id
        WHERE r.points <> -o.points OR r.account_id <> o.account_id
           OR o.kind IN ({reversal}, {opening}) OR r.kind <> {reversal} OR r.id < o.id
        """,
        "reversal {0} of entry {1}: points {2} vs {3}, accounts {4}/{5}, reversed kind {6}",
    ),
    (
        "entry reversed more than once",
        """
        SELECT reverses_id, COUNT(*) FROM points_entry
        WHERE reverses_id IS NOT NULL GROUP BY reverses_id HAVING COUNT(*) > 1
        """,
        "entry {0} is reversed {1} times",
    ),
    (
        "approved proposal and its entry disagree",
        """
        SELECT p.id, p.status, p.points, e.points, p.household_id, a.household_id
        FROM points_proposal p
        LEFT JOIN points_entry e ON e.id = p.entry_id
        LEFT JOIN points_account a ON a.id = e.account_id
        WHERE (p.status = {approved}) <> (p.entry_id IS NOT NULL)
           OR (p.entry_id IS NOT NULL AND (e.points <> p.points
               OR a.household_id <> p.household_id
               OR e.kind <> CASE WHEN p.points > 0 THEN {award} ELSE {deduction} END))
        """,
        "proposal {0} ({1}, {2} points): entry points {3}, households {4}/{5}",
    ),
    (
        "award or deduction entry without an approved proposal",
        """
        SELECT e.id, e.kind FROM points_entry e
        LEFT JOIN points_proposal p ON p.entry_id = e.id
        WHERE e.kind IN ({award}, {deduction}) AND p.id IS NULL
        """,
        "entry {0} ({1}) was posted without an approved proposal",
    ),
    (
        "objection open on an entry no longer in publicity",
        """
        SELECT o.id, p.id, p.status FROM points_objection o
        JOIN points_proposal p ON p.id = o.proposal_id
        WHERE o.status = {open} AND p.status <> {publicity}
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
