"""The month-end reconciliation of one shop (``fenxiao reconcile``): three checks, each OK or a list
of discrepancies, computed with set-based SQL (``GROUP BY``/``HAVING``) in one read snapshot.

1. **ledger**: the ledger's integrity up to the month's end and the stored day figures against
   it (``plugin.reports.ledger_checks``).
2. **payouts**: the month's payouts against the ledger and the gateways' statements
   (``plugin.reports.payout_checks``).
3. **ceiling**: the commission of the orders completed in the month against the shop's ceiling
   (below).

A month is ``YYYY-MM`` cut in the shop's time zone (``shop.timezone``), as the dashboard and the
tax report cut it. Every check reads one snapshot (PostgreSQL: a ``REPEATABLE READ`` read-only
transaction; SQLite: its read transaction), so postings committed while it runs cannot make a
payout and its ledger transaction disagree.

The commission ceiling: the commission still owed on the orders completed in the month
(``Order.completed_at`` in the month; per commission ``amount - reversed``, every status but
``cancelled``) must not exceed ``commission_ceiling_bp / 10000`` of what those orders were paid
net of refunds (``paid_total - refunded_total``). "Those orders" are the orders completed in the
month that carry a commission not cancelled: an order no distributor brought in pays nothing
and would only dilute the share. The comparison is exact in integers (``commission × 10000 >
bp × paid``). A breach is one discrepancy listing the ten orders furthest above their own
ceiling (``commission - bp × paid / 10000``, largest first). No index serves
``orders.completed_at``: the orders are read by shop and filtered by that column, which is fine
for a month's orders; a shop with many millions of orders would want an index on
``orders (shop_id, completed_at)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.commissions.models import Commission, CommissionStatus
from plugin.db import Database
from plugin.orders.models import Order
from plugin.reports import ledger_checks, payout_checks
from plugin.reports.figures import day_start, zone_of
from plugin.reports.findings import Check, Discrepancy, amount, money, percent
from plugin.reports.month import month_days
from plugin.shops import tenants
from plugin.shops.models import Shop

WORST = 10


@dataclass(frozen=True)
class Report:
    shop_id: int
    shop_name: str
    month: str
    currency: str
    timezone: str
    start: datetime  # the month's bounds in UTC: [start, end)
    end: datetime
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def discrepancies(self) -> int:
        return sum(len(check.discrepancies) for check in self.checks)

    def as_dict(self) -> dict:
        return {
            "shop_id": self.shop_id,
            "month": self.month,
            "currency": self.currency,
            "timezone": self.timezone,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "ok": self.ok,
            "discrepancies": self.discrepancies,
            "checks": [check.as_dict() for check in self.checks],
        }


@contextmanager
def snapshot(database: Database) -> Iterator[Session]:
    """A read-only session on one consistent snapshot of the database."""
    with database.read() as session:
        if database.dialect == "postgresql":
            session.connection(
                execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
            )
        yield session


def reconcile(
    database: Database,
    shop_id: int,
    month: str,
    statements: list[payout_checks.StatementLine] | None = None,
) -> Report:
    """Reconcile ``shop_id``'s ``month`` in one snapshot. ``statements``: the lines of the
    gateways' statements, or None when none were given (check 2 then compares payouts and ledger
    only).

    Raises:
        ValueError: ``month`` is not YYYY-MM.
        NotFound: no such shop.
    """
    with snapshot(database) as session:
        return reconcile_in(session, tenants.get_shop(session, shop_id), month, statements)


def reconcile_in(
    session: Session, shop: Shop, month: str, statements: list[payout_checks.StatementLine] | None
) -> Report:
    """``reconcile`` in the caller's session."""
    first, last = month_days(month)
    zone = zone_of(shop)
    start, end = day_start(zone, first), day_start(zone, last + timedelta(days=1))
    checks = (
        ledger_checks.ledger_check(session, shop, first, last),
        payout_checks.payouts_check(session, shop, start, end, statements),
        ceiling_check(session, shop, start, end),
    )
    return Report(shop.id, shop.name, month, shop.currency, shop.timezone, start, end, checks)


def ceiling_check(session: Session, shop: Shop, start: datetime, end: datetime) -> Check:
    """Check 3 over the orders completed in ``[start, end)``: see the module docstring."""
    per_order = (
        select(
            Order.id.label("order_id"),
            Order.external_id.label("external_id"),
            (Order.paid_total - Order.refunded_total).label("paid"),
            func.sum(Commission.amount - Commission.reversed).label("commission"),
        )
        .join(Commission, Commission.order_id == Order.id)
        .where(
            Order.shop_id == shop.id,
            Order.completed_at >= start,
            Order.completed_at < end,
            Commission.status != CommissionStatus.CANCELLED,
        )
        .group_by(Order.id, Order.external_id, Order.paid_total, Order.refunded_total)
        .subquery()
    )
    orders, commission, paid = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(per_order.c.commission), 0),
            func.coalesce(func.sum(per_order.c.paid), 0),
        )
    ).one()
    commission, paid, bp, currency = int(commission), int(paid), shop.commission_ceiling_bp, shop.currency
    ceiling = f"{percent(bp, 10_000)}"
    detail = (
        f"{orders} orders completed: commission {money(commission, currency)} on {money(paid, currency)}"
        f" paid, share {percent(commission, paid)}, ceiling {ceiling}"
    )
    if commission * 10_000 <= bp * paid:
        return Check("ceiling", "Commission ceiling", detail)
    excess = per_order.c.commission * 10_000 - bp * per_order.c.paid
    worst = session.execute(
        select(per_order.c.order_id, per_order.c.external_id, per_order.c.paid, per_order.c.commission)
        .where(excess > 0)
        .order_by(excess.desc(), per_order.c.order_id)
        .limit(WORST)
    ).all()
    listed = [
        {
            "order_id": order_id,
            "external_id": external_id,
            "paid": amount(order_paid, currency),
            "commission": amount(order_commission, currency),
            "share": percent(int(order_commission), int(order_paid)),
        }
        for order_id, external_id, order_paid, order_commission in worst
    ]
    breach = Discrepancy(
        "ceiling_exceeded",
        f"commission {money(commission, currency)} is {percent(commission, paid)} of"
        f" {money(paid, currency)} paid, above the ceiling of {ceiling}",
        {
            "commission": amount(commission, currency),
            "paid": amount(paid, currency),
            "share": percent(commission, paid),
            "ceiling": ceiling,
            "worst_orders": listed,
        },
        tuple(
            f"order {o['external_id']} (id {o['order_id']}): commission {o['commission']} on {o['paid']}"
            f" paid, {o['share']}"
            for o in listed
        ),
    )
    return Check("ceiling", "Commission ceiling", detail, (breach,))
