"""The audit log: every binding, commission, rule change, adjustment and approval lands here."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin.audit.models import AuditEvent

SYSTEM = "system"


def record(
    session: Session, shop_id: int, action: str, subject_type: str, subject_id, *, actor: str = SYSTEM, **data
) -> AuditEvent:
    """Append one audit event in the caller's transaction (so it commits or rolls back with it)."""
    event = AuditEvent(
        shop_id=shop_id,
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        data=data,
    )
    session.add(event)
    return event
