"""What the rules may know when pricing one order line for one beneficiary (``rules.LineFacts``).

``OrderFacts`` reads what is the same for every line of an order once: the paid time in the
shop's time zone (so "Double 11, 00:00–02:00" means Beijing time for a shop in Asia/Shanghai),
whether the order holds its buyer's new-buyer claim, the parent categories of its lines, its
campaign tags and the shop's ceiling. ``TierWalk`` carries the running figures while one tier of
the order is priced line by line: the beneficiary's month figures when the order was priced
(from ``Attribution``) plus the earlier lines of this order, and what the lower tiers already
earned on each line. Live pricing and the what-if replay walk the same way, so the replay sees
exactly the facts the pricing saw.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

import rules
from plugin.commissions import buyers
from plugin.orders.models import Order, OrderLine, OrderStatus
from plugin.shops import categories
from plugin.shops.models import Shop

PAID_STATES = (OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.REFUNDED)
BASIS_POINTS = 10_000


@dataclass
class TierWalk:
    """The running figures while one tier of one order is priced, line by line.

    Attributes:
        tier: 1 = the buyer's direct inviter.
        sales_before: The beneficiary's direct (tier-1) sales this month before this order.
        commission_before: The beneficiary's commission this month before this order.
        line_totals: Line external id -> commission the lower tiers earned on it (shared by the tiers).
        sales: Tier-1 sales of the earlier lines of this order.
        paid: Commission of this tier on the earlier lines of this order.
    """

    tier: int
    sales_before: int
    commission_before: int
    line_totals: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    sales: int = 0
    paid: int = 0

    def add(self, line: OrderLine, amount: int) -> None:
        """Count ``line``, priced at ``amount``, before the next line is priced."""
        if self.tier == 1:
            self.sales += line.paid_amount
        self.paid += amount
        self.line_totals[line.external_id] += amount


class OrderFacts:
    """Builds ``rules.LineFacts`` for the lines of one paid order."""

    def __init__(self, session: Session, shop: Shop, order: Order):
        self.order = order
        self.local_time = (order.paid_at or order.placed_at).astimezone(ZoneInfo(shop.timezone))
        self.buyer_is_new = buyers.is_first_order(session, order)
        self.parents = categories.ancestors(
            session, shop.id, (line.category for line in order.lines if line.category)
        )
        self.ceiling_bp = shop.commission_ceiling_bp

    def facts(
        self, line: OrderLine, walk: TierWalk, level: str, beneficiary_region: str | None
    ) -> rules.LineFacts:
        order = self.order
        return rules.LineFacts(
            tier=walk.tier,
            level=level,
            product_id=line.product_id,
            sku=line.sku,
            category=line.category,
            parent_categories=self.parents.get(line.category, ()),
            channel=order.channel,
            quantity=line.quantity,
            line_paid_amount=line.paid_amount,
            order_paid_amount=order.paid_total,
            currency=order.currency,
            order_time=self.local_time,
            buyer_is_new=self.buyer_is_new,
            campaign_tags=tuple(order.campaign_tags or ()),
            region=order.region or "",
            beneficiary_region=beneficiary_region or "",
            beneficiary_month_sales=walk.sales_before + walk.sales,
            already_paid_this_order=walk.paid,
            already_paid_this_month=walk.commission_before + walk.paid,
            already_paid_this_line=walk.line_totals[line.external_id],
            line_ceiling=line.paid_amount * self.ceiling_bp // BASIS_POINTS,
        )
