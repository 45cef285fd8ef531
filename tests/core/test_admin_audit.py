"""What the back office saves or deletes is in the audit log, with its village, as the app's
pages' writes are: a donor, a village group, a county, a township, a role, a staff account,
a sign-in record. A save that changes nothing writes neither the row nor an event."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.test import RequestFactory
from django.urls import reverse
from django.utils import translation

from core.admin import AuditedDeletesMixin, AuditedMixin, ChangesOnlyHistoryMixin
from core.models import AuditEvent
from points.admin import RuleAdmin
from reports.audit_labels import ACTIONS, sentence
from store.models import Donor
from tests.conftest import make_staff
from tests.core.test_saves_that_change_nothing import _version
from tests.factories import TownshipFactory
from tests.villagers.test_admin_scoping import _change_data
from villagers.admin import AidaoUserAdmin
from villagers.models import County, Township, VillageGroup

# Admins whose saves are audited by what they call, not by core.admin.AuditedMixin: a rule
# by points.services.rule_save, a staff account by AidaoUserAdmin.audit_staff_change.
AUDITED_ELSEWHERE = (RuleAdmin, AidaoUserAdmin)


def _drawn(client, url) -> dict:
    """A change page's form as a browser sends it back unchanged."""
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    return {name: value for name, value in data.items() if value not in (None, False)}


def _events(obj, verb=None):
    events = AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return events.filter(action__endswith=f".{verb}") if verb else events


@pytest.fixture
def donor(village_x):
    return Donor.objects.create(village=village_x, name="张爱心", kind=Donor.Kind.PERSON)


def test_a_donor_saved_in_the_back_office_is_audited_with_its_village(
    admin_client, village_x, donor
):
    """Noted by the team: a donor added, changed or deleted in the back office left no audit
    event; the village's staff never saw it."""
    add = reverse("admin:store_donor_add")
    data = {"village": village_x.pk, "name": "李善", "kind": "company", "contact": ""}
    assert admin_client.post(add, data).status_code == 302
    added = Donor.objects.get(name="李善")
    (event,) = _events(added)
    assert (event.action, event.village_id) == ("donor.create", village_x.pk)
    assert event.detail["changed"]["name"] == [None, "李善"]

    url = reverse("admin:store_donor_change", args=[donor.pk])
    sent = _drawn(admin_client, url)
    version = _version(donor)
    for _ in range(2):  # saved as drawn, then the same form sent again
        assert admin_client.post(url, sent).status_code == 302
    assert not _events(donor).exists()
    assert _version(donor) == version

    for _ in range(2):  # a change, then the same form sent again
        assert admin_client.post(url, sent | {"contact": "138"}).status_code == 302
    (event,) = _events(donor)
    assert (event.action, event.village_id) == ("donor.update", village_x.pk)
    assert event.detail == {"changed": {"contact": ["", "138"]}}
    with translation.override("en"):
        assert str(sentence(event.action, event.detail, str)) == "Changed: contact: — → 138."

    delete = reverse("admin:store_donor_delete", args=[donor.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Donor.objects.filter(pk=donor.pk).exists()
    (event,) = _events(donor, "delete")
    assert (event.action, event.village_id, event.detail) == (
        "donor.delete",
        village_x.pk,
        {"name": "张爱心"},
    )


def test_rows_deleted_from_a_list_are_each_audited(admin_client, village_x, village_y, donor):
    other = Donor.objects.create(village=village_y, name="王善", kind=Donor.Kind.PERSON)
    url = reverse("admin:store_donor_changelist")
    chosen = {"action": "delete_selected", "_selected_action": [donor.pk, other.pk]}
    assert admin_client.post(url, chosen | {"post": "yes"}).status_code == 302
    assert not Donor.objects.filter(pk__in=[donor.pk, other.pk]).exists()
    deleted = AuditEvent.objects.filter(action="donor.delete").order_by("object_id")
    assert [(event.object_id, event.village_id) for event in deleted] == [
        (str(donor.pk), village_x.pk),
        (str(other.pk), village_y.pk),
    ]


@pytest.mark.parametrize(
    ("name", "model", "data", "changes", "village"),
    [
        pytest.param(
            "villagegroup",
            VillageGroup,
            lambda cast: {"village": cast["village"].pk, "name": "三组"},
            {"name": "四组"},
            True,
            id="villagegroup",
        ),
        pytest.param(
            "county",
            County,
            lambda cast: {"name": "新县"},
            {"name": "旧县"},
            False,
            id="county",
        ),
        pytest.param(
            "township",
            Township,
            lambda cast: {"name": "新乡", "county": cast["county"].pk},
            {"name": "旧乡"},
            False,
            id="township",
        ),
    ],
)
def test_the_registrys_places_saved_in_the_back_office_are_audited(
    admin_client, village_x, name, model, data, changes, village
):
    cast = {"village": village_x, "county": village_x.township.county}
    assert admin_client.post(reverse(f"admin:villagers_{name}_add"), data(cast)).status_code == 302
    row = model.objects.get(name=data(cast)["name"])
    url = reverse(f"admin:villagers_{name}_change", args=[row.pk])
    sent = _drawn(admin_client, url)
    for body in (sent, sent, sent | changes, sent | changes):
        assert admin_client.post(url, body).status_code == 302
    assert (
        admin_client.post(url.replace("/change/", "/delete/"), {"post": "yes"}).status_code == 302
    )
    events = _events(row).order_by("id")
    assert [event.action for event in events] == [
        f"{name}.create",
        f"{name}.update",
        f"{name}.delete",
    ]
    assert {event.village_id for event in events} == {village_x.pk if village else None}
    assert events[1].detail == {"changed": {"name": [data(cast)["name"], changes["name"]]}}


def test_a_roles_permissions_changed_in_the_back_office_are_audited(admin_client):
    role = Group.objects.create(name="审核员")
    url = reverse("admin:auth_group_change", args=[role.pk])
    sent = _drawn(admin_client, url)
    given = Permission.objects.get(codename="view_donor")
    for body in (sent, sent | {"permissions": [given.pk]}, sent | {"permissions": [given.pk]}):
        assert admin_client.post(url, body).status_code == 302
    (event,) = _events(role)
    assert event.action == "role.update"
    assert event.detail == {"changed": {"permissions": [[], [str(given)]]}}
    assert list(role.permissions.all()) == [given]


def test_the_roles_are_the_codes_and_read_only_in_the_back_office(admin_client):
    """Noted with the back office's audit: a role's permissions changed there were set back
    at the next migrate (villagers.groups.role_permissions_grant) without a word, and a
    role deleted there came back empty of its members."""
    from core.access import Role

    role = Group.objects.get(name=Role.MANAGER)
    held = set(role.permissions.values_list("pk", flat=True))
    url = reverse("admin:auth_group_change", args=[role.pk])
    given = Permission.objects.exclude(pk__in=held).first()
    admin_client.post(url, {"name": "改了", "permissions": [*held, given.pk]})
    role.refresh_from_db()
    assert role.name == Role.MANAGER
    assert set(role.permissions.values_list("pk", flat=True)) == held
    delete = reverse("admin:auth_group_delete", args=[role.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert Group.objects.filter(pk=role.pk).exists()


def test_a_staff_account_deleted_in_the_back_office_is_audited(admin_client, village_x):
    from core.access import Role

    staff = make_staff(Role.SUPERVISOR, village=village_x, username="to_go")
    delete = reverse("admin:villagers_user_delete", args=[staff.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    (event,) = _events(staff)
    assert (event.action, event.village_id, event.detail) == (
        "staff.delete",
        village_x.pk,
        {"name": "to_go"},
    )


def _registered():
    """(model, its admin) of every model on the back office (public API only)."""
    return [
        (model, admin.site.get_model_admin(model))
        for model in apps.get_models()
        if admin.site.is_registered(model)
    ]


def _superuser_request(admin_user):
    request = RequestFactory().get("/")
    request.user = admin_user
    return request


def test_every_back_office_page_that_saves_or_deletes_is_audited(admin_user):
    """A class-wide check: a new admin that can save or delete without an audit event
    fails here (the donor's admin could)."""
    request = _superuser_request(admin_user)
    unaudited = []
    for model, model_admin in _registered():
        saves = model_admin.has_add_permission(request) or model_admin.has_change_permission(
            request
        )
        if saves and not isinstance(model_admin, (AuditedMixin, *AUDITED_ELSEWHERE)):
            unaudited.append(f"{model._meta.label}: saves")
        deletes = model_admin.has_delete_permission(request)
        if deletes and not isinstance(model_admin, AuditedDeletesMixin):
            unaudited.append(f"{model._meta.label}: deletes")
    assert not unaudited


def test_every_code_the_back_office_writes_is_labelled(admin_user):
    request = _superuser_request(admin_user)
    codes = {}
    for model, model_admin in _registered():
        verbs = []
        if isinstance(model_admin, AuditedMixin):
            verbs += ["create"] * model_admin.has_add_permission(request)
            verbs += ["update"] * model_admin.has_change_permission(request)
        if isinstance(model_admin, AuditedDeletesMixin):
            verbs += ["delete"] * model_admin.has_delete_permission(request)
        for verb in verbs:
            codes[f"{model_admin.audit_name}.{verb}"] = model._meta.label
    assert {"donor.create", "donor.delete", "staff.delete", "role.update"} <= set(codes)
    assert not {code: label for code, label in codes.items() if code not in ACTIONS}


def test_a_sign_in_record_deleted_in_the_back_office_is_audited(admin_client):
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.create(
        username="someone", ip_address="10.0.0.1", failures_since_start=5
    )
    delete = reverse("admin:axes_accessattempt_delete", args=[attempt.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    (event,) = _events(attempt)
    assert event.action == "signin_record.delete"


def test_every_back_office_action_is_audited(admin_user):
    """A class-wide check: an action offered on a list (django-axes' "clean up expired
    attempts" deleted every expired attempt unaudited) audits what it does, as Django's
    "delete selected" does through AuditedDeletesMixin."""
    request = _superuser_request(admin_user)
    unaudited = []
    for model, model_admin in _registered():
        for name, (function, _name, _description) in model_admin.get_actions(request).items():
            if name == "delete_selected":
                audited = isinstance(model_admin, AuditedDeletesMixin)
            else:
                audited = getattr(function, "audited", False)
            if not audited:
                unaudited.append(f"{model._meta.label}: {name}")
    assert not unaudited


def test_expired_sign_in_records_removed_in_the_back_office_are_audited(
    admin_client, client_county
):
    import datetime

    from axes.models import AccessAttempt
    from django.utils import timezone

    expired, fresh = (
        AccessAttempt.objects.create(username=name, ip_address="10.0.0.1", failures_since_start=5)
        for name in ("old", "new")
    )
    long_ago = timezone.now() - datetime.timedelta(days=1)
    AccessAttempt.objects.filter(pk=expired.pk).update(attempt_time=long_ago)
    url = reverse("admin:axes_accessattempt_changelist")
    chosen = {"action": "cleanup_expired_attempts", "_selected_action": [fresh.pk]}
    for _ in range(2):  # the second removes nothing, and writes nothing
        assert admin_client.post(url, chosen).status_code == 302
    assert list(AccessAttempt.objects.values_list("username", flat=True)) == ["new"]
    (event,) = AuditEvent.objects.filter(action__startswith="signin_record.")
    assert (event.action, event.detail) == ("signin_record.cleanup", {"deleted": 1})
    # The superuser here has no county: the sign-in records are the whole site's.
    page = client_county.get(reverse("reports:audit"), {"action": "signin_record"})
    assert [row["event"].pk for row in page.context["rows"]] == [event.pk]
    with translation.override("en"):
        assert str(sentence(event.action, event.detail, str)) == "1 record removed."


def test_a_township_keeps_its_county_in_the_log(admin_client, village_x):
    township = TownshipFactory(county=village_x.township.county)
    url = reverse("admin:villagers_township_change", args=[township.pk])
    assert admin_client.post(url, _drawn(admin_client, url) | {"name": "改名乡"}).status_code == 302
    (event,) = _events(township)
    assert event.county_id == township.county_id


def _history(obj):
    return LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=str(obj.pk)
    )


def test_a_back_office_save_that_changes_nothing_writes_no_history(
    admin_client, client_county, donor, supervisor_x
):
    """Noted by the team: the admin's own history said "No fields changed." for every save
    of a page as drawn (or sent twice), on every page."""
    url = reverse("admin:store_donor_change", args=[donor.pk])
    sent = _drawn(admin_client, url)
    for body in (sent, sent, sent | {"contact": "138"}, sent | {"contact": "138"}):
        assert admin_client.post(url, body).status_code == 302
    (entry,) = _history(donor)
    with translation.override("en"):
        assert entry.get_change_message() == "Changed Contact."

    url, sent = _change_data(client_county, supervisor_x)  # Django's UserAdmin too
    for _ in range(2):
        assert client_county.post(url, sent).status_code == 302
    assert not _history(supervisor_x).exists()
    # A superuser's page too: its date joined lost its microseconds to the date widget at
    # every save, and the history said "Changed Date joined." (it is not theirs to type).
    url, sent = _change_data(admin_client, supervisor_x)
    for _ in range(2):
        assert admin_client.post(url, sent).status_code == 302
    assert not _history(supervisor_x).exists()


def test_every_back_office_page_keeps_changes_only_in_its_history():
    kept_all = [
        model._meta.label
        for model, model_admin in _registered()
        if not isinstance(model_admin, ChangesOnlyHistoryMixin)
    ]
    assert not kept_all


def test_a_village_deleted_in_the_back_office_is_in_its_countys_log(
    admin_client, village_x, client_county
):
    """A village's events are read through the village: its deletion, written as the
    village's, was read by nobody once the village was gone (not its county's admin)."""
    from tests.factories import VillageFactory

    gone = VillageFactory(township=village_x.township, name="错建村")
    delete = reverse("admin:villagers_village_delete", args=[gone.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    (event,) = _events(gone, "delete")
    page = client_county.get(reverse("reports:audit"), {"action": "village.delete"})
    assert [row["event"].pk for row in page.context["rows"]] == [event.pk]


def test_a_role_is_named_in_the_readers_language_in_the_log(
    admin_client, admin_user, village_x, client_county
):
    """The roles keep their English names in the database, and every page names a role in
    the reader's words (core.access.role_name): the log named the role changed or deleted
    in the back office as the database does ("Manager")."""
    from core.access import Role

    admin_user.county = village_x.township.county  # the county's system administrator
    admin_user.save()
    from core.audit import audit_record

    role = Group.objects.get(name=Role.MANAGER)
    audit_record(action="role.update", actor=admin_user, obj=role, detail={"changed": {}})
    with translation.override("zh-hans"):
        page = client_county.get(reverse("reports:audit"), {"action": "role"})
        (row,) = page.context["rows"]
        assert str(row["object"]) == "村管理员"
        assert "村管理员" in str(sentence("role.delete", {"name": Role.MANAGER}, str))


def test_what_the_audit_keeps_of_a_value_is_always_json():
    """Noted by a second read: an uploaded file or any other value JSON does not hold would
    have made an audited back-office save a server error."""
    import datetime
    import json
    import uuid
    from decimal import Decimal

    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.admin import audit_value

    values = [
        SimpleUploadedFile("photo.jpg", b"x"),
        Decimal("1.50"),
        datetime.date(2026, 12, 7),
        uuid.UUID(int=7),
        datetime.timedelta(days=1),
        None,
        True,
        3,
        "text",
    ]
    kept = [audit_value(value) for value in values]
    assert json.loads(json.dumps(kept))[:3] == ["photo.jpg", "1.50", "2026-12-07"]


def test_a_sign_in_record_deleted_is_read_without_who_tried_or_from_where(
    admin_client, client_county
):
    """Found in review: a sign-in record's deletion named the record as django-axes words
    it ("Failed access: user <name> … from <address>"), and a superuser of no county's is
    the whole site's event: every county's admin read who tried and from what address,
    where the log names a sign-in record by its kind and number only."""
    from axes.models import AccessFailureLog

    record = AccessFailureLog.objects.create(username="zhang-wei-x", ip_address="203.0.113.77")
    delete = reverse("admin:axes_accessfailurelog_delete", args=[record.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    page = client_county.get(reverse("reports:audit"), {"action": "signin_record"})
    assert len(page.context["rows"]) == 1
    text = page.content.decode()
    assert "zhang-wei-x" not in text and "203.0.113.77" not in text
