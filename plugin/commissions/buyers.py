"""Which paid order is a buyer's first in a shop: the one that counts as ``buyer_is_new``.

The first order to reach *paid* in fenxiao claims it, once and for good: a unique row per shop
and buyer. When orders arrive out of order, the one processed first wins, whatever the paid
times say: a later-processed order with an earlier paid time does not take the claim back, so a
commission once priced as "new buyer" is never re-priced. Two orders of the same buyer processed
at the same moment cannot both claim it (the second insert waits on the first and then finds it).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from plugin import db
from plugin.commissions.models import NewBuyerClaim
from plugin.db import insert_new_returning, utcnow
from plugin.orders.models import Order

CLAIM_KEY = ("shop_id", "buyer_member_id")  # one claim per buyer


def claim_first_order(session: Session, order: Order) -> bool:
    """Record ``order`` as its buyer's first paid order unless another has been. Returns whether it is."""
    if order.buyer_member_id is None:
        return False
    claims = db.memo(session, "claims")
    key = (order.shop_id, order.buyer_member_id)
    if key not in claims:
        won = session.connection().scalar(
            insert_new_returning(
                session.get_bind().dialect.name, NewBuyerClaim.__table__.c.order_id, CLAIM_KEY
            ),
            {
                "shop_id": order.shop_id,
                "buyer_member_id": order.buyer_member_id,
                "order_id": order.id,
                "claimed_at": utcnow(),
            },
        )  # Core, no autoflush: the order and its buyer exist already
        if won is not None:
            claims[key] = won
    return is_first_order(session, order)


def load_claims(session: Session, shop_id: int, buyer_ids) -> None:
    """Remember the claims of ``buyer_ids`` (one ``SELECT … IN``) for this transaction."""
    buyers = sorted(set(buyer_ids))
    if not buyers:
        return
    claims = db.memo(session, "claims")
    for buyer, order_id in session.execute(
        select(NewBuyerClaim.buyer_member_id, NewBuyerClaim.order_id).where(
            NewBuyerClaim.shop_id == shop_id, NewBuyerClaim.buyer_member_id.in_(buyers)
        )
    ):
        claims[(shop_id, buyer)] = order_id


def is_first_order(session: Session, order: Order) -> bool:
    """Whether ``order`` holds its buyer's new-buyer claim."""
    claims = db.memo(session, "claims")
    key = (order.shop_id, order.buyer_member_id)
    if key not in claims:
        claimed = session.scalar(
            select(NewBuyerClaim.order_id).where(
                NewBuyerClaim.shop_id == order.shop_id, NewBuyerClaim.buyer_member_id == order.buyer_member_id
            )
        )
        if claimed is None:
            return False
        claims[key] = claimed
    return claims[key] == order.id
