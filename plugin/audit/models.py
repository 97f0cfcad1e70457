from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigID, UTCDateTime, utcnow


class AuditEvent(Base):
    """Who did what to which subject, and when. Append-only."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_subject", "shop_id", "subject_type", "subject_id"),
        Index("ix_audit_shop_created", "shop_id", "created_at"),  # the audit page, newest first
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
