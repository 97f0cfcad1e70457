from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from plugin.db import Base, BigID, UTCDateTime, utcnow
from plugin.keys import numbered


class OrderStatus(enum.StrEnum):
    CREATED = "created"
    PAID = "paid"
    COMPLETED = "completed"
    REFUNDED = "refunded"  # fully refunded after payment
    CLOSED = "closed"  # cancelled before payment


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("shop_id", "platform", "external_id"),
        Index("ix_orders_shop_paid_at", "shop_id", "paid_at"),  # the workbench's lists and months
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.CREATED)
    currency: Mapped[str] = mapped_column(String(3))
    channel: Mapped[str] = mapped_column(String(64), default="")
    ref_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    region: Mapped[str | None] = mapped_column(String(128), nullable=True)
    campaign_tags: Mapped[list] = mapped_column(JSON, default=list)  # order tags, discount codes
    # What the platform told us about the buyer, kept for the risk checks (hashes, never raw).
    buyer_ip: Mapped[str | None] = mapped_column(String(256), nullable=True)
    buyer_device: Mapped[str | None] = mapped_column(String(256), nullable=True)
    buyer_phone_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    buyer_email_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    buyer_member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), nullable=True, index=True)
    paid_total: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_total: Mapped[int] = mapped_column(BigInteger, default=0)
    placed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    source_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[OrderLine]] = relationship(order_by="OrderLine.id", lazy="selectin")


@numbered
class OrderLine(Base):
    __tablename__ = "order_line"
    __table_args__ = (UniqueConstraint("order_id", "external_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    external_id: Mapped[str] = mapped_column(String(128))
    product_id: Mapped[str] = mapped_column(String(128))
    sku: Mapped[str | None] = mapped_column(String(256), nullable=True)
    category: Mapped[str | None] = mapped_column(String(256), nullable=True)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    discount: Mapped[int] = mapped_column(BigInteger)
    paid_amount: Mapped[int] = mapped_column(BigInteger)
    refunded_amount: Mapped[int] = mapped_column(BigInteger, default=0)


class Refund(Base):
    """A refund as the platform reported it. Stored even when its order is not known yet,
    so a refund that overtakes its order's paid event is applied once the order arrives."""

    __tablename__ = "refund"
    __table_args__ = (
        UniqueConstraint("shop_id", "order_id", "external_id"),
        Index("ix_refund_shop_created", "shop_id", "created_at"),  # the figures sweep's days
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(128))
    total: Mapped[int] = mapped_column(BigInteger)
    # Merchandise money returned without a per-line split; spread over ``spread_lines`` (the
    # lines the platform named) or, when it named none, over all the order's lines.
    order_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    spread_lines: Mapped[list | None] = mapped_column(JSON, nullable=True)
    refunded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[RefundLine]] = relationship(order_by="RefundLine.id", lazy="selectin")


class RefundLine(Base):
    __tablename__ = "refund_line"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id"), index=True)
    line_external_id: Mapped[str] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
