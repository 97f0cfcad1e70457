from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigID, UTCDateTime, utcnow


class Role(enum.StrEnum):
    VIEWER = "viewer"  # reads every tab
    OPERATOR = "operator"  # distributors and commission rules
    FINANCE = "finance"  # settlement (later withdrawals, tax, reconciliation)
    ADMIN = "admin"  # all of the above plus users and shop settings


class User(Base):
    """One person who logs in to the workbench.

    A shop's user has ``shop_id`` and a role there; a platform superuser has no shop, may
    switch to any, and acts there as an admin. The e-mail is unique across the platform: it is
    what a person types at the login form.
    """

    __tablename__ = "admin_user"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    shop_id: Mapped[int | None] = mapped_column(ForeignKey("shop.id"), nullable=True, index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(16), nullable=True)  # None: the browser's
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
