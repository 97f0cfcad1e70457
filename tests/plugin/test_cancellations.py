"""Cancellations: an early ``cancelled`` snapshot of a paid order never loses commission, and a
paid order is never closed, so a refund after its cancellation still takes the commission back."""

from __future__ import annotations

import copy

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from plugin.cli.demo import seed_chain
from plugin.commissions.models import Commission
from plugin.ledger import journal
from plugin.orders.models import Order
from tests.conftest import fixture_json

CANCELLED_AT = "2026-11-12T10:00:00+08:00"


def cancelled(financial_status: str) -> dict:
    """The order as ``orders/cancelled`` describes it after it was paid (and refunded)."""
    payload = copy.deepcopy(fixture_json("shopify", "orders_paid"))
    payload.update(cancelled_at=CANCELLED_AT, updated_at=CANCELLED_AT, financial_status=financial_status)
    return payload


def whole_refund() -> dict:
    """Both lines back: the tee line (29800) and the cap line (10000)."""
    refund = fixture_json("shopify", "refunds_create")
    tee = refund["refund_line_items"][0]
    tee["quantity"], tee["subtotal_set"]["shop_money"]["amount"] = 2, "298.00"
    cap = copy.deepcopy(tee)
    cap.update(id=tee["id"] + 1, line_item_id=487817672276298555, quantity=1)
    cap["subtotal_set"]["shop_money"]["amount"] = "100.00"
    refund["refund_line_items"].append(cap)
    refund["transactions"][0]["amount"] = "398.00"
    return refund


EVENTS = {
    "paid": ("orders/paid", lambda: fixture_json("shopify", "orders_paid")),
    "fulfilled": ("orders/fulfilled", lambda: fixture_json("shopify", "orders_fulfilled")),
    "partial refund": ("refunds/create", lambda: fixture_json("shopify", "refunds_create")),
    "whole refund": ("refunds/create", whole_refund),
    "cancelled, refunded": ("orders/cancelled", lambda: cancelled("refunded")),
    "cancelled, partly refunded": ("orders/cancelled", lambda: cancelled("partially_refunded")),
}


def play(make_shop, database, send, names) -> dict:
    shop = make_shop()
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    for name in names:
        topic, payload = EVENTS[name]
        assert send(shop, topic, payload()).status_code == 200
    with database.transaction() as session:
        order = session.scalar(select(Order).where(Order.shop_id == shop.id))
        return {
            "status": order.status if order else None,
            "commissions": sorted(
                (c.tier, c.amount, c.reversed, c.status)
                for c in session.scalars(select(Commission).where(Commission.shop_id == shop.id))
            ),
            "balances": {
                name: journal.member_balances(session, shop.id, member_id, "CNY")
                for name, member_id in chain.items()
            },
        }


def test_an_early_cancelled_snapshot_of_a_paid_order_ends_like_the_in_order_sequence(
    make_shop, database, send
):
    in_order = play(make_shop, database, send, ["paid", "whole refund", "cancelled, refunded"])
    early = play(make_shop, database, send, ["cancelled, refunded", "paid", "whole refund"])
    assert early == in_order
    assert in_order["status"] == "refunded"
    assert in_order["commissions"] == [
        (1, 1000, 1000, "cancelled"),
        (1, 2980, 2980, "cancelled"),
        (2, 500, 500, "cancelled"),
        (2, 1490, 1490, "cancelled"),
    ]


def test_the_cancelled_snapshot_alone_prices_the_paid_order(make_shop, database, send):
    alone = play(make_shop, database, send, ["cancelled, partly refunded"])
    assert alone["status"] == "paid"
    assert [c[:2] for c in alone["commissions"]] == [(1, 1000), (1, 2980), (2, 500), (2, 1490)]
    assert alone["balances"]["D"]["pending"] == 3980


def test_a_cancellation_without_payment_never_closes_a_paid_order(make_shop, database, send):
    """A closing snapshot that carries no payment (voided) after the order was paid leaves it
    paid, so the refund that follows still reverses every commission."""
    shop = make_shop()
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    send(shop, "orders/paid", fixture_json("shopify", "orders_paid"))
    assert send(shop, "orders/cancelled", cancelled("voided")).status_code == 200
    with database.transaction() as session:
        assert session.scalar(select(Order.status).where(Order.shop_id == shop.id)) == "paid"
    send(shop, "refunds/create", whole_refund())
    with database.transaction() as session:
        assert session.scalar(select(Order.status).where(Order.shop_id == shop.id)) == "refunded"
        assert journal.member_balances(session, shop.id, chain["D"], "CNY")["pending"] == 0
        assert sorted(
            session.execute(
                select(Commission.amount, Commission.reversed).where(Commission.shop_id == shop.id)
            ).all()
        ) == [(500, 500), (1000, 1000), (1490, 1490), (2980, 2980)]


def test_a_cancellation_of_an_unpaid_order_closes_it_for_good(make_shop, database, send):
    never_paid = cancelled("voided")
    shop = make_shop()
    with database.transaction() as session:
        seed_chain(session, shop.id)
    pending = fixture_json("shopify", "orders_paid")
    pending.update(financial_status="pending", updated_at="2026-11-11T00:05:00+08:00")
    send(shop, "orders/create", pending)
    send(shop, "orders/cancelled", never_paid)
    with database.transaction() as session:
        assert session.scalar(select(Order.status).where(Order.shop_id == shop.id)) == "closed"
        assert session.scalars(select(Commission).where(Commission.shop_id == shop.id)).all() == []


SEQUENCES = [
    ["paid", "partial refund", "cancelled, partly refunded"],
    ["paid", "whole refund", "cancelled, refunded"],
    ["paid", "fulfilled", "partial refund", "cancelled, partly refunded"],
    ["paid", "fulfilled", "whole refund", "cancelled, refunded"],
]


def test_every_arrival_order_of_paid_cancelled_refund_fulfilled_ends_the_same(make_shop, database, send):
    @settings(
        max_examples=12,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def run(data):
        in_order = data.draw(st.sampled_from(SEQUENCES), label="in order")
        shuffled = data.draw(st.permutations(in_order), label="arrival order")
        assert play(make_shop, database, send, shuffled) == play(make_shop, database, send, in_order)

    run()
