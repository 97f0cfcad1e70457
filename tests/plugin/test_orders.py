"""What fenxiao keeps of an order: every field the rules, the risk checks and the API read."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from adapters.payload import sha256_hex
from plugin.cli.demo import seed_chain
from plugin.members.models import Binding
from plugin.orders.models import Order, OrderLine
from tests.conftest import fixture_json


def test_a_paid_order_keeps_its_buyer_lines_times_and_context(make_shop, send, database):
    shop = make_shop()
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    payload = fixture_json("shopify", "orders_paid") | {"tags": "vip, Double11", "source_name": "app"}
    assert send(shop, "orders/paid", payload).status_code == 200
    with database.transaction() as session:
        order = session.scalar(select(Order))
        buyer = order.buyer_member_id
        binding = session.get(Binding, buyer)
        stored = {
            column: getattr(order, column)
            for column in (
                "platform",
                "external_id",
                "status",
                "currency",
                "channel",
                "ref_code",
                "region",
                "campaign_tags",
                "buyer_ip",
                "buyer_device",
                "buyer_phone_hash",
                "buyer_email_hash",
                "paid_total",
                "refunded_total",
                "placed_at",
                "paid_at",
                "completed_at",
                "source_updated_at",
            )
        }
        lines = [
            (
                line.external_id,
                line.product_id,
                line.sku,
                line.category,
                line.quantity,
                line.unit_price,
                line.discount,
                line.paid_amount,
                line.refunded_amount,
            )
            for line in order.lines
        ]
    assert stored == {
        "platform": "shopify",
        "external_id": "820982911946154508",
        "status": "paid",
        "currency": "CNY",
        "channel": "app",
        "ref_code": "INV-B7K2",
        "region": "Hangzhou",
        "campaign_tags": ["vip", "Double11"],
        "buyer_ip": "203.0.113.7",
        "buyer_device": "9ad3c1",
        "buyer_phone_hash": sha256_hex("+8613700000003"),
        "buyer_email_hash": sha256_hex("buyer.c@example.com"),
        "paid_total": 39800,
        "refunded_total": 0,
        "placed_at": datetime(2026, 11, 10, 16, 5, tzinfo=UTC),
        "paid_at": datetime(2026, 11, 10, 16, 5, 2, tzinfo=UTC),
        "completed_at": None,
        "source_updated_at": datetime(2026, 11, 10, 16, 5, 2, tzinfo=UTC),
    }
    assert lines == [
        ("487817672276298554", "788032119674292922", "TEE-WHITE-M", None, 2, 14900, 0, 29800, 0),
        ("487817672276298555", "788032119674292923", "CAP-BLK", None, 1, 12000, 2000, 10000, 0),
    ]
    assert (binding.tier1_id, binding.source, binding.source_ref) == (
        chain["D"],
        "order_ref",
        "820982911946154508",
    )


def test_lines_follow_the_snapshots_until_the_order_is_paid_and_never_after(make_shop, send, database):
    shop = make_shop()
    pending = fixture_json("shopify", "orders_paid") | {
        "financial_status": "pending",
        "updated_at": "2026-11-11T00:05:00+08:00",
    }
    pending["line_items"] = pending["line_items"][:1]
    send(shop, "orders/create", pending)
    with database.transaction() as session:
        assert [line.external_id for line in session.scalar(select(Order)).lines] == ["487817672276298554"]
    send(shop, "orders/paid", fixture_json("shopify", "orders_paid"))
    late = fixture_json("shopify", "orders_paid") | {"updated_at": "2026-11-12T00:00:00+08:00"}
    late["line_items"] = late["line_items"][1:]
    send(shop, "orders/updated", late)
    with database.transaction() as session:
        order = session.scalar(select(Order))
        assert [line.external_id for line in order.lines] == ["487817672276298554", "487817672276298555"]
        assert (order.paid_total, order.source_updated_at.isoformat()) == (39800, "2026-11-11T16:00:00+00:00")


def test_paid_and_completed_times_are_the_platforms_not_the_snapshots_update_time(make_shop, send, database):
    shop = make_shop()
    paid = fixture_json("shopify", "orders_paid") | {
        "processed_at": "2026-11-11T00:05:02+08:00",
        "updated_at": "2026-11-11T09:00:00+08:00",
    }
    send(shop, "orders/paid", paid)
    fulfilled = fixture_json("shopify", "orders_fulfilled") | {"updated_at": "2026-11-14T09:00:00+08:00"}
    fulfilled["fulfillments"][0]["created_at"] = "2026-11-13T10:00:00+08:00"
    send(shop, "orders/fulfilled", fulfilled)
    with database.transaction() as session:
        order = session.scalar(select(Order))
        assert order.paid_at == datetime(2026, 11, 10, 16, 5, 2, tzinfo=UTC)
        assert order.completed_at == datetime(2026, 11, 13, 2, 0, tzinfo=UTC)


def test_a_line_dropped_before_payment_is_dropped_for_good(make_shop, send, database):
    shop = make_shop()
    created = fixture_json("shopify", "orders_paid") | {
        "financial_status": "pending",
        "updated_at": "2026-11-11T00:05:00+08:00",
    }
    send(shop, "orders/create", created)
    paid = fixture_json("shopify", "orders_paid")
    paid["line_items"] = paid["line_items"][1:]
    send(shop, "orders/paid", paid)
    with database.transaction() as session:
        order = session.scalar(select(Order))
        assert [(line.external_id, line.paid_amount) for line in order.lines] == [
            ("487817672276298555", 10000)
        ]
        assert order.paid_total == 10000
        assert session.scalar(select(func.count()).select_from(OrderLine)) == 1


def test_a_free_order_stays_paid_and_a_one_fen_order_refunded_whole_is_refunded(make_shop, send, database):
    from datetime import timedelta, timezone

    from tests.plugin import shopify_orders as so

    shop = make_shop()
    paid_at = datetime(2026, 11, 5, 12, tzinfo=timezone(timedelta(hours=8)))
    send(shop, "orders/paid", so.order(1, paid_at, [0], ref=None))
    send(shop, "orders/paid", so.order(2, paid_at, [1], ref=None, customer=5002))
    send(shop, "refunds/create", so.refund(2, 92, {0: 1}, paid_at))
    with database.transaction() as session:
        statuses = dict(session.execute(select(Order.external_id, Order.status)).all())
    assert statuses == {"1": "paid", "2": "refunded"}
