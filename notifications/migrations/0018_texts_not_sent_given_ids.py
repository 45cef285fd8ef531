"""Give the texts not sent yet, written before they kept what they tell of, that id.

An announced entry's "approved ... credited after that", its "is held", an objector's
"dismissed: the entry stands" and a wish's "matched" now keep the proposal's or the wish's
id, so the service that makes them untrue (a cancellation, a crediting, a decline) marks
them out of date. Those written before, still waiting (the quiet hours, a back-off), are
found by what they say, and given the id only when one entry or wish alone says it: two
entries of a household alike in points, rule and date (or time) leave their texts alike,
and nothing tells which is whose. Those are left as they are: an announced entry's text
still stops at the end of its objections, the others go as they would have.
"""

import datetime

from django.db import migrations

WAITING = ("pending", "sending")  # "being sent" may go back to the outbox (a stopped worker)


def _one(candidates):
    found = list(candidates[:2])
    return found[0] if len(found) == 1 else None


def _rule_is(proposals, rule: str):
    """The proposals whose rule the text names (its description, cut to 40 characters)."""
    return [p for p in proposals.select_related("rule") if p.rule.description[:40] == rule]


def _proposal_of_announced(Proposal, told, params):
    until = params.get("until", "")
    proposals = Proposal.objects.filter(household_id=told.household_id, points=params["points"])
    if "T" in until:
        proposals = proposals.filter(credit_due_at=datetime.datetime.fromisoformat(until))
    else:  # written when it said the day alone (local time)
        proposals = proposals.filter(credit_due_at__date=datetime.date.fromisoformat(until))
    return _one(_rule_is(proposals, params["rule"]))


def _proposal_of_held(Proposal, told, params):
    proposals = Proposal.objects.filter(
        household_id=told.household_id,
        points=params["points"],
        occurred_on=datetime.date.fromisoformat(params["date"]),
        status__in=["held", "approved", "cancelled"],
        credit_due_at__isnull=False,  # announced: only those are ever held
    )
    return _one(_rule_is(proposals, params["rule"]))


def _proposal_of_dismissed(Proposal, told, params):
    proposals = Proposal.objects.filter(
        village_id=told.village_id,
        points=params["points"],
        occurred_on=datetime.date.fromisoformat(params["date"]),
        objections__status="dismissed",
        objections__raised_by__household_id=told.household_id,
    ).distinct()
    return _one(_rule_is(proposals, params["rule"]))


def _wish_of_matched(WishMatch, told):
    """The household's wish matched in the transaction that wrote the text: its match is
    stamped a moment before it (never after, and never a minute before)."""
    matches = WishMatch.objects.filter(
        wish__household_id=told.household_id,
        matched_at__lte=told.created_at,
        matched_at__gt=told.created_at - datetime.timedelta(minutes=1),
    )
    return _one(matches)


def ids_given(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    Proposal = apps.get_model("points", "Proposal")
    WishMatch = apps.get_model("wishwall", "WishMatch")
    waiting = Notification.objects.filter(sms_status__in=WAITING, household__isnull=False)
    for kind, find in [
        ("publicity", _proposal_of_announced),
        ("held", _proposal_of_held),
        ("objection_answered", _proposal_of_dismissed),
    ]:
        texts = waiting.filter(kind=kind).exclude(params__has_key="proposal")
        if kind == "objection_answered":
            texts = texts.filter(params__upheld=False)  # an upheld one is never untrue
        given = []
        for told in texts.order_by("pk"):
            proposal = find(Proposal, told, told.params)
            if proposal is not None:
                given.append((told, proposal.pk))
        _given_once(Notification, given, "proposal")
    given = []
    for told in waiting.filter(kind="wish_matched").exclude(params__has_key="wish"):
        match = _wish_of_matched(WishMatch, told)
        if match is not None:
            given.append((told, match.wish_id))
    _given_once(Notification, given, "wish")


def _given_once(Notification, given, key: str) -> None:
    """Each text its id, unless two texts came to the same one (alike: neither is known)."""
    counts = {}
    for _told, object_id in given:
        counts[object_id] = counts.get(object_id, 0) + 1
    for told, object_id in given:
        if counts[object_id] == 1:
            told.params[key] = object_id
            told.save(update_fields=["params"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0017_sms_outdated"),
        ("points", "0021_carry_over_upload_token"),
        ("wishwall", "0003_wish_withdrawn"),
    ]

    operations = [migrations.RunPython(ids_given, migrations.RunPython.noop)]
