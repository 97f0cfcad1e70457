"""What the rules may know when pricing one order line for one beneficiary (``rules.LineFacts``).

Times are read in the shop's time zone, so "Double 11, 00:00–02:00" means Beijing time for a
shop in Asia/Shanghai. Monthly figures (the beneficiary's sales and commissions this shop-local
month, before this order) feed ladders and monthly caps; they are computed once per
beneficiary per order.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

import rules

from .models import Commission, Distributor, Order, OrderLine, OrderStatus, Shop

PAID_STATES = (OrderStatus.PAID, OrderStatus.COMPLETED, OrderStatus.REFUNDED)


class LineFactsBuilder:
    """Builds ``rules.LineFacts`` for the lines of one paid order."""

    def __init__(self, session: Session, shop: Shop, order: Order):
        self.session, self.shop, self.order = session, shop, order
        self.local_time = (order.paid_at or order.placed_at).astimezone(ZoneInfo(shop.timezone))
        self.buyer_is_new = not session.scalar(
            select(
                exists().where(
                    Order.shop_id == shop.id,
                    Order.buyer_member_id == order.buyer_member_id,
                    Order.id != order.id,
                    Order.status.in_(PAID_STATES),
                    Order.paid_at < (order.paid_at or order.placed_at),
                )
            )
        )
        self._months: dict[int, tuple[int, int]] = {}

    def _month_start(self) -> datetime:
        return self.local_time.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def month_figures(self, beneficiary_id: int) -> tuple[int, int]:
        """(tier-1 sales, commissions earned net of reversals) this month, before this order."""
        if beneficiary_id not in self._months:
            this_month = (
                select(Commission)
                .join(Order, Order.id == Commission.order_id)
                .where(
                    Commission.shop_id == self.shop.id,
                    Commission.beneficiary_id == beneficiary_id,
                    Order.id != self.order.id,
                    Order.paid_at >= self._month_start(),
                )
                .subquery()
            )
            earned = self.session.scalar(
                select(func.coalesce(func.sum(this_month.c.amount - this_month.c.reversed), 0))
            )
            sales = self.session.scalar(
                select(func.coalesce(func.sum(OrderLine.paid_amount - OrderLine.refunded_amount), 0))
                .join(this_month, this_month.c.order_line_id == OrderLine.id)
                .where(this_month.c.tier == 1)
            )
            self._months[beneficiary_id] = (int(sales), int(earned))
        return self._months[beneficiary_id]

    def facts(
        self, line: OrderLine, tier: int, distributor: Distributor, paid_this_order: int
    ) -> rules.LineFacts:
        sales, earned = self.month_figures(distributor.member_id)
        order = self.order
        return rules.LineFacts(
            tier=tier,
            level=distributor.level,
            product_id=line.product_id,
            sku=line.sku,
            category=line.category,
            channel=order.channel,
            quantity=line.quantity,
            line_paid_amount=line.paid_amount,
            order_paid_amount=order.paid_total,
            currency=order.currency,
            order_time=self.local_time,
            buyer_is_new=self.buyer_is_new,
            region=order.region or "",
            beneficiary_month_sales=sales,
            already_paid_this_order=paid_this_order,
            already_paid_this_month=earned,
        )
