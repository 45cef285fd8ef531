import pytest
from django.db import IntegrityError, connection, transaction

from points.models import Entry
from points.services import InsufficientPoints, entry_post, entry_reverse


def test_update_and_delete_refused_by_postgres(card_a):
    entry = Entry.objects.get(account__household=card_a.household)
    for sql in (
        "UPDATE points_entry SET points = 1000 WHERE id = %s",
        "DELETE FROM points_entry WHERE id = %s",
    ):
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    entry.refresh_from_db()
    assert entry.points == 100


def test_deduction_below_zero_refused(card_a, manager_x):
    account = card_a.household.account
    with pytest.raises(InsufficientPoints):
        entry_post(account_id=account.pk, kind=Entry.Kind.DEDUCTION, points=-101, actor=manager_x)
    account.refresh_from_db()
    assert account.balance == 100
    assert account.entries.count() == 1


def test_reversal_only_once(card_a, supervisor_x):
    account = card_a.household.account
    award = entry_post(account_id=account.pk, kind=Entry.Kind.AWARD, points=10, actor=supervisor_x)
    entry_reverse(entry=award, actor=supervisor_x, reason="wrong household")
    account.refresh_from_db()
    assert account.balance == 100
    with pytest.raises(Exception, match="already been reversed"):
        entry_reverse(entry=award, actor=supervisor_x, reason="again")
    assert account.entries.count() == 3


def test_no_cash_out_kind():
    kinds = {value for value, _label in Entry.Kind.choices}
    # A lapse (the opt-in yearly settlement) takes points away; it pays nothing out.
    assert kinds == {"opening", "award", "deduction", "redemption", "reversal", "carried", "lapse"}
