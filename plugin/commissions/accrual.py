"""Accrual: a paid order's lines priced by the shop's active rules for every ancestor who may
earn, and posted to the ledger once.

Compliance lives here: at most ``shop.tier_depth`` (never more than 3) ancestors earn, only
approved distributors earn, the buyer never earns from their own purchase, and amounts come
only from what was really paid (refunds take back the same share of each commission).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy.orm import Session

import rules
from plugin import keys
from plugin.audit import trail
from plugin.commissions import tallies
from plugin.commissions.facts import OrderFacts, TierWalk
from plugin.commissions.models import Attribution, Commission
from plugin.ledger import journal
from plugin.ledger.models import AccountKind
from plugin.members.bindings import binding_of
from plugin.members.directory import is_earning
from plugin.orders.models import Order
from plugin.shops.models import Shop
from plugin.shops.tenants import MAX_TIER_DEPTH, active_rules


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
    locked first (see ``plugin.commissions.tallies``), so caps and ladders see every order priced before
    this one, and no other at the same time. Each tier gets an ``Attribution`` recording the
    month figures it was priced with.

    Nothing is flushed: the commissions take their ids from ``plugin.keys`` (their postings and
    audit events are named by them), so a batch of orders writes every new row at its commit,
    one ``INSERT`` per table.
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
    line_totals: dict[str, int] = defaultdict(int)
    priced = []
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
                priced.append((_commission(shop, order, line, tier, distributor, pricing, rule_set), line))
        if tier == 1:
            figures.sales += sum(line.paid_amount - line.refunded_amount for line in order.lines)
        figures.commission += walk.paid
    if not priced:
        return []
    expense = journal.shop_account(session, shop.id, AccountKind.COMMISSION_EXPENSE, order.currency)
    ids = keys.new_ids(session, Commission, len(priced))  # known now: no flush to learn them
    for (commission, line), commission_id in zip(priced, ids, strict=True):
        commission.id = commission_id
        session.add(commission)
        _post(session, shop, order, line, commission, expense)
    return [commission for commission, _ in priced]


def _commission(shop, order, line, tier, distributor, pricing, rule_set) -> Commission:
    """One line's commission for one tier (``settle_after`` is set when the order completes,
    which is always after it is paid)."""
    return Commission(
        shop_id=shop.id,
        order_id=order.id,
        line=line,
        beneficiary_id=distributor.member_id,
        tier=tier,
        currency=order.currency,
        amount=pricing.amount,
        rule_version=rule_set.version,
        explanation=pricing.explanation,
    )


def _post(session, shop, order, line, commission, expense) -> None:
    """Post a new commission: commission expense -> the beneficiary's pending; and audit it."""
    beneficiary, currency = commission.beneficiary_id, order.currency
    pending = journal.account(session, shop.id, beneficiary, AccountKind.PENDING, currency)
    journal.post(
        session,
        shop.id,
        f"accrue:{commission.id}",
        "accrue",
        [journal.debit(expense, commission.amount), journal.credit(pending, commission.amount)],
        memo=f"order {order.external_id} line {line.external_id} tier {commission.tier}",
        new_key=True,
    )
    trail.record(
        session,
        shop.id,
        "commission.accrued",
        "commission",
        commission.id,
        order=order.external_id,
        tier=commission.tier,
        beneficiary_id=commission.beneficiary_id,
        amount=commission.amount,
        rule_version=commission.rule_version,
    )
