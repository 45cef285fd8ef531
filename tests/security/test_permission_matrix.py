"""The permission matrix: every URL of the project, requested as every role, against the table.

The table (tests/security/url_table.py) says what each role must get; object ids belong to
household A of village X, so villager B, village Y's manager and the county admin ask for
someone else's objects. A new URL without a row fails here, naming it. The same pass searches
every page it renders for the cast's ID number and phones (tests/security/deployment.py).
"""

import logging

from tests.security.conftest import ROLES
from tests.security.deployment import personal_data_shown
from tests.security.matrix import discover, outcome, requests_for
from tests.security.url_table import ADMIN_MODELS, UNNAMED, URLS


def test_every_url_answers_every_role_as_the_table_says(cast, caplog):
    caplog.set_level(logging.ERROR, logger="django.request")  # 403/404 warnings: thousands
    patterns = discover()
    requests, missing = requests_for(cast, patterns)
    assert not missing, (
        "These URL patterns have no row in tests/security/url_table.py (add one saying who may "
        "reach them): " + ", ".join(sorted(missing))
    )
    assert len(requests) > 200  # the admin's pages are in, not only the apps'

    clients = {role: cast.client(role) for role in ROLES}
    wrong, leaks = [], []
    for request in requests:
        for role in ROLES:
            response = clients[role].get(request.url)
            got = outcome(response)
            if got == "200":
                # The same pass renders every page for every role: no ID number or phone.
                leaks += personal_data_shown(response, f"{request.url} ({request.key}) as {role}")
            if got != request.get[role]:
                wrong.append(
                    f"GET {request.url} ({request.key}) as {role}: "
                    f"expected {request.get[role]}, got {got}"
                )
    # POSTs after every GET: an allowed POST may change what a later GET would see.
    for request in requests:
        if request.post is None:
            continue
        for role in ROLES:
            # A fresh client each time: a POST may sign out or change the session.
            got = outcome(cast.client(role).post(request.url, request.data))
            if got != request.post[role]:
                wrong.append(
                    f"POST {request.url} ({request.key}) as {role}: "
                    f"expected {request.post[role]}, got {got}"
                )
    assert not wrong, f"{len(wrong)} answers differ from the table:\n" + "\n".join(wrong)
    assert not leaks, "Personal data on pages:\n" + "\n".join(leaks)


def test_the_table_has_no_rows_for_urls_that_no_longer_exist():
    patterns = discover()
    names = {pattern.name for pattern in patterns if pattern.name}
    routes = {pattern.route for pattern in patterns}
    assert set(URLS) - names == set()
    assert set(UNNAMED) - routes == set()
    from django.contrib import admin

    registered = {model._meta.label_lower for model in admin.site._registry}
    assert set(ADMIN_MODELS) == registered
