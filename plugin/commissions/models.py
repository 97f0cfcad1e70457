from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.db import Base, BigID, UTCDateTime, utcnow
from plugin.keys import numbered
from plugin.orders.models import Order, OrderLine


class CommissionStatus(enum.StrEnum):
    """Where a commission's money is; moves only along ``plugin.commissions.lifecycle.TRANSITIONS``."""

    PENDING = "pending"  # earned, waiting for the after-sales window to close
    HELD = "held"  # pending, held back by a risk review
    AVAILABLE = "available"  # settled: the beneficiary may withdraw it
    WITHDRAWN = "withdrawn"  # paid out
    CANCELLED = "cancelled"  # fully reversed before settlement
    CLAWED_BACK = "clawed_back"  # fully reversed after settlement


@numbered
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

    line: Mapped[OrderLine] = relationship(lazy="raise")  # set at accrual: the line may be new

    @property
    def remaining(self) -> int:
        return self.amount - self.reversed


class MonthTally(Base):
    """What one member was attributed in one shop-local calendar month (``YYYY-MM``), net of
    refunds: ``sales`` as the buyer's direct inviter (tier 1) and ``commission`` at every tier.

    Pricing locks the row of each beneficiary for the order's month, so two workers can never
    both see the same room under a monthly cap or the same ladder step.
    """

    __tablename__ = "month_tally"
    __table_args__ = (
        UniqueConstraint("shop_id", "member_id", "month"),
        # the dashboard's top 10 by GMV (a backward scan) and active count (the index alone)
        Index("ix_month_tally_shop_month_sales", "shop_id", "month", "sales", "commission"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    month: Mapped[str] = mapped_column(String(7))
    sales: Mapped[int] = mapped_column(BigInteger, default=0)
    commission: Mapped[int] = mapped_column(BigInteger, default=0)


@numbered
class Attribution(Base):
    """An order priced for one beneficiary at one tier, and what it was priced with.

    ``sales_before`` and ``commission_before`` are the beneficiary's month figures when the
    order was priced (before its first line); with the order's own lines they give back every
    line's facts, so the what-if replay sees exactly what the live pricing saw.
    """

    __tablename__ = "attribution"
    __table_args__ = (
        UniqueConstraint("order_id", "tier"),
        Index("ix_attribution_beneficiary_month", "shop_id", "beneficiary_id", "month"),
        Index("ix_attribution_shop_created", "shop_id", "created_at"),  # the figures sweep's days
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    tier: Mapped[int] = mapped_column(Integer)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    month: Mapped[str] = mapped_column(String(7))
    level: Mapped[str] = mapped_column(String(16))
    region: Mapped[str] = mapped_column(String(128), default="")
    sales_before: Mapped[int] = mapped_column(BigInteger)
    commission_before: Mapped[int] = mapped_column(BigInteger)
    rule_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NewBuyerClaim(Base):
    """The one paid order that counts as a buyer's first in a shop (``buyer_is_new``)."""

    __tablename__ = "new_buyer_claim"
    __table_args__ = (PrimaryKeyConstraint("shop_id", "buyer_member_id"),)

    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    buyer_member_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# An order's commissions, read-only, loaded on purpose (``orders.lifecycle.by_external_id``):
# declared here so that orders/ knows nothing of commissions (SQLAlchemy lets a mapped class
# gain a relationship after it is defined); ``lazy="raise"`` keeps pricing from walking it.
Order.commissions = relationship(Commission, order_by=Commission.id, viewonly=True, lazy="raise")
