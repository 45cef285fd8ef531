"""积分申报: declaration -> proposal -> approval, and declining with a reason."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.months import previous_month
from points.models import Declaration, Entry, Proposal
from points.services import declaration_accept, declaration_submit, proposal_approve
from tests.factories import MemberFactory
from tests.points.conftest import make_rule, png_upload, propose, today

KEY = "declaration-form-key-0001"


def declare(client, **extra):
    data = {
        "description": "帮邻居修好了水渠",
        "occurred_on": today().isoformat(),
        "idempotency_key": KEY,
        **extra,
    }
    return client.post(reverse("points:declaration_new"), data)


def test_declaration_to_proposal_to_approval(
    client_villager_a, client_manager_x, card_a, supervisor_x, rule_clean, villager_a
):
    member = MemberFactory(household=card_a.household, name="王小明")
    response = declare(client_villager_a, photo=png_upload(), member=member.pk)
    assert response.status_code == 302 and response.url == reverse("points:me")
    declaration = Declaration.objects.get()
    assert declaration.household == card_a.household
    assert declaration.submitted_by == villager_a
    assert declaration.photo
    resend = declare(client_villager_a, photo=png_upload(), member=member.pk)
    assert resend.status_code == 302
    assert Declaration.objects.count() == 1
    changed = declare(client_villager_a, photo=png_upload())
    assert "already sent with different content" in changed.content.decode()

    home = client_villager_a.get(reverse("points:me")).content.decode()
    assert "waiting for review" in home

    review_url = reverse("points:declaration_review", args=[declaration.pk])
    assert "帮邻居修好了水渠" in client_manager_x.get(review_url).content.decode()
    photo = client_manager_x.get(reverse("points:declaration_photo", args=[declaration.pk]))
    assert photo.status_code == 200 and photo["Content-Type"] == "image/jpeg"
    accept = client_manager_x.post(
        reverse("points:declaration_accept", args=[declaration.pk]),
        {"rule": rule_clean.pk, "reason": "helped a neighbour", "idempotency_key": KEY},
    )
    assert accept.status_code == 302
    declaration.refresh_from_db()
    proposal = declaration.proposal
    assert declaration.status == Declaration.Status.ACCEPTED
    assert proposal.status == Proposal.Status.PROPOSED
    assert proposal.member == member
    assert proposal.photo.name == declaration.photo.name
    assert "turned into a proposal" in client_villager_a.get(reverse("points:me")).content.decode()
    assert "pending" in client_villager_a.get(reverse("points:me")).content.decode()

    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    card_a.household.account.refresh_from_db()
    assert card_a.household.account.balance == 105
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == 1


def test_declining_needs_a_reason_and_villager_sees_it(
    client_villager_a, client_manager_x, card_a, rule_clean
):
    declare(client_villager_a)
    declaration = Declaration.objects.get()
    url = reverse("points:declaration_decline", args=[declaration.pk])
    assert client_manager_x.post(url, {"reason": ""}).status_code == 400
    client_manager_x.post(url, {"reason": "已按活动记分"})
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.DECLINED
    assert not Proposal.objects.exists()
    assert "已按活动记分" in client_villager_a.get(reverse("points:me")).content.decode()
    again = client_manager_x.post(url, {"reason": "twice"}, follow=True)
    assert "already reviewed" in again.content.decode()
    accept_url = reverse("points:declaration_accept", args=[declaration.pk])
    late = client_manager_x.post(
        accept_url, {"rule": rule_clean.pk, "reason": "r", "idempotency_key": KEY}, follow=True
    )
    assert "already reviewed" in late.content.decode()
    assert not Proposal.objects.exists()


def test_declaration_photo_only_for_own_household_and_village_staff(
    client_villager_a, client_villager_b, client_manager_y, client_supervisor_x, card_a
):
    declare(client_villager_a, photo=png_upload())
    url = reverse("points:declaration_photo", args=[Declaration.objects.get().pk])
    assert client_villager_a.get(url).status_code == 200
    assert client_supervisor_x.get(url).status_code == 200
    assert client_villager_b.get(url).status_code == 404
    assert client_manager_y.get(url).status_code == 404


def test_staff_cannot_declare_and_villager_cannot_review(
    client_manager_x, client_villager_a, card_a
):
    assert client_manager_x.get(reverse("points:declaration_new")).status_code == 403
    assert client_villager_a.get(reverse("points:declaration_list")).status_code == 403


def test_a_good_deed_is_never_accepted_as_a_deduction(
    client_villager_a, client_manager_x, manager_x, card_a, rule_clean, village_x
):
    """Found by a probe: every active rule was offered, so a villager's declaration (and
    photo) could be turned into a -10 deduction of their own household."""
    fine = make_rule(village_x, "D10", -10)
    declare(client_villager_a, photo=png_upload())
    declaration = Declaration.objects.get()
    review = client_manager_x.get(reverse("points:declaration_review", args=[declaration.pk]))
    offered = review.context["accept_form"].fields["rule"].queryset
    assert rule_clean in offered and fine not in offered
    refused = client_manager_x.post(
        reverse("points:declaration_accept", args=[declaration.pk]),
        {"rule": fine.pk, "reason": "r", "idempotency_key": KEY},
    )
    assert refused.status_code == 400
    with pytest.raises(ValidationError, match="rule that awards points"):
        declaration_accept(declaration=declaration, actor=manager_x, rule=fine, reason="r")
    assert not Proposal.objects.exists()
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.SUBMITTED


def test_who_did_it_left_empty_says_the_whole_household(
    client_villager_a, client_manager_x, card_a
):
    """Found by a probe: the member list's empty choice read "---------", which tells an
    elderly villager nothing; the staff's proposal form had the same."""
    MemberFactory(household=card_a.household, name="王小明")
    pages = (
        client_villager_a.get(reverse("points:declaration_new")),
        client_manager_x.get(reverse("points:proposal_new"), {"household": card_a.household.pk}),
    )
    for page in pages:
        options = page.context["form"]["member"].field.choices
        assert next(iter(options))[1] == "The whole household (nobody named)"
        assert '<option value="" selected>The whole household (nobody named)</option>' in (
            page.content.decode()
        )


def test_accepting_a_declaration_says_every_refusal_at_once(
    client_villager_a, client_manager_x, manager_x, card_a, rule_capped
):
    """Found while finishing the proposal form's fault: accepting a declaration said its
    refusals one at a time (the empty reason; sent again, a figure unlike the rule's without
    a why; again, the monthly cap). They are now said together, and nothing is proposed."""
    declare(client_villager_a)
    declaration = Declaration.objects.get()
    propose(manager_x, [card_a.household], rule_capped)
    propose(manager_x, [card_a.household], rule_capped)  # the month's cap of 20 is used up
    refused = client_manager_x.post(
        reverse("points:declaration_accept", args=[declaration.pk]),
        {"rule": rule_capped.pk, "reason": "", "points": "8", "idempotency_key": KEY},
    )
    assert refused.status_code == 400
    form = refused.context["accept_form"]
    assert list(form.errors) == ["reason", "__all__"]
    said = " ".join(form.non_field_errors())
    assert "say why this proposal gives a different figure" in said
    assert "at most 20 points a month; 20 already counted" in said
    assert "20 already counted" in refused.text  # shown on the page, not only kept
    assert Proposal.objects.count() == 2
    declaration.refresh_from_db()
    assert declaration.status == Declaration.Status.SUBMITTED


def test_the_form_names_the_households_declarations_waiting_for_review(
    client_villager_a, client_villager_b, client_manager_x, card_a, card_b, rule_clean
):
    """Found on the phone: Back after Send (or an answer lost on 3G) drew an empty form that
    said nothing of what was sent, and the same good deed went in twice, each to be reviewed
    on its own. The form now names what waits, as the reserve page names reservations."""
    form_url = reverse("points:declaration_new")
    assert "data-declared" not in client_villager_a.get(form_url).content.decode()
    declare(client_villager_a)
    page = client_villager_a.get(form_url).content.decode()
    assert "You declared “帮邻居修好了水渠” at " in page
    assert "there is no need to declare them again" in page
    # Only the household's own, and only while they wait for review.
    assert "帮邻居修好了水渠" not in client_villager_b.get(form_url).content.decode()
    declaration = Declaration.objects.get()
    client_manager_x.post(
        reverse("points:declaration_accept", args=[declaration.pk]),
        {"rule": rule_clean.pk, "reason": "helped a neighbour", "idempotency_key": KEY},
    )
    assert "data-declared" not in client_villager_a.get(form_url).content.decode()


def test_a_declared_day_is_from_the_first_of_last_month_to_today_as_the_message_says(
    client_villager_a, card_a
):
    """Found on the phone: a good deed of six years back (2020-01-01) was declared, to be
    reviewed like today's. A declaration takes the days from the first of last month to
    today, and the refusal names them; the date picker offers no others."""
    first = previous_month(today())
    said = f"Choose a date from {first.isoformat()} to {today().isoformat()}."
    for day in (datetime.date(2020, 1, 1), first - datetime.timedelta(days=1)):
        refused = declare(client_villager_a, occurred_on=day.isoformat())
        assert refused.status_code == 200
        assert refused.context["form"].errors["occurred_on"] == [said]
    with pytest.raises(ValidationError, match="Choose a date from"):
        declaration_submit(
            user=card_a.household.users.get(),
            description="扫了村道",
            occurred_on=datetime.date(2020, 1, 1),
        )
    assert not Declaration.objects.exists()
    page = client_villager_a.get(reverse("points:declaration_new")).text
    assert f'min="{first.isoformat()}"' in page and f'max="{today().isoformat()}"' in page
    assert declare(client_villager_a, occurred_on=first.isoformat()).status_code == 302
