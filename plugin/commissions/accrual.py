"""Commissions: priced by the shop's active rules when an order is paid, reversed in
proportion to refunds, and posted to the ledger exactly once per step.

Compliance lives here: at most ``shop.tier_depth`` (never more than 3) ancestors earn, only
approved distributors earn, the buyer never earns from their own purchase, and amounts come
only from what was really paid (refunds take back the same share of each commission).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

import rules
from adapters.money import mul_div_half_up
from plugin.audit import trail
from plugin.commissions import tallies
from plugin.commissions.facts import OrderFacts, TierWalk
from plugin.commissions.models import Attribution, Commission, CommissionStatus
from plugin.ledger import journal
from plugin.ledger.models import AccountKind
from plugin.members.bindings import binding_of
from plugin.members.directory import is_earning
from plugin.orders.models import Order
from plugin.shops.models import Shop
from plugin.shops.tenants import MAX_TIER_DEPTH, active_rules

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
    """Price a paid order for every beneficiary who may earn, and post the commissions.

    Called once per order, when it enters *paid* (the state machine never enters it twice; an
    attribution per order and tier is unique besides). The beneficiaries' month tallies are
    locked first (see ``plugin.tallies``), so caps and ladders see every order priced before
    this one, and no other at the same time. Each tier gets an ``Attribution`` recording the
    month figures it was priced with.
    """
    earning = [
        (tier, distributor)
        for tier, member in beneficiaries(session, shop, order)
        if (distributor := is_earning(session, member))
    ]
    if not earning:
        return []  # no binding, or nobody above who may earn (suspended distributors earn nothing)
    month = tallies.month_of(shop, order.paid_at)
    tally = tallies.lock(session, shop.id, [distributor.member_id for _, distributor in earning], month)
    rule_set = active_rules(session, shop)
    facts = OrderFacts(session, shop, order)
    expense = journal.shop_account(session, shop.id, AccountKind.COMMISSION_EXPENSE, order.currency)
    line_totals: dict[int, int] = defaultdict(int)
    created = []
    for tier, distributor in earning:
        figures = tally[distributor.member_id]
        session.add(
            Attribution(
                shop_id=shop.id,
                order_id=order.id,
                tier=tier,
                beneficiary_id=distributor.member_id,
                month=month,
                level=distributor.level,
                region=distributor.region or "",
                sales_before=figures.sales,
                commission_before=figures.commission,
                rule_version=rule_set.version,
            )
        )
        walk = TierWalk(tier, figures.sales, figures.commission, line_totals)
        for line in order.lines:
            pricing = rules.price_line(
                rule_set.document,
                facts.facts(line, walk, distributor.level, distributor.region),
                version_key=rule_set.fingerprint,
            )
            walk.add(line, pricing.amount)
            if pricing.amount > 0:
                created.append(
                    _book(session, shop, order, line, tier, distributor, pricing, rule_set, expense)
                )
        if tier == 1:
            figures.sales += sum(line.paid_amount - line.refunded_amount for line in order.lines)
        figures.commission += walk.paid
    return created


def _book(session, shop, order, line, tier, distributor, pricing, rule_set, expense) -> Commission:
    """Store one line's commission and post it: commission expense -> the beneficiary's pending."""
    beneficiary_id = distributor.member_id
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
    )  # settle_after is set when the order completes, which is always after it is paid
    session.add(commission)
    session.flush()
    pending = journal.account(session, shop.id, beneficiary_id, AccountKind.PENDING, order.currency)
    journal.post(
        session,
        shop.id,
        f"accrue:{commission.id}",
        "accrue",
        [journal.debit(expense, pricing.amount), journal.credit(pending, pricing.amount)],
        memo=f"order {order.external_id} line {line.external_id} tier {tier}",
    )
    trail.record(
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
    return commission


def settle_after(shop: Shop, order: Order) -> datetime | None:
    """When the after-sales window of a completed order closes."""
    if order.completed_at is None:
        return None
    return order.completed_at + timedelta(days=shop.after_sales_days)


def reverse_for_refunds(session: Session, shop: Shop, order: Order) -> dict[int, int]:
    """Take back from each commission the share of its line that has been refunded.

    The cumulative reversal of a commission is ``round_half_up(amount × refunded / paid)``,
    computed exactly on integers (``mul_div_half_up``), so several partial refunds add up to
    exactly the whole commission when the whole line is refunded. Returns what this call
    reversed, per beneficiary.
    """
    lines = {line.id: line for line in order.lines}
    reversed_by_member: dict[int, int] = defaultdict(int)
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


def settle(session: Session, shop: Shop, commission: Commission) -> int:
    """Move a due pending commission to available, repaying arrears first. Returns the amount."""
    remaining = commission.remaining
    member, currency = commission.beneficiary_id, commission.currency
    pending = journal.account(session, shop.id, member, AccountKind.PENDING, currency)
    available = journal.account(session, shop.id, member, AccountKind.AVAILABLE, currency, lock=True)
    arrears = journal.account(session, shop.id, member, AccountKind.ARREARS, currency)
    repay = min(max(journal.balance(session, arrears), 0), remaining)
    journal.post(
        session,
        shop.id,
        f"settle:{commission.id}",
        "settle",
        [
            journal.debit(pending, remaining),
            journal.credit(arrears, repay),
            journal.credit(available, remaining - repay),
        ],
        memo="after-sales window passed",
    )
    commission.status = CommissionStatus.AVAILABLE
    trail.record(
        session,
        shop.id,
        "commission.settled",
        "commission",
        commission.id,
        amount=remaining,
        arrears_repaid=repay,
    )
    return remaining
