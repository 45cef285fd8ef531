"""Site-wide pieces every app's pages share: the web app manifest and the icon, the large-type
switch, the health check and the error page of a database that cannot be reached."""

import sys

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_POST

from core.access import OtherVillageObject, is_overseer, village_pick_url
from core.db import is_database_unreachable, is_transient
from core.months import OutsideRecords
from core.redirects import local_next
from villagers.oversight import villages_overseen

LARGE_TYPE_COOKIE = "large_type"
LARGE_TYPE_MAX_AGE = 60 * 60 * 24 * 365 * 2
THEME_COLOUR = "#a71d2a"


@require_GET
@cache_control(max_age=60 * 60 * 24, public=True)
def favicon(request):
    """/favicon.ico, which browsers ask for on a page that names no icon (the wish wall's and
    the board's screens, the error pages): the app's icon, not a 404 and a wasted round trip
    on a village's 3G at every visit. A temporary redirect kept for a day: the icon's name
    carries its content's hash, and a permanent one would be followed for good to a name a
    later icon no longer has."""
    return redirect(static("icons/icon-192.png"))


@require_GET
@cache_control(max_age=60 * 60 * 24, public=True)
def manifest(request):
    """Lets a villager add the balance page to the phone's home screen (爱心超市)."""
    data = {
        "name": "爱心超市",
        "short_name": "爱心超市",
        "description": "村积分、爱心超市与心愿墙",
        "lang": "zh-CN",
        "start_url": reverse("points:me"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": [
            {
                "src": static(f"icons/icon-{size}.png"),
                "sizes": f"{size}x{size}",
                "type": "image/png",
                "purpose": "any",
            }
            for size in (192, 512)
        ]
        + [
            {
                "src": static("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            }
        ],
    }
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Content-Type"] = "application/manifest+json; charset=utf-8"
    return response


@require_POST
def large_type(request):
    """Turn large type on or off for this phone (a plain form: works without JavaScript)."""
    response = redirect(local_next(request, request.POST.get("next", "")) or reverse("home"))
    if request.POST.get("large") == "1":
        # A display preference like the language: the same cookie flags.
        response.set_cookie(
            LARGE_TYPE_COOKIE,
            "1",
            max_age=LARGE_TYPE_MAX_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        )
    else:
        response.delete_cookie(LARGE_TYPE_COOKIE, samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    return response


@require_GET
@never_cache
def healthz(request):
    """Liveness probe for a load balancer: the process answers. No database, no session."""
    return HttpResponse("ok", content_type="text/plain")


# How long a browser (and the 503 page's own refresh) waits before asking again while the
# database restarts: the embedded server's watchdog looks every 2 s, recovery takes seconds.
RETRY_AFTER_SECONDS = 30


# The 404 page's heading for another village's object, by its kind (core.access.
# OtherVillageObject.kind): Chinese says each kind with its own measure word (这户, 这张积分卡,
# 这个活动), which one sentence with the kind's name put in could not ("这是别的村的户").
OTHER_VILLAGE_HEADINGS = {
    "villagers.household": gettext_lazy("This is another village's household"),
    "villagers.member": gettext_lazy("This is another village's family member"),
    "villagers.card": gettext_lazy("This is another village's points card"),
    "villagers.villagegroup": gettext_lazy("This is another village's village group"),
    "points.rule": gettext_lazy("This is another village's points rule"),
    "points.proposal": gettext_lazy("This is another village's proposal"),
    "points.batch": gettext_lazy("This is another village's batch of proposals"),
    "points.declaration": gettext_lazy("This is another village's declaration"),
    "points.entry": gettext_lazy("This is another village's ledger entry"),
    "points.objection": gettext_lazy("This is another village's objection"),
    "points.inspectionround": gettext_lazy("This is another village's hygiene round"),
    "points.activity": gettext_lazy("This is another village's activity"),
    "points.checkin": gettext_lazy("This is another village's check-in"),
    "store.item": gettext_lazy("This is another village's item"),
    "store.redemption": gettext_lazy("This is another village's receipt"),
    "store.reservation": gettext_lazy("This is another village's reservation"),
    "store.donation": gettext_lazy("This is another village's donation"),
    "wishwall.wish": gettext_lazy("This is another village's wish"),
    "notifications.announcement": gettext_lazy("This is another village's announcement"),
    "reports.exportjob": gettext_lazy("This is another village's export"),
}


def page_not_found(request, exception=None):
    """The 404 handler. An address of another village's object (core.access.
    OtherVillageObject: a QR code scanned in the wrong village, a link passed on) says so,
    and what to do, naming nothing of it; a county admin or township officer overseeing its
    village is offered to look into that village. A month, year or day the records do not
    reach (core.months.OutsideRecords) says which exist, with links to the first and the
    current. Anything else: "This page does not exist".
    """
    if isinstance(exception, OutsideRecords):
        return render(request, "outside_records.html", {"outside": exception}, status=404)
    if not isinstance(exception, OtherVillageObject):
        return defaults.page_not_found(request, exception)
    user = request.user
    heading = OTHER_VILLAGE_HEADINGS.get(exception.kind)
    if heading is None:  # a kind not named above yet: its name put in
        heading = _("This is another village's %(what)s") % {"what": exception.what}
    # The catalogue's words and a model's name, as {% trans %} shows them (no &#x27;).
    context = {"elsewhere": mark_safe(heading), "pick": ""}  # noqa: S308
    # A button's 404 (a POST): what was sent, not a code or link opened, and nothing done.
    context["sent"] = request.method not in ("GET", "HEAD")
    if is_overseer(user) and villages_overseen(user).filter(pk=exception.village_id).exists():
        back = request.get_full_path() if request.method == "GET" else ""
        context["pick"] = village_pick_url(back, exception.village_id)
    return render(request, "404.html", context, status=404)


def server_error(request):
    """The 500 handler: a 503 "restarting" page when the database cannot be reached (it is
    restarting, or a connection was cut), a 409 page when it aborted the request as a
    deadlock or a serialization failure, else Django's plain 500 page.

    Called inside the `except` block that caught the error, wherever it was raised (a view,
    or a middleware loading the session or the user), hence `sys.exc_info()`.
    """
    error = sys.exc_info()[1]
    if error is not None and is_database_unreachable(error):
        return database_unavailable()
    if error is not None and is_transient(error):
        return changed_meanwhile()
    return defaults.server_error(request)


def changed_meanwhile() -> HttpResponse:
    """The 409 page: PostgreSQL aborted the request's transaction as a deadlock or a
    serialization failure (two people changing the same rows at the same moment, taking
    their locks in another order). Everything it wrote was rolled back; sending it again
    is safe (the one-time keys)."""
    response = HttpResponse(render_to_string("409.html"), status=409)
    response["Cache-Control"] = "no-store"
    return response


def database_unavailable() -> HttpResponse:
    """The 503 page, drawn without the request: its context processors read the database."""
    body = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS})
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
