from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigID, UTCDateTime, utcnow


class Member(Base):
    """One person (OneID) in a shop, whatever platform identities they arrive with."""

    __tablename__ = "member"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    # From the platform's customer data where it gives one; a phone number is stored masked.
    display_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MemberIdentity(Base):
    __tablename__ = "member_identity"
    __table_args__ = (UniqueConstraint("shop_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), index=True)


class DistributorStatus(enum.StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class Distributor(Base):
    """A member who may invite others and earn commissions (only while approved)."""

    __tablename__ = "distributor"
    __table_args__ = (
        UniqueConstraint("shop_id", "invite_code"),
        Index("ix_distributor_shop_created", "shop_id", "created_at"),  # lists and figures by joining
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    status: Mapped[str] = mapped_column(String(16), default=DistributorStatus.APPROVED)
    level: Mapped[str] = mapped_column(String(16), default="B")
    invite_code: Mapped[str] = mapped_column(String(64))
    # The region a city partner answers for (compared with the orders' delivery region).
    region: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Binding(Base):
    """``member`` was invited by ``inviter``. Ancestors are precomputed at bind time so pricing
    an order never walks the tree; ``tier1_id`` is the inviter itself."""

    __tablename__ = "binding"
    __table_args__ = (
        Index("ix_binding_shop_tier1", "shop_id", "tier1_id"),
        # the team tree reads each level below a distributor with one indexed query
        Index("ix_binding_shop_tier2", "shop_id", "tier2_id"),
        Index("ix_binding_shop_tier3", "shop_id", "tier3_id"),
    )

    member_id: Mapped[int] = mapped_column(ForeignKey("member.id"), primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    tier1_id: Mapped[int] = mapped_column(ForeignKey("member.id"))
    tier2_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), nullable=True)
    tier3_id: Mapped[int | None] = mapped_column(ForeignKey("member.id"), nullable=True)
    source: Mapped[str] = mapped_column(String(32))
    source_ref: Mapped[str] = mapped_column(String(128), default="")
    bound_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def ancestor(self, tier: int) -> int | None:
        return (self.tier1_id, self.tier2_id, self.tier3_id)[tier - 1]
