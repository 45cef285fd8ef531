"""Writing to the audit log from services and views."""

from aidao.models import AuditEvent


def client_ip(request) -> str | None:
    """The peer address. X-Forwarded-For is not trusted: it is trivially forged."""
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: str,
    actor=None,
    village_id: int | None = None,
    obj=None,
    detail: dict | None = None,
    request=None,
) -> AuditEvent:
    """Append one audit event (inside the caller's transaction, so it commits with the change)."""
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    return AuditEvent.objects.create(
        action=action,
        actor=actor,
        village_id=village_id,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        detail=detail or {},
        ip_address=client_ip(request),
    )
