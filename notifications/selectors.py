"""The outbox's reads."""

from django.db.models import Case, QuerySet, When

from notifications.models import Announcement, Notification


def unread_count(household_id: int) -> int:
    return Notification.objects.filter(household_id=household_id, read_at__isnull=True).count()


def notifications_of_household(household_id: int) -> QuerySet[Notification]:
    return Notification.objects.filter(household_id=household_id).select_related("village")


def delivery_log(village_id: int, *, status: str = "") -> QuerySet[Notification]:
    """The village's messages, newest first, with their SMS state (the manager's log)."""
    rows = Notification.objects.filter(village_id=village_id).select_related("household", "village")
    return rows.filter(sms_status=status) if status else rows


STAFF_ALERTS_SHOWN = 10


def staff_alerts(village_id: int, *, void_asks: bool) -> list[Notification]:
    """The village's unread messages to its staff, for the dashboard: the manager's asks to
    void a redemption first (they wait for the supervisor), then the others (low stock) newest
    first; one more than shown tells that there are more. `void_asks=False` for a reader who
    may not open redemptions (the party secretary, the township): an ask names a receipt and
    carries the manager's reason."""
    asked = Notification.Kind.VOID_ASKED
    rows = Notification.objects.filter(
        village_id=village_id, household__isnull=True, read_at__isnull=True
    )
    if not void_asks:
        rows = rows.exclude(kind=asked)
    rows = rows.order_by(Case(When(kind=asked, then=0), default=1), "-id")
    return list(rows[: STAFF_ALERTS_SHOWN + 1])


def void_asks(*, village_id: int, redemption_id: int) -> QuerySet[Notification]:
    """The manager's unread asks to void the redemption (store.services.redemption_void_ask)."""
    return Notification.objects.filter(
        village_id=village_id,
        household__isnull=True,
        kind=Notification.Kind.VOID_ASKED,
        params__redemption=redemption_id,
        read_at__isnull=True,
    )


def announcements_current(village_id: int) -> QuerySet[Announcement]:
    """The village's announcements not withdrawn, newest first (villagers' pages, the TV)."""
    return Announcement.objects.filter(village_id=village_id, withdrawn_at__isnull=True)


def announcements_of_village(village_id: int) -> QuerySet[Announcement]:
    """Every announcement of the village, withdrawn ones too (the staff's list)."""
    return Announcement.objects.filter(village_id=village_id).select_related(
        "posted_by", "withdrawn_by"
    )
