"""The publicity period (公示期): approval waits on the notice, objections, crediting when due."""

import datetime
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from core.access import Role
from points import checks
from points.models import Account, Entry, Objection, Proposal
from points.publicity import (
    objection_raise,
    objection_resolve,
    proposal_cancel,
    proposal_held_credit,
    proposals_credit_due,
)
from points.services import entry_post, proposal_approve
from reports.audit_labels import ACTIONS as AUDIT_ACTIONS
from tests.conftest import make_staff
from tests.points.conftest import propose
from villagers.models import Referral, User

SECOND = datetime.timedelta(seconds=1)


@pytest.fixture
def publicity_x(village_x):
    village_x.publicity_days = 3
    village_x.save()
    return village_x


def balance(household):
    return Account.objects.get(household=household).balance


def approve(proposal, supervisor):
    (approved,) = proposal_approve(proposal_ids=[proposal.pk], actor=supervisor)
    approved.refresh_from_db()
    return approved


@pytest.fixture
def in_publicity(publicity_x, card_a, manager_x, supervisor_x, rule_clean):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    return approve(proposal, supervisor_x)


def test_period_zero_credits_at_approval(village_x, card_a, manager_x, supervisor_x, rule_clean):
    assert village_x.publicity_days == 0
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    approved = approve(proposal, supervisor_x)
    assert approved.status == Proposal.Status.APPROVED
    assert approved.entry.points == 5
    assert balance(card_a.household) == 105


def test_approval_starts_publicity_and_posts_nothing(in_publicity, card_a):
    assert in_publicity.status == Proposal.Status.PUBLICITY
    assert in_publicity.entry is None
    assert in_publicity.credit_due_at == in_publicity.decided_at + datetime.timedelta(days=3)
    assert balance(card_a.household) == 100
    assert not Entry.objects.filter(kind=Entry.Kind.AWARD).exists()
    assert checks.check() == []


def test_not_credited_before_the_period_ends(in_publicity, card_a):
    run = proposals_credit_due(now=in_publicity.credit_due_at - SECOND)
    assert run.credited == [] and run.held == []
    call_command("credit_due", stdout=open("/dev/null", "w"))  # noqa: SIM115 - real now
    in_publicity.refresh_from_db()
    assert in_publicity.status == Proposal.Status.PUBLICITY
    assert balance(card_a.household) == 100


def test_credited_once_when_due(in_publicity, card_a):
    run = proposals_credit_due(now=in_publicity.credit_due_at)
    assert run.credited == [in_publicity.pk]
    in_publicity.refresh_from_db()
    assert in_publicity.status == Proposal.Status.APPROVED
    assert in_publicity.entry.kind == Entry.Kind.AWARD
    assert in_publicity.entry.created_by is None  # posted by the command, not a person
    assert balance(card_a.household) == 105
    again = proposals_credit_due(now=in_publicity.credit_due_at + datetime.timedelta(days=9))
    assert again.credited == []
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == 1
    assert checks.check() == []


def test_command_credits_due_entries(in_publicity, card_a):
    Proposal.objects.filter(pk=in_publicity.pk).update(
        credit_due_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    call_command("credit_due", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("credit_due", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert balance(card_a.household) == 105
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == 1


def test_open_objection_blocks_crediting_and_upheld_cancels(
    in_publicity, card_a, villager_b, manager_x, supervisor_x
):
    first = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="没有种花")
    second = objection_raise(proposal_id=in_publicity.pk, actor=manager_x, reason="照片是别家")
    assert proposals_credit_due(now=in_publicity.credit_due_at + SECOND).credited == []

    resolved = objection_resolve(
        objection_id=first.pk, actor=supervisor_x, upheld=True, resolution="经核实院内未种花"
    )
    assert resolved.status == Objection.Status.UPHELD
    second.refresh_from_db()
    assert second.status == Objection.Status.UPHELD  # the entry is gone: both succeeded
    in_publicity.refresh_from_db()
    assert in_publicity.status == Proposal.Status.CANCELLED
    assert in_publicity.cancel_reason == "经核实院内未种花"
    assert proposals_credit_due(now=in_publicity.credit_due_at + SECOND).credited == []
    assert balance(card_a.household) == 100
    assert checks.check() == []


def test_dismissed_objection_credits_when_due(in_publicity, card_a, villager_b, supervisor_x):
    objection = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="不信")
    objection_resolve(objection_id=objection.pk, actor=supervisor_x, upheld=False, resolution="")
    objection.refresh_from_db()
    assert objection.status == Objection.Status.DISMISSED
    in_publicity.refresh_from_db()
    assert in_publicity.status == Proposal.Status.PUBLICITY  # still inside its period
    assert proposals_credit_due(now=in_publicity.credit_due_at).credited == [in_publicity.pk]
    assert balance(card_a.household) == 105


def test_dismissal_after_the_period_credits_at_once(in_publicity, card_a, villager_b, supervisor_x):
    objection = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="不信")
    Proposal.objects.filter(pk=in_publicity.pk).update(credit_due_at=timezone.now() - SECOND)
    objection_resolve(
        objection_id=objection.pk, actor=supervisor_x, upheld=False, resolution="属实"
    )
    in_publicity.refresh_from_db()
    assert in_publicity.status == Proposal.Status.APPROVED
    assert balance(card_a.household) == 105
    with pytest.raises(ValidationError, match="already resolved"):
        objection_resolve(
            objection_id=objection.pk, actor=supervisor_x, upheld=True, resolution="x"
        )


def test_each_villager_who_objected_hears_how_it_ended(
    in_publicity, villager_a, villager_b, manager_x, supervisor_x, card_a, card_b
):
    """Upheld: every villager whose objection it closes is told, in words with no one's name
    (the reason is on the notice); the manager who objected reads the notice instead."""
    from notifications.models import Notification
    from notifications.texts import sms_text, text

    first = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="没看见")
    objection_raise(proposal_id=in_publicity.pk, actor=manager_x, reason="有疑问")
    objection_resolve(
        objection_id=first.pk, actor=supervisor_x, upheld=True, resolution="王大山当天不在村里"
    )
    (told,) = Notification.objects.filter(kind=Notification.Kind.OBJECTION_ANSWERED)
    assert told.household == card_b.household and told.params["upheld"] is True
    assert "was upheld: the entry is cancelled" in text(told)
    assert "王大山" not in sms_text(told) and "撤销" in sms_text(told)


def test_a_dismissed_objection_is_answered_too(in_publicity, villager_b, supervisor_x, card_b):
    from notifications.models import Notification
    from notifications.texts import text

    objection = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="不信")
    objection_resolve(objection_id=objection.pk, actor=supervisor_x, upheld=False, resolution="")
    (told,) = Notification.objects.filter(kind=Notification.Kind.OBJECTION_ANSWERED)
    assert told.household == card_b.household and "dismissed" in text(told)


def test_who_may_object(
    in_publicity, villager_a, villager_b, manager_x, supervisor_x, manager_y, county_admin, card_y
):
    villager_y = card_y.household.users.get(is_staff=False)
    for outsider in (manager_y, villager_y, county_admin):
        with pytest.raises(ValidationError):
            objection_raise(proposal_id=in_publicity.pk, actor=outsider, reason="x")
    for insider in (villager_a, villager_b, manager_x, supervisor_x):
        objection_raise(proposal_id=in_publicity.pk, actor=insider, reason="有疑问")
    with pytest.raises(ValidationError, match="already have an open objection"):
        objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="again")
    with pytest.raises(ValidationError, match="Say what is wrong"):
        objection_raise(proposal_id=in_publicity.pk, actor=villager_a, reason="  ")
    assert Objection.objects.count() == 4


def test_no_objection_after_the_period_or_before_approval(
    in_publicity, villager_b, manager_x, card_a, rule_clean
):
    Proposal.objects.filter(pk=in_publicity.pk).update(credit_due_at=timezone.now() - SECOND)
    with pytest.raises(ValidationError, match="no longer in its publicity period"):
        objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="late")
    (pending,) = propose(manager_x, [card_a.household], rule_clean)
    with pytest.raises(ValidationError, match="no longer in its publicity period"):
        objection_raise(proposal_id=pending.pk, actor=villager_b, reason="early")


def test_only_the_villages_supervisor_resolves(
    in_publicity, villager_b, manager_x, manager_y, village_y, card_a
):
    objection = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="不信")
    supervisor_y = make_staff(Role.SUPERVISOR, village=village_y, username="sup_y")
    own = make_staff(
        Role.SUPERVISOR,
        village=in_publicity.village,
        username="sup_own",
        household=card_a.household,
    )
    for actor in (manager_x, villager_b, manager_y, supervisor_y, own):
        with pytest.raises(ValidationError):
            objection_resolve(objection_id=objection.pk, actor=actor, upheld=True, resolution="x")
    objection.refresh_from_db()
    assert objection.status == Objection.Status.OPEN


def test_upholding_needs_a_reason(in_publicity, villager_b, supervisor_x):
    objection = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="不信")
    with pytest.raises(ValidationError, match="reason for upholding"):
        objection_resolve(objection_id=objection.pk, actor=supervisor_x, upheld=True, resolution="")


def test_deduction_refused_at_approval_counting_those_in_publicity(
    publicity_x, card_a, manager_x, supervisor_x, rule_litter
):
    first, second, third, fourth, fifth, sixth = (
        propose(manager_x, [card_a.household], rule_litter)[0] for _i in range(6)
    )
    proposal_approve(
        proposal_ids=[p.pk for p in (first, second, third, fourth, fifth)], actor=supervisor_x
    )
    with pytest.raises(ValidationError, match="after the deductions already in publicity"):
        proposal_approve(proposal_ids=[sixth.pk], actor=supervisor_x)


def test_deduction_held_when_the_balance_fell_meanwhile(
    publicity_x, card_a, manager_x, supervisor_x, rule_litter, rule_honour
):
    """Never deduct part of it: the whole deduction is held and shown to the supervisor."""
    (fine,) = propose(manager_x, [card_a.household], rule_litter)  # -20
    fine = approve(fine, supervisor_x)
    account = Account.objects.get(household=card_a.household)
    entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-95, actor=manager_x)

    run = proposals_credit_due(now=fine.credit_due_at)
    assert run.held == [fine.pk] and run.credited == []
    fine.refresh_from_db()
    assert fine.status == Proposal.Status.HELD
    assert "Not enough points" in fine.hold_reason
    assert balance(card_a.household) == 5
    assert proposals_credit_due(now=fine.credit_due_at + SECOND).held == []  # not retried

    with pytest.raises(ValidationError, match="Not enough points"):
        proposal_held_credit(proposal_id=fine.pk, actor=supervisor_x)
    fine.refresh_from_db()
    assert fine.status == Proposal.Status.HELD

    (honour,) = propose(manager_x, [card_a.household], rule_honour)
    honour = approve(honour, supervisor_x)
    proposals_credit_due(now=honour.credit_due_at)
    assert balance(card_a.household) == 35
    proposal_held_credit(proposal_id=fine.pk, actor=supervisor_x)
    fine.refresh_from_db()
    assert fine.status == Proposal.Status.APPROVED
    assert balance(card_a.household) == 15
    assert checks.check() == []


def test_held_deduction_cancelled_by_the_supervisor(
    publicity_x, card_a, manager_x, supervisor_x, rule_litter
):
    (fine,) = propose(manager_x, [card_a.household], rule_litter)
    fine = approve(fine, supervisor_x)
    account = Account.objects.get(household=card_a.household)
    entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-90, actor=manager_x)
    proposals_credit_due(now=fine.credit_due_at)
    with pytest.raises(ValidationError):
        proposal_cancel(proposal_id=fine.pk, actor=manager_x, reason="x")
    proposal_cancel(proposal_id=fine.pk, actor=supervisor_x, reason="已积分不足，改为批评教育")
    fine.refresh_from_db()
    assert fine.status == Proposal.Status.CANCELLED
    assert balance(card_a.household) == 10


def test_monthly_cap_counts_proposals_in_publicity(
    publicity_x, card_a, manager_x, supervisor_x, rule_capped
):
    first, second = (propose(manager_x, [card_a.household], rule_capped)[0] for _i in range(2))
    proposal_approve(proposal_ids=[first.pk, second.pk], actor=supervisor_x)
    with pytest.raises(ValidationError, match="at most 20 points a month"):
        propose(manager_x, [card_a.household], rule_capped)


def test_an_objection_raised_by_the_deciders_household_is_their_own(
    in_publicity, villager_b, supervisor_x
):
    """Its login raised it: staff of that household upholding it decided their own."""
    User.objects.filter(pk=supervisor_x.pk).update(household=villager_b.household)
    supervisor_x.refresh_from_db()
    theirs = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="不信")
    with pytest.raises(ValidationError, match="This started with you"):
        objection_resolve(objection_id=theirs.pk, actor=supervisor_x, upheld=True, resolution="x")
    theirs.refresh_from_db()
    assert theirs.status == Objection.Status.OPEN
    assert Proposal.objects.get(pk=in_publicity.pk).status == Proposal.Status.PUBLICITY


def test_upholding_closes_every_open_objection_so_none_may_be_the_deciders_own(
    in_publicity, villager_b, supervisor_x
):
    """Found by a probe: upholding B's objection closed the supervisor's own as "upheld by"
    that supervisor, who may not settle it (rule 8)."""
    other_supervisor = make_staff(Role.SUPERVISOR, village=in_publicity.village, username="sup_2")
    own = objection_raise(proposal_id=in_publicity.pk, actor=supervisor_x, reason="我也有疑问")
    theirs = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="不信")
    with pytest.raises(ValidationError, match="It can be done by"):
        objection_resolve(objection_id=theirs.pk, actor=supervisor_x, upheld=True, resolution="x")
    assert set(Objection.objects.values_list("status", flat=True)) == {Objection.Status.OPEN}
    assert Proposal.objects.get(pk=in_publicity.pk).status == Proposal.Status.PUBLICITY
    # Dismissing B's closes only B's: the supervisor may.
    objection_resolve(objection_id=theirs.pk, actor=supervisor_x, upheld=False, resolution="")
    own.refresh_from_db()
    assert own.status == Objection.Status.OPEN
    objection_resolve(objection_id=own.pk, actor=other_supervisor, upheld=True, resolution="对")
    own.refresh_from_db()
    assert (own.status, own.resolved_by) == (Objection.Status.UPHELD, other_supervisor)


def test_a_card_recalled_during_publicity_holds_the_entry_at_its_end(
    in_publicity, card_a, manager_x
):
    """Found by a probe: approved while the card was active, the award was credited at the
    end of its period to the household whose card had been recalled meanwhile. It is held
    instead, for the supervisor to cancel (or credit once a card is issued again)."""
    from villagers.services import card_recall

    card_recall(household=card_a.household, actor=manager_x, reason="搬走了")
    Proposal.objects.filter(pk=in_publicity.pk).update(credit_due_at=timezone.now() - SECOND)
    said = io.StringIO()
    call_command("credit_due", stdout=io.StringIO(), stderr=said)
    # The command and the audit log called any held entry a deduction (found by a second read).
    assert said.getvalue() == (
        f"proposal {in_publicity.pk}: +5 points held (The household's card was recalled: it "
        "earns and loses no points until a card is issued again.), see the supervisor\n"
    )
    assert str(AUDIT_ACTIONS["proposal.hold"].label) == "Entry held"
    in_publicity.refresh_from_db()
    assert in_publicity.status == Proposal.Status.HELD
    assert "card was recalled" in in_publicity.hold_reason
    assert not Entry.objects.filter(kind=Entry.Kind.AWARD).exists()
    # Shown as a held entry with its reason, not as a deduction (found by a second read).
    from django.test import Client

    supervisor = Client()
    supervisor.force_login(in_publicity.decided_by)
    page = supervisor.get(reverse("points:publicity")).content.decode()
    assert "Held entries" in page and "card was recalled" in page
    assert "too few points to deduct" not in page


def _told(household):
    from notifications.models import Notification

    return list(Notification.objects.filter(household=household).order_by("pk"))


def test_the_household_hears_when_its_announced_entry_is_cancelled(
    in_publicity, villager_b, supervisor_x, card_a, card_b
):
    """Found by a probe: told "+5 approved, credited after that", household A heard nothing
    when an objection was upheld; only the objector did. The words name nobody and leave the
    reason to the notice (it may name people)."""
    from notifications.models import Notification
    from notifications.texts import sms_text, text

    objection = objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="没看见")
    objection_resolve(
        objection_id=objection.pk, actor=supervisor_x, upheld=True, resolution="王大山当天不在"
    )
    kinds = [(told.kind, told.household_id) for told in Notification.objects.order_by("pk")]
    Kind = Notification.Kind
    assert (Kind.CANCELLED, card_a.household_id) in kinds
    assert (Kind.OBJECTION_ANSWERED, card_b.household_id) in kinds
    (cancelled,) = _told(card_a.household)[-1:]
    assert "+5 points" in text(cancelled) and "was cancelled" in text(cancelled)
    assert "王大山" not in sms_text(cancelled) and "撤销" in sms_text(cancelled)
    assert cancelled.sms_status == Notification.Sms.PENDING


def test_a_household_whose_own_objection_is_upheld_hears_it_once(
    in_publicity, villager_a, supervisor_x, card_a
):
    from notifications.models import Notification

    objection = objection_raise(proposal_id=in_publicity.pk, actor=villager_a, reason="弄错了")
    before = len(_told(card_a.household))
    objection_resolve(objection_id=objection.pk, actor=supervisor_x, upheld=True, resolution="对")
    (answer,) = _told(card_a.household)[before:]
    assert answer.kind == Notification.Kind.OBJECTION_ANSWERED


def test_the_household_hears_when_its_deduction_is_held_and_then_cancelled(
    publicity_x, card_a, manager_x, supervisor_x, rule_litter
):
    from notifications.models import Notification
    from notifications.texts import text

    (fine,) = propose(manager_x, [card_a.household], rule_litter)  # -20
    fine = approve(fine, supervisor_x)
    account = Account.objects.get(household=card_a.household)
    entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=-90, actor=manager_x)
    before = len(_told(card_a.household))
    proposals_credit_due(now=fine.credit_due_at)
    (held,) = _told(card_a.household)[before:]
    assert held.kind == Notification.Kind.HELD
    assert "20 points" in text(held) and "balance cannot bear it" in text(held)
    # The supervisor's retry that fails again rolls its message back with it.
    with pytest.raises(ValidationError):
        proposal_held_credit(proposal_id=fine.pk, actor=supervisor_x)
    assert len(_told(card_a.household)) == before + 1
    proposal_cancel(proposal_id=fine.pk, actor=supervisor_x, reason="改为批评教育")
    (cancelled,) = _told(card_a.household)[before + 1 :]
    assert cancelled.kind == Notification.Kind.CANCELLED
    assert "-20 points" in text(cancelled)


def test_a_household_whose_card_was_recalled_hears_its_award_is_held(
    in_publicity, card_a, manager_x
):
    from notifications.models import Notification
    from notifications.texts import text
    from villagers.services import card_recall

    card_recall(household=card_a.household, actor=manager_x, reason="搬走了")
    before = len(_told(card_a.household))
    proposals_credit_due(now=in_publicity.credit_due_at)
    (held,) = _told(card_a.household)[before:]
    assert held.kind == Notification.Kind.HELD and "no active card" in text(held)


def test_an_objection_no_supervisor_may_settle_goes_up_as_it_is_raised(
    in_publicity, villager_b, supervisor_x, county_admin, client_supervisor_x, settings
):
    """Found by a probe: the village's only supervisor objected, and the objection waited in
    their own list until they pressed "decide", which they may not (rule 8)."""
    objection_raise(proposal_id=in_publicity.pk, actor=villager_b, reason="不信")
    assert not Referral.objects.filter(kind=Referral.Kind.OBJECTION).exists()
    settings.LANGUAGE_CODE = "en"
    url = reverse("points:objection_new", args=[in_publicity.pk])
    response = client_supervisor_x.post(url, {"reason": "照片是别家"}, follow=True)
    assert "sent to the township or county" in response.content.decode()
    own = Objection.objects.get(raised_by=supervisor_x)
    other = Objection.objects.get(raised_by=villager_b)
    # Upholding either closes both, which the supervisor may not: both go up, not only theirs.
    referrals = Referral.objects.filter(kind=Referral.Kind.OBJECTION, status=Referral.Status.OPEN)
    assert {(r.object_id, r.village_id) for r in referrals} == {
        (own.pk, in_publicity.village_id),
        (other.pk, in_publicity.village_id),
    }
    referral = referrals.get(object_id=own.pk)
    # The publicity page marks them as waiting there, with no form to decide them.
    page = client_supervisor_x.get(reverse("points:publicity")).content.decode()
    assert page.count("Waiting for the township or the county") == 2
    assert reverse("points:objection_resolve", args=[own.pk]) not in page
    assert reverse("points:objection_resolve", args=[other.pk]) not in page
    objection_resolve(
        objection_id=own.pk, actor=county_admin, upheld=True, resolution="核实", referral=referral
    )
    referral.refresh_from_db()
    assert referral.status == Referral.Status.DONE
    in_publicity.refresh_from_db()
    assert in_publicity.status == Proposal.Status.CANCELLED


def test_two_supervisors_objecting_each_send_both_objections_up(
    in_publicity, village_x, supervisor_x, county_admin
):
    """Found by a probe: upholding either objection closes both, so neither supervisor may
    uphold the other's; the first stayed in the village, the village able only to dismiss
    it. Once the second is raised, both go up, the first too."""
    second = make_staff(Role.SUPERVISOR, village=village_x, username="second_supervisor")
    first_objection = objection_raise(proposal_id=in_publicity.pk, actor=supervisor_x, reason="多")
    assert not Referral.objects.filter(kind=Referral.Kind.OBJECTION).exists()  # `second` may
    second_objection = objection_raise(proposal_id=in_publicity.pk, actor=second, reason="错")
    sent = set(
        Referral.objects.filter(
            kind=Referral.Kind.OBJECTION, status=Referral.Status.OPEN
        ).values_list("object_id", flat=True)
    )
    assert sent == {first_objection.pk, second_objection.pk}
    # A third supervisor, who raised neither, may settle them: nothing more goes up for them.
    make_staff(Role.SUPERVISOR, village=village_x, username="third_supervisor")
    fourth_objection = objection_raise(
        proposal_id=in_publicity.pk,
        actor=make_staff(Role.SUPERVISOR, village=village_x, username="fourth_supervisor"),
        reason="再看",
    )
    assert not Referral.objects.filter(object_id=fourth_objection.pk).exists()


def test_the_villager_is_not_promised_a_time_gone_by(in_publicity, client_villager_a):
    """Found by a probe: with the worker stopped, the history said "credited on <a time
    already past>"; past its end it says the publicity is over and the points on their way
    (or waiting for an objection still open, as before)."""
    page = client_villager_a.get(reverse("points:me")).text
    assert "if no objection is upheld" in page and "the points are credited soon" not in page
    Proposal.objects.filter(pk=in_publicity.pk).update(
        credit_due_at=timezone.now() - datetime.timedelta(hours=2)
    )
    page = client_villager_a.get(reverse("points:me")).text
    assert "the points are credited soon" in page and "if no objection is upheld" not in page


def test_the_villagers_cached_page_stops_promising_once_the_time_is_past(
    in_publicity, client_villager_a, monkeypatch
):
    """The start page's body is cached under a digest of its rows, which do not change when
    the publicity's end goes by (with the worker stopped, nothing writes them): drawn a
    minute before the end, it kept saying "credited on <that time>" after it."""
    due = timezone.now() + datetime.timedelta(minutes=1)
    Proposal.objects.filter(pk=in_publicity.pk).update(credit_due_at=due)
    page = client_villager_a.get(reverse("points:me")).text
    assert "if no objection is upheld" in page
    later = due + datetime.timedelta(minutes=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    page = client_villager_a.get(reverse("points:me")).text
    assert "the points are credited soon" in page and "if no objection is upheld" not in page
