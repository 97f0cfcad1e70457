from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, PrimaryKeyConstraint, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigID, UTCDateTime, utcnow


class Shop(Base):
    """A tenant: one merchant's shop on one platform, with its distribution settings."""

    __tablename__ = "shop"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(32))
    currency: Mapped[str] = mapped_column(String(3))
    tier_depth: Mapped[int] = mapped_column(Integer, default=2)
    after_sales_days: Mapped[int] = mapped_column(Integer, default=7)
    active_rule_version: Mapped[int] = mapped_column(Integer, default=1)
    # Rules read order times (weekday, hour, Double-11 slots) in the shop's own time zone.
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # The most all tiers together may earn from one line, in basis points of what it paid.
    commission_ceiling_bp: Mapped[int] = mapped_column(Integer, default=5000)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """A key for the shop's JSON API. Only its SHA-256 is stored: the key is shown once."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))  # the key's first characters, to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ShopSecret(Base):
    """A webhook signing secret. Several are valid at once during a rotation's grace period."""

    __tablename__ = "shop_secret"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), index=True)
    secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RuleSetVersion(Base):
    """An immutable, published commission rule document."""

    __tablename__ = "rule_set_version"
    __table_args__ = (UniqueConstraint("shop_id", "version"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    version: Mapped[int] = mapped_column(Integer)
    document: Mapped[dict] = mapped_column(JSON)
    published_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500), default="")
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the document: the compile cache key
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Category(Base):
    """One category of the shop's tree, with its ancestors precomputed (nearest first), so a
    line's parent categories are one lookup, never a walk."""

    __tablename__ = "category"
    __table_args__ = (PrimaryKeyConstraint("shop_id", "name"),)

    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    name: Mapped[str] = mapped_column(String(256))
    parent: Mapped[str | None] = mapped_column(String(256), nullable=True)
    ancestors: Mapped[list] = mapped_column(JSON, default=list)
