"""The Django admin shows each manager only their own village's registry rows."""

import datetime

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from core.access import Role
from core.models import AuditEvent
from tests.conftest import PASSWORD, make_staff
from tests.core.test_saves_that_change_nothing import _version
from tests.factories import HouseholdFactory, TownshipFactory, VillageFactory
from villagers.models import County, Township, User

STRONG = "Yellow-River-Terraces-87"


def _change_data(client, user) -> tuple[str, dict]:
    """The user's change page as a browser posts it back unchanged: only what the page shows
    (a select's options outside its choices cannot be sent)."""
    url = reverse("admin:villagers_user_change", args=[user.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: form[name].value()
        for name in form.fields
        if name != "password" and form[name].value() not in (None, False)
    }
    for name, value in list(data.items()):
        if isinstance(value, datetime.datetime):  # a split date-and-time widget
            del data[name]
            data |= {f"{name}_0": f"{value:%Y-%m-%d}", f"{name}_1": f"{value:%H:%M:%S}"}
    if "groups" in form.fields:
        shown = set(form.fields["groups"].queryset.values_list("pk", flat=True))
        data["groups"] = [pk for pk in data.get("groups", []) if pk in shown]
    return url, data


@pytest.fixture
def rows_x(card_a, member_a, group_x):
    household = card_a.household
    return {
        "village": household.village,
        "villagegroup": group_x,
        "household": household,
        "member": member_a,
        "inspection": household.inspections.get(),
        "participation": household.participations.get(),
        "card": card_a,
    }


@pytest.fixture
def rows_y(card_y):
    household = card_y.household
    return {
        "village": household.village,
        "villagegroup": household.group,
        "household": household,
        "inspection": household.inspections.get(),
        "card": card_y,
    }


MODELS = ["village", "villagegroup", "household", "member", "inspection", "participation", "card"]


@pytest.mark.parametrize("model", MODELS)
def test_changelist_hides_other_village(model, rows_x, rows_y, client_manager_y):
    response = client_manager_y.get(reverse(f"admin:villagers_{model}_changelist"))
    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    assert rows_x[model].pk not in shown
    if model in rows_y:
        assert rows_y[model].pk in shown


@pytest.mark.parametrize("model", MODELS)
def test_change_page_of_other_village_is_refused(model, rows_x, client_manager_y):
    url = reverse(f"admin:villagers_{model}_change", args=[rows_x[model].pk])
    response = client_manager_y.get(url)
    assert response.status_code in (302, 404)
    if response.status_code == 302:
        assert response.url == reverse("admin:index")
    post = client_manager_y.post(url, {"name": "改"})
    assert post.status_code in (302, 403, 404)
    rows_x[model].refresh_from_db()
    assert getattr(rows_x[model], "name", "") != "改"


@pytest.mark.parametrize("model", ["household", "member", "inspection", "participation"])
def test_the_registry_is_written_on_the_apps_pages_only(model, rows_x, client_manager_x):
    """A household marked moved here kept its active card: the admin skipped the checks of
    the services the app's pages go through (household_save, member_save, the past-day
    check of inspections)."""
    household = rows_x["household"]
    change = reverse(f"admin:villagers_{model}_change", args=[rows_x[model].pk])
    page = client_manager_x.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.text
    response = client_manager_x.post(
        change,
        {
            "number": household.number,
            "head_name": household.head_name,
            "group": household.group_id,
            "status": "moved",
            "members-TOTAL_FORMS": "0",
            "members-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 403
    assert client_manager_x.get(reverse(f"admin:villagers_{model}_add")).status_code == 403
    household.refresh_from_db()
    assert household.status == "active" and household.cards.get().status == "active"


def test_manager_x_sees_own_rows(client_manager_x, rows_x):
    response = client_manager_x.get(reverse("admin:villagers_household_changelist"))
    assert rows_x["household"].pk in {obj.pk for obj in response.context["cl"].result_list}


def test_a_county_admin_keeps_a_village_in_the_county(client_county, village_x, village_z):
    """Another county's township is neither offered nor accepted for a village."""
    elsewhere = Township.objects.create(name="别乡", county=County.objects.create(name="别县"))
    url = reverse("admin:villagers_village_change", args=[village_x.pk])
    offered = client_county.get(url).context["adminform"].form.fields["township"].queryset
    assert village_z.township in offered and elsewhere not in offered
    form = client_county.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    response = client_county.post(url, data | {"township": elsewhere.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.text
    village_x.refresh_from_db()
    assert village_x.township_id != elsewhere.pk


def test_a_groups_village_is_kept_once_it_has_one(client_county, group_x, village_y):
    """Its households are its village's: moved, they would sit in another village's group."""
    url = reverse("admin:villagers_villagegroup_change", args=[group_x.pk])
    assert "village" not in client_county.get(url).context["adminform"].form.fields
    client_county.post(url, {"name": group_x.name, "village": village_y.pk})
    group_x.refresh_from_db()
    assert group_x.village_id != village_y.pk


def test_a_county_admin_neither_changes_a_villager_login_nor_makes_one(
    client_county, villager_a, secretary_x, household_b
):
    """A villager's login belongs to its card: a recall ended it, and the admin could switch
    it on again, or give a household a login whose password the county admin chose."""
    change = reverse("admin:villagers_user_change", args=[villager_a.pk])
    page = client_county.get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert client_county.post(change, {"username": villager_a.username}).status_code == 403
    staff = reverse("admin:villagers_user_change", args=[secretary_x.pk])
    form = client_county.get(staff).context["adminform"].form
    data = {
        name: form[name].value()
        for name in form.fields
        if form[name].value() not in (None, False) and name != "password"
    }
    data.pop("is_staff", None)
    response = client_county.post(staff, data | {"household": household_b.pk})
    assert response.status_code == 200 and "made by issuing its card" in response.text
    secretary_x.refresh_from_db()
    assert secretary_x.household_id is None and secretary_x.is_staff


@pytest.fixture(params=["peer", "superuser"])
def above_county_admin(request, village_x):
    """Who a county admin never manages: another county admin of the county, a superuser."""
    county = village_x.township.county
    if request.param == "peer":
        return make_staff(Role.COUNTY_ADMIN, county=county, username="peer")
    return User.objects.create_superuser("root", password=PASSWORD, county=county)


def test_a_county_admin_never_reaches_a_peer_or_a_superuser(client_county, above_county_admin):
    """A county admin set a peer's (or a superuser's) password, and saving a peer's page
    took their County admin role (the groups offered leave it out, and saving sets them)."""
    target = above_county_admin
    listed = client_county.get(reverse("admin:villagers_user_changelist")).context["cl"]
    assert target.pk not in {user.pk for user in listed.queryset}
    change = reverse("admin:villagers_user_change", args=[target.pk])
    assert client_county.get(change).status_code == 302  # "not found", back to the index
    client_county.post(change, {"username": target.username, "display_name": "renamed"})
    password = reverse("admin:auth_user_password_change", args=[target.pk])
    response = client_county.post(password, {"password1": STRONG, "password2": STRONG})
    assert response.status_code == 404
    history = reverse("admin:villagers_user_history", args=[target.pk])
    assert client_county.get(history).status_code == 302
    target.refresh_from_db()
    assert target.check_password(PASSWORD) and target.display_name != "renamed"
    assert target.is_superuser or target.groups.filter(name=Role.COUNTY_ADMIN).exists()


def test_a_superuser_still_manages_county_admins(admin_client, county_admin):
    url = reverse("admin:auth_user_password_change", args=[county_admin.pk])
    admin_client.post(url, {"password1": STRONG, "password2": STRONG})
    county_admin.refresh_from_db()
    assert county_admin.check_password(STRONG)


@pytest.fixture
def county_admin_at_home(county_admin, household_a):
    """The county admin, linked to their own household (it keeps them off its items)."""
    User.objects.filter(pk=county_admin.pk).update(household=household_a)
    county_admin.refresh_from_db()
    return county_admin


def test_a_county_admin_gives_themselves_no_role_village_or_household(
    client_county, county_admin_at_home, village_x
):
    """Saving one's own page took one's County admin role (not offered, so not sent), and a
    county admin could make themselves village X's supervisor, or take off the household
    link: a role, a village and an unguarded household nobody else gave."""
    me = county_admin_at_home
    url, data = _change_data(client_county, me)
    form = client_county.get(url).context["adminform"].form
    assert not {"groups", "village", "township", "county", "household"} & set(form.fields)
    supervisor = Group.objects.get(name=Role.SUPERVISOR).pk
    forged = {"village": village_x.pk, "groups": [supervisor], "household": ""}
    response = client_county.post(url, data | forged | {"display_name": "Me"})
    assert response.status_code == 302
    me.refresh_from_db()
    assert me.display_name == "Me" and me.village_id is None and me.household_id is not None
    assert set(me.groups.values_list("name", flat=True)) == {Role.COUNTY_ADMIN}


def test_a_superuser_may_change_their_own_roles_and_places(admin_client, admin_user, village_x):
    url, data = _change_data(admin_client, admin_user)
    supervisor = Group.objects.get(name=Role.SUPERVISOR).pk
    response = admin_client.post(url, data | {"village": village_x.pk, "groups": [supervisor]})
    assert response.status_code == 302
    admin_user.refresh_from_db()
    assert admin_user.village_id == village_x.pk and admin_user.groups.get().pk == supervisor


def test_saving_a_staff_page_keeps_the_groups_it_does_not_offer(client_county, secretary_x):
    exporter = Group.objects.create(name="Exporter")  # one a superuser made and gave
    secretary_x.groups.add(exporter)
    url, data = _change_data(client_county, secretary_x)
    assert client_county.post(url, data | {"display_name": "组长"}).status_code == 302
    assert set(secretary_x.groups.values_list("name", flat=True)) == {
        Role.PARTY_SECRETARY,
        "Exporter",
    }


def _add_body(username: str, **fields) -> dict:
    return {
        "username": username,
        "usable_password": "true",
        "password1": STRONG,
        "password2": STRONG,
        "display_name": username,
    } | fields


def test_a_county_admin_makes_a_staff_account_and_finds_it_again(client_county, village_x):
    """The add page asked a name and a password only: the account had no place, no staff
    status and no role, fell outside the county admin's list and was never seen again."""
    manager = Group.objects.get(name=Role.MANAGER).pk
    body = _add_body("newmgr", village=village_x.pk, groups=[manager])
    response = client_county.post(reverse("admin:villagers_user_add"), body)
    made = User.objects.get(username="newmgr")
    change = reverse("admin:villagers_user_change", args=[made.pk])
    assert response.status_code == 302 and response.url == change
    assert made.is_staff and made.village_id == village_x.pk and made.check_password(STRONG)
    assert list(made.groups.values_list("name", flat=True)) == [Role.MANAGER]
    assert client_county.get(change).status_code == 200
    listed = client_county.get(reverse("admin:villagers_user_changelist")).context["cl"]
    assert made in listed.queryset


def test_the_add_page_gives_a_role_with_its_place_within_the_county(
    client_county, village_x, village_z
):
    add = reverse("admin:villagers_user_add")
    form = client_county.get(add).context["adminform"].form
    offered = set(form.fields["groups"].queryset.values_list("name", flat=True))
    assert Role.COUNTY_ADMIN not in offered and "county" not in form.fields
    elsewhere = Township.objects.create(name="别乡", county=County.objects.create(name="别县"))
    officer = Group.objects.get(name=Role.TOWNSHIP_OFFICER).pk
    supervisor = Group.objects.get(name=Role.SUPERVISOR).pk
    refused = {
        "no role": _add_body("a", village=village_x.pk),
        "no village": _add_body("b", groups=[supervisor], township=village_z.township_id),
        "no township": _add_body("c", groups=[officer], village=village_x.pk),
        "another county": _add_body("d", groups=[officer], township=elsewhere.pk),
    }
    for case, body in refused.items():
        assert client_county.post(add, body).status_code == 200, case
    assert not User.objects.filter(username__in=["a", "b", "c", "d"]).exists()
    body = _add_body("e", groups=[officer], township=village_z.township_id)
    assert client_county.post(add, body).status_code == 302


def test_the_staff_page_names_a_household_by_lookup_within_the_county(
    client_county, village_x, household_a, household_y
):
    """Found at the size of a county: the staff pages drew every household of the county in
    a drop-down (about 7,200, hundreds of kilobytes). The household is searched for;
    one of another county is still refused."""
    add = reverse("admin:villagers_user_add")
    page = client_county.get(add).content.decode()
    assert "admin-autocomplete" in page  # a search, not a drop-down of every household
    assert household_a.head_name not in page
    manager = Group.objects.get(name=Role.MANAGER).pk
    body = _add_body("withhome", village=village_x.pk, groups=[manager], household=household_a.pk)
    assert client_county.post(add, body).status_code == 302
    assert User.objects.get(username="withhome").household_id == household_a.pk
    elsewhere = VillageFactory(
        code="909", township=TownshipFactory(county=County.objects.create(name="远县"))
    )
    far = HouseholdFactory(village=elsewhere)
    body = _add_body("faraway", village=village_x.pk, groups=[manager], household=far.pk)
    refused = client_county.post(add, body)
    assert refused.status_code == 200
    assert not User.objects.filter(username="faraway").exists()
    # Found by a second read: the page drawn again named the other county's household.
    assert far.head_name not in refused.content.decode()
    # The search that offers households answers from the county's own only.
    search = reverse("admin:autocomplete")
    params = {"app_label": "villagers", "model_name": "user", "field_name": "household"}
    found = client_county.get(search, params | {"term": far.head_name}).json()["results"]
    assert found == []
    own = client_county.get(search, params | {"term": household_a.head_name}).json()["results"]
    assert [row["id"] for row in own] == [str(household_a.pk)]


def _events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_staff_changes_in_the_admin_reach_the_audit_log(
    client_county, county_admin, supervisor_x, household_a, client_township, settings
):
    """A supervisor's household link taken off (the rule-8 check for that household with
    it), a role given, a password set: none of it reached the audit log that the township
    officer and the county read, only the admin's own history."""
    User.objects.filter(pk=supervisor_x.pk).update(household=household_a)
    url, data = _change_data(client_county, supervisor_x)
    both = Group.objects.filter(name__in=[Role.SUPERVISOR, Role.MANAGER])
    data = data | {"household": "", "groups": list(both.values_list("pk", flat=True))}
    assert client_county.post(url, data).status_code == 302
    password = reverse("admin:auth_user_password_change", args=[supervisor_x.pk])
    client_county.post(password, {"password1": STRONG, "password2": STRONG})
    manager = Group.objects.get(name=Role.MANAGER).pk
    body = _add_body("newmgr", village=supervisor_x.village_id, groups=[manager])
    client_county.post(reverse("admin:villagers_user_add"), body)

    [changed], [password_set], [made] = map(
        _events, ["staff.update", "staff.password", "staff.create"]
    )
    for event in (changed, password_set, made):
        assert event.actor == county_admin and event.village_id == supervisor_x.village_id
    assert changed.object_id == str(supervisor_x.pk)
    assert changed.detail == {
        "roles_given": [Role.MANAGER],
        "household_before": household_a.pk,
        "household": None,
    }
    assert password_set.detail == {"password": True}
    village = supervisor_x.village.name
    assert made.detail == {
        "roles_given": [Role.MANAGER],
        "village": [None, village],
        "password": True,
    }

    settings.LANGUAGE_CODE = "en"
    page = client_township.get(reverse("reports:audit"), HTTP_ACCEPT_LANGUAGE="en").text
    for words in ("Staff account changed", "Roles given: Manager.", "Staff password set"):
        assert words in page
    assert "Own household:" in page and household_a.head_name in page


def test_a_staff_accounts_names_and_e_mail_changed_in_the_admin_are_audited(
    client_county, secretary_x, client_township
):
    """Found by the audit's review: a staff account renamed (the name it signs in with, the
    name the log shows it by) or given another e-mail reached the admin's history only;
    the township officer and the county read nothing of it. Kept from what to what, masked
    where a value reads as a phone or an ID number; a page saved as drawn writes nothing."""
    url, data = _change_data(client_county, secretary_x)
    assert client_county.post(url, data).status_code == 302
    assert not AuditEvent.objects.filter(action__startswith="staff.").exists()
    renamed = {"username": "13912345678", "display_name": "王组长", "email": "wang@example.cn"}
    assert client_county.post(url, data | renamed).status_code == 302
    [event] = _events("staff.update")
    assert event.village_id == secretary_x.village_id
    assert event.detail == {
        "username": ["secretary_x", "139****5678"],
        "display_name": ["secretary_x", "王组长"],
        "email": [None, "wang@example.cn"],
    }
    page = client_township.get(reverse("reports:audit"), HTTP_ACCEPT_LANGUAGE="en").text
    assert "13912345678" not in page and "王组长" in page and "wang@example.cn" in page


def test_permissions_a_superuser_gives_a_staff_account_are_audited(admin_client, manager_x):
    url, data = _change_data(admin_client, manager_x)
    given = Permission.objects.get(codename="view_donor")
    assert admin_client.post(url, data | {"user_permissions": [given.pk]}).status_code == 302
    [event] = _events("staff.update")
    assert event.detail == {"permissions": [[], [str(given)]]}


def test_a_village_setting_changed_in_the_admin_is_audited(client_county, county_admin, village_x):
    """The publicity days, the yearly settlement and what it keeps decide when and which
    points count: changed in the admin, they left no audit event."""
    url = reverse("admin:villagers_village_change", args=[village_x.pk])
    form = client_county.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data = {name: value for name, value in data.items() if value is not False}
    response = client_county.post(url, data | {"publicity_days": "5", "yearly_settlement": "on"})
    assert response.status_code == 302
    [event] = _events("village.update")
    assert event.actor == county_admin and event.village_id == village_x.pk
    assert event.detail == {
        "changed": {"publicity_days": [0, 5], "yearly_settlement": [False, True]}
    }
    # A row is named, before as after (found by a second read: "Township: 33 → 新乡").
    other = Township.objects.create(county=village_x.township.county, name="新乡")
    before = village_x.township.name
    changed = {"publicity_days": "5", "yearly_settlement": "on", "township": other.pk}
    response = client_county.post(url, data | changed)
    assert response.status_code == 302
    [_first, moved] = _events("village.update")
    assert moved.detail == {"changed": {"township": [before, "新乡"]}}


def test_a_village_or_staff_page_saved_unchanged_records_nothing(
    client_county, village_x, supervisor_x, household_a
):
    """Noted by the team: a village saved in the admin with nothing changed (as drawn, or
    the same form sent twice) recorded "village.update" with an empty list of changes, and
    wrote the row, as the services no longer do (core.audit.as_stored); a staff account's
    page must record nothing either."""
    url = reverse("admin:villagers_village_change", args=[village_x.pk])
    form = client_county.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data = {name: value for name, value in data.items() if value is not False}
    version = _version(village_x)
    for _ in range(2):
        assert client_county.post(url, data).status_code == 302
    assert _version(village_x) == version
    changed = data | {"publicity_days": "5"}
    for _ in range(2):  # a change, then the same form sent again
        assert client_county.post(url, changed).status_code == 302
    assert [event.detail for event in _events("village.update")] == [
        {"changed": {"publicity_days": [0, 5]}}
    ]

    User.objects.filter(pk=supervisor_x.pk).update(household=household_a)
    url, data = _change_data(client_county, supervisor_x)
    for body in (data, data, data | {"household": ""}, data | {"household": ""}):
        assert client_county.post(url, body).status_code == 302
    assert [event.detail for event in _events("staff.update")] == [
        {"household": None, "household_before": household_a.pk}
    ]


def test_a_villages_code_is_kept_once_a_card_bears_it(client_county, village_x, village_z, card_a):
    """Found by a probe: changed after cards were issued, the code left every printed
    notice's QR code (/village/notice/<code>/...) a 404, or, taken by another village, the
    way to that village's notice; card numbers begin with it."""
    old = village_x.code
    url = reverse("admin:villagers_village_change", args=[village_x.pk])
    form = client_county.get(url).context["adminform"].form
    assert "code" not in form.fields
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data = {name: value for name, value in data.items() if value is not False}
    assert client_county.post(url, data | {"code": "909"}).status_code == 302
    village_x.refresh_from_db()
    assert village_x.code == old
    # A village with no card yet may still have its code put right.
    other = reverse("admin:villagers_village_change", args=[village_z.pk])
    assert "code" in client_county.get(other).context["adminform"].form.fields


@pytest.mark.parametrize("rate", ["0", "0.00", "-1"])
def test_a_point_is_worth_more_than_nothing(client_county, village_x, rate):
    """Found in review: a point worth 0 yuan (or less) was accepted, valuing the points held
    and the stock's cover at nothing; the admin says why, saving nothing."""
    url = reverse("admin:villagers_village_change", args=[village_x.pk])
    form = client_county.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data = {name: value for name, value in data.items() if value is not False}
    response = client_county.post(url, data | {"yuan_per_point": rate})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["yuan_per_point"] == ["One point must be worth more than 0 yuan."]
    village_x.refresh_from_db()
    assert village_x.yuan_per_point == 3


def test_the_household_list_filters_by_the_groups_it_lists_only(
    client_manager_x, group_x, group_y, household_a, household_y
):
    """Found by a probe: the "group" filter offered every village group of the deployment
    (another county's too): names only, but thousands of links in a province."""
    from tests.factories import HouseholdFactory, VillageGroupFactory

    other_x = VillageGroupFactory(village=group_x.village, name="北组")
    HouseholdFactory(group=other_x)
    page = client_manager_x.get(reverse("admin:villagers_household_changelist")).content.decode()
    assert f"group__id__exact={group_x.pk}" in page
    assert f"group__id__exact={other_x.pk}" in page
    assert f"group__id__exact={group_y.pk}" not in page


def test_the_staff_list_reads_places_in_one_go(client_county, village_x, village_y):
    """Found by a probe at a county's size: a query per row (98 of the list's 107) for the
    village and county columns, which may be empty."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:villagers_user_changelist")

    def queries():
        with CaptureQueriesContext(connection) as taken:
            assert client_county.get(url).status_code == 200
        return len(taken)

    for number in range(3):
        make_staff(Role.MANAGER, village=village_x, username=f"few{number}")
    queries()  # the session's statement is prepared on its first use
    few = queries()
    for number in range(12):
        make_staff(Role.MANAGER, village=village_y, username=f"many{number}")
    assert queries() == few
