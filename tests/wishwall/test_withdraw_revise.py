"""A household changes its wish until staff have checked it, and withdraws an open wish (it
leaves the wall); both audited, both refused to anyone else."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from core.models import AuditEvent
from villagers.models import Referral
from wishwall import services
from wishwall.models import Wish


def revise(wish, actor, **changes):
    fields = {"title": wish.title, "kind": wish.kind, "story": wish.story, **changes}
    return services.wish_revise(wish=wish, actor=actor, **fields)


def test_the_household_changes_its_wish_until_it_is_checked(wish_a, villager_a, manager_x):
    changed = revise(wish_a, villager_a, title="一副拐杖", kind=Wish.Kind.DAILY)
    assert (changed.title, changed.kind) == ("一副拐杖", Wish.Kind.DAILY)
    event = AuditEvent.objects.get(action="wish.revise")
    assert event.actor == villager_a and event.detail == {"fields": ["kind", "title"]}
    services.wish_moderate(wish=changed, actor=manager_x, hide_household=False)
    with pytest.raises(ValidationError, match="checked this wish already"):
        revise(changed, villager_a, title="别的")
    assert Wish.objects.get(pk=wish_a.pk).title == "一副拐杖"


def test_nobody_else_changes_or_withdraws_it(wish_a, villager_b, manager_x):
    for actor in (villager_b, manager_x):
        with pytest.raises(PermissionDenied):
            revise(wish_a, actor, title="别的")
        with pytest.raises(PermissionDenied):
            services.wish_withdraw(wish=wish_a, actor=actor)
    assert Wish.objects.get(pk=wish_a.pk).status == Wish.Status.OPEN


def test_nothing_changed_and_a_duplicate_title_are_refused(wish_a, household_a, villager_a):
    with pytest.raises(ValidationError, match="Nothing was changed"):
        revise(wish_a, villager_a)
    services.wish_post(
        household=household_a, actor=villager_a, title="书包", kind="study", story="上学"
    )
    with pytest.raises(ValidationError, match="already has an open wish"):
        revise(wish_a, villager_a, title="书包")


def test_a_withdrawn_wish_leaves_the_wall(
    approved_wish_a, villager_a, client_villager_a, client_villager_b
):
    wall = reverse("wishwall:wall")
    detail = reverse("wishwall:detail", args=[approved_wish_a.pk])
    assert approved_wish_a.title in client_villager_b.get(wall).text
    response = client_villager_a.post(reverse("wishwall:withdraw", args=[approved_wish_a.pk]))
    assert response.url == reverse("wishwall:mine")
    wish = Wish.objects.get(pk=approved_wish_a.pk)
    assert wish.status == Wish.Status.WITHDRAWN and wish.withdrawn_at is not None
    assert approved_wish_a.title not in client_villager_b.get(wall).text
    assert client_villager_b.get(detail).status_code == 404  # nor opened by its address
    assert client_villager_a.get(detail).status_code == 200  # the household still sees it
    event = AuditEvent.objects.get(action="wish.withdraw")
    assert event.actor == villager_a and event.detail == {"was_on_wall": True}
    again = client_villager_a.post(reverse("wishwall:withdraw", args=[approved_wish_a.pk]))
    assert again.url == detail  # refused with a message, nothing changes
    assert AuditEvent.objects.filter(action="wish.withdraw").count() == 1


def test_a_matched_wish_cannot_be_withdrawn(matched_wish_a, villager_a):
    with pytest.raises(ValidationError, match="matched with a donor"):
        services.wish_withdraw(wish=matched_wish_a, actor=villager_a)


def test_withdrawing_closes_the_countys_open_match_referral(
    approved_wish_a, villager_a, supervisor_x
):
    Referral.objects.create(
        village_id=approved_wish_a.village_id,
        household_id=approved_wish_a.household_id,
        kind=Referral.Kind.WISH_MATCH,
        object_id=approved_wish_a.pk,
        why="own household",
        requested_by=supervisor_x,
    )
    services.wish_withdraw(wish=approved_wish_a, actor=villager_a)
    assert not Referral.objects.filter(status=Referral.Status.OPEN).exists()


def test_the_database_refuses_reopening_a_withdrawn_wish(wish_a, villager_a):
    services.wish_withdraw(wish=wish_a, actor=villager_a)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE wishwall_wish SET status = 'open' WHERE id = %s", [wish_a.pk])


def test_pages_offer_change_and_withdraw_to_the_household_only(
    wish_a, client_villager_a, client_manager_x
):
    detail = reverse("wishwall:detail", args=[wish_a.pk])
    html = client_villager_a.get(detail).text
    assert reverse("wishwall:revise", args=[wish_a.pk]) in html
    assert reverse("wishwall:withdraw", args=[wish_a.pk]) in html
    staff = client_manager_x.get(detail).text
    assert reverse("wishwall:withdraw", args=[wish_a.pk]) not in staff
    form = client_villager_a.get(reverse("wishwall:revise", args=[wish_a.pk]))
    assert form.status_code == 200 and wish_a.title in form.text
    saved = client_villager_a.post(
        reverse("wishwall:revise", args=[wish_a.pk]),
        {"title": "一辆新轮椅", "kind": "health", "story": wish_a.story},
    )
    assert saved.url == detail and Wish.objects.get(pk=wish_a.pk).title == "一辆新轮椅"


@pytest.mark.parametrize("page", ["revise", "edit"])
def test_a_second_window_drawn_before_a_change_cannot_undo_it(
    page, wish_a, client_villager_a, client_manager_x, manager_x
):
    """The household's revision and the staff's edit carry the values they were drawn with,
    as the donation correction does: a second window saved later for another field would
    have put the first window's text back without a word."""
    client = client_villager_a if page == "revise" else client_manager_x
    url = reverse(f"wishwall:{page}", args=[wish_a.pk])
    form = client.get(url).context["form"]
    drawn = form["drawn"].value()
    assert drawn
    body = {name: form[name].value() for name in form.fields if name != "hide_household"}
    body |= {"reason": "删去电话"} if page == "edit" else {}
    first = body | {"title": "一辆新轮椅"}
    assert client.post(url, first).status_code == 302
    second = body | {"story": "母亲腿脚不便"}
    refused = client.post(url, second, follow=True)
    wish_a.refresh_from_db()
    assert (wish_a.title, wish_a.story) == ("一辆新轮椅", "父亲腿脚不便，出不了门。")
    assert "changed in the meantime" in refused.text
    # Drawn again as the wish is now: the second change goes through on top of the first.
    again = refused.context["form"]
    assert again["title"].value() == "一辆新轮椅"
    third = second | {"title": "一辆新轮椅", "drawn": again["drawn"].value()}
    assert client.post(url, third).status_code == 302
    wish_a.refresh_from_db()
    assert (wish_a.title, wish_a.story) == ("一辆新轮椅", "母亲腿脚不便")


def test_an_approval_does_not_put_up_text_changed_after_the_reviewer_read_it(
    wish_a, villager_a, client_manager_x
):
    """The household may change its wish until it is approved: a change made while the
    reviewer reads the wish (a phone number typed in, say) is not approved unread."""
    detail = reverse("wishwall:detail", args=[wish_a.pk])
    read = client_manager_x.get(detail).context["approve_form"]["drawn"].value()
    revise(wish_a, villager_a, story="请打电话 13800001111")
    approve = reverse("wishwall:approve", args=[wish_a.pk])
    refused = client_manager_x.post(approve, {"drawn": read}, follow=True)
    wish_a.refresh_from_db()
    assert not wish_a.is_approved
    assert "changed in the meantime" in refused.text and "13800001111" in refused.text
    again = refused.context["approve_form"]["drawn"].value()
    assert client_manager_x.post(approve, {"drawn": again}).status_code == 302
    wish_a.refresh_from_db()
    assert wish_a.is_approved


def test_a_decline_answers_the_wish_as_the_decliner_read_it(wish_a, villager_a, client_manager_x):
    """The household sees the reason for a decline: a change made while staff read the
    wish is not declined unread; the page is drawn again with the new text."""
    url = reverse("wishwall:decline", args=[wish_a.pk])
    read = client_manager_x.get(url).context["form"]["drawn"].value()
    revise(wish_a, villager_a, title="一副老花镜")
    refused = client_manager_x.post(url, {"reason": "轮椅已有人送", "drawn": read}, follow=True)
    wish_a.refresh_from_db()
    assert wish_a.status == Wish.Status.OPEN
    assert "changed in the meantime" in refused.text and "一副老花镜" in refused.text
    again = refused.context["form"]["drawn"].value()
    body = {"reason": "村里暂时没有老花镜", "drawn": again}
    assert client_manager_x.post(url, body).status_code == 302
    wish_a.refresh_from_db()
    assert wish_a.status == Wish.Status.DECLINED


def test_the_change_page_of_a_wish_staff_have_checked_shows_the_wish_and_why(
    wish_a, client_villager_a, manager_x
):
    """Found by a probe: the page reached again (Back, or opened before the staff checked the
    wish) still showed the form, whose every save could only be refused."""
    url = reverse("wishwall:revise", args=[wish_a.pk])
    body = client_villager_a.get(url).context["form"].initial | {"title": "一辆新轮椅"}
    services.wish_moderate(wish=wish_a, actor=manager_x, hide_household=False)
    for response in (client_villager_a.get(url), client_villager_a.post(url, body)):
        assert response.status_code == 200
        assert "Staff have checked this wish already" in response.text
        assert 'method="post"' not in response.text.split("<main", 1)[1].split("</main>")[0]
        assert reverse("wishwall:detail", args=[wish_a.pk]) in response.text
    assert Wish.objects.get(pk=wish_a.pk).title == wish_a.title
