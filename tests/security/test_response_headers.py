"""What every response tells the browser: cache headers, cookie flags, Content-Security-Policy
and Permissions-Policy.

- Every page answered to a signed-in user is `Cache-Control: private, no-store` (a shared
  phone's back button after logout must not show the household's page); public files (the
  manifest, static files) keep their caching. Checked over every URL of the permission table
  for every role the table lets in, with production cookie settings, by the permission
  matrix's own pass (`page_headers_wrong`, tests/security/test_permission_matrix.py).
- Every cookie the app sets is Secure, HttpOnly and SameSite=Lax with production settings:
  they are read from a production process (tests/security/deployment.py) and applied here,
  then the table's POSTs and the sign-in, language, large-type and sign-out flows run over
  https, collecting every Set-Cookie (the matrix's pass checks those its pages set).
"""

from django.conf import settings as django_settings
from django.urls import reverse

from tests.conftest import PASSWORD, PIN
from tests.security.conftest import ROLES
from tests.security.deployment import cache_directives, unflagged_cookies

ALLOWED = {"200", "R", "400"}
EXPECTED_COOKIES = {
    "sessionid",
    "csrftoken",
    "django_language",
    "large_type",
    "messages",
    "card_device",
}


def test_production_cookie_settings(production_cookies):
    for name, value in production_cookies.items():
        expected = "Lax" if name.endswith("SAMESITE") else True
        assert value == expected, name


def test_error_pages_for_signed_in_users_are_private_too(cast):
    client = cast.client("villager_a")
    for url in ("/no-such-page/", reverse("store:counter")):  # 404, 403
        response = client.get(url)
        assert response.status_code in (403, 404)
        assert {"private", "no-store"} <= cache_directives(response), url


def test_static_files_and_the_manifest_stay_cacheable(cast):
    client = cast.client("villager_a")
    for url in ("/static/css/aidao.css", "/static/vendor/htmx.min.js", reverse("manifest")):
        response = client.get(url)
        assert response.status_code == 200, url
        directives = cache_directives(response)
        assert "no-store" not in directives and "max-age" in directives, (url, directives)


def test_every_cookie_the_app_sets_is_flagged(cast, table, production_cookies):
    """The sign-in, language, large-type and sign-out flows, then every POST of the table."""
    seen, unflagged = set(), []

    def collect(response, where):
        seen.update(name for name, morsel in response.cookies.items() if morsel.value)
        unflagged.extend(unflagged_cookies(response, where))
        return response

    staff = cast.client("anon")
    collect(staff.get(reverse("login"), secure=True), "the staff login page")
    signed_in = staff.post(
        reverse("login"), {"username": "manager_x", "password": PASSWORD}, secure=True
    )
    assert signed_in.status_code == 302, "manager_x did not sign in"
    collect(signed_in, "the staff login")
    villager = cast.client("anon")
    signed_in = villager.post(
        reverse("card_login"), {"card_number": cast.card_a.number, "pin": PIN}, secure=True
    )
    assert signed_in.status_code == 302, "the card login failed"
    collect(signed_in, "the card login")
    collect(
        villager.post(reverse("set_language"), {"language": "en", "next": "/"}, secure=True),
        "the language switch",
    )
    collect(
        villager.post(reverse("large_type"), {"large": "1", "next": "/"}, secure=True),
        "the large-type switch",
    )
    collect(villager.post(reverse("logout"), secure=True), "the sign-out")
    for request in table:
        if request.post is None:
            continue
        role = next((role for role in ROLES if request.post[role] in ALLOWED), "manager_x")
        response = cast.client(role).post(request.url, request.data, secure=True)
        collect(response, f"POST {request.url} ({request.key}) as {role}")
    assert seen >= EXPECTED_COOKIES, f"never set: {EXPECTED_COOKIES - seen}"
    assert not unflagged, "\n".join(unflagged)


def test_no_script_reads_a_cookie():
    """Why every cookie can be HttpOnly: forms and htmx send the CSRF token from the page."""
    static = django_settings.BASE_DIR / "static"
    templates = django_settings.BASE_DIR / "templates"
    readers = [
        str(path)
        for folder, pattern in ((static, "*.js"), (templates, "*.html"))
        for path in folder.rglob(pattern)
        if "document.cookie" in path.read_text("utf-8")
    ]
    assert readers == []


def test_every_response_has_a_content_security_policy(cast):
    policy_of = {}
    for url in (reverse("login"), "/no-such-page/", reverse("healthz"), "/static/css/aidao.css"):
        response = cast.client("anon").get(url)
        policy_of[url] = response.get("Content-Security-Policy", "")
    signed_in = cast.client("villager_a").get(reverse("points:me"))
    policy_of["points:me"] = signed_in.get("Content-Security-Policy", "")
    for url, policy in policy_of.items():
        directives = dict(
            (part.strip().split(" ", 1) + [""])[:2] for part in policy.split(";") if part.strip()
        )
        assert directives.get("script-src") == "'self'", url
        assert directives.get("style-src") == "'self'", url
        assert directives.get("default-src") == "'self'", url
        assert directives.get("object-src") == "'none'", url
        assert directives.get("base-uri") == "'self'", url
        assert directives.get("frame-ancestors") == "'none'", url
        assert directives.get("form-action") == "'self'", url
        assert directives.get("img-src") == "'self' data:", url
        # An announcement's recording is played back before it is sent (a blob: URL).
        assert directives.get("media-src") == "'self' blob:", url
        assert "unsafe" not in policy, url


def test_the_camera_is_allowed_only_on_pages_that_scan(cast):
    """The three pages that scan a card with the camera (static/js/scan.js) may open it, from
    the app's own origin; every other page, the household's own counter page included, may not."""
    client = cast.client("manager_x")
    scanning = (
        reverse("store:counter"),
        reverse("points:activity_new"),
        reverse("reports:household_list"),
    )
    for url in scanning:
        response = client.get(url)
        assert response.status_code == 200, url
        features = dict(
            part.strip().split("=", 1) for part in response["Permissions-Policy"].split(",")
        )
        assert features["camera"] == "(self)", url
        assert features["microphone"] == features["geolocation"] == features["payment"] == "()"
    others = (
        reverse("store:counter_household", args=[cast.household_a.pk]),
        reverse("store:catalogue"),
        reverse("points:me"),
        "/static/css/aidao.css",
    )
    for url in others:
        policy = client.get(url)["Permissions-Policy"]
        assert "camera=()" in policy and "(self)" not in policy, url
