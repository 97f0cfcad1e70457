"""The settlement sweep: pending commissions whose after-sales window has passed become
available. Reads the database as the source of truth, so running it twice at once, or after a
lost job, settles each commission exactly once (row lock + status check + ledger key)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from plugin.audit import trail
from plugin.commissions import lifecycle
from plugin.commissions.models import Commission, CommissionStatus
from plugin.db import Database
from plugin.ledger import journal
from plugin.ledger.models import AccountKind
from plugin.orders.models import Order
from plugin.shops.models import Shop


def settle_after(shop: Shop, order: Order) -> datetime | None:
    """When the after-sales window of a completed order closes."""
    if order.completed_at is None:
        return None
    return order.completed_at + timedelta(days=shop.after_sales_days)


def settle(session: Session, shop: Shop, commission: Commission) -> int:
    """Move a due pending commission to available, repaying arrears first. Returns the amount."""
    lifecycle.move(commission, CommissionStatus.AVAILABLE)
    remaining = commission.remaining
    member, currency = commission.beneficiary_id, commission.currency
    pending = journal.account(session, shop.id, member, AccountKind.PENDING, currency)
    available = journal.account(session, shop.id, member, AccountKind.AVAILABLE, currency, lock=True)
    arrears = journal.account(session, shop.id, member, AccountKind.ARREARS, currency)
    repay = min(max(journal.balance(session, arrears), 0), remaining)
    journal.post(
        session,
        shop.id,
        f"settle:{commission.id}",
        "settle",
        [
            journal.debit(pending, remaining),
            journal.credit(arrears, repay),
            journal.credit(available, remaining - repay),
        ],
        memo="after-sales window passed",
    )
    trail.record(
        session,
        shop.id,
        "commission.settled",
        "commission",
        commission.id,
        amount=remaining,
        arrears_repaid=repay,
    )
    return remaining


def _due(now: datetime, shop_id: int | None = None):
    # settle_after is set only once an order completes, so only completed orders are ever due
    query = select(Commission.id).where(
        Commission.status == CommissionStatus.PENDING, Commission.settle_after <= now
    )
    if shop_id is not None:
        query = query.where(Commission.shop_id == shop_id)
    return query


def count_due(database: Database, now: datetime, *, shop_id: int | None = None) -> int:
    """How many commissions are due at ``now`` (of one shop, or of every shop)."""
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(_due(now, shop_id).subquery()))


def settle_one(database: Database, commission_id: int) -> bool:
    """Settle one due commission in its own short transaction; False if it no longer is pending
    (another sweep settled it since this one read the ids, or a refund cancelled it)."""
    with database.transaction() as session:
        commission = session.scalar(
            select(Commission).where(Commission.id == commission_id).with_for_update()
        )
        if commission.status != CommissionStatus.PENDING:  # fully reversed ones are cancelled
            return False
        settle(session, session.get(Shop, commission.shop_id), commission)
        return True


def settle_due(
    database: Database,
    now: datetime,
    *,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
    shop_id: int | None = None,
) -> int:
    """Settle every commission due at ``now``, one short transaction per commission.

    Args:
        shop_id: Settle only this shop's commissions (the workbench's "run settlement now");
            None, the sweep's default, settles every shop's.

    Returns:
        How many commissions this call settled.
    """
    settled, last_id = 0, 0
    while True:
        with database.transaction() as session:
            ids = list(
                session.scalars(
                    _due(now, shop_id).where(Commission.id > last_id).order_by(Commission.id).limit(batch)
                )
            )
        if not ids:
            return settled
        for commission_id in ids:
            settled += settle_one(database, commission_id)
            if progress:
                progress(1)
        last_id = ids[-1]
