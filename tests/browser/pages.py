"""One village with one of everything a page can show, and the pages each role can open.

The accessibility, phone and large-type tests walk these lists; a page added to an app's
urls.py belongs here too.
"""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from core.months import previous_month
from points.services import declaration_submit, proposal_approve
from reports.notice import notice_publish
from store.services import donation_record
from tests.factories import HouseholdFactory, MemberFactory
from tests.points.conftest import png_upload, propose
from tests.store.conftest import make_item
from wishwall import services as wishes


@pytest.fixture
def world(
    village_now, card_a, card_b, manager_x, supervisor_x, villager_a, shelves, rules, donor_x
):
    """One of every object a page of village X can show."""
    from store.services import redemption_create

    household_a = card_a.household
    member = MemberFactory(household=household_a, name=household_a.head_name)
    uncarded = HouseholdFactory(group=household_a.group, head_name="孙小红", number="X009")
    approved = propose(manager_x, [household_a], rules["clean"], photo=png_upload())[0]
    proposal_approve(proposal_ids=[approved.pk], actor=supervisor_x)
    # One approval waits out a publicity period: the villager may object to it.
    village_now.publicity_days = 3
    village_now.save(update_fields=["publicity_days"])
    in_publicity = propose(manager_x, [card_b.household], rules["labour"], reason="扫雪")[0]
    proposal_approve(proposal_ids=[in_publicity.pk], actor=supervisor_x)
    village_now.publicity_days = 0
    village_now.save(update_fields=["publicity_days"])
    waiting = propose(
        manager_x,
        [household_a, card_b.household],
        rules["labour"],
        batch_title="清扫村道",
        place="村委会",
    )
    batch = waiting[0].batch
    declaration = declaration_submit(
        user=villager_a,
        description="帮邻居收麦子",
        occurred_on=timezone.localdate(),
        photo=png_upload(),
    )
    redemption = redemption_create(
        village=village_now,
        household=household_a,
        lines={shelves["rice"].pk: 1, shelves["soap"].pk: 2},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    donation = donation_record(
        village=village_now,
        donor=donor_x,
        kind="goods",
        value_yuan=200,
        thanks="感谢顺达农资",
        actor=manager_x,
        goods={shelves["soap"].pk: 10},
    )
    make_item(village_now, "clothing", "棉袄", 60, 0, manager_x)  # out of stock
    # Last month's hygiene round (inspections only) and a write-off waiting for the supervisor.
    from points.rounds import RoundLine, inspection_round_record
    from store.services import stock_write_off_request

    inspection_round = inspection_round_record(
        village=village_now,
        group=household_a.group,
        date=timezone.localdate().replace(day=1) - timezone.timedelta(days=1),
        lines=[RoundLine(household=household_a, checks={"yard_clean": True})],
        pass_rule=None,
        fail_rule=None,
        actor=manager_x,
    )
    stock_write_off_request(
        item=shelves["kettle"], quantity=1, cause="damaged", reason="摔坏", actor=manager_x
    )

    # A labour day open for check-in by QR code, household B checked in with a photo.
    from points.activities import activity_checkin, activity_open

    activity = activity_open(
        village=village_now, rule=rules["labour"], title="清理河道", place="河边", actor=manager_x
    )
    activity_checkin(
        activity=activity,
        user=card_b.household.users.get(is_staff=False),
        photo=png_upload(),
    )

    def post(title):
        return wishes.wish_post(
            household=household_a, actor=villager_a, title=title, kind="health", story="腿脚不便"
        )

    pending = post("一副老花镜")
    on_wall = wishes.wish_moderate(wish=post("一辆轮椅"), actor=manager_x, hide_household=False)
    matched = wishes.wish_match(
        wish=wishes.wish_moderate(wish=post("一套课本"), actor=manager_x, hide_household=True),
        actor=supervisor_x,
        donor=donor_x,
        note="开学前送到",
    )
    fulfilled = wishes.wish_fulfil(
        wish=wishes.wish_match(
            wish=wishes.wish_moderate(wish=post("一台电扇"), actor=manager_x, hide_household=False),
            actor=supervisor_x,
            donor=donor_x,
            note="",
        ),
        actor=supervisor_x,
        date=timezone.localdate(),
        given="电扇一台",
        thanks="谢谢好心人！",
    )
    # Last month's notice published; the month before stays a draft for the staff.
    last = previous_month(timezone.localdate())
    notice_publish(
        village=village_now,
        year=last.year,
        month=last.month,
        actor=supervisor_x,
        empty_confirmed=True,
    )
    draft = previous_month(last)
    return {
        "notice_published": {"code": village_now.code, "year": last.year, "month": last.month},
        "notice_last": {"year": last.year, "month": last.month},
        "notice_draft": {"year": draft.year, "month": draft.month},
        "household": household_a,
        "group": household_a.group,
        "round": inspection_round,
        "activity": activity,
        "member": member,
        "uncarded": uncarded,
        "card": card_a,
        "rule": rules["clean"],
        "proposal": approved,
        "in_publicity": in_publicity,
        "batch": batch,
        "waiting": waiting[0],  # of the batch, for the supervisor to decide on its own page
        "declaration": declaration,
        "item": shelves["rice"],
        "item_writing_off": shelves["kettle"],  # its write-off form lists the one waiting
        "redemption": redemption,
        "donation": donation,
        "wish_pending": pending,
        "wish_open": on_wall,
        "wish_matched": matched,
        "wish_fulfilled": fulfilled,
    }


def last_month(world) -> str:
    """The board of the last completed month (its TV version)."""
    first = timezone.localdate().replace(day=1) - timezone.timedelta(days=1)
    return reverse("reports:board_display", args=[first.year, first.month])


def checkin_link(world) -> str:
    """The check-in page as the activity's QR code opens it (its current token)."""
    from points.activities import checkin_url

    return checkin_url(world["activity"], base="")


def urls_of(world, names):
    """Reverse `name` or `(name, object key)` or `(name, object key, query string)`, or call
    a function of the world."""
    urls = []
    for spec in names:
        if callable(spec):
            urls.append(spec(world))
            continue
        if isinstance(spec, str):
            urls.append(reverse(spec))
            continue
        name, key, *query = spec
        if isinstance(world.get(key), dict):  # a month's notice: its year and month
            url = reverse(name, kwargs=world[key])
        else:
            url = reverse(name, args=[world[key].pk]) if key else reverse(name)
        urls.append(url + (f"?{query[0]}" if query else ""))
    return urls


# Every page a villager can open (tests/security/url_table.py: the rows villager A may GET).
VILLAGER_PAGES = [
    "points:me",
    "notifications:mine",
    "villagers:me",
    "villagers:pin_change",
    "points:declaration_new",
    ("points:objection_new", "in_publicity"),
    "store:catalogue",
    ("store:catalogue", None, "zone=grain_oil"),
    "store:my_redemptions",
    "store:reserve",
    "store:my_reservations",
    ("store:receipt", "redemption"),
    "wishwall:mine",
    "wishwall:new",
    "wishwall:wall",
    "wishwall:echo",
    "wishwall:display",
    ("wishwall:display", None, "wall=wishes"),
    ("wishwall:detail", "wish_pending"),
    ("wishwall:detail", "wish_open"),
    ("wishwall:detail", "wish_matched"),
    ("wishwall:detail", "wish_fulfilled"),
    ("wishwall:revise", "wish_pending"),
    "reports:board",
    last_month,
    "reports:notice",
    ("reports:notice_month", "notice_last"),
    ("reports:notice_public", "notice_published"),
    "points:checkin_scan",
    checkin_link,
]

# Pages every staff role can open (county admins after choosing a village).
STAFF_VIEW_PAGES = [
    "notifications:log",
    "reports:household_list",
    ("reports:household", "household"),
    ("villagers:card_print", "card"),
    ("points:household_ledger", "household"),
    "points:rule_list",
    ("points:proposal_detail", "proposal"),
    ("points:batch_detail", "batch"),
    "points:declaration_list",
    ("points:declaration_review", "declaration"),
    "store:catalogue",
    "store:stock_list",
    "store:corrections",
    "points:round_list",
    ("points:round_detail", "round"),
    "points:activity_list",
    ("points:activity_detail", "activity"),
    ("store:item_detail", "item"),
    "store:redemption_list",
    ("store:receipt", "redemption"),
    "store:donation_list",
    "store:summary_day",
    "store:summary_month",
    "wishwall:queue",
    ("wishwall:queue", None, "tab=wall"),
    ("wishwall:queue", None, "tab=matched"),
    ("wishwall:queue", None, "tab=closed"),
    "wishwall:wall",
    "wishwall:echo",
    "wishwall:display",
    ("wishwall:detail", "wish_pending"),
    ("wishwall:detail", "wish_matched"),
    ("wishwall:detail", "wish_fulfilled"),
    "reports:notice",
    ("reports:notice_month", "notice_draft"),
    ("reports:notice_month", "notice_last"),
    ("reports:notice_public", "notice_published"),
    "reports:audit",
]

PROPOSER_PAGES = [
    "points:proposal_new",
    ("points:proposal_new", None, "find=王"),  # the picker with its matches
    "points:activity_new",
    ("points:activity_new", None, "find=啊道&add_all=1"),
    "points:proposals_mine",
    "wishwall:new",
    ("wishwall:new", None, "household_find=王"),  # the household picker with its matches
    ("wishwall:edit", "wish_open"),
    ("wishwall:decline", "wish_open"),
]

MANAGER_PAGES = [
    *STAFF_VIEW_PAGES,
    *PROPOSER_PAGES,
    "villagers:household_create",
    ("villagers:household_edit", "household"),
    ("villagers:member_create", "household"),
    ("villagers:member_edit", "member"),
    ("villagers:inspection_create", "household"),
    ("villagers:participation_create", "household"),
    ("villagers:card_replace", "household"),
    ("villagers:card_recall", "household"),
    ("villagers:pin_reset", "household"),
    ("points:card_issue", "uncarded"),
    "villagers:roster_upload",
    "points:rule_add",
    ("points:rule_edit", "rule"),
    "store:counter",
    ("store:counter_household", "household"),
    "store:stock_in",
    "store:item_create",
    ("store:item_edit", "item"),
    ("store:item_stock_take", "item"),
    ("store:item_write_off", "item"),
    ("store:item_write_off", "item_writing_off"),
    "store:stock_take_sheet",
    "points:round_new",
    ("points:round_new_group", "group"),
    "points:activity_open",
    ("points:activity_qr", "activity"),
    "store:donation_create",
    ("store:donation_create", None, "donor_find=顺达"),  # the donor picker with its matches
    ("store:stock_in", None, "paid_by_find=顺达"),
    ("reports:donation_correct", "donation"),  # the donor picker with the donor chosen
]

SUPERVISOR_PAGES = [
    *STAFF_VIEW_PAGES,
    *PROPOSER_PAGES,
    "points:approval_queue",
    ("wishwall:match", "wish_open"),
    ("wishwall:match", "wish_open", "donor_find=顺达"),
    ("wishwall:fulfil", "wish_matched"),
]

COUNTY_PAGES = ["villagers:village_pick", *STAFF_VIEW_PAGES]

# What the accessibility sweep opens as the supervisor and as the county: the pages every
# staff role shares are checked as the manager, who sees the most on them (the others see
# the same page with fewer buttons); these are the pages of their own and those where they
# act on what the manager sees (decide, publish, match, pick a village).
SUPERVISOR_SWEEP = [
    *(page for page in SUPERVISOR_PAGES if page not in MANAGER_PAGES),
    ("points:proposal_detail", "proposal"),
    ("points:proposal_detail", "waiting"),  # with its approve and reject
    ("points:batch_detail", "batch"),
    ("points:declaration_review", "declaration"),
    ("reports:notice_month", "notice_draft"),
    "wishwall:queue",
    "store:corrections",  # confirm or refuse the write-off waiting
]
COUNTY_SWEEP = [
    *(page for page in COUNTY_PAGES if page not in MANAGER_PAGES),
    ("reports:household", "household"),
    "reports:notice",
    "reports:audit",
]
