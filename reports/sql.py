"""The reports app's statements by hand (the rule and the builders: core.sql). Index:

- `REPORT_STATE`: the key of a village's report of a period (the draft or running notice of
  a month, the month report, the year report and their .xlsx): a digest of every row they
  show, read in one statement, so a cached body or workbook keyed by it is never stale.
  Measured on the generated county (village 101), on the busy 2-core machine: drawing the
  month's notice took about 400 ms (the FIFO of every stock movement, a few thousand rows
  rendered), this key 1.3 ms in EXPLAIN ANALYZE (1.5-10 ms a call as the machine's load
  moves): the village's households, accounts and cards, each read by its village's index.
  What it covers, and why that is everything shown:
  - the village's small tables whole (the village, households, groups, rules, cards,
    zones, donors, donations): any field of any of their rows;
  - the ledger through its accounts: every column and the row version (`xmin`, the
    transaction that wrote the row) of each account of the village. Entries are appended,
    never changed, and every entry writes its account's balance in its own transaction
    (points.ledger), so any entry posted, in the period or after it, changes the key. The
    rows written with an entry, in its transaction, and never changed afterwards, follow
    with it: an approved proposal (its entry is set when it is credited, and nothing writes
    it after), a redemption and its lines (written with its entry; voided with its reversal
    entry);
  - the stock through its items, the same way: every stock movement writes its item's
    stock (store.services.movements_plan), so the FIFO lots of the traceability and the
    cover follow;
  - the proposals not yet posted or never to be: in publicity or held, cancelled in the
    period; the open objections; how many of the proposals in publicity may still be
    objected to at `now` (the "Object" links close as time passes);
  - the month's published notice (its row version) and its signatures.
  Reading the proposals and redemptions of a period themselves (found through their
  entries) took 0.3-0.8 s for a year; the row versions of the accounts take 0.3 ms.

Columns and tables come from the models (core.sql.columns, whole_rows_digest); statuses and
kinds are the models' constants (core.sql.literal). Prepared (core.sql.execute).
"""

# ruff: noqa: S608 (every statement here is built from the models; values are parameters)

from core.sql import column, literal, table, whole_rows_digest
from points.models import Account, Objection, Proposal, Rule
from reports.models import NoticeSignature, PublishedNotice
from store.models import Donation, Donor, Item, Zone
from villagers.models import Card, Household, Village, VillageGroup

P = Proposal

# A published notice's row version (the transaction that last wrote it), read with it.
NOTICE_VERSION = f"{table(PublishedNotice)}.xmin::text"


def _of_village(model, field: str = "village") -> str:
    return whole_rows_digest(model, f"t.{column(model, field)} = %(village)s")


def _versions_digest(model) -> str:
    """md5 over every column and the row version (xmin) of the village's rows of `model`."""
    pk = column(model, "id")
    return (
        f"coalesce((SELECT md5(string_agg(md5(t::text) || t.xmin::text, ',' ORDER BY t.{pk})) "
        f"FROM {table(model)} t WHERE t.{column(model, 'village')} = %(village)s), '-')"
    )


_IN_PUBLICITY = f"""t.{column(P, "village")} = %(village)s AND t.{column(P, "status")}
    IN ({literal(P.Status.PUBLICITY)}, {literal(P.Status.HELD)})"""
# Through proposal_village_status: a village's cancelled proposals are few.
_CANCELLED = f"""t.{column(P, "village")} = %(village)s
    AND t.{column(P, "status")} = {literal(P.Status.CANCELLED)}
    AND t.{column(P, "cancelled_at")} >= %(start)s AND t.{column(P, "cancelled_at")} < %(end)s"""
# As an array, so the cards are probed by household (villagers_card_household_id): as a
# subselect the planner read all of the county's cards (EXPLAIN: 1.8-6 ms against 0.3 ms).
_OF_HOUSEHOLDS = f"""t.{column(Card, "household")} = ANY(ARRAY(
    SELECT h.{column(Household, "id")} FROM {table(Household)} h
    WHERE h.{column(Household, "village")} = %(village)s))"""
_NOTICE = f"""SELECT n.{column(PublishedNotice, "id")} FROM {table(PublishedNotice)} n
    WHERE n.{column(PublishedNotice, "village")} = %(village)s
      AND n.{column(PublishedNotice, "month")} = %(month)s"""

REPORT_STATE = f"""
    SELECT concat_ws(':',
        {whole_rows_digest(Village, "t." + column(Village, "id") + " = %(village)s")},
        {_of_village(Household)}, {_of_village(VillageGroup)}, {_of_village(Rule)},
        {_of_village(Zone)}, {_of_village(Donor)}, {_of_village(Donation)},
        {whole_rows_digest(Card, _OF_HOUSEHOLDS)},
        {_versions_digest(Account)}, {_versions_digest(Item)},
        {whole_rows_digest(P, _IN_PUBLICITY)},
        (SELECT count(*) FROM {table(P)} t WHERE {_IN_PUBLICITY}
            AND t.{column(P, "credit_due_at")} > %(now)s),
        {whole_rows_digest(P, _CANCELLED)},
        {whole_rows_digest(Objection, f"t.{column(Objection, 'village')} = %(village)s AND t.{column(Objection, 'status')} = {literal(Objection.Status.OPEN)}")},
        (SELECT n.{column(PublishedNotice, "id")}::text || '.' || n.xmin::text
         FROM {table(PublishedNotice)} n WHERE n.{column(PublishedNotice, "id")} IN ({_NOTICE})),
        {whole_rows_digest(NoticeSignature, f"t.{column(NoticeSignature, 'notice')} IN ({_NOTICE})")})
"""  # noqa: E501 (built from the models)
