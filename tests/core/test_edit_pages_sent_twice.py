"""Every edit page whose form checks the row it was drawn from (core.edit_forms) answers a
double click the same way: saved once, the second answer goes where the first went and says
it was already sent. The household and member pages: tests/villagers/test_household_views.py."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.urls import reverse

from core.models import AuditEvent
from tests.points.conftest import rule_clean  # noqa: F401 (fixture)
from tests.store.conftest import zones_x  # noqa: F401 (fixture)

ALREADY = "This was already sent; nothing was recorded twice."


def _drawn(client, url) -> dict:
    """What the edit page's form sends as drawn (its hidden digest included; no new file)."""
    form = client.get(url).context["form"]
    fields = {
        name: form[name].value()
        for name, field in form.fields.items()
        if not isinstance(field, forms.FileField)
    }
    return {name: value for name, value in fields.items() if value not in (None, False)}


@pytest.fixture
def towel(village_x, manager_x, zones_x):  # noqa: F811 (fixture)
    from tests.store.conftest import make_item

    return make_item(village_x, "daily", "毛巾", 5, 10, manager_x)


@pytest.mark.parametrize(
    ("name", "edited", "changes"),
    [
        ("store:item_edit", "towel", {"points_price": 6}),
        ("points:rule_edit", "rule_clean", {"points": 6}),
    ],
)
def test_an_edit_sent_twice_is_saved_once_and_said_so(
    request, client_manager_x, name, edited, changes
):
    """Found by a second read: the item and rule pages showed their form again with "this
    was already saved", as an error, after a double click whose first click had saved."""
    row = request.getfixturevalue(edited)
    url = reverse(name, args=[row.pk])
    sent = {**_drawn(client_manager_x, url), **changes}
    first = client_manager_x.post(url, sent, HTTP_ACCEPT_LANGUAGE="en")
    second = client_manager_x.post(url, sent, HTTP_ACCEPT_LANGUAGE="en")
    assert first.status_code == 302, first.context["form"].errors
    assert second.status_code == 302, second.context["form"].errors
    assert second.url == first.url
    assert [str(m) for m in get_messages(second.wsgi_request)][-1] == ALREADY
    events = AuditEvent.objects.filter(object_id=str(row.pk), action__endswith=".update")
    assert events.count() <= 1, list(events.values_list("action", flat=True))
