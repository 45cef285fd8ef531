"""The audit log reads as words: every action code has a translated name, objects are links
with their names, details are sentences; no raw code, repr or personal data on the page."""

import ast
import html
import re
from pathlib import Path

from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from core.access import Role, village_pick_url
from core.audit import audit_record
from core.models import AuditEvent
from reports.audit_labels import ACTIONS, AREAS, masked_detail
from store.models import Donor
from tests.conftest import PROJECT_PACKAGES, make_staff
from tests.factories import HouseholdFactory, VillageGroupFactory
from tests.security.actions import (
    NEW_MEMBER_ID,
    NEW_MEMBER_PHONE,
    NOBODY_PHONE,
    UNKNOWN_KEY,
    perform_every_action,
)
from tests.security.conftest import HOUSEHOLD_PHONE, _english, _media_in_tmp, cast  # noqa: F401
from tests.villagers.conftest import SECRET_ID, SECRET_PHONE
from tests.wishwall.conftest import post_wish
from villagers.models import User
from wishwall import services as wish_services

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = PROJECT_PACKAGES
WRITERS = {"audit_record", "audit_records", "audit_plan", "record_save"}


def _strings(node) -> list[str]:
    """The codes an `action=` expression can be: a literal, or either arm of a conditional
    (record_save passing its caller's code on is a name, not a code)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body) + _strings(node.orelse)
    return []


def audit_writer_calls():
    """(the enclosing function, the call, where) of every audit writer call of the production
    code: a call in a nested function is given once for each function around it."""
    for package in PRODUCTION:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef):
                    continue
                for node in ast.walk(function):
                    if not isinstance(node, ast.Call):
                        continue
                    name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                    if name in WRITERS:
                        yield function, node, f"{path.relative_to(ROOT)}:{node.lineno}"


def written_action_codes() -> dict[str, str]:
    """{action code: where} for every code the production code hands the audit writer.

    Read from the source: the string constants of each writer call's `action=` (both arms
    of a conditional too), a "{verb}" code standing for its create and update codes.
    """
    found = {}
    for _function, node, where in audit_writer_calls():
        for keyword in node.keywords:
            if keyword.arg != "action":
                continue
            for written in _strings(keyword.value):
                for verb in ("create", "update"):
                    found[written.replace("{verb}", verb)] = where
    return found


def test_every_action_code_the_code_writes_has_a_label():
    codes = written_action_codes()
    assert len(codes) > 40  # the reader really finds them
    assert {"login.failed", "declaration.submit", "household.create", "notice.publish"} <= set(
        codes
    )
    missing = {code: where for code, where in codes.items() if code not in ACTIONS}
    assert not missing, f"give these action codes a label in reports/audit_labels.py: {missing}"


def _rows(page: str) -> list[str]:
    return re.findall(r'<li class="list-group-item">(.*?)</li>', page, re.S)


def test_the_log_reads_as_words_with_links_and_no_personal_data(cast):  # noqa: F811
    perform_every_action(cast)
    audit_record(action="wish.approve", actor=cast.users["manager_x"], village_id=cast.village_x.pk,
                 obj=cast.wish, detail={"hide_household": False})  # fmt: skip
    client = cast.client("supervisor_x")
    response = client.get(reverse("reports:audit"), {"page": 1})
    assert response.status_code == 200
    page = response.content.decode()
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    rows = response.context["rows"]
    assert rows

    # Actions by their names, never their codes.
    labels = {str(action.label) for action in ACTIONS.values()}
    assert all(row["label"] in labels for row in rows), [row["label"] for row in rows]
    for code in ("login.failed", "declaration.submit", "proposal.approve"):
        assert f">{code}<" not in page
    assert "Failed sign-in" in text and "Villager's declaration submitted" in text

    # Objects as links to their pages, with their names; never "type#id".
    assert not re.search(r"\b[a-z]+\.[a-z]+#\d+", text), "a raw object reference"
    household = cast.household_a
    assert f'href="{reverse("reports:household", args=[household.pk])}"' in page
    assert re.search(r'href="/points/proposals/\d+/"', page)
    assert re.search(r'href="/store/redemptions/\d+/"', page)
    assert f'href="{reverse("wishwall:detail", args=[cast.wish.pk])}"' in page
    assert "the card login of" in text  # a villager's login, named by the household

    # Details as sentences: no key=value, no Python reprs.
    assert "hide_household" not in text and "=False" not in text and "=True" not in text
    assert "Shown on the wall with the household's name." in text
    assert "{'" not in text and "['" not in text and "None" not in text

    # Personal data stays masked (never an ID number or a phone).
    for secret in (SECRET_ID, SECRET_PHONE, HOUSEHOLD_PHONE, NEW_MEMBER_ID, NEW_MEMBER_PHONE):
        assert secret not in page

    # The county reads the whole site's too: a name of nobody masked, a key by its start.
    county = html.unescape(cast.client("county").get(reverse("reports:audit")).text)
    assert f"User name tried: {NOBODY_PHONE[:3]}****{NOBODY_PHONE[-4:]}" in county
    assert f"with a key starting {UNKNOWN_KEY[:4]}…" in county
    for secret in (NOBODY_PHONE, UNKNOWN_KEY, SECRET_ID, SECRET_PHONE, NEW_MEMBER_ID):
        assert secret not in county


def test_an_unknown_object_or_detail_is_plain_words(cast):  # noqa: F811
    audit_record(
        action="test.event",
        actor=cast.users["manager_x"],
        village_id=cast.village_x.pk,
        detail={"some_flag": True, "names": ["a", "b"]},
    )
    page = cast.client("manager_x").get(reverse("reports:audit")).content.decode()
    assert "names: a, b; some flag: yes" in page  # PostgreSQL keeps jsonb keys sorted


def test_the_page_reads_each_kind_of_object_once(cast, django_assert_max_num_queries):  # noqa: F811
    perform_every_action(cast)
    client = cast.client("supervisor_x")
    client.get(reverse("reports:audit"))
    # Session, user, the count and the page, the villages, then one query per kind of
    # object named on the page (about twenty kinds), whatever the number of events.
    with django_assert_max_num_queries(30):
        assert client.get(reverse("reports:audit")).status_code == 200


def test_the_log_is_filtered_by_an_action_named_in_words(cast):  # noqa: F811
    manager = cast.users["manager_x"]
    for action in ("wish.approve", "donation.correct"):
        audit_record(action=action, actor=manager, village_id=cast.village_x.pk)
    client = cast.client("manager_x")
    page = client.get(reverse("reports:audit"), HTTP_ACCEPT_LANGUAGE="zh-hans").text
    assert '<option value="donation.correct">更正捐赠记录</option>' in page
    shown = client.get(reverse("reports:audit"), {"action": "donation.correct"}).context["page"]
    assert [event.action for event in shown] == ["donation.correct"]


def test_every_action_has_its_area():
    assert {code.split(".")[0] for code in ACTIONS} == set(AREAS)


def test_every_action_name_is_in_the_chinese_catalogue():
    """The names are lazy: makemessages must find them (it did not while they hid behind an
    alias), or the zh-hans log shows English."""
    untranslated = []
    for code, action in ACTIONS.items():
        with translation.override("en"):
            english = str(action.label)
        with translation.override("zh-hans"):
            if str(action.label) == english:
                untranslated.append(code)
    assert not untranslated


def _links(client) -> set[str]:
    page = client.get(reverse("reports:audit")).content.decode()
    return {html.unescape(href) for href in re.findall(r'href="([^"]+)"', page)}


def test_each_reader_is_linked_only_where_they_may_go(cast):  # noqa: F811
    household_y = HouseholdFactory(group=VillageGroupFactory(village=cast.village_y))
    manager_x, manager_y = cast.users["manager_x"], cast.users["manager_y"]
    x, y = cast.village_x.pk, cast.village_y.pk
    for actor, village, obj in (
        (manager_x, x, cast.household_a),
        (manager_y, y, household_y),
        (manager_x, x, cast.wish),  # waiting for approval: not on the wall
        (manager_x, x, cast.wish_fulfilled),  # on the wall
    ):
        audit_record(action="test.event", actor=actor, village_id=village, obj=obj, detail={})
    hub_x = reverse("reports:household", args=[cast.household_a.pk])
    hub_y = reverse("reports:household", args=[household_y.pk])
    waiting = reverse("wishwall:detail", args=[cast.wish.pk])
    on_wall = reverse("wishwall:detail", args=[cast.wish_fulfilled.pk])

    # The village's staff: straight to the pages, their own village's only.
    links = _links(cast.client("supervisor_x"))
    assert {hub_x, waiting, on_wall} <= links and hub_y not in str(links)

    # The county admin looking into village X: X's pages straight, Y's after looking into Y,
    # on a pick that offers Y alone and comes back to the page.
    county = cast.client("county_x")
    links = _links(county)
    through = village_pick_url(hub_y, y)
    assert {hub_x, waiting, on_wall, through} <= links and hub_y not in links
    pick = county.get(through)
    assert [village.pk for village in pick.context["villages"]] == [y]
    landed = county.post(through, {"village": y, "next": hub_y}, follow=True)
    assert landed.status_code == 200 and landed.request["PATH_INFO"] == hub_y

    # With no village picked yet, every village page goes through the pick.
    links = _links(cast.client("county"))
    assert {village_pick_url(hub_x, x), village_pick_url(hub_y, y)} <= links

    # The township officer reads the log, not the registry: households are named, not
    # linked; a wish not on the village's wall is neither (its title is not theirs).
    township = cast.client("township_x")
    links = _links(township)
    assert on_wall in links and not {hub_x, waiting} & links
    assert not [link for link in links if "/households/" in link]
    text = township.get(reverse("reports:audit")).content.decode()
    assert cast.household_a.head_name in text and cast.wish_fulfilled.title in text
    assert cast.wish.title not in text and f"wish no. {cast.wish.pk}" in text
    for link in links - {reverse("reports:audit")}:
        assert township.get(link).status_code in (200, 302), link


def test_every_event_is_placed_in_the_county_it_concerns(cast):  # noqa: F811
    """The writer places each event of no village by its object or its actor; an event of a
    village is placed by its village, as it stands (no place of its own)."""
    perform_every_action(cast)
    events = list(AuditEvent.objects.all())
    assert {"proposal.approve", "redemption.create"} <= {e.action for e in events}
    for event in events:
        if event.village_id is not None:
            assert (event.township_id, event.county_id) == (None, None), event
        elif event.action not in ("login.failed", "api.refused"):  # nobody known
            assert event.county_id == cast.users["county"].county_id, event
    # Of no village: by the object's place (a township's officer), else by the actor's.
    county, officer = cast.users["county"], cast.users["township"]
    by_object = audit_record(action="staff.update", actor=county, obj=officer)
    township = officer.township
    assert (by_object.township_id, by_object.county_id) == (township.pk, township.county_id)
    by_actor = audit_record(action="login", actor=county)
    assert (by_actor.township_id, by_actor.county_id) == (None, county.county_id)


def _staff_create(client, **fields):
    response = client.post(
        "/admin/villagers/user/add/",
        {
            "username": "officer_new",
            "password1": "Xyz-pass-12345!",
            "password2": "Xyz-pass-12345!",
            "usable_password": "true",
            "display_name": "新乡长",
            "groups": [Group.objects.get(name=Role.TOWNSHIP_OFFICER).pk],
            **fields,
        },
    )
    assert response.status_code == 302


def test_a_county_keeps_its_events_of_no_village_when_its_admin_moves(
    client_county, county_admin, village_x, county_b, county_admin_b
):
    """A township officer's account made by the county admin concerns that county: after
    the admin moves to county B, their successor reads it and county B's admin does not."""
    county_a = county_admin.county
    _staff_create(client_county, township=village_x.township_id)
    county_admin.county = county_b
    county_admin.save()
    successor = make_staff(Role.COUNTY_ADMIN, county=county_a, username="county_new")
    seen = {}
    for reader in (successor, county_admin_b, county_admin):
        client = Client()
        client.force_login(reader)
        seen[reader.username] = "新乡长" in client.get(reverse("reports:audit")).content.decode()
    assert seen == {"county_new": True, "county_b": False, "county": False}


def test_a_township_officer_reads_the_township_events_of_no_village(
    client_county, township_officer, township_officer_z, village_x
):
    _staff_create(client_county, township=village_x.township_id)
    for reader, sees in ((township_officer, True), (township_officer_z, False)):
        client = Client()
        client.force_login(reader)
        body = client.get(reverse("reports:audit")).content.decode()
        assert ("新乡长" in body) is sees, reader


def test_an_officer_who_moves_reads_none_of_the_township_left(
    township_officer, village_x, village_z
):
    """Found by the audit's review: the officer read the township's events of no village
    and also every one they were the actor of, wherever it was placed: moved to another
    township, they still read the old one's (their export of its overview, their sign-ins
    there). Their successor reads them; they read their new township's only."""
    from reports.exports import export_job_start
    from reports.models import ExportJob

    old = township_officer.township
    export_job_start(
        kind=ExportJob.Kind.TOWNSHIP_OVERVIEW,
        user=township_officer,
        county=old.county,
        params={"township": old.pk},
    )
    Client().force_login(township_officer)  # a sign-in there
    left = set(AuditEvent.objects.values_list("pk", flat=True))
    assert len(left) == 2
    assert set(AuditEvent.objects.values_list("township_id", flat=True)) == {old.pk}
    township_officer.township = village_z.township
    township_officer.save()
    successor = make_staff(Role.TOWNSHIP_OFFICER, township=old, username="officer_next")
    for reader, sees in ((township_officer, False), (successor, True)):
        client = Client()
        client.force_login(reader)
        page = client.get(reverse("reports:audit")).context["page"]
        shown = {event.pk for event in page.object_list}
        assert shown >= left if sees else not shown & left, reader


def test_a_township_overview_export_is_the_townships_event(
    township_officer, township_officer_z, village_x
):
    """Found by a second read: kept under the county, the officer's export was placed in the
    county alone, so another officer of the township (a successor) never read it."""
    from reports.exports import export_job_start
    from reports.models import ExportJob

    township = township_officer.township
    export_job_start(
        kind=ExportJob.Kind.TOWNSHIP_OVERVIEW,
        user=township_officer,
        county=township.county,
        params={"township": township.pk},
    )
    event = AuditEvent.objects.get(action="export.start")
    assert (event.township_id, event.county_id) == (township.pk, township.county_id)
    colleague = make_staff(Role.TOWNSHIP_OFFICER, township=township, username="officer_2")
    for reader, sees in ((colleague, True), (township_officer_z, False)):
        client = Client()
        client.force_login(reader)
        page = client.get(reverse("reports:audit"), {"action": "export"}).context["page"]
        assert (event in list(page.object_list)) is sees, reader


def test_a_number_typed_into_a_reason_or_a_gift_is_read_masked(
    request, household_a, household_b, villager_a, villager_b, manager_x, supervisor_x, card_a
):
    """Found by a probe: what a donor gave and a decline's reason were shown as typed, so the
    township officer read in the log the phone the wish's own page masks for them."""
    donor = Donor.objects.create(village=manager_x.village, name="顺达农资", kind="company")
    wish = post_wish(household_a, villager_a)
    wish_services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)
    wish_services.wish_match(wish=wish, actor=supervisor_x, donor=donor, note="")
    given = "轮椅一辆 联系13987654321"
    wish_services.wish_fulfil(
        wish=wish, actor=supervisor_x, date=timezone.localdate(), given=given, thanks="谢谢"
    )
    declined = post_wish(household_b, villager_b)
    wish_services.wish_decline(wish=declined, actor=manager_x, reason="请拨 139 1111 2222")
    tried = {"card": card_a.number}
    audit_record(action="login.failed", village_id=manager_x.village_id, detail=tried)
    for reader in ("client_township", "client_county", "client_supervisor_x"):
        client = request.getfixturevalue(reader)
        session = client.session
        session["county_village_id"] = manager_x.village_id
        session.save()
        text = html.unescape(client.get(reverse("reports:audit")).content.decode())
        assert "轮椅一辆 联系139****4321" in text and "请拨 139******2222" in text, reader
        assert "13987654321" not in text and "1111 2222" not in text, reader
        assert f"Card number tried: {card_a.number}" in text, reader  # no phone: read whole


def test_what_the_code_writes_into_a_detail_is_read_whole():
    """Found by a second read: the masking of typed text also masked a donation of a
    million yuan and a card number in an API call's query."""
    written = {
        "value": "1000000.00",
        "query": "card=001234567&page=2",
        "month": "2025-03",
        "changed": {"value": ["1000000", "2000000"], "note": ["", "电话13987654321"]},
        "reason": "请拨 13987654321",
    }
    read = masked_detail(written)
    assert read["value"] == "1000000.00" and read["query"] == written["query"]
    assert read["month"] == "2025-03" and read["changed"]["value"] == ["1000000", "2000000"]
    assert "13987654321" not in str(read["changed"]["note"]) + read["reason"]


def test_the_back_offices_rows_are_named_and_a_deleted_one_by_its_kind(cast):  # noqa: F811
    """Noted with the back office's audit: a village group, a role or a sign-in record the
    back office saved or deleted read as "record no. 7", as did a reservation (any row of a
    model the log has no label for: it is named by its model's name now)."""
    from axes.models import AccessAttempt
    from django.contrib.auth.models import Group

    from villagers.models import VillageGroup

    manager = cast.users["manager_x"]
    group = VillageGroup.objects.filter(village=cast.village_x).first()
    audit_record(
        action="villagegroup.update", actor=manager, village_id=cast.village_x.pk, obj=group
    )
    role = Group.objects.create(name="测试角色")
    audit_record(action="role.update", actor=manager, village_id=cast.village_x.pk, obj=role)
    attempt = AccessAttempt.objects.create(username="x", failures_since_start=1)
    audit_record(
        action="signin_record.delete", actor=manager, village_id=cast.village_x.pk, obj=attempt
    )
    attempt.delete()
    page = cast.client("manager_x").get(reverse("reports:audit"), HTTP_ACCEPT_LANGUAGE="en")
    text = page.content.decode()
    assert group.name in text and "测试角色" in text
    assert "sign-in record no." in text
    assert "record no. " not in text.replace("sign-in record no.", "")


def _failed_sign_in(path, address="198.51.100.4", **fields):
    response = Client(REMOTE_ADDR=address).post(reverse(path), fields)
    assert response.status_code == 200  # the form again, refused
    return AuditEvent.objects.filter(action="login.failed").latest("id")


def _seen_by(user, event) -> bool:
    client = Client()
    client.force_login(user)
    page = client.get(reverse("reports:audit"), {"action": "login.failed"}).context["page"]
    return event.pk in {row.pk for row in page.object_list}


def test_a_sign_in_refused_for_nobody_is_read_by_the_county_and_masked(
    county_admin, county_admin_b, township_officer, manager_x, village_x
):
    """Found by the audit's review: a staff sign-in with a name of nobody was recorded with
    no place, so no county admin read it (names could be tried unseen), and the name was
    kept as typed, a phone number included. Now the whole site's, read by every county's
    admin (and nobody else), masked; a name that exists is its account's place's (a township
    officer's: their township's), a card number of no card the village of its code's."""
    from villagers.cardnumbers import card_number_make

    nobody = _failed_sign_in("login", username="13912345678", password="Wrong-Horse-1")
    assert nobody.detail == {"username": "139****5678"}
    # Any other name of nobody by its first two characters: it is often a password typed in
    # the name's box (found by the second read: it was kept whole for every county admin).
    typed = _failed_sign_in("login", username="Wrong-Horse-1", password="manager_x")
    assert typed.detail == {"username": "Wr********"}
    short = _failed_sign_in("login", username="ab", password="Wrong-Horse-1")
    assert short.detail == {"username": "ab"}
    assert (nobody.village_id, nobody.township_id, nobody.county_id) == (None, None, None)
    readers = (county_admin, county_admin_b, township_officer, manager_x)
    assert [_seen_by(reader, nobody) for reader in readers] == [True, True, False, False]

    # An account of no place (a superuser's) is someone: not the whole site's to read.
    root = User.objects.create_superuser("root-of-site", password="Right-Horse-9")
    refused = _failed_sign_in("login", username=root.username, password="Wrong-1")
    assert refused.object_id == str(root.pk) and refused.county_id is None
    assert [_seen_by(reader, refused) for reader in readers] == [False, False, False, False]

    officer = _failed_sign_in("login", username=township_officer.username, password="Wrong-1")
    assert officer.object_id == str(township_officer.pk)
    assert officer.township_id == township_officer.township_id
    assert [_seen_by(reader, officer) for reader in readers] == [True, False, True, False]

    no_card = card_number_make(village_x.code, 99_999)
    card = _failed_sign_in("card_login", card_number=no_card, pin="2580")
    assert (card.village_id, card.detail) == (village_x.pk, {"card": no_card})
    assert _seen_by(manager_x, card) and not _seen_by(county_admin_b, card)
    typed_id = _failed_sign_in("card_login", card_number=SECRET_ID, pin="2580")
    assert SECRET_ID not in str(typed_id.detail)


def test_sign_ins_refused_from_many_addresses_are_recorded_only_so_often(db, monkeypatch):
    """Each name tried is new, so nothing locks them out, and each address is slowed only
    after ten: the log takes so many a minute in all (core.audit.refusal_to_record)."""
    monkeypatch.setattr("core.audit._minute", lambda: 29_000_000)
    monkeypatch.setattr("core.audit.REFUSALS_RECORDED_PER_MINUTE_IN_ALL", 5)
    for host in range(8):
        Client(REMOTE_ADDR=f"10.9.0.{host + 1}").post(
            reverse("login"), {"username": f"nobody{host}", "password": "Wrong-Horse-1"}
        )
    assert AuditEvent.objects.filter(action="login.failed").count() == 5


def test_a_flood_of_names_of_nobody_keeps_no_try_at_someones_card_or_name_out(
    db, monkeypatch, card_a, manager_x, village_x
):
    """Found in review: the bound on refused sign-ins took every failed sign-in in, so
    names of nobody sent from a few addresses filled the minute's number and a try at a
    household's card, or at the manager's name, was not recorded either. Those are counted
    by their lockout (five), and always recorded; only names and cards of nobody are bound."""
    monkeypatch.setattr("core.audit._minute", lambda: 29_000_000)
    monkeypatch.setattr("core.audit.REFUSALS_RECORDED_PER_MINUTE_IN_ALL", 2)
    for host in range(3):
        Client(REMOTE_ADDR=f"10.9.1.{host + 1}").post(
            reverse("login"), {"username": f"nobody{host}", "password": "Wrong-Horse-1"}
        )
    assert AuditEvent.objects.filter(action="login.failed").count() == 2

    card = _failed_sign_in("card_login", address="10.9.2.1", card_number=card_a.number, pin="2580")
    assert (card.village_id, card.detail) == (village_x.pk, {"card": card_a.number})
    name = _failed_sign_in(
        "login", address="10.9.2.2", username=manager_x.username, password="Wrong-Horse-1"
    )
    assert name.object_id == str(manager_x.pk)
    assert AuditEvent.objects.filter(action="login.failed").count() == 4


def test_tries_at_someones_name_or_card_past_their_lockout_are_bounded_too(
    db, monkeypatch, card_a, manager_x
):
    """Found by the second read: tries at someone's name or card were recorded always, as
    "bounded by their lockout", but a locked name or card tried again is refused by the
    same signal, so tries from many addresses wrote a row each to the append-only log
    without end. They are bounded as those of nobody are, by a count of their own."""
    monkeypatch.setattr("core.audit._minute", lambda: 29_000_001)
    monkeypatch.setattr("core.audit.REFUSALS_RECORDED_PER_MINUTE_IN_ALL", 8)
    for host in range(12):
        Client(REMOTE_ADDR=f"10.9.3.{host + 1}").post(
            reverse("login"), {"username": manager_x.username, "password": "Wrong-Horse-1"}
        )
        Client(REMOTE_ADDR=f"10.9.4.{host + 1}").post(
            reverse("card_login"), {"card_number": card_a.number, "pin": "2580"}
        )
    assert AuditEvent.objects.filter(action="login.failed").count() == 8
    # The first tries, up to the lockout and past it, are there.
    assert (
        AuditEvent.objects.filter(action="login.failed", object_id=str(manager_x.pk)).count() >= 4
    )
