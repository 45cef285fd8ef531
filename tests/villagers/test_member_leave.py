"""A member who died, moved or married away: kept on record, no longer of the household."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from points.forms import DeclarationForm, ProposalForm
from store.forms import collector_parse
from tests.conftest import form_key
from tests.factories import MemberFactory, valid_id
from tests.store.conftest import rice, zones_x  # noqa: F401 (fixtures)
from tests.store.test_collector import _confirm_form, _fill_cart
from villagers.forms import MemberForm
from villagers.models import Member
from villagers.services import member_leave, member_pin_set, member_save

GRANDMOTHER_ID = valid_id("61063019400202002")
YESTERDAY = timezone.localdate() - datetime.timedelta(days=1)


@pytest.fixture
def family(card_a):
    household = card_a.household
    head = MemberFactory(household=household, name="王大山", relation=Member.Relation.HEAD)
    grandmother = MemberFactory(
        household=household,
        name="李秀英",
        relation=Member.Relation.PARENT,
        sex=Member.Sex.FEMALE,
        birth_year=1940,
        id_number=GRANDMOTHER_ID,
    )
    return head, grandmother


def _leave(member, manager, why=Member.LeftWhy.DIED, on=YESTERDAY):
    return member_leave(member=member, on=on, why=why, actor=manager)


def test_a_member_who_left_stays_on_record_and_is_listed_as_former(
    family, manager_x, client_manager_x
):
    _head, grandmother = family
    _leave(grandmother, manager_x)
    grandmother.refresh_from_db()
    assert (grandmother.left_on, grandmother.left_why) == (YESTERDAY, "died")
    event = AuditEvent.objects.get(action="member.leave")
    assert event.detail == {
        "household": grandmother.household_id,
        "on": YESTERDAY.isoformat(),
        "why": "died",
    }
    page = client_manager_x.get(reverse("reports:household", args=[grandmother.household_id]))
    text = page.content.decode()
    members, former = text.split("Former members")
    assert "李秀英" not in members and "王大山" in members
    assert f"李秀英 · parent · born 1940 — died, {YESTERDAY:%Y-%m-%d}" in former


def test_who_left_is_offered_nowhere_a_member_is_chosen(
    family,
    manager_x,
    client_manager_x,
    card_a,
    rice,  # noqa: F811 (fixture)
):
    head, grandmother = family
    _leave(grandmother, manager_x)
    household = card_a.household
    # The counter's "who collects", and a collector sent anyway.
    _fill_cart(client_manager_x, household, rice)
    form, _fields = _confirm_form(client_manager_x, household)
    assert f'value="{head.pk}"' in form and f'value="{grandmother.pk}"' not in form
    with pytest.raises(ValidationError, match="not a member of this household"):
        collector_parse({"collector": str(grandmother.pk)}, household)
    # Who earned a proposal's points, who did a declared deed.
    proposal = ProposalForm(
        QueryDict(f"households={household.pk}"),
        village=household.village,
        households=household.village.households.all(),
    )
    assert list(proposal.fields["member"].queryset) == [head]
    declaration = DeclarationForm(household=household)
    assert list(declaration.fields["member"].queryset) == [head]


def test_their_id_number_may_be_registered_where_they_live_now(family, manager_x, household_y):
    """A daughter married into another village: that village registers her."""
    _head, grandmother = family
    form = MemberForm(
        {
            "name": "李秀英",
            "relation": "parent",
            "sex": "F",
            "birth_year": 1940,
            "id_number": GRANDMOTHER_ID,
        },
        instance=Member(household=household_y),
    )
    assert not form.is_valid() and "already registered" in str(form.errors)
    _leave(grandmother, manager_x, why=Member.LeftWhy.MOVED_AWAY)
    form = MemberForm(form.data, instance=Member(household=household_y))
    assert form.is_valid(), form.errors
    member_save(member=form.instance, actor=manager_x)
    assert Member.objects.current().filter(id_number=GRANDMOTHER_ID).get().household == household_y


def test_when_the_head_leaves_another_member_may_be_made_head(family, manager_x):
    head, grandmother = family
    grandmother.relation = Member.Relation.HEAD
    with pytest.raises(ValidationError, match="already has its head"):
        member_save(member=grandmother, actor=manager_x)
    _leave(head, manager_x)
    grandmother.refresh_from_db()
    grandmother.relation = Member.Relation.HEAD
    member_save(member=grandmother, actor=manager_x)


@pytest.mark.parametrize(
    ("on", "why", "message"),
    [
        (timezone.localdate() + datetime.timedelta(days=1), "died", "cannot be in the future"),
        (YESTERDAY, "", "Say why they left"),
        (YESTERDAY, "eloped", "Say why they left"),
    ],
)
def test_a_day_to_come_or_no_reason_is_refused(family, manager_x, on, why, message):
    _head, grandmother = family
    with pytest.raises(ValidationError, match=message):
        member_leave(member=grandmother, on=on, why=why, actor=manager_x)
    grandmother.refresh_from_db()
    assert grandmother.left_on is None and not AuditEvent.objects.filter(action="member.leave")


def test_who_left_is_not_changed_given_a_pin_or_left_again(family, manager_x):
    _head, grandmother = family
    _leave(grandmother, manager_x)
    for act in (
        lambda: _leave(grandmother, manager_x),
        lambda: member_save(member=grandmother, actor=manager_x),
        lambda: member_pin_set(member=grandmother, actor=manager_x, pin="2580"),
    ):
        with pytest.raises(ValidationError, match="left the household on"):
            act()
    assert AuditEvent.objects.filter(action="member.leave").count() == 1


def test_one_with_a_pin_of_their_own_leaves_once_it_is_revoked(card_a, manager_x):
    son = MemberFactory(
        household=card_a.household, name="王小明", relation=Member.Relation.CHILD, birth_year=1995
    )
    member_pin_set(member=son, actor=manager_x, pin="2580")
    with pytest.raises(ValidationError, match="has a PIN of their own. Revoke that PIN first"):
        _leave(son, manager_x, why=Member.LeftWhy.MOVED_AWAY)
    son.refresh_from_db()
    assert son.left_on is None


def test_the_page_records_it_once_for_the_manager_only(
    family, client_manager_x, client_supervisor_x, client_manager_y
):
    _head, grandmother = family
    url = reverse("villagers:member_leave", args=[grandmother.pk])
    page = client_manager_x.get(url)
    assert page.status_code == 200 and "李秀英" in page.content.decode()
    body = {"date": YESTERDAY.isoformat(), "why": "died", "idempotency_key": form_key()}
    assert client_supervisor_x.post(url, body).status_code == 403
    assert client_manager_y.post(url, body).status_code == 404
    hub = reverse("reports:household", args=[grandmother.household_id])
    for _twice in range(2):
        answer = client_manager_x.post(url, body)
        assert answer.status_code == 302 and answer.url == hub
    assert AuditEvent.objects.filter(action="member.leave").count() == 1
    grandmother.refresh_from_db()
    assert grandmother.left_why == "died"
    # Drawn again later, it says so rather than asking.
    assert client_manager_x.get(url).url == hub


def test_a_form_without_reason_says_so_and_changes_nothing(family, client_manager_x):
    _head, grandmother = family
    url = reverse("villagers:member_leave", args=[grandmother.pk])
    answer = client_manager_x.post(
        url, {"date": YESTERDAY.isoformat(), "idempotency_key": form_key()}
    )
    assert answer.status_code == 200 and "This field is required" in answer.content.decode()
    grandmother.refresh_from_db()
    assert grandmother.left_on is None
