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
- `NOTICE_FIGURES`: each published notice's figures beside the same figures recomputed from
  the rows now (`audit_ledger`, reports.checks): the month's ledger (balance at the start,
  entries and their points, balance at the end), its redemptions and its donations. By hand
  because the ledger's months are summed once for every village with a notice (one pass
  over its entries, not one per notice) and the figures are read out of the stored JSON.

Columns and tables come from the models (core.sql.columns, whole_rows_digest); statuses and
kinds are the models' constants (core.sql.literal). Prepared (core.sql.execute).
"""

# ruff: noqa: S608 (every statement here is built from the models; values are parameters)

from core.sql import column, literal, table, whole_rows_digest
from points.models import Account, Entry, Objection, Proposal, Rule
from reports.models import NoticeSignature, PublishedNotice
from store.models import Donation, Donor, Item, Redemption, Zone
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


# --- the published notices against the rows (reports.checks, audit_ledger) -----------------

N, E, D = PublishedNotice, Entry, Donation


def _array(json: str) -> str:
    """`json` when it is an array, else an empty one: a document altered by hand is reported,
    never an error (a set-returning function of a scalar is one)."""
    return f"(CASE WHEN jsonb_typeof({json}) = 'array' THEN {json} ELSE '[]'::jsonb END)"


def _number(json: str) -> str:
    """A figure of the document as a number: a JSON number, or a string of one (yuan are
    stored as "12.50"); NULL for anything else."""
    text = f"({json} #>> '{{}}')"
    return (
        f"(CASE WHEN jsonb_typeof({json}) = 'number' THEN ({json})::numeric "
        f"WHEN {text} ~ '^-?[0-9]+([.][0-9]+)?$' THEN {text}::numeric END)"
    )


def _rows_sum(section: str, cell: int) -> str:
    """The sum of column `cell` of a section's rows after its first (the ledger's lines)."""
    rows = _array(f"{section} -> 'rows'")
    return (
        f"(SELECT sum({_number(f'r -> {cell}')}) "
        f"FROM jsonb_array_elements({rows}) WITH ORDINALITY AS t(r, i) WHERE i > 1)"
    )


def _rows_count(section: str) -> str:
    return f"jsonb_array_length({_array(section + ' -> ' + literal('rows'))})"


def _section(key: str) -> str:
    """The section `key` of the document's sections `s` (reports.notice.section_plain)."""
    return f"(array_agg(s) FILTER (WHERE s ->> 'key' = {literal(key)}))[1]"


def _month(moment: str) -> str:
    """The local month (its first day) of a moment, as the notice draws months
    (core.months.month_span)."""
    return f"date_trunc('month', {moment} AT TIME ZONE %(tz)s)::date"


_PUBLISHED = f"SELECT {column(N, 'village')} FROM {table(N)}"
R = Redemption

# Each notice's figures as published and as the rows give them now, in pairs: the ledger's
# start, entries, points and end (reports.notice.ledger_summary_section: its first row is the
# start, each further row a line's entries and points, its totals the end), the redemptions
# (rows, points: the totals' sixth cell) and the donations (rows, yuan). The entries,
# redemptions and donations are summed by month once, for the villages with a notice only;
# each document is read once, for its three sections. On the generated county with every
# month of every village published (1,692 notices) it took about 4 s.
NOTICE_FIGURES = f"""
    WITH ledger AS (
        SELECT a.{column(Account, "village")} AS village, {_month(f"e.{column(E, 'created_at')}")}
                   AS month,
               count(*) AS count, sum(e.{column(E, "points")}) AS points
        FROM {table(E)} e
        JOIN {table(Account)} a ON a.{column(Account, "id")} = e.{column(E, "account")}
        WHERE a.{column(Account, "village")} IN ({_PUBLISHED})
        GROUP BY 1, 2
    ), redeemed AS (
        SELECT r.{column(R, "village")} AS village, {_month(f"r.{column(R, 'created_at')}")}
                   AS month,
               count(*) AS count, sum(r.{column(R, "total_points")}) AS points
        FROM {table(R)} r WHERE r.{column(R, "village")} IN ({_PUBLISHED})
        GROUP BY 1, 2
    ), donated AS (
        SELECT d.{column(D, "village")} AS village,
               date_trunc('month', d.{column(D, "received_on")})::date AS month,
               count(*) AS count, sum(d.{column(D, "value_yuan")}) AS yuan
        FROM {table(D)} d WHERE d.{column(D, "village")} IN ({_PUBLISHED})
        GROUP BY 1, 2
    ), notice AS (
        SELECT n.{column(N, "id")} AS id, n.{column(N, "village")} AS village,
               n.{column(N, "month")} AS month, document.*,
               COALESCE((SELECT sum(m.points) FROM ledger m
                         WHERE m.village = n.{column(N, "village")}
                           AND m.month < n.{column(N, "month")}), 0) AS start
        FROM {table(N)} n CROSS JOIN LATERAL (
            SELECT n.{column(N, "document")} ->> 'version' AS version,
                   {_section("ledger")} AS ledger, {_section("redemptions")} AS redemptions,
                   {_section("donations")} AS donations
            FROM jsonb_array_elements({_array(f"n.{column(N, 'document')} -> 'sections'")}) s
        ) document
    )
    SELECT n.id,
        (SELECT v.{column(Village, "code")} FROM {table(Village)} v
         WHERE v.{column(Village, "id")} = n.village),
        n.month, n.version,
        {_number("n.ledger -> 'rows' -> 0 -> 2")}, n.start,
        {_rows_sum("n.ledger", 1)}, COALESCE(m.count, 0),
        {_rows_sum("n.ledger", 2)}, COALESCE(m.points, 0),
        {_number("n.ledger -> 'totals' -> 2")}, n.start + COALESCE(m.points, 0),
        CASE WHEN n.redemptions IS NOT NULL THEN {_rows_count("n.redemptions")} END,
        COALESCE(r.count, 0),
        {_number("n.redemptions -> 'totals' -> 5")}, COALESCE(r.points, 0),
        CASE WHEN n.donations IS NOT NULL THEN {_rows_count("n.donations")} END,
        COALESCE(d.count, 0),
        {_number("n.donations -> 'totals' -> 5")}, COALESCE(d.yuan, 0)
    FROM notice n
    LEFT JOIN ledger m ON m.village = n.village AND m.month = n.month
    LEFT JOIN redeemed r ON r.village = n.village AND r.month = n.month
    LEFT JOIN donated d ON d.village = n.village AND d.month = n.month
    ORDER BY n.village, n.month
"""
