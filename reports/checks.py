"""The published notices against the rows, run by `audit_ledger` after the ledger's and the
store's own checks (DESIGN.md ledger rule 7).

A published month is frozen: its notice was drawn once and stored, and every later write
is dated after it (a correction appears in the month it is made). So the figures stored in
each notice are still the figures its month's rows give now; one that differs means a row
dated inside the month appeared (or went) after publication, or the document was altered.
Figures only: names in it (households, donors, the village) may change afterwards. The
statement is reports.sql.NOTICE_FIGURES.
"""

from django.conf import settings
from django.db import connection

from core import sql
from reports.notice import DOCUMENT_VERSION
from reports.sql import NOTICE_FIGURES

# The figures NOTICE_FIGURES reads, in its order: each published, then recomputed.
FIGURES = (
    "points held at the start",
    "ledger entries",
    "points of the entries",
    "points held at the end",
    "redemptions",
    "points redeemed",
    "donations",
    "yuan donated",
)


def check() -> list[str]:
    """Every published notice whose figures the rows no longer give, as readable lines."""
    problems = []
    with connection.cursor() as cursor:
        sql.execute(cursor, NOTICE_FIGURES, {"tz": settings.TIME_ZONE})
        rows = cursor.fetchall()
    for notice_id, village_code, month, version, *pairs in rows:
        label = f"published notice {notice_id} (village {village_code}, {month:%Y-%m})"
        if version != str(DOCUMENT_VERSION):
            problems.append(f"{label}: its document is not of layout {DOCUMENT_VERSION}")
            continue
        differ = [
            f"{name} {'missing' if published is None else published} published, {now} now"
            for name, published, now in zip(FIGURES, pairs[::2], pairs[1::2], strict=True)
            if published is None or published != now
        ]
        if differ:
            problems.append(
                f"{label}: the month's rows no longer give its published figures: "
                + "; ".join(differ)
            )
    return problems
