"""Request and response hygiene every page shares: charsets, cache headers, Permissions-Policy."""

from django.core.exceptions import BadRequest
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.utils.cache import patch_cache_control

from core.text import typed_text_clean, typed_text_needs_cleaning

# Where the read-only API answers (aidao.urls): its refusals are plain text, not pages.
API_PATH = "/api/"

# Browser features no page of the app uses. A view marked with core.decorators.allows_camera
# (a page that scans a card with the camera) gets camera=(self) instead of camera=().
DENIED_FEATURES = (
    "accelerometer",
    "camera",
    "display-capture",
    "fullscreen",
    "geolocation",
    "gyroscope",
    "hid",
    "magnetometer",
    "microphone",
    "midi",
    "payment",
    "publickey-credentials-get",
    "screen-wake-lock",
    "serial",
    "usb",
    "xr-spatial-tracking",
)


def is_utf8(charset: str) -> bool:
    """Whether a declared charset is UTF-8: the spelling Django itself accepts for forms."""
    return charset.lower() == "utf-8"


class RefuseForeignCharsetMiddleware:
    """400 for any request declaring a charset other than UTF-8, before anything reads it.

    Every page and form of the app is UTF-8. Django decodes GET and POST in the declared
    charset, or refuses an urlencoded body in another one with BadRequest; its default 400
    view then reads the body again for the CSRF token and fails, so a crafted
    `charset=utf-16` was a 500. Refused here, whatever the method, content type or URL, the
    answer is the app's 400 page (core.views.bad_request, which never reads the body).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        charset = request.content_params.get("charset")
        if charset is not None and not is_utf8(charset):
            raise BadRequest("The request declares a charset other than UTF-8.")
        return self.get_response(request)


def _cache_directives(response) -> set[str]:
    header = response.get("Cache-Control", "")
    return {part.split("=", 1)[0].strip().lower() for part in header.split(",") if part.strip()}


class PrivatePagesMiddleware:
    """`Cache-Control: private, no-store` on every response made for a signed-in user, or to
    a request carrying credentials of its own (the API's `Authorization: Bearer`).

    A page behind a login shows a household's balance, receipts or the counter; on a shared
    phone the back button after logout must not bring it back from the cache. A response
    that declares itself `public` (the web app manifest) keeps its caching; static files are
    served by whitenoise before this runs, with their own long-lived headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        directives = _cache_directives(response)
        if "public" in directives or {"private", "no-store"} <= directives:
            return response
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        # The API's callers sign each call with their key (Authorization), never a session:
        # its answers (households, balances, the ledger) went out with no Cache-Control.
        if signed_in or "Authorization" in request.headers:
            patch_cache_control(response, private=True, no_store=True)
        return response


class PermissionsPolicyMiddleware:
    """A Permissions-Policy header denying every browser feature the app does not use.

    A view may ask for one (core.decorators.allows_camera): it is then allowed to the app's
    own origin on that view's pages only.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.allowed_browser_features = frozenset()
        response = self.get_response(request)
        if "Permissions-Policy" not in response:
            allowed = request.allowed_browser_features
            response["Permissions-Policy"] = ", ".join(
                f"{feature}=(self)" if feature in allowed else f"{feature}=()"
                for feature in DENIED_FEATURES
            )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        request.allowed_browser_features = getattr(
            view_func, "allowed_browser_features", frozenset()
        )


def _has_nul(query_dict) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values)
        for key, values in query_dict.lists()
    )


class RefuseNulBytesMiddleware:
    """Answer 400 to a path, a header, or any GET or POST field, holding a NUL byte.

    PostgreSQL cannot store or compare text with NUL ("A string literal cannot contain
    NUL"), so such a value would reach the database only to fail there as a 500. No form
    of this app has a use for it; refusing it here covers every view, forms or not. Headers
    are stored too (django-axes writes a failed sign-in's User-Agent and Accept), and no
    header may hold a NUL (RFC 9110): gunicorn refuses one first, but the app does not rely
    on the server in front. A page gets the app's translated 400 page
    (core.views.bad_request), as every other 400 does; the API keeps the plain text its
    schema documents (reports.api.REFUSALS).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:  # a URL's part (a village code) reaches queries too
            return _refuse(request, "the address holds a NUL character.")
        if any("\x00" in value for value in request.headers.values()):
            return _refuse(request, "a header holds a NUL character.")
        if _has_nul(request.GET) or (request.method == "POST" and _has_nul(request.POST)):
            return _refuse(request, "a field holds a NUL character.")
        return self.get_response(request)


def _refuse(request, why: str):
    """The API's plain-text 400, or BadRequest for the app's 400 page."""
    if request.path_info.startswith(API_PATH):
        return HttpResponseBadRequest(
            f"Bad request: {why}", content_type="text/plain; charset=utf-8"
        )
    raise BadRequest(f"The request was refused: {why}")


class CleanTypedTextMiddleware:
    """Take the invisible characters of core.text out of every POST field before any view
    reads it (typed_text_clean), and empty a field of which nothing shows: every form, the
    admin's included, stores what was meant, a required field refuses a blank-looking value,
    and a form's one-time key sees the same cleaned body each time it is sent."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "POST":
            posted = request.POST
            if any(typed_text_needs_cleaning(v) for vs in posted.lists() for v in vs[1]):
                cleaned = posted.copy()
                for name, values in posted.lists():
                    secret = "password" in name  # password, password1, old_password…
                    cleaned.setlist(
                        name, [typed_text_clean(value, secret=secret) for value in values]
                    )
                cleaned._mutable = False
                request.POST = cleaned
        return self.get_response(request)


class MethodNotAllowedPageMiddleware:
    """A page in the reader's language for a 405 that has none.

    Django answers a GET of a POST-only address (a button's action) with an empty body: a
    blank screen in either language. A villager or a cadre meets it after signing in again
    on the way back to a button pressed when their session had ended (the login returns to
    the action's address, by GET), or from an address kept in the phone's history. The
    status and its Allow header stay; the API keeps its own answers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.path.startswith(API_PATH):
            return response
        page = render(request, "405.html", status=405)
        page["Allow"] = response.get("Allow", "POST")
        return page
