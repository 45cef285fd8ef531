"""The permission matrix: every URL of the project, requested as every role, against the table.

The table (tests/security/url_table.py) says what each role must get; object ids belong to
household A of village X, so villager B, village Y's manager and the county admin ask for
someone else's objects. A new URL without a row fails here, naming it. The same pass searches
every page it renders for the cast's ID number and phones (tests/security/deployment.py) and
checks its caching and cookies with production cookie settings (test_response_headers.py),
follows every link on it as the same reader (no page offers a link its reader cannot open),
asks each of its forms' views whether that reader may send it (no page offers a button
its reader would be refused), and sees that every form with a one-time key stops the
browser filling it in again after Back (tests/browser/test_back_button.py).
"""

import re
from collections import defaultdict
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from django.urls import reverse

from core.access import OPEN, access_of
from tests.security.conftest import ROLES
from tests.security.deployment import page_headers_wrong, personal_data_shown
from tests.security.matrix import discover, outcome
from tests.security.url_table import ADMIN_MODELS, UNNAMED, URLS


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_every_role_as_the_table_says(cast, table, production_cookies, role):
    """Every GET, as the role; and what each page shows that role (see the top). One test a
    role: the roles are checked apart, so the two workers of the suite share them."""
    client = cast.client(role)
    wrong, leaks, headers = [], [], []
    links = defaultdict(set)  # link -> the pages it is on
    refused_forms, restored_forms = set(), set()
    answered = {}  # url -> why it is a dead end, or ""
    for request in table:
        response = client.get(request.url)
        got = outcome(response)
        answered[request.url] = dead_end(response, request.url)
        if got == "200":
            # The same pass renders every page for every role: no ID number or phone.
            where = f"{request.url} ({request.key}) as {role}"
            leaks += personal_data_shown(response, where)
            headers += page_headers_wrong(response, request.key, role, where)
            for link in links_on(request.url, response):
                links[link].add(request.url)
            refused_forms.update(
                f"{action} on {request.url} as {role}"
                for action in forms_refused(request.url, response)
            )
            restored_forms.update(
                f"{action} on {request.url} ({request.key})"
                for action in keyed_forms_refilled(request.url, response)
            )
        if got != request.get[role]:
            wrong.append(
                f"GET {request.url} ({request.key}) as {role}: "
                f"expected {request.get[role]}, got {got}"
            )
    # A link to a page the table has already asked for, as the same reader, is not asked
    # again (GETs change nothing): its answer above says whether it leads anywhere.
    dead = [
        f"{link} as {role} ({why}), on {', '.join(sorted(pages)[:3])}"
        for link, pages in sorted(links.items())
        if (why := answered[link] if link in answered else dead_end(client.get(link), link))
    ]
    assert not wrong, f"{len(wrong)} answers differ from the table:\n" + "\n".join(wrong)
    assert not leaks, "Personal data on pages:\n" + "\n".join(leaks)
    assert not headers, "Wrong caching or cookie flags:\n" + "\n".join(headers)
    # The pages' links were really read (the signed-out reader sees a few pages only).
    assert len(links) > (2 if role == "anon" else 20)
    assert not dead, f"{len(dead)} links lead nowhere for their reader:\n" + "\n".join(dead)
    assert not refused_forms, "Forms their reader may not send:\n" + "\n".join(
        sorted(refused_forms)
    )
    assert not restored_forms, (
        "Forms with a one-time key that the browser refills after Back (a new key, the old "
        'values: sent again, done twice); give the <form> autocomplete="off":\n'
        + "\n".join(sorted(restored_forms))
    )


@pytest.mark.parametrize("role", ROLES)
def test_every_post_answers_every_role_as_the_table_says(cast, table, role):
    """Every POST, as the role, on a cast of its own (an allowed POST changes what a later
    request sees; the GETs above never see one)."""
    wrong = []
    for request in table:
        if request.post is None:
            continue
        # A fresh client each time: a POST may sign out or change the session.
        got = outcome(cast.client(role).post(request.url, request.data))
        if got != request.post[role]:
            wrong.append(
                f"POST {request.url} ({request.key}) as {role}: "
                f"expected {request.post[role]}, got {got}"
            )
    assert not wrong, f"{len(wrong)} answers differ from the table:\n" + "\n".join(wrong)


HREF = re.compile(r'href="([^"]*)"')
POST_FORM = re.compile(r"<form\b[^>]*>", re.I)
ACTION = re.compile(r'action="([^"]*)"')
NOT_PAGES = ("/static/", "/media/", "/admin/")


def _app_page(url: str, response) -> bool:
    """An HTML page of the apps (the admin's own pages are Django's)."""
    return not url.startswith("/admin/") and response["Content-Type"].startswith("text/html")


def links_on(url: str, response) -> set[str]:
    """The links of an app page to pages of this site: not to another site, a file, a part
    of the same page or the admin's pages (its index, the menu's "Back office", is one)."""
    if not _app_page(url, response):
        return set()
    found = set()
    for href in HREF.findall(response.content.decode()):
        parts = urlsplit(urljoin(url, href.replace("&amp;", "&")))
        back_office = parts.path == reverse("admin:index")  # the menu's way in: followed
        if parts.scheme or parts.netloc or (parts.path.startswith(NOT_PAGES) and not back_office):
            continue
        found.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def dead_end(response, link: str) -> str:
    """Why following `link` leads nowhere ("" if it leads to a page): refused, not found, not
    a page to GET, an error, or a login; the village pick only when it brings the reader back
    to the link."""
    status = response.status_code
    if status in (400, 403, 404, 405) or status >= 500:
        return f"HTTP {status}"
    if status == 200 and response.context and response.context.get("app_list") == []:
        return "a back office with nothing the reader may see"
    if status not in (301, 302):
        return ""
    location = response.headers["Location"]
    if location.startswith((reverse("login"), reverse("card_login"), reverse("admin:login"))):
        return f"a login: {location}"
    pick = urlsplit(location)
    if pick.path == reverse("villagers:village_pick"):
        back = parse_qs(pick.query).get("next", [""])[0]
        return "" if back == link else f"the village pick, not back here: {location}"
    return ""


def test_the_table_has_no_rows_for_urls_that_no_longer_exist():
    patterns = discover()
    names = {pattern.name for pattern in patterns if pattern.name}
    routes = {pattern.route for pattern in patterns}
    assert set(URLS) - names == set()
    assert set(UNNAMED) - routes == set()
    from django.contrib import admin

    registered = {model._meta.label_lower for model in admin.site._registry}
    assert set(ADMIN_MODELS) == registered


WHOLE_FORM = re.compile(r"(<form\b[^>]*>)(.*?)</form>", re.I | re.S)


def keyed_forms_refilled(url: str, response) -> list[str]:
    """The actions of the page's POST forms that carry a one-time key but let the browser
    fill them in again when the teller comes Back to the page: the page is drawn afresh
    (no-store) with a new key, so the refilled values, sent again, would be done twice."""
    if not _app_page(url, response):
        return []
    refilled = []
    for tag, body in WHOLE_FORM.findall(response.content.decode()):
        keyed = 'name="idempotency_key"' in body
        if keyed and 'method="post"' in tag.lower() and 'autocomplete="off"' not in tag:
            found = ACTION.search(tag)
            refilled.append(urlsplit(urljoin(url, (found.group(1) if found else "") or url)).path)
    return refilled


def forms_refused(url: str, response) -> list[str]:
    """The actions of the page's POST forms whose view would refuse this reader, asked of
    the view's access rule (core.access.access_of) without sending anything."""
    if not _app_page(url, response):
        return []
    request = response.wsgi_request
    refused = []
    for tag in POST_FORM.findall(response.content.decode()):
        if 'method="post"' not in tag.lower():
            continue
        found = ACTION.search(tag)
        action = urlsplit(urljoin(url, (found.group(1) if found else "") or url)).path
        access = access_of(action)
        if access is not None and access.decide(request.user, request.village) != OPEN:
            refused.append(action)
    return refused
