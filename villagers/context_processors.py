from django.urls import reverse

from core.access import (
    is_county_admin,
    is_manager,
    is_party_secretary,
    is_supervisor,
    is_township_officer,
    is_villager,
    start_page,
)


def village(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_village": None, "home_url": reverse("home")}
    flags = {
        "is_manager": is_manager(user),
        "is_supervisor": is_supervisor(user),
        "is_county_admin": is_county_admin(user),
        "is_township_officer": is_township_officer(user),
        "is_party_secretary": is_party_secretary(user),
    }
    return {
        "current_village": getattr(request, "village", None),
        "is_villager": is_villager(user),
        # The title bar's link: the user's start page itself, not `/` and its redirect.
        "home_url": reverse(start_page(request) or "home"),
        # The township officer and the party secretary read the village's reports only:
        # pages hide their links to the registry, the store and the wish queue.
        "reads_reports_only": (flags["is_township_officer"] or flags["is_party_secretary"])
        and not (flags["is_manager"] or flags["is_supervisor"] or flags["is_county_admin"]),
        **flags,
    }
