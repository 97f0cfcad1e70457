"""A shop's figures for one shop-local calendar day, computed from the source tables.

This module holds the definitions; the sweep (``refresh``) stores its results per day and the
dashboard (``month``) adds days up. Every amount is in the shop's currency, in minor units, and
every day and month is cut in the shop's own time zone (``shop.timezone``): an order paid on
2026-10-31 at 23:30 in Asia/Shanghai (15:30 UTC) belongs to 31 October.

- **Distribution GMV**: what the orders a distributor brought in were paid, net of refunds: the
  paid total less the refunded total of every order with a tier-1 attribution (the buyer's
  direct inviter was an earning distributor when it was paid), by the day of ``paid_at``. The
  same orders the month tallies' ``sales`` add up per distributor, so the month's GMV equals the
  sum of its tallies' sales and the top 10 ranks the same money.
- **Commission** (per tier 1..3): what the rules granted on the orders paid that day, less what
  refunds took back since (``amount - reversed``), whatever the commission's status now.
- **Orders with commission**: orders paid that day whose commission, net of refunds, is above
  zero (an order refunded in full no longer counts).
- **New distributors**: distributors who joined that day (``created_at``), whatever their status.
- **Payable change**: how much the distributors' ``pending`` plus ``available`` balances moved
  through ledger transactions posted that day; their sum up to a day is what the shop owes its
  distributors at that day's end (balances are derived from entries, never stored).
- **Paid change**: what was posted that day to the distributors' ``paid`` accounts: commission
  paid out. Zero until withdrawals arrive (issue 10).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from plugin.commissions.models import Attribution, Commission
from plugin.ledger.models import SHOP_OWNER, Account, AccountKind, LedgerEntry, LedgerTransaction
from plugin.members.models import Distributor
from plugin.orders.models import Order
from plugin.reports.models import DayFigures
from plugin.shops.models import Shop

TIERS = (1, 2, 3)  # the hard maximum of tiers (plugin.shops.tenants.MAX_TIER_DEPTH)


@dataclass
class Day:
    """One day's figures (see the module docstring for each one's definition)."""

    day: date
    gmv: int = 0
    orders_with_commission: int = 0
    commission_by_tier: tuple[int, int, int] = (0, 0, 0)
    new_distributors: int = 0
    payable_change: int = 0
    paid_change: int = 0
    live: bool = field(default=False, compare=False)  # computed for this request, not stored

    @property
    def commission(self) -> int:
        return sum(self.commission_by_tier)

    def row(self, shop_id: int, computed_at: datetime) -> dict:
        """The ``DayFigures`` row holding these figures."""
        tier1, tier2, tier3 = self.commission_by_tier
        return {
            "shop_id": shop_id,
            "day": self.day,
            "gmv": self.gmv,
            "orders_with_commission": self.orders_with_commission,
            "commission_tier1": tier1,
            "commission_tier2": tier2,
            "commission_tier3": tier3,
            "new_distributors": self.new_distributors,
            "payable_change": self.payable_change,
            "paid_change": self.paid_change,
            "computed_at": computed_at,
        }

    @classmethod
    def of_row(cls, row: DayFigures) -> Day:
        return cls(
            day=row.day,
            gmv=row.gmv,
            orders_with_commission=row.orders_with_commission,
            commission_by_tier=(row.commission_tier1, row.commission_tier2, row.commission_tier3),
            new_distributors=row.new_distributors,
            payable_change=row.payable_change,
            paid_change=row.paid_change,
        )


def zone_of(shop: Shop) -> ZoneInfo:
    return ZoneInfo(shop.timezone)


def local_day(zone: ZoneInfo, moment: datetime) -> date:
    """The calendar day ``moment`` falls on in ``zone``."""
    return moment.astimezone(zone).date()


def day_start(zone: ZoneInfo, day: date) -> datetime:
    """When ``day`` begins in ``zone``, in UTC (daylight saving time included)."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def day_figures(session: Session, shop: Shop, day: date, *, ledger: bool = True) -> Day:
    """``day``'s figures, computed now from the source tables: four indexed queries over that
    day's rows (orders by ``ix_orders_shop_paid_at``, ledger transactions by their posting time).
    ``ledger=False`` leaves the ledger's changes at zero and skips their query (the costliest:
    every posting of the day, joined to its entries and accounts)."""
    zone = zone_of(shop)
    start, end = day_start(zone, day), day_start(zone, day + timedelta(days=1))
    by_tier, with_commission = _commissions(session, shop.id, start, end)
    payable, paid = _ledger_changes(session, shop, start, end) if ledger else (0, 0)
    return Day(
        day=day,
        gmv=_gmv(session, shop.id, start, end),
        orders_with_commission=with_commission,
        commission_by_tier=tuple(by_tier),
        new_distributors=_new_distributors(session, shop.id, start, end),
        payable_change=payable,
        paid_change=paid,
    )


def _paid_between(shop_id: int, start: datetime, end: datetime):
    return (Order.shop_id == shop_id, Order.paid_at >= start, Order.paid_at < end)


def _gmv(session: Session, shop_id: int, start: datetime, end: datetime) -> int:
    attributed = (
        select(Attribution.id).where(Attribution.order_id == Order.id, Attribution.tier == 1).exists()
    )
    total = session.scalar(
        select(func.coalesce(func.sum(Order.paid_total - Order.refunded_total), 0)).where(
            *_paid_between(shop_id, start, end), attributed
        )
    )
    return int(total)


def _commissions(session: Session, shop_id: int, start: datetime, end: datetime) -> tuple[list[int], int]:
    """(net commission per tier 1..3, orders whose net commission is above zero) of the orders
    paid in ``[start, end)``: one pass over their commissions, grouped per order."""
    net = Commission.amount - Commission.reversed
    per_order = (
        select(
            *(func.sum(case((Commission.tier == tier, net), else_=0)).label(f"tier{tier}") for tier in TIERS),
            func.sum(net).label("net"),
        )
        .join(Order, Order.id == Commission.order_id)
        .where(*_paid_between(shop_id, start, end))
        .group_by(Commission.order_id)
        .subquery()
    )
    row = session.execute(
        select(
            *(func.coalesce(func.sum(per_order.c[f"tier{tier}"]), 0) for tier in TIERS),
            func.coalesce(func.sum(case((per_order.c.net > 0, 1), else_=0)), 0),
        )
    ).one()
    return [int(amount) for amount in row[:-1]], int(row[-1])


def _new_distributors(session: Session, shop_id: int, start: datetime, end: datetime) -> int:
    return int(
        session.scalar(
            select(func.count()).where(
                Distributor.shop_id == shop_id, Distributor.created_at >= start, Distributor.created_at < end
            )
        )
    )


def _ledger_changes(session: Session, shop: Shop, start: datetime, end: datetime) -> tuple[int, int]:
    """(pending + available, paid) moved by the transactions posted in ``[start, end)``; these
    accounts are credit-normal, so what they are owed is minus the entries' sum."""
    rows = session.execute(
        select(Account.kind, func.sum(LedgerEntry.amount))
        .select_from(LedgerTransaction)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(Account, Account.id == LedgerEntry.account_id)
        .where(
            LedgerTransaction.shop_id == shop.id,
            LedgerTransaction.posted_at >= start,
            LedgerTransaction.posted_at < end,
            Account.member_id != SHOP_OWNER,
            Account.currency == shop.currency,
            Account.kind.in_([AccountKind.PENDING, AccountKind.AVAILABLE, AccountKind.PAID]),
        )
        .group_by(Account.kind)
    )
    sums = {kind: -int(total) for kind, total in rows}
    payable = sums.get(AccountKind.PENDING, 0) + sums.get(AccountKind.AVAILABLE, 0)
    return payable, sums.get(AccountKind.PAID, 0)
