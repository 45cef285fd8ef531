"""Template context shared by every page."""

from aidao.views import LARGE_TYPE_COOKIE


def display_preferences(request):
    """Whether this browser asked for large type (the switch sets a cookie, no login needed)."""
    return {"large_type": request.COOKIES.get(LARGE_TYPE_COOKIE) == "1"}
