"""Puts the village the user works in on the request: `request.village`."""

from core.access import is_overseer
from villagers.models import User, Village
from villagers.oversight import villages_overseen

COUNTY_VILLAGE_SESSION_KEY = "county_village_id"


def village_for_request(request):
    """The user's own village; for a county admin or a township officer, the village they
    chose to look into (one they oversee)."""
    user = request.user
    if not user.is_authenticated:
        return None
    if user.village_id is not None and User.village.is_cached(user):
        return user.village  # loaded with the user (villagers.auth.session_user)
    villages = Village.objects.select_related("township__county")
    if user.village_id is not None:
        return villages.get(pk=user.village_id)
    if is_overseer(user):
        village_id = request.session.get(COUNTY_VILLAGE_SESSION_KEY)
        if village_id:
            overseen = villages_overseen(user).values("pk")
            return villages.filter(pk=village_id, pk__in=overseen).first()
    return None


class VillageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.village = village_for_request(request)
        return self.get_response(request)
