"""Text messages sent by a real worker process to a local server playing Aliyun SMS."""

import json
import time

import pytest
from django.db import transaction

from notifications.models import Notification
from points.services import proposal_approve
from tests.notifications.provider import Provider
from tests.points.conftest import propose

Sms = Notification.Sms


class RolledBack(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_each_message_is_sent_once_after_a_provider_failure_and_none_for_a_rolled_back_effect(
    queue_workers, card_a, card_b, manager_x, supervisor_x, rule_clean, household_y
):
    household_b = card_b.household
    household_b.sms_opt_out = True
    household_b.save()
    (rolled_back,) = propose(manager_x, [card_a.household], rule_clean)
    with pytest.raises(RolledBack), transaction.atomic():
        proposal_approve(proposal_ids=[rolled_back.pk], actor=supervisor_x)
        raise RolledBack
    assert not Notification.objects.exists()
    proposals = propose(manager_x, [card_a.household, household_b], rule_clean)
    with Provider(fail_first=1) as provider:
        workers = queue_workers(
            2, env={**provider.environment(), "SMS_RETRY_WAIT": "1", "SMS_QUIET_HOURS": "0-0"}
        )
        proposal_approve(proposal_ids=[p.pk for p in proposals], actor=supervisor_x)
        to_a = Notification.objects.get(household=card_a.household)
        workers.wait_until(
            lambda: Notification.objects.filter(pk=to_a.pk, sms_status=Sms.SENT).exists()
        )
        time.sleep(3)  # time for a second sending, were there one
        workers.stop()
    to_a.refresh_from_db()
    assert to_a.sms_attempts == 2 and to_a.sms_reference == "biz-1"
    assert to_a.sms_error == ""
    assert provider.refused == []  # every request was signed right
    assert len(provider.failed) == 1 and len(provider.accepted) == 1  # one retry, sent once
    (sent,) = provider.accepted
    assert sent["PhoneNumbers"] == "13912345678"
    content = json.loads(sent["TemplateParam"])["content"]
    assert "105" in content and card_a.household.head_name not in content
    to_b = Notification.objects.get(household=household_b)
    assert to_b.sms_status == Sms.SKIPPED and to_b.sms_attempts == 0  # opted out: not sent
    assert to_b.read_at is None  # still in B's list
    assert Notification.objects.count() == 2  # nothing for the rolled-back approval
    assert "SMS of notification" in workers.output()  # the failure was logged
