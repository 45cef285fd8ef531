from django.utils.functional import SimpleLazyObject

from core.access import is_villager
from notifications.selectors import unread_count


def bell(request):
    """The villager's unread count for the bell in the header (counted only when shown)."""
    user = getattr(request, "user", None)
    if user is None or not is_villager(user):
        return {}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user.household_id))}
