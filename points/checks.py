"""Ledger invariants, recomputed from the entries. Used by `manage.py audit_ledger`.

The checks' statements are in points.sql (CHECKS): SQL by hand because the ORM cannot say
their running sums (window functions).
"""

import re

from django.db import connection

from points.models import Entry, Objection, Proposal, Rule
from points.sql import CHECKS

# The kinds and statuses the checks name, as the models spell them.
VALUES = {
    "reversal": Entry.Kind.REVERSAL,
    "opening": Entry.Kind.OPENING,
    "award": Entry.Kind.AWARD,
    "deduction": Entry.Kind.DEDUCTION,
    "carried": Entry.Kind.CARRIED,
    "carried_rule": Rule.Category.CARRIED_OVER,
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
