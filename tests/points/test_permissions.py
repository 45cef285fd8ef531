"""Who may reach which points page: villagers, staff of each role, other villages (404)."""

import pytest
from django.urls import reverse

from points.models import Declaration
from points.services import declaration_submit, proposal_approve
from tests.points.conftest import png_upload, propose, today


@pytest.fixture
def village_x_objects(card_a, card_b, manager_x, supervisor_x, villager_a, rule_clean):
    """One of every object behind a points URL, all in village X."""
    approved = propose(manager_x, [card_a.household], rule_clean, photo=png_upload())[0]
    proposal_approve(proposal_ids=[approved.pk], actor=supervisor_x)
    approved.refresh_from_db()
    batch_proposal = propose(manager_x, [card_a.household, card_b.household], rule_clean)[0]
    declaration = declaration_submit(
        user=villager_a, description="deed", occurred_on=today(), photo=png_upload()
    )
    return {
        "rule": rule_clean,
        "proposal": approved,
        "batch": batch_proposal.batch,
        "entry": approved.entry,
        "household": card_a.household,
        "declaration": declaration,
    }


def object_urls(objects):
    """(method, url) for every points URL that names an object of village X."""
    return [
        ("get", reverse("points:household_ledger", args=[objects["household"].pk])),
        ("post", reverse("points:entry_reverse", args=[objects["entry"].pk])),
        ("get", reverse("points:rule_edit", args=[objects["rule"].pk])),
        ("post", reverse("points:rule_edit", args=[objects["rule"].pk])),
        ("get", reverse("points:proposal_detail", args=[objects["proposal"].pk])),
        ("get", reverse("points:proposal_photo", args=[objects["proposal"].pk])),
        ("get", reverse("points:batch_detail", args=[objects["batch"].pk])),
        ("get", reverse("points:declaration_review", args=[objects["declaration"].pk])),
        ("post", reverse("points:declaration_accept", args=[objects["declaration"].pk])),
        ("post", reverse("points:declaration_decline", args=[objects["declaration"].pk])),
        ("get", reverse("points:declaration_photo", args=[objects["declaration"].pk])),
    ]


def test_staff_of_another_village_get_404_on_every_object_url(village_x_objects, manager_y):
    from django.test import Client

    from core.access import Role
    from tests.conftest import make_staff

    supervisor_y = make_staff(Role.SUPERVISOR, village=manager_y.village, username="sup_y")
    for user in (manager_y, supervisor_y):
        client = Client()
        client.force_login(user)
        for method, url in object_urls(village_x_objects):
            response = getattr(client, method)(url, {"reason": "x", "rule": 1})
            if url.endswith("/reverse/") and user == manager_y:
                assert response.status_code == 403, url  # not a supervisor at all
            elif "/rules/" in url and user == supervisor_y:
                assert response.status_code == 403, url  # rules are the manager's
            elif "/accept/" in url or "/decline/" in url:
                assert response.status_code == 404, url
            else:
                assert response.status_code == 404, (user, url)
    assert Declaration.objects.get().status == Declaration.Status.SUBMITTED


def test_manager_cannot_reach_approval_actions(client_manager_x, village_x_objects):
    pending = village_x_objects["batch"].proposals.first()
    assert client_manager_x.get(reverse("points:approval_queue")).status_code == 403
    response = client_manager_x.post(
        reverse("points:approval_decide"),
        {"action": "approve", "proposal": [pending.pk], "idempotency_key": "k" * 20},
    )
    assert response.status_code == 403
    entry = village_x_objects["entry"]
    assert (
        client_manager_x.post(
            reverse("points:entry_reverse", args=[entry.pk]), {"reason": "x"}
        ).status_code
        == 403
    )
    pending.refresh_from_db()
    assert pending.status == "proposed"


def test_villagers_reach_only_their_own_pages(
    client_villager_a, client_villager_b, village_x_objects
):
    me = client_villager_b.get(reverse("points:me"))
    assert me.status_code == 200
    page = me.content.decode()
    assert "李秀英" in page and "王大山" not in page
    assert "pending" in page  # B's part of the pending batch
    staff_only = [
        reverse("points:approval_queue"),
        reverse("points:proposal_new"),
        reverse("points:activity_new"),
        reverse("points:proposals_mine"),
        reverse("points:rule_list"),
        reverse("points:declaration_list"),
    ] + [url for method, url in object_urls(village_x_objects) if method == "get"]
    for url in staff_only:
        status = client_villager_a.get(url).status_code
        if "declarations" in url and url.endswith("/photo/"):
            assert status == 200  # A's own declaration photo
        else:
            assert status == 403, url
    for url in staff_only[-1:]:
        assert client_villager_b.get(url).status_code == 404  # A's photo is not B's


def test_county_admin_reads_but_never_writes(client_county, village_x, village_x_objects):
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    household = village_x_objects["household"]
    assert (
        client_county.get(reverse("points:household_ledger", args=[household.pk])).status_code
        == 200
    )
    assert client_county.get(reverse("points:rule_list")).status_code == 200
    assert client_county.get(reverse("points:approval_queue")).status_code == 403
    assert client_county.get(reverse("points:proposal_new")).status_code == 403
    assert client_county.get(reverse("points:rule_add")).status_code == 403


def test_anonymous_is_sent_to_login(client_anon):
    for name in ("points:me", "points:approval_queue", "points:rule_list"):
        response = client_anon.get(reverse(name))
        assert response.status_code == 302 and "login" in response.url


def test_home_sends_villagers_to_their_points(client_villager_a):
    assert client_villager_a.get(reverse("home")).url == reverse("points:me")


def test_manager_edits_rules_supervisor_only_reads(
    client_manager_x, client_supervisor_x, rule_clean
):
    url = reverse("points:rule_edit", args=[rule_clean.pk])
    data = {"code": "E01", "category": "environment", "description": "clean", "points": 6}
    assert client_supervisor_x.post(url, data).status_code == 403
    assert client_manager_x.post(url, {**data, "active": "on"}).status_code == 302
    rule_clean.refresh_from_db()
    assert rule_clean.points == 6
    listing = client_supervisor_x.get(reverse("points:rule_list")).content.decode()
    assert "clean" in listing and url not in listing
    bad = client_manager_x.post(reverse("points:rule_add"), {**data, "category": "deductions"})
    assert "negative points" in bad.content.decode()
    duplicate = client_manager_x.post(reverse("points:rule_add"), {**data, "points": 1})
    assert duplicate.status_code == 200  # same code in the same village
    # Points that are not a number, on a deduction: the form's error, not a 500 from clean().
    for points in ("abc", ""):
        unreadable = {**data, "code": "D99", "category": "deductions", "points": points}
        page = client_manager_x.post(reverse("points:rule_add"), unreadable)
        assert page.status_code == 200 and page.context["form"].errors["points"]


def test_a_used_rule_keeps_its_category(
    client_manager_x, manager_x, supervisor_x, card_a, rule_clean
):
    """Found by a probe: recategorising a used rule moved a published month's "by category"
    figures and took honours off households (rule 7). Its points, words and switch may
    change; its category only while nothing was approved or is waiting under it."""
    from points.models import Rule
    from points.services import proposal_approve, proposal_reject
    from tests.points.conftest import propose

    url = reverse("points:rule_edit", args=[rule_clean.pk])
    data = {"code": "E01", "category": "honours", "description": "clean", "points": 5}
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_reject(proposal_ids=[proposal.pk], actor=supervisor_x, reason="不对")
    assert client_manager_x.post(url, data).status_code == 302  # a rejected one counts nothing
    data["category"] = "environment"
    assert client_manager_x.post(url, data).status_code == 302
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    page = client_manager_x.post(url, {**data, "category": "honours"})
    assert "its category cannot change" in page.content.decode()
    assert Rule.objects.get(pk=rule_clean.pk).category == "environment"
    renamed = client_manager_x.post(url, {**data, "description": "院落干净", "points": 8})
    assert renamed.status_code == 302
