"""The points app's statements by hand (the rule and the builders: core.sql). Index:

- `LOCK_ONE`: one proposal with its rule and its household's account, locked FOR NO KEY
  UPDATE OF the proposal and the account (the ledger's lock order), whether its household
  has an active card, and the id its entry will take; the commonest decision. Whether it
  waits for the county (`SENT_UP`) is read after it, sent in the same round trip
  (`core.sql.execute_in_turn`): this statement's snapshot is taken before it waits for the
  lock, so it would miss an item sent up while it waited. The ORM took about 2 ms to build
  it, PostgreSQL 0.3 ms to run it. With the writes in one statement (`run_together`), an
  approval is three round trips instead of nine (docs/performance.md has the figures).
- `LOCK_PROPOSALS` / `LOCK_ACCOUNTS`: the same for a batch, in two steps, in id order (its
  entries' ids are drawn once the accounts are locked).
- `SENT_UP`: which of the locked proposals wait for the township or the county, read after
  the locks (the ORM's query took as long to build as the rest of an approval's Python).
- `VILLAGER_STATE`: the villager's start page in one read: the account, its active card, its
  unread messages (the bell), its latest entry, a digest of every row the page's body and
  its announcements show (their cache key) with how many of its proposals in publicity are
  past their end at `now` (rows nobody writes then: the page stops saying "credited on <a
  time gone by>"), how many of the village's active households have an account (the rank's
  "of N households") and the version of
  the village's ledger: a digest of its accounts' row versions (PostgreSQL's `xmin`, the
  transaction that wrote each row: every entry updates its account's balance in its own
  transaction, so any entry of the village changes it) and of which of them are ranked (a
  household leaving as another comes back changes no account, nor how many are ranked).
  Reading each account's latest entry instead took 0.6 ms, this 0.04 ms.
- `EARNED_THIS_YEAR`: the points each account of a village's active households earned this
  year, the rank's measure (never the balance: spending is the point of the scheme); cached
  under the village's ledger version (which says which households are ranked too), read
  again only when an entry was posted in the village or a household left or came back
  (about 5 ms on a village's year of awards).
- `CHECKS`: the ledger's invariants recomputed from its rows (`audit_ledger`; the README's
  "Checking the ledger" lists them): by hand because the ORM cannot say running sums
  (window functions); each is one statement over the whole county.
- `QUEUE_VERSION`: a digest of every row the approval queue shows (its cache key): each
  pending proposal with its household, account, member, batch and proposer as one row,
  and the village's rules, groups and proposals waiting for the county.

Columns and tables come from the models (core.sql.columns, whole_rows_digest), statuses and
kinds are the models' constants (core.sql.literal). All are prepared (core.sql.execute).
"""

# ruff: noqa: S608 (every statement here is built from the models; values are parameters)

from core.sql import column, columns, literal, next_id, table, whole_rows_digest
from notifications.models import Announcement, Notification
from points.models import (
    Account,
    Batch,
    CarryOverLine,
    Declaration,
    Entry,
    Objection,
    Proposal,
    Rule,
    Settlement,
    SettlementLine,
)
from villagers.models import Card, Household, Member, Referral, User, VillageGroup

P, R, A = Proposal, Rule, Account

# Whether the proposal's household has an active card: a household whose card was recalled
# neither earns nor loses points until it has one again (villagers.services.household_save).
_CARDED = f"""EXISTS (SELECT 1 FROM {table(Card)} c
    WHERE c.{column(Card, "household")} = p.{column(P, "household")}
      AND c.{column(Card, "status")} = {literal(Card.Status.ACTIVE)})"""  # noqa: S608

# The entry's id is drawn after the locks are held (outside the locking subselect), so an
# account's entries take ids in the order their balances follow one another.
LOCK_ONE = f"""
    SELECT locked.*, {next_id(Entry)} FROM (
        SELECT {columns(P, "p")}, {columns(R, "r")}, {columns(A, "a")}, {_CARDED}
        FROM {table(P)} p
        JOIN {table(R)} r ON r.{column(R, "id")} = p.{column(P, "rule")}
        JOIN {table(A)} a ON a.{column(A, "household")} = p.{column(P, "household")}
        WHERE p.{column(P, "id")} = %(id)s AND p.{column(P, "village")} = %(village)s
        FOR NO KEY UPDATE OF p, a
    ) AS locked
"""  # noqa: S608 (built from the models)

LOCK_PROPOSALS = f"""
    SELECT {columns(P, "p")}, {columns(R, "r")}, {_CARDED}
    FROM {table(P)} p JOIN {table(R)} r ON r.{column(R, "id")} = p.{column(P, "rule")}
    WHERE p.{column(P, "id")} = ANY(%(ids)s) AND p.{column(P, "village")} = %(village)s
    ORDER BY p.{column(P, "id")}
    FOR NO KEY UPDATE OF p
"""  # noqa: S608 (built from the models)

# Which of the locked proposals wait for the township or the county (an open referral): read
# in a statement of its own once the locks are held (see LOCK_ONE).
SENT_UP = f"""
    SELECT r.{column(Referral, "object_id")} FROM {table(Referral)} r
    WHERE r.{column(Referral, "village")} = %(village)s
      AND r.{column(Referral, "kind")} = {literal(Referral.Kind.PROPOSAL)}
      AND r.{column(Referral, "status")} = {literal(Referral.Status.OPEN)}
      AND r.{column(Referral, "object_id")} = ANY(%(ids)s)
"""  # noqa: S608 (built from the models)

LOCK_ACCOUNTS = f"""
    SELECT {columns(A, "a")} FROM {table(A)} a
    WHERE a.{column(A, "household")} = ANY(%(households)s) ORDER BY a.{column(A, "id")}
    FOR NO KEY UPDATE
"""  # noqa: S608 (built from the models)

_OF_HOUSEHOLD = f"t.{column(P, 'household')} = a.{column(A, 'household')}"
E = Entry
# The rank counts the households as every page does: the active ones (an account of a
# household that moved away or closed keeps its points, but is no longer ranked).
_ACTIVE = f"h.{column(Household, 'status')} = {literal(Household.Status.ACTIVE)}"
_HOUSEHOLD_OF_O = f"""JOIN {table(Household)} h
    ON h.{column(Household, "id")} = o.{column(A, "household")}
    AND h.{column(Household, "village")} = o.{column(A, "village")}"""
_OF_RANKED = f"""e.{column(E, "account")} IN (SELECT o.{column(A, "id")} FROM {table(A)} o
    {_HOUSEHOLD_OF_O} WHERE o.{column(A, "village")} = %(village)s AND {_ACTIVE})"""

# The village's announcements not withdrawn: the page's announcements are cached under them.
_CURRENT_ANNOUNCEMENTS = (
    f"t.{column(Announcement, 'village')} = a.{column(A, 'village')} "
    f"AND t.{column(Announcement, 'withdrawn_at')} IS NULL"
)

VILLAGER_STATE = f"""
    SELECT {columns(A, "a")},
        (SELECT e.{column(Entry, "id")} FROM {table(Entry)} e
         WHERE e.{column(Entry, "account")} = a.{column(A, "id")}
         ORDER BY e.{column(Entry, "id")} DESC LIMIT 1),
        village.ranked, village.version,
        (SELECT c.{column(Card, "number")} FROM {table(Card)} c
         WHERE c.{column(Card, "household")} = a.{column(A, "household")}
           AND c.{column(Card, "status")} = {literal(Card.Status.ACTIVE)} LIMIT 1),
        (SELECT count(*) FROM {table(Notification)} n
         WHERE n.{column(Notification, "household")} = a.{column(A, "household")}
           AND n.{column(Notification, "read_at")} IS NULL),
        concat_ws(':',
            {whole_rows_digest(P, _OF_HOUSEHOLD)},
            {whole_rows_digest(Declaration, f"t.{column(Declaration, 'household')} = a.{column(A, 'household')}")},
            {whole_rows_digest(Member, f"t.{column(Member, 'household')} = a.{column(A, 'household')}")},
            {whole_rows_digest(Rule, f"t.{column(Rule, 'village')} = a.{column(A, 'village')}")},
            {whole_rows_digest(Announcement, _CURRENT_ANNOUNCEMENTS)},
            (SELECT count(*) FROM {table(P)} t WHERE {_OF_HOUSEHOLD}
               AND t.{column(P, "status")} = {literal(P.Status.PUBLICITY)}
               AND t.{column(P, "credit_due_at")} <= %(now)s))
    FROM {table(A)} a CROSS JOIN LATERAL (
        SELECT count(*) FILTER (WHERE {_ACTIVE}) AS ranked,
            md5(string_agg(o.xmin::text || CASE WHEN {_ACTIVE} THEN '' ELSE '-' END, ','
                ORDER BY o.{column(A, "id")})) AS version
        FROM {table(A)} o {_HOUSEHOLD_OF_O} WHERE o.{column(A, "village")} = a.{column(A, "village")}
    ) village
    WHERE a.{column(A, "household")} = %(household)s
"""  # noqa: S608, E501 (built from the models)

# Points each account of a village earned this year: its awards since %(year)s, less those
# reversed (a reversal of such an award carries its points negated). Read only when the
# village's ledger has moved (VILLAGER_STATE's version); two partial indexes
# (entry_award_time, entry_reversal_time) keep it to the village's awards of the year.
EARNED_THIS_YEAR = f"""
    SELECT e.{column(E, "account")}, sum(e.{column(E, "points")}) FROM (
        SELECT e.{column(E, "account")}, e.{column(E, "points")} FROM {table(E)} e
        WHERE e.{column(E, "kind")} = {literal(Entry.Kind.AWARD)}
          AND e.{column(E, "created_at")} >= %(year)s AND {_OF_RANKED}
        UNION ALL
        SELECT e.{column(E, "account")}, e.{column(E, "points")} FROM {table(E)} e
        JOIN {table(E)} r ON r.{column(E, "id")} = e.{column(E, "reverses")}
        WHERE e.{column(E, "kind")} = {literal(Entry.Kind.REVERSAL)}
          AND e.{column(E, "created_at")} >= %(year)s AND {_OF_RANKED}
          AND r.{column(E, "kind")} = {literal(Entry.Kind.AWARD)}
          AND r.{column(E, "created_at")} >= %(year)s
    ) e GROUP BY e.{column(E, "account")}
"""  # noqa: S608 (built from the models)


def _row_of(model, alias: str, key: str) -> str:
    """The whole row of `model` whose primary key is `key`, as one value (or NULL)."""
    return (
        f"(SELECT {alias} FROM {table(model)} {alias} "  # noqa: S608
        f"WHERE {alias}.{column(model, 'id')} = {key})"
    )


# Each pending proposal's related rows are looked up one by one, by key: joined, PostgreSQL
# guessed thousands of pending rows whenever other villages had many, and read every
# household, account and batch of the county to hash them.
QUEUE_VERSION = f"""
    SELECT concat_ws(':',
        (SELECT md5(string_agg(md5(row(
                    p.*,
                    {_row_of(Household, "h", "p." + column(P, "household"))},
                    (SELECT a FROM {table(A)} a WHERE a.{column(A, "household")} = p.{column(P, "household")}),
                    {_row_of(Member, "m", "p." + column(P, "member"))},
                    {_row_of(Batch, "b", "p." + column(P, "batch"))},
                    {_row_of(User, "u", "p." + column(P, "proposed_by"))})::text), ','
                ORDER BY p.{column(P, "id")}))
         FROM {table(P)} p
         WHERE p.{column(P, "village")} = %(village)s AND p.{column(P, "status")} = {literal(Proposal.Status.PROPOSED)}),
        {whole_rows_digest(Rule, f"t.{column(Rule, 'village')} = %(village)s")},
        {whole_rows_digest(VillageGroup, f"t.{column(VillageGroup, 'village')} = %(village)s")},
        {whole_rows_digest(Referral, f"t.{column(Referral, 'village')} = %(village)s AND t.{column(Referral, 'kind')} = {literal(Referral.Kind.PROPOSAL)} AND t.{column(Referral, 'status')} = {literal(Referral.Status.OPEN)}")})
"""  # noqa: S608, E501 (built from the models)


# --- the ledger's consistency checks (points.checks, audit_ledger) -------------------------

ACCOUNT, ENTRY = table(Account), table(Entry)
PROPOSAL, OBJECTION, RULE = table(Proposal), table(Objection), table(Rule)

# Each query returns rows describing one problem; an empty result means the invariant holds.
# The tables are the models'; kinds and statuses are {name}s filled by points.checks with
# the models' values, as parameters.
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
        "points held for reservations outside 0..balance",
        f"""
        SELECT id, held, balance FROM {ACCOUNT} WHERE held < 0 OR held > balance
        """,
        "account {0}: {1} points held for reservations, balance {2}",
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
        JOIN {RULE} r ON r.id = p.rule_id
        WHERE (p.status = {{approved}}) <> (p.entry_id IS NOT NULL)
           OR (p.entry_id IS NOT NULL AND (e.points <> p.points
               OR a.household_id <> p.household_id
               OR e.kind <> CASE WHEN r.category = {{carried_rule}} THEN {{carried}}
                                 WHEN p.points > 0 THEN {{award}} ELSE {{deduction}} END))
        """,
        "proposal {0} ({1}, {2} points): entry points {3}, households {4}/{5}",
    ),
    (
        "award or deduction entry without an approved proposal",
        f"""
        SELECT e.id, e.kind FROM {ENTRY} e
        LEFT JOIN {PROPOSAL} p ON p.entry_id = e.id
        WHERE e.kind IN ({{award}}, {{deduction}}, {{carried}}) AND p.id IS NULL
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
    # The checks below are spelled wholly from the models: columns (core.sql.column), kinds
    # (core.sql.literal).
    (
        # Whose household a staff member is may be set after the fact (the admin links it),
        # so only who did what is checked here: the services refuse a household's own.
        "proposal decided by its proposer (rule 8)",
        f"""
        SELECT p.{column(P, "id")}, p.{column(P, "status")}, u.{column(User, "id")},
               u.{column(User, "username")}
        FROM {PROPOSAL} p
        JOIN {table(User)} u ON u.{column(User, "id")} = p.{column(P, "decided_by")}
        WHERE p.{column(P, "decided_by")} = p.{column(P, "proposed_by")}
        ORDER BY p.{column(P, "id")}
        """,
        "proposal {0} ({1}) was decided by user {2} ({3}), who proposed it: a second person "
        "decides",
    ),
    (
        # Redemptions: a void by the one who served it is the store's check.
        "reversal by the proposer of the entry it reverses",
        f"""
        SELECT r.{column(E, "id")}, o.{column(E, "id")}, o.{column(E, "kind")},
               u.{column(User, "id")}, u.{column(User, "username")}
        FROM {ENTRY} r
        JOIN {ENTRY} o ON o.{column(E, "id")} = r.{column(E, "reverses")}
        JOIN {PROPOSAL} p ON p.{column(P, "entry")} = o.{column(E, "id")}
        JOIN {table(User)} u ON u.{column(User, "id")} = r.{column(E, "created_by")}
        WHERE r.{column(E, "kind")} = {literal(Entry.Kind.REVERSAL)}
          AND u.{column(User, "id")} = p.{column(P, "proposed_by")}
        ORDER BY r.{column(E, "id")}
        """,
        "reversal {0} of entry {1} ({2}) was made by user {3} ({4}), who proposed it: a second "
        "person reverses",
    ),
    (
        "account granted opening points more than once",
        f"""
        SELECT e.{column(E, "account")}, count(*),
               string_agg(e.{column(E, "id")}::text, ', ' ORDER BY e.{column(E, "id")})
        FROM {ENTRY} e WHERE e.{column(E, "kind")} = {literal(Entry.Kind.OPENING)}
        GROUP BY e.{column(E, "account")} HAVING count(*) > 1 ORDER BY e.{column(E, "account")}
        """,
        "account {0} has {1} opening grants (entries {2}): a household is granted once, "
        "with its first card",
    ),
    (
        # points.services.card_issue: the account is opened with the first card's grant.
        "opening grant on a household without a card, or after other entries",
        f"""
        SELECT e.{column(E, "id")}, e.{column(E, "account")}, a.{column(A, "household")},
               CASE WHEN c.{column(Card, "id")} IS NULL THEN 'its household has no card'
                    ELSE 'entries were posted on the account before it' END
        FROM {ENTRY} e
        JOIN {ACCOUNT} a ON a.{column(A, "id")} = e.{column(E, "account")}
        LEFT JOIN LATERAL (
            SELECT c.{column(Card, "id")} FROM {table(Card)} c
            WHERE c.{column(Card, "household")} = a.{column(A, "household")} LIMIT 1
        ) c ON true
        WHERE e.{column(E, "kind")} = {literal(Entry.Kind.OPENING)}
          AND (c.{column(Card, "id")} IS NULL OR EXISTS (
              SELECT 1 FROM {ENTRY} x WHERE x.{column(E, "account")} = e.{column(E, "account")}
                AND x.{column(E, "id")} < e.{column(E, "id")}))
        ORDER BY e.{column(E, "id")}
        """,
        "opening entry {0} (account {1}, household {2}): {3}; the grant comes with the "
        "household's first card",
    ),
    (
        # points.carryover: the paper balance less the grant the card was given.
        "carried-over balance counting another opening grant than the household's",
        f"""
        SELECT * FROM (
            SELECT l.{column(CarryOverLine, "id")}, l.{column(CarryOverLine, "household")},
                   l.{column(CarryOverLine, "grant")} AS counted,
                   COALESCE((
                       SELECT sum(e.{column(E, "points")}) FROM {ENTRY} e
                       JOIN {ACCOUNT} a ON a.{column(A, "id")} = e.{column(E, "account")}
                       WHERE a.{column(A, "household")} = l.{column(CarryOverLine, "household")}
                         AND e.{column(E, "kind")} = {literal(Entry.Kind.OPENING)}), 0) AS granted
            FROM {table(CarryOverLine)} l
        ) t WHERE counted <> granted ORDER BY 1
        """,
        "carried-over line {0} (household {1}) counts an opening grant of {2}, but the "
        "household was granted {3}",
    ),
    (
        # points.settlement: each line lapses as one entry, never more than the line says.
        "lapse entry that is not one posted settlement line's",
        f"""
        SELECT e.{column(E, "id")}, e.{column(E, "account")}, -e.{column(E, "points")},
               CASE WHEN l.{column(SettlementLine, "id")} IS NULL
                        THEN 'no settlement line posted it'
                    WHEN l.{column(SettlementLine, "account")} <> e.{column(E, "account")}
                        THEN 'its settlement line ' || l.{column(SettlementLine, "id")}
                             || ' is of account ' || l.{column(SettlementLine, "account")}
                    WHEN -e.{column(E, "points")} > l.{column(SettlementLine, "points")}
                        THEN 'its settlement line ' || l.{column(SettlementLine, "id")}
                             || ' lets at most ' || l.{column(SettlementLine, "points")} || ' lapse'
                    ELSE 'its settlement line ' || l.{column(SettlementLine, "id")}
                         || ' is of settlement ' || s.{column(Settlement, "id")}
                         || ', never posted' END
        FROM {ENTRY} e
        LEFT JOIN {table(SettlementLine)} l
            ON l.{column(SettlementLine, "entry")} = e.{column(E, "id")}
        LEFT JOIN {table(Settlement)} s
            ON s.{column(Settlement, "id")} = l.{column(SettlementLine, "settlement")}
        WHERE e.{column(E, "kind")} = {literal(Entry.Kind.LAPSE)}
          AND (l.{column(SettlementLine, "id")} IS NULL
               OR l.{column(SettlementLine, "account")} <> e.{column(E, "account")}
               OR -e.{column(E, "points")} > l.{column(SettlementLine, "points")}
               OR s.{column(Settlement, "posted_at")} IS NULL)
        ORDER BY e.{column(E, "id")}
        """,
        "lapse entry {0} (account {1}, {2} points lapsed): {3}",
    ),
    (
        "settlement line posted as an entry other than a lapse",
        f"""
        SELECT l.{column(SettlementLine, "id")}, e.{column(E, "id")}, e.{column(E, "kind")}
        FROM {table(SettlementLine)} l
        JOIN {ENTRY} e ON e.{column(E, "id")} = l.{column(SettlementLine, "entry")}
        WHERE e.{column(E, "kind")} <> {literal(Entry.Kind.LAPSE)}
        ORDER BY l.{column(SettlementLine, "id")}
        """,
        "settlement line {0} names entry {1} ({2}), not a lapse",
    ),
    (
        "account of another village than its household",
        f"""
        SELECT a.{column(A, "id")}, a.{column(A, "village")}, h.{column(Household, "id")},
               h.{column(Household, "village")}
        FROM {ACCOUNT} a
        JOIN {table(Household)} h ON h.{column(Household, "id")} = a.{column(A, "household")}
        WHERE a.{column(A, "village")} <> h.{column(Household, "village")}
        ORDER BY a.{column(A, "id")}
        """,
        "account {0} is of village {1}, its household {2} of village {3}",
    ),
    (
        # Its entry is its household's ("approved proposal and its entry disagree"), on an
        # account of the household's village (the check above): one village throughout.
        "proposal whose rule, household or batch is of another village",
        f"""
        SELECT p.{column(P, "id")}, p.{column(P, "village")}, r.{column(R, "village")},
               h.{column(Household, "village")}, COALESCE(b.{column(Batch, "village")}::text, '-')
        FROM {PROPOSAL} p
        JOIN {RULE} r ON r.{column(R, "id")} = p.{column(P, "rule")}
        JOIN {table(Household)} h ON h.{column(Household, "id")} = p.{column(P, "household")}
        LEFT JOIN {table(Batch)} b ON b.{column(Batch, "id")} = p.{column(P, "batch")}
        WHERE r.{column(R, "village")} <> p.{column(P, "village")}
           OR h.{column(Household, "village")} <> p.{column(P, "village")}
           OR b.{column(Batch, "village")} <> p.{column(P, "village")}
        ORDER BY p.{column(P, "id")}
        """,
        "proposal {0} is of village {1}, its rule of village {2}, its household of {3}, "
        "its batch of {4}",
    ),
]
