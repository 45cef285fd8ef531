"""Moderation: nothing reaches the wall or other villagers before staff approve it."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from tests.wishwall.conftest import post_wish
from wishwall import services
from wishwall.models import Wish, WishRevision


def test_unmoderated_wish_is_invisible_to_other_villagers_and_the_wall(
    client_villager_b, client_villager_a, wish_a
):
    detail = reverse("wishwall:detail", args=[wish_a.pk])
    assert client_villager_b.get(detail).status_code == 404
    for client in (client_villager_a, client_villager_b):
        for page in ("wishwall:wall", "wishwall:display"):
            body = client.get(reverse(page), {"wall": "wishes"}).content.decode()
            assert wish_a.title not in body, page


def test_approved_wish_appears_with_masked_name(client_villager_b, client_manager_x, wish_a):
    response = client_manager_x.post(reverse("wishwall:approve", args=[wish_a.pk]))
    assert response.status_code == 302
    wish_a.refresh_from_db()
    assert wish_a.is_approved
    wall = client_villager_b.get(reverse("wishwall:wall")).content.decode()
    assert wish_a.title in wall
    assert "王**" in wall and "王大山" not in wall
    assert wish_a.household.phone not in wall
    detail = client_villager_b.get(reverse("wishwall:detail", args=[wish_a.pk])).content.decode()
    assert "王**" in detail and "王大山" not in detail and wish_a.household.phone not in detail


def test_hidden_household_shows_only_the_group(client_villager_b, client_manager_x, wish_a):
    client_manager_x.post(reverse("wishwall:approve", args=[wish_a.pk]), {"hide_household": "on"})
    wall = client_villager_b.get(reverse("wishwall:wall")).content.decode()
    assert wish_a.title in wall
    assert "王**" not in wall and "a household of 啊道" in wall


def test_declined_wish_leaves_the_wall(client_villager_b, approved_wish_a, manager_x):
    services.wish_decline(wish=approved_wish_a, actor=manager_x, reason="已解决")
    assert (
        approved_wish_a.title
        not in client_villager_b.get(reverse("wishwall:wall")).content.decode()
    )
    detail = reverse("wishwall:detail", args=[approved_wish_a.pk])
    assert client_villager_b.get(detail).status_code == 404


def test_missed_phone_and_id_numbers_are_masked_on_the_wall(
    household_a, villager_a, manager_x, client_villager_b
):
    wish = services.wish_post(
        household=household_a,
        actor=villager_a,
        title="一台血压计",
        kind=Wish.Kind.HEALTH,
        story="请打13912345678，身份证610630197001011234",
    )
    services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)
    body = client_villager_b.get(reverse("wishwall:detail", args=[wish.pk])).content.decode()
    assert "13912345678" not in body and "139****5678" in body
    assert "610630197001011234" not in body and "6106**********1234" in body


def test_edit_keeps_a_revision_for_each_changed_field(wish_a, manager_x):
    old_story = wish_a.story
    wish = services.wish_edit(
        wish=wish_a,
        actor=manager_x,
        title=wish_a.title,
        story="父亲腿脚不便。",
        hide_household=True,
        reason="删去个人细节",
    )
    assert wish.story == "父亲腿脚不便。" and wish.hide_household
    revision = WishRevision.objects.get()
    assert (revision.field, revision.old_text, revision.new_text) == (
        "story",
        old_story,
        wish.story,
    )
    assert (revision.edited_by, revision.reason) == (manager_x, "删去个人细节")
    event = AuditEvent.objects.get(action="wish.edit")
    assert event.detail["fields"] == ["story"] and event.detail["hide_household"] is True


def test_edit_needs_a_reason_and_a_change(wish_a, manager_x):
    with pytest.raises(ValidationError, match="reason"):
        services.wish_edit(
            wish=wish_a, actor=manager_x, title="新", story="新", hide_household=False, reason=" "
        )
    with pytest.raises(ValidationError, match="Nothing was changed"):
        services.wish_edit(
            wish=wish_a,
            actor=manager_x,
            title=wish_a.title,
            story=wish_a.story,
            hide_household=False,
            reason="看看",
        )
    assert not WishRevision.objects.exists()


def test_a_phone_number_taken_out_stays_out_of_the_record_shown(
    wish_a, manager_x, client_supervisor_x
):
    """The edit that removes a phone number keeps the old text (for the record), but the
    history on the page shows it masked, as the wall would."""
    wish_a.story = "家里缺一台轮椅，有意者请联系13912345678。"
    wish_a.save(update_fields=["story"])
    services.wish_edit(
        wish=wish_a,
        actor=manager_x,
        title=wish_a.title,
        story="家里缺一台轮椅。",
        hide_household=False,
        reason="删去电话号码",
    )
    page = client_supervisor_x.get(reverse("wishwall:detail", args=[wish_a.pk])).text
    assert "删去电话号码" in page and "13912345678" not in page
    assert "139****5678" in page
    assert "13912345678" in WishRevision.objects.get().old_text


def test_a_wish_holding_a_phone_number_is_pointed_out_to_the_reviewer(
    household_a, villager_a, wish_a, client_manager_x
):
    with_phone = post_wish(
        household_a, villager_a, title="一副拐杖", story="有意者请联系13912345678。"
    )
    queue = client_manager_x.get(reverse("wishwall:queue")).text
    rows = dict(re.findall(r"<strong>([^<]+)</strong><span>(.*?)</span></div>", queue, re.S))
    assert "holds a number" in rows["一副拐杖"] and "holds a number" not in rows[wish_a.title]
    page = client_manager_x.get(reverse("wishwall:detail", args=[with_phone.pk])).text
    assert "looks like a phone or ID number" in page
    plain = client_manager_x.get(reverse("wishwall:detail", args=[wish_a.pk])).text
    assert "looks like a phone or ID number" not in plain


def test_revisions_cannot_be_changed_or_deleted(wish_a, manager_x):
    services.wish_edit(
        wish=wish_a,
        actor=manager_x,
        title="新标题",
        story=wish_a.story,
        hide_household=False,
        reason="typo",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        WishRevision.objects.update(new_text="rewritten history")
    with pytest.raises(IntegrityError), transaction.atomic():
        WishRevision.objects.all().delete()


def test_edit_page_records_the_change_and_shows_it_to_staff(client_manager_x, wish_a):
    edit = reverse("wishwall:edit", args=[wish_a.pk])
    response = client_manager_x.post(edit, {"title": "一辆轮椅", "story": "新的说明", "reason": ""})
    assert response.status_code == 200  # the reason is required
    wish_a.refresh_from_db()
    assert wish_a.story != "新的说明"
    response = client_manager_x.post(
        edit, {"title": "一辆轮椅", "story": "新的说明", "reason": "删去电话"}
    )
    assert response.status_code == 302
    detail = client_manager_x.get(reverse("wishwall:detail", args=[wish_a.pk])).content.decode()
    assert "删去电话" in detail and "父亲腿脚不便，出不了门。" in detail  # the old text


def test_revisions_are_not_shown_to_villagers(client_villager_a, wish_a, manager_x):
    services.wish_edit(
        wish=wish_a,
        actor=manager_x,
        title=wish_a.title,
        story="改过的",
        hide_household=False,
        reason="内部原因",
    )
    body = client_villager_a.get(reverse("wishwall:detail", args=[wish_a.pk])).content.decode()
    assert "改过的" in body and "内部原因" not in body


def test_queue_tabs(client_supervisor_x, approved_wish_a, household_b, villager_b):
    pending_wish = post_wish(household_b, villager_b, title="老花镜")
    pending = client_supervisor_x.get(reverse("wishwall:queue")).content.decode()
    assert pending_wish.title in pending and approved_wish_a.title not in pending
    on_wall = client_supervisor_x.get(reverse("wishwall:queue"), {"tab": "wall"}).content.decode()
    assert approved_wish_a.title in on_wall and pending_wish.title not in on_wall


PHONE = "13987654321"


def test_a_number_in_the_title_or_the_thanks_is_masked_wherever_others_read_it(
    household_a, villager_a, manager_x, supervisor_x, donor_x, client_villager_b
):
    """Found by a probe: the page's <title> held the title unmasked, and what was given and
    the thanks showed in full on the echo wall, the TV board and the wish's page."""
    wish = post_wish(household_a, villager_a, title=f"轮椅 {PHONE}")
    services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)
    page = client_villager_b.get(reverse("wishwall:detail", args=[wish.pk])).text
    assert PHONE not in page and "139****4321" in page
    services.wish_match(wish=wish, actor=supervisor_x, donor=donor_x, note="")
    services.wish_fulfil(
        wish=wish,
        actor=supervisor_x,
        date=timezone.localdate(),
        given=f"轮椅一辆 联系{PHONE}",
        thanks=f"谢谢 {PHONE}",
    )
    for url in (
        reverse("wishwall:echo"),
        reverse("wishwall:display"),
        reverse("wishwall:detail", args=[wish.pk]),
    ):
        assert PHONE not in client_villager_b.get(url).text, url


# How villagers write numbers in a wish: with dashes or spaces, after +86 or 86, an old
# 15-digit ID number, an ID number in blocks.
NUMBERS_AS_WRITTEN = [
    "138-1234-5678",
    "138 1234 5678",
    "+86 138-1234-5678",
    "8613812345678",
    "610630198801011",
    "610630 19880101 1234",
]


@pytest.mark.parametrize("number", NUMBERS_AS_WRITTEN)
def test_a_number_written_the_usual_ways_is_pointed_out_and_masked_everywhere(
    number,
    household_a,
    villager_a,
    manager_x,
    supervisor_x,
    donor_x,
    client_manager_x,
    client_villager_b,
):
    """Found by a probe: the wall masked only unbroken runs of 11 or 18 digits, so a phone
    written 138-1234-5678 went up in full and the reviewer was not warned."""
    digits = "".join(char for char in number if char.isdigit())
    wish = post_wish(
        household_a, villager_a, title=f"轮椅 {number}", story=f"需要轮椅，电话{number}，找王大妈"
    )
    detail = reverse("wishwall:detail", args=[wish.pk])
    assert "looks like a phone or ID number" in client_manager_x.get(detail).text
    assert "holds a number" in client_manager_x.get(reverse("wishwall:queue")).text
    services.wish_moderate(wish=wish, actor=manager_x, hide_household=False)
    pages = [reverse("wishwall:wall"), reverse("wishwall:display") + "?wall=wishes", detail]
    for url in pages:
        body = client_villager_b.get(url).text
        assert number not in body and digits not in body, url
        assert "找王大妈" in body or url != detail
    services.wish_match(wish=wish, actor=supervisor_x, donor=donor_x, note="")
    services.wish_fulfil(
        wish=wish,
        actor=supervisor_x,
        date=timezone.localdate(),
        given=f"轮椅一辆 联系{number}",
        thanks=f"谢谢 {number}",
    )
    for url in (reverse("wishwall:echo"), reverse("wishwall:display"), detail):
        body = client_villager_b.get(url).text
        assert number not in body and digits not in body, url


@pytest.mark.parametrize("reader", ["client_township", "client_secretary_x"])
def test_the_township_and_the_party_secretary_read_a_wish_as_the_wall_shows_it(
    reader, request, household_a, villager_a, manager_x, village_x
):
    """Found by a probe: they got the staff's view, the household and the numbers in full."""
    client = request.getfixturevalue(reader)
    session = client.session
    session["county_village_id"] = village_x.pk
    session.save()
    wish = post_wish(household_a, villager_a, title="轮椅", story=f"电话{PHONE}")
    services.wish_moderate(wish=wish, actor=manager_x, hide_household=True)
    page = client.get(reverse("wishwall:detail", args=[wish.pk])).text
    assert PHONE not in page and household_a.head_name not in page
