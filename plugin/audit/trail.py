"""The audit log: every binding, commission, rule change, adjustment and approval lands here."""

from __future__ import annotations

from sqlalchemy.orm import Session

from plugin import appends
from plugin.audit.models import AuditEvent
from plugin.db import utcnow

SYSTEM = "system"


def record(
    session: Session, shop_id: int, action: str, subject_type: str, subject_id, *, actor: str = SYSTEM, **data
) -> None:
    """Append one audit event in the caller's transaction (so it commits or rolls back with it).

    Queued and written with the transaction's other audit events, one ``INSERT`` at commit
    (``plugin.appends``).
    """
    appends.append(
        session,
        AuditEvent,
        {
            "shop_id": shop_id,
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "data": data,
            "created_at": utcnow(),
        },
    )
