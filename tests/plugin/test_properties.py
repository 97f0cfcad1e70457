"""Property tests of the whole money path: signed webhooks -> inbox -> orders -> commissions
-> ledger -> settlement, driven by random invite chains, orders, refunds, duplicates,
reorderings and settlement ticks (see ``tests/plugin/scenario.py``).

Each example uses new shops (tenants are isolated), so the database is not reset between
examples. Properties checked after every run:

1. every ledger transaction balances and stays in one currency;
2. commissions only go to the buyer's inviters within the shop's depth (never tier > 3,
   never the buyer), exactly as an independent model of the rules says;
3. nothing is earned unless the order was paid;
4. each commission's reversal is exactly its share of the line's refunded (capped) money;
5. money is conserved between the commissions and each member's balances;
6. re-delivering everything (same and new webhook ids) and settling again changes nothing;
7. the final balances do not depend on the order the events arrived in.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime, timedelta

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from plugin.audit.models import AuditEvent
from plugin.commissions import settlement
from plugin.commissions.models import CommissionStatus
from plugin.inbox.models import InboxEvent, InboxStatus
from plugin.ledger import journal
from plugin.ledger.models import SHOP_OWNER, Account, AccountKind, LedgerEntry, LedgerTransaction
from plugin.orders.models import Order, OrderStatus
from tests.plugin import scenario as sc

# Examples per test and database; FENXIAO_PROPERTY_EXAMPLES=500 explores further.
EXAMPLES = {"sqlite": 30, "postgresql": 30}


def examples(database) -> settings:
    count = int(os.environ.get("FENXIAO_PROPERTY_EXAMPLES", 0)) or EXAMPLES[database.dialect]
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=False,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --------------------------------------------------------------------------- checks


def check_invariants(
    database,
    shop: sc.ShopUnderTest,
    scenario: sc.Scenario,
    *,
    latest_tick: datetime | None,
    settled_at: datetime | None = None,
):
    """Properties 1-5 for one shop after a run, plus the orders' own state and settlement timing.

    ``latest_tick`` is the latest clock any settlement ran at (None if none ran);
    ``settled_at`` is the clock of a settlement run after the last event (None if none).
    """
    shop_id = shop.id
    with database.transaction() as session:
        events = session.execute(
            select(InboxEvent.topic, InboxEvent.status, InboxEvent.last_error).where(
                InboxEvent.shop_id == shop_id
            )
        ).all()
        assert all(status == InboxStatus.PROCESSED for _, status, _ in events), events

        # 1. Balanced, single-currency transactions, in the accounts' currency.
        assert journal.unbalanced_transactions(session, shop_id) == []
        mixed = session.scalars(
            select(LedgerEntry.transaction_id)
            .where(LedgerEntry.shop_id == shop_id)
            .group_by(LedgerEntry.transaction_id)
            .having(func.count(func.distinct(LedgerEntry.currency)) > 1)
        ).all()
        assert mixed == []
        wrong_currency = session.scalars(
            select(LedgerEntry.id)
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerEntry.shop_id == shop_id, LedgerEntry.currency != Account.currency)
        ).all()
        assert wrong_currency == []
        foreign = session.scalars(
            select(LedgerEntry.id)
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(LedgerEntry.shop_id == shop_id, Account.shop_id != shop_id)
        ).all()
        assert foreign == []

        orders = {
            int(o.external_id): o for o in session.scalars(select(Order).where(Order.shop_id == shop_id))
        }
        buyers = {o.buyer_member_id for o in orders.values() if o.buyer_member_id is not None}
        assert len(buyers) <= 1  # one buyer, one member, whatever order their snapshots came in
        if scenario.buyer_index is not None and buyers:
            assert buyers == {shop.chain[scenario.buyer_index]}
        check_orders(scenario, orders)
        rows = sc.commissions_by_line_tier(session, shop_id)
        seen = [
            (order, line, tier, c.beneficiary_id, c.amount, c.reversed, c.status)
            for order, line, tier, c in rows
        ]
        note(f"orders={[(o.external_id, o.status) for o in orders.values()]}, commissions={seen}")

        # 2. Tiers within the shop's depth (and 3), never the buyer, the model's beneficiaries.
        for order_id, _line, tier, commission in rows:
            assert 1 <= tier <= min(scenario.depth, 3)
            assert commission.beneficiary_id != orders[order_id].buyer_member_id
            assert commission.currency == sc.CURRENCY
        actual = {
            (order_id, line, tier): (shop.chain_index(c.beneficiary_id), c.amount, c.reversed)
            for order_id, line, tier, c in rows
        }
        assert len(actual) == len(rows)
        # 3 and 4 are part of the model: no commission unless paid; reversed is the refunded share.
        assert actual == scenario.expected_commissions()
        if not scenario.paid():
            assert rows == []
            assert (
                session.scalar(
                    select(func.count()).select_from(LedgerEntry).where(LedgerEntry.shop_id == shop_id)
                )
                == 0
            )

        for kind in session.scalars(
            select(LedgerTransaction.kind).where(LedgerTransaction.shop_id == shop_id).distinct()
        ):
            event(f"ledger kind {kind}")
        event(f"commissions: {'some' if rows else 'none'}; paid: {scenario.paid()}")
        for order_id, _line, _tier, c in rows:
            event(f"commission {c.status}{' partly reversed' if 0 < c.reversed < c.amount else ''}")
            assert 0 <= c.reversed <= c.amount
            fully = c.reversed == c.amount
            assert (c.status in (CommissionStatus.CANCELLED, CommissionStatus.CLAWED_BACK)) == fully, c.status
            if c.status == CommissionStatus.AVAILABLE:
                assert orders[order_id].status in (OrderStatus.COMPLETED, OrderStatus.REFUNDED)
                assert c.settle_after is not None

        # 5. Conservation, per member and per account kind.
        by_member: dict[int, dict[str, int]] = defaultdict(lambda: {"pending": 0, "available": 0, "total": 0})
        for _order, _line, _tier, c in rows:
            mine = by_member[c.beneficiary_id]
            mine["total"] += c.remaining
            if c.status == CommissionStatus.PENDING:
                mine["pending"] += c.remaining
            elif c.status == CommissionStatus.AVAILABLE:
                mine["available"] += c.remaining
        members_with_accounts = set(
            session.scalars(
                select(Account.member_id).where(Account.shop_id == shop_id, Account.member_id != SHOP_OWNER)
            )
        )
        assert members_with_accounts <= set(shop.chain)
        for member_id in set(shop.chain) | set(by_member):
            balances = journal.member_balances(session, shop_id, member_id, sc.CURRENCY)
            mine = by_member.get(member_id, {"pending": 0, "available": 0, "total": 0})
            pending, available, arrears, paid_out = (
                balances[kind] for kind in ("pending", "available", "arrears", "paid")
            )
            assert pending + available - arrears + paid_out == mine["total"], balances
            assert pending == mine["pending"], balances
            assert available - arrears + paid_out == mine["available"], balances
            assert available >= 0 and arrears >= 0 and paid_out >= 0, balances
            assert available == 0 or arrears == 0, balances  # clawbacks use available first, settling repays
            assert balances["withdrawing"] == 0
            if not scenario.pays_out:
                assert paid_out == 0
            if arrears:
                event("arrears outstanding")
        for data in session.scalars(
            select(AuditEvent.data).where(
                AuditEvent.shop_id == shop_id, AuditEvent.action == "commission.settled"
            )
        ):
            if data.get("arrears_repaid"):
                event("settlement repaid arrears")
        expense = journal.shop_account(session, shop_id, AccountKind.COMMISSION_EXPENSE, sc.CURRENCY)
        assert journal.balance(session, expense) == sum(c.remaining for *_, c in rows)

        # Settlement timing: due exactly at completion + window, never settled before a clock
        # reached it, and a settlement run at ``settled_at`` leaves nothing due behind.
        for order_id, _line, _tier, c in rows:
            order = orders[order_id]
            window_end = (
                None
                if order.completed_at is None
                else order.completed_at + timedelta(days=scenario.window_days)
            )
            assert c.settle_after == window_end, (c.settle_after, window_end)
            if c.status in (CommissionStatus.AVAILABLE, CommissionStatus.CLAWED_BACK):
                assert latest_tick is not None and c.settle_after <= latest_tick
            if settled_at is not None and window_end is not None and window_end <= settled_at and c.remaining:
                assert c.status == CommissionStatus.AVAILABLE, (c.status, order.status)


def check_orders(scenario: sc.Scenario, orders: dict[int, Order]) -> None:
    """Each order's status, lines and refunded amounts, from the model (whatever the arrival order)."""
    assert set(orders) <= {spec.external_id for spec in scenario.orders}
    for spec in scenario.orders:
        order = orders.get(spec.external_id)
        delivered = {d.topic for d in scenario.deliveries if d.order_external_id == spec.external_id}
        if not delivered:
            assert order is None
            continue
        snapshot = any(topic.startswith("orders/") for topic in delivered)
        if not snapshot:
            assert (order.status, order.lines, order.paid_total, order.refunded_total) == (
                OrderStatus.CREATED,
                [],
                0,
                0,
            )
            continue
        refunded = scenario.refunded(spec)
        lines = {int(line.external_id): line for line in order.lines}
        assert set(lines) == {line.external_id for line in spec.lines}
        for line in spec.lines:
            row = lines[line.external_id]
            assert (row.quantity, row.unit_price, row.discount, row.paid_amount) == (
                line.quantity,
                line.unit_price,
                line.discount,
                line.paid,
            )
            assert row.refunded_amount == min(refunded.get(line.external_id, 0), line.paid)
        paid_total = sum(line.paid for line in spec.lines)
        refunded_total = sum(min(refunded.get(line.external_id, 0), line.paid) for line in spec.lines)
        assert (order.paid_total, order.refunded_total) == (paid_total, refunded_total)
        if not scenario.paid(spec):
            expected = OrderStatus.CREATED
        elif paid_total > 0 and refunded_total >= paid_total:
            expected = OrderStatus.REFUNDED
        else:
            expected = OrderStatus.COMPLETED if scenario.fulfilled(spec) else OrderStatus.PAID
        assert order.status == expected, (order.status, expected)
        assert order.completed_at in (None, spec.fulfilled_at)
        if expected == OrderStatus.COMPLETED:
            assert order.completed_at == spec.fulfilled_at
        if scenario.paid(spec):
            assert order.paid_at == spec.paid_at


def final_balances(database, shop: sc.ShopUnderTest) -> dict[int, dict[str, int]]:
    """Per chain index, the member's balance per account kind."""
    with database.transaction() as session:
        return {
            index: journal.member_balances(session, shop.id, member_id, sc.CURRENCY)
            for index, member_id in enumerate(shop.chain)
        }


def final_commissions(database, shop: sc.ShopUnderTest) -> set:
    with database.transaction() as session:
        return {
            (order_id, line, tier, shop.chain_index(c.beneficiary_id), c.amount, c.reversed)
            for order_id, line, tier, c in sc.commissions_by_line_tier(session, shop.id)
        }


# --------------------------------------------------------------------------- tests


def test_sequence_invariants_and_idempotency(database, make_shop, send):
    """Properties 1-5 after any sequence; property 6: replaying everything changes nothing."""

    @examples(database)
    @given(data=st.data())
    def run(data):
        scenario = data.draw(sc.scenarios(), label="scenario")
        events = data.draw(st.permutations(scenario.events) | st.just(scenario.timeline()), label="events")
        shop = sc.build_shop(database, make_shop, scenario)
        last_now = sc.run(database, send, shop, events)
        ticks = [event.now for event in events if isinstance(event, sc.Tick)]
        check_invariants(database, shop, scenario, latest_tick=max(ticks, default=None))

        # 6. Settle at the last tick's clock (before anything was due if there was no tick),
        # then replay every delivery twice over and settle at the same clock again.
        now = last_now or sc.PLACED_AT
        settlement.settle_due(database, now)
        with database.transaction() as session:
            before = sc.ledger_state(session, shop.id)
        sc.redeliver_everything(send, shop, scenario.deliveries)
        settlement.settle_due(database, now)
        with database.transaction() as session:
            assert sc.ledger_state(session, shop.id) == before
        check_invariants(database, shop, scenario, latest_tick=max([*ticks, now]), settled_at=now)

    run()


def test_final_balances_do_not_depend_on_arrival_order(database, make_shop, send):
    """Property 7 (with 1-5 on both shops): two shuffles of the same events, one result."""

    @examples(database)
    @given(data=st.data())
    def run(data):
        scenario = data.draw(sc.scenarios(), label="scenario")
        first = data.draw(
            st.permutations(scenario.events) | st.just(scenario.timeline()), label="first order"
        )
        second = data.draw(st.permutations(scenario.events), label="second order")
        results = []
        for events in (first, second):
            shop = sc.build_shop(database, make_shop, scenario)
            sc.run(database, send, shop, events)
            settlement.settle_due(database, scenario.final_now())
            check_invariants(
                database, shop, scenario, latest_tick=scenario.final_now(), settled_at=scenario.final_now()
            )
            results.append((final_balances(database, shop), final_commissions(database, shop)))
        if scenario.pays_out:
            # When the payout ran moves money between available, paid and arrears; what each
            # member is owed net of what they were paid, and what is still pending, do not.
            results = [
                (
                    {
                        index: (b["pending"], b["available"] + b["paid"] - b["arrears"])
                        for index, b in balances.items()
                    },
                    commissions,
                )
                for balances, commissions in results
            ]
        assert results[0] == results[1]

    run()
