"""The county admin's and the township officer's month, walked with cases found by a probe
on a generated county (47 villages, seven townships, three years): the items sent up as the
officer reads them, the village picker, the exports and their workbooks.
"""

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from villagers.models import Referral

QUEUE = reverse("reports:county_queue")
VILLAGE_REFERRALS = reverse("reports:village_referrals")


def _in_chinese(client):
    client.cookies["django_language"] = "zh-hans"
    return client


@pytest.fixture
def decided(village_x, household_b, manager_x, township_officer):
    """A PIN reset of household B, sent up and done by the township officer."""
    return Referral.objects.create(
        village=village_x,
        household=household_b,
        kind=Referral.Kind.PIN_RESET,
        object_id=household_b.pk,
        why="送县里",
        requested_by=manager_x,
        status=Referral.Status.DONE,
        decided_by=township_officer,
        decided_at=timezone.now(),
    )


def test_an_item_decided_reads_decided_not_the_time_of_a_decision(
    decided, client_township, client_manager_x, village_x
):
    """Found by the probe: the decided list's outcome read "审批时间: 已批准" ("time of
    approval: approved"): the status "decided" shared its msgid with the fields `decided_at`,
    whose Chinese is the time's."""
    with translation.override("zh-hans"):
        for client, url in ((client_township, QUEUE), (client_manager_x, VILLAGE_REFERRALS)):
            page = _in_chinese(client).get(url).content.decode()
            assert "审批时间" not in page, url
            assert "<td>已处理</td>" in page, url  # the outcome's cell
