"""Stock-take sheet and write-offs under the second-person rule (DESIGN.md rule 8).

The manager counts or writes off; the stock moves only when the village's supervisor (never
the one who asked; the county when nobody else may) confirms.
"""

import re

import pytest
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse

from core.access import Role
from core.models import AuditEvent
from reports.audit_labels import sentence
from reports.referrals import referral_decide
from store import checks
from store.models import Item, StockCorrection, StockMovement
from store.services import (
    CountLine,
    CountRefused,
    InsufficientStock,
    _movement_append,
    count_expected,
    stock_corrections_confirm,
    stock_corrections_refuse,
    stock_count_record,
    stock_write_off_request,
)
from tests.conftest import form_key, make_staff
from tests.store.conftest import make_item
from villagers.models import Referral

PENDING = StockCorrection.Status.PENDING


def line(item, counted, reason="", cause="", expected=None):
    item.refresh_from_db()
    if expected is None:
        expected = count_expected([item])[item.pk]
    return CountLine(
        item_id=item.pk, counted=counted, expected=expected, reason=reason, cause=cause
    )


def counted(village, manager, *lines):
    return stock_count_record(village=village, lines=list(lines), actor=manager)


def test_unchanged_counts_need_nothing_and_a_difference_waits(
    village_x, manager_x, rice, oil, kettle
):
    result = counted(village_x, manager_x, line(rice, 50), line(oil, 18, "破损"), line(kettle, 2))
    assert result.counted == 3
    (correction,) = result.corrections
    assert (correction.item_id, correction.quantity, correction.status) == (oil.pk, -2, PENDING)
    assert correction.kind == StockMovement.Kind.ADJUSTMENT
    oil.refresh_from_db()
    assert oil.stock == 20  # nothing moves before the supervisor confirms


def test_a_difference_without_a_reason_is_refused_on_its_row(village_x, manager_x, rice, oil):
    with pytest.raises(CountRefused) as refused:
        counted(village_x, manager_x, line(rice, 50), line(oil, 21))
    assert list(refused.value.rows) == [oil.pk]
    assert "give the reason" in refused.value.rows[oil.pk]
    assert not StockCorrection.objects.exists()


def test_a_cause_makes_a_shortfall_a_write_off_but_not_a_surplus(
    village_x, manager_x, supervisor_x, rice, oil
):
    with pytest.raises(CountRefused, match="not for a surplus"):
        counted(village_x, manager_x, line(rice, 52, "多出", cause="spoiled"))
    (correction,) = counted(
        village_x, manager_x, line(rice, 47, "受潮", cause="spoiled")
    ).corrections
    assert correction.kind == StockMovement.Kind.WRITE_OFF
    (confirmed,) = stock_corrections_confirm(correction_ids=[correction.pk], actor=supervisor_x)
    assert (confirmed.movement.kind, confirmed.movement.quantity) == ("write_off", -3)
    assert confirmed.movement.cause == "spoiled"
    # The audit's sentence says why the goods went (it read "written off: —").
    event = AuditEvent.objects.get(action="stock.write_off")
    assert event.detail["cause"] == "spoiled"
    said = str(sentence("stock.write_off", event.detail, lambda kind, pk: "大米"))
    assert said == "3 × 大米 written off: spoiled."


def test_confirming_moves_the_stock_once_by_the_supervisor(village_x, manager_x, supervisor_x, oil):
    (correction,) = counted(village_x, manager_x, line(oil, 17, "少了")).corrections
    with pytest.raises(ValidationError, match="supervisor"):
        stock_corrections_confirm(correction_ids=[correction.pk], actor=manager_x)
    stock_corrections_confirm(correction_ids=[correction.pk], actor=supervisor_x)
    oil.refresh_from_db()
    assert oil.stock == 17
    movement = StockMovement.objects.get(kind="adjustment")
    assert movement.created_by == supervisor_x and movement.correction == correction
    with pytest.raises(ValidationError, match="already decided"):
        stock_corrections_confirm(correction_ids=[correction.pk], actor=supervisor_x)
    assert checks.check() == []


def test_confirm_applies_the_difference_as_counted_after_sales(
    village_x, manager_x, supervisor_x, oil, card_a, redeem
):
    (correction,) = counted(village_x, manager_x, line(oil, 18, "少了")).corrections
    redeem(card_a.household, {oil: 3}, manager_x)  # the counter sells meanwhile
    stock_corrections_confirm(correction_ids=[correction.pk], actor=supervisor_x)
    oil.refresh_from_db()
    assert oil.stock == 20 - 3 - 2


def test_goods_found_missing_are_not_sold_while_their_count_waits(
    village_x, manager_x, supervisor_x, kettle, card_a, redeem
):
    """The counter once sold the kettles a count had found missing, and the count could then
    not be confirmed ("only 1 in stock now"): the books said more than the shelf held."""
    (correction,) = counted(village_x, manager_x, line(kettle, 0, "丢了")).corrections
    kettle.refresh_from_db()
    assert (kettle.stock, kettle.writing_off, kettle.available) == (2, 2, 0)
    with pytest.raises(InsufficientStock, match="0 left, 1 wanted"):
        redeem(card_a.household, {kettle: 1}, manager_x)
    stock_corrections_confirm(correction_ids=[correction.pk], actor=supervisor_x)
    kettle.refresh_from_db()
    assert (kettle.stock, kettle.writing_off) == (0, 0)
    assert checks.check() == []


def test_a_correction_from_before_goods_were_set_aside_is_refused_below_zero(
    village_x, manager_x, supervisor_x, kettle, card_a, redeem
):
    """A count waiting since before the upgrade (store 0022) set aside only what the shelf
    still had: sold meanwhile, its confirmation is refused as before, and refused it puts
    back what it set aside."""
    (correction,) = counted(village_x, manager_x, line(kettle, 0, "丢了")).corrections
    StockCorrection.objects.filter(pk=correction.pk).update(set_aside=0)
    Item.objects.filter(pk=kettle.pk).update(writing_off=0)
    redeem(card_a.household, {kettle: 1}, manager_x)
    with pytest.raises(InsufficientStock, match="only 1 are in stock now"):
        stock_corrections_confirm(correction_ids=[correction.pk], actor=supervisor_x)
    kettle.refresh_from_db()
    assert kettle.stock == 1
    correction.refresh_from_db()
    assert correction.status == PENDING
    stock_corrections_refuse(
        correction_ids=[correction.pk], actor=supervisor_x, reason="count again"
    )
    correction.refresh_from_db()
    kettle.refresh_from_db()
    assert correction.status == StockCorrection.Status.REFUSED
    assert (kettle.stock, kettle.writing_off, kettle.available) == (1, 0, 1)
    assert checks.check() == []


def test_a_second_count_replaces_the_one_waiting(village_x, manager_x, supervisor_x, oil):
    (first,) = counted(village_x, manager_x, line(oil, 15, "少了")).corrections
    (second,) = counted(village_x, manager_x, line(oil, 19, "复盘")).corrections
    first.refresh_from_db()
    assert first.status == StockCorrection.Status.REPLACED and second.quantity == -1
    # A recount that agrees with the books withdraws the difference altogether.
    assert counted(village_x, manager_x, line(oil, 20)).corrections == []
    second.refresh_from_db()
    assert second.status == StockCorrection.Status.REPLACED
    assert not StockCorrection.objects.filter(status=PENDING).exists()


def test_a_row_left_as_prefilled_leaves_the_count_waiting(village_x, manager_x, rice, oil):
    """Found by a probe: a sheet saved with one row changed withdrew every count waiting of
    its other rows, as if each agreed with the books. The service decides by the figure the
    row was prefilled with (CountLine.shown): left at it, the count waiting stays; typed, it
    replaces it."""
    (waiting,) = counted(village_x, manager_x, line(oil, 19, "少了")).corrections

    def sheet(oil_count, oil_shown, **rice_row):
        rice_line = CountLine(item_id=rice.pk, counted=50, expected=50, shown=50, **rice_row)
        oil_line = CountLine(item_id=oil.pk, counted=oil_count, expected=20, shown=oil_shown)
        return counted(village_x, manager_x, rice_line, oil_line)

    # A sheet drawn with the books' figure in the oil row (as it was), the oil untouched.
    result = sheet(20, 20)
    assert (result.left, result.replaced, result.corrections, result.counted) == (1, 0, [], 1)
    # Drawn with the waiting count's figure, left so: no reason asked, nothing new.
    assert sheet(19, 19).corrections == []
    waiting.refresh_from_db()
    oil.refresh_from_db()
    assert waiting.status == PENDING and oil.writing_off == 1
    # Typed: the count waiting is replaced (here by one that agrees).
    result = sheet(20, 19)
    assert (result.left, result.replaced, result.corrections) == (0, 1, [])
    waiting.refresh_from_db()
    oil.refresh_from_db()
    assert waiting.status == StockCorrection.Status.REPLACED and oil.writing_off == 0


def test_a_count_replaced_says_so_once_and_a_refusal_its_reason(
    village_x, manager_x, supervisor_x, oil, rice, client_supervisor_x
):
    """The decided list said "replaced by a new count: 已被新的盘点取代" (the reason a replaced
    count must keep is its status's own words): the status alone; a refusal keeps its reason."""
    counted(village_x, manager_x, line(oil, 15, "少了"))
    counted(village_x, manager_x, line(oil, 20))
    (refused,) = counted(village_x, manager_x, line(rice, 49, "少了")).corrections
    _refused(supervisor_x, refused, reason="货架后面找到了")
    page = client_supervisor_x.get(reverse("store:corrections")).content.decode()
    row = r'<tr><td[^>]*>[^<]*</td><td>([^<]*)</td>.*?<td class="small">([^<]*)</td>'
    rows = re.findall(row, page)
    assert ("菜籽油 5L", "replaced by a new count") in rows
    assert ("大米 10kg", "refused: 货架后面找到了") in rows


def test_a_write_off_waiting_is_already_out_of_the_figure_counted(
    village_x, manager_x, supervisor_x, oil
):
    write_off = stock_write_off_request(
        item=oil, quantity=3, cause="damaged", reason="摔了", actor=manager_x
    )
    assert count_expected([oil])[oil.pk] == 17
    # The shelf shows 17: the count agrees, and the write-off still waits.
    assert counted(village_x, manager_x, line(oil, 17)).corrections == []
    stock_corrections_confirm(correction_ids=[write_off.pk], actor=supervisor_x)
    oil.refresh_from_db()
    assert oil.stock == 17
    with pytest.raises(InsufficientStock, match="not already waiting"):
        stock_write_off_request(
            item=oil, quantity=18, cause="damaged", reason="all", actor=manager_x
        )


def test_a_count_differing_after_a_sale_while_counting_is_refused(
    village_x, manager_x, oil, card_a, redeem
):
    drawn = line(oil, 20)  # the sheet showed 20
    redeem(card_a.household, {oil: 2}, manager_x)
    # Untouched, the row agrees with the figure shown: nothing to correct.
    assert counted(village_x, manager_x, drawn).corrections == []
    with pytest.raises(CountRefused, match="changed while you counted"):
        counted(village_x, manager_x, line(oil, 17, "少了", expected=20))


def test_only_the_manager_counts(village_x, supervisor_x, manager_y, oil):
    for actor in (supervisor_x, manager_y):
        with pytest.raises(PermissionDenied):
            counted(village_x, actor, line(oil, 19, "x"))
        with pytest.raises(PermissionDenied):
            stock_write_off_request(item=oil, quantity=1, cause="lost", reason="x", actor=actor)


def test_with_nobody_else_the_county_decides(village_x, county_admin, oil):
    """One person both counts and supervises: the correction goes up at once."""
    both = make_staff(Role.MANAGER, village=village_x, username="both")
    both.groups.add(Group.objects.get(name=Role.SUPERVISOR))
    (correction,) = counted(village_x, both, line(oil, 18, "少了")).corrections
    referral = Referral.objects.get(kind=Referral.Kind.STOCK, object_id=correction.pk)
    assert referral.household is None and referral.status == Referral.Status.OPEN
    with pytest.raises(ValidationError, match="started with you"):
        stock_corrections_confirm(correction_ids=[correction.pk], actor=both)
    referral_decide(referral_ids=[referral.pk], actor=county_admin, decision="confirm")
    oil.refresh_from_db()
    referral.refresh_from_db()
    assert oil.stock == 18 and referral.status == Referral.Status.DONE
    assert checks.check() == []


def test_the_county_refusing_closes_the_correction(village_x, county_admin, oil, manager_x):
    (correction,) = counted(village_x, manager_x, line(oil, 18, "少了")).corrections
    # No supervisor in village X here: it went up at once.
    referral = Referral.objects.get(kind=Referral.Kind.STOCK, object_id=correction.pk)
    with pytest.raises(ValidationError, match="reason"):
        referral_decide(referral_ids=[referral.pk], actor=county_admin, decision="reject")
    referral_decide(
        referral_ids=[referral.pk], actor=county_admin, decision="reject", reason="recount"
    )
    correction.refresh_from_db()
    assert correction.status == StockCorrection.Status.REFUSED


def test_audit_ledger_names_a_count_nobody_confirmed(rice, manager_x):
    with transaction.atomic():
        locked = type(rice).objects.select_for_update().get(pk=rice.pk)
        _movement_append(
            item=locked, kind="adjustment", quantity=-1, actor=manager_x, reason="by hand"
        )
    assert any("no second person confirmed" in problem for problem in checks.check())


# --- the pages ------------------------------------------------------------------------------


def sheet_body(items, counts=None, reasons=None):
    counts, reasons = counts or {}, reasons or {}
    body = {"item": [str(i.pk) for i in items], "idempotency_key": form_key(), "save": "1"}
    for item in items:
        item.refresh_from_db()
        body[f"expected-{item.pk}"] = str(item.stock)
        body[f"count-{item.pk}"] = str(counts.get(item, item.stock))
        body[f"reason-{item.pk}"] = reasons.get(item, "")
        body[f"cause-{item.pk}"] = ""
    return body


def test_a_zone_counted_on_one_page_and_confirmed_with_one_post(
    client_manager_x,
    client_supervisor_x,
    village_x,
    zones_x,
    manager_x,
    rice,
    oil,
    kettle,
    django_assert_max_num_queries,
):
    soap = make_item(village_x, "toiletries", "香皂", 2, 12, manager_x)
    url = reverse("store:stock_take_sheet") + "?zone=grain_oil"
    page = client_manager_x.get(url)
    html = page.content.decode()
    assert rice.name in html and oil.name in html and soap.name not in html
    assert f'name="count-{rice.pk}" value="50"' in html  # prefilled: no typing if unchanged
    grain = [rice, oil]
    with django_assert_max_num_queries(30):
        saved = client_manager_x.post(url, sheet_body(grain, {oil: 16}, {oil: "漏油"}))
    assert saved.url == reverse("store:corrections")
    (correction,) = StockCorrection.objects.all()
    assert (correction.item, correction.quantity) == (oil, -4)
    told = [str(m) for m in get_messages(saved.wsgi_request)]
    assert told == [
        "2 items counted. 1 difference waits for the supervisor's confirmation; the rest "
        "agree with the books."
    ]
    listing = client_supervisor_x.get(reverse("store:corrections")).content.decode()
    assert f'name="correction" value="{correction.pk}"' in listing
    client_supervisor_x.post(
        reverse("store:corrections_decide"),
        {"action": "confirm", "correction": [correction.pk], "idempotency_key": form_key()},
    )
    oil.refresh_from_db()
    assert oil.stock == 16
    # The same message in Chinese, each sentence translated whole.
    told = client_manager_x.post(
        url, sheet_body(grain, {rice: 49}, {rice: "鼠咬"}), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert [str(m) for m in get_messages(told.wsgi_request)][-1] == (
        "已盘点 2 种商品。1 项差异等待监督员确认，其余与账面相符。"
    )


def _sheet_as_drawn(client, url) -> dict:
    """The sheet's form as the page drew it: its rows' figures, ready to post back."""
    page = client.get(url).text
    body = {"item": re.findall(r'name="item" value="(\d+)"', page), "save": "1"}
    body["idempotency_key"] = re.search(r'name="idempotency_key" value="([^"]*)"', page)[1]
    figures = r'name="((?:expected|shown|count)-\d+)"[^>]* value="([^"]*)"'
    body |= dict(re.findall(figures, page))
    for item_id in body["item"]:
        body[f"reason-{item_id}"] = body[f"cause-{item_id}"] = ""
    return body


def test_saving_a_sheet_leaves_the_counts_waiting_of_rows_left_as_they_were(
    client_manager_x, village_x, manager_x, rice, oil, kettle
):
    """Found by a probe: with a count of the soap waiting (-1), the whole store's sheet
    saved with only the rice changed replaced it by "agrees with the books". A row left as
    drawn (prefilled with the waiting count's figure) leaves that count waiting; a figure
    typed in it replaces the count."""
    soap = make_item(village_x, "toiletries", "香皂", 2, 12, manager_x)
    (waiting,) = counted(village_x, manager_x, line(soap, 11, "月末盘点短少1块")).corrections
    url = reverse("store:stock_take_sheet")
    body = _sheet_as_drawn(client_manager_x, url)
    assert (body[f"count-{soap.pk}"], body[f"expected-{soap.pk}"]) == ("11", "12")
    body |= {f"count-{rice.pk}": "49", f"reason-{rice.pk}": "鼠咬"}
    saved = client_manager_x.post(url, body)
    assert saved.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == PENDING
    assert [str(m) for m in get_messages(saved.wsgi_request)] == [
        "3 items counted. 1 difference waits for the supervisor's confirmation; the rest "
        "agree with the books.",
        "1 count waiting from before was left as it was: its row was not changed.",
    ]
    assert StockCorrection.objects.filter(status=PENDING).count() == 2
    # The soap counted again and found as the books say: typed, it replaces the count.
    body = _sheet_as_drawn(client_manager_x, url + "?zone=toiletries")
    assert body[f"count-{soap.pk}"] == "11"
    body[f"count-{soap.pk}"] = "12"
    assert client_manager_x.post(url + "?zone=toiletries", body).status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == StockCorrection.Status.REPLACED


def test_a_sheet_saved_with_every_row_left_counts_nothing_and_says_only_that(
    client_manager_x, village_x, manager_x, rice
):
    """Found by a second read: a zone's sheet saved with its only row left as drawn (a
    count waiting) recorded a stock-take of no item and said "0 items counted: every count
    agrees with the books"."""
    soap = make_item(village_x, "toiletries", "香皂", 2, 12, manager_x)
    (waiting,) = counted(village_x, manager_x, line(soap, 11, "月末盘点短少1块")).corrections
    events = AuditEvent.objects.filter(action="stock.count").count()
    url = reverse("store:stock_take_sheet") + "?zone=toiletries"
    saved = client_manager_x.post(url, _sheet_as_drawn(client_manager_x, url))
    assert saved.status_code == 302
    assert [str(m) for m in get_messages(saved.wsgi_request)] == [
        "1 count waiting from before was left as it was: its row was not changed."
    ]
    assert AuditEvent.objects.filter(action="stock.count").count() == events
    waiting.refresh_from_db()
    assert waiting.status == PENDING


def test_the_sheet_refuses_a_difference_without_reason_on_its_row(
    client_manager_x, rice, oil, kettle
):
    url = reverse("store:stock_take_sheet") + "?zone=grain_oil"
    response = client_manager_x.post(url, sheet_body([rice, oil], {oil: 16}))
    assert response.status_code == 200
    rows = {row.item.pk: row for row in response.context["rows"]}
    assert rows[oil.pk].error and not rows[rice.pk].error
    assert rows[oil.pk].counted == "16"  # what was typed is kept
    assert not StockCorrection.objects.exists()


def test_enter_in_a_count_checks_the_sheet_and_saves_nothing(client_manager_x, rice, oil):
    """Found by a probe: Enter in a count saved the sheet as it stood, every row not yet
    counted recorded as agreeing with the books. Enter presses the form's first button, which
    names no save: the sheet comes back checked, as typed."""
    url = reverse("store:stock_take_sheet") + "?zone=grain_oil"
    sheet = client_manager_x.get(url).content.decode()
    form = sheet[sheet.index('<form autocomplete="off" method="post"') :]
    first_button = form[form.index("<button") : form.index(">", form.index("<button"))]
    assert "name=" not in first_button and "data-enter-default" in first_button
    assert 'name="save" value="1"' in form
    body = sheet_body([rice, oil], {oil: 16}, {oil: "漏油"})
    del body["save"]
    response = client_manager_x.post(url, body)
    assert response.status_code == 200
    assert "Not saved yet: Enter only checks the sheet." in response.content.decode()
    rows = {row.item.pk: row for row in response.context["rows"]}
    assert rows[oil.pk].counted == "16" and rows[oil.pk].reason == "漏油"
    assert not StockCorrection.objects.exists()
    assert client_manager_x.post(url, {**body, "save": "1"}).status_code == 302
    assert StockCorrection.objects.count() == 1


def test_the_sheet_refuses_a_reason_too_long_on_its_row(client_manager_x, rice, oil):
    """Found by a probe: a 2,000-character reason was cut to its first 200 silently."""
    url = reverse("store:stock_take_sheet") + "?zone=grain_oil"
    long_reason = "漏" * 201
    response = client_manager_x.post(url, sheet_body([rice, oil], {oil: 16}, {oil: long_reason}))
    assert response.status_code == 200
    rows = {row.item.pk: row for row in response.context["rows"]}
    assert rows[oil.pk].error == "A reason is at most 200 characters."
    assert rows[oil.pk].reason == long_reason  # kept as typed, to be shortened
    assert not StockCorrection.objects.exists()
    saved = client_manager_x.post(url, sheet_body([rice, oil], {oil: 16}, {oil: "漏" * 200}))
    assert saved.status_code == 302
    assert StockCorrection.objects.get().reason == "漏" * 200


def test_the_sheet_reads_full_width_digits_and_refuses_words(client_manager_x, rice, oil):
    url = reverse("store:stock_take_sheet") + "?zone=grain_oil"
    body = sheet_body([rice, oil], {oil: "１６", rice: "many"}, {oil: "漏油"})
    response = client_manager_x.post(url, body)
    assert response.status_code == 200 and not StockCorrection.objects.exists()
    body = sheet_body([rice, oil], {oil: "１６"}, {oil: "漏油"})
    assert client_manager_x.post(url, body).status_code == 302
    assert StockCorrection.objects.get().quantity == -4


def test_stock_pages_by_role(
    client_manager_x,
    client_supervisor_x,
    client_manager_y,
    client_villager_a,
    manager_x,
    village_x,
    oil,
):
    sheet = reverse("store:stock_take_sheet")
    assert client_manager_x.get(sheet).status_code == 200
    assert client_supervisor_x.get(sheet).status_code == 403
    assert client_villager_a.get(sheet).status_code == 403
    assert client_manager_y.get(sheet).status_code == 200
    assert oil.name not in client_manager_y.get(sheet).content.decode()
    (correction,) = counted(village_x, manager_x, line(oil, 19, "少了")).corrections
    decide = reverse("store:corrections_decide")
    body = {"action": "confirm", "correction": [correction.pk], "idempotency_key": form_key()}
    assert client_manager_x.post(decide, body).status_code == 403
    assert client_manager_y.post(decide, {**body, "idempotency_key": form_key()}).status_code == 403
    assert oil.name not in client_manager_y.get(reverse("store:corrections")).content.decode()
    correction.refresh_from_db()
    assert correction.status == PENDING


def test_the_supervisor_of_another_village_cannot_confirm(village_y, manager_x, village_x, oil):
    other = make_staff(Role.SUPERVISOR, village=village_y, username="supervisor_y")
    (correction,) = counted(village_x, manager_x, line(oil, 19, "少了")).corrections
    with pytest.raises(ValidationError, match="not found"):
        stock_corrections_confirm(correction_ids=[correction.pk], actor=other)


def test_a_write_off_refused_after_a_count_relied_on_it_leaves_its_difference_waiting(
    village_x, manager_x, supervisor_x, rice, client_supervisor_x
):
    """Found by a probe: the sheet expected 45 (50 less 5 waiting to be written off), 45
    were counted, the write-off was refused: books 50, shelf 45, and nothing waited."""
    asked = stock_write_off_request(
        item=rice, quantity=5, cause="damaged", reason="袋子破了", actor=manager_x
    )
    assert counted(village_x, manager_x, line(rice, 45)).corrections == []
    response = client_supervisor_x.post(
        reverse("store:corrections_decide"),
        {
            "action": "refuse",
            "correction": [asked.pk],
            "reason": "没有破",
            "idempotency_key": form_key(),
        },
        follow=True,
    )
    assert "a stock-take since counted the shelf without these 5" in response.content.decode()
    asked.refresh_from_db()
    assert asked.status == StockCorrection.Status.REFUSED
    (shortfall,) = StockCorrection.objects.filter(status=PENDING)
    assert (shortfall.item_id, shortfall.quantity, shortfall.source) == (rice.pk, -5, "count")
    assert shortfall.requested_by == manager_x  # who counted asks; a second person decides
    rice.refresh_from_db()
    assert rice.stock == 50  # nothing moves before the supervisor confirms
    stock_corrections_confirm(correction_ids=[shortfall.pk], actor=supervisor_x)
    rice.refresh_from_db()
    assert rice.stock == 45
    assert checks.check() == []


def test_a_write_off_refused_with_no_count_since_leaves_nothing_waiting(
    village_x, manager_x, supervisor_x, rice, oil
):
    asked = stock_write_off_request(
        item=rice, quantity=5, cause="damaged", reason="袋子破了", actor=manager_x
    )
    counted(village_x, manager_x, line(oil, 20))  # another item's count relies on nothing
    stock_corrections_refuse(correction_ids=[asked.pk], actor=supervisor_x, reason="没有破")
    assert not StockCorrection.objects.filter(status=PENDING).exists()
    # A count made after the refusal expects the books again: 45 found is a difference.
    (difference,) = counted(village_x, manager_x, line(rice, 45, "少了")).corrections
    assert (difference.expected, difference.quantity) == (50, -5)


def _refused(supervisor, *corrections, reason="没有"):
    return stock_corrections_refuse(
        correction_ids=[c.pk for c in corrections], actor=supervisor, reason=reason
    )


def _confirm_waiting(item, supervisor):
    """Confirm what waits for `item` (one count at most); its stock afterwards."""
    (waiting,) = StockCorrection.objects.filter(item=item, status=PENDING)
    assert waiting.source == StockCorrection.Source.COUNT
    stock_corrections_confirm(correction_ids=[waiting.pk], actor=supervisor)
    item.refresh_from_db()
    return item.stock


def test_a_write_off_refused_while_its_counts_difference_waits_joins_it(
    village_x, manager_x, supervisor_x, rice, client_supervisor_x
):
    """Found by a probe: a second count waiting for the item was a 500 (one count waits per
    item). Books 50, 3 waiting to go, the shelf counted 45 against the sheet's 47: refused,
    the whole difference from the books (5) waits as one count."""
    asked = stock_write_off_request(
        item=rice, quantity=3, cause="spoiled", reason="发霉", actor=manager_x
    )
    (difference,) = counted(village_x, manager_x, line(rice, 45, "少了")).corrections
    response = client_supervisor_x.post(
        reverse("store:corrections_decide"),
        {
            "action": "refuse",
            "correction": [asked.pk],
            "reason": "没有发霉",
            "idempotency_key": form_key(),
        },
    )
    assert response.status_code == 302
    difference.refresh_from_db()
    assert difference.status == StockCorrection.Status.REPLACED
    (joined,) = StockCorrection.objects.filter(status=PENDING)
    assert (joined.quantity, joined.counted, joined.expected) == (-5, 45, 50)
    assert joined.requested_by == manager_x
    assert _confirm_waiting(rice, supervisor_x) == 45
    assert checks.check() == []


def test_two_write_offs_of_one_item_refused_together_leave_one_count(
    village_x, manager_x, supervisor_x, rice
):
    first = stock_write_off_request(
        item=rice, quantity=3, cause="spoiled", reason="发霉", actor=manager_x
    )
    second = stock_write_off_request(
        item=rice, quantity=2, cause="damaged", reason="破了", actor=manager_x
    )
    assert counted(village_x, manager_x, line(rice, 45)).corrections == []
    _refused(supervisor_x, first, second)
    (shortfall,) = StockCorrection.objects.filter(status=PENDING)
    assert (shortfall.quantity, shortfall.counted, shortfall.expected) == (-5, 45, 50)
    assert _confirm_waiting(rice, supervisor_x) == 45


def test_write_offs_refused_one_after_the_other_add_to_the_shortfall_waiting(
    village_x, manager_x, supervisor_x, rice
):
    first = stock_write_off_request(
        item=rice, quantity=3, cause="spoiled", reason="发霉", actor=manager_x
    )
    second = stock_write_off_request(
        item=rice, quantity=2, cause="damaged", reason="破了", actor=manager_x
    )
    assert counted(village_x, manager_x, line(rice, 45)).corrections == []
    _refused(supervisor_x, first)
    _refused(supervisor_x, second)
    (shortfall,) = StockCorrection.objects.filter(status=PENDING)
    assert (shortfall.quantity, shortfall.counted, shortfall.expected) == (-5, 45, 50)
    assert StockCorrection.objects.filter(status=StockCorrection.Status.REPLACED).count() == 1
    assert _confirm_waiting(rice, supervisor_x) == 45


def test_a_surplus_the_refused_write_off_explains_leaves_nothing_waiting(
    village_x, manager_x, supervisor_x, rice, client_supervisor_x
):
    """The sheet said 47 (3 to be written off), the shelf held all 50: refused, books and
    shelf agree and the surplus waiting is replaced by nothing; the supervisor is told
    that nothing waits (not that the difference does)."""
    asked = stock_write_off_request(
        item=rice, quantity=3, cause="spoiled", reason="发霉", actor=manager_x
    )
    (surplus,) = counted(village_x, manager_x, line(rice, 50, "多了")).corrections
    response = client_supervisor_x.post(
        reverse("store:corrections_decide"),
        {
            "action": "refuse",
            "correction": [asked.pk],
            "reason": "没有",
            "idempotency_key": "k" * 20,
        },
        follow=True,
    )
    said = response.content.decode()
    assert "no difference is left to confirm" in said
    assert "now waits for confirmation" not in said
    surplus.refresh_from_db()
    assert surplus.status == StockCorrection.Status.REPLACED
    assert not StockCorrection.objects.filter(status=PENDING).exists()
    rice.refresh_from_db()
    assert rice.stock == 50


def test_the_county_refusing_a_write_off_while_a_count_waits(
    village_x, county_admin, manager_x, rice
):
    """No supervisor in village X: the write-off and the count both went up; the county's
    refusal joins them as a refusal in the village does."""
    asked = stock_write_off_request(
        item=rice, quantity=3, cause="spoiled", reason="发霉", actor=manager_x
    )
    (difference,) = counted(village_x, manager_x, line(rice, 45, "少了")).corrections
    referral = Referral.objects.get(kind=Referral.Kind.STOCK, object_id=asked.pk)
    referral_decide(
        referral_ids=[referral.pk], actor=county_admin, decision="reject", reason="没有发霉"
    )
    (joined,) = StockCorrection.objects.filter(status=PENDING)
    assert joined.quantity == -5
    assert Referral.objects.get(object_id=difference.pk, kind=Referral.Kind.STOCK).status != (
        Referral.Status.OPEN
    )
    assert Referral.objects.get(object_id=joined.pk, kind=Referral.Kind.STOCK).status == (
        Referral.Status.OPEN
    )
