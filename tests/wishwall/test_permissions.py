"""Who may see and do what with a wish: each role, the other household, the other village."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from tests.conftest import form_key
from tests.wishwall.conftest import post_wish
from wishwall import services
from wishwall.models import Wish, WishMatch


def url(name, wish):
    return reverse(f"wishwall:{name}", args=[wish.pk])


def test_owner_sees_own_unmoderated_wish(client_villager_a, wish_a):
    response = client_villager_a.get(url("detail", wish_a))
    assert response.status_code == 200
    assert wish_a.title in response.content.decode()
    mine = client_villager_a.get(reverse("wishwall:mine")).content.decode()
    assert wish_a.title in mine


def test_other_household_cannot_see_unmoderated_wish(client_villager_b, wish_a):
    assert client_villager_b.get(url("detail", wish_a)).status_code == 404
    assert wish_a.title not in client_villager_b.get(reverse("wishwall:mine")).content.decode()


@pytest.mark.parametrize("action", ["approve", "edit", "decline", "match", "fulfil"])
def test_villager_cannot_change_a_wish(client_villager_b, client_villager_a, wish_a, action):
    data = {"reason": "x", "title": "改了", "story": "改了", "new_donor_name": "某人"}
    for client in (client_villager_b, client_villager_a):  # not even their own
        assert client.post(url(action, wish_a), data).status_code == 403
    wish_a.refresh_from_db()
    assert (wish_a.status, wish_a.approved_at, wish_a.title) == ("open", None, "一辆轮椅")


def test_villager_cannot_moderate_through_the_service(wish_a, villager_a):
    with pytest.raises(PermissionDenied):
        services.wish_moderate(wish=wish_a, actor=villager_a, hide_household=False)
    with pytest.raises(PermissionDenied):
        services.wish_decline(wish=wish_a, actor=villager_a, reason="x")


def test_other_village_manager_gets_404(client_manager_y, approved_wish_a):
    for name in ("detail", "photo", "edit", "decline"):
        assert client_manager_y.get(url(name, approved_wish_a)).status_code == 404, name
    assert client_manager_y.post(url("approve", approved_wish_a)).status_code == 404
    wall = client_manager_y.get(reverse("wishwall:wall")).content.decode()
    assert approved_wish_a.title not in wall


def test_other_village_villager_gets_404(approved_wish_a, card_y, client):
    client.force_login(card_y.household.users.get(is_staff=False))
    assert client.get(url("detail", approved_wish_a)).status_code == 404
    assert client.get(url("photo", approved_wish_a)).status_code == 404
    assert approved_wish_a.title not in client.get(reverse("wishwall:wall")).content.decode()


def test_other_village_staff_cannot_act_through_services(wish_a, manager_y):
    with pytest.raises(PermissionDenied):
        services.wish_moderate(wish=wish_a, actor=manager_y, hide_household=False)


def test_manager_cannot_match_or_fulfil(client_manager_x, approved_wish_a, manager_x, donor_x):
    response = client_manager_x.post(url("match", approved_wish_a), {"donor": donor_x.pk})
    assert response.status_code == 403
    assert client_manager_x.get(url("fulfil", approved_wish_a)).status_code == 403
    with pytest.raises(PermissionDenied):
        services.wish_match(wish=approved_wish_a, actor=manager_x, donor=donor_x)
    assert not WishMatch.objects.exists()
    detail = client_manager_x.get(url("detail", approved_wish_a)).content.decode()
    assert url("match", approved_wish_a) not in detail


def test_supervisor_matches_and_fulfils_through_pages(
    client_supervisor_x, approved_wish_a, donor_x
):
    response = client_supervisor_x.post(
        url("match", approved_wish_a), {"donor": donor_x.pk, "new_donor_kind": "company"}
    )
    assert response.status_code == 302
    response = client_supervisor_x.post(
        url("fulfil", approved_wish_a),
        {"date": "2000-01-01", "given": "轮椅一辆", "thanks": "谢谢"},
    )
    assert response.status_code == 200  # refused: before the match, shown on the form
    assert "before the wish was matched" in response.content.decode()
    from django.utils import timezone

    response = client_supervisor_x.post(
        url("fulfil", approved_wish_a),
        {"date": timezone.localdate().isoformat(), "given": "轮椅一辆", "thanks": "谢谢"},
    )
    assert response.status_code == 302
    approved_wish_a.refresh_from_db()
    assert approved_wish_a.status == Wish.Status.FULFILLED


def test_supervisor_adds_a_new_donor_from_the_match_page(client_supervisor_x, approved_wish_a):
    response = client_supervisor_x.post(
        url("match", approved_wish_a),
        {"new_donor_name": "张慧敏", "new_donor_kind": "person", "note": "开学前"},
    )
    assert response.status_code == 302
    approved_wish_a.refresh_from_db()
    assert approved_wish_a.match.donor.name == "张慧敏"


def test_match_page_shows_a_service_refusal_as_a_form_error(client_supervisor_x, wish_a, donor_x):
    response = client_supervisor_x.post(url("match", wish_a), {"donor": donor_x.pk})
    assert response.status_code == 200
    assert "Approve the wish for the wall before matching it." in response.content.decode()


def test_county_admin_reads_but_cannot_act(client_county, wish_a, village_x):
    client_county.post(reverse("villagers:village_pick"), {"village": village_x.pk})
    assert client_county.get(url("detail", wish_a)).status_code == 200
    assert client_county.get(reverse("wishwall:queue")).status_code == 200
    assert client_county.post(url("approve", wish_a)).status_code == 403
    assert client_county.get(reverse("wishwall:new")).status_code == 403


def test_anonymous_is_sent_to_login(client_anon, wish_a):
    for target in (url("detail", wish_a), reverse("wishwall:wall"), reverse("wishwall:new")):
        response = client_anon.get(target)
        assert response.status_code == 302 and "login" in response["Location"]


def test_villager_posts_only_for_own_household(client_villager_a, household_b, villager_a):
    response = client_villager_a.post(
        reverse("wishwall:new"),
        {
            "household": household_b.pk,
            "title": "书包",
            "kind": "study",
            "story": "上学用",
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 302
    wish = Wish.objects.get()
    assert wish.household == villager_a.household  # the household field is ignored
    assert wish.posted_by == villager_a
    with pytest.raises(PermissionDenied):
        post_wish(household_b, villager_a)


def test_manager_posts_on_behalf_of_a_household(client_manager_x, household_b, manager_x):
    response = client_manager_x.post(
        reverse("wishwall:new"),
        {
            "household": household_b.pk,
            "title": "老花镜",
            "kind": "health",
            "story": "看不清药盒",
            "idempotency_key": form_key(),
        },
    )
    wish = Wish.objects.get()
    assert response.status_code == 302 and response["Location"] == url("detail", wish)
    assert (wish.household, wish.posted_by, wish.posted_on_behalf) == (household_b, manager_x, True)


def test_manager_cannot_post_for_another_village(client_manager_x, household_y, manager_x):
    response = client_manager_x.post(
        reverse("wishwall:new"),
        {
            "household": household_y.pk,
            "title": "老花镜",
            "kind": "health",
            "story": "看不清",
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 200  # not a choice in the form
    with pytest.raises(PermissionDenied):
        post_wish(household_y, manager_x)
    assert not Wish.objects.exists()


def test_queue_is_staff_only(client_villager_a, client_manager_x, wish_a):
    assert client_villager_a.get(reverse("wishwall:queue")).status_code == 403
    page = client_manager_x.get(reverse("wishwall:queue")).content.decode()
    assert wish_a.title in page
