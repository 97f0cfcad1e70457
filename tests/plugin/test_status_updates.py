"""Status-only messages (``StatusUpdate``: no lines, no amounts) reconcile like snapshots: any
arrival order of paid, refund, completed and cancelled ends in the same order and ledger."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from adapters import schema
from adapters.base import Delivery
from adapters.shopify import ShopifyAdapter
from plugin.cli.demo import seed_chain
from plugin.commissions.models import Commission
from plugin.ledger import journal
from plugin.orders import lifecycle
from plugin.orders.models import Order
from plugin.shops.models import Shop
from tests.conftest import fixture_bytes

CST = timezone(timedelta(hours=8))
COMPLETED_AT = datetime(2026, 11, 18, 9, tzinfo=CST)


def normalized(topic: str, name: str):
    kind = "refund" if topic.startswith("refunds") else "order"
    return ShopifyAdapter().normalize(Delivery(name, topic, kind), fixture_bytes("shopify", name))


def status(value: str, at: datetime = COMPLETED_AT) -> schema.StatusUpdate:
    return schema.StatusUpdate("shopify", "820982911946154508", "CNY", value, at)


DOCUMENTS = {
    "paid": lambda: normalized("orders/paid", "orders_paid"),
    "refund": lambda: normalized("refunds/create", "refunds_create"),
    "completed": lambda: status("completed"),
    "cancelled": lambda: status("cancelled", COMPLETED_AT + timedelta(days=1)),
}


def apply(session, shop, document):
    if isinstance(document, schema.Order):
        return lifecycle.apply_snapshot(session, shop, document)
    if isinstance(document, schema.StatusUpdate):
        return lifecycle.apply_status(session, shop, document)
    return lifecycle.apply_refund(session, shop, document)


def play(make_shop, database, names) -> dict:
    handle = make_shop()
    with database.transaction() as session:
        chain = seed_chain(session, handle.id)
    # the buyer of the fixture order is bound to D's code by the order's ref
    for name in names:
        with database.transaction() as session:
            apply(session, session.get(Shop, handle.id), DOCUMENTS[name]())
    with database.transaction() as session:
        order = session.scalar(select(Order).where(Order.shop_id == handle.id))
        rows = session.scalars(select(Commission).where(Commission.shop_id == handle.id))
        return {
            "status": order.status,
            "completed_at": order.completed_at,
            "paid_total": order.paid_total,
            "refunded_total": order.refunded_total,
            "commissions": sorted((c.tier, c.amount, c.reversed, c.status, c.settle_after) for c in rows),
            "balances": {
                name: journal.member_balances(session, handle.id, member_id, "CNY")
                for name, member_id in chain.items()
            },
        }


@pytest.mark.parametrize("in_order", [("paid", "refund", "completed"), ("paid", "refund", "cancelled")])
def test_every_arrival_order_with_status_updates_ends_the_same(make_shop, database, in_order):
    expected = play(make_shop, database, in_order)
    assert expected["paid_total"] == 39800 and expected["refunded_total"] == 14900
    assert any(amount > 0 for _, amount, *_ in expected["commissions"])
    for arrival in itertools.permutations(in_order):
        assert play(make_shop, database, arrival) == expected, arrival
    twice = [name for name in in_order[::-1] for _ in range(2)]
    assert play(make_shop, database, twice) == expected


def test_a_completion_before_payment_is_reached_when_the_paid_snapshot_comes(make_shop, database):
    result = play(make_shop, database, ["completed"])
    assert (result["status"], result["completed_at"], result["commissions"]) == ("created", COMPLETED_AT, [])
    result = play(make_shop, database, ["completed", "paid"])
    assert result["status"] == "completed"
    assert result["completed_at"] == COMPLETED_AT  # the platform's time, not the snapshot's
    assert result["commissions"] and all(c[4] is not None for c in result["commissions"])  # settle_after set


def test_a_cancellation_closes_an_unpaid_order_and_a_late_paid_snapshot_reopens_it(make_shop, database):
    assert play(make_shop, database, ["cancelled"])["status"] == "closed"
    reopened = play(make_shop, database, ["cancelled", "paid"])
    assert reopened["status"] == "paid"
    assert reopened == play(make_shop, database, ["paid", "cancelled"])


def test_a_cancellation_of_a_paid_order_moves_nothing(make_shop, database):
    assert play(make_shop, database, ["paid", "cancelled"]) == play(make_shop, database, ["paid"])


def test_status_updates_are_validated_by_the_schema():
    from adapters.payload import load

    with pytest.raises(Exception, match="status"):
        load(
            schema.StatusUpdateSchema(),
            {
                "platform": "youzan",
                "order_external_id": "E1",
                "currency": "CNY",
                "status": "shipped",
                "occurred_at": COMPLETED_AT.isoformat(),
            },
        )


def refunded_lines(make_shop, database, spread: tuple[str, ...]) -> dict[str, int]:
    handle = make_shop()
    with database.transaction() as session:
        seed_chain(session, handle.id)
    refund = schema.Refund(
        "shopify",
        "R-1",
        "820982911946154508",
        "CNY",
        (),
        COMPLETED_AT,
        order_amount=5000,
        spread_lines=spread,
    )
    for document in (DOCUMENTS["paid"](), refund):
        with database.transaction() as session:
            apply(session, session.get(Shop, handle.id), document)
    with database.transaction() as session:
        order = session.scalar(select(Order).where(Order.shop_id == handle.id))
        return {line.sku: line.refunded_amount for line in order.lines}


def test_an_amount_refunded_on_named_lines_is_spread_over_those_lines_only(make_shop, database):
    # the tee line paid 29800, the cap line 10000: ¥50.00 back on the cap alone, or over both
    assert refunded_lines(make_shop, database, ("487817672276298555",)) == {"TEE-WHITE-M": 0, "CAP-BLK": 5000}
    assert refunded_lines(make_shop, database, ()) == {"TEE-WHITE-M": 3744, "CAP-BLK": 1256}
    assert refunded_lines(make_shop, database, ("no-such-line",)) == {"TEE-WHITE-M": 3744, "CAP-BLK": 1256}
