"""Reads of the registry, always scoped to the village the request works in."""

import datetime
import re

from axes.models import AccessFailureLog
from django.conf import settings
from django.db import connection
from django.db.models import CharField, Count, Exists, Func, OuterRef, Prefetch, Q, Subquery
from django.utils import timezone

from core.access import village_object_or_404
from core.forms import number_text
from villagers import sql as villagers_sql
from villagers.cardnumbers import card_number_normalize, scanned_card_number
from villagers.models import (
    Card,
    Household,
    Inspection,
    Member,
    Participation,
    User,
    Village,
    household_number_text,
)
from villagers.throttle import CARD_USERNAME_PREFIX, STAFF_PIN_SUFFIX

# The last four digits of a phone: what a masked phone (139****5678) shows, and a search key.
PHONE_TAIL = re.compile(r"[0-9]{4}")
# Digits in groups, as a card number is read off the card ("101 00001 6", "101-00001-6").
CARD_NUMBER_TYPED = re.compile(r"[0-9]+(?:[\s-]+[0-9]+)+")


def household_number_keys(values) -> dict[str, str]:
    """{each typed number as stored (household_number_text): that number in the database's
    capitals}, in one query. Looked up by these (Household.objects.numbered) and grouped by
    them, a file's numbers are compared as the unique index compares them
    (household_unique_number_any_case), whatever the database's locale: in Python's
    capitals "aß1" was a new number beside the registered "Aß1", and the index's refusal
    a server error."""
    numbers = sorted({household_number_text(value) for value in values})
    if not numbers:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(villagers_sql.IN_CAPITALS, {"texts": numbers})
        return dict(cursor.fetchall())


def households_for_request(request):
    """Households of the request's village; every registry view starts here."""
    return Household.objects.filter(village=request.village)


def household_get_for_user(request, pk: int) -> Household:
    """One household of the request's village (another village's household is a 404 saying
    so), with its group; its village is the request's own (not read again: a third of the
    query)."""
    households = households_for_request(request).select_related("group")
    household = village_object_or_404(households, request.village, pk=pk)
    household.village = request.village
    return household


# The household page shows the latest inspections and participations, not a whole history.
INSPECTIONS_SHOWN = 5
PARTICIPATIONS_SHOWN = 10


def household_detail_get_for_user(request, pk: int) -> Household:
    """A household with the registry parts of its page (members, cards, and the latest
    inspections and participations as `recent_inspections`, `recent_participations`), in
    a fixed number of queries and rows."""
    queryset = households_for_request(request).select_related("group", "village")
    queryset = queryset.prefetch_related(
        Prefetch("members", queryset=Member.objects.order_by("id")),
        Prefetch(
            "inspections",
            queryset=Inspection.objects.select_related("inspector").order_by("-date", "-id")[
                :INSPECTIONS_SHOWN
            ],
            to_attr="recent_inspections",
        ),
        Prefetch(
            "participations",
            queryset=Participation.objects.select_related("recorded_by").order_by("-date", "-id")[
                :PARTICIPATIONS_SHOWN
            ],
            to_attr="recent_participations",
        ),
        Prefetch("cards", queryset=Card.objects.select_related("issued_by").order_by("-issued_at")),
    )
    return village_object_or_404(queryset, request.village, pk=pk)


def household_pin_is(household: Household, pin: str) -> bool:
    """Whether `pin` opens the household's login now (a re-sent card issue shows its slip
    again only while the PIN it set is still the one in use)."""
    login = User.objects.filter(household=household, is_staff=False, member__isnull=True).first()
    return login is not None and login.check_password(pin)


def member_pin_is(member: Member, pin: str) -> bool:
    """Whether `pin` opens the member's own login now (as `household_pin_is`, for a member's
    PIN set by a form sent twice)."""
    login = User.objects.filter(member=member, is_active=True).first()
    return login is not None and login.check_password(pin)


def member_ids_with_pin(household: Household) -> set[int]:
    """The household's members who have a working PIN of their own on its card."""
    return set(
        User.objects.filter(household=household, member__isnull=False, is_active=True).values_list(
            "member_id", flat=True
        )
    )


def member_get_for_user(request, pk: int) -> Member:
    return village_object_or_404(
        Member.objects.filter(household__village=request.village).select_related(
            "household__group", "household__village"
        ),
        request.village,
        village_field="household__village",
        pk=pk,
    )


def households_with_active_card(household_ids) -> set[int]:
    """Of these households, those whose card is active: only they earn or lose points (a
    recalled card's household moved away or left the scheme; a never-issued one has not
    joined yet)."""
    return set(
        Card.objects.filter(
            household_id__in=list(household_ids), status=Card.Status.ACTIVE
        ).values_list("household_id", flat=True)
    )


def card_numbers_of_other_villages(numbers, village) -> set[str]:
    """Of these card numbers, those of another village's active card: a card scanned at the
    wrong village's counter or sheet is told it is another village's, not that no card has
    its number (its household and village are not named)."""
    return set(
        Card.objects.filter(number__in=list(numbers), status=Card.Status.ACTIVE)
        .exclude(household__village=village)
        .values_list("number", flat=True)
    )


def card_get_for_user(request, pk: int) -> Card:
    return village_object_or_404(
        Card.objects.filter(household__village=request.village).select_related(
            "household__group", "household__village"
        ),
        request.village,
        village_field="household__village",
        pk=pk,
    )


def household_search(
    request,
    *,
    query: str = "",
    group_id: int | None = None,
    status: str = "",
    is_poor: bool | None = None,
    has_card: bool | None = None,
):
    """The household list: searched as `households_matching` finds, and filtered."""
    active_cards = Card.objects.filter(household=OuterRef("pk"), status=Card.Status.ACTIVE)
    queryset = (
        households_for_request(request)
        .select_related("group")
        .annotate(
            member_count=Count("members", filter=Q(members__left_on__isnull=True), distinct=True),
            active_card_number=Subquery(active_cards.values("number")[:1]),
        )
        .order_by("number")
    )
    queryset = households_matching(queryset, query)
    if group_id:
        queryset = queryset.filter(group_id=group_id)
    if status:
        queryset = queryset.filter(status=status)
    if is_poor is not None:
        queryset = queryset.filter(is_poor=is_poor)
    if has_card is not None:
        queryset = (
            queryset.filter(Exists(active_cards))
            if has_card
            else queryset.exclude(Exists(active_cards))
        )
    return queryset


def households_matching(households, query: str):
    """Of `households`, those a search finds: a head's or member's name, a card or household
    number, a group's name, the last four digits of a phone (the household's or a member's).
    Name, card and phone matches are EXISTS subqueries, so a household never appears twice."""
    query = (query or "").strip()
    query = scanned_card_number(query) or query  # a card's QR code scanned into the box
    if not query:
        return households
    # Numbers typed with a Chinese input method's full-width digits match too, and a card
    # number typed in groups ("101 00001 6") as the counter reads it.
    digits = number_text(query)
    if CARD_NUMBER_TYPED.fullmatch(digits):
        digits = card_number_normalize(digits)
    matches = (
        Q(head_name__icontains=query)
        | Q(number__icontains=household_number_text(query))
        | Q(group__name__icontains=query)
        | Exists(Member.objects.filter(household=OuterRef("pk"), name__icontains=query))
        | Exists(Card.objects.filter(household=OuterRef("pk"), number__icontains=digits))
    )
    if PHONE_TAIL.fullmatch(digits):
        matches |= Q(phone__endswith=digits) | Exists(
            Member.objects.filter(household=OuterRef("pk"), phone__endswith=digits)
        )
    return households.filter(matches)


class AddressNetwork(Func):
    """An address as the card login's slow-down counts it (core.audit.client_network): IPv4
    whole (mapped into IPv6 too), IPv6 by its /64, as text."""

    template = (
        "CASE WHEN family(%(expressions)s) = 6 AND NOT %(expressions)s <<= '::ffff:0:0/96' "
        "THEN text(network(set_masklen(%(expressions)s, 64))) ELSE host(%(expressions)s) END"
    )
    output_field = CharField()


class CardTried(Func):
    """The card a failed card login's name counts against: "card:<number>", without the
    "/device" of the phones the card signed in on (villagers.auth.axes_username)."""

    function = "split_part"
    template = "%(function)s(%(expressions)s, '/', 1)"
    output_field = CharField()


def card_login_attacks(village: Village) -> list[dict]:
    """Addresses with many failed card logins on this village's cards in the last hour.

    A card number starts with its village's code, so a failure counts for the village
    whose code begins the number tried (a number of no card included); other villages'
    cards never show here, nor PINs the manager set refused ("/staff": no sign-in, and
    the office's address is no attacker's). Each: address (an IPv6 caller's /64),
    failures, distinct card numbers tried.
    """
    since = timezone.now() - datetime.timedelta(hours=1)
    return list(
        AccessFailureLog.objects.filter(
            username__startswith=f"{CARD_USERNAME_PREFIX}{village.code}",
            attempt_time__gte=since,
        )
        .exclude(username__endswith=STAFF_PIN_SUFFIX)
        .values(address=AddressNetwork("ip_address"))
        .annotate(failures=Count("id"), cards=Count(CardTried("username"), distinct=True))
        .filter(failures__gte=settings.CARD_LOGIN_WARNING_FAILURES)
        .order_by("-failures", "address")
    )
