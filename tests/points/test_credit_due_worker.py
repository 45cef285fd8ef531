"""The periodic crediting, run by two real worker processes: each due entry credited once."""

import re

import pytest

from points.models import Entry, Proposal
from tests.points.test_publicity_concurrency import assert_credited_once, due_proposals

RAN = re.compile(r"Job points\.credit_due\[\d+\]\(timestamp=(\d+)\) ended with status: Success")


@pytest.mark.django_db(transaction=True)
def test_two_workers_credit_each_due_entry_once(
    queue_workers, village_x, group_x, manager_x, supervisor_x
):
    proposals, expected = due_proposals(
        village_x, group_x, manager_x, supervisor_x, households=4, each=5
    )
    workers = queue_workers(2)
    workers.wait_until(
        lambda: not Proposal.objects.filter(status=Proposal.Status.PUBLICITY).exists()
    )
    # Both workers keep the schedule (a tick every 2 s): let a few more ticks run over the
    # entries already credited, then read which worker ran which tick.
    workers.wait_until(lambda: len(RAN.findall(workers.output())) >= 4)
    workers.stop()
    ticks = RAN.findall(workers.output())
    assert len(ticks) == len(set(ticks)), "a tick was run by both workers"
    assert_credited_once(proposals, expected)
    assert Entry.objects.filter(kind=Entry.Kind.AWARD).count() == len(proposals)
