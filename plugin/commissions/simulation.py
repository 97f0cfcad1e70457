"""What-if replay: re-price a shop's historical paid orders under a draft rule set.

Every priced (order, tier) has an ``Attribution`` with the month figures it was priced with, so
the replay rebuilds each line's facts exactly as the pricing saw them (same ``TierWalk``) and
hands them to ``rules.simulate`` in the order they were priced; the draft's own differences are
carried forward there. Replaying the rules that priced the history gives back what was paid,
to the fen, caps and ladders included. Orders are read in small batches (one short read-only
transaction each), so memory stays flat however long the period; nothing is written.

What the replay cannot know: a distributor who was not earning when an order was priced
(suspended) earns nothing under any draft, so such tiers are not replayed; the category tree
and the shop's ceiling are today's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import select

import rules
from plugin.commissions.facts import OrderFacts, TierWalk
from plugin.commissions.lifecycle import commissions_of
from plugin.commissions.models import Attribution
from plugin.db import Database
from plugin.orders.models import Order
from plugin.shops.models import Shop
from plugin.shops.rulesets import check_draft
from plugin.shops.tenants import get_shop


def historical_lines(
    database: Database, shop_id: int, start: datetime, end: datetime, batch: int = 200
) -> Iterator[rules.HistoricalLine]:
    """Every priced (line, tier) of the shop's orders paid in ``[start, end)``, in pricing order."""
    last_id = 0
    while True:
        with database.read() as session:
            shop = session.get(Shop, shop_id)
            first = list(
                session.execute(
                    select(Attribution.id, Attribution.order_id)
                    .join(Order, Order.id == Attribution.order_id)
                    .where(
                        Attribution.shop_id == shop_id,
                        Attribution.id > last_id,
                        Order.paid_at >= start,
                        Order.paid_at < end,
                    )
                    .order_by(Attribution.id)
                    .limit(batch)
                )
            )
            if not first:
                return
            order_ids = list(dict.fromkeys(order_id for _, order_id in first))
            attributions = defaultdict(list)
            for row in session.scalars(
                select(Attribution).where(Attribution.order_id.in_(order_ids)).order_by(Attribution.tier)
            ):
                attributions[row.order_id].append(row)
            orders = {o.id: o for o in session.scalars(select(Order).where(Order.id.in_(order_ids)))}
            items = [
                item
                for order_id in order_ids
                for item in _order_lines(session, shop, orders[order_id], attributions[order_id])
            ]
            last_id = max(row.id for rows in attributions.values() for row in rows)
        yield from items


def _order_lines(
    session, shop: Shop, order: Order, attributions: list[Attribution]
) -> Iterator[rules.HistoricalLine]:
    actual = {(c.order_line_id, c.tier): c.amount for c in commissions_of(session, order.id)}
    facts = OrderFacts(session, shop, order)
    line_totals: dict[str, int] = defaultdict(int)
    for attribution in attributions:
        walk = TierWalk(
            attribution.tier, attribution.sales_before, attribution.commission_before, line_totals
        )
        for line in order.lines:
            amount = actual.get((line.id, attribution.tier), 0)
            yield rules.HistoricalLine(
                facts.facts(line, walk, attribution.level, attribution.region),
                amount,
                attribution.beneficiary_id,
                order.id,
                line.id,
            )
            walk.add(line, amount)


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
    with database.read() as session:
        check_draft(get_shop(session, shop_id), draft)
    lines = historical_lines(database, shop_id, start, end)
    return rules.simulate(rules.compile_ruleset(draft), lines, progress=progress, progress_every=100)
