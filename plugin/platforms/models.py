from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, UTCDateTime, utcnow


class ConnectionStatus(enum.StrEnum):
    NEW = "new"  # app id known, no token yet
    PENDING = "pending"  # an OAuth install was started and awaits the platform's callback
    CONNECTED = "connected"  # holds a token that works (or renews itself)
    DISCONNECTED = "disconnected"  # the platform refused the token or its renewal: install again


class PlatformConnection(Base):
    """How fenxiao reaches one shop's platform API: the app's id, the platform's id of the shop,
    and the access token (encrypted with ``vault``). The app's secret is the shop's newest
    webhook secret (``shop_secret``): the platforms sign webhooks with the app secret."""

    __tablename__ = "platform_connection"

    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=ConnectionStatus.NEW)
    client_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    shop_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)  # kdt_id, bosId, domain
    api_base: Mapped[str | None] = mapped_column(String(300), nullable=True)  # a sandbox or local fake
    access_token: Mapped[str | None] = mapped_column(Text, nullable=True)  # encrypted
    refresh_token: Mapped[str | None] = mapped_column(Text, nullable=True)  # encrypted
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    scopes: Mapped[str | None] = mapped_column(String(500), nullable=True)
    oauth_state: Mapped[str | None] = mapped_column(String(64), nullable=True)  # sha256 of the nonce
    oauth_state_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
