from core.access import is_county_admin, is_manager, is_supervisor, is_villager


def village(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"current_village": None}
    return {
        "current_village": getattr(request, "village", None),
        "is_manager": is_manager(user),
        "is_supervisor": is_supervisor(user),
        "is_county_admin": is_county_admin(user),
        "is_villager": is_villager(user),
    }
