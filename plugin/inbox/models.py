from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigID, UTCDateTime, utcnow


class InboxStatus(enum.StrEnum):
    RECEIVED = "received"  # stored, waiting for (or in) processing
    PROCESSED = "processed"
    IGNORED = "ignored"  # recorded, never acted on: an unknown topic, a test order, another currency
    FAILED = "failed"  # will be retried by the sweep after next_attempt_at
    DEAD = "dead"  # gave up after the maximum attempts; replay by hand


class InboxEvent(Base):
    """One raw webhook delivery, stored exactly once, before anything acts on it."""

    __tablename__ = "inbox_event"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform", "event_key"),
        # The same signed body re-posted under a new delivery id is the same delivery.
        UniqueConstraint("shop_id", "platform", "topic", "body_sha256", name="uq_inbox_event_body"),
        Index("ix_inbox_pending", "status", "next_attempt_at"),
        Index("ix_inbox_shop_received", "shop_id", "received_at"),  # the settings page's deliveries
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    platform: Mapped[str] = mapped_column(String(32))
    event_key: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    headers: Mapped[dict] = mapped_column(JSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.RECEIVED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)  # why it was ignored
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # received: when the sweep may assume its job was lost; failed: when to retry; either way a
    # lease, so the sweep never queues an event that is already waiting in a queue.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
