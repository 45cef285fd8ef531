"""Every effect on a household has a second person (DESIGN.md ledger rule 8), over HTTP.

Nobody approves, reverses, voids, credits or cancels a held deduction, settles an objection,
resets a PIN or matches a wish for their own household or on what they set going; nor puts
their own household's wish on the wall, or declines it or its declaration. With
nobody else in the village who may, the item goes up to the county admin's queue, and only
the county admin of that county decides it there.
"""

import datetime
import secrets
import uuid

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.access import Role
from points.models import Entry, Objection, Proposal, Rule
from points.publicity import objection_raise
from points.services import declaration_submit, proposal_approve, proposal_create
from store.models import Redemption
from store.services import redemption_create
from tests.conftest import form_key, make_staff
from tests.points.test_concurrency import run_threads
from tests.store.conftest import make_item, zones_x  # noqa: F401
from villagers.auth import CardPinBackend
from villagers.models import County, Referral, Township, User, Village
from villagers.second_person import referrals_close
from wishwall import services as wish_services

DONE, OPEN = Referral.Status.DONE, Referral.Status.OPEN


def pin_works(card, pin) -> bool:
    return CardPinBackend().authenticate(None, card_number=card.number, pin=pin) is not None


def key() -> str:
    return secrets.token_urlsafe(24)


def balance(household) -> int:
    household.account.refresh_from_db()
    return household.account.balance


def lives_in(user, household):
    """`user` (staff) belongs to `household` from now on."""
    User.objects.filter(pk=user.pk).update(household=household)
    user.refresh_from_db()
    return user


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def decide(client, referral, decision, reason="", form_key=None):
    data = {"referral": referral.pk, "decision": decision, "reason": reason}
    data["idempotency_key"] = form_key or key()
    return client.post(reverse("reports:county_queue_decide"), data)


@pytest.fixture
def rule(village_x):
    return Rule.objects.create(
        village=village_x, code="E01", category="environment", description="yard", points=5
    )


@pytest.fixture
def litter(village_x):
    return Rule.objects.create(
        village=village_x, code="D01", category="deductions", description="litter", points=-5
    )


def approved(manager, supervisor, household, rule) -> Proposal:
    (proposal,) = proposal_create(
        village=household.village,
        households=[household],
        rule=rule,
        reason="seen by the manager",
        occurred_on=timezone.localdate(),
        actor=manager,
    )
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor)
    proposal.refresh_from_db()
    return proposal


@pytest.fixture
def other_county_admin(db):
    county = County.objects.create(name="延长县")
    township = Township.objects.create(county=county, name="安沟乡")
    Village.objects.create(township=township, name="张家村", code="909")
    return make_staff(Role.COUNTY_ADMIN, county=county, username="county2")


def _pressed_again_is_refused(client, url: str, referral) -> None:
    """A form drawn before its item was sent up, sent with another reason: refused in
    words, the request sent up kept as it was."""
    request = dict(referral.request)
    stale = client.post(url, {"reason": "another reason", "idempotency_key": key()}, follow=True)
    assert "nothing was changed" in stale.content.decode()
    referral.refresh_from_db()
    assert (referral.status, referral.request) == (OPEN, request)


def test_own_household_reversal_goes_to_the_county_which_alone_decides_it(
    card_a, manager_x, supervisor_x, county_admin, other_county_admin, litter
):
    deduction = approved(manager_x, supervisor_x, card_a.household, litter)
    assert balance(card_a.household) == 95
    lives_in(supervisor_x, card_a.household)

    response = signed_in(supervisor_x).post(
        reverse("points:entry_reverse", args=[deduction.entry_id]),
        {"reason": "was not us", "idempotency_key": key()},
        follow=True,
    )
    assert "your own household" in response.content.decode()
    assert "it was sent up" in response.content.decode()
    assert balance(card_a.household) == 95
    referral = Referral.objects.get(kind="reversal", object_id=deduction.entry_id)
    assert (referral.status, referral.request) == (OPEN, {"reason": "was not us"})
    # Found by a probe: the household's page offered "Reverse" again, as if nothing waited.
    ledger = response.content.decode()
    assert reverse("points:entry_reverse", args=[deduction.entry_id]) not in ledger
    assert "Waiting for the township or the county" in ledger
    # A "Reverse" drawn before it was sent up is refused, the reason sent up kept.
    _pressed_again_is_refused(
        signed_in(supervisor_x),
        reverse("points:entry_reverse", args=[deduction.entry_id]),
        referral,
    )

    # The village sees it waiting; another county's admin can do nothing with it.
    page = signed_in(supervisor_x).get(reverse("reports:village_referrals")).content.decode()
    assert "Waiting for the township or the county" in page and "was not us" in page
    decide(signed_in(other_county_admin), referral, "do")
    referral.refresh_from_db()
    assert referral.status == OPEN and balance(card_a.household) == 95

    county = signed_in(county_admin)
    assert "was not us" in county.get(reverse("reports:county_queue")).content.decode()
    form_key = key()
    decide(county, referral, "do", form_key=form_key)
    decide(county, referral, "do", form_key=form_key)  # a double click: one effect
    assert balance(card_a.household) == 100
    referral.refresh_from_db()
    assert (referral.status, referral.decided_by) == (DONE, county_admin)
    assert Entry.objects.get(reverses_id=deduction.entry_id).created_by == county_admin


def test_an_overseer_refuses_no_referral_of_their_own_household(
    card_a, manager_x, supervisor_x, township_officer, county_admin, rule
):
    """Refusing keeps the points where they are, as doing moves them: the officer of A's
    household can do neither; the county admin decides."""
    award = approved(manager_x, supervisor_x, card_a.household, rule)
    lives_in(supervisor_x, card_a.household)
    signed_in(supervisor_x).post(
        reverse("points:entry_reverse", args=[award.entry_id]),
        {"reason": "counted twice", "idempotency_key": key()},
    )
    referral = Referral.objects.get(kind="reversal", object_id=award.entry_id)
    officer = signed_in(lives_in(township_officer, card_a.household))
    response = officer.post(
        reverse("reports:county_queue_decide"),
        {"referral": referral.pk, "decision": "refuse", "reason": "keep", "idempotency_key": key()},
        follow=True,
    )
    assert "is your own household: someone else must decide it" in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == OPEN and balance(card_a.household) == 105
    decide(signed_in(county_admin), referral, "refuse", reason="it was earned")
    referral.refresh_from_db()
    assert (referral.status, referral.decided_by) == ("refused", county_admin)


def test_own_household_void_goes_to_the_county(
    card_a,
    manager_x,
    supervisor_x,
    county_admin,
    zones_x,  # noqa: F811
):
    rice = make_item(card_a.household.village, "grain_oil", "大米", 20, 5, manager_x)
    redemption = redemption_create(
        village=card_a.household.village,
        household=card_a.household,
        lines={rice.pk: 2},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    lives_in(supervisor_x, card_a.household)
    signed_in(supervisor_x).post(
        reverse("store:redemption_void", args=[redemption.pk]),
        {"reason": "wrong items", "idempotency_key": key()},
    )
    redemption.refresh_from_db()
    rice.refresh_from_db()
    assert redemption.voided_at is None and rice.stock == 3 and balance(card_a.household) == 60
    referral = Referral.objects.get(kind="void", object_id=redemption.pk, status=OPEN)
    # Found by a probe: the receipt offered the supervisor the void form again.
    page = signed_in(supervisor_x).get(reverse("store:receipt", args=[redemption.pk]))
    assert reverse("store:redemption_void", args=[redemption.pk]) not in page.content.decode()
    assert "Waiting for the township or the county" in page.content.decode()
    # A void form drawn before it was sent up is refused, the reason sent up kept.
    _pressed_again_is_refused(
        signed_in(supervisor_x), reverse("store:redemption_void", args=[redemption.pk]), referral
    )

    decide(signed_in(county_admin), referral, "do")
    redemption.refresh_from_db()
    rice.refresh_from_db()
    assert redemption.voided_by == county_admin and redemption.void_reason == "wrong items"
    assert rice.stock == 5 and balance(card_a.household) == 100


def test_the_served_redemption_cannot_be_voided_by_whoever_served_it(
    card_a,
    manager_x,
    supervisor_x,
    zones_x,  # noqa: F811
):
    """A supervisor who also holds the manager's role served the counter: not theirs to void."""
    supervisor_x.groups.add(*manager_x.groups.all())
    rice = make_item(card_a.household.village, "grain_oil", "大米", 20, 5, manager_x)
    redemption = redemption_create(
        village=card_a.household.village,
        household=card_a.household,
        lines={rice.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=supervisor_x,
    )
    signed_in(supervisor_x).post(
        reverse("store:redemption_void", args=[redemption.pk]),
        {"reason": "mine", "idempotency_key": key()},
    )
    assert Redemption.objects.get(pk=redemption.pk).voided_at is None
    assert Referral.objects.filter(kind="void", object_id=redemption.pk, status=OPEN).exists()


def test_own_household_proposal_waits_for_the_county_from_the_start(
    card_a, manager_x, supervisor_x, county_admin, rule
):
    lives_in(supervisor_x, card_a.household)
    (proposal,) = proposal_create(
        village=card_a.household.village,
        households=[card_a.household],
        rule=rule,
        reason="clean yard",
        occurred_on=timezone.localdate(),
        actor=manager_x,
    )
    referral = Referral.objects.get(kind="proposal", object_id=proposal.pk, status=OPEN)
    queue = signed_in(supervisor_x).get(reverse("points:approval_queue")).content.decode()
    assert "Waiting for the township or the county" in queue
    signed_in(supervisor_x).post(
        reverse("points:approval_decide"),
        {"proposal": proposal.pk, "action": "approve", "idempotency_key": key()},
    )
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PROPOSED
    assert balance(card_a.household) == 100

    decide(signed_in(county_admin), referral, "approve")
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.APPROVED and proposal.decided_by == county_admin
    assert balance(card_a.household) == 105


def test_own_proposal_is_decided_by_the_county_and_a_rejection_needs_a_reason(
    card_b, supervisor_x, county_admin, rule
):
    (proposal,) = proposal_create(
        village=card_b.household.village,
        households=[card_b.household],
        rule=rule,
        reason="saw it myself",
        occurred_on=timezone.localdate(),
        actor=supervisor_x,
    )
    referral = Referral.objects.get(kind="proposal", object_id=proposal.pk)
    county = signed_in(county_admin)
    decide(county, referral, "reject")  # no reason: refused, nothing changes
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PROPOSED
    decide(county, referral, "reject", reason="no evidence")
    proposal.refresh_from_db()
    assert (proposal.status, proposal.rejection_reason) == (Proposal.Status.REJECTED, "no evidence")
    referral.refresh_from_db()
    assert referral.status == DONE


def test_with_another_supervisor_the_refusal_names_them_and_nothing_goes_up(
    card_a, manager_x, supervisor_x, village_x, litter
):
    deduction = approved(manager_x, supervisor_x, card_a.household, litter)
    make_staff(Role.SUPERVISOR, village=village_x, username="second_secretary")
    lives_in(supervisor_x, card_a.household)
    response = signed_in(supervisor_x).post(
        reverse("points:entry_reverse", args=[deduction.entry_id]),
        {"reason": "x", "idempotency_key": key()},
        follow=True,
    )
    assert "second_secretary" in response.content.decode()
    assert not Referral.objects.exists()
    assert balance(card_a.household) == 95


def test_held_deduction_and_objection_of_own_household_go_to_the_county(
    card_a, card_b, manager_x, supervisor_x, villager_b, county_admin, village_x, litter, rule
):
    Village.objects.filter(pk=village_x.pk).update(publicity_days=3)
    supervisor_x.refresh_from_db()
    village_x.refresh_from_db()
    (held,) = proposal_create(
        village=village_x,
        households=[card_a.household],
        rule=litter,
        reason="litter",
        occurred_on=timezone.localdate(),
        actor=manager_x,
    )
    (award,) = proposal_create(
        village=village_x,
        households=[card_a.household],
        rule=rule,
        reason="helped",
        occurred_on=timezone.localdate(),
        actor=manager_x,
    )
    proposal_approve(proposal_ids=[held.pk, award.pk], actor=supervisor_x)
    # The deduction fell due when the balance could not bear it (test setup, not a service).
    Proposal.objects.filter(pk=held.pk).update(status=Proposal.Status.HELD, hold_reason="short")
    objection = objection_raise(proposal_id=award.pk, actor=villager_b, reason="not seen")
    lives_in(supervisor_x, card_a.household)
    supervisor = signed_in(supervisor_x)
    supervisor.post(reverse("points:held_credit", args=[held.pk]), {"idempotency_key": key()})
    supervisor.post(
        reverse("points:objection_resolve", args=[objection.pk]),
        {"decision": "dismiss", "resolution": "", "idempotency_key": key()},
    )
    assert Proposal.objects.get(pk=held.pk).status == Proposal.Status.HELD
    assert Objection.objects.get(pk=objection.pk).status == Objection.Status.OPEN
    held_referral = Referral.objects.get(kind="held", object_id=held.pk, status=OPEN)
    objection_referral = Referral.objects.get(kind="objection", object_id=objection.pk)

    county = signed_in(county_admin)
    decide(county, held_referral, "cancel", reason="was a neighbour's rubbish")
    decide(county, objection_referral, "uphold", reason="nobody saw it")
    held.refresh_from_db()
    assert (held.status, held.cancel_reason) == ("cancelled", "was a neighbour's rubbish")
    objection.refresh_from_db()
    assert objection.status == Objection.Status.UPHELD and objection.resolved_by == county_admin
    assert Proposal.objects.get(pk=award.pk).status == Proposal.Status.CANCELLED
    assert balance(card_a.household) == 100


def test_a_held_award_of_own_household_is_called_an_award_at_the_county(
    card_a, manager_x, supervisor_x, county_admin, village_x, litter, rule
):
    """Found in review: the supervisor's page says a held award is an award now, but the
    county's choices for one sent up were "Credit the deduction" and "Cancel the deduction"
    (an award is held when its household's card was recalled)."""
    Village.objects.filter(pk=village_x.pk).update(publicity_days=3)
    village_x.refresh_from_db()
    award, deduction = (
        proposal_create(
            village=village_x,
            households=[card_a.household],
            rule=which,
            reason="seen",
            occurred_on=timezone.localdate(),
            actor=manager_x,
        )[0]
        for which in (rule, litter)
    )
    proposal_approve(proposal_ids=[award.pk, deduction.pk], actor=supervisor_x)
    Proposal.objects.filter(pk__in=[award.pk, deduction.pk]).update(
        status=Proposal.Status.HELD, hold_reason="held"
    )  # test setup, not a service
    lives_in(supervisor_x, card_a.household)
    supervisor = signed_in(supervisor_x)
    for held in (award, deduction):
        supervisor.post(reverse("points:held_credit", args=[held.pk]), {"idempotency_key": key()})
    queue = signed_in(county_admin).get(reverse("reports:county_queue"))
    choices = {
        item.subject.pk: [str(label) for _value, label in item.decisions]
        for item in queue.context["waiting"]
    }
    assert choices == {
        award.pk: ["Credit the award", "Cancel the award"],
        deduction.pk: ["Credit the deduction", "Cancel the deduction"],
    }


def test_manager_cannot_reset_own_households_pin_the_county_sets_it(
    card_a, manager_x, county_admin
):
    lives_in(manager_x, card_a.household)
    signed_in(manager_x).post(
        reverse("villagers:pin_reset", args=[card_a.household.pk]),
        {"pin": "8264", "pin_again": "8264", "idempotency_key": form_key()},
    )
    assert not pin_works(card_a, "8264")
    referral = Referral.objects.get(kind="pin_reset", object_id=card_a.household.pk)
    assert "8264" not in str(referral.request)  # only the PIN's hash travels

    decide(signed_in(county_admin), referral, "do")
    assert pin_works(card_a, "8264")
    referral.refresh_from_db()
    assert referral.status == DONE and referral.request == {}


def test_own_households_wish_is_matched_and_fulfilled_by_the_county(
    card_a, villager_a, manager_x, supervisor_x, county_admin
):
    wish = wish_services.wish_post(
        household=card_a.household, actor=villager_a, title="轮椅", kind="health", story="腿"
    )
    wish_services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)
    lives_in(supervisor_x, card_a.household)
    supervisor = signed_in(supervisor_x)
    supervisor.post(
        reverse("wishwall:match", args=[wish.pk]),
        {"new_donor_name": "顺达公司", "new_donor_kind": "company", "note": ""},
    )
    wish.refresh_from_db()
    assert wish.status == "open"
    county = signed_in(county_admin)
    decide(county, Referral.objects.get(kind="wish_match", object_id=wish.pk), "do")
    wish.refresh_from_db()
    assert wish.status == "matched" and wish.match.donor.name == "顺达公司"

    supervisor.post(
        reverse("wishwall:fulfil", args=[wish.pk]),
        {"date": timezone.localdate().isoformat(), "given": "一辆轮椅", "thanks": "谢谢"},
    )
    referral = Referral.objects.get(kind="wish_fulfil", object_id=wish.pk)
    decide(county, referral, "refuse")  # a refusal needs a reason
    assert Referral.objects.get(pk=referral.pk).status == OPEN
    decide(county, referral, "do")
    wish.refresh_from_db()
    assert wish.status == "fulfilled" and wish.fulfilment.given == "一辆轮椅"


def test_own_households_wish_and_declaration_are_put_up_changed_or_declined_by_another(
    card_a, villager_a, manager_x, supervisor_x
):
    """Either the manager or the supervisor may: the other one does it, nothing goes up."""
    wish = wish_services.wish_post(
        household=card_a.household, actor=villager_a, title="轮椅", kind="health", story="腿"
    )
    declaration = declaration_submit(
        user=villager_a, description="扫了村道", occurred_on=timezone.localdate()
    )
    manager = signed_in(lives_in(manager_x, card_a.household))

    manager.post(reverse("wishwall:approve", args=[wish.pk]), {})
    manager.post(reverse("wishwall:decline", args=[wish.pk]), {"reason": "重复"})
    manager.post(
        reverse("wishwall:edit", args=[wish.pk]),
        {"title": "电动轮椅", "story": "腿", "reason": "写清楚"},
    )
    response = manager.post(
        reverse("points:declaration_decline", args=[declaration.pk]),
        {"reason": "没看到"},
        follow=True,
    )
    assert "is your own household: someone else must decide it." in response.content.decode()
    wish.refresh_from_db()
    declaration.refresh_from_db()
    assert (wish.status, wish.approved_at, wish.title) == ("open", None, "轮椅")
    assert declaration.status == "submitted"
    assert not Referral.objects.exists()

    supervisor = signed_in(supervisor_x)
    supervisor.post(reverse("wishwall:approve", args=[wish.pk]), {})
    supervisor.post(
        reverse("points:declaration_decline", args=[declaration.pk]), {"reason": "没看到"}
    )
    wish.refresh_from_db()
    declaration.refresh_from_db()
    assert wish.approved_by == supervisor_x and declaration.status == "declined"


def test_the_county_decides_only_what_was_sent_up(
    card_a, manager_x, supervisor_x, county_admin, rule
):
    """A decision about an item the village may still decide, or one already decided."""
    (proposal,) = proposal_create(
        village=card_a.household.village,
        households=[card_a.household],
        rule=rule,
        reason="clean yard",
        occurred_on=timezone.localdate() - datetime.timedelta(days=1),
        actor=manager_x,
    )
    assert not Referral.objects.exists()  # the village's supervisor may decide it
    county = signed_in(county_admin)
    county.post(
        reverse("points:approval_decide"),
        {"proposal": proposal.pk, "action": "approve", "idempotency_key": key()},
    )
    closed = Referral.objects.create(
        village=card_a.household.village,
        household=card_a.household,
        kind="proposal",
        object_id=proposal.pk,
        why="test",
        requested_by=manager_x,
        status=Referral.Status.REFUSED,
        decided_by=county_admin,
        decided_at=timezone.now(),
    )
    decide(county, closed, "approve")
    assert Proposal.objects.get(pk=proposal.pk).status == Proposal.Status.PROPOSED
    assert balance(card_a.household) == 100


@pytest.mark.django_db(transaction=True)
def test_a_referral_done_and_refused_at_once_has_one_outcome(
    card_a, manager_x, supervisor_x, county_admin, township_officer, litter
):
    """Found by a probe: the county admin's "do" and the township officer's "refuse" of one
    sent-up reversal both took effect, in 10 tries of 10. The referral said refused; the
    points had moved."""
    deductions = [approved(manager_x, supervisor_x, card_a.household, litter) for _ in range(6)]
    lives_in(supervisor_x, card_a.household)
    county, township = signed_in(county_admin), signed_in(township_officer)
    for deduction in deductions:
        before = balance(card_a.household)
        signed_in(supervisor_x).post(
            reverse("points:entry_reverse", args=[deduction.entry_id]),
            {"reason": "was not us", "idempotency_key": key()},
        )
        referral = Referral.objects.get(kind="reversal", object_id=deduction.entry_id)
        answers = run_threads(
            [
                lambda r=referral: decide(county, r, "do", "we checked").status_code,
                lambda r=referral: decide(township, r, "refuse", "it stands").status_code,
            ]
        )
        # One decides; the other finds it decided (the queue again, with that said).
        assert sorted(answers) == [("ok", 200), ("ok", 302)]
        referral.refresh_from_db()
        reversed_ = Entry.objects.filter(reverses_id=deduction.entry_id).exists()
        assert (referral.status, reversed_, balance(card_a.household)) in (
            (DONE, True, before + 5),
            (Referral.Status.REFUSED, False, before),
        )


@pytest.mark.django_db(transaction=True)
def test_the_county_and_the_village_doing_one_sent_up_item_at_once_do_it_once(
    monkeypatch, card_a, manager_x, supervisor_x, county_admin, litter, village_x
):
    """Found by a second read: the county's decision locked the referral, then the entry's
    account; the village's own reversal locked the account, then closed the referral. At
    the same moment that was a deadlock, and one of the two got the 409 page. The village
    now takes the referral's lock without waiting (second_person.referrals_close): the
    county holds it, so the village is told so, nothing of it saved, and the county's
    decision goes on."""
    from points import services as point_services
    from tests.points.test_concurrency import held_in

    deduction = approved(manager_x, supervisor_x, card_a.household, litter)
    lives_in(supervisor_x, card_a.household)
    signed_in(supervisor_x).post(
        reverse("points:entry_reverse", args=[deduction.entry_id]),
        {"reason": "was not us", "idempotency_key": key()},
    )
    referral = Referral.objects.get(kind="reversal", object_id=deduction.entry_id)
    # A supervisor of another household joins the village, and reverses it too.
    newcomer = make_staff(Role.SUPERVISOR, village=village_x, username="supervisor2")
    village, county = signed_in(newcomer), signed_in(county_admin)
    # The village's reversal is held once it has written, before it closes the referral.
    written = held_in(monkeypatch, point_services, "referrals_close", seconds=1.0)

    def county_decides():
        written.wait(10)
        return decide(county, referral, "do", "we checked").status_code

    def village_reverses():
        response = village.post(
            reverse("points:entry_reverse", args=[deduction.entry_id]),
            {"reason": "we checked", "idempotency_key": key()},
            follow=True,
        )
        return response.status_code, "deciding this item at this moment" in response.text

    answers = run_threads([village_reverses, county_decides])
    assert answers == [("ok", (200, True)), ("ok", 302)]
    assert Entry.objects.filter(reverses_id=deduction.entry_id).count() == 1
    referral.refresh_from_db()
    assert referral.status == DONE and referral.decided_by_id == county_admin.pk
    assert balance(card_a.household) == 100


def test_closing_referrals_when_none_waits_costs_its_lock_only(
    household_a, manager_x, django_assert_num_queries
):
    """Every effect that can be sent up closes its referrals: when none is open (nearly
    always), the savepoint and the locking read are all it costs."""
    with django_assert_num_queries(3):  # SAVEPOINT, SELECT … FOR NO KEY UPDATE NOWAIT, RELEASE
        referrals_close(
            kind=Referral.Kind.CARD_ISSUE, object_ids=[household_a.pk], actor=manager_x, outcome=""
        )
    waiting = Referral.objects.create(
        village=household_a.village,
        household=household_a,
        kind=Referral.Kind.CARD_ISSUE,
        object_id=household_a.pk,
        why="送县里",
        requested_by=manager_x,
    )
    referrals_close(
        kind=Referral.Kind.CARD_ISSUE, object_ids=[household_a.pk], actor=manager_x, outcome="done"
    )
    waiting.refresh_from_db()
    assert (waiting.status, waiting.outcome) == (Referral.Status.DONE, "done")
