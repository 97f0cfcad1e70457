"""Monthly tallies: what each beneficiary was attributed in a shop-local calendar month.

Monthly caps and ladders read them, so they must be exact under concurrency: pricing locks the
tally row of every beneficiary of an order for the order's month (in member-id order, so two
orders never wait on each other in a circle) and holds it until the order's transaction commits.
A second worker pricing for the same beneficiary and month waits, then sees the first one's
figures. Figures are net of refunds: a refund lowers the month of the order it refunds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from plugin import db
from plugin.commissions.models import Attribution, MonthTally
from plugin.db import insert_new
from plugin.orders.models import Order
from plugin.shops.models import Shop


def month_of(shop: Shop, moment: datetime) -> str:
    """The shop-local calendar month (``YYYY-MM``) of ``moment``."""
    return moment.astimezone(ZoneInfo(shop.timezone)).strftime("%Y-%m")


def lock(session: Session, shop_id: int, member_ids: Iterable[int], month: str) -> dict[int, MonthTally]:
    """The tallies of ``member_ids`` for ``month``, created at zero if new, each locked ``FOR UPDATE``."""
    locked = db.memo(session, "tallies")
    members = sorted(set(member_ids))
    lock_many(session, shop_id, [(m, month) for m in members])
    return {m: locked[(shop_id, m, month)] for m in members}


def lock_many(session: Session, shop_id: int, pairs: Iterable[tuple[int, str]]) -> None:
    """Create and lock the tallies of many ``(member_id, month)`` pairs at once, in that order
    (member, then month), unless this transaction holds them already: an ``INSERT … ON CONFLICT
    DO NOTHING`` and one ``SELECT … FOR UPDATE``. The locked rows are remembered until commit."""
    locked = db.memo(session, "tallies")
    wanted = sorted({p for p in pairs if (shop_id, *p) not in locked})
    if not wanted:
        return
    session.execute(
        insert_new(session, MonthTally)
        .values(
            [
                {"shop_id": shop_id, "member_id": m, "month": month, "sales": 0, "commission": 0}
                for m, month in wanted
            ]
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "member_id", "month"])
    )
    rows = session.scalars(
        select(MonthTally)
        .where(MonthTally.shop_id == shop_id, tuple_(MonthTally.member_id, MonthTally.month).in_(wanted))
        .order_by(MonthTally.member_id, MonthTally.month)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for row in rows:
        locked[(shop_id, row.member_id, row.month)] = row


def take_back(
    session: Session, order: Order, refunded: Mapping[str, int], reversed_by_member: Mapping[int, int]
) -> None:
    """Lower the order's month by what a refund took back.

    Args:
        order: The refunded order (priced: it has attributions).
        refunded: Order line (external id) -> merchandise newly refunded on it (lowers the tier-1 sales).
        reversed_by_member: Beneficiary -> commission newly reversed (lowers their commission).
    """
    attributions = session.scalars(select(Attribution).where(Attribution.order_id == order.id)).all()
    if not attributions:
        return
    direct = next((a.beneficiary_id for a in attributions if a.tier == 1), None)
    sales = sum(refunded.values())
    changed = {m for m, amount in reversed_by_member.items() if amount} | (
        {direct} if direct and sales else set()
    )
    if not changed:
        return
    tallies = lock(session, order.shop_id, changed, attributions[0].month)
    for member_id, tally in tallies.items():
        tally.commission -= reversed_by_member.get(member_id, 0)
        if member_id == direct:
            tally.sales -= sales
