"""Commissions: priced by the shop's active rules when an order is paid, reversed in
proportion to refunds, and posted to the ledger exactly once per step.

Compliance lives here: at most ``shop.tier_depth`` (never more than 3) ancestors earn, only
approved distributors earn, the buyer never earns from their own purchase, and amounts come
only from what was really paid (refunds take back the same share of each commission).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from adapters.money import mul_div_half_up

from . import audit, ledger
from .bindings import binding_of
from .members import is_earning
from .models import AccountKind, Commission, CommissionStatus, Order, Shop
from .pricing_facts import LineFactsBuilder
from .shops import MAX_TIER_DEPTH, active_rules

OPEN = (CommissionStatus.PENDING, CommissionStatus.AVAILABLE)


def commissions_of(session: Session, order_id: int, *, lock: bool = False) -> list[Commission]:
    query = select(Commission).where(Commission.order_id == order_id).order_by(Commission.id)
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))


def beneficiaries(session: Session, shop: Shop, order: Order) -> Iterator[tuple[int, int]]:
    """``(tier, member_id)`` of the buyer's ancestors within the shop's depth (never above 3),
    the buyer excluded: self-purchase earns nothing."""
    binding = binding_of(session, order.buyer_member_id) if order.buyer_member_id else None
    if binding is None:
        return
    for tier in range(1, min(shop.tier_depth, MAX_TIER_DEPTH) + 1):
        beneficiary_id = binding.ancestor(tier)
        if beneficiary_id is None:
            return
        if beneficiary_id != order.buyer_member_id:
            yield tier, beneficiary_id


def accrue(session: Session, shop: Shop, order: Order) -> list[Commission]:
    """Create the pending commissions of a paid order (skipping any that exist already)."""
    earning = [
        (tier, distributor)
        for tier, member in beneficiaries(session, shop, order)
        if (distributor := is_earning(session, member))
    ]
    if not earning:
        return []  # no binding, or nobody above who may earn (suspended distributors earn nothing)
    rule_set = active_rules(session, shop)
    earlier = commissions_of(session, order.id)
    existing = {(c.order_line_id, c.tier) for c in earlier}
    expense = ledger.shop_account(session, shop.id, AccountKind.COMMISSION_EXPENSE, order.currency)
    facts = LineFactsBuilder(session, shop, order)
    created = []
    for tier, distributor in earning:
        beneficiary_id = distributor.member_id
        paid_this_order = sum(c.amount for c in earlier if c.tier == tier)
        for line in order.lines:
            if (line.id, tier) in existing:
                continue
            pricing = rules.price_line(
                rule_set.document,
                facts.facts(line, tier, distributor, paid_this_order),
                version_key=rule_set.fingerprint,
            )
            if pricing.amount <= 0:
                continue
            paid_this_order += pricing.amount
            commission = Commission(
                shop_id=shop.id,
                order_id=order.id,
                order_line_id=line.id,
                beneficiary_id=beneficiary_id,
                tier=tier,
                currency=order.currency,
                amount=pricing.amount,
                rule_version=rule_set.version,
                explanation=pricing.explanation,
                settle_after=settle_after(shop, order),
            )
            session.add(commission)
            session.flush()
            pending = ledger.account(session, shop.id, beneficiary_id, AccountKind.PENDING, order.currency)
            ledger.post(
                session,
                shop.id,
                f"accrue:{commission.id}",
                "accrue",
                [ledger.debit(expense, pricing.amount), ledger.credit(pending, pricing.amount)],
                memo=f"order {order.external_id} line {line.external_id} tier {tier}",
            )
            audit.record(
                session,
                shop.id,
                "commission.accrued",
                "commission",
                commission.id,
                order=order.external_id,
                tier=tier,
                beneficiary_id=beneficiary_id,
                amount=pricing.amount,
                rule_version=rule_set.version,
            )
            created.append(commission)
    return created


def settle_after(shop: Shop, order: Order) -> datetime | None:
    """When the after-sales window of a completed order closes."""
    if order.completed_at is None:
        return None
    return order.completed_at + timedelta(days=shop.after_sales_days)


def reverse_for_refunds(session: Session, shop: Shop, order: Order) -> int:
    """Take back from each commission the share of its line that has been refunded.

    The cumulative reversal of a commission is ``round_half_up(amount × refunded / paid)``,
    computed exactly on integers (``mul_div_half_up``), so several partial refunds add up to
    exactly the whole commission when the whole line is refunded. Returns the total reversed
    by this call.
    """
    lines = {line.id: line for line in order.lines}
    total = 0
    for commission in commissions_of(session, order.id, lock=True):
        line = lines[commission.order_line_id]
        if commission.status not in OPEN or line.paid_amount == 0:
            continue
        refunded = min(line.refunded_amount, line.paid_amount)
        target = mul_div_half_up(commission.amount, refunded, line.paid_amount)
        delta = target - commission.reversed
        if delta <= 0:
            continue
        if commission.status == CommissionStatus.PENDING:
            _cancel_pending(session, shop, commission, delta, target)
        else:
            _claw_back(session, shop, commission, delta, target)
        commission.reversed = target
        if commission.reversed == commission.amount:
            commission.status = (
                CommissionStatus.CANCELLED
                if commission.status == CommissionStatus.PENDING
                else CommissionStatus.CLAWED_BACK
            )
        audit.record(
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
        total += delta
    return total


def _cancel_pending(session, shop, commission, delta, target):
    pending = ledger.account(
        session, shop.id, commission.beneficiary_id, AccountKind.PENDING, commission.currency
    )
    expense = ledger.shop_account(session, shop.id, AccountKind.COMMISSION_EXPENSE, commission.currency)
    ledger.post(
        session,
        shop.id,
        f"reverse:{commission.id}:{target}",
        "cancel",
        [ledger.debit(pending, delta), ledger.credit(expense, delta)],
        memo="refund before settlement",
    )


def _claw_back(session, shop, commission, delta, target):
    """Take ``delta`` back from available; what is not there becomes arrears."""
    member, currency = commission.beneficiary_id, commission.currency
    available = ledger.account(session, shop.id, member, AccountKind.AVAILABLE, currency, lock=True)
    arrears = ledger.account(session, shop.id, member, AccountKind.ARREARS, currency)
    expense = ledger.shop_account(session, shop.id, AccountKind.COMMISSION_EXPENSE, currency)
    from_available = min(max(ledger.balance(session, available), 0), delta)
    ledger.post(
        session,
        shop.id,
        f"reverse:{commission.id}:{target}",
        "clawback",
        [
            ledger.debit(available, from_available),
            ledger.debit(arrears, delta - from_available),
            ledger.credit(expense, delta),
        ],
        memo="refund after settlement",
    )


def settle(session: Session, shop: Shop, commission: Commission) -> int:
    """Move a due pending commission to available, repaying arrears first. Returns the amount."""
    remaining = commission.remaining
    member, currency = commission.beneficiary_id, commission.currency
    pending = ledger.account(session, shop.id, member, AccountKind.PENDING, currency)
    available = ledger.account(session, shop.id, member, AccountKind.AVAILABLE, currency, lock=True)
    arrears = ledger.account(session, shop.id, member, AccountKind.ARREARS, currency)
    repay = min(max(ledger.balance(session, arrears), 0), remaining)
    ledger.post(
        session,
        shop.id,
        f"settle:{commission.id}",
        "settle",
        [
            ledger.debit(pending, remaining),
            ledger.credit(arrears, repay),
            ledger.credit(available, remaining - repay),
        ],
        memo="after-sales window passed",
    )
    commission.status = CommissionStatus.AVAILABLE
    audit.record(
        session,
        shop.id,
        "commission.settled",
        "commission",
        commission.id,
        amount=remaining,
        arrears_repaid=repay,
    )
    return remaining
