"""Orders: apply the platforms' snapshots and refunds through one explicit state machine.

Webhooks arrive late, twice, or out of order, so every handler here is a reconciliation:
it locks the order row (created on first sight, even from a refund), moves the status
forward along ``TRANSITIONS`` only, and derives refunded amounts from all stored refunds.
Applying the same snapshot or refund again changes nothing.

Decisions: a snapshot whose status is behind the stored one is ignored for status; lines
are taken from snapshots only until the order is paid (commissions are priced on them);
a cancellation of a paid order moves nothing by itself, its refunds carry the money.

Status-only messages (``StatusUpdate``: Youzan's trade success and close carry no lines) move an
order the platform already described. One that overtakes the order's paid snapshot is kept: a
"completed" is remembered in ``completed_at`` of the unpaid order and reached as soon as the
paid snapshot arrives; a "cancelled" closes the unpaid order, and a paid snapshot arriving after
it reopens it (``closed → paid``: the platform proves the payment, and a paid order's
cancellation is carried by its refunds). So any arrival order ends in the same ledger.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from adapters import schema
from adapters.money import split_largest_remainder
from plugin import db
from plugin.audit import trail
from plugin.commissions import accrual, buyers, reversal, settlement, tallies
from plugin.commissions.lifecycle import commissions_of
from plugin.commissions.models import Commission
from plugin.db import insert_new
from plugin.errors import BindingRefused, NotFound
from plugin.members.bindings import bind, binding_of
from plugin.members.directory import give_name, member_for_identity
from plugin.orders.models import Order, OrderLine, OrderStatus, Refund, RefundLine
from plugin.shops.credentials import Credentials
from plugin.shops.models import Shop
from plugin.states import StateMachine

S = OrderStatus
TRANSITIONS: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    S.CREATED: (S.PAID, S.CLOSED),
    S.PAID: (S.COMPLETED, S.REFUNDED),
    S.COMPLETED: (S.REFUNDED,),
    S.REFUNDED: (),
    S.CLOSED: (S.PAID,),  # a paid snapshot that arrives after a status-only close
}
UNPRICED = (S.CREATED, S.CLOSED)  # the lines still follow the snapshots
SNAPSHOT_STATUS = {"created": S.CREATED, "paid": S.PAID, "completed": S.COMPLETED, "cancelled": S.CLOSED}
EARNING = (S.PAID, S.COMPLETED)
MACHINE = StateMachine("order", TRANSITIONS)


def ignore_reason(shop: Shop | Credentials, document: schema.Order | schema.Refund | None) -> str | None:
    """Why a normalized delivery must never touch this shop's orders or ledger (None: apply it).

    An order or refund in another currency than the shop's would be priced into accounts no
    balance shows (balances, caps and fixed amounts are in the shop's currency); a platform's
    test order is not a sale. Both are recorded as ignored, with this reason, never priced.
    """
    if document is None:
        return None
    if document.currency != shop.currency:
        kind = "order" if isinstance(document, schema.Order) else "refund"
        return f"{kind} currency {document.currency} is not the shop's currency {shop.currency}"
    if isinstance(document, schema.Order) and document.test:
        return "test order: the platform marked it as a test, it earns nothing"
    return None


def snapshot_target(snapshot: schema.Order, order: Order | None = None) -> OrderStatus:
    """The status a snapshot asks the order to reach.

    A paid snapshot of an order a status-only message already reported completed
    (``completed_at`` set while unpriced) goes on to completed.

    A cancelled order that was paid (it carries ``paid_at``) is, for the money, a paid order:
    its refunds take the commission back. So an early ``cancelled`` snapshot of a paid order
    moves it to paid (and prices it), exactly as ``orders/paid`` then ``orders/cancelled`` would;
    only a cancellation of an order never paid closes it.
    """
    target = SNAPSHOT_STATUS[snapshot.status]
    if snapshot.status == "cancelled" and snapshot.paid_at is not None:
        target = S.PAID
    if target == S.PAID and order is not None and order.status in UNPRICED and order.completed_at:
        target = S.COMPLETED
    return target


def lock_order(session: Session, shop_id: int, platform: str, external_id: str, currency: str) -> Order:
    """The order row, inserted if new, locked ``FOR UPDATE`` for the rest of the transaction."""
    locked = db.memo(session, "orders")
    key = (shop_id, platform, external_id)
    if key not in locked:
        lock_orders(session, shop_id, platform, {external_id: currency})
    return locked[key]


def lock_orders(session: Session, shop_id: int, platform: str, currencies: Mapping[str, str]) -> None:
    """Insert the orders not seen yet and lock them all ``FOR UPDATE``, in id order (so two
    batches never wait on each other in a circle): one ``INSERT`` and one ``SELECT`` for a batch.

    ``currencies`` maps each external id to the currency its first delivery names. The locked
    rows are remembered for the transaction (``lock_order`` returns them); the ones this call
    inserted are remembered as new, so their lines and refunds need no lookup.
    """
    external_ids = sorted(currencies)
    inserted = session.scalars(
        insert_new(session, Order)
        .values(
            [
                {"shop_id": shop_id, "platform": platform, "external_id": e, "currency": currencies[e]}
                for e in external_ids
            ]
        )
        .on_conflict_do_nothing()  # the column defaults give a new order's status and totals
        .returning(Order.id)
    ).all()
    new = db.memo(session, "orders_without_refunds")  # inserted just now: nothing refunded yet
    new.update(dict.fromkeys(inserted))
    rows = session.scalars(
        select(Order)
        .where(Order.shop_id == shop_id, Order.platform == platform, Order.external_id.in_(external_ids))
        .order_by(Order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
        .options(lazyload(Order.lines))  # set below: one query for all
    ).all()
    lines: dict[int, list[OrderLine]] = {order.id: [] for order in rows}
    known = [order.id for order in rows if order.id not in new]
    if known:
        for line in session.scalars(
            select(OrderLine).where(OrderLine.order_id.in_(known)).order_by(OrderLine.id)
        ):
            lines[line.order_id].append(line)
    locked = db.memo(session, "orders")
    for order in rows:
        set_committed_value(order, "lines", lines[order.id])
        locked[(shop_id, platform, order.external_id)] = order


def by_external_id(session: Session, shop: Shop, external_id: str) -> Order:
    """The shop's order by the platform's id, its lines and commissions loaded (``NotFound``)."""
    order = session.scalar(
        select(Order)
        .where(Order.shop_id == shop.id, Order.platform == shop.platform, Order.external_id == external_id)
        .options(selectinload(Order.commissions).joinedload(Commission.line))
    )
    if order is None:
        raise NotFound(f"no order {external_id}", "external_id")
    return order


def _sync_lines(session: Session, order: Order, lines: tuple[schema.OrderLine, ...]) -> None:
    """Make the order's lines those of the snapshot (new rows are written with the next flush)."""
    current = {line.external_id: line for line in order.lines}
    wanted = {line.external_id for line in lines}
    for external_id, row in current.items():
        if external_id not in wanted:
            order.lines.remove(row)
            session.delete(row)
    for line in lines:
        row = current.get(line.external_id)
        if row is None:
            row = OrderLine(shop_id=order.shop_id, external_id=line.external_id, refunded_amount=0)
            order.lines.append(row)
        for field in ("product_id", "sku", "category", "quantity", "unit_price", "discount", "paid_amount"):
            setattr(row, field, getattr(line, field))
    order.lines.sort(key=lambda row: row.id or 2**63)  # as loaded: by id, the new ones after
    order.paid_total = sum(line.paid_amount for line in order.lines)


def _bind_by_ref(session: Session, order: Order) -> None:
    """Bind a still-unbound buyer under the order's ref code."""
    if not order.ref_code or binding_of(session, order.buyer_member_id):
        return  # a returning buyer: one lookup instead of bind's member and binding queries
    try:
        bind(
            session,
            order.shop_id,
            order.buyer_member_id,
            order.ref_code,
            source="order_ref",
            source_ref=order.external_id,
        )
    except BindingRefused as refused:
        trail.record(
            session,
            order.shop_id,
            "binding.refused",
            "member",
            order.buyer_member_id,
            order=order.external_id,
            reason=refused.message,
        )


def apply_snapshot(session: Session, shop: Shop, snapshot: schema.Order) -> Order:
    """Bring the stored order up to what the platform's snapshot says."""
    order = lock_order(session, shop.id, snapshot.platform, snapshot.external_id, snapshot.currency)
    if order.status in UNPRICED:
        order.currency, order.channel, order.ref_code = snapshot.currency, snapshot.channel, snapshot.ref_code
        order.placed_at, order.region = snapshot.placed_at, snapshot.region
        order.campaign_tags = list(snapshot.campaign_tags)
        buyer = snapshot.buyer
        order.buyer_ip, order.buyer_device = buyer.ip, buyer.device
        order.buyer_phone_hash, order.buyer_email_hash = buyer.phone_hash, buyer.email_hash
        member = member_for_identity(session, shop.id, snapshot.platform, buyer.external_id, name=buyer.name)
        give_name(member, buyer.name)  # the member is at hand: no query, an UPDATE only if it changed
        order.buyer_member_id = member.id
        _sync_lines(session, order, snapshot.lines)
        _bind_by_ref(session, order)
    for step in MACHINE.path(OrderStatus(order.status), snapshot_target(snapshot, order)):
        _enter(session, shop, order, step, snapshot)
    if order.source_updated_at is None or snapshot.updated_at > order.source_updated_at:
        order.source_updated_at = snapshot.updated_at
    _apply_refunds(session, shop, order)
    return order


def _enter(session: Session, shop: Shop, order: Order, step: OrderStatus, snapshot: schema.Order) -> None:
    before = MACHINE.move(order, step)
    if step == S.PAID:
        order.paid_at = snapshot.paid_at or snapshot.updated_at
        buyers.claim_first_order(session, order)
        accrual.accrue(session, shop, order)
    elif step == S.COMPLETED:
        # a completion reported before payment (``apply_status``) keeps its own time
        order.completed_at = order.completed_at or snapshot.completed_at or snapshot.updated_at
        due = settlement.settle_after(shop, order)
        # no commission lock needed: every other writer of them holds this order's row lock,
        # except settlement, which only sees commissions once this step has set settle_after
        for commission in commissions_of(session, order.id):
            commission.settle_after = due
    trail.record(
        session, shop.id, f"order.{step}", "order", order.id, external_id=order.external_id, previous=before
    )


def apply_status(session: Session, shop: Shop, update: schema.StatusUpdate) -> Order:
    """Apply a status-only message: complete a paid order, close an unpaid one.

    Arriving before the order's paid snapshot, a completion is remembered (``completed_at``) and
    reached when the snapshot comes; a cancellation closes the unpaid order (a later paid
    snapshot reopens it). A cancellation of a paid order moves nothing: its refunds do.
    """
    order = lock_order(session, shop.id, update.platform, update.order_external_id, update.currency)
    status = OrderStatus(order.status)
    if update.status == "completed":
        if status == S.PAID:
            order.completed_at = update.occurred_at
            _enter(session, shop, order, S.COMPLETED, None)
        elif status in UNPRICED and order.completed_at is None:
            order.completed_at = update.occurred_at
            trail.record(
                session, shop.id, "order.completion_early", "order", order.id, external_id=order.external_id
            )
    elif status == S.CREATED:
        _enter(session, shop, order, S.CLOSED, None)
    if order.source_updated_at is None or update.occurred_at > order.source_updated_at:
        order.source_updated_at = update.occurred_at
    return order


def apply_refund(session: Session, shop: Shop, refund: schema.Refund) -> Order:
    """Store a refund once and take back the commissions on what it returned."""
    order = lock_order(session, shop.id, refund.platform, refund.order_external_id, refund.currency)
    known = session.scalar(
        select(Refund.id).where(
            Refund.shop_id == shop.id, Refund.order_id == order.id, Refund.external_id == refund.external_id
        )
    )
    if known is None:
        db.memo(session, "orders_without_refunds").pop(order.id, None)
        row = Refund(
            shop_id=shop.id,
            order_id=order.id,
            external_id=refund.external_id,
            total=refund.total,
            order_amount=refund.order_amount,
            spread_lines=list(refund.spread_lines) or None,
            refunded_at=refund.created_at,
        )
        session.add(row)
        session.flush()
        session.add_all(
            RefundLine(
                shop_id=shop.id,
                refund_id=row.id,
                line_external_id=line.line_external_id,
                quantity=line.quantity,
                amount=line.amount,
            )
            for line in refund.lines
        )
        session.flush()
        trail.record(
            session,
            shop.id,
            "order.refund_recorded",
            "order",
            order.id,
            refund=refund.external_id,
            amount=refund.total,
        )
        _apply_refunds(session, shop, order)
    return order


def refunded_per_line(session: Session, order: Order) -> dict[str, int]:
    """What every stored refund of ``order`` returned on each line (line external id -> minor units).

    A refund's ``order_amount`` (returned without a per-line split) is spread in proportion to
    what each line paid, largest remainder first: over the lines the refund named
    (``spread_lines``), or over all of them when it named none or none of those paid. Each refund
    is spread on its own, with weights that never change once the order is paid, so the result is
    the same whatever order the refunds arrived in. Not clamped: the caller caps each line at what it paid.
    """
    refunded: dict[str, int] = defaultdict(int)
    rows = session.execute(
        select(RefundLine.line_external_id, RefundLine.amount).join(Refund).where(Refund.order_id == order.id)
    )
    for line_id, amount in rows:
        refunded[line_id] += amount
    spread = session.execute(
        select(Refund.order_amount, Refund.spread_lines).where(
            Refund.order_id == order.id, Refund.order_amount > 0
        )
    )
    for amount, named in spread:
        weights = [line.paid_amount if not named or line.external_id in named else 0 for line in order.lines]
        if not any(weights):  # the named lines are unknown or paid nothing: spread over all
            weights = [line.paid_amount for line in order.lines]
        if not any(weights):
            continue
        for line, part in zip(order.lines, split_largest_remainder(amount, weights), strict=True):
            refunded[line.external_id] += part
    return refunded


def _apply_refunds(session: Session, shop: Shop, order: Order) -> None:
    """Derive each line's refunded amount from all stored refunds, then reverse commissions."""
    if order.id in db.memo(session, "orders_without_refunds"):
        return  # inserted by this transaction and no refund recorded since: nothing to derive
    refunded = refunded_per_line(session, order)
    newly_refunded = {}
    for line in order.lines:
        now_refunded = min(refunded.get(line.external_id, 0), line.paid_amount)
        newly_refunded[line.external_id] = now_refunded - line.refunded_amount
        line.refunded_amount = now_refunded
    order.refunded_total = sum(line.refunded_amount for line in order.lines)
    if order.status in EARNING:
        reversed_by_member = reversal.reverse_for_refunds(session, shop, order)
        tallies.take_back(session, order, newly_refunded, reversed_by_member)
        if order.paid_total > 0 and order.refunded_total >= order.paid_total:
            _enter(session, shop, order, S.REFUNDED, None)
