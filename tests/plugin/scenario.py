"""Scenarios for the property tests: an invite chain, a shop, one order and a sequence of
webhook deliveries and settlement ticks, plus an independent model of what must come out.

Everything here is plain data and hypothesis strategies; ``build_shop`` and ``run`` are the
only functions that touch the database (through the same public paths the app uses:
members, bindings, the signed webhook endpoint and ``settlement.settle_due``).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction

from hypothesis import strategies as st
from sqlalchemy import func, select

import rules
from adapters.money import round_half_up
from plugin.commissions import settlement
from plugin.commissions.models import Commission
from plugin.ledger import journal
from plugin.ledger.models import Account, AccountKind, LedgerEntry, LedgerTransaction
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.members.models import Distributor, DistributorStatus
from plugin.orders.models import Order, OrderLine
from plugin.shops.models import RuleSetVersion, Shop
from tests.conftest import fixture_json

PLATFORM = "shopify"
CURRENCY = "CNY"
ORDER_ID = 820982911946154508
FIRST_LINE_ID = 487817672276298554
FIRST_PRODUCT_ID = 788032119674292922
FIRST_REFUND_ID = 890088186047892319
OUTSIDER_BUYER = 115310627314723954  # a customer id no chain member has
CHAIN_BASE = 700000000  # chain member i has the platform identity str(CHAIN_BASE + i)

CST = timezone(timedelta(hours=8))
PLACED_AT = datetime(2026, 11, 11, 0, 5, tzinfo=CST)  # of the first order; the second is 3 days later

# The rule set every scenario shop runs (installed as version 2, bypassing validation on
# purpose): it would pay all three tiers, so only the shop's depth can stop tiers 2 and 3.
RATES = {1: Decimal("10"), 2: Decimal("5"), 3: Decimal("2")}
ALL_TIERS_RULESET = {
    "name": "all tiers",
    "rules": [
        {
            "id": f"tier{tier}",
            "priority": 0,
            "mode": "replace",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": tier}]},
            "actions": [{"name": "set_rate", "params": {"percent": str(rate)}}],
        }
        for tier, rate in RATES.items()
    ],
}
rules.validate_ruleset(ALL_TIERS_RULESET, 3)


def fen(amount: int) -> str:
    """Minor units as Shopify's decimal string: 12345 -> "123.45"."""
    return f"{amount // 100}.{amount % 100:02d}"


def iso(moment: datetime) -> str:
    return moment.isoformat()


# --------------------------------------------------------------------------- the scenario


@dataclass(frozen=True)
class Line:
    external_id: int
    quantity: int
    unit_price: int  # fen
    discount: int  # fen, <= unit_price * quantity

    @property
    def paid(self) -> int:
        return self.unit_price * self.quantity - self.discount


@dataclass(frozen=True)
class RefundSpec:
    amounts: dict[int, int] = field(hash=False)  # line external id -> amount refunded (fen)
    at: datetime


@dataclass(frozen=True)
class OrderSpec:
    index: int
    lines: tuple[Line, ...]
    refunds: tuple[RefundSpec, ...]
    fulfilled_at: datetime

    @property
    def external_id(self) -> int:
        return ORDER_ID + self.index

    @property
    def placed_at(self) -> datetime:
        return PLACED_AT + timedelta(days=3 * self.index)

    @property
    def paid_at(self) -> datetime:
        return self.placed_at + timedelta(seconds=2)

    def refund_id(self, number: int) -> int:
        return FIRST_REFUND_ID + 10 * self.index + number


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery: ``webhook_id`` is the X-Shopify-Webhook-Id (the dedupe key)."""

    topic: str
    payload: dict = field(compare=False, hash=False)
    webhook_id: str
    label: str  # for readable failure reports
    at: datetime  # when it would arrive in a timely world

    def __repr__(self) -> str:
        return f"<{self.label} {self.webhook_id}>"

    @property
    def order_external_id(self) -> int:
        return self.payload["order_id"] if self.topic == "refunds/create" else self.payload["id"]


@dataclass(frozen=True)
class Tick:
    """Run ``settlement.settle_due`` as if the clock read ``now``."""

    now: datetime
    label: str

    @property
    def at(self) -> datetime:
        return self.now

    def __repr__(self) -> str:
        return f"<tick {self.label}>"


@dataclass(frozen=True)
class Payout:
    """Pay every chain member's whole available balance out (available -> paid), as a payout
    run would; a later clawback then finds too little available and books arrears, which a
    later settlement repays first."""

    at: datetime

    def __repr__(self) -> str:
        return "<payout>"


@dataclass
class Scenario:
    chain_length: int  # members above the buyer; chain[0] is the top, chain[-1] owns the ref code
    suspended: frozenset[int]  # chain indices suspended after the tree was built
    buyer_index: int | None  # the buyer is chain[buyer_index] (self-purchase) or an outsider
    depth: int
    window_days: int
    orders: tuple[OrderSpec, ...]  # all by the same buyer with the same ref code
    events: list = field(default_factory=list)  # Delivery | Tick | Payout, in generation order

    # ---- what was delivered

    @property
    def deliveries(self) -> list[Delivery]:
        return [event for event in self.events if isinstance(event, Delivery)]

    def _topics(self, order: OrderSpec) -> set[str]:
        return {d.topic for d in self.deliveries if d.order_external_id == order.external_id}

    def paid(self, order: OrderSpec | None = None) -> bool:
        """Whether (any) order was ever reported paid."""
        orders = self.orders if order is None else (order,)
        return any(self._topics(o) & {"orders/paid", "orders/fulfilled"} for o in orders)

    def fulfilled(self, order: OrderSpec) -> bool:
        return "orders/fulfilled" in self._topics(order)

    @property
    def has_snapshot(self) -> bool:
        return any(d.topic.startswith("orders/") for d in self.deliveries)

    @property
    def pays_out(self) -> bool:
        return any(isinstance(event, Payout) for event in self.events)

    def settle_after(self, order: OrderSpec) -> datetime:
        return order.fulfilled_at + timedelta(days=self.window_days)

    def refunded(self, order: OrderSpec) -> dict[int, int]:
        """Cumulative refunded amount per line over the distinct refunds of ``order`` that were
        delivered (a refund delivered twice, under any webhook id, counts once)."""
        delivered = {
            d.payload["id"]
            for d in self.deliveries
            if d.topic == "refunds/create" and d.order_external_id == order.external_id
        }
        totals: dict[int, int] = defaultdict(int)
        for number, refund in enumerate(order.refunds):
            if order.refund_id(number) in delivered:
                for line_id, amount in refund.amounts.items():
                    totals[line_id] += amount
        return totals

    def timeline(self) -> list:
        """The events in the order a timely world would produce them (copies right after)."""
        return sorted(self.events, key=lambda event: event.at)

    def final_now(self) -> datetime:
        """A time past every window of this scenario."""
        return max(self.settle_after(order) for order in self.orders) + timedelta(days=1)

    # ---- the independent model

    def ancestors(self) -> list[int]:
        """Chain indices of the buyer's inviters, nearest first (empty if the buyer is unbound)."""
        if self.buyer_index is not None and self.buyer_index > 0:
            return list(range(self.buyer_index - 1, -1, -1))  # bound when the chain was built
        if self.buyer_index == 0:
            return []  # the top binding to its own code (or a descendant's) is refused
        if not self.has_snapshot or self.chain_length - 1 in self.suspended:
            return []  # no order ref seen, or its owner may not take new members
        return list(range(self.chain_length - 1, -1, -1))

    def expected_commissions(self) -> dict[tuple[int, int, int], tuple[int, int, int]]:
        """(order external id, line external id, tier) -> (beneficiary chain index, amount, reversed)."""
        expected = {}
        for order in self.orders:
            if not self.paid(order):
                continue
            refunded = self.refunded(order)
            for tier, index in enumerate(self.ancestors()[: min(self.depth, 3)], start=1):
                if index in self.suspended:
                    continue
                for line in order.lines:
                    amount = round_half_up(Decimal(line.paid) * RATES[tier] / 100)
                    if amount <= 0:
                        continue
                    taken = min(refunded.get(line.external_id, 0), line.paid)
                    exact = Fraction(amount * taken, line.paid)  # exact, never a 28-digit quotient
                    reversed_ = int(exact) + (1 if exact - int(exact) >= Fraction(1, 2) else 0)
                    expected[(order.external_id, line.external_id, tier)] = (index, amount, reversed_)
        return expected

    def buyer_identity(self) -> str:
        return str(CHAIN_BASE + self.buyer_index) if self.buyer_index is not None else str(OUTSIDER_BUYER)

    def ref_code(self) -> str:
        return invite_code(self.chain_length - 1)


def invite_code(index: int) -> str:
    return f"INV-C{index}"


# --------------------------------------------------------------------------- payloads


def order_payload(scenario: Scenario, order: OrderSpec, status: str) -> dict:
    """An order snapshot: ``status`` is "pending", "paid" or "fulfilled"."""
    payload = copy.deepcopy(fixture_json("shopify", "orders_paid"))
    payload["id"] = order.external_id
    payload["admin_graphql_api_id"] = f"gid://shopify/Order/{order.external_id}"
    payload["name"] = f"#{1001 + order.index}"
    payload["currency"] = CURRENCY
    code = scenario.ref_code()
    payload["note_attributes"] = [{"name": "ref", "value": code}]
    payload["landing_site"] = f"/products/tee?ref={code}"
    payload["customer"]["id"] = int(scenario.buyer_identity())
    gross = sum(line.unit_price * line.quantity for line in order.lines)
    paid = sum(line.paid for line in order.lines)
    payload["subtotal_price"] = payload["total_price"] = payload["current_total_price"] = fen(paid)
    payload["total_line_items_price"] = fen(gross)
    template = payload["line_items"][0]
    payload["line_items"] = []
    for i, line in enumerate(order.lines):
        item = copy.deepcopy(template)
        item.update(
            id=line.external_id,
            product_id=FIRST_PRODUCT_ID + i,
            variant_id=FIRST_PRODUCT_ID + 1000 + i,
            sku=f"SKU-{i}",
            title=f"Item {i}",
            quantity=line.quantity,
            price=fen(line.unit_price),
            total_discount=fen(line.discount),
            discount_allocations=[{"amount": fen(line.discount), "discount_application_index": 0}]
            if line.discount
            else [],
        )
        payload["line_items"].append(item)
    payload["created_at"] = iso(order.placed_at)
    payload.pop("fulfillments", None)
    if status == "pending":
        payload.update(
            financial_status="pending",
            fulfillment_status=None,
            processed_at=iso(order.placed_at),
            updated_at=iso(order.placed_at),
        )
    elif status == "paid":
        payload.update(
            financial_status="paid",
            fulfillment_status=None,
            processed_at=iso(order.paid_at),
            updated_at=iso(order.paid_at),
        )
    elif status == "fulfilled":
        payload.update(
            financial_status="paid",
            fulfillment_status="fulfilled",
            processed_at=iso(order.paid_at),
            updated_at=iso(order.fulfilled_at),
            fulfillments=[
                {
                    "id": 255858046 + order.index,
                    "order_id": order.external_id,
                    "status": "success",
                    "created_at": iso(order.fulfilled_at),
                }
            ],
        )
    else:
        raise ValueError(status)
    return payload


def refund_payload(order: OrderSpec, number: int) -> dict:
    payload = copy.deepcopy(fixture_json("shopify", "refunds_create"))
    refund_id = order.refund_id(number)
    refund = order.refunds[number]
    payload.update(
        id=refund_id, order_id=order.external_id, created_at=iso(refund.at), processed_at=iso(refund.at)
    )
    template = payload["refund_line_items"][0]
    lines = {line.external_id: line for line in order.lines}
    items = []
    for n, (line_id, amount) in enumerate(refund.amounts.items()):
        item = copy.deepcopy(template)
        item.update(
            id=refund_id * 10 + n,
            line_item_id=line_id,
            quantity=min(1, lines[line_id].quantity),
            subtotal=float(fen(amount)),
            total_tax=0.0,
            subtotal_set={"shop_money": {"amount": fen(amount), "currency_code": CURRENCY}},
            line_item={"id": line_id, "sku": None, "price": fen(lines[line_id].unit_price)},
        )
        items.append(item)
    payload["refund_line_items"] = items
    total = sum(refund.amounts.values())
    payload["transactions"] = [
        {
            "id": refund_id + 1,
            "order_id": order.external_id,
            "kind": "refund",
            "status": "success",
            "amount": fen(total),
            "currency": CURRENCY,
        }
    ]
    return payload


# --------------------------------------------------------------------------- strategies


def lines_strategy(order_index: int):
    first = FIRST_LINE_ID + 10 * order_index
    return st.integers(min_value=1, max_value=3).flatmap(
        lambda n: st.tuples(
            *[
                st.tuples(st.integers(1, 5), st.integers(1, 50_000), st.integers(0, 1000)).map(
                    lambda t, i=i: Line(
                        first + i,
                        t[0],
                        t[1],
                        # discount up to the whole gross amount (per mille of it)
                        t[1] * t[0] * t[2] // 1000,
                    )
                )
                for i in range(n)
            ]
        )
    )


@st.composite
def refunds_strategy(
    draw, lines: tuple[Line, ...], fulfilled_at: datetime, first_at: datetime | None = None
) -> tuple[RefundSpec, ...]:
    """Up to three refunds of one or two lines each. Unless ``allow_over`` is drawn, the
    cumulative refund of a line never exceeds what was paid for it. With ``first_at``, there
    is at least one refund and the first one, of a non-zero amount if anything was paid, is
    made then."""
    allow_over = draw(st.booleans())
    remaining = {line.external_id: line.paid for line in lines}
    refunds = []
    for number in range(draw(st.integers(0 if first_at is None else 1, 3))):
        chosen = draw(
            st.lists(
                st.sampled_from(lines),
                min_size=1,
                max_size=min(2, len(lines)),
                unique_by=lambda line: line.external_id,
            )
        )
        amounts = {}
        for line in chosen:
            kind = draw(st.sampled_from(["full", "rest", "part", "part", "over"]))
            if kind == "full":
                amount = line.paid
            elif kind == "rest":
                amount = remaining[line.external_id]
            elif kind == "part":
                amount = draw(st.integers(min(1, line.paid) if first_at and number == 0 else 0, line.paid))
            else:
                amount = line.paid + draw(st.integers(1, line.paid + 1))
            if not allow_over:
                amount = min(amount, remaining[line.external_id])
            remaining[line.external_id] -= min(amount, remaining[line.external_id])
            amounts[line.external_id] = amount
        if first_at and number == 0:
            refunds.append(RefundSpec(amounts, first_at))
        else:
            hours = draw(st.integers(-12, 24 * 20))
            refunds.append(RefundSpec(amounts, fulfilled_at + timedelta(hours=hours)))
    return tuple(refunds)


@st.composite
def order_specs(
    draw,
    index: int,
    *,
    fulfilled_at: datetime | None = None,
    fulfilled_after: datetime | None = None,
    refund_at: datetime | None = None,
) -> OrderSpec:
    """Order ``index`` (placed 3 days after the previous one), fulfilled within 5 days of it
    (or at ``fulfilled_at``, or after ``fulfilled_after``)."""
    lines = draw(lines_strategy(index))
    if fulfilled_at is None:
        fulfilled_at = PLACED_AT + timedelta(days=3 * index, hours=draw(st.integers(1, 120)))
    if fulfilled_after is not None:
        fulfilled_at = max(fulfilled_at, fulfilled_after + timedelta(hours=draw(st.integers(1, 48))))
    return OrderSpec(index, lines, draw(refunds_strategy(lines, fulfilled_at, refund_at)), fulfilled_at)


@st.composite
def scenarios(draw) -> Scenario:
    """A scenario with its events in generation order: shuffle them with ``st.permutations``,
    or play ``scenario.timeline()``.

    Half the scenarios follow a "clawback story" in their timeline: the first order is
    fulfilled and settled, the money paid out, then part of it refunded (arrears), and a
    second order settles later (repaying the arrears first)."""
    chain_length = draw(st.integers(1, 5))
    # Mostly an ordinary outsider buying through an active chain; sometimes a suspended
    # member, sometimes a chain member buying (self-purchase, or the top closing a cycle).
    suspended = draw(
        st.just(frozenset())
        | st.just(frozenset())
        | st.integers(0, chain_length - 1).map(lambda i: frozenset({i}))
    )
    buyer_index = draw(st.none() | st.none() | st.integers(0, chain_length - 1))
    depth = draw(st.integers(1, 3))
    window = timedelta(days=draw(st.integers(0, 14)))
    story = draw(st.booleans())
    first_fulfilled = PLACED_AT + timedelta(hours=draw(st.integers(1, 120)))
    first_settles = first_fulfilled + window
    first = draw(
        order_specs(
            0, fulfilled_at=first_fulfilled, refund_at=first_settles + timedelta(hours=2) if story else None
        )
    )
    orders = [first]
    if story or draw(st.booleans()):
        after = first_settles + timedelta(hours=2) if story else None
        orders.append(draw(order_specs(1, fulfilled_after=after)))
    scenario = Scenario(
        chain_length=chain_length,
        suspended=suspended,
        buyer_index=buyer_index,
        depth=depth,
        window_days=window.days,
        orders=tuple(orders),
    )

    deliveries = []
    snapshots = (("pending", "orders/create"), ("paid", "orders/paid"), ("fulfilled", "orders/fulfilled"))
    for order in orders:
        times = {"pending": order.placed_at, "paid": order.paid_at, "fulfilled": order.fulfilled_at}
        for status, topic in snapshots:
            if (story and status == "fulfilled") or draw(st.booleans()):
                deliveries.append(
                    Delivery(
                        topic,
                        order_payload(scenario, order, status),
                        f"wh-{order.index}-{status}",
                        f"order#{order.index} {topic}",
                        times[status],
                    )
                )
        for number, refund in enumerate(order.refunds):
            deliveries.append(
                Delivery(
                    "refunds/create",
                    refund_payload(order, number),
                    f"wh-{order.index}-refund-{number}",
                    f"order#{order.index} refund#{number} {refund.amounts}",
                    refund.at,
                )
            )
    copies = []
    if deliveries:
        for n, (original, same_id) in enumerate(
            draw(st.lists(st.tuples(st.sampled_from(deliveries), st.booleans()), max_size=3))
        ):
            webhook_id = original.webhook_id if same_id else f"{original.webhook_id}-again-{n}"
            copies.append(
                Delivery(
                    original.topic,
                    original.payload,
                    webhook_id,
                    f"{'dup' if same_id else 'redelivery'} of {original.label}",
                    original.at,
                )
            )
    offsets = {"before": -timedelta(hours=1), "at": timedelta(0), "after": timedelta(hours=1)}
    ticks = [
        Tick(scenario.settle_after(orders[index]) + offsets[when], f"{when} order#{index}'s window")
        for index, when in draw(
            st.lists(st.tuples(st.integers(0, len(orders) - 1), st.sampled_from(sorted(offsets))), max_size=4)
        )
    ]
    payouts = [
        Payout(PLACED_AT + timedelta(hours=draw(st.integers(0, 24 * 30))))
        for _ in range(draw(st.integers(0, 1)))
    ]
    if story:
        # Settle the first order, pay out, (refund at first_settles + 2h), settle the second.
        ticks.append(Tick(first_settles + timedelta(hours=1), "after order#0's window (story)"))
        payouts.append(Payout(first_settles + timedelta(hours=1, minutes=1)))
        for order in orders[1:]:
            ticks.append(
                Tick(
                    scenario.settle_after(order) + timedelta(hours=1),
                    f"after order#{order.index}'s window (story)",
                )
            )
    scenario.events = deliveries + copies + ticks + payouts
    return scenario


# --------------------------------------------------------------------------- running


@dataclass
class ShopUnderTest:
    handle: object  # tests.conftest.ShopHandle
    chain: list[int]  # member ids, chain[0] the top

    @property
    def id(self) -> int:
        return self.handle.id

    def chain_index(self, member_id: int) -> int | None:
        return self.chain.index(member_id) if member_id in self.chain else None


def install_unvalidated(session, shop: Shop, document: dict) -> None:
    """Make ``document`` the shop's active rules as version 2 without validating it, so a test
    can check that the shop's depth stops tiers the rules would price."""
    session.add(
        RuleSetVersion(
            shop_id=shop.id,
            version=2,
            document=document,
            published_by="tests",
            note="installed without validation",
            fingerprint=rules.ruleset_fingerprint(document),
        )
    )
    shop.active_rule_version = 2


def build_shop(database, make_shop, scenario: Scenario) -> ShopUnderTest:
    """A new shop of the scenario's depth and window, running ``ALL_TIERS_RULESET``, with the
    invite chain built (chain[i] bound under chain[i-1]) and the suspensions applied."""
    handle = make_shop(tier_depth=scenario.depth, after_sales_days=scenario.window_days)
    with database.transaction() as session:
        shop = session.get(Shop, handle.id)
        install_unvalidated(session, shop, ALL_TIERS_RULESET)
        chain = []
        for i in range(scenario.chain_length):
            member = member_for_identity(session, shop.id, PLATFORM, str(CHAIN_BASE + i))
            make_distributor(session, shop.id, member.id, invite_code=invite_code(i))
            session.flush()
            if chain:
                bind(session, shop.id, member.id, invite_code(i - 1))
            chain.append(member.id)
        for i in scenario.suspended:
            session.get(Distributor, chain[i]).status = DistributorStatus.SUSPENDED
    return ShopUnderTest(handle, chain)


def deliver(
    send, shop: ShopUnderTest, delivery: Delivery, webhook_id: str | None = None, *, reencode: bool = False
) -> None:
    """Post ``delivery``; ``reencode`` sends the same payload in other bytes (the same bytes under a
    new webhook id are the same delivery to intake, so only other bytes reach the domain twice)."""
    body = json.dumps(delivery.payload, indent=1).encode() if reencode else delivery.payload
    reply = send(shop.handle, delivery.topic, body, webhook_id=webhook_id or delivery.webhook_id)
    assert reply.status_code == 200, (delivery, reply.get_json())


def run(database, send, shop: ShopUnderTest, events) -> datetime | None:
    """Play ``events`` against ``shop``. Returns the ``now`` of the last tick (None if none)."""
    last_now = None
    for event in events:
        if isinstance(event, Tick):
            settlement.settle_due(database, event.now)
            last_now = event.now
        elif isinstance(event, Payout):
            pay_out(database, shop)
        else:
            deliver(send, shop, event)
    return last_now


def pay_out(database, shop: ShopUnderTest) -> None:
    with database.transaction() as session:
        for member_id in shop.chain:
            account = journal.account(session, shop.id, member_id, AccountKind.AVAILABLE, CURRENCY, lock=True)
            amount = journal.balance(session, account)
            if amount > 0:
                paid = journal.account(session, shop.id, member_id, AccountKind.PAID, CURRENCY)
                journal.post(
                    session,
                    shop.id,
                    f"test-payout:{uuid.uuid4()}",
                    "payout",
                    [journal.debit(account, amount), journal.credit(paid, amount)],
                    memo="test payout",
                )


def redeliver_everything(send, shop: ShopUnderTest, deliveries) -> None:
    """Every delivery again under its own webhook id, then again as a brand-new delivery of the
    same payload in other bytes, which intake stores and the domain must recognise."""
    for delivery in deliveries:
        deliver(send, shop, delivery)
    for delivery in deliveries:
        deliver(send, shop, delivery, webhook_id=str(uuid.uuid4()), reencode=True)


# --------------------------------------------------------------------------- observing


def ledger_state(session, shop_id: int) -> dict:
    """What must not move when nothing new happens: counts and per-account sums."""
    rows = session.execute(
        select(Account.member_id, Account.kind, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.account_id == Account.id)
        .where(Account.shop_id == shop_id)
        .group_by(Account.member_id, Account.kind)
    )
    sums = {(member, kind): int(total) for member, kind, total in rows}
    return {
        "entries": session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.shop_id == shop_id)
        ),
        "transactions": session.scalar(
            select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.shop_id == shop_id)
        ),
        "keys": sorted(
            session.scalars(select(LedgerTransaction.key).where(LedgerTransaction.shop_id == shop_id))
        ),
        "sums": sums,
        "commissions": sorted(
            session.execute(
                select(Commission.id, Commission.amount, Commission.reversed, Commission.status).where(
                    Commission.shop_id == shop_id
                )
            ).all()
        ),
    }


def commissions_by_line_tier(session, shop_id: int) -> list[tuple[int, int, int, Commission]]:
    """(order external id, line external id, tier, commission) for every commission of the shop."""
    rows = session.execute(
        select(Order.external_id, OrderLine.external_id, Commission)
        .join(OrderLine, OrderLine.id == Commission.order_line_id)
        .join(Order, Order.id == Commission.order_id)
        .where(Commission.shop_id == shop_id)
    ).all()
    return [
        (int(order_id), int(line_id), commission.tier, commission) for order_id, line_id, commission in rows
    ]
