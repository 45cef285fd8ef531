"""What each POST of the URL table writes, and a body it accepts (tests/security/test_once_only.py).

A body factory takes the cast and the client that will send it, may prepare the world (a
held deduction, a wish to match), and returns the form fields, or a `Body` when the valid
request goes to another object than the row's `kwargs` name.
"""

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from core.months import previous_month
from points.activities import activity_checkin, checkin_pass
from points.models import Account, Entry, Proposal, Rule
from points.publicity import proposals_credit_due
from points.rounds import CHECK_NAMES, round_households
from points.services import entry_post, proposal_approve, proposal_create
from points.settlement import settlement_draft as settlement_draft_plan
from store.models import Item
from store.services import reservation_create, stock_write_off_request
from tests.conftest import PASSWORD, PIN, form_key
from tests.factories import (
    HouseholdFactory,
    MemberFactory,
    ParticipationFactory,
    PassedInspectionFactory,
)
from tests.store.conftest import add_to_cart, confirm_form
from villagers import services as villagers_services
from villagers.models import Inspection, Village
from wishwall import services as wish_services


class Writes(enum.Flag):
    """What a POST that succeeds writes, of what ledger rule 10 covers (one-time keys)."""

    NOTHING = 0
    ENTRIES = enum.auto()  # points ledger entries
    MOVEMENTS = enum.auto()  # stock movements
    DONATIONS = enum.auto()  # donations recorded (money or goods)
    PROPOSALS = enum.auto()  # proposed awards and deductions (a hygiene round's among them)
    CORRECTIONS = enum.auto()  # stock-take differences and write-offs asked for
    HOLDS = enum.auto()  # reservations made, or points and goods held or released by them


NOTHING, ENTRIES, MOVEMENTS, DONATIONS, PROPOSALS, CORRECTIONS, HOLDS = (
    Writes.NOTHING,
    Writes.ENTRIES,
    Writes.MOVEMENTS,
    Writes.DONATIONS,
    Writes.PROPOSALS,
    Writes.CORRECTIONS,
    Writes.HOLDS,
)


@dataclass(frozen=True)
class Body:
    data: dict
    kwargs: dict | None = None  # the URL's kwargs, when not the row's


BodyFactory = Callable[[object, object], "dict | Body"]


def fields(**values) -> BodyFactory:
    """A body that is always the same fields."""
    return lambda cast, client: dict(values)


def keyed(**values) -> BodyFactory:
    """Always the same fields, with a fresh one-time key."""
    return lambda cast, client: {**values, "idempotency_key": form_key()}


def today() -> str:
    return timezone.localdate().isoformat()


# --- sign-in and the registry ---------------------------------------------------------------


def staff_login(cast, client):
    return {"username": cast.users["manager_x"].username, "password": PASSWORD}


def card_login(cast, client):
    return {"card_number": cast.card_a.number, "pin": PIN}


def pin_change(cast, client):
    return {"old_pin": PIN, "pin": "8264", "pin_again": "8264"}


def household_new(cast, client):
    return {"number": "X777", "group": cast.group_x.pk, "head_name": "周新", "status": "active"}


def household_edit(cast, client):
    household = cast.household_a
    return {
        "number": household.number,
        "group": household.group_id,
        "head_name": household.head_name,
        "status": household.status,
    }


def member(cast, client):
    # Born in 1988, as member A's ID number says: the form checks the two agree.
    return {"name": "李小花", "relation": "spouse", "sex": "F", "birth_year": 1988}


def member_new(cast, client):
    """A member added: the form carries a one-time key."""
    return {**member(cast, client), **_key()}


def member_leave(cast, client):
    """Household A's head died yesterday."""
    yesterday = timezone.localdate() - timezone.timedelta(days=1)
    return {"date": yesterday.isoformat(), "why": "died", "idempotency_key": form_key()}


def member_return(cast, client):
    """A grandmother of household A recorded as having left by mistake."""
    grandmother = MemberFactory(
        household=cast.household_a, name="李秀英", relation="parent", birth_year=1940
    )
    villagers_services.member_leave(
        member=grandmother,
        on=timezone.localdate(),
        why="died",
        actor=cast.users["manager_x"],
    )
    return Body({"idempotency_key": form_key()}, {"pk": grandmother.pk})


def _adult_son(cast):
    return MemberFactory(
        household=cast.household_a, name="王小明", relation="child", birth_year=1995
    )


def member_pin(cast, client):
    """A PIN of his own for an adult son of household A (the cast's member is its head)."""
    son = _adult_son(cast)
    return Body({"pin": "1739", "pin_again": "1739", "idempotency_key": form_key()}, {"pk": son.pk})


def member_pin_revoke(cast, client):
    son = _adult_son(cast)
    villagers_services.member_pin_set(member=son, actor=cast.users["manager_x"], pin="1739")
    return Body({"idempotency_key": form_key()}, {"pk": son.pk})


def inspection(cast, client):
    return {"date": today(), **{name: "on" for name, _label in Inspection.CHECKS}, **_key()}


def card_replace(cast, client):
    return {
        "reason": "丢失",
        "pin": "8264",
        "pin_again": "8264",
        "replacing": cast.card_a.number,
        "idempotency_key": form_key(),
    }


def village_x(cast, client):
    return {"village": cast.village_x.pk}


def card_sheet_printed(cast, client):
    return {"card": [cast.card_a.pk], "idempotency_key": form_key()}


def _roster_file(cast):
    header = "户号,村民小组,户主姓名,姓名,与户主关系,性别,出生年份,身份证号,联系电话,住址,贫困户,脱贫年份"  # noqa: E501
    row = f"R001,{cast.group_x.name},张三,张三,户主,男,1965,,,,否,"
    return SimpleUploadedFile("roster.csv", f"{header}\n{row}\n".encode("utf-8-sig"))


def roster_upload(cast, client):
    return {"file": _roster_file(cast)}


def roster_confirm(cast, client):
    """The roster is first uploaded by the same client; confirming names its preview."""
    client.post(reverse("villagers:roster_upload"), {"file": _roster_file(cast)})
    token = client.session["roster_upload"]["token"]
    return {"token": token, "idempotency_key": token}  # the upload's token is its key


def _paper_ledger_file(cast):
    """Household A's paper balance: 50 more than its card's opening grant."""
    household = cast.household_a
    grant = sum(
        Entry.objects.filter(account__household=household, kind=Entry.Kind.OPENING).values_list(
            "points", flat=True
        )
    )
    text = f"户号,户主姓名,结转余额\n{household.number},{household.head_name},{grant + 50}\n"
    return SimpleUploadedFile("paper.csv", text.encode("utf-8-sig")), grant + 50


def carry_over_upload(cast, client):
    upload, total = _paper_ledger_file(cast)
    return {"file": upload, "paper_total": total}


def carry_over_confirm(cast, client):
    """The paper ledger is first uploaded; confirming sends the preview's signed rows."""
    client.post(reverse("points:carry_over_upload"), carry_over_upload(cast, client))
    preview = client.get(reverse("points:carry_over_preview"))
    return {"payload": preview.context["payload"], "idempotency_key": form_key()}


def card_issue(cast, client):
    """A new household that meets the prerequisites: its first card posts the opening grant."""
    household = HouseholdFactory(group=cast.group_x, head_name="孙新户", number="X099")
    PassedInspectionFactory(household=household)
    ParticipationFactory(household=household)
    return Body(
        {"pin": "1739", "pin_again": "1739", "idempotency_key": form_key()},
        kwargs={"pk": household.pk},
    )


# --- points ----------------------------------------------------------------------------------


def rule_new(cast, client):
    return {
        "code": "E02",
        "category": Rule.Category.LIVING_ENVIRONMENT,
        "description": "kitchen kept clean",
        "points": 3,
        "active": "on",
    }


def rule_edit(cast, client):
    rule = cast.rule
    return {
        "code": rule.code,
        "category": rule.category,
        "description": "yard and lane kept clean",
        "points": rule.points,
        "active": "on",
    }


def proposal(cast, client):
    return {
        "rule": cast.rule.pk,
        "households": [cast.household_a.pk],
        "reason": "cleaned the well",
        "occurred_on": today(),
        "idempotency_key": form_key(),
        "again": "on",  # the cast's household A has this rule's proposal today already
    }


def activity(cast, client):
    rule = Rule.objects.create(
        village=cast.village_x,
        code="C01",
        category=Rule.Category.COLLECTIVE_ACTIVITY,
        description="village meeting",
        points=2,
    )
    return {
        "title": "村民大会",
        "rule": rule.pk,
        "date": today(),
        "households": [cast.household_a.pk, cast.household_b.pk],
        "idempotency_key": form_key(),
    }


def activity_open(cast, client):
    return {"title": "清理河道", "rule": _activity_rule(cast).pk, **_key()}


def _activity_rule(cast):
    return Rule.objects.get(village=cast.village_x, code="C05")


def checkin(cast, client):
    """Villager A opened the activity's QR link: the form carries A's pass."""
    return {"checkin_pass": checkin_pass(cast.activity, cast.users["villager_a"]), **_key()}


def activity_close(cast, client):
    """Household B checked in: closing proposes its points."""
    activity_checkin(activity=cast.activity, user=cast.users["villager_b"])
    return _key()


def settlement_draft(cast, client):
    """Village X takes the yearly settlement: the manager draws up this year's plan."""
    Village.objects.filter(pk=cast.village_x.pk).update(yearly_settlement=True)
    return _key()


def settlement_approve(cast, client):
    """This year's plan drawn up by the manager, for the supervisor to approve."""
    Village.objects.filter(pk=cast.village_x.pk).update(yearly_settlement=True)
    village = Village.objects.get(pk=cast.village_x.pk)
    plan = settlement_draft_plan(village=village, actor=cast.users["manager_x"])
    return {"drafted": plan.drafted_at.isoformat(), **_key()}


def declaration(cast, client):
    return {"description": "helped an old neighbour", "occurred_on": today(), **_key()}


def declaration_accept(cast, client):
    return {"rule": cast.rule.pk, "reason": "helped a neighbour", **_key()}


def approve_batch(cast, client):
    """The batch's proposals the queue lets its supervisor tick: not household B's, which
    was sent up (the cast's referral) and is the county's to decide."""
    return {
        "action": "approve",
        "proposal": list(
            cast.batch.proposals.exclude(pk=cast.referral.object_id).values_list("pk", flat=True)
        ),
        **_key(),
    }


def approve_here(cast, client):
    """The approve button of a proposal's or a batch's own page."""
    return {"action": "approve", **_key()}


def dismiss_when_due(cast, client):
    """The period of the entry objected to is over: dismissing the objection credits it."""
    Proposal.objects.filter(pk=cast.in_publicity.pk).update(
        credit_due_at=timezone.now() - timezone.timedelta(minutes=1)
    )
    return {"decision": "dismiss", **_key()}


def _held(cast) -> Proposal:
    """A deduction of household B held when due (B spent its points in the period)."""
    rule = Rule.objects.create(
        village=cast.village_x,
        code="D01",
        category=Rule.Category.DEDUCTIONS,
        description="littering",
        points=-20,
    )
    Village.objects.filter(pk=cast.village_x.pk).update(publicity_days=3)
    cast.village_x.refresh_from_db()
    (fine,) = proposal_create(
        village=cast.village_x,
        households=[cast.household_b],
        rule=rule,
        reason="rubbish by the road",
        occurred_on=timezone.localdate(),
        actor=cast.users["manager_x"],
    )
    proposal_approve(proposal_ids=[fine.pk], actor=cast.users["supervisor_x"])
    Village.objects.filter(pk=cast.village_x.pk).update(publicity_days=0)
    cast.village_x.refresh_from_db()
    fine.refresh_from_db()
    account = Account.objects.get(household=cast.household_b)
    spend = -(account.balance - 5)
    entry_post(account_id=account.pk, kind=Entry.Kind.REDEMPTION, points=spend, actor=None)
    proposals_credit_due(now=fine.credit_due_at)
    fine.refresh_from_db()
    assert fine.status == Proposal.Status.HELD
    return fine


def held_credit(cast, client):
    """A held deduction whose household has since earned enough to bear it."""
    fine = _held(cast)
    account = Account.objects.get(household=cast.household_b)
    entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=50, actor=None)
    return Body(_key(), kwargs={"pk": fine.pk})


def held_cancel(cast, client):
    return Body({"reason": "改为批评教育", **_key()}, kwargs={"pk": _held(cast).pk})


# --- store -----------------------------------------------------------------------------------


def counter_cart(cast, client):
    return {"action": "add", "item": cast.item.pk, "quantity": 1}


def counter_confirm(cast, client):
    """The confirm form of a cart of two, as the counter page draws it (the cart is kept
    in the client's session)."""
    add_to_cart(client, cast.household_a, cast.item, 2)
    return confirm_form(client, cast.household_a)


def reserve(cast, client):
    """Two of the item, at the price the reserve page shows."""
    return {
        f"qty_{cast.item.pk}": "2",
        f"price_{cast.item.pk}": cast.item.points_price,
        "save": "1",
        **_key(),
    }


def _open_reservation(cast):
    return reservation_create(
        household=cast.household_a, lines={cast.item.pk: 1}, actor=cast.users["villager_a"]
    )


def reservation_cancel(cast, client):
    return Body(_key(), kwargs={"pk": _open_reservation(cast).pk})


def reservation_hand_over(cast, client):
    reservation = _open_reservation(cast)
    return Body(
        {"key": str(uuid.uuid4())},
        kwargs={"household_pk": cast.household_a.pk, "pk": reservation.pk},
    )


def stock_in(cast, client):
    return {
        "item": cast.item.pk,
        "quantity": 5,
        "fund_source": "civil_affairs",
        "cost_yuan": "9.50",
        **_key(),
    }


def stock_take(cast, client):
    cast.item.refresh_from_db()
    return {
        "counted": cast.item.stock - 3,
        "expected": cast.item.stock,
        "reason": "three bags torn open",
        **_key(),
    }


def stock_take_sheet(cast, client):
    """The whole store counted: the rice is three short, anything else as on the books."""
    items = list(Item.objects.filter(village=cast.village_x))
    body = {"item": [str(item.pk) for item in items], "save": "1", **_key()}
    for item in items:
        short = 3 if item.pk == cast.item.pk else 0
        body[f"expected-{item.pk}"] = str(item.stock)
        body[f"count-{item.pk}"] = str(item.stock - short)
        body[f"cause-{item.pk}"] = ""
        body[f"reason-{item.pk}"] = "three bags torn open" if short else ""
    return body


def corrections_confirm(cast, client):
    """A write-off the manager asked for, confirmed by the supervisor."""
    correction = stock_write_off_request(
        item=cast.item, quantity=2, cause="spoiled", reason="damp", actor=cast.users["manager_x"]
    )
    return {"action": "confirm", "correction": [str(correction.pk)], **_key()}


def hygiene_round(group):
    """Every active household of village X (or of its group) passes: one batch of E01."""

    def body(cast, client):
        households = round_households(cast.village_x, cast.group_x if group else None)
        data = {
            "date": today(),
            "pass_rule": str(cast.rule.pk),
            "fail_rule": "none",
            "household": [str(household.pk) for household in households],
            "save": "1",
            **_key(),
        }
        for household in households:
            data.update({f"h{household.pk}-{name}": "on" for name in CHECK_NAMES})
        return data

    return body


def write_off(cast, client):
    return {"quantity": 2, "cause": "spoiled", "reason": "damp", **_key()}


def donation_correct(cast, client):
    donation = cast.donation
    return {
        "donor": donation.donor_id,
        "received_on": donation.received_on.isoformat(),
        "value_yuan": str(donation.value_yuan + 1),
        "description": donation.description,
        "thanks": donation.thanks,
        "reason": "amount mistyped",
        **_key(),
    }


def donation_of_goods(cast, client):
    return {
        "new_donor_name": "延安爱心企业",
        "new_donor_kind": "company",
        "kind": "goods",
        "received_on": today(),
        "value_yuan": "80",
        "thanks": "感谢",
        "goods-TOTAL_FORMS": "1",
        "goods-INITIAL_FORMS": "0",
        "goods-0-item": cast.item.pk,
        "goods-0-quantity": "2",
        **_key(),
    }


def item(cast, client):
    return {
        "zone": cast.item.zone_id,
        "name": "食用油 5L",
        "unit": "桶",
        "points_price": 30,
        "is_active": "on",
        "low_stock_threshold": 2,
    }


def item_edit(cast, client):
    return {**item(cast, client), "name": cast.item.name}


# --- wish wall -------------------------------------------------------------------------------


def _approved(cast):
    wish_services.wish_moderate(wish=cast.wish, actor=cast.users["manager_x"], hide_household=False)


def wish_new(cast, client):
    """Villager A's household wishes for seeds (the cast's wish is for a wheelchair)."""
    return {
        "title": "玉米种子",
        "kind": "farming",
        "story": "开春要种地",
        "idempotency_key": form_key(),
    }


def wish_edit(cast, client):
    return {"title": "一辆轮椅", "story": "父亲腿脚不便，出门困难", "reason": "补充说明"}


def wish_revise(cast, client):
    return {"title": "一辆新轮椅", "kind": "health", "story": "父亲腿脚不便，出门困难"}


def wish_match(cast, client):
    _approved(cast)
    return {"new_donor_name": "顺达公司", "new_donor_kind": "company"}


def wish_fulfil(cast, client):
    _approved(cast)
    wish_services.wish_match(
        wish=cast.wish,
        actor=cast.users["supervisor_x"],
        donor=None,
        new_donor_name="顺达公司",
        new_donor_kind="company",
        note="",
    )
    return {"date": today(), "given": "轮椅一辆", "thanks": "谢谢"}


# --- the admin -------------------------------------------------------------------------------


def password_change(cast, client):
    return {
        "old_password": PASSWORD,
        "new_password1": "Another-Horse-77",
        "new_password2": "Another-Horse-77",
    }


def _key() -> dict:
    return {"idempotency_key": form_key()}


# --- the public notice ------------------------------------------------------------------------


def notice_publish(cast, client):
    """The month before last: ended and not yet published (the cast published last month).
    Nothing was recorded in it: the box that says so is ticked too."""
    first = previous_month(previous_month(timezone.localdate()))
    return Body(
        {"idempotency_key": form_key(), "confirm": "yes", "empty": "yes"},
        kwargs={"year": first.year, "month": first.month},
    )
