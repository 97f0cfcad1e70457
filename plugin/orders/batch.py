"""Getting ready to apply a batch of one shop's deliveries: what they will touch, loaded and
locked with a few ``IN`` queries before the first one is applied.

``prepare`` only fills the transaction's memo (``plugin.db.memo``); the deliveries are then
applied one by one by ``lifecycle`` exactly as a single one would be, and every lookup that
``prepare`` foresaw is a hit. A lookup it did not foresee simply goes to the database, so a
wrong guess costs a query, never a wrong result.

Locks are taken in a fixed order — the batch's orders by id, then the month tallies of everyone
who may earn by (member, month) — so two workers draining at once wait for each other at most,
never in a circle.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from adapters import schema
from plugin.commissions import buyers, tallies
from plugin.ledger import journal
from plugin.ledger.models import SHOP_OWNER, AccountKind
from plugin.members import bindings, directory
from plugin.orders import lifecycle
from plugin.shops import categories, tenants
from plugin.shops.models import Shop

Document = schema.Order | schema.Refund | schema.StatusUpdate


def prepare(session: Session, shop: Shop, documents: Sequence[Document]) -> None:
    """Load and lock, for ``documents`` (normalized, of ``shop``, none refused by
    ``lifecycle.ignore_reason``), what applying them in order will read and write."""
    if not documents:
        return
    currencies: dict[str, str] = {}
    for document in documents:
        external_id = getattr(document, "order_external_id", None) or document.external_id
        currencies.setdefault(external_id, document.currency)
    lifecycle.lock_orders(session, shop.id, shop.platform, currencies)
    to_pay = [d for d in documents if isinstance(d, schema.Order) and _will_be_paid(session, shop, d)]
    if not to_pay:
        return
    names = {d.buyer.external_id: d.buyer.name for d in to_pay if d.buyer.name}  # new members are born named
    members = directory.members_for_identities(
        session, shop.id, shop.platform, {d.buyer.external_id for d in to_pay}, names=names
    )
    buyer_ids = {m.id for m in members.values()}
    bindings.load_bindings(session, buyer_ids)
    codes = {d.ref_code for d in to_pay if d.ref_code}
    directory.load_distributors(session, shop.id, codes=codes)
    inviters = {
        inviter.member_id
        for code in codes
        if (inviter := directory.distributor_by_code(session, shop.id, code)) is not None
    }
    bindings.load_bindings(session, inviters)
    chains = [(d, _likely_chain(session, shop, members[d.buyer.external_id].id, d.ref_code)) for d in to_pay]
    directory.load_distributors(session, shop.id, member_ids={m for _, chain in chains for m in chain})
    buyers.load_claims(session, shop.id, buyer_ids)
    earners = {m for _, chain in chains for m in chain if directory.is_earning(session, m)}
    tallies.lock_many(
        session,
        shop.id,
        {
            (member, tallies.month_of(shop, d.paid_at or d.updated_at))
            for d, chain in chains
            for member in chain
            if member in earners
        },
    )
    journal.open_accounts(session, shop.id, earners, AccountKind.PENDING, shop.currency)
    journal.open_accounts(session, shop.id, [SHOP_OWNER], AccountKind.COMMISSION_EXPENSE, shop.currency)
    tenants.active_rules(session, shop)
    categories.ancestors(
        session, shop.id, {line.category for d in to_pay for line in d.lines if line.category}
    )


def _will_be_paid(session: Session, shop: Shop, snapshot: schema.Order) -> bool:
    """Whether applying ``snapshot`` makes its order enter *paid* (and so priced)."""
    order = lifecycle.lock_order(session, shop.id, snapshot.platform, snapshot.external_id, snapshot.currency)
    return (
        order.status in lifecycle.UNPRICED and lifecycle.snapshot_target(snapshot, order) in lifecycle.EARNING
    )


def _likely_chain(session: Session, shop: Shop, buyer_id: int, ref_code: str | None) -> list[int]:
    """Who would earn from the buyer's order: the ancestors of the buyer's binding, or, for a
    buyer still unbound, the ref code's owner and that owner's ancestors."""
    depth = min(shop.tier_depth, tenants.MAX_TIER_DEPTH)
    binding = bindings.binding_of(session, buyer_id)
    if binding is not None:
        chain = [binding.ancestor(tier) for tier in range(1, depth + 1)]
    elif ref_code and (inviter := directory.distributor_by_code(session, shop.id, ref_code)) is not None:
        upper = bindings.binding_of(session, inviter.member_id)
        chain = [inviter.member_id] + ([upper.tier1_id, upper.tier2_id] if upper else [])
    else:
        return []
    return [m for m in chain[:depth] if m is not None and m != buyer_id]
