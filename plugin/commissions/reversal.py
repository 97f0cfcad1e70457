"""Reversal: refunds take back from each commission the share of its line they returned —
cancelled from pending before settlement, clawed back from available after it (what is no
longer there becomes arrears, repaid from the next settlements)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy.orm import Session

from adapters.money import mul_div_half_up
from plugin.audit import trail
from plugin.commissions import lifecycle
from plugin.commissions.models import CommissionStatus as C
from plugin.ledger import journal
from plugin.ledger.models import AccountKind
from plugin.orders.models import Order
from plugin.shops.models import Shop


def reverse_for_refunds(session: Session, shop: Shop, order: Order) -> dict[int, int]:
    """Take back from each commission the share of its line that has been refunded.

    The cumulative reversal of a commission is ``round_half_up(amount × refunded / paid)``,
    computed exactly on integers (``mul_div_half_up``), so several partial refunds add up to
    exactly the whole commission when the whole line is refunded. Returns what this call
    reversed, per beneficiary.
    """
    lines = {line.id: line for line in order.lines}
    reversed_by_member: dict[int, int] = defaultdict(int)
    for commission in lifecycle.commissions_of(session, order.id, lock=True):
        line = lines[commission.order_line_id]
        if commission.status not in lifecycle.OPEN:
            continue
        refunded = min(line.refunded_amount, line.paid_amount)  # paid > 0: it earned a commission
        target = mul_div_half_up(commission.amount, refunded, line.paid_amount)
        delta = target - commission.reversed
        if delta <= 0:
            continue
        settled = commission.status in lifecycle.SETTLED
        (_claw_back if settled else _cancel_pending)(session, shop, commission, delta, target)
        commission.reversed = target
        if commission.reversed == commission.amount:
            lifecycle.move(commission, C.CLAWED_BACK if settled else C.CANCELLED)
        trail.record(
            session,
            shop.id,
            "commission.reversed",
            "commission",
            commission.id,
            order=order.external_id,
            amount=delta,
            reversed_total=target,
            status=commission.status,
        )
        reversed_by_member[commission.beneficiary_id] += delta
    return reversed_by_member


def _cancel_pending(session, shop, commission, delta, target):
    pending = journal.account(
        session, shop.id, commission.beneficiary_id, AccountKind.PENDING, commission.currency
    )
    expense = journal.shop_account(session, shop.id, AccountKind.COMMISSION_EXPENSE, commission.currency)
    journal.post(
        session,
        shop.id,
        f"reverse:{commission.id}:{target}",
        "cancel",
        [journal.debit(pending, delta), journal.credit(expense, delta)],
        memo="refund before settlement",
    )


def _claw_back(session, shop, commission, delta, target):
    """Take ``delta`` back from available; what is not there becomes arrears."""
    member, currency = commission.beneficiary_id, commission.currency
    available = journal.account(session, shop.id, member, AccountKind.AVAILABLE, currency, lock=True)
    arrears = journal.account(session, shop.id, member, AccountKind.ARREARS, currency)
    expense = journal.shop_account(session, shop.id, AccountKind.COMMISSION_EXPENSE, currency)
    from_available = min(max(journal.balance(session, available), 0), delta)
    journal.post(
        session,
        shop.id,
        f"reverse:{commission.id}:{target}",
        "clawback",
        [
            journal.debit(available, from_available),
            journal.debit(arrears, delta - from_available),
            journal.credit(expense, delta),
        ],
        memo="refund after settlement",
    )
