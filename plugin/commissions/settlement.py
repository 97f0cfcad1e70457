"""The settlement sweep: pending commissions whose after-sales window has passed become
available. Reads the database as the source of truth, so running it twice at once, or after a
lost job, settles each commission exactly once (row lock + status check + ledger key)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from plugin.commissions import accrual
from plugin.commissions.models import Commission, CommissionStatus
from plugin.db import Database
from plugin.shops.models import Shop


def _due(now: datetime):
    # settle_after is set only once an order completes, so only completed orders are ever due
    return select(Commission.id).where(
        Commission.status == CommissionStatus.PENDING, Commission.settle_after <= now
    )


def count_due(database: Database, now: datetime) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(_due(now).subquery()))


def settle_one(database: Database, commission_id: int) -> bool:
    """Settle one due commission in its own short transaction; False if it no longer is pending
    (another sweep settled it since this one read the ids, or a refund cancelled it)."""
    with database.transaction() as session:
        commission = session.scalar(
            select(Commission).where(Commission.id == commission_id).with_for_update()
        )
        if commission.status != CommissionStatus.PENDING or commission.remaining <= 0:
            return False
        accrual.settle(session, session.get(Shop, commission.shop_id), commission)
        return True


def settle_due(
    database: Database, now: datetime, *, batch: int = 500, progress: Callable[[int], None] | None = None
) -> int:
    """Settle every commission due at ``now``, one short transaction per commission.

    Returns:
        How many commissions this call settled.
    """
    settled, last_id = 0, 0
    while True:
        with database.transaction() as session:
            ids = list(
                session.scalars(_due(now).where(Commission.id > last_id).order_by(Commission.id).limit(batch))
            )
        if not ids:
            return settled
        for commission_id in ids:
            settled += settle_one(database, commission_id)
            if progress:
                progress(1)
        last_id = ids[-1]
