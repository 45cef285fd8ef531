"""The wish state machine: open -> matched -> fulfilled, or declined with a reason."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from core.models import AuditEvent
from store.models import Donor
from tests.wishwall.conftest import post_wish
from villagers.models import Household
from villagers.services import card_recall, household_save
from wishwall import services
from wishwall.models import Wish, WishFulfilment, WishMatch


def fulfil(wish, actor, **kwargs):
    return services.wish_fulfil(
        wish=wish,
        actor=actor,
        date=kwargs.pop("date", timezone.localdate()),
        given="轮椅一辆",
        thanks="谢谢！",
        **kwargs,
    )


def test_full_path_with_audit(fulfilled_wish_a, villager_a, manager_x, supervisor_x, donor_x):
    wish = Wish.objects.get(pk=fulfilled_wish_a.pk)
    assert wish.status == Wish.Status.FULFILLED
    assert wish.match.donor == donor_x and wish.match.matched_by == supervisor_x
    assert wish.fulfilment.given == "轮椅一辆" and wish.fulfilment.recorded_by == supervisor_x
    actions = list(
        AuditEvent.objects.filter(object_type="wishwall.wish", object_id=str(wish.pk))
        .order_by("id")
        .values_list("action", "actor")
    )
    assert actions == [
        ("wish.post", villager_a.pk),
        ("wish.approve", manager_x.pk),
        ("wish.match", supervisor_x.pk),
        ("wish.fulfil", supervisor_x.pk),
    ]
    assert all(
        event.village_id == wish.village_id
        for event in AuditEvent.objects.filter(action__startswith="wish.")
    )


def test_no_fulfilment_without_a_match(approved_wish_a, supervisor_x):
    with pytest.raises(ValidationError, match="Match the wish with a donor before"):
        fulfil(approved_wish_a, supervisor_x)
    approved_wish_a.refresh_from_db()
    assert approved_wish_a.status == Wish.Status.OPEN
    assert not WishFulfilment.objects.exists()


def test_no_match_before_moderation(wish_a, supervisor_x, donor_x):
    with pytest.raises(ValidationError, match="Approve the wish"):
        services.wish_match(wish=wish_a, actor=supervisor_x, donor=donor_x)
    assert not WishMatch.objects.exists()


def test_fulfilled_wish_cannot_be_reopened(fulfilled_wish_a, supervisor_x, donor_x):
    with pytest.raises(ValidationError, match="fulfilled already"):
        services.wish_match(wish=fulfilled_wish_a, actor=supervisor_x, donor=donor_x)
    with pytest.raises(ValidationError, match="fulfilled already"):
        services.wish_decline(wish=fulfilled_wish_a, actor=supervisor_x, reason="改主意了")
    with pytest.raises(ValidationError, match="fulfilled already"):
        fulfil(fulfilled_wish_a, supervisor_x)
    with pytest.raises(ValidationError, match="fulfilled already"):
        services.wish_moderate(wish=fulfilled_wish_a, actor=supervisor_x, hide_household=True)
    fulfilled_wish_a.refresh_from_db()
    assert fulfilled_wish_a.status == Wish.Status.FULFILLED
    assert WishFulfilment.objects.count() == 1


@pytest.mark.parametrize("status", ["open", "matched", "declined"])
def test_database_refuses_moving_a_fulfilled_wish_back(fulfilled_wish_a, status):
    with pytest.raises(IntegrityError, match="refused"), transaction.atomic():
        Wish.objects.filter(pk=fulfilled_wish_a.pk).update(status=status, decline_reason="x")


def test_database_refuses_reopening_a_declined_wish(wish_a, manager_x):
    services.wish_decline(wish=wish_a, actor=manager_x, reason="重复提交")
    with pytest.raises(IntegrityError, match="refused"), transaction.atomic():
        Wish.objects.filter(pk=wish_a.pk).update(status=Wish.Status.OPEN)


@pytest.mark.parametrize("reason", ["", "   "])
def test_decline_needs_a_reason(wish_a, manager_x, reason):
    with pytest.raises(ValidationError, match="reason"):
        services.wish_decline(wish=wish_a, actor=manager_x, reason=reason)
    wish_a.refresh_from_db()
    assert wish_a.status == Wish.Status.OPEN


def test_database_refuses_decline_without_reason(wish_a):
    with pytest.raises(IntegrityError, match="wish_decline_needs_reason"), transaction.atomic():
        Wish.objects.filter(pk=wish_a.pk).update(status=Wish.Status.DECLINED)


def test_decline_records_who_and_why(wish_a, manager_x):
    wish = services.wish_decline(wish=wish_a, actor=manager_x, reason="已由民政救助解决")
    assert wish.status == Wish.Status.DECLINED
    assert wish.declined_by == manager_x and wish.declined_at is not None
    event = AuditEvent.objects.get(action="wish.decline")
    assert event.detail == {"from": "open", "reason": "已由民政救助解决"}


def test_only_the_supervisor_declines_a_matched_wish(matched_wish_a, manager_x, supervisor_x):
    with pytest.raises(Exception, match="may not"):
        services.wish_decline(wish=matched_wish_a, actor=manager_x, reason="donor withdrew")
    wish = services.wish_decline(wish=matched_wish_a, actor=supervisor_x, reason="donor withdrew")
    assert wish.status == Wish.Status.DECLINED
    assert WishMatch.objects.filter(wish=wish).exists()  # the match stays as history


def test_double_transitions_refused(approved_wish_a, supervisor_x, manager_x, donor_x):
    with pytest.raises(ValidationError, match="on the wall already"):
        services.wish_moderate(wish=approved_wish_a, actor=manager_x, hide_household=False)
    services.wish_match(wish=approved_wish_a, actor=supervisor_x, donor=donor_x)
    # A stale object (the second click) still says "open": the service re-reads under lock.
    with pytest.raises(ValidationError, match="matched with a donor already"):
        services.wish_match(wish=approved_wish_a, actor=supervisor_x, donor=donor_x)
    fulfil(approved_wish_a, supervisor_x)
    with pytest.raises(ValidationError, match="fulfilled already"):
        fulfil(approved_wish_a, supervisor_x)
    assert WishMatch.objects.count() == 1 and WishFulfilment.objects.count() == 1


def test_declined_wish_cannot_be_matched(approved_wish_a, manager_x, supervisor_x, donor_x):
    services.wish_decline(wish=approved_wish_a, actor=manager_x, reason="重复")
    with pytest.raises(ValidationError, match="declined"):
        services.wish_match(wish=approved_wish_a, actor=supervisor_x, donor=donor_x)
    # A second decline (a double click, two tabs) is told it was declined before, not in
    # the words of a decline just made (a probe read "这个心愿未被采纳。" either way).
    with translation.override("zh-hans"), pytest.raises(ValidationError) as refused:
        services.wish_decline(wish=approved_wish_a, actor=manager_x, reason="again")
    with translation.override("zh-hans"):
        said = translation.gettext("The wish is declined.")
    assert refused.value.messages == ["这个心愿之前已定为不采纳。"] != [said]


def household_leaves(household, manager, status=Household.Status.MOVED):
    """As the manager marks a household moved away or closed: its card recalled first."""
    card_recall(household=household, actor=manager, reason="搬到县城")
    household.status = status
    household_save(household=household, actor=manager)


@pytest.mark.parametrize("status", [Household.Status.MOVED, Household.Status.CLOSED])
def test_a_wish_of_a_household_that_left_is_neither_approved_nor_matched(
    status, wish_a, household_a, villager_a, manager_x, supervisor_x, donor_x
):
    """Found by a probe: its logins are off, so it cannot withdraw its wishes, and staff
    still put them on the wall and matched them with donors."""
    on_wall = services.wish_moderate(
        wish=post_wish(household_a, villager_a, title="书包"), actor=manager_x, hide_household=False
    )
    household_leaves(household_a, manager_x, status)
    with pytest.raises(ValidationError, match="moved away or closed"):
        services.wish_moderate(wish=wish_a, actor=manager_x, hide_household=False)
    with pytest.raises(ValidationError, match="moved away or closed"):
        services.wish_match(wish=on_wall, actor=supervisor_x, donor=donor_x)
    assert not WishMatch.objects.exists()
    # Staff close them instead.
    for wish in (wish_a, on_wall):
        declined = services.wish_decline(wish=wish, actor=manager_x, reason="已迁出")
        assert declined.status == Wish.Status.DECLINED


def test_fulfilment_date_checks(matched_wish_a, supervisor_x, yesterday):
    with pytest.raises(ValidationError, match="future"):
        fulfil(matched_wish_a, supervisor_x, date=timezone.localdate().replace(year=2099))
    with pytest.raises(ValidationError, match="before the wish was matched"):
        fulfil(matched_wish_a, supervisor_x, date=yesterday)
    with pytest.raises(ValidationError) as error:
        services.wish_fulfil(
            wish=matched_wish_a,
            actor=supervisor_x,
            date=timezone.localdate(),
            given="",
            thanks="",
        )
    assert set(error.value.message_dict) == {"given", "thanks"}
    matched_wish_a.refresh_from_db()
    assert matched_wish_a.status == Wish.Status.MATCHED


def test_match_with_a_new_donor_creates_it_once(
    approved_wish_a, supervisor_x, manager_x, household_a
):
    wish = services.wish_match(
        wish=approved_wish_a,
        actor=supervisor_x,
        new_donor_name=" 张慧敏 ",
        new_donor_kind=Donor.Kind.PERSON,
        note="开学前送到",
    )
    donor = wish.match.donor
    assert (donor.name, donor.kind, donor.village_id) == ("张慧敏", "person", wish.village_id)
    assert AuditEvent.objects.filter(action="donor.create", object_id=str(donor.pk)).exists()
    other = services.wish_moderate(
        wish=post_wish(household_a, manager_x, title="书包"),
        actor=supervisor_x,
        hide_household=False,
    )
    again = services.wish_match(
        wish=other, actor=supervisor_x, new_donor_name="张慧敏", new_donor_kind="person"
    )
    assert again.match.donor == donor
    assert Donor.objects.filter(name="张慧敏").count() == 1


def test_match_needs_exactly_one_donor(approved_wish_a, supervisor_x, donor_x):
    with pytest.raises(ValidationError, match="Find and choose a donor, or enter"):
        services.wish_match(wish=approved_wish_a, actor=supervisor_x)
    with pytest.raises(ValidationError, match="not both"):
        services.wish_match(
            wish=approved_wish_a,
            actor=supervisor_x,
            donor=donor_x,
            new_donor_name="另一位",
            new_donor_kind="person",
        )
    with pytest.raises(ValidationError, match="kind"):
        services.wish_match(
            wish=approved_wish_a, actor=supervisor_x, new_donor_name="某人", new_donor_kind=""
        )
    assert not WishMatch.objects.exists()


def test_donor_of_another_village_refused(approved_wish_a, supervisor_x, village_y):
    foreign = Donor.objects.create(village=village_y, name="外村企业", kind="company")
    with pytest.raises(ValidationError, match="another village"):
        services.wish_match(wish=approved_wish_a, actor=supervisor_x, donor=foreign)


def test_same_wish_posted_twice_is_refused(wish_a, household_a, villager_a):
    with pytest.raises(ValidationError, match="already has an open wish"):
        post_wish(household_a, villager_a)
    assert Wish.objects.count() == 1


def test_concurrent_matches_only_one_wins(
    transactional_db, approved_wish_a, supervisor_x, village_x
):
    donors = [
        Donor.objects.create(village=village_x, name=f"爱心企业{n}", kind="company")
        for n in range(4)
    ]
    barrier = threading.Barrier(len(donors))
    outcomes = []

    def match(donor):
        try:
            barrier.wait()
            services.wish_match(wish=approved_wish_a, actor=supervisor_x, donor=donor)
            outcomes.append("matched")
        except ValidationError as error:
            outcomes.append(error.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=match, args=(donor,)) for donor in donors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("matched") == 1
    assert len(outcomes) == len(donors)
    assert all("matched with a donor already" in o for o in outcomes if o != "matched")
    assert WishMatch.objects.filter(wish=approved_wish_a).count() == 1
    assert AuditEvent.objects.filter(action="wish.match").count() == 1


def test_concurrent_fulfil_and_decline_only_one_wins(
    transactional_db, matched_wish_a, supervisor_x
):
    barrier = threading.Barrier(2)
    outcomes = []

    def run(action):
        try:
            barrier.wait()
            if action == "fulfil":
                fulfil(matched_wish_a, supervisor_x)
            else:
                services.wish_decline(wish=matched_wish_a, actor=supervisor_x, reason="withdrawn")
            outcomes.append(action)
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(a,)) for a in ("fulfil", "decline")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("refused") == 1
    matched_wish_a.refresh_from_db()
    winner = next(o for o in outcomes if o != "refused")
    expected = Wish.Status.FULFILLED if winner == "fulfil" else Wish.Status.DECLINED
    assert matched_wish_a.status == expected
    assert WishFulfilment.objects.exists() == (winner == "fulfil")
