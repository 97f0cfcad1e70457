"""Orders with their commissions."""

from __future__ import annotations

from flask_smorest import Blueprint
from sqlalchemy import select

from plugin.api import schemas
from plugin.api.auth import SECURITY, shop_session
from plugin.commissions.lifecycle import commissions_of
from plugin.errors import NotFound
from plugin.orders.models import Order

blueprint = Blueprint(
    "orders",
    __name__,
    url_prefix="/api/v1/shops/<id:shop_id>",
    description="Orders and the commissions they earned",
)


@blueprint.route("/orders/<external_id>")
@blueprint.response(200, schemas.OrderOut)
@blueprint.doc(security=SECURITY)
def get_order(shop_id, external_id):
    """An order by the platform's id, with its lines and commissions."""
    with shop_session(shop_id) as (session, shop):
        order = session.scalar(
            select(Order).where(
                Order.shop_id == shop_id, Order.platform == shop.platform, Order.external_id == external_id
            )
        )
        if order is None:
            raise NotFound(f"no order {external_id}", "external_id")
        lines = {line.id: line.external_id for line in order.lines}
        commissions = [
            {
                **{
                    c: getattr(row, c)
                    for c in (
                        "id",
                        "beneficiary_id",
                        "tier",
                        "amount",
                        "reversed",
                        "status",
                        "rule_version",
                        "settle_after",
                        "explanation",
                    )
                },
                "line": lines[row.order_line_id],
            }
            for row in commissions_of(session, order.id)
        ]
        return {
            **{
                c: getattr(order, c)
                for c in (
                    "external_id",
                    "status",
                    "currency",
                    "buyer_member_id",
                    "paid_total",
                    "refunded_total",
                    "paid_at",
                    "completed_at",
                )
            },
            "lines": order.lines,
            "commissions": commissions,
        }
