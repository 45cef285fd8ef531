"""Reads for the wish wall: who may see which wish, and the wall and echo queries."""

import datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from core.access import (
    is_county_admin,
    is_manager,
    is_party_secretary,
    is_supervisor,
    is_township_officer,
    is_villager,
)
from core.files import file_as_stored
from core.photos import photo_prepare
from villagers.models import Household, Village
from wishwall.models import Wish

# The wall lists kinds in the order they are declared, not alphabetically by code.
KIND_ORDER = Case(
    *[When(kind=value, then=Value(index)) for index, value in enumerate(Wish.Kind.values)],
    output_field=IntegerField(),
)

# A household that moved away or closed has no login left to withdraw its wishes: those not
# yet met leave the wall and the open-wish figures, and staff neither approve nor match them
# (wish_post refuses such a household a new one). Its fulfilled wishes stay on the echo wall.
HOUSEHOLD_ACTIVE = Q(household__status=Household.Status.ACTIVE)
WAITING = Q(status__in=[Wish.Status.OPEN, Wish.Status.MATCHED]) & HOUSEHOLD_ACTIVE

ON_WALL = Q(approved_at__isnull=False) & (WAITING | Q(status=Wish.Status.FULFILLED))


# How long a wish posted again word for word, by whoever posted it, is that post sent twice
# (two tabs, a page opened again after a reply lost on a slow line) rather than a refusal.
JUST_POSTED = datetime.timedelta(minutes=10)


def wish_just_posted(
    *, household: Household, actor, title: str, kind: str, story: str, photo=None
) -> Wish | None:
    """The household's open wish `actor` posted moments ago with these very words and this
    photo (`photo`, the upload; or none, as this post has): what a second post of the same
    wish finds. The photo is compared by its bytes as stored (core.files.file_as_stored):
    prepared again as the first post's was, the same upload is the same file, another one
    is another wish."""
    wishes = Wish.objects.filter(
        household=household,
        posted_by=actor,
        status=Wish.Status.OPEN,
        title=(title or "").strip(),
        kind=kind,
        story=(story or "").strip(),
        created_at__gte=timezone.now() - JUST_POSTED,
    )
    wishes = wishes.exclude(photo="") if photo else wishes.filter(photo="")
    sent = photo_prepare(photo) if photo else None
    return next(
        (wish for wish in wishes.order_by("-created_at") if file_as_stored(sent, wish.photo)),
        None,
    )


def wishes_visible_to(user, village: Village | None) -> QuerySet[Wish]:
    """Wishes of the village the user may open (see `wishes_readable`)."""
    if village is None:
        return Wish.objects.none()
    return wishes_readable(user, Wish.objects.filter(village=village))


def wishes_readable(user, wishes: QuerySet[Wish]) -> QuerySet[Wish]:
    """Of `wishes` (of villages the user may look into), those the user may open: staff all,
    a villager their own and the wall's, the township officer and the party secretary the
    wall's."""
    if is_manager(user) or is_supervisor(user) or is_county_admin(user):
        return wishes
    if is_villager(user):
        own_or_on_wall = Q(household_id=user.household_id) | ON_WALL
        return wishes.filter(own_or_on_wall, village_id=user.village_id)
    if is_township_officer(user) or is_party_secretary(user):
        return wishes.filter(ON_WALL)  # they read the village's walls, as its people do
    return wishes.none()


def wishes_waiting(village_ids) -> QuerySet[Wish]:
    """Wishes not yet met (open, or matched and waiting for the donor) of the villages'
    households still in the village: the dashboard's and the county's open wishes."""
    return Wish.objects.filter(WAITING, village_id__in=village_ids)


def wall_wishes(village: Village) -> QuerySet[Wish]:
    """Open wishes approved for the wall, grouped by kind, newest first within a kind."""
    return (
        Wish.objects.filter(
            HOUSEHOLD_ACTIVE, village=village, status=Wish.Status.OPEN, approved_at__isnull=False
        )
        .select_related("household__group")
        .annotate(kind_order=KIND_ORDER)
        .order_by("kind_order", "-created_at", "-id")
    )


def wall_counts(village: Village) -> dict:
    """Headline figures of the wall: open (on the wall), matched and fulfilled wishes."""
    return Wish.objects.filter(village=village).aggregate(
        open=Count("pk", filter=WAITING & Q(status=Wish.Status.OPEN, approved_at__isnull=False)),
        matched=Count("pk", filter=WAITING & Q(status=Wish.Status.MATCHED)),
        fulfilled=Count("pk", filter=Q(status=Wish.Status.FULFILLED)),
    )


def wall_kind_counts(village: Village, chosen: str = "") -> list[tuple[str, str, int]]:
    """(kind, label, open wishes on the wall) for the kinds the wall has wishes of, in
    declaration order: a filter of none ("farming and production (0)") led to an empty page.
    The `chosen` kind stays, even at 0 (its wishes were met since the link was drawn)."""
    counts = dict(
        Wish.objects.filter(
            HOUSEHOLD_ACTIVE, village=village, status=Wish.Status.OPEN, approved_at__isnull=False
        )
        .values_list("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    return [
        (value, label, counts.get(value, 0))
        for value, label in Wish.Kind.choices
        if counts.get(value) or value == chosen
    ]


def echo_wishes(village: Village) -> QuerySet[Wish]:
    """Fulfilled wishes with their donor and thanks, the latest handover first."""
    return (
        Wish.objects.filter(village=village, status=Wish.Status.FULFILLED)
        .select_related("household__group", "match__donor", "fulfilment")
        .order_by("-fulfilment__date", "-fulfilment__recorded_at", "-id")
    )
