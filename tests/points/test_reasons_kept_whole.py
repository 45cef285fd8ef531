"""A reason typed by a person is stored whole or refused, never cut short.

Found by a probe: a stock-take reason of 2,000 characters was kept as its first 200, and
nobody was told. The services cut every typed reason to its column's length the same way
(a rejection, a decline, a cancellation, an objection and its resolution, a reversal, a
refusal, a void and its ask, a write-off, a referral refused): each now refuses one too long,
saying how long it may be, and changes nothing.
"""

import uuid

import pytest
from django.core.exceptions import ValidationError

from points.models import Declaration, Entry, Objection, Proposal
from points.publicity import objection_raise
from points.services import (
    declaration_decline,
    declaration_submit,
    entry_reverse,
    proposal_approve,
    proposal_reject,
)
from store.models import Redemption, StockCorrection
from store.services import (
    CountLine,
    CountRefused,
    redemption_create,
    redemption_void,
    redemption_void_ask,
    stock_corrections_refuse,
    stock_count_record,
    stock_write_off_request,
)
from tests.points.conftest import propose, today
from tests.store.conftest import rice, zones_x  # noqa: F401 (fixtures)


def _too_long(field) -> str:
    return "理" * (field.max_length + 1)


def _refused(act, field) -> None:
    with pytest.raises(ValidationError) as refused:
        act(_too_long(field))
    assert f"A reason is at most {field.max_length} characters." in str(refused.value)


def test_points_reasons(card_a, villager_a, villager_b, manager_x, supervisor_x, rule_clean):
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    field = Proposal._meta.get_field("rejection_reason")
    _refused(
        lambda text: proposal_reject(proposal_ids=[proposal.pk], actor=supervisor_x, reason=text),
        field,
    )
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PROPOSED
    # The longest that fits is kept whole.
    proposal_reject(proposal_ids=[proposal.pk], actor=supervisor_x, reason="理" * 300)
    assert Proposal.objects.get(pk=proposal.pk).rejection_reason == "理" * 300

    declaration = declaration_submit(user=villager_a, description="修水渠", occurred_on=today())
    _refused(
        lambda text: declaration_decline(declaration=declaration, actor=manager_x, reason=text),
        Declaration._meta.get_field("decline_reason"),
    )
    assert Declaration.objects.get().status == Declaration.Status.SUBMITTED

    (award,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[award.pk], actor=supervisor_x)
    entry = Proposal.objects.get(pk=award.pk).entry
    entries = Entry.objects.count()
    _refused(
        lambda text: entry_reverse(entry=entry, actor=supervisor_x, reason=text),
        Entry._meta.get_field("memo"),
    )
    assert Entry.objects.count() == entries


def test_an_objection_too_long(card_a, villager_b, manager_x, supervisor_x, rule_clean):
    village = card_a.household.village
    village.publicity_days = 3
    village.save()
    (proposal,) = propose(manager_x, [card_a.household], rule_clean)
    proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x)
    _refused(
        lambda text: objection_raise(proposal_id=proposal.pk, actor=villager_b, reason=text),
        Objection._meta.get_field("reason"),
    )
    assert not Objection.objects.exists()


def test_store_reasons(card_a, rice, manager_x, supervisor_x):  # noqa: F811 (fixture)
    field = StockCorrection._meta.get_field("reason")
    _refused(
        lambda text: stock_write_off_request(
            item=rice, quantity=1, cause="spoiled", reason=text, actor=manager_x
        ),
        field,
    )
    line = CountLine(item_id=rice.pk, counted=49, expected=50, reason=_too_long(field))
    with pytest.raises(CountRefused) as refused:
        stock_count_record(village=rice.village, lines=[line], actor=manager_x)
    assert refused.value.rows == {rice.pk: "A reason is at most 200 characters."}
    assert not StockCorrection.objects.exists()

    correction = stock_write_off_request(
        item=rice, quantity=1, cause="spoiled", reason="老鼠咬破", actor=manager_x
    )
    _refused(
        lambda text: stock_corrections_refuse(
            correction_ids=[correction.pk], actor=supervisor_x, reason=text
        ),
        StockCorrection._meta.get_field("refusal_reason"),
    )
    correction.refresh_from_db()
    assert correction.status == StockCorrection.Status.PENDING

    redemption = redemption_create(
        village=rice.village,
        household=card_a.household,
        lines={rice.pk: 1},
        idempotency_key=uuid.uuid4(),
        actor=manager_x,
    )
    field = Redemption._meta.get_field("void_reason")
    _refused(
        lambda text: redemption_void_ask(redemption=redemption, actor=manager_x, reason=text),
        field,
    )
    _refused(
        lambda text: redemption_void(redemption=redemption, actor=supervisor_x, reason=text),
        field,
    )
    assert not Redemption.objects.get().is_voided
