"""The read-only API for county systems (django-ninja): JSON, paginated, OpenAPI schema.

A token (reports.api_tokens, `Authorization: Bearer <key>`) stands for its county's admin or
its township's officer and reads the villages they oversee (villagers.oversight): the
overview's figures, and per village its households (ID numbers and phones masked, as on the
pages), balances, ledger, stock, donations and published notices. Each operation reads no
more than a page: where that page refuses the token's role, so does the operation (403; a
township's token reads no households, ledger or stock). Every call, refused ones included,
is written to the audit log; each token may make API_RATE_LIMIT calls (429 beyond). GET only.
"""

import datetime
import functools
import re
import urllib.parse
from decimal import Decimal
from typing import Annotated

from django.conf import settings
from django.db.models import F, Prefetch, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from ninja import Field, NinjaAPI, Query, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import PageNumberPagination, paginate
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle
from pydantic import BeforeValidator

from core.audit import audit_record, refusal_to_record
from core.db import BIGINT_MAX
from points.models import Entry
from points.views.ledger import household_ledger
from reports.api_tokens import (
    TOKEN_ROLES,
    api_token_for_key,
    api_token_revoked_for_key,
    token_oversight,
    token_role,
)
from reports.county import FIGURES_MAX_AGE, MONTH_PATTERN, MONTH_RULE, county_overview, month_parsed
from reports.households import household_list
from reports.models import ApiToken, PublishedNotice
from reports.notice import notice_public_path
from reports.selectors import Period, county_figures, county_total, county_villages
from reports.transparency import donations_traced_list
from reports.views import notice
from store.models import Donation, Item
from store.views.stock import stock_list
from villagers.masking import mask_id_number, mask_phone
from villagers.models import Household, Member, Village

PAGE_SIZE = 50
# The most a page holds: a larger page_size is refused (422), never cut short unsaid.
MAX_PAGE_SIZE = 100
# What a refused call's event keeps of the key it sent: its first characters where it has
# a key's form (letters, digits, - and _), as `api_token revoke` takes a key's start; else
# nothing of it (a password pasted there, say).
KEY_FORM = re.compile(r"[A-Za-z0-9_-]{16,100}")
KEY_START = 4


class Pages(PageNumberPagination):
    """ninja's page numbers, with a last one (a page past PostgreSQL's bigint OFFSET was a
    500) and a largest page the schema states: ninja served at most its
    NINJA_MAX_PER_PAGE_SIZE whatever was asked, and said nothing."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int | None = Field(
            None,
            ge=1,
            le=MAX_PAGE_SIZE,
            description=f"Items a page (the operation's own by default), {MAX_PAGE_SIZE} at most.",
        )

    def __init__(self, **kwargs):
        super().__init__(max_page_size=MAX_PAGE_SIZE, **kwargs)


class TokenAuth(HttpBearer):
    """The token of the `Authorization: Bearer` header; every call is audited, refused or not
    (refusals only so often from one address, and in all: core.audit.refusal_to_record)."""

    def __call__(self, request):
        scheme, _space, key = request.headers.get("Authorization", "").partition(" ")
        key = key.strip() if scheme.lower() == "bearer" else ""
        token = api_token_for_key(key)
        call = {"path": request.path[:200], "query": _query_audited(request)[:200]}
        if token is not None:
            # Placed by the token (core.audit): its county's audit log reads its calls, and
            # a village's too where the call reads that village.
            audit_record(
                action="api.call",
                village_id=_village_named(request, token),
                obj=token,
                detail=call,
                request=request,
            )
            return token
        recorded = refusal_to_record(request, "api")
        if recorded is None:
            return None
        # A revoked token's key: placed by the token, in its county's log, by its prefix (as
        # its making and revoking are logged). Another key, or none, names nobody: the whole
        # site's (core.audit.SITE_WIDE_ACTIONS), with the key's first characters where it
        # has a key's form (a live key mistyped starts as it does), never the key.
        revoked = api_token_revoked_for_key(key)
        refused = {**call, **recorded}
        if revoked is not None:
            refused["revoked"] = revoked.prefix
        elif KEY_FORM.fullmatch(key):
            refused["key"] = key[:KEY_START]
        elif key:
            refused["not_a_key"] = True
        audit_record(action="api.refused", obj=revoked, detail=refused, request=request)
        return None

    def authenticate(self, request, token):  # pragma: no cover - __call__ does the work
        return api_token_for_key(token)


# A parameter the API does not read is audited by its name alone, and a name only when it
# reads as one (a key is 43 characters of letters, digits, - and _).
PARAMETER_NAME = re.compile(r"[A-Za-z_.-]{1,32}")
WITHHELD = "…"


@functools.cache
def _parameters_read() -> frozenset[str]:
    """The query parameters some operation reads (the schema's): page, page_size, month..."""
    schema = api.get_openapi_schema()
    return frozenset(
        parameter["name"]
        for operations in schema["paths"].values()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    )


def _query_audited(request) -> str:
    """The call's query as the audit log keeps it: the parameters the API reads with their
    values, any other's value withheld. A client that sends its key in the address too
    (`?access_token=`, as some do) put it in the log, and a call reading a village is in
    that village's log, which its manager reads: a county's key reads every village."""
    pieces = []
    for piece in request.META.get("QUERY_STRING", "").split("&"):
        if not piece:
            continue
        raw_name, equals, _value = piece.partition("=")
        name = urllib.parse.unquote_plus(raw_name)
        if name in _parameters_read():
            pieces.append(piece)
        elif PARAMETER_NAME.fullmatch(name):
            pieces.append(f"{name}={WITHHELD}" if equals else name)
        else:
            pieces.append(WITHHELD)
    return "&".join(pieces)


def _village_named(request, token: ApiToken) -> int | None:
    """The token's village the path names (/villages/<code>/...), or None: no village, or
    one not the token's (the call is then refused and in the token's county's log only)."""
    match = request.resolver_match
    code = match.kwargs.get("code") if match is not None else None
    if not code:
        return None
    villages = token_oversight(token).villages().filter(code=code)
    return villages.values_list("pk", flat=True).first()


api = NinjaAPI(
    title="Love Supermarket read-only API",
    version="1",
    description=__doc__,
    urls_namespace="api",
    docs_url=None,  # the interactive page loads from a CDN: the schema is enough
    auth=TokenAuth(),
    throttle=[AuthRateThrottle(settings.API_RATE_LIMIT)],
)
router = Router()


class Message(Schema):
    detail: str


class Problem(Schema):
    type: str
    loc: list[str | int]
    msg: str


class Problems(Schema):
    detail: list[Problem]


# Each refusal an operation may answer: its body and what it means.
REFUSALS = {
    400: (None, "A NUL character in the address or a parameter (answered in plain text)."),
    401: (Message, "No key, or not a live one (unknown or revoked)."),
    403: (
        Message,
        "The page showing this data refuses the role the token stands for: a township's "
        "token reads no households, ledger or stock.",
    ),
    404: (Message, "No village of this code among the token's villages."),
    422: (Problems, "A parameter out of its range or pattern (`loc` names it)."),
    429: (Message, "The token's calls a minute (API_RATE_LIMIT) are used up: wait."),
}


def _answers(ok, page, *, village: bool = True) -> dict:
    """An operation's answers, for ninja and the schema: `ok` (200) and each refusal it may
    give; 403 where `page`, showing the same data, refuses one of the tokens' roles, 404
    where a village is named."""
    refusals = [400, 401, 422, 429]
    if not all(page.access.admits_overseer(role) for role in TOKEN_ROLES):
        refusals.append(403)
    if village:
        refusals.append(404)
    return {
        "response": {200: ok} | {status: REFUSALS[status][0] for status in sorted(refusals)},
        "openapi_extra": {
            "responses": {status: {"description": REFUSALS[status][1]} for status in refusals}
        },
    }


def _may_read(token: ApiToken, page) -> None:
    """Refuse (403) what `page`, the view showing the same data, refuses the role the token
    stands for (core.access.Access.admits_overseer): the API reads no more than the pages."""
    if not page.access.admits_overseer(token_role(token)):
        role = token_role(token).lower()
        raise HttpError(403, f"A {role}'s token does not read this: their pages do not show it.")


def _village(token: ApiToken, code: str, page) -> Village:
    """The token's village of this code, for the data `page` shows (refused as it refuses
    the token's role); any other village is not found (never "forbidden")."""
    _may_read(token, page)
    village = token_oversight(token).villages().filter(code=code).first()
    if village is None:
        raise Http404
    return village


# The figures the overview page notes as today's whatever the month shown.
TODAY = "Today's, whatever the month asked for."


class VillageFigures(Schema):
    """A village's figures (or the total's): `issued`, `deducted`, `redeemed`, `carried` and
    `reversed_and_lapsed` are the month's, from the ledger, `points_held_at_start` its start's;
    the others are today's, as on the overview page."""

    code: str = ""
    name: str = ""
    township: str = ""
    household_count: int = Field(description=f"Active households. {TODAY}")
    card_count: int = Field(description=f"Active cards. {TODAY}")
    issued: int = Field(description="Points issued in the month (awards and opening grants).")
    deducted: int = Field(description="Points deducted in the month.")
    redeemed: int = Field(description="Points redeemed in the month, less that month's voids.")
    carried: int = Field(
        description=(
            "Points carried over in the month from the paper ledger (balances less the cards' "
            "opening grants; negative where a paper balance was lower)."
        )
    )
    reversed_and_lapsed: int = Field(
        description=(
            "Points given back in the month by reversing deductions, less those taken back by "
            "reversing awards and those lapsed at a yearly settlement."
        )
    )
    points_held_at_start: int = Field(
        description=(
            "Every account's balance when the month began. It adds up: points_held_at_start + "
            "issued - deducted - redeemed + carried + reversed_and_lapsed is the balance at the "
            "month's end (the next month's start; for this month, points_held)."
        )
    )
    points_held: int = Field(
        description=f"Every account's balance, moved or closed households' too. {TODAY}"
    )
    pending: int = Field(description=f"Proposals waiting for approval. {TODAY}")
    stock_points: int = Field(
        description=f"The goods on sale on the shelves at points prices. {TODAY}"
    )
    wishes_open: int = Field(description=f"Wishes open. {TODAY}")


class Overview(Schema):
    month: str
    scope: str
    villages: list[VillageFigures]
    total: VillageFigures


def _month_checked(value):
    """?month=, refused (422, saying what a month must be) where month_parsed refuses it;
    run before the schema's pattern so that every refusal says the same."""
    if isinstance(value, str):
        month_parsed(value)
    return value


# ?month=: YYYY-MM from 2000-01 to this month, or left out (this month).
Month = Annotated[
    str,
    BeforeValidator(_month_checked),
    Query(
        "",
        description=f"The month: {MONTH_RULE}; this month when left out.",
        pattern=f"^({MONTH_PATTERN.strip('^$')})?$",
    ),
]


@router.get("/overview", url_name="overview", **_answers(Overview, county_overview, village=False))
def overview(request, month: Month = ""):
    """The overview page's figures for the month (YYYY-MM, this month by default): each
    village of the token's county or township, and their total, as of at most a minute ago."""
    _may_read(request.auth, county_overview)
    first = month_parsed(month)
    oversight = token_oversight(request.auth)
    # The page's figures, from the same cache (added up at most once a minute).
    period = Period.month(first.year, first.month)
    figures, _as_of = county_figures(oversight, month=period, max_age=FIGURES_MAX_AGE)
    villages = county_villages(oversight, figures)
    token = request.auth
    return {
        "month": f"{first:%Y-%m}",
        "scope": token.township.name if token.township_id else token.county.name,
        "villages": [
            {
                "code": village.code,
                "name": village.name,
                "township": village.township.name,
                **_figures(village),
            }
            for village in villages
        ],
        "total": _figures(county_total(villages)),
    }


FIGURES = [name for name in VillageFigures.model_fields if name not in ("code", "name", "township")]


def _figures(row) -> dict:
    """A village's (or the total's) figures, as the overview page shows them."""
    return {name: getattr(row, name) for name in FIGURES}


class MemberOut(Schema):
    name: str
    relation: str
    birth_year: int | None
    id_number: str
    phone: str

    @staticmethod
    def resolve_id_number(member) -> str:
        return mask_id_number(member.id_number)

    @staticmethod
    def resolve_phone(member) -> str:
        return mask_phone(member.phone)


class HouseholdOut(Schema):
    id: int
    number: str
    head_name: str
    group: str
    status: str
    phone: str
    balance: int
    members: list[MemberOut]

    @staticmethod
    def resolve_group(household) -> str:
        return household.group.name if household.group_id else ""

    @staticmethod
    def resolve_phone(household) -> str:
        return mask_phone(household.phone)

    @staticmethod
    def resolve_balance(household) -> int:
        account = getattr(household, "account", None)
        return account.balance if account else 0

    @staticmethod
    def resolve_members(household) -> list:
        return list(household.members.all())


@router.get(
    "/villages/{code}/households",
    url_name="households",
    **_answers(list[HouseholdOut], household_list),
)
@paginate(Pages, page_size=PAGE_SIZE)
def households(request, code: str):
    """Every household on record with its balance (as the balance pages show them), those
    that moved away or closed too (`status`); ID numbers and phones masked."""
    return (
        Household.objects.filter(village=_village(request.auth, code, household_list))
        .select_related("group", "account")
        .prefetch_related(Prefetch("members", queryset=Member.objects.current()))
        .order_by("number", "id")
    )


class EntryOut(Schema):
    id: int
    household_id: int
    kind: str
    points: int
    balance_after: int
    created_at: datetime.datetime
    memo: str
    reverses_id: int | None


# `after` lists entries this old at least (seconds): an entry's id is drawn before its
# transaction commits, so a newer one may commit first; a client that read past it by id
# would never see the older one. No ledger transaction runs anywhere near this long.
SYNC_SETTLE_SECONDS = 60

# ?after=: an entry id (0 to start), for reading the ledger in the order it was written.
After = Annotated[
    int | None,
    Query(
        None,
        ge=0,
        le=2**63 - 1,
        description=(
            "To follow the ledger: the entries after this id, oldest first (0 for all). Ask "
            "again with the last id received, page 1 each time, until `items` is empty; an "
            f"entry is listed once it is {SYNC_SETTLE_SECONDS} seconds old, so none is "
            "skipped while others are being written. Without it, page by page, newest first."
        ),
    ),
]


@router.get(
    "/villages/{code}/ledger", url_name="ledger", **_answers(list[EntryOut], household_ledger)
)
@paginate(Pages, page_size=PAGE_SIZE)
def ledger(request, code: str, after: After = None):
    """The village's ledger: every entry of every household, newest first; with `after`, the
    entries written since that one, oldest first (an entry posted while paging newest first
    shifts the pages, so one is served twice and the oldest never)."""
    entries = Entry.objects.filter(
        account__village=_village(request.auth, code, household_ledger)
    ).annotate(household_id=F("account__household_id"))
    if after is None:
        return entries.order_by("-created_at", "-id")
    settled = timezone.now() - datetime.timedelta(seconds=SYNC_SETTLE_SECONDS)
    # An entry's id is drawn before its time is taken, so a newer id may carry an older
    # time: only ids below the first one still settling are listed, none passed over.
    settling = entries.filter(created_at__gt=settled).order_by("id").values("id")[:1]
    return entries.filter(
        id__gt=after,
        id__lt=Coalesce(Subquery(settling), Value(BIGINT_MAX)),
        created_at__lte=settled,
    ).order_by("id")


class ItemOut(Schema):
    """An item: `stock` is the book stock; of it, `held` for open reservations and
    `writing_off` waiting for the supervisor to confirm a write-off or a count's shortfall
    are not on offer; `available` is what is left (the counter and reservations take that)."""

    id: int
    name: str
    zone: str
    unit: str
    points_price: int
    stock: int = Field(description="In the books, what is on the shelves counted whole.")
    available: int = Field(
        description="What may still be redeemed or reserved: stock less held and writing_off."
    )
    held: int = Field(description="Of the stock, held for open reservations.")
    writing_off: int = Field(
        description="Of the stock, set aside waiting for a write-off or a count's shortfall "
        "to be confirmed or refused."
    )
    is_active: bool

    @staticmethod
    def resolve_zone(item) -> str:
        return str(item.zone)  # its name, from its code


@router.get("/villages/{code}/stock", url_name="stock", **_answers(list[ItemOut], stock_list))
@paginate(Pages, page_size=PAGE_SIZE)
def stock(request, code: str):
    """The store's items: what is in stock, held for reservations, waiting to be written off
    and available."""
    return (
        Item.objects.filter(village=_village(request.auth, code, stock_list))
        .select_related("zone")
        .order_by("name", "id")
    )


class DonationOut(Schema):
    id: int
    donor: str
    donor_kind: str
    kind: str
    received_on: datetime.date
    value_yuan: Decimal | None
    description: str

    @staticmethod
    def resolve_donor(donation) -> str:
        return donation.donor.name

    @staticmethod
    def resolve_donor_kind(donation) -> str:
        return donation.donor.kind


@router.get(
    "/villages/{code}/donations",
    url_name="donations",
    **_answers(list[DonationOut], donations_traced_list),
)
@paginate(Pages, page_size=PAGE_SIZE)
def donations(request, code: str):
    """The village's donations, newest first."""
    return (
        Donation.objects.filter(village=_village(request.auth, code, donations_traced_list))
        .select_related("donor")
        .order_by("-received_on", "-id")
    )


class SignatureOut(Schema):
    role: str
    name: str
    signed_at: datetime.datetime


class NoticeOut(Schema):
    month: str
    published_at: datetime.datetime
    public_url: str
    signatures: list[SignatureOut]
    document: dict

    @staticmethod
    def resolve_month(notice) -> str:
        return f"{notice.month:%Y-%m}"

    @staticmethod
    def resolve_public_url(notice, context) -> str:
        path = notice_public_path(notice.village, notice.month)
        return context["request"].build_absolute_uri(path)

    @staticmethod
    def resolve_signatures(notice) -> list:
        return list(notice.signatures.all())


@router.get("/villages/{code}/notices", url_name="notices", **_answers(list[NoticeOut], notice))
@paginate(Pages, page_size=12)
def notices(request, code: str):
    """The village's published monthly notices, newest first, as they were published."""
    return (
        PublishedNotice.objects.filter(village=_village(request.auth, code, notice))
        .select_related("village")
        .prefetch_related("signatures")
        .order_by("-month")
    )


api.add_router("/", router)
