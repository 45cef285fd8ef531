"""Charsets: a request declaring anything but UTF-8 gets the app's own 400 page, on every URL,
whatever the method and content type; a body or query string that is not valid UTF-8 is
never a 500.

Requests go out as production sends them: CSRF enforced, with the csrftoken cookie every
visitor has and its token in the body, and the test client set not to raise, so a 500 is a
status code here, as gunicorn would answer it. Each URL of the permission table is asked by
a role the table lets in, so the undecodable bodies reach the views themselves.
"""

from django.conf import settings
from django.urls import reverse

from tests.security.conftest import ROLES
from tests.security.state import database_state, state_changes

CSRF_SECRET = "a" * 32  # a well-formed secret: cookie and form field agree
BAD_REQUEST_HEADING = "This request could not be read"
ADMITTED = {"200", "R", "400"}  # table tokens of a role the view lets through


def _form_body(encoding: str) -> bytes:
    return f"name=王&quantity=1&csrfmiddlewaretoken={CSRF_SECRET}".encode(encoding)


def _multipart(boundary: str, fields: dict[bytes, bytes]) -> bytes:
    parts = [
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary.encode(), name, value)
        for name, value in fields.items()
    ]
    return b"".join(parts) + b"--%s--\r\n" % boundary.encode()


# (method, Content-Type, body), sent to every URL.
FOREIGN = [
    ("POST", "application/x-www-form-urlencoded; charset=utf-16", _form_body("utf-16")),
    (
        "POST",
        "multipart/form-data; boundary=b0undary; charset=utf-16",
        _multipart("b0undary", {b"csrfmiddlewaretoken": CSRF_SECRET.encode(), b"name": b"x"}),
    ),
    ("POST", "application/x-www-form-urlencoded; charset=no-such-charset", _form_body("utf-8")),
    ("GET", "text/plain; charset=latin-1", b""),
    ("HEAD", "text/html; charset=big5", b""),
]
# Odd spellings and other methods, sent to a few URLs.
ODD = [
    ("POST", "application/x-www-form-urlencoded; charset=latin-1", _form_body("utf-8")),
    ("POST", 'multipart/form-data; boundary=b0undary; charset="gb2312"', b"--b0undary--\r\n"),
    ("POST", "application/x-www-form-urlencoded; charset=utf-8-sig", _form_body("utf-8-sig")),
    ("POST", "application/x-www-form-urlencoded; Charset=UTF-16LE", _form_body("utf-16-le")),
    ("POST", "application/json; charset=utf-32", '{"a": 1}'.encode("utf-32")),
    ("GET", "text/plain; charset=", b""),
    ("GET", "text/plain; charset=utf8", b""),
    ("GET", "text/plain; charset*=utf-16''x", b""),
    ("PUT", "application/x-www-form-urlencoded; charset=ascii", _form_body("utf-8")),
    ("PATCH", "text/plain; charset=cp1252", b"x"),
    ("DELETE", "text/plain; charset=utf-7", b""),
    ("OPTIONS", "text/plain; charset=koi8-r", b""),
]

INVALID_UTF8_FORM = (
    b"name=\xff\xfe%ff%C3%28&\xc3\x28=1&quantity=%ed%a0%80&csrfmiddlewaretoken="
    + CSRF_SECRET.encode()
)
INVALID_UTF8_MULTIPART = _multipart(
    "b0undary",
    {
        b"csrfmiddlewaretoken": CSRF_SECRET.encode(),
        b"name": b"\xff\xfe\xc3\x28",
        b"\xc3\x28": b"\xed\xa0\x80",
    },
)
# WSGI hands the query string over as latin-1 text: raw bytes on the wire, then broken escapes.
UNDECODABLE_QUERY = "q=\xff\xfe&\xc3\x28=1&page=%ff&before=%C3%28&%ed%a0%80=x&zone=%ff"


def _role_for(request) -> str:
    """A role the table lets through (by POST if the URL takes one, else by GET)."""
    tokens = request.post or request.get
    return next((role for role in ROLES if tokens[role] in ADMITTED), "anon")


def _client(cast, role):
    client = cast.client(role, enforce_csrf_checks=True, raise_request_exception=False)
    client.cookies[settings.CSRF_COOKIE_NAME] = CSRF_SECRET
    return client


def _not_refused(client, url, sent) -> list[str]:
    wrong = []
    for method, content_type, body in sent:
        # CONTENT_TYPE also when there is no body (the test client leaves it out then).
        response = client.generic(
            method, url, body, content_type=content_type, CONTENT_TYPE=content_type
        )
        refused = response.status_code == 400 and (
            method == "HEAD" or BAD_REQUEST_HEADING in response.content.decode()
        )
        if not refused:
            wrong.append(f"{method} {url} [{content_type!r}]: {response.status_code}")
    return wrong


def test_a_foreign_charset_is_refused_with_the_app_page_on_every_url(cast, table):
    clients = {role: _client(cast, role) for role in ROLES}
    before = database_state()
    wrong = []
    for request in table:
        wrong += _not_refused(clients[_role_for(request)], request.url, FOREIGN)
    assert not wrong, f"{len(wrong)} not refused with the 400 page:\n" + "\n".join(wrong[:40])
    assert state_changes(before, database_state()) == []


def test_odd_and_unknown_charsets_are_refused_whatever_the_method(cast):
    manager = _client(cast, "manager_x")
    wrong = _not_refused(_client(cast, "anon"), reverse("login"), ODD)
    wrong += _not_refused(manager, reverse("store:stock_in"), ODD)
    counter = reverse("store:counter_confirm", args=[cast.household_a.pk])
    wrong += _not_refused(manager, counter, ODD)
    assert not wrong, "\n".join(wrong)


def test_utf8_is_accepted_in_any_case_and_quoted(cast):
    client = _client(cast, "anon")
    for charset in ("utf-8", "UTF-8", "Utf-8", '"utf-8"'):
        response = client.post(
            reverse("login"),
            _form_body("utf-8"),
            content_type=f"application/x-www-form-urlencoded; charset={charset}",
        )
        assert response.status_code == 200, charset  # the form, with its error


def test_the_400_page_is_translated_and_the_site_layout(cast):
    client = _client(cast, "villager_a")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.generic(
        "POST", reverse("card_login"), _form_body("utf-16"), content_type=FOREIGN[0][1]
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "无法读取" in page and 'lang="zh-hans"' in page
    assert 'class="site-header' in page and reverse("logout") in page  # signed in: the menu


def test_invalid_utf8_bodies_and_query_strings_are_never_a_500(cast, table):
    """Read with replacement characters: the views answer as to any other bad input."""
    clients = {role: _client(cast, role) for role in ROLES}
    wrong = []
    for request in table:
        role = _role_for(request)
        response = clients[role].get(request.url, QUERY_STRING=UNDECODABLE_QUERY)
        if response.status_code >= 500:
            wrong.append(f"GET {request.url}?{UNDECODABLE_QUERY!r} as {role}")
        if request.post is None:
            continue
        # A fresh client: a POST may sign out or change the session.
        client = _client(cast, role)
        for content_type, body in (
            ("application/x-www-form-urlencoded; charset=utf-8", INVALID_UTF8_FORM),
            ("multipart/form-data; boundary=b0undary", INVALID_UTF8_MULTIPART),
        ):
            response = client.generic("POST", request.url, body, content_type=content_type)
            if response.status_code >= 500:
                wrong.append(f"POST {request.url} [{content_type}] as {role}")
    assert not wrong, f"{len(wrong)} answered 5xx:\n" + "\n".join(wrong)


def test_bodies_django_refuses_get_the_400_page_not_a_500(cast, settings):
    """A body Django itself refuses (too many fields) gets the app's 400 page too."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    too_many = "&".join(f"f{n}=1" for n in range(20)) + f"&csrfmiddlewaretoken={CSRF_SECRET}"
    response = _client(cast, "anon").post(
        reverse("login"), too_many, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400 and BAD_REQUEST_HEADING in response.content.decode()
