"""What-if replay: re-price a shop's historical paid orders under a draft rule set.

Reads orders in small batches (one short read transaction each) and streams the lines into
``rules.simulate``, so memory stays flat however long the period; writes nothing. Each line is
rebuilt with the facts it would be priced with (shop-local time, the buyer's binding, the
beneficiary's level and monthly figures) and compared with the commission actually accrued
for it (0 when none was).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import select

import rules

from .commissions import beneficiaries, commissions_of
from .db import Database
from .models import Distributor, Order, Shop
from .pricing_facts import PAID_STATES, LineFactsBuilder
from .rulesets import check_draft
from .shops import get_shop


def historical_lines(
    database: Database, shop_id: int, start: datetime, end: datetime, batch: int = 200
) -> Iterator[rules.HistoricalLine]:
    """Every (line, tier) of the shop's orders paid in ``[start, end)``, oldest order first."""
    last_id = 0
    while True:
        with database.transaction() as session:
            shop = session.get(Shop, shop_id)
            orders = list(
                session.scalars(
                    select(Order)
                    .where(
                        Order.shop_id == shop_id,
                        Order.status.in_(PAID_STATES),
                        Order.paid_at >= start,
                        Order.paid_at < end,
                        Order.id > last_id,
                    )
                    .order_by(Order.id)
                    .limit(batch)
                )
            )
            if not orders:
                return
            items = [item for order in orders for item in _order_lines(session, shop, order)]
            last_id = orders[-1].id
        yield from items


def _order_lines(session, shop: Shop, order: Order) -> Iterator[rules.HistoricalLine]:
    actual = {(c.order_line_id, c.tier): c.amount for c in commissions_of(session, order.id)}
    builder = LineFactsBuilder(session, shop, order)
    for tier, beneficiary_id in beneficiaries(session, shop, order):
        distributor = session.get(Distributor, beneficiary_id)
        if distributor is None:
            continue
        for line in order.lines:
            facts = builder.facts(line, tier, distributor, 0)
            yield rules.HistoricalLine(facts, actual.get((line.id, tier), 0), beneficiary_id, order.id)


def simulate_draft(
    database: Database,
    shop_id: int,
    draft: dict,
    start: datetime,
    end: datetime,
    progress: Callable[[int], None] | None = None,
) -> rules.SimulationReport:
    """Validate ``draft`` for the shop, then replay its paid orders in ``[start, end)`` under it.

    Raises:
        InvalidRuleSet: the draft breaks a guard (nothing is replayed).
    """
    with database.transaction() as session:
        check_draft(get_shop(session, shop_id), draft)
    lines = historical_lines(database, shop_id, start, end)
    return rules.simulate(rules.compile_ruleset(draft), lines, progress=progress, progress_every=100)
