"""The audit log: each audited action writes who, what, when and from where; the table is
append-only in the database; staff of the village and the county read it, filtered."""

import datetime
import json
import logging

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.audit import audit_record
from core.models import AuditEvent
from tests.security.actions import (
    ADDRESS,
    NEW_MEMBER_ID,
    NEW_MEMBER_PHONE,
    NOBODY_PHONE,
    UNKNOWN_KEY,
    WRONG_PASSWORD,
    WRONG_PIN,
    perform_every_action,
)
from tests.security.conftest import HOUSEHOLD_PHONE
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE


def test_every_action_writes_who_what_when_and_where(cast):
    started = timezone.now()
    expected = perform_every_action(cast)
    assert len({action for action, _actor, _village in expected}) == 20
    for action, actor, village in expected:
        events = AuditEvent.objects.filter(
            action=action, village_id=village, ip_address=ADDRESS, at__gte=started
        )
        events = events.filter(actor__username=actor) if actor else events.filter(actor=None)
        assert events.exists(), (action, actor)
    failed = list(AuditEvent.objects.filter(action="login.failed", at__gte=started))
    assert {tuple(event.detail) for event in failed} == {("username",), ("card",)}
    for event in failed:
        text = json.dumps(event.detail)
        assert WRONG_PASSWORD not in text and WRONG_PIN not in text
    # A name or key of nobody: never kept whole (a phone masked, a key by its start).
    every = json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))
    assert NOBODY_PHONE not in every and UNKNOWN_KEY not in every


def test_personal_data_never_reaches_the_logs(cast, caplog):
    """The same actions with every logger at DEBUG: no ID number or phone in any record."""
    caplog.set_level(logging.DEBUG)
    perform_every_action(cast)
    logged = "\n".join(
        record.getMessage() + str(record.args) + str(record.exc_text or "")
        for record in caplog.records
    )
    assert caplog.records  # the capture works (logins, 4xx and the like are logged)
    for secret in (SECRET_ID, SECRET_PHONE, HOUSEHOLD_PHONE, NEW_MEMBER_ID, NEW_MEMBER_PHONE):
        assert secret not in logged, secret
    for secret in (WRONG_PASSWORD, WRONG_PIN, NOBODY_PHONE, UNKNOWN_KEY):
        assert secret not in logged, secret


@pytest.mark.parametrize("statement", ["UPDATE {} SET action = 'x'", "DELETE FROM {}"])
def test_the_audit_table_refuses_change_in_the_database(statement, manager_x):
    audit_record(action="test.event", actor=manager_x, village_id=manager_x.village_id)
    table = AuditEvent._meta.db_table
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(table))
    assert AuditEvent.objects.filter(action="test.event").count() == 1


def _events_seen(client, **query):
    response = client.get(reverse("reports:audit"), query)
    assert response.status_code == 200
    return [row["event"].action for row in response.context["rows"]]


def test_audit_page_scoped_to_the_village_and_county(
    client_manager_x, client_supervisor_x, client_manager_y, client_county, manager_x, manager_y
):
    audit_record(action="rule.update", actor=manager_x, village_id=manager_x.village_id)
    audit_record(action="item.update", actor=manager_y, village_id=manager_y.village_id)
    assert "rule.update" in _events_seen(client_supervisor_x)
    assert "item.update" not in _events_seen(client_manager_x)
    assert "rule.update" not in _events_seen(client_manager_y)
    seen = _events_seen(client_county)
    assert {"rule.update", "item.update"} <= set(seen)
    village_x = manager_x.village_id
    narrowed = _events_seen(client_county, village=village_x)
    assert "rule.update" in narrowed and "item.update" not in narrowed


def test_audit_page_filters_by_action_user_and_dates(client_supervisor_x, manager_x, supervisor_x):
    village = manager_x.village_id
    audit_record(action="proposal.create", actor=manager_x, village_id=village)
    audit_record(action="proposal.approve", actor=supervisor_x, village_id=village)
    audit_record(action="redemption.create", actor=manager_x, village_id=village)
    old = audit_record(action="proposal.reject", actor=supervisor_x, village_id=village)
    # A year-old event (auto_now_add would overwrite `at`, so it is inserted in SQL).
    a_year_ago = timezone.now() - datetime.timedelta(days=365)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO aidao_auditevent (at, actor_id, village_id, action, object_type, "
            "object_id, detail) VALUES (%s, %s, %s, 'proposal.old', '', '', '{}')",
            [a_year_ago, supervisor_x.pk, village],
        )
    assert set(_events_seen(client_supervisor_x, action="proposal")) >= {
        "proposal.create",
        "proposal.approve",
        old.action,
    }
    assert "redemption.create" not in _events_seen(client_supervisor_x, action="proposal")
    by_manager = set(_events_seen(client_supervisor_x, user="manager_x"))
    assert by_manager == {"proposal.create", "redemption.create"}
    today = timezone.localdate().isoformat()
    recent = set(_events_seen(client_supervisor_x, date_from=today, date_to=today))
    assert "proposal.approve" in recent
    bad = client_supervisor_x.get(
        reverse("reports:audit"), {"date_from": today, "date_to": "2000-01-01"}
    )
    assert bad.status_code == 200 and bad.context["form"].errors
    # The calendar's last day has no next day to end the range at: refused, not a 500.
    for edge in ({"date_to": "9999-12-31"}, {"date_from": "0001-01-01"}):
        page = client_supervisor_x.get(reverse("reports:audit"), edge)
        assert page.status_code == 200 and page.context["form"].errors, edge


def test_villagers_cannot_read_the_audit_log(client_villager_a, client_anon):
    assert client_villager_a.get(reverse("reports:audit")).status_code == 403
    response = client_anon.get(reverse("reports:audit"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_audit_page_query_count_is_flat(client_county, manager_x, django_assert_max_num_queries):
    for index in range(60):
        audit_record(action=f"test.{index}", actor=manager_x, village_id=manager_x.village_id)
    with django_assert_max_num_queries(12):
        response = client_county.get(reverse("reports:audit"))
    assert len(response.context["rows"]) == 50


def test_county_admin_sees_own_county_logins_only(county_admin):
    client = Client()
    client.force_login(county_admin)
    assert "login" in _events_seen(client, action="login")
    other = AuditEvent.objects.create(action="login", village_id=None)  # no actor, no village
    assert other.pk not in [
        row["event"].pk for row in client.get(reverse("reports:audit")).context["rows"]
    ]
