from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base, BigID, UTCDateTime, utcnow


class CommissionStatus(enum.StrEnum):
    PENDING = "pending"
    AVAILABLE = "available"
    CANCELLED = "cancelled"  # fully reversed before settlement
    CLAWED_BACK = "clawed_back"  # fully reversed after settlement


class Commission(Base):
    """What one beneficiary earns at one tier from one order line.

    ``amount`` is what the rules decided when the order was paid; ``reversed`` is how much of
    it refunds have taken back since (cancelled while pending, clawed back once available).
    """

    __tablename__ = "commission"
    __table_args__ = (
        UniqueConstraint("order_line_id", "tier"),
        Index("ix_commission_due", "status", "settle_after"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(ForeignKey("order_line.id"))
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)
    tier: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=CommissionStatus.PENDING)
    rule_version: Mapped[int] = mapped_column(Integer)
    explanation: Mapped[list] = mapped_column(JSON, default=list)
    settle_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def remaining(self) -> int:
        return self.amount - self.reversed
