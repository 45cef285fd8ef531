"""Who may reach which URL: the table of tests/security/test_permission_matrix.py.

Every URL pattern of the project needs a row here; the matrix test fails naming any pattern
that has none. A row says how to build the URL's kwargs from the cast (tests/security/
conftest.py: every object belongs to household A of village X) and the expected answer per
role, for GET and, for views that change state, for POST (empty body, CSRF not enforced).

Expected answers are written as twelve tokens, one per role, in this order:

    anon  villager_a  villager_b  manager_x  supervisor_x  manager_y  county  county_x
    township  township_x  township_z  secretary_x

`county` is the county admin before choosing a village, `county_x` after choosing village X.
`township` is the officer of X's and Y's township before choosing, `township_x` after
choosing X; `township_z` is the officer of another township, looking into its village Z
(X's objects are not theirs); `secretary_x` is X's party secretary (组长).
Tokens: a status code (200, 400, 401, 403, 404, 405), or a redirect: L = to a login page (the
card login for pages villagers may open, tests/villagers/test_front_door.py),
P = to the county admin's village picker, A = to the admin's login page, R = anywhere else.

`action=True` marks a POST-only view that changes state (GET must be 405 for whoever may
use it); views with `post` but not `action` are form pages (GET shows the form). Both kinds
must refuse a POST without a CSRF token (tests/security/test_csrf_methods.py).

Every row with `post` also says what a successful POST `writes` (tests/security/bodies.py):
ledger ENTRIES, stock MOVEMENTS, DONATIONS, PROPOSALS, stock CORRECTIONS (asked, waiting for
a second person), or NOTHING, and gives a `body` the view accepts,
sent by `by` (default: the first role whose `post` answer is 200 or R). A row that writes
something is fired five times at once with one key and must have one effect; every other
row's body is sent once and must write none of them (tests/security/test_once_only.py).

Admin URLs are covered by one rule per registered model (ADMIN_MODELS below): which roles
hold view/add/change/delete there and which roles' scoped querysets contain the object.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils import timezone

from core.months import previous_month
from tests.security import bodies as b
from tests.security.bodies import (
    CORRECTIONS,
    DONATIONS,
    ENTRIES,
    HOLDS,
    MOVEMENTS,
    NOTHING,
    PROPOSALS,
    BodyFactory,
    Writes,
)
from tests.security.conftest import ROLES

Kwargs = Callable[[object], dict]


def expect(tokens: str) -> dict[str, str]:
    values = tokens.split()
    assert len(values) == len(ROLES), tokens
    return dict(zip(ROLES, values, strict=True))


@dataclass(frozen=True)
class Row:
    get: str
    post: str | None = None
    kwargs: Kwargs = field(default=lambda cast: {})
    data: Callable[[object], dict] = field(default=lambda cast: {})
    action: bool = False
    query: str = ""
    writes: Writes | None = None  # required with `post`
    body: BodyFactory | None = None  # required when it writes something
    by: str = ""


def pk(attribute: str) -> Kwargs:
    return lambda cast: {"pk": getattr(cast, attribute).pk}


def household_pk(cast):
    return {"household_pk": cast.household_a.pk}


def last_month(cast):
    first = timezone.localdate().replace(day=1) - timezone.timedelta(days=1)
    return {"year": first.year, "month": first.month}


def this_year(cast):
    return {"year": timezone.localdate().year}


def thanks_token(cast):
    from reports.transparency import thanks_token as make_token

    return {"token": make_token(cast.donation)}


def month_before_last(cast):
    first = previous_month(previous_month(timezone.localdate()))
    return {"year": first.year, "month": first.month}


def published_notice(cast):
    month = cast.published_notice.month
    return {"code": cast.village_x.code, "year": month.year, "month": month.month}


def village_code(cast):
    return {"code": cast.village_x.code}


def this_month(cast):
    today = timezone.localdate()
    return {"year": today.year, "month": today.month}


# Common shapes.                anon vA  vB  mX  sX  mY  cty ctyX twp twpX twpZ secX
STAFF_LIST = "L 403 403 200 200 200 P 200 403 403 403 403"  # any staff role, own village
# The village's dashboard and reports: its staff, its party secretary, and whoever oversees it
# once they chose it (township Z's officer reads their own village Z).
READER_LIST = "L 403 403 200 200 200 P 200 P 200 200 200"
STAFF_OBJECT = "L 403 403 200 200 404 P 200 403 403 403 403"  # ... an object of village X
MANAGER_PAGE = "L 403 403 200 403 200 403 403 403 403 403 403"  # the manager's pages
MANAGER_OBJECT = "L 403 403 200 403 404 403 403 403 403 403 403"  # ... on an object of village X
VILLAGER_PAGE = "L 200 200 403 403 403 403 403 403 403 403 403"
VILLAGE_PAGE = "L 200 200 200 200 200 P 200 P 200 200 200"  # anyone belonging to the village
PROPOSER_PAGE = (
    "L 403 403 200 200 200 403 403 403 403 403 403"  # manager or supervisor, not the county
)
WISH_POSTER = "L 200 200 200 200 200 403 403 403 403 403 403"  # a villager, or proposer staff
SUPERVISOR_PAGE = "L 403 403 403 200 403 403 403 403 403 403 403"
ALL_405 = "405 405 405 405 405 405 405 405 405 405 405 405"
API_ONLY = " ".join(["401"] * 12)  # the API answers a token only (tests/reports/test_api.py)

URLS: dict[str, Row] = {
    # --- sign-in and the start page -------------------------------------------------------
    # The front door: the signed-out see the card login, everyone else goes to their start.
    "home": Row(get="200 R R R R R R R R R R R"),
    "manifest": Row(get="200 200 200 200 200 200 200 200 200 200 200 200"),
    # The icon for screens that name none: a redirect to the static icon, for anyone.
    "favicon": Row(get="R R R R R R R R R R R R"),
    # The load balancer's liveness probe: anyone, no session or database needed.
    "healthz": Row(get="200 200 200 200 200 200 200 200 200 200 200 200"),
    # Large type is a display preference kept in a cookie: anyone may switch it.
    "large_type": Row(get=ALL_405, post="R R R R R R R R R R R R", action=True, writes=NOTHING),
    "login": Row(
        get="200 R R R R R R R R R R R",
        post="200 R R R R R R R R R R R",
        writes=NOTHING,
        body=b.staff_login,
    ),
    "card_login": Row(
        get="200 200 200 200 200 200 200 200 200 200 200 200",
        post="200 " * 11 + "200",
        writes=NOTHING,
        body=b.card_login,
    ),
    # Villagers sign out to the front door (`/`), staff to their login page.
    "logout": Row(
        get=ALL_405, post="L R R L L L L L L L L L", action=True, writes=NOTHING, by="manager_x"
    ),
    # Django's view: a GET only redirects back, only a POST sets the language cookie.
    "set_language": Row(
        get="R R R R R R R R R R R R",
        post="R R R R R R R R R R R R",
        writes=NOTHING,
        body=b.fields(language="en"),
    ),
    # --- registry (villagers) -------------------------------------------------------------
    "villagers:me": Row(get=VILLAGER_PAGE),
    "villagers:pin_change": Row(
        get=VILLAGER_PAGE, post=VILLAGER_PAGE, writes=NOTHING, body=b.pin_change
    ),
    # Township Z's officer cannot choose village X: not one of theirs.
    "villagers:village_pick": Row(
        get="L 403 403 403 403 403 200 200 200 200 200 403",
        post="L 403 403 403 403 403 R R R R 404 403",
        data=lambda cast: {"village": cast.village_x.pk},
        writes=NOTHING,
    ),
    # The registry's addresses of the household list and page lead to reports' (balances).
    "villagers:household_list": Row(get="L 403 403 R R R P R 403 403 403 403"),
    "villagers:household_create": Row(
        get=MANAGER_PAGE, post=MANAGER_PAGE, writes=NOTHING, body=b.household_new
    ),
    "villagers:household_detail": Row(
        get="L 403 403 R R 404 P R 403 403 403 403", kwargs=pk("household_a")
    ),
    "villagers:household_edit": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("household_a"),
        writes=NOTHING,
        body=b.household_edit,
    ),
    "villagers:member_create": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("household_a"),
        writes=NOTHING,
        body=b.member_new,
    ),
    "villagers:member_edit": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("member_a"),
        writes=NOTHING,
        body=b.member,
    ),
    "villagers:member_leave": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("member_a"),
        writes=NOTHING,
        body=b.member_leave,
    ),
    # Without a one-time key (or with nobody to bring back) the manager is sent to the hub.
    "villagers:member_return": Row(
        get=ALL_405,
        post="L 403 403 R 403 404 403 403 403 403 403 403",
        kwargs=pk("member_a"),
        action=True,
        writes=NOTHING,
        body=b.member_return,
    ),
    "villagers:member_view_id": Row(
        get=ALL_405, post=MANAGER_OBJECT, kwargs=pk("member_a"), action=True, writes=NOTHING
    ),
    "villagers:member_pin": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("member_a"),
        writes=NOTHING,
        body=b.member_pin,
    ),
    # Without a one-time key (or with no PIN to revoke) the manager is sent back to the hub.
    "villagers:member_pin_revoke": Row(
        get=ALL_405,
        post="L 403 403 R 403 404 403 403 403 403 403 403",
        kwargs=pk("member_a"),
        action=True,
        writes=NOTHING,
        body=b.member_pin_revoke,
    ),
    "villagers:inspection_create": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("household_a"),
        writes=NOTHING,
        body=b.inspection,
    ),
    "villagers:participation_create": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("household_a"),
        writes=NOTHING,
        body=b.keyed(date="2024-05-02", activity="义务植树"),
    ),
    "villagers:card_replace": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("household_a"),
        writes=NOTHING,
        body=b.card_replace,
    ),
    "villagers:card_recall": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("household_a"),
        writes=NOTHING,
        body=b.keyed(reason="moved away"),
    ),
    "villagers:pin_reset": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("household_a"),
        writes=NOTHING,
        body=b.keyed(pin="8264", pin_again="8264"),
    ),
    "villagers:card_print": Row(get=STAFF_OBJECT, kwargs=pk("card_a")),
    "villagers:roster_upload": Row(
        get=MANAGER_PAGE, post=MANAGER_PAGE, writes=NOTHING, body=b.roster_upload
    ),
    # Nothing uploaded yet: the preview sends the manager back to the upload page.
    "villagers:roster_preview": Row(get="L 403 403 R 403 R 403 403 403 403 403 403"),
    "villagers:roster_confirm": Row(
        get=ALL_405,
        post="L 403 403 R 403 R 403 403 403 403 403 403",
        action=True,
        writes=NOTHING,
        body=b.roster_confirm,
    ),
    "villagers:roster_cancel": Row(
        get=ALL_405, post="L 403 403 R 403 R 403 403 403 403 403 403", action=True, writes=NOTHING
    ),
    "villagers:roster_template": Row(get=MANAGER_PAGE),
    "villagers:card_sheet_choose": Row(get=STAFF_LIST),
    # With no cards chosen the sheet sends staff back to the choosing page.
    "villagers:card_sheet": Row(get="L 403 403 R R R P R 403 403 403 403"),
    "villagers:card_sheet_printed": Row(
        get=ALL_405,
        post="L 403 403 R 403 R 403 403 403 403 403 403",
        action=True,
        writes=NOTHING,
        body=b.card_sheet_printed,
    ),
    # --- points -----------------------------------------------------------------------------
    "points:card_issue": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("household_a"),
        writes=ENTRIES,
        body=b.card_issue,
    ),
    "points:me": Row(get=VILLAGER_PAGE),
    "points:household_ledger": Row(get=STAFF_OBJECT, kwargs=pk("household_a")),
    "points:entry_reverse": Row(
        get="L 403 403 403 405 403 403 403 403 403 403 403",
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        kwargs=pk("entry"),
        action=True,
        writes=ENTRIES,
        body=b.keyed(reason="wrong household"),
    ),
    # --- the yearly settlement: a plan is drawn up and approved; lapses come later (the task) --
    "points:settlement": Row(get=STAFF_LIST),
    "points:settlement_draft": Row(
        get=ALL_405,
        post="L 403 403 R 403 R 403 403 403 403 403 403",
        action=True,
        writes=NOTHING,
        body=b.settlement_draft,
    ),
    "points:settlement_approve": Row(
        get=ALL_405,
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        action=True,
        writes=NOTHING,
        body=b.settlement_approve,
    ),
    "points:rule_list": Row(get=STAFF_LIST),
    "points:rule_add": Row(get=MANAGER_PAGE, post=MANAGER_PAGE, writes=NOTHING, body=b.rule_new),
    "points:rule_edit": Row(
        get=MANAGER_OBJECT, post=MANAGER_OBJECT, kwargs=pk("rule"), writes=NOTHING, body=b.rule_edit
    ),
    "points:proposal_new": Row(
        get=PROPOSER_PAGE, post=PROPOSER_PAGE, writes=PROPOSALS, body=b.proposal
    ),
    "points:proposals_mine": Row(get=PROPOSER_PAGE),
    "points:proposal_detail": Row(get=STAFF_OBJECT, kwargs=pk("proposal")),
    "points:proposal_photo": Row(get=STAFF_OBJECT, kwargs=pk("proposal")),
    # The supervisor decides a proposal or a batch from its own page, as in the queue.
    "points:proposal_decide": Row(
        get="L 403 403 403 405 403 403 403 403 403 403 403",
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        kwargs=pk("pending"),
        action=True,
        writes=ENTRIES,
        body=b.approve_here,
    ),
    "points:activity_new": Row(
        get=PROPOSER_PAGE, post=PROPOSER_PAGE, writes=PROPOSALS, body=b.activity
    ),
    "points:batch_detail": Row(get=STAFF_OBJECT, kwargs=pk("batch")),
    "points:batch_decide": Row(
        get="L 403 403 403 405 403 403 403 403 403 403 403",
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        kwargs=pk("batch"),
        action=True,
        writes=ENTRIES,
        body=b.approve_here,
    ),
    # Check-in by QR code: the manager opens, shows and closes; a villager scans and checks in.
    "points:activity_list": Row(get=STAFF_LIST),
    "points:activity_open": Row(
        get=MANAGER_PAGE, post=MANAGER_PAGE, writes=NOTHING, body=b.activity_open
    ),
    "points:activity_detail": Row(get=STAFF_OBJECT, kwargs=pk("activity")),
    "points:activity_qr": Row(get=MANAGER_OBJECT, kwargs=pk("activity")),
    "points:activity_close": Row(
        get="L 403 403 405 403 405 403 403 403 403 403 403",
        post="L 403 403 R 403 404 403 403 403 403 403 403",
        kwargs=pk("activity"),
        action=True,
        writes=PROPOSALS,
        body=b.activity_close,
    ),
    "points:checkin_scan": Row(get=VILLAGER_PAGE),
    "points:checkin_photo": Row(get=STAFF_OBJECT, kwargs=pk("checkin")),
    "points:checkin": Row(
        get=VILLAGER_PAGE,
        post=VILLAGER_PAGE,
        kwargs=pk("activity"),
        writes=NOTHING,
        body=b.checkin,
    ),
    # The monthly hygiene round: the manager's sheet (a group's, or the whole village's).
    "points:round_list": Row(get=STAFF_LIST),
    "points:round_new": Row(
        get=MANAGER_PAGE, post=MANAGER_PAGE, writes=PROPOSALS, body=b.hygiene_round(group=False)
    ),
    "points:round_new_group": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("group_x"),
        writes=PROPOSALS,
        body=b.hygiene_round(group=True),
    ),
    "points:round_detail": Row(get=STAFF_OBJECT, kwargs=pk("inspection_round")),
    # The paper ledger's balances (结转积分): the manager's import, as the roster's.
    "points:carry_over_upload": Row(
        get=MANAGER_PAGE, post=MANAGER_PAGE, writes=NOTHING, body=b.carry_over_upload
    ),
    # Nothing uploaded yet: the preview sends the manager back to the upload page.
    "points:carry_over_preview": Row(get="L 403 403 R 403 R 403 403 403 403 403 403"),
    "points:carry_over_confirm": Row(
        get=ALL_405,
        post="L 403 403 R 403 R 403 403 403 403 403 403",
        action=True,
        writes=PROPOSALS,
        body=b.carry_over_confirm,
    ),
    "points:carry_over_cancel": Row(
        get=ALL_405, post="L 403 403 R 403 R 403 403 403 403 403 403", action=True, writes=NOTHING
    ),
    "points:carry_over_template": Row(get=MANAGER_PAGE),
    "points:approval_queue": Row(get=SUPERVISOR_PAGE),
    "points:approval_decide": Row(
        get="L 403 403 403 405 403 403 403 403 403 403 403",
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        action=True,
        writes=ENTRIES,
        body=b.approve_batch,
    ),
    "points:declaration_list": Row(get=STAFF_LIST),
    "points:declaration_new": Row(
        get=VILLAGER_PAGE, post=VILLAGER_PAGE, writes=NOTHING, body=b.declaration
    ),
    "points:declaration_review": Row(get=STAFF_OBJECT, kwargs=pk("declaration")),
    "points:declaration_accept": Row(
        get="L 403 403 405 405 405 403 403 403 403 403 403",
        post="L 403 403 400 400 404 403 403 403 403 403 403",
        kwargs=pk("declaration"),
        action=True,
        writes=PROPOSALS,
        body=b.declaration_accept,
        by="manager_x",
    ),
    "points:declaration_decline": Row(
        get="L 403 403 405 405 405 403 403 403 403 403 403",
        post="L 403 403 400 400 404 403 403 403 403 403 403",
        kwargs=pk("declaration"),
        action=True,
        writes=NOTHING,
        body=b.fields(reason="not enough detail"),
        by="manager_x",
    ),
    # The photo answers 403 (not a login redirect) to the anonymous: it is not a page.
    "points:declaration_photo": Row(
        get="403 200 404 200 200 404 P 200 403 403 403 403", kwargs=pk("declaration")
    ),
    # Publicity period: anyone of the village may object; only the supervisor settles.
    "points:publicity": Row(get=STAFF_LIST),
    "points:objection_new": Row(
        get="L 200 200 200 200 404 403 403 403 403 403 403",
        post="L 200 200 200 200 404 403 403 403 403 403 403",
        kwargs=pk("in_publicity"),
        writes=NOTHING,
        body=b.fields(reason="not seen by anyone"),
    ),
    "points:objection_resolve": Row(
        get="L 403 403 403 405 403 403 403 403 403 403 403",
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        kwargs=pk("objection"),
        action=True,
        writes=ENTRIES,
        body=b.dismiss_when_due,
    ),
    "points:held_credit": Row(
        get="L 403 403 403 405 403 403 403 403 403 403 403",
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        kwargs=pk("in_publicity"),
        action=True,
        writes=ENTRIES,
        body=b.held_credit,
    ),
    "points:held_cancel": Row(
        get="L 403 403 403 405 403 403 403 403 403 403 403",
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        kwargs=pk("in_publicity"),
        action=True,
        writes=NOTHING,
        body=b.held_cancel,
    ),
    # --- store ------------------------------------------------------------------------------
    "store:catalogue": Row(get=VILLAGE_PAGE),
    "store:my_redemptions": Row(get=VILLAGER_PAGE),
    "store:counter": Row(get=MANAGER_PAGE),
    "store:counter_household": Row(get=MANAGER_OBJECT, kwargs=household_pk),
    "store:counter_cart": Row(
        get=ALL_405,
        post="L 403 403 R 403 404 403 403 403 403 403 403",
        kwargs=household_pk,
        action=True,
        writes=NOTHING,
        body=b.counter_cart,
    ),
    "store:counter_confirm": Row(
        get=ALL_405,
        post="L 403 403 R 403 404 403 403 403 403 403 403",
        kwargs=household_pk,
        action=True,
        writes=ENTRIES | MOVEMENTS,
        body=b.counter_confirm,
    ),
    # Reservations: the household's own act from its phone; the hand-over is the manager's.
    "store:reserve": Row(get=VILLAGER_PAGE, post=VILLAGER_PAGE, writes=HOLDS, body=b.reserve),
    "store:my_reservations": Row(get=VILLAGER_PAGE),
    "store:pick_list": Row(get=STAFF_LIST),
    "store:reservation_cancel": Row(
        get=ALL_405,
        post="L R 404 R 403 404 403 403 403 403 403 403",
        kwargs=pk("reservation"),
        action=True,
        writes=HOLDS,
        body=b.reservation_cancel,
    ),
    "store:reservation_hand_over": Row(
        get=ALL_405,
        post="L 403 403 R 403 404 403 403 403 403 403 403",
        kwargs=lambda cast: {"household_pk": cast.household_a.pk, "pk": cast.reservation.pk},
        action=True,
        writes=ENTRIES | MOVEMENTS | HOLDS,
        body=b.reservation_hand_over,
    ),
    "store:redemption_list": Row(get=STAFF_LIST),
    "store:receipt": Row(
        get="L 200 404 200 200 404 P 200 403 403 403 403", kwargs=pk("redemption")
    ),
    "store:receipt_of_entry": Row(
        get="L R 404 R R 404 P R 403 403 403 403",
        kwargs=lambda cast: {"entry_pk": cast.redemption.entry_id},
    ),
    "store:redemption_void": Row(
        get=ALL_405,
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        kwargs=pk("redemption"),
        action=True,
        writes=ENTRIES | MOVEMENTS,
        body=b.keyed(reason="wrong household"),
    ),
    "store:redemption_void_ask": Row(
        get=ALL_405,
        post="L 403 403 R 403 404 403 403 403 403 403 403",
        kwargs=pk("redemption"),
        action=True,
        writes=NOTHING,
        body=b.fields(reason="wrong household"),
    ),
    "store:stock_list": Row(get=STAFF_LIST),
    "store:zones_setup": Row(
        get=ALL_405, post="L 403 403 R 403 R 403 403 403 403 403 403", action=True, writes=NOTHING
    ),
    "store:stock_in": Row(get=MANAGER_PAGE, post=MANAGER_PAGE, writes=MOVEMENTS, body=b.stock_in),
    "store:item_create": Row(get=MANAGER_PAGE, post=MANAGER_PAGE, writes=NOTHING, body=b.item),
    "store:item_detail": Row(get=STAFF_OBJECT, kwargs=pk("item")),
    "store:item_edit": Row(
        get=MANAGER_OBJECT, post=MANAGER_OBJECT, kwargs=pk("item"), writes=NOTHING, body=b.item_edit
    ),
    # Counts and write-offs wait for a second person; only confirming moves the stock.
    "store:item_stock_take": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("item"),
        writes=CORRECTIONS,
        body=b.stock_take,
    ),
    "store:item_write_off": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("item"),
        writes=CORRECTIONS,
        body=b.write_off,
    ),
    "store:stock_take_sheet": Row(
        get=MANAGER_PAGE, post=MANAGER_PAGE, writes=CORRECTIONS, body=b.stock_take_sheet
    ),
    "store:corrections": Row(get=STAFF_LIST),
    "store:corrections_decide": Row(
        get=ALL_405,
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        action=True,
        writes=MOVEMENTS,
        body=b.corrections_confirm,
    ),
    "store:donation_list": Row(get=STAFF_LIST),
    "store:donation_create": Row(
        get=MANAGER_PAGE, post=MANAGER_PAGE, writes=DONATIONS | MOVEMENTS, body=b.donation_of_goods
    ),
    "reports:donation_correct": Row(
        get=MANAGER_OBJECT,
        post=MANAGER_OBJECT,
        kwargs=pk("donation"),
        writes=NOTHING,
        body=b.donation_correct,
    ),
    "store:summary_day": Row(get=STAFF_LIST),
    "store:summary_month": Row(get=STAFF_LIST),
    # --- wish wall --------------------------------------------------------------------------
    "wishwall:wall": Row(get=VILLAGE_PAGE),
    "wishwall:echo": Row(get=VILLAGE_PAGE),
    "wishwall:display": Row(get=VILLAGE_PAGE),
    # --- notifications: the household's messages (the bell) and the delivery log ---------------
    "notifications:mine": Row(get=VILLAGER_PAGE),
    "notifications:read": Row(
        get=ALL_405, post="L R R 403 403 403 403 403 403 403 403 403", action=True, writes=NOTHING
    ),
    "notifications:sms_choice": Row(
        get=ALL_405,
        post="L R R 403 403 403 403 403 403 403 403 403",
        action=True,
        writes=NOTHING,
        body=b.fields(receive="0"),
    ),
    "notifications:log": Row(get=STAFF_LIST),
    "notifications:staff_alerts_read": Row(
        get=ALL_405, post="L 403 403 R R R 403 403 403 403 403 403", action=True, writes=NOTHING
    ),
    # --- announcements: the manager posts, the village reads, staff withdraw ------------------
    "notifications:announcements": Row(get=VILLAGE_PAGE),
    "notifications:announcement_new": Row(
        get=MANAGER_PAGE, post=MANAGER_PAGE, writes=NOTHING, body=b.keyed(text="周一商店晚开门")
    ),
    "notifications:announcement_withdraw": Row(
        get=ALL_405,
        post="L 403 403 R R 404 403 403 403 403 403 403",
        kwargs=pk("announcement"),
        action=True,
        writes=NOTHING,
    ),
    "notifications:announcement_photo": Row(
        get="L 200 200 200 200 404 P 200 P 200 404 200", kwargs=pk("announcement")
    ),
    "notifications:announcement_audio": Row(
        get="L 200 200 200 200 404 P 200 P 200 404 200", kwargs=pk("announcement")
    ),
    "wishwall:mine": Row(get=VILLAGER_PAGE),
    # A villager posts for their household, the manager or supervisor on a household's behalf.
    "wishwall:new": Row(
        get=WISH_POSTER,
        post=WISH_POSTER,
        writes=NOTHING,
        body=b.wish_new,
    ),
    "wishwall:queue": Row(get=STAFF_LIST),
    # Household A's wish awaits moderation: villager B cannot see it yet.
    "wishwall:detail": Row(get="L 200 404 200 200 404 P 200 P 404 404 404", kwargs=pk("wish")),
    "wishwall:photo": Row(get="L 200 404 200 200 404 P 200 P 404 404 404", kwargs=pk("wish")),
    # A fulfilled wish is on the echo wall: the whole village may see its photo.
    "wishwall:fulfilment_photo": Row(
        get="L 200 200 200 200 404 P 200 P 200 404 200", kwargs=pk("wish_fulfilled")
    ),
    "wishwall:approve": Row(
        get="L 403 403 405 405 405 403 403 403 403 403 403",
        post="L 403 403 R R 404 403 403 403 403 403 403",
        kwargs=pk("wish"),
        action=True,
        writes=NOTHING,
    ),
    "wishwall:edit": Row(
        get="L 403 403 200 200 404 403 403 403 403 403 403",
        post="L 403 403 200 200 404 403 403 403 403 403 403",
        kwargs=pk("wish"),
        writes=NOTHING,
        body=b.wish_edit,
    ),
    # The household changes its own wish until staff have checked it, and may withdraw it.
    "wishwall:revise": Row(
        get="L 200 404 403 403 403 403 403 403 403 403 403",
        post="L 200 404 403 403 403 403 403 403 403 403 403",
        kwargs=pk("wish"),
        writes=NOTHING,
        body=b.wish_revise,
    ),
    "wishwall:withdraw": Row(
        get="L 405 405 403 403 403 403 403 403 403 403 403",
        post="L R 404 403 403 403 403 403 403 403 403 403",
        kwargs=pk("wish"),
        action=True,
        writes=NOTHING,
    ),
    "wishwall:decline": Row(
        get="L 403 403 200 200 404 403 403 403 403 403 403",
        post="L 403 403 200 200 404 403 403 403 403 403 403",
        kwargs=pk("wish"),
        writes=NOTHING,
        body=b.fields(reason="not something the village can help with"),
    ),
    "wishwall:match": Row(
        get=SUPERVISOR_PAGE,
        post=SUPERVISOR_PAGE,
        kwargs=pk("wish"),
        writes=NOTHING,
        body=b.wish_match,
    ),
    "wishwall:fulfil": Row(
        get=SUPERVISOR_PAGE,
        post=SUPERVISOR_PAGE,
        kwargs=pk("wish"),
        writes=NOTHING,
        body=b.wish_fulfil,
    ),
    # --- pages combining apps (reports) ---------------------------------------------------------
    # The running month's notice is the village's; an ended month not yet published is a
    # draft for its staff (villagers are refused); a published one is public (below).
    "reports:notice": Row(get=VILLAGE_PAGE),
    "reports:notice_month": Row(get=READER_LIST, kwargs=month_before_last),
    "reports:notice_xlsx": Row(get=VILLAGE_PAGE, kwargs=this_month),
    "reports:household_list": Row(get=STAFF_LIST),
    "reports:household": Row(get=STAFF_OBJECT, kwargs=pk("household_a")),
    "reports:notice_public": Row(
        get="200 200 200 200 200 200 200 200 200 200 200 200", kwargs=published_notice
    ),
    # Only the village's supervisor publishes (the cast published last month already: a
    # second time is refused with a message, like a POST without its key).
    "reports:notice_publish": Row(
        get=ALL_405,
        post="L 403 403 403 R 403 403 403 403 403 403 403",
        kwargs=last_month,
        action=True,
        writes=NOTHING,
        body=b.notice_publish,
    ),
    # The party secretary (组长) countersigns last month's published notice once (a POST
    # without its one-time key is sent back to the notice with a message).
    "reports:notice_countersign": Row(
        get=ALL_405,
        post="L 403 403 403 403 403 403 403 403 403 403 R",
        kwargs=last_month,
        action=True,
        writes=NOTHING,
        body=b.keyed(),
    ),
    "reports:dashboard": Row(get=READER_LIST),
    "reports:visit_list": Row(get=READER_LIST),
    "reports:month_report_current": Row(get=READER_LIST),
    "reports:month_report": Row(get=READER_LIST, kwargs=this_month),
    "reports:month_report_xlsx": Row(get=READER_LIST, kwargs=this_month),
    "reports:year_report": Row(get=READER_LIST, kwargs=this_year),
    "reports:year_report_xlsx": Row(
        get=ALL_405,
        post="L 403 403 R R R P R P R R R",
        kwargs=this_year,
        action=True,
        writes=NOTHING,
    ),
    # The county overview needs no chosen village: the county admin's over the county, the
    # township officer's over the township (the same page), and the .xlsx of each.
    "reports:county_overview": Row(get="L 403 403 403 403 403 200 200 200 200 200 403"),
    "reports:county_export": Row(
        get=ALL_405, post="L 403 403 403 403 403 R R R R R 403", action=True, writes=NOTHING
    ),
    # The queue of items no one of a village may decide, and its one write: the county
    # admin's and the township officer's (township Z's finds X's item not theirs: sent back
    # with a message, nothing written, tests/reports/test_township.py).
    "reports:county_queue": Row(get="L 403 403 403 403 403 200 200 200 200 200 403"),
    "reports:county_queue_decide": Row(
        get=ALL_405,
        post="L 403 403 403 403 403 R R R R R 403",
        action=True,
        writes=ENTRIES,
        body=lambda cast, client: {
            "referral": cast.referral.pk,
            "decision": "approve",
            "idempotency_key": b.form_key(),
        },
        by="county_x",
    ),
    "reports:village_referrals": Row(get=STAFF_LIST),
    # An export is seen and downloaded by the person who asked for it (manager X) only.
    "reports:export_status": Row(
        get="L 404 404 200 404 404 404 404 404 404 404 404", kwargs=pk("export_job")
    ),
    "reports:export_download": Row(
        get="L 404 404 200 404 404 404 404 404 404 404 404", kwargs=pk("export_job")
    ),
    "reports:board": Row(get=VILLAGE_PAGE),
    "reports:board_month": Row(get=VILLAGE_PAGE, kwargs=last_month),
    "reports:board_display": Row(get=VILLAGE_PAGE, kwargs=last_month),
    "reports:cover": Row(get=READER_LIST),
    "reports:donations_traced": Row(get=READER_LIST),
    # The donor's thank-you page is shared by link: no sign-in, nothing personal on it.
    "reports:donation_thanks": Row(
        get="200 200 200 200 200 200 200 200 200 200 200 200", kwargs=thanks_token
    ),
    # Only the village's manager replaces a donor's thanks link (one that went astray).
    "reports:donation_thanks_revoke": Row(
        get=ALL_405,
        post="L 403 403 R 403 404 403 403 403 403 403 403",
        kwargs=pk("donation"),
        action=True,
        writes=NOTHING,
        body=b.keyed(),
    ),
    # Village staff read their village's log; those who oversee villages need none chosen.
    "reports:audit": Row(get="L 403 403 200 200 200 200 200 200 200 200 403"),
    # --- the read-only API (reports/api.py): a bearer token, never a session -----------------
    # The schema is public (no data in it); every operation refuses a session (401).
    "api:openapi-json": Row(get=" ".join(["200"] * 12)),
    # ninja's root only tells it where the API is mounted: not found for everyone.
    "api:api-root": Row(get=" ".join(["404"] * 12)),
    "api:overview": Row(get=API_ONLY),
    "api:households": Row(get=API_ONLY, kwargs=village_code),
    "api:ledger": Row(get=API_ONLY, kwargs=village_code),
    "api:stock": Row(get=API_ONLY, kwargs=village_code),
    "api:donations": Row(get=API_ONLY, kwargs=village_code),
    "api:notices": Row(get=API_ONLY, kwargs=village_code),
    # --- the admin's own pages (the per-model pages follow the rule below) ----------------------
    "admin:index": Row(get="A A A 200 200 200 200 200 200 200 200 200"),
    "admin:login": Row(get="200 200 200 R R R R R R R R R"),
    # The admin logout is POST-only; it ends on LOGOUT_REDIRECT_URL, our login page.
    "admin:logout": Row(
        get="R R R 405 405 405 405 405 405 405 405 405",
        post="R R R L L L L L L L L L",
        writes=NOTHING,
        by="manager_x",
    ),
    "admin:password_change": Row(
        get="A A A 200 200 200 200 200 200 200 200 200",
        post="A A A 200 200 200 200 200 200 200 200 200",
        writes=NOTHING,
        body=b.password_change,
    ),
    "admin:password_change_done": Row(get="A A A 200 200 200 200 200 200 200 200 200"),
    "admin:jsi18n": Row(get="A A A 200 200 200 200 200 200 200 200 200"),
    # Without its query parameters the autocomplete endpoint refuses everyone.
    "admin:autocomplete": Row(get="A A A 403 403 403 403 403 403 403 403 403"),
    # No model has a public page, so "view on site" finds nothing.
    "admin:view_on_site": Row(
        get="A A A 404 404 404 404 404 404 404 404 404",
        kwargs=lambda cast: {
            "content_type_id": cast.household_ct.pk,
            "object_id": cast.household_a.pk,
        },
    ),
    "admin:app_list": Row(
        get="A A A 200 200 200 200 200 404 404 404 404",
        kwargs=lambda cast: {"app_label": "villagers"},
    ),
}

# Patterns without a name, by their full route.
UNNAMED: dict[str, tuple[Callable[[object], str], str]] = {
    # The admin's catch-all: unknown admin paths are 404 for staff, a login for others.
    "admin/(?P<url>.*)$": (
        lambda cast: "/admin/no-such-page/",
        "A A A 404 404 404 404 404 404 404 404 404",
    ),
}


@dataclass(frozen=True)
class AdminModel:
    """Roles (by name) holding each admin permission, and the object the matrix asks for."""

    obj: str
    view: str = "manager_x supervisor_x manager_y county county_x"
    add: str = ""
    change: str = ""
    delete: str = ""
    # Roles whose scoped admin queryset contains the object (others are told it is missing).
    sees: str = "manager_x supervisor_x county county_x secretary_x"


MANAGERS = "manager_x manager_y"
COUNTY = "county county_x"
ALL_STAFF = (
    "manager_x supervisor_x manager_y county county_x township township_x township_z secretary_x"
)
NOBODY = ""

ADMIN_MODELS: dict[str, AdminModel] = {
    # Registry: the county keeps villages and groups; households, members, inspections and
    # participations are written on the app's pages (their services' checks), shown here.
    "villagers.county": AdminModel(obj="village_x.township.county", view=NOBODY, sees=COUNTY),
    "villagers.township": AdminModel(obj="village_x.township", view=NOBODY, sees=COUNTY),
    "villagers.village": AdminModel(obj="village_x", add=COUNTY, change=COUNTY),
    "villagers.villagegroup": AdminModel(obj="group_x", add=COUNTY, change=COUNTY),
    "villagers.household": AdminModel(obj="household_a"),
    "villagers.member": AdminModel(obj="member_a"),
    "villagers.inspection": AdminModel(obj="inspection"),
    "villagers.participation": AdminModel(obj="participation"),
    "villagers.card": AdminModel(obj="card_a"),
    # Staff accounts: the county admin only (managers see nobody else's login).
    # A staff account (villager logins are the card's: view only, tests/villagers/
    # test_admin_scoping.py); every staff user's admin queryset holds their own account.
    "villagers.user": AdminModel(
        obj="users.secretary_x",
        view=COUNTY,
        add=COUNTY,
        change=COUNTY,
        sees=f"{COUNTY} secretary_x",
    ),
    # Django's groups and django-axes' records: nobody but a superuser.
    "auth.group": AdminModel(obj="role_group", view=NOBODY, sees=ALL_STAFF),
    "axes.accessattempt": AdminModel(obj="access_attempt", view=NOBODY, sees=ALL_STAFF),
    "axes.accesslog": AdminModel(obj="access_log", view=NOBODY, sees=ALL_STAFF),
    "axes.accessfailurelog": AdminModel(obj="access_failure", view=NOBODY, sees=ALL_STAFF),
    # Points: rules are the manager's; the ledger and workflow are read-only for everyone.
    "points.rule": AdminModel(obj="rule", add=MANAGERS, change=MANAGERS),
    "points.account": AdminModel(obj="household_a.account"),
    "points.entry": AdminModel(obj="entry"),
    "points.proposal": AdminModel(obj="proposal"),
    "points.batch": AdminModel(obj="batch"),
    "points.declaration": AdminModel(obj="declaration"),
    "points.objection": AdminModel(obj="objection"),
    # Store and wish wall: read-only.
    "store.donor": AdminModel(obj="wish_fulfilled.match.donor"),
    "store.zone": AdminModel(obj="item.zone"),
    "store.item": AdminModel(obj="item"),
    "store.stockmovement": AdminModel(obj="item.movements.first"),
    "store.donation": AdminModel(obj="donation"),
    "store.redemption": AdminModel(obj="redemption"),
    "wishwall.wish": AdminModel(obj="wish"),
    "wishwall.wishmatch": AdminModel(obj="wish_fulfilled.match"),
    "wishwall.wishfulfilment": AdminModel(obj="wish_fulfilled.fulfilment"),
}
