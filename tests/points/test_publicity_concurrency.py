"""`credit_due` run twice at the same moment credits each due entry exactly once.

Once with threads (each its own connection, released together by a barrier) and once with
two real `manage.py credit_due` processes on the test database.
"""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from points import checks
from points.models import Account, Entry, Proposal
from points.publicity import proposals_credit_due
from points.services import proposal_approve
from tests.conftest import issue_card
from tests.factories import HouseholdFactory
from tests.points.conftest import make_rule, propose
from tests.points.test_concurrency import run_threads

ROOT = Path(__file__).resolve().parents[2]


def due_proposals(village, group, manager, supervisor, households=6, each=6):
    """`households` × `each` approved awards whose publicity period ended a minute ago."""
    village.publicity_days = 3
    village.save()
    homes = [HouseholdFactory(group=group, number=f"C{index:03d}") for index in range(households)]
    for home in homes:
        issue_card(home, manager)
    rules = [make_rule(village, f"R{n:02d}", n + 1) for n in range(each)]
    proposals = [p for rule in rules for p in propose(manager, homes, rule)]
    proposal_approve(proposal_ids=[p.pk for p in proposals], actor=supervisor)
    Proposal.objects.filter(pk__in=[p.pk for p in proposals]).update(
        credit_due_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    expected = {home.pk: 100 + sum(rule.points for rule in rules) for home in homes}
    return proposals, expected


def assert_credited_once(proposals, expected):
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == len(proposals)
    assert not Proposal.objects.exclude(status=Proposal.Status.APPROVED).exists()
    assert dict(Account.objects.values_list("household_id", "balance")) == expected
    assert checks.check() == []


@pytest.mark.django_db(transaction=True)
def test_two_threads_credit_each_entry_once(village_x, group_x, manager_x, supervisor_x):
    proposals, expected = due_proposals(village_x, group_x, manager_x, supervisor_x)
    results = run_threads([proposals_credit_due] * 4)
    runs = [run for status, run in results]
    credited = [pk for run in runs for pk in run.credited]
    assert sorted(credited) == sorted(p.pk for p in proposals)  # each once, none twice
    assert_credited_once(proposals, expected)


@pytest.mark.django_db(transaction=True)
def test_two_processes_credit_each_entry_once(village_x, group_x, manager_x, supervisor_x):
    proposals, expected = due_proposals(
        village_x, group_x, manager_x, supervisor_x, households=12, each=10
    )
    settings = connection.settings_dict
    host = settings["HOST"] or settings["OPTIONS"].get("host", "")
    url = f"postgresql://{settings['USER']}:{settings['PASSWORD']}@/{settings['NAME']}"
    env = {**os.environ, "DATABASE_URL": f"{url}?host={host}", "DEBUG": "false"}
    env.setdefault("SECRET_KEY", "test-only")
    env.setdefault("ALLOWED_HOSTS", "localhost")
    command = [sys.executable, "manage.py", "credit_due"]
    processes = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _i in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    credited = sum(int(out.split("Credited ")[1].split(",")[0]) for out, _err in outputs)
    assert credited == len(proposals)
    assert_credited_once(proposals, expected)
