"""Row locks taken to serialise writers are FOR NO KEY UPDATE, never FOR UPDATE.

Django's foreign keys on PostgreSQL are checked at commit, and a check takes FOR KEY SHARE on
the row referred to. FOR UPDATE blocks that check; FOR NO KEY UPDATE does not, while two
writers still queue on each other. A service holding a village's or a household's row FOR
UPDATE, meeting a redemption that holds an account and refers to that village at its commit,
deadlocked: PostgreSQL aborted one of them (a probe saw it with the yearly settlement's
draft). Nothing here updates a key or deletes a locked row, so no writer needs FOR UPDATE.
"""

import ast
import datetime
import re
import threading
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from points import services as points_services
from points.models import Account, Entry, Settlement
from points.services import proposal_approve
from points.settlement import settlement_draft
from store import services as store_services
from store.services import redemption_create, zones_ensure
from tests.conftest import PROJECT_PACKAGES
from tests.points.conftest import make_rule, propose
from tests.points.test_concurrency import held_in
from tests.store.conftest import make_item

NOVEMBER = datetime.date(timezone.localdate().year, 11, 20)


def _settling(village):
    village.yearly_settlement = True
    village.settlement_keep = 10
    village.publicity_days = 0
    village.save()


def _at_once(first, second, entered):
    """Run `first`; once it is held inside (`entered`), run `second`; the errors of each."""
    errors = {}

    def run(name, job, wait):
        try:
            if wait:
                assert entered.wait(10)
            job()
        except Exception as error:  # noqa: BLE001 - reported by the assertion
            errors[name] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("first", first, False)),
        threading.Thread(target=run, args=("second", second, True)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def test_a_settlement_draft_and_a_redemption_at_once_both_succeed(
    transactional_db, monkeypatch, village_x, card_a, manager_x
):
    _settling(village_x)
    zones_ensure(village=village_x)
    rice = make_item(village_x, "grain_oil", "rice", 20, 50, manager_x)
    # The redemption is held after it has locked the account, before it commits.
    entered = held_in(monkeypatch, store_services, "prices_as_shown", seconds=0.5)
    errors = _at_once(
        lambda: redemption_create(
            village=village_x,
            household=card_a.household,
            lines={rice.pk: 1},
            idempotency_key=uuid.uuid4(),
            actor=manager_x,
        ),
        lambda: settlement_draft(village=village_x, actor=manager_x, today=NOVEMBER),
        entered,
    )
    assert errors == {}
    assert Settlement.objects.filter(village=village_x).count() == 1
    assert Account.objects.get(household=card_a.household).balance == 80


def test_a_settlement_draft_and_an_approval_at_once_both_succeed(
    transactional_db, monkeypatch, village_x, card_a, manager_x, supervisor_x
):
    _settling(village_x)
    (proposal,) = propose(manager_x, [card_a.household], make_rule(village_x, "A05", 5))
    # The approval is held after it has locked the proposal and the account.
    entered = held_in(monkeypatch, points_services, "_approval_caps_check", seconds=0.5)
    errors = _at_once(
        lambda: proposal_approve(proposal_ids=[proposal.pk], actor=supervisor_x),
        lambda: settlement_draft(village=village_x, actor=manager_x, today=NOVEMBER),
        entered,
    )
    assert errors == {}
    assert Entry.objects.filter(proposal=proposal).exists()
    assert Settlement.objects.filter(village=village_x).count() == 1


def _source_files():
    for package in PROJECT_PACKAGES:
        for path in sorted((Path(settings.BASE_DIR) / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_no_writer_locks_a_row_for_update():
    found = []
    for path in _source_files():
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "select_for_update"
                and not any(
                    kw.arg == "no_key" and getattr(kw.value, "value", None) is True
                    for kw in node.keywords
                )
            ):
                found.append(f"{path.name}:{node.lineno}")
        for match in re.finditer(r"\bFOR UPDATE\b", source):
            line = source.count("\n", 0, match.start()) + 1
            if "SKIP LOCKED" not in source.splitlines()[line - 1]:
                found.append(f"{path.name}:{line} (SQL)")
    assert found == []
