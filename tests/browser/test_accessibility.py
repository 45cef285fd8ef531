"""Every page each role can open passes axe-core (no serious or critical violation).

One village holds one of everything a page can show (a pending batch, an approved proposal with
its photo, a declaration, goods, a redemption, a donation, wishes in every state), so each page
is checked with content, not empty. Villager pages are checked on a 360 px phone, where they
must not scroll sideways; staff pages on a desktop.
"""

import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from points.services import declaration_submit, proposal_approve
from store.services import donation_record
from tests.browser.conftest import (
    accessibility_problems,
    assert_accessible,
    assert_no_horizontal_scroll,
    horizontal_overflow,
    sign_in,
)
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
    batch = propose(
        manager_x,
        [household_a, card_b.household],
        rules["labour"],
        batch_title="清扫村道",
        place="村委会",
    )[0].batch
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
    donation_record(
        village=village_now,
        donor=donor_x,
        kind="goods",
        value_yuan=200,
        thanks="感谢顺达农资",
        actor=manager_x,
        goods={shelves["soap"].pk: 10},
    )
    make_item(village_now, "clothing", "棉袄", 60, 0, manager_x)  # out of stock

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
    return {
        "household": household_a,
        "member": member,
        "uncarded": uncarded,
        "card": card_a,
        "rule": rules["clean"],
        "proposal": approved,
        "batch": batch,
        "declaration": declaration,
        "item": shelves["rice"],
        "redemption": redemption,
        "wish_pending": pending,
        "wish_open": on_wall,
        "wish_matched": matched,
        "wish_fulfilled": fulfilled,
    }


def _urls(world, names):
    """Reverse `name` or `(name, object key)` or `(name, object key, query string)`."""
    urls = []
    for spec in names:
        if isinstance(spec, str):
            urls.append(reverse(spec))
            continue
        name, key, *query = spec
        url = reverse(name, args=[world[key].pk]) if key else reverse(name)
        urls.append(url + (f"?{query[0]}" if query else ""))
    return urls


VILLAGER_PAGES = [
    "points:me",
    "villagers:me",
    "villagers:pin_change",
    "points:declaration_new",
    "store:catalogue",
    ("store:catalogue", None, "zone=grain_oil"),
    "store:my_redemptions",
    ("store:receipt", "redemption"),
    "wishwall:mine",
    "wishwall:new",
    "wishwall:wall",
    "wishwall:echo",
    ("wishwall:detail", "wish_pending"),
    ("wishwall:detail", "wish_fulfilled"),
    "reports:notice",
]

# Pages every staff role can open (county admins after choosing a village).
STAFF_VIEW_PAGES = [
    "villagers:household_list",
    ("villagers:household_detail", "household"),
    ("villagers:card_print", "card"),
    ("points:household_ledger", "household"),
    "points:rule_list",
    ("points:proposal_detail", "proposal"),
    ("points:batch_detail", "batch"),
    "points:declaration_list",
    ("points:declaration_review", "declaration"),
    "store:catalogue",
    "store:stock_list",
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
]

PROPOSER_PAGES = [
    "points:proposal_new",
    "points:activity_new",
    "points:proposals_mine",
    "wishwall:new",
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
    "store:donation_create",
]

SUPERVISOR_PAGES = [
    *STAFF_VIEW_PAGES,
    *PROPOSER_PAGES,
    "points:approval_queue",
    ("wishwall:match", "wish_open"),
    ("wishwall:fulfil", "wish_matched"),
]

COUNTY_PAGES = ["villagers:village_pick", *STAFF_VIEW_PAGES]


def _check_pages(page, live_server, urls, *, phone=False):
    """Open each page; collect every problem so one run lists all of them."""
    failures = []
    for url in urls:
        response = page.goto(live_server.url + url)
        if response is None or response.status != 200:
            failures.append(f"{url}: HTTP {response.status if response else '?'}")
            continue
        problems = accessibility_problems(page)
        if phone and horizontal_overflow(page) > 0:
            problems.append(f"scrolls sideways by {horizontal_overflow(page)}px")
        failures.extend(f"{url}: {problem}" for problem in problems)
    assert not failures, "\n".join(failures)


def test_villager_pages_on_a_phone(live_server, phone, world, villager_a):
    sign_in(phone, live_server, villager_a)
    _check_pages(phone, live_server, _urls(world, VILLAGER_PAGES), phone=True)


def test_signed_out_pages_on_a_phone(live_server, phone, world):
    urls = [reverse("login"), reverse("card_login"), "/no-such-page/"]
    failures = []
    for url in urls:
        phone.goto(live_server.url + url)
        try:
            assert_accessible(phone)
            assert_no_horizontal_scroll(phone)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n\n".join(failures)


def test_manager_pages(live_server, desktop, world, manager_x):
    sign_in(desktop, live_server, manager_x)
    _check_pages(desktop, live_server, _urls(world, MANAGER_PAGES))


def test_supervisor_pages(live_server, desktop, world, supervisor_x):
    sign_in(desktop, live_server, supervisor_x)
    _check_pages(desktop, live_server, _urls(world, SUPERVISOR_PAGES))


def test_county_admin_pages(live_server, desktop, world, county_admin, village_now):
    sign_in(desktop, live_server, county_admin, village=village_now)
    _check_pages(desktop, live_server, _urls(world, COUNTY_PAGES))


def test_staff_pages_on_a_phone_do_not_scroll_sideways(live_server, phone, world, manager_x):
    """Managers work from their phones too: the daily pages fit 360 px."""
    sign_in(phone, live_server, manager_x)
    failures = []
    for url in _urls(world, MANAGER_PAGES):
        phone.goto(live_server.url + url)
        try:
            assert_no_horizontal_scroll(phone)
        except AssertionError as error:
            failures.append(str(error))
    assert not failures, "\n".join(failures)
