"""The monthly hygiene round: one sheet, saved once, recorded and proposed as one batch."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from points import rounds
from points.models import Batch, Entry, InspectionRound, Proposal
from points.rounds import CHECK_NAMES, RoundLine, inspection_round_record
from points.services import proposal_approve, proposal_reject
from tests.conftest import form_key, issue_card
from tests.factories import HouseholdFactory, VillageGroupFactory
from tests.points.conftest import make_rule, today
from tests.points.test_concurrency import held_in, run_threads
from tests.security.concurrent import at_once
from villagers.models import Inspection, Referral
from villagers.services import card_recall, household_save

ALL_CLEAN = dict.fromkeys(CHECK_NAMES, True)


@pytest.fixture
def rule_pass(village_x):
    return make_rule(village_x, "HJ01", 5, cap=5, description="monthly inspection passed")


@pytest.fixture
def rule_fail(village_x):
    return make_rule(village_x, "KF03", -3, description="monthly inspection failed")


@pytest.fixture
def uncarded(group_x):
    return HouseholdFactory(group=group_x, head_name="赵无卡", number="X009")


def lines_for(households, failing=(), absent=()):
    return [
        RoundLine(
            household=household,
            checks={**ALL_CLEAN, "kitchen_clean": household not in failing},
            inspected=household not in absent,
        )
        for household in households
    ]


def record(manager, households, rule_pass, rule_fail, **kwargs):
    kwargs.setdefault("lines", lines_for(households))
    return inspection_round_record(
        village=manager.village,
        group=households[0].group,
        date=today(),
        pass_rule=rule_pass,
        fail_rule=rule_fail,
        actor=manager,
        **kwargs,
    )


def test_a_round_records_every_inspection_and_proposes_one_batch(
    manager_x, supervisor_x, card_a, card_b, uncarded, rule_pass, rule_fail
):
    a, b = card_a.household, card_b.household
    round_ = record(
        manager_x, [a, b, uncarded], rule_pass, rule_fail, lines=lines_for([a, b, uncarded], [b])
    )
    assert round_.inspections.count() == 3
    assert {i.household_id: i.passed for i in round_.inspections.all()} == {
        a.pk: True,
        b.pk: False,
        uncarded.pk: True,
    }
    proposals = {p.household_id: p for p in round_.batch.proposals.select_related("rule")}
    assert {h: (p.rule.code, p.points) for h, p in proposals.items()} == {
        a.pk: ("HJ01", 5),
        b.pk: ("KF03", -3),
    }
    assert "kitchen clean" in proposals[b.pk].reason
    assert round_.batch.rule is None
    assert round_.not_proposed == [{"household": uncarded.pk, "why": "no active points card"}]
    # Nothing reaches the ledger before the supervisor approves the batch in one go.
    assert not Entry.objects.filter(kind__in=["award", "deduction"]).exists()
    manager_x.village.publicity_days = 0
    manager_x.village.save()
    supervisor_x.village.refresh_from_db()
    proposal_approve(proposal_ids=[p.pk for p in proposals.values()], actor=supervisor_x)
    assert a.account.entries.filter(kind="award", points=5).exists()
    assert b.account.entries.filter(kind="deduction", points=-3).exists()


def test_households_not_inspected_get_nothing_and_are_named(
    manager_x, card_a, card_b, rule_pass, rule_fail
):
    a, b = card_a.household, card_b.household
    round_ = record(manager_x, [a, b], rule_pass, rule_fail, lines=lines_for([a, b], absent=[b]))
    assert [i.household_id for i in round_.inspections.all()] == [a.pk]
    assert round_.not_proposed == [{"household": b.pk, "why": "not inspected (nobody at home)"}]


def test_no_rule_chosen_records_inspections_only(manager_x, card_a, card_b):
    round_ = record(manager_x, [card_a.household, card_b.household], None, None)
    assert round_.batch is None and round_.inspections.count() == 2
    assert not Proposal.objects.exists()


def test_the_monthly_cap_leaves_a_household_out_not_the_round(
    manager_x, card_a, card_b, rule_pass, rule_fail
):
    a, b = card_a.household, card_b.household
    from tests.points.conftest import propose

    propose(manager_x, [a], rule_pass)
    round_ = record(manager_x, [a, b], rule_pass, rule_fail)
    assert [p.household_id for p in round_.batch.proposals.all()] == [b.pk]
    assert round_.not_proposed[0]["household"] == a.pk
    assert "HJ01 already counted" in round_.not_proposed[0]["why"]


def test_a_second_round_of_the_month_is_refused_unless_the_first_was_rejected(
    manager_x, supervisor_x, card_a, card_b, rule_pass, rule_fail
):
    households = [card_a.household, card_b.household]
    first = record(manager_x, households, rule_pass, rule_fail)
    with pytest.raises(ValidationError, match="already saved"):
        record(manager_x, households, rule_pass, rule_fail)
    proposal_reject(
        proposal_ids=[p.pk for p in first.batch.proposals.all()],
        actor=supervisor_x,
        reason="wrong day",
    )
    again = record(manager_x, households, rule_pass, rule_fail)
    assert again.batch.proposals.count() == 2


def test_a_household_that_moved_group_is_left_out_of_its_new_groups_round(
    manager_x, village_x, group_x, card_a, card_b, rule_pass, rule_fail
):
    """Found by a probe: rounds were matched by group, so a household moved mid-month was
    inspected and deducted a second time by its new group's round."""
    a, b = card_a.household, card_b.household
    record(manager_x, [a, b], rule_pass, rule_fail, lines=lines_for([a, b], failing=[a]))
    other = VillageGroupFactory(village=village_x, name="富庄")
    neighbour = HouseholdFactory(group=other, head_name="杜新", number="F001")
    a.group = other
    household_save(household=a, actor=manager_x)
    with pytest.raises(ValidationError, match="already had this month's round"):
        record(manager_x, [a], rule_pass, rule_fail, lines=lines_for([a], [a]))
    second = record(
        manager_x, [a, neighbour], rule_pass, rule_fail, lines=lines_for([a, neighbour], [a])
    )
    assert [i.household_id for i in second.inspections.all()] == [neighbour.pk]
    assert second.batch is None  # the neighbour has no card
    assert {
        "household": a.pk,
        "why": f"already in this month's round of 啊道, saved on {today()}",
    } in second.not_proposed
    assert Proposal.objects.filter(household=a, rule=rule_fail).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_rounds_sharing_a_household_at_once_inspect_it_once(
    monkeypatch, manager_x, village_x, group_x, card_a, card_b, rule_pass, rule_fail
):
    """The round of the group a household left (its sheet drawn before the move) and the
    round of the group it joined, saved at the same moment: the household's row lock makes
    one wait, and it then leaves the household out."""
    a, b = card_a.household, card_b.household
    other = VillageGroupFactory(village=village_x, name="富庄")
    neighbour = HouseholdFactory(group=other, head_name="杜新", number="F001")
    moved = type(a).objects.get(pk=a.pk)
    moved.group = other
    household_save(household=moved, actor=manager_x)
    # Hold whichever round records its inspections first, inside its transaction.
    held_in(monkeypatch, rounds, "inspections_record", seconds=1.0)
    run_threads(
        [
            lambda: record(manager_x, [a, b], rule_pass, rule_fail, lines=lines_for([a, b], [a])),
            lambda: record(
                manager_x,
                [moved, neighbour],
                rule_pass,
                rule_fail,
                lines=lines_for([moved, neighbour], [moved]),
            ),
        ]
    )
    assert InspectionRound.objects.count() == 2
    inspected = InspectionRound.inspections.through.objects.filter(inspection__household=a)
    assert inspected.count() == 1
    assert Proposal.objects.filter(household=a).count() == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"pass_rule": "fail"}, "must be an award"),
        ({"fail_rule": "pass"}, "must be a deduction"),
        ({"pass_rule": "other_village"}, "active rule of this village"),
        ({"actor": "supervisor"}, "Only the village's manager"),
        ({"lines": "other_group"}, "another village group"),
        ({"lines": "none_inspected"}, "No household was inspected"),
    ],
)
def test_refusals_write_nothing(
    change,
    message,
    manager_x,
    supervisor_x,
    card_a,
    card_b,
    rule_pass,
    rule_fail,
    rule_y,
    household_y,
):
    households = [card_a.household, card_b.household]
    kwargs = {
        "village": manager_x.village,
        "group": households[0].group,
        "date": today(),
        "pass_rule": rule_pass,
        "fail_rule": rule_fail,
        "actor": manager_x,
        "lines": lines_for(households),
    }
    rules = {"fail": rule_fail, "pass": rule_pass, "other_village": rule_y}
    for name, value in change.items():
        if name == "actor":
            kwargs["actor"] = supervisor_x
        elif value == "other_group":
            kwargs["lines"] = lines_for([*households, household_y])
        elif value == "none_inspected":
            kwargs["lines"] = lines_for(households, absent=households)
        else:
            kwargs[name] = rules[value]
    with pytest.raises(ValidationError, match=message):
        inspection_round_record(**kwargs)
    assert not Inspection.objects.filter(date=today()).exclude(inspector=None).exists()
    assert not InspectionRound.objects.exists() and not Batch.objects.exists()


def test_the_supervisors_own_household_goes_to_the_county(
    manager_x, supervisor_x, card_a, card_b, rule_pass, rule_fail
):
    supervisor_x.household = card_b.household
    supervisor_x.save()
    round_ = record(manager_x, [card_a.household, card_b.household], rule_pass, rule_fail)
    proposal_b = round_.batch.proposals.get(household=card_b.household)
    assert Referral.objects.filter(
        kind=Referral.Kind.PROPOSAL, object_id=proposal_b.pk, status="open"
    ).exists()


# --- the pages ----------------------------------------------------------------------------


def sheet_body(households, group, rule_pass, rule_fail, failing=(), absent=()):
    body = {
        "date": today().isoformat(),
        "pass_rule": str(rule_pass.pk) if rule_pass else "none",
        "fail_rule": str(rule_fail.pk) if rule_fail else "none",
        "household": [str(h.pk) for h in households],
        "idempotency_key": form_key(),
        "save": "1",
    }
    for household in households:
        for name in CHECK_NAMES:
            if not (household in failing and name == "toilet_clean"):
                body[f"h{household.pk}-{name}"] = "on"
        if household in absent:
            body[f"h{household.pk}-absent"] = "on"
    return body


def test_the_manager_saves_a_round_in_three_screens_and_one_post(
    client_manager_x,
    client_supervisor_x,
    village_x,
    group_x,
    card_a,
    card_b,
    rule_pass,
    rule_fail,
    django_assert_max_num_queries,
):
    a, b = card_a.household, card_b.household
    # Screen 1: the groups, each with a button to its sheet.
    page = client_manager_x.get(reverse("points:round_list")).content.decode()
    sheet_url = reverse("points:round_new_group", args=[group_x.pk])
    assert sheet_url in page
    # Screen 2: the sheet, every check ticked to start with; the rules to choose once.
    sheet = client_manager_x.get(sheet_url)
    html = sheet.content.decode()
    assert html.count('type="checkbox"') == 2 * 7 and html.count("checked") == 2 * 6
    assert sheet.context["form"]["pass_rule"].value() == ""
    # One POST; screen 3 is the saved round.
    with django_assert_max_num_queries(120):
        response = client_manager_x.post(
            sheet_url, sheet_body([a, b], group_x, rule_pass, rule_fail, failing=[b])
        )
    round_ = InspectionRound.objects.get()
    assert response.url == reverse("points:round_detail", args=[round_.pk])
    detail = client_manager_x.get(response.url).content.decode()
    assert "HJ01" in detail and "KF03" in detail
    # In Chinese an inspection fails as 不达标 (the sheet's word), not 失败 (a task's).
    chinese = client_manager_x.get(response.url, HTTP_ACCEPT_LANGUAGE="zh-hans").text
    assert "不达标</span>" in chinese and "失败" not in chinese
    # The rules are remembered for the next round.
    again = client_manager_x.get(sheet_url)
    assert again.context["form"]["pass_rule"].value() == str(rule_pass.pk)
    assert again.context["form"]["fail_rule"].value() == str(rule_fail.pk)
    # The supervisor sees the batch with its counts and approves it with one POST.
    queue = client_supervisor_x.get(reverse("points:approval_queue")).content.decode()
    assert "passed: 1" in queue and "failed: 1" in queue
    village_x.publicity_days = 0
    village_x.save()
    decided = client_supervisor_x.post(
        reverse("points:approval_decide"),
        {"batch_action": f"approve:{round_.batch_id}", "idempotency_key": form_key()},
    )
    assert decided.status_code == 302
    assert set(round_.batch.proposals.values_list("status", flat=True)) == {"approved"}


def test_the_whole_village_on_one_sheet_saves_for_the_source_village(
    client_manager_x, village_x, group_x, rule_pass, rule_fail
):
    """啊道村 has 154 households: its whole-village sheet sends about 1,240 fields (six checks,
    a note and the household's id each), past Django's default limit of 1,000 (a 400 that
    lost every tick)."""
    households = HouseholdFactory.create_batch(160, group=group_x)
    body = sheet_body(households, group_x, rule_pass, rule_fail, failing=households[:3])
    body |= {f"h{household.pk}-notes": "" for household in households}
    assert len(body) - 1 + len(households) > 1000  # "household" is one name, 160 values
    response = client_manager_x.post(reverse("points:round_new"), body)
    assert response.status_code == 302, response.status_code
    assert Inspection.objects.filter(household__in=households).count() == 160
    failed = Inspection.objects.filter(household__in=households, toilet_clean=False)
    assert set(failed.values_list("household", flat=True)) == {h.pk for h in households[:3]}


def test_a_sheet_too_large_to_send_is_not_drawn_and_the_largest_one_sends(
    client_manager_x, group_x, rule_pass, rule_fail, settings
):
    """At about 1,100 households a sheet would pass Django's field limit: Django refuses such
    a POST whole (a "bad request", every tick lost), so the page says to go group by group
    instead of drawing it. A sheet of the most households allowed, every box ticked and
    every note written, still sends."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5 + 9 * 3 + 8  # room for 3 households, not 4
    households = HouseholdFactory.create_batch(3, group=group_x)
    sheet = client_manager_x.get(reverse("points:round_new"))
    assert sheet.status_code == 200 and "form" in sheet.context
    body = sheet_body(households, group_x, rule_pass, rule_fail)
    body |= {f"h{household.pk}-absent": "on" for household in households[:2]}
    body |= {f"h{household.pk}-notes": "门锁着" for household in households}
    response = client_manager_x.post(reverse("points:round_new"), body)
    assert response.status_code == 302, response.context["form"].errors
    assert Inspection.objects.get(household__in=households).household == households[2]

    HouseholdFactory(group=group_x)
    for url in (reverse("points:round_new"), reverse("points:round_new_group", args=[group_x.pk])):
        page = client_manager_x.get(url)
        text = page.content.decode()
        assert "4 active households are too many for one sheet" in text
        assert "sends at most 3" in text and 'type="checkbox"' not in text


def test_a_sheet_without_a_rule_choice_is_refused_on_the_page(
    client_manager_x, group_x, card_a, rule_pass, rule_fail
):
    body = sheet_body([card_a.household], group_x, rule_pass, rule_fail)
    body["pass_rule"] = ""
    url = reverse("points:round_new_group", args=[group_x.pk])
    response = client_manager_x.post(url, body)
    assert response.status_code == 200 and response.context["form"].errors["pass_rule"]
    assert not Inspection.objects.filter(date=today()).exclude(inspector=None).exists()


def test_the_round_list_offers_the_round_again_once_its_batch_was_rejected(
    client_manager_x, manager_x, supervisor_x, group_x, card_a, card_b, rule_pass, rule_fail
):
    """Found by a probe: the list still showed a rejected round as saved, with no way to
    start it again, though the service allows it."""
    first = record(manager_x, [card_a.household, card_b.household], rule_pass, rule_fail)
    sheet_url = reverse("points:round_new_group", args=[group_x.pk])
    assert sheet_url not in client_manager_x.get(reverse("points:round_list")).content.decode()
    proposal_reject(
        proposal_ids=[p.pk for p in first.batch.proposals.all()],
        actor=supervisor_x,
        reason="wrong day",
    )
    page = client_manager_x.get(reverse("points:round_list")).content.decode()
    assert sheet_url in page and "not done yet" in page


def test_enter_in_a_box_of_the_sheet_checks_it_and_saves_nothing(
    client_manager_x, group_x, card_a, card_b, rule_pass, rule_fail
):
    """Found by a probe: Enter in the first row's note (or on a tick box) pressed the form's
    only button, and the round was saved with every household below it passing unseen. Enter
    presses the form's first button, which names no save: the sheet comes back as typed."""
    a, b = card_a.household, card_b.household
    url = reverse("points:round_new_group", args=[group_x.pk])
    sheet = client_manager_x.get(url).content.decode()
    form = sheet[sheet.index('<form autocomplete="off" method="post"') :]
    first_button = form[form.index("<button") : form.index(">", form.index("<button"))]
    assert "name=" not in first_button and "data-enter-default" in first_button
    assert 'name="save" value="1"' in form
    body = sheet_body([a, b], group_x, rule_pass, rule_fail, failing=[b])
    body[f"h{b.pk}-notes"] = "厕所脏"
    del body["save"]
    response = client_manager_x.post(url, body)
    assert response.status_code == 200
    assert not InspectionRound.objects.exists() and not Proposal.objects.exists()
    assert "Not saved yet: Enter only checks the sheet." in response.content.decode()
    rows = {row.household: row for row in response.context["rows"]}
    assert rows[b].notes == "厕所脏"
    assert {name: ticked for name, _label, ticked in rows[b].checks}["toilet_clean"] is False
    assert response.context["form"]["pass_rule"].value() == str(rule_pass.pk)
    # The same sheet, saved by its button, is saved once.
    saved = client_manager_x.post(url, {**body, "save": "1"})
    assert saved.status_code == 302 and InspectionRound.objects.count() == 1


def test_a_sheet_already_saved_this_month_says_so_before_anything_is_ticked(
    client_manager_x, manager_x, group_x, card_a, card_b, rule_pass, rule_fail
):
    """Found by a probe: once a group's round was saved, the list still offered the whole
    village's sheet, and that sheet (or the group's, reached by Back) said nothing until its
    every row had been ticked and sent, then refused it."""
    list_url = reverse("points:round_list")
    whole_village = reverse("points:round_new")
    assert whole_village in client_manager_x.get(list_url).content.decode()
    assert "already saved" not in client_manager_x.get(whole_village).content.decode()
    record(manager_x, [card_a.household, card_b.household], rule_pass, rule_fail)
    assert whole_village not in client_manager_x.get(list_url).content.decode()
    for url in (whole_village, reverse("points:round_new_group", args=[group_x.pk])):
        page = client_manager_x.get(url).content.decode()
        assert "for this month was already saved on" in page, url


def test_a_sheet_whose_households_changed_is_refused(
    client_manager_x, group_x, group_y, card_a, household_y, rule_pass, rule_fail
):
    body = sheet_body([card_a.household, household_y], group_x, rule_pass, rule_fail)
    url = reverse("points:round_new_group", args=[group_x.pk])
    response = client_manager_x.post(url, body)
    assert response.status_code == 200
    assert "changed since the sheet was drawn" in response.content.decode()
    assert not InspectionRound.objects.exists()


def test_a_village_without_rules_is_told_so(client_manager_x, group_x, card_a):
    url = reverse("points:round_new_group", args=[group_x.pk])
    response = client_manager_x.get(url)
    assert "no active award or deduction rule" in response.content.decode()
    assert response.context["form"]["pass_rule"].value() == "none"


def test_pages_by_role(
    client_manager_x,
    client_supervisor_x,
    client_manager_y,
    client_villager_a,
    client_county,
    group_x,
    card_a,
    rule_pass,
    rule_fail,
    manager_x,
):
    round_ = record(manager_x, [card_a.household], rule_pass, rule_fail)
    sheet = reverse("points:round_new_group", args=[group_x.pk])
    detail = reverse("points:round_detail", args=[round_.pk])
    assert client_manager_x.get(sheet).status_code == 200
    assert client_supervisor_x.get(sheet).status_code == 403
    assert client_villager_a.get(sheet).status_code == 403
    assert client_manager_y.get(sheet).status_code == 404  # another village's group
    assert client_supervisor_x.get(detail).status_code == 200
    client_county.post(reverse("villagers:village_pick"), {"village": group_x.village_id})
    assert client_county.get(detail).status_code == 200
    assert client_manager_y.get(detail).status_code == 404
    assert client_villager_a.get(reverse("points:round_list")).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_five_identical_posts_save_one_round(village_x, group_x, manager_x, rule_pass, rule_fail):
    from tests.conftest import _client_for

    households = [HouseholdFactory(group=group_x, number=f"R{i:02d}") for i in range(5)]
    for household in households:
        issue_card(household, manager_x)
    url = reverse("points:round_new_group", args=[group_x.pk])
    body = sheet_body(households, group_x, rule_pass, rule_fail, failing=households[:2])
    at_once([_client_for(manager_x) for _ in range(5)], url, body)
    assert InspectionRound.objects.count() == 1
    assert Inspection.objects.filter(inspector=manager_x).count() == 5
    assert Proposal.objects.count() == 5 and Batch.objects.count() == 1


def test_a_household_whose_card_was_recalled_is_inspected_but_not_proposed(
    manager_x, supervisor_x, group_x, card_a, card_b, rule_pass, rule_fail
):
    """Found by a probe: the round proposed a household that had left the scheme, and its
    failed check was then deducted from the account it left behind."""
    card_recall(household=card_a.household, actor=manager_x, reason="搬走了")
    recorded = inspection_round_record(
        village=manager_x.village,
        group=group_x,
        date=today(),
        lines=lines_for([card_a.household, card_b.household], failing=[card_a.household]),
        pass_rule=rule_pass,
        fail_rule=rule_fail,
        actor=manager_x,
    )
    assert [p.household_id for p in recorded.batch.proposals.all()] == [card_b.household_id]
    assert recorded.not_proposed == [
        {"household": card_a.household_id, "why": "no active points card"}
    ]
    assert recorded.inspections.filter(household=card_a.household).exists()


@pytest.mark.django_db(transaction=True)
def test_a_round_and_a_card_replaced_at_once_wait_for_each_other(
    monkeypatch, card_a, manager_x, village_x
):
    """Found by a second read: the round locked its households, then needed the village's
    row for its batch; replacing a card locks the village, then the household. At the same
    moment that was a deadlock (a 500). The round now takes the village's row first."""
    from villagers.services import card_replace

    household = card_a.household
    rule = make_rule(village_x, "E05", 5)
    lines = [RoundLine(household=household, checks=dict.fromkeys(CHECK_NAMES, True))]
    held = held_in(monkeypatch, rounds, "inspections_record", seconds=1.0)

    def round_():
        return inspection_round_record(
            village=village_x,
            group=household.group,
            date=today(),
            lines=lines,
            pass_rule=rule,
            fail_rule=None,
            actor=manager_x,
        )

    def replace():
        assert held.wait(timeout=10)
        return card_replace(household=household, actor=manager_x, pin="8264", reason="lost")

    answers = run_threads([round_, replace])
    assert [answer for answer, _result in answers] == ["ok", "ok"]
