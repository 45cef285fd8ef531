"""One writer of audit events (DESIGN.md rule 9): an event is the same row whether a service
writes it alone (`audit_record`) or in one statement with its other writes (`audit_plan`,
`audit_records`)."""

from core.audit import audit_record, audit_records
from core.models import AuditEvent

# What the writer fills in; the id and the time are each event's own.
WRITTEN = ["action", "actor_id", "village_id", "township_id", "county_id"]
WRITTEN += ["object_type", "object_id", "detail", "ip_address"]


def _written(event: AuditEvent) -> dict:
    return {name: getattr(event, name) for name in WRITTEN}


def test_an_event_written_in_one_statement_is_the_event_written_alone(
    rf, county_admin, township_officer, village_x
):
    """An event of no village is placed by its object (a township's officer), else by its
    actor, whichever way it is written; an event of a village by its village alone."""
    request = rf.post("/", REMOTE_ADDR="10.1.2.3")
    cases = [
        {"actor": county_admin, "village_id": None, "obj": township_officer, "detail": {}},
        {"actor": county_admin, "village_id": village_x.pk, "obj": village_x, "detail": {"a": 1}},
    ]
    for case in cases:
        alone = audit_record(action="staff.update", request=request, **case)
        obj, detail = case.pop("obj"), case.pop("detail")
        audit_records(action="staff.update", request=request, objs=[obj], details=[detail], **case)
        together = AuditEvent.objects.filter(pk__gt=alone.pk).get()
        assert _written(together) == _written(alone)
