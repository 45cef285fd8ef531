"""The store's statements by hand (the rule and the builders: core.sql). Index:

- `LOCK_ACCOUNT`: the counter's first lock, the household's account (the ledger's lock order:
  account, then items), and whether it has an active card.
- `REDEMPTION_ITEMS`: the cart's items locked in id order, whether this confirmation was
  taken already (a double click queued on the account lock sees the first by now), and the
  ids the redemption, its entry and each line's stock movement will take, drawn once the
  locks are held (so an account's entries take ids in the order of their balances). With
  the writes in one statement (`run_together`), a 3-line redemption is four round trips
  instead of eleven (docs/performance.md).
- `SHELVES_STATE`: a digest of every item and zone row of the village (the catalogue's and
  the counter's cache key), and the household's balance, active card, unread messages and
  points held for its reservations; at the counter, the redemption the teller confirmed
  for it last, if lately (a reply lost on the way: the teller is told it was charged).
- `CART_ITEMS`: the cart's items, read on every counter page.

Columns and tables come from the models (core.sql), statuses are the models' constants
(core.sql.literal). All are prepared (core.sql.execute).
"""

from core.sql import column, columns, literal, next_id, table, whole_rows_digest
from notifications.models import Notification
from points.models import Account, Entry
from store.models import Item, Redemption, StockMovement, Zone
from villagers.models import Card

A, I, R = Account, Item, Redemption  # noqa: E741

_ACTIVE_CARD = f"""EXISTS (SELECT 1 FROM {table(Card)} c
    WHERE c.{column(Card, "household")} = a.{column(A, "household")}
      AND c.{column(Card, "status")} = {literal(Card.Status.ACTIVE)})"""  # noqa: S608

LOCK_ACCOUNT = f"""
    SELECT {columns(A, "a")}, {_ACTIVE_CARD}
    FROM {table(A)} a WHERE a.{column(A, "household")} = %(household)s
    FOR NO KEY UPDATE OF a
"""  # noqa: S608 (built from the models)

REDEMPTION_ITEMS = f"""
    SELECT (SELECT r.{column(Redemption, "id")} FROM {table(Redemption)} r
            WHERE r.{column(Redemption, "idempotency_key")} = %(key)s),
           {next_id(Redemption)}, {next_id(Entry)}, {next_id(StockMovement)}, i.*
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
        SELECT {columns(I, "it")} FROM {table(I)} it
        WHERE it.{column(I, "village")} = %(village)s AND it.{column(I, "id")} = ANY(%(items)s)
        ORDER BY it.{column(I, "id")} FOR NO KEY UPDATE
    ) i ON true
"""  # noqa: S608 (built from the models)

SHELVES_STATE = f"""
    SELECT concat_ws(':',
               {whole_rows_digest(I, f"t.{column(I, 'village')} = %(village)s")},
               {whole_rows_digest(Zone, f"t.{column(Zone, 'village')} = %(village)s")}),
           (SELECT a.{column(A, "balance")} FROM {table(A)} a
            WHERE a.{column(A, "household")} = %(household)s),
           (SELECT c.{column(Card, "number")} FROM {table(Card)} c
            WHERE c.{column(Card, "household")} = %(household)s
              AND c.{column(Card, "status")} = {literal(Card.Status.ACTIVE)} LIMIT 1),
           (SELECT count(*) FROM {table(Notification)} n
            WHERE n.{column(Notification, "household")} = %(household)s
              AND n.{column(Notification, "read_at")} IS NULL),
           (SELECT a.{column(A, "held")} FROM {table(A)} a
            WHERE a.{column(A, "household")} = %(household)s),
           r.{column(R, "id")}, r.{column(R, "created_at")}, r.{column(R, "idempotency_key")}
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
        SELECT rd.{column(R, "id")}, rd.{column(R, "created_at")},
               rd.{column(R, "idempotency_key")}
        FROM {table(R)} rd
        WHERE rd.{column(R, "village")} = %(village)s
          AND rd.{column(R, "household")} = %(household)s
          AND rd.{column(R, "created_by")} = %(teller)s
          AND rd.{column(R, "created_at")} >= %(since)s
          AND rd.{column(R, "voided_at")} IS NULL
        ORDER BY rd.{column(R, "created_at")} DESC, rd.{column(R, "id")} DESC LIMIT 1
    ) r ON true
"""  # noqa: S608 (built from the models)

CART_ITEMS = f"""
    SELECT {columns(I, "i")} FROM {table(I)} i
    WHERE i.{column(I, "village")} = %(village)s AND i.{column(I, "id")} = ANY(%(items)s)
    ORDER BY i.{column(I, "id")}
"""  # noqa: S608 (built from the models)
