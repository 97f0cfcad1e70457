"""A shop's month on the dashboard: its figures, last month's to compare with, its days, its tiers
and its top distributors, read with a handful of indexed queries whatever the shop's size.

Where each figure comes from:

- the month's and last month's days: the stored day figures (``DayFigures``, at most 62 rows),
  except *today*'s order figures and new distributors, computed live (``figures.day_figures``:
  three queries over today's rows only). Today's ledger changes stay as of the sweep: they are
  every posting of the day joined to its entries, the one query that grows with a busy day;
- what the shop owes at a month's end (payable), what it paid out, and how many distributors
  had joined by then: the stored days' changes added up from the shop's first day (one
  aggregate over the shop's day rows: a few hundred per year);
- active distributors and the top 10 by GMV: the month tallies the pipeline keeps exactly
  (``MonthTally``; ``ix_month_tally_shop_month_sales``), live.

Decisions: a month is compared with the whole of the month before (for the current month that
is month-to-date against a full month; the page says so). An *active distributor* earned
commission in the month that refunds have not taken back entirely (their month tally's
``commission`` is above zero); *total distributors* are those who had joined by the month's end,
whatever their status now. The top 10 ranks distributors by their tally's ``sales`` (their
tier-1 GMV, net of refunds), ties by member id; a member without a display name shows as
``#<member id>``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.commissions.models import MonthTally
from plugin.members.models import Member
from plugin.reports.figures import TIERS, Day, day_figures, local_day, zone_of
from plugin.reports.models import DayFigures, FiguresMark
from plugin.shops.models import Shop

TOP = 10
FLOWS = ("gmv", "commission", "orders_with_commission", "paid")  # added up over the month's days
KPIS = ("distributors_active", "distributors_total", "gmv", "commission", "payable", "paid")
KPIS += ("orders_with_commission",)


@dataclass(frozen=True)
class Kpi:
    current: int
    previous: int


@dataclass(frozen=True)
class TopDistributor:
    member_id: int
    display_name: str | None
    sales: int
    commission: int

    @property
    def name(self) -> str:
        return self.display_name or f"#{self.member_id}"


@dataclass(frozen=True)
class MonthDashboard:
    month: str  # YYYY-MM
    previous_month: str
    currency: str
    kpis: dict[str, Kpi]
    days: list[Day]  # every day of the month up to today, zeros where nothing happened
    commission_by_tier: dict[int, int]  # tier -> commission, the tiers the shop pays or ever paid
    top: list[TopDistributor]
    as_of: datetime | None  # every change before this is in the stored days (None: never swept)
    live_today: bool  # today is in the month and was computed for this request


def month_start(month: str) -> date:
    """The first day of ``YYYY-MM`` (``ValueError`` if it is not one)."""
    year, number = month.split("-")
    if len(year) != 4 or len(number) != 2:
        raise ValueError(f"not a month: {month!r}")
    return date(int(year), int(number), 1)


def month_of_day(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def shift_month(month: str, by: int) -> str:
    """The month ``by`` months after ``month`` (before it if negative), both ``YYYY-MM``."""
    year, number = divmod(int(month[:4]) * 12 + int(month[5:7]) - 1 + by, 12)
    return f"{year:04d}-{number + 1:02d}"


def current_month(shop: Shop, now: datetime) -> str:
    return month_of_day(local_day(zone_of(shop), now))


def month_days(month: str) -> tuple[date, date]:
    """The first and last day of ``YYYY-MM``.

    Raises:
        ValueError: ``month`` is not a month written YYYY-MM.
    """
    first = month_start(month)
    if month_of_day(first) != month:
        raise ValueError(f"not a month: {month!r}")
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def month_dashboard(session: Session, shop: Shop, month: str, now: datetime) -> MonthDashboard:
    """The dashboard of ``month`` (``YYYY-MM``, not after the shop's current month) at ``now``."""
    first, last = month_days(month)
    previous_first = (first - timedelta(days=1)).replace(day=1)
    today = local_day(zone_of(shop), now)
    end = min(last, today)  # nothing after today is shown, nor counted
    days = {
        row.day: Day.of_row(row)
        for row in session.scalars(
            select(DayFigures).where(
                DayFigures.shop_id == shop.id, DayFigures.day >= previous_first, DayFigures.day <= end
            )
        )
    }
    if first <= today <= last:  # today's orders live; its ledger changes as of the sweep
        stored = days.get(today, Day(today))
        days[today] = day_figures(session, shop, today, ledger=False)
        days[today].payable_change, days[today].paid_change = stored.payable_change, stored.paid_change
        days[today].live = True
    payable_before, joined_before = session.execute(
        select(
            func.coalesce(func.sum(DayFigures.payable_change), 0),
            func.coalesce(func.sum(DayFigures.new_distributors), 0),
        ).where(DayFigures.shop_id == shop.id, DayFigures.day < previous_first)
    ).one()
    this = [d for day, d in days.items() if first <= day <= end]
    before = [d for day, d in days.items() if day < first]
    previous_month = month_of_day(previous_first)
    active = _active_distributors(session, shop.id, (month, previous_month))
    payable_then = int(payable_before) + sum(d.payable_change for d in before)
    joined_then = int(joined_before) + sum(d.new_distributors for d in before)
    kpis = {
        "distributors_active": Kpi(active.get(month, 0), active.get(previous_month, 0)),
        "distributors_total": Kpi(joined_then + sum(d.new_distributors for d in this), joined_then),
        "payable": Kpi(payable_then + sum(d.payable_change for d in this), payable_then),
        **{name: Kpi(_flow(this, name), _flow(before, name)) for name in FLOWS},
    }
    by_tier = {tier: sum(d.commission_by_tier[tier - 1] for d in this) for tier in TIERS}
    mark = session.get(FiguresMark, shop.id)
    return MonthDashboard(
        month=month,
        previous_month=previous_month,
        currency=shop.currency,
        kpis=kpis,
        days=[days.get(day, Day(day)) for day in _each_day(first, end)],
        commission_by_tier={t: v for t, v in by_tier.items() if t <= shop.tier_depth or v},
        top=top_distributors(session, shop.id, month),
        as_of=mark.covered_until if mark else None,
        live_today=first <= today <= last,
    )


def _flow(days: list[Day], name: str) -> int:
    attribute = "paid_change" if name == "paid" else name
    return sum(getattr(d, attribute) for d in days)


def _each_day(first: date, end: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((end - first).days + 1)]


def _active_distributors(session: Session, shop_id: int, months: tuple[str, ...]) -> dict[str, int]:
    rows = session.execute(
        select(MonthTally.month, func.count())
        .where(MonthTally.shop_id == shop_id, MonthTally.month.in_(months), MonthTally.commission > 0)
        .group_by(MonthTally.month)
    )
    return {month: int(count) for month, count in rows}


def top_distributors(session: Session, shop_id: int, month: str, limit: int = TOP) -> list[TopDistributor]:
    """The month's distributors with the most GMV (net of refunds), most first."""
    rows = session.execute(
        select(MonthTally.member_id, Member.display_name, MonthTally.sales, MonthTally.commission)
        .join(Member, Member.id == MonthTally.member_id)
        .where(MonthTally.shop_id == shop_id, MonthTally.month == month, MonthTally.sales > 0)
        .order_by(MonthTally.sales.desc(), MonthTally.member_id)
        .limit(limit)
    )
    return [TopDistributor(*row) for row in rows]
