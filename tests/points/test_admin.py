"""The admin cannot approve, edit or delete ledger entries or proposals, not even a superuser."""

from django.test import Client
from django.urls import reverse

from core.access import Role
from points.models import Entry, Proposal
from tests.conftest import make_staff
from tests.factories import UserFactory
from tests.points.conftest import propose


def test_supervisor_cannot_approve_through_the_admin(card_a, manager_x, village_x, rule_clean):
    supervisor = make_staff(
        Role.SUPERVISOR, village=village_x, username="sup_home", household=card_a.household
    )
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    client = Client()
    client.force_login(supervisor)
    change_url = reverse("admin:points_proposal_change", args=[proposal.pk])
    assert client.get(change_url).status_code == 200  # may look
    response = client.post(change_url, {"status": "approved", "points": 500})
    assert response.status_code == 403
    assert client.get(reverse("admin:points_proposal_add")).status_code == 403
    delete = client.post(
        reverse("admin:points_proposal_delete", args=[proposal.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PROPOSED and proposal.points == 5


def test_superuser_cannot_change_entries_or_proposals(card_a, manager_x, rule_clean):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(root)
    entry = Entry.objects.get()
    for name, pk in (("entry", entry.pk), ("proposal", proposal.pk)):
        url = reverse(f"admin:points_{name}_change", args=[pk])
        assert client.post(url, {"points": 999, "status": "approved"}).status_code == 403
        assert client.get(reverse(f"admin:points_{name}_add")).status_code == 403
    changelist = client.post(
        reverse("admin:points_proposal_changelist"),
        {"action": "delete_selected", "_selected_action": [proposal.pk], "post": "yes"},
    )
    assert changelist.status_code in (200, 302)
    assert Proposal.objects.filter(pk=proposal.pk, status="proposed").exists()
    entry.refresh_from_db()
    assert entry.points == 100


def test_admin_lists_are_scoped_to_the_village(card_a, card_y, manager_x):
    client = Client()
    client.force_login(manager_x)
    page = client.get(reverse("admin:points_account_changelist")).content.decode()
    assert card_a.household.head_name in page
    assert card_y.household.head_name not in page


def test_manager_edits_rules_in_the_admin_through_the_service(manager_x, rule_clean):
    from core.models import AuditEvent

    client = Client()
    client.force_login(manager_x)
    url = reverse("admin:points_rule_change", args=[rule_clean.pk])
    data = {"code": "E01", "category": "environment", "description": "clean", "points": 7}
    assert client.post(url, data).status_code == 302
    rule_clean.refresh_from_db()
    assert rule_clean.points == 7
    assert AuditEvent.objects.filter(action="rule.update", object_id=str(rule_clean.pk)).exists()


def test_a_rule_code_the_village_has_is_a_form_error_in_the_admin(manager_x, rule_clean):
    """Found by a probe: the admin's form has no village field, so the code's uniqueness was
    checked only when saving, and the manager got the 403 page, "not allowed"."""
    from points.models import Rule

    client = Client()
    client.force_login(manager_x)
    data = {"code": "E01", "category": "environment", "description": "again", "points": 3}
    response = client.post(reverse("admin:points_rule_add"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors()
    assert Rule.objects.filter(code="E01").count() == 1


def test_a_used_rule_keeps_its_category_in_the_admin_too(
    manager_x, supervisor_x, card_a, rule_clean
):
    from points.services import proposal_approve

    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    client = Client()
    client.force_login(manager_x)
    url = reverse("admin:points_rule_change", args=[rule_clean.pk])
    data = {"code": "E01", "category": "honours", "description": "clean", "points": 5}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "its category cannot change" in str(response.context["adminform"].form.errors)
    rule_clean.refresh_from_db()
    assert rule_clean.category == "environment"
