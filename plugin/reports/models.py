"""The dashboard's precomputed figures: one row per shop-local day, and each shop's sweep mark.

They are derived data, recomputed from the source tables (orders, attributions, commissions,
the ledger, distributors) by ``plugin.reports.refresh``: never written by the order pipeline,
so no worker ever waits on a shop-day row. Dropping them loses nothing but time. The indexes
the sweep and the dashboard read other tables by are declared on those tables' models.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from plugin.db import Base, BigID, UTCDateTime


class DayFigures(Base):
    """One shop-local calendar day of a shop, as ``plugin.reports.figures.day_figures`` defines
    each figure (orders by the day they were paid; ledger movements by the day they were posted;
    distributors by the day they joined). Amounts in the shop's currency, minor units."""

    __tablename__ = "day_figures"
    __table_args__ = (PrimaryKeyConstraint("shop_id", "day"),)

    shop_id: Mapped[int] = mapped_column(ForeignKey("shop.id"))
    day: Mapped[date] = mapped_column(Date)
    gmv: Mapped[int] = mapped_column(BigInteger, default=0)
    orders_with_commission: Mapped[int] = mapped_column(Integer, default=0)
    commission_tier1: Mapped[int] = mapped_column(BigInteger, default=0)
    commission_tier2: Mapped[int] = mapped_column(BigInteger, default=0)
    commission_tier3: Mapped[int] = mapped_column(BigInteger, default=0)
    new_distributors: Mapped[int] = mapped_column(Integer, default=0)
    payable_change: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_change: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FiguresMark(Base):
    """How far a shop's day figures are up to date: every change its source rows record before
    ``covered_until`` is in them. ``timezone`` is the zone the days were cut in (a shop that
    changes zone gets all its days cut again). Its row lock serializes two sweeps of one shop."""

    __tablename__ = "figures_mark"

    shop_id: Mapped[int] = mapped_column(BigID, ForeignKey("shop.id"), primary_key=True, autoincrement=False)
    timezone: Mapped[str] = mapped_column(String(64))
    covered_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    swept_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
