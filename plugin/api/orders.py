"""Orders with their commissions."""

from __future__ import annotations

from flask_smorest import Blueprint

from plugin.api import schemas
from plugin.api.auth import SECURITY, shop_session
from plugin.orders import lifecycle

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
        return lifecycle.by_external_id(session, shop, external_id)
