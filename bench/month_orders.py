"""The month's orders for the month-end benchmark: completed orders with one line each and a
settled tier-1 commission, posted to the ledger as the core posts them (``accrue`` then
``settle``: 4 entries each), so that ``fenxiao reconcile`` checks a month of a realistic size —
its ledger pass over every entry, and its ceiling check over every completed order.

Written with bulk ``INSERT … RETURNING`` and ``journal.post`` (whose appends are one ``INSERT``
per table per transaction), not through the webhook path: the benchmark measures paying out and
reconciling, and ``bench/ingest.py`` already measures the way in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert

from plugin.commissions.models import Commission, CommissionStatus
from plugin.db import Database, utcnow
from plugin.ledger import journal
from plugin.ledger.models import AccountKind
from plugin.members.models import Member
from plugin.orders.models import Order, OrderLine, OrderStatus

PAID = 10_000  # ¥100.00 an order
COMMISSION = 1_000  # 10 %: well under the default 50 % ceiling
BENEFICIARIES = 1_000
ENTRIES_PER_ORDER = 4


def _one_each(session, model, rows: list[dict]) -> list[int]:
    return list(session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows))


def seed_orders(database: Database, shop_id: int, count: int, batch: int, at: datetime | None = None) -> None:
    """``count`` completed orders of ``shop_id`` (CNY), their commissions paid to
    ``BENEFICIARIES`` members in turn, in transactions of ``batch`` orders."""
    at = at or utcnow()
    with database.transaction() as session:
        members = _one_each(session, Member, [{"shop_id": shop_id} for _ in range(BENEFICIARIES)])
    for start in range(0, count, batch):
        numbers = range(start, min(start + batch, count))
        with database.transaction() as session:
            orders = _one_each(
                session,
                Order,
                [
                    dict(
                        shop_id=shop_id,
                        platform="generic",
                        external_id=f"bench-{n}",
                        status=OrderStatus.COMPLETED,
                        currency="CNY",
                        paid_total=PAID,
                        paid_at=at,
                        completed_at=at,
                    )
                    for n in numbers
                ],
            )
            lines = _one_each(
                session,
                OrderLine,
                [
                    dict(
                        shop_id=shop_id,
                        order_id=order,
                        external_id="1",
                        product_id="bench-product",
                        quantity=1,
                        unit_price=PAID,
                        discount=0,
                        paid_amount=PAID,
                    )
                    for order in orders
                ],
            )
            earners = [members[n % BENEFICIARIES] for n in numbers]
            commissions = _one_each(
                session,
                Commission,
                [
                    dict(
                        shop_id=shop_id,
                        order_id=order,
                        order_line_id=line,
                        beneficiary_id=earner,
                        tier=1,
                        currency="CNY",
                        amount=COMMISSION,
                        status=CommissionStatus.AVAILABLE,
                        rule_version=1,
                        settle_after=at,
                    )
                    for order, line, earner in zip(orders, lines, earners, strict=True)
                ],
            )
            for kind in (AccountKind.PENDING, AccountKind.AVAILABLE):
                journal.open_accounts(session, shop_id, set(earners), kind, "CNY")
            expense = journal.shop_account(session, shop_id, AccountKind.COMMISSION_EXPENSE, "CNY")
            for commission, earner in zip(commissions, earners, strict=True):
                pending = journal.account(session, shop_id, earner, AccountKind.PENDING, "CNY")
                available = journal.account(session, shop_id, earner, AccountKind.AVAILABLE, "CNY")
                for step, legs in (
                    ("accrue", [journal.debit(expense, COMMISSION), journal.credit(pending, COMMISSION)]),
                    ("settle", [journal.debit(pending, COMMISSION), journal.credit(available, COMMISSION)]),
                ):
                    key = f"commission:{commission}:{step}"
                    journal.post(session, shop_id, key, step, legs, new_key=True)
        print(f"  seeded {numbers[-1] + 1:,} of {count:,} orders", flush=True)
