"""The figures sweep: recompute the day figures of every day something touched since the last run.

It runs off the order pipeline (a periodic sweep, ``plugin.jobs.tasks.SWEEPS``), so no worker
pricing an order ever waits on a shop-day row. A day is recomputed whole from the source tables
(``figures.day_figures``), never incremented, so running the sweep again, or twice at once,
gives the same rows. Which days to recompute comes from indexed columns that record when
something happened here (not on the platform):

- attributions created since the last run: their orders' paid days (a new priced order);
- refunds recorded since: their orders' paid days (a refund after the day closed);
- ledger transactions posted since, and distributors who joined since: the days from the
  earliest of them to the latest (these times are the processing time, so: today, mostly).

Each shop is refreshed in its own transaction, holding its ``FiguresMark`` row lock
(``SKIP LOCKED``: a second sweep running at once passes the shop by). A source row written by a
transaction that began before the mark but committed after the sweep read is caught by the
next run: each run looks back ``MARGIN`` before the mark (pipeline transactions last seconds).

Staleness: a stored day is as fresh as the shop's mark (``covered_until``), at most one sweep
interval plus the sweep's own time old (30 s embedded, 60 s with RQ); the dashboard computes
today's order figures live.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from plugin.commissions.models import Attribution
from plugin.db import Database, insert_new, utcnow
from plugin.ledger.models import LedgerTransaction
from plugin.members.models import Distributor
from plugin.orders.models import Order, Refund
from plugin.reports.figures import day_figures, local_day, zone_of
from plugin.reports.models import DayFigures, FiguresMark
from plugin.shops.models import Shop

MARGIN = timedelta(minutes=5)
BATCH = 200  # day rows per upsert


def sweep(database: Database) -> int:
    """Refresh every shop's day figures. Returns how many days were recomputed."""
    with database.read() as session:
        shop_ids = list(session.scalars(select(Shop.id).order_by(Shop.id)))
    return sum(refresh_shop(database, shop_id) or 0 for shop_id in shop_ids)


def refresh_shop(database: Database, shop_id: int) -> int | None:
    """Recompute the shop's touched days in one transaction. Returns how many, or None if
    another sweep is refreshing the shop right now (it will cover the same changes)."""
    with database.transaction() as session:
        shop = session.get(Shop, shop_id)
        mark = _lock_mark(session, shop)
        if mark is None:
            return None
        started = utcnow()
        since = mark.covered_until
        if since is None or mark.timezone != shop.timezone:
            session.execute(delete(DayFigures).where(DayFigures.shop_id == shop_id))
            days = every_day(session, shop)
        else:
            days = touched_days(session, shop, since - MARGIN)
        store(session, shop, sorted(days), started)
        mark.covered_until, mark.timezone, mark.swept_at = started, shop.timezone, utcnow()
        return len(days)


def _lock_mark(session: Session, shop: Shop) -> FiguresMark | None:
    session.execute(
        insert_new(session, FiguresMark)
        .values(shop_id=shop.id, timezone=shop.timezone)
        .on_conflict_do_nothing()
    )
    return session.scalar(
        select(FiguresMark)
        .where(FiguresMark.shop_id == shop.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )


def touched_days(session: Session, shop: Shop, since: datetime) -> set[date]:
    """The shop-local days whose figures a row recorded at or after ``since`` may have changed."""
    zone = zone_of(shop)
    priced = (
        select(Order.paid_at)
        .join(Attribution, Attribution.order_id == Order.id)
        .where(Attribution.shop_id == shop.id, Attribution.created_at >= since, Order.paid_at.is_not(None))
        .distinct()
    )
    refunded = (
        select(Order.paid_at)
        .join(Refund, Refund.order_id == Order.id)
        .where(Refund.shop_id == shop.id, Refund.created_at >= since, Order.paid_at.is_not(None))
        .distinct()
    )
    days = {local_day(zone, paid_at) for query in (priced, refunded) for paid_at in session.scalars(query)}
    for column, shop_column in (
        (LedgerTransaction.posted_at, LedgerTransaction.shop_id),
        (Distributor.created_at, Distributor.shop_id),
    ):
        first, last = session.execute(
            select(func.min(column), func.max(column)).where(shop_column == shop.id, column >= since)
        ).one()
        days |= _span(zone, first, last)
    return days


def every_day(session: Session, shop: Shop) -> set[date]:
    """Every shop-local day from the first to the last order paid, ledger posting and joining."""
    zone, days = zone_of(shop), set()
    for column, condition in (
        (Order.paid_at, Order.shop_id == shop.id),
        (LedgerTransaction.posted_at, LedgerTransaction.shop_id == shop.id),
        (Distributor.created_at, Distributor.shop_id == shop.id),
    ):
        first, last = session.execute(select(func.min(column), func.max(column)).where(condition)).one()
        days |= _span(zone, first, last)
    return days


def _span(zone, first: datetime | None, last: datetime | None) -> set[date]:
    if first is None:
        return set()
    start, end = local_day(zone, first), local_day(zone, last)
    return {start + timedelta(days=n) for n in range((end - start).days + 1)}


def store(session: Session, shop: Shop, days: list[date], computed_at: datetime) -> None:
    """Compute ``days`` and write them over what was stored (one upsert per ``BATCH`` days)."""
    for offset in range(0, len(days), BATCH):
        rows = [
            day_figures(session, shop, day).row(shop.id, computed_at) for day in days[offset : offset + BATCH]
        ]
        statement = insert_new(session, DayFigures).values(rows)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["shop_id", "day"],
                set_={name: statement.excluded[name] for name in rows[0] if name not in ("shop_id", "day")},
            )
        )
