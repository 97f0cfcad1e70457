"""Every Shopify topic fenxiao subscribes to, end to end through the app: orders/paid,
orders/fulfilled, orders/cancelled, orders/updated and refunds/create, the dedupe on
``X-Shopify-Webhook-Id``, and arrival in any order, each delivered twice.

Related tests elsewhere: ``tests/plugin/test_cancellations.py`` (an early cancelled snapshot,
cancelled + refund sequences under hypothesis permutations) and
``tests/plugin/test_properties.py`` (random scenarios shuffled and redelivered after the fact).
What this file adds is every topic on its own, and every permutation of paid / refund /
fulfilled exhaustively, with each event delivered a second time in between the others.
"""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from adapters.signing import shopify_headers
from plugin.cli.demo import seed_chain
from plugin.commissions.models import Commission
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.ledger.models import LedgerEntry
from plugin.orders.models import Order, OrderLine, Refund
from tests.conftest import fixture_bytes, fixture_json

FULFILLED_AT = datetime(2026, 11, 13, 2, 0, tzinfo=UTC)  # the fixture's fulfillment, 10:00 +08:00
PAID_COMMISSIONS = [(1, 1000), (1, 2980), (2, 500), (2, 1490)]  # (tier, fen): cap line, tee line


def unpaid(**fields) -> dict:
    payload = fixture_json("shopify", "orders_paid")
    payload.update(financial_status="pending", processed_at=None, updated_at="2026-11-11T00:05:00+08:00")
    payload.update(fields)
    return payload


def cancelled(financial_status: str) -> dict:
    payload = fixture_json("shopify", "orders_paid")
    at = "2026-11-12T10:00:00+08:00"
    payload.update(
        cancelled_at=at, updated_at=at, financial_status=financial_status, cancel_reason="customer"
    )
    return payload


def shop_with_chain(make_shop, database):
    shop = make_shop()
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    return shop, chain


def outcome(database, shop, chain) -> dict:
    """What the ledger and the order say: compared across arrival orders."""
    with database.transaction() as session:
        order = session.scalar(select(Order).where(Order.shop_id == shop.id))
        commissions = session.scalars(select(Commission).where(Commission.shop_id == shop.id))
        return {
            "status": order.status if order else None,
            "completed_at": order.completed_at if order else None,
            "commissions": sorted(
                (c.tier, c.amount, c.reversed, c.status, c.settle_after) for c in commissions
            ),
            "balances": {
                name: journal.member_balances(session, shop.id, member, "CNY")
                for name, member in chain.items()
            },
        }


def count(database, model, shop) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model).where(model.shop_id == shop.id))


# --------------------------------------------------------------------------- each topic


def test_orders_paid_accrues_pending_commission(make_shop, database, send):
    shop, chain = shop_with_chain(make_shop, database)
    assert send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid")).status_code == 200
    result = outcome(database, shop, chain)
    assert result["status"] == "paid"
    assert [c[:4] for c in result["commissions"]] == [(t, a, 0, "pending") for t, a in PAID_COMMISSIONS]
    assert all(c[4] is None for c in result["commissions"])  # nothing is due before completion
    assert (result["balances"]["D"]["pending"], result["balances"]["C"]["pending"]) == (3980, 1990)


def test_orders_fulfilled_completes_the_order_and_starts_the_after_sales_window(make_shop, database, send):
    shop, chain = shop_with_chain(make_shop, database)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    assert send(shop, "orders/fulfilled", fixture_bytes("shopify", "orders_fulfilled")).status_code == 200
    result = outcome(database, shop, chain)
    assert (result["status"], result["completed_at"]) == ("completed", FULFILLED_AT)
    due = FULFILLED_AT + timedelta(days=shop.after_sales_days)
    assert result["commissions"] == [(t, a, 0, "pending", due) for t, a in PAID_COMMISSIONS]
    assert result["balances"]["D"] == {**result["balances"]["D"], "pending": 3980, "available": 0}


def test_orders_cancelled_before_payment_closes_the_order_for_good(make_shop, database, send):
    shop, chain = shop_with_chain(make_shop, database)
    assert send(shop, "orders/cancelled", cancelled("voided")).status_code == 200
    assert outcome(database, shop, chain)["status"] == "closed"
    assert count(database, Commission, shop) == 0 and count(database, LedgerEntry, shop) == 0


def test_orders_cancelled_after_payment_moves_no_money_its_refund_does(make_shop, database, send):
    shop, chain = shop_with_chain(make_shop, database)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    paid = outcome(database, shop, chain)
    entries = count(database, LedgerEntry, shop)
    assert send(shop, "orders/cancelled", cancelled("refunded")).status_code == 200
    assert outcome(database, shop, chain) == paid  # still paid, nothing reversed by the cancellation
    assert count(database, LedgerEntry, shop) == entries
    refund = fixture_json("shopify", "refunds_create")
    cap = copy.deepcopy(refund["refund_line_items"][0])
    cap.update(id=cap["id"] + 1, line_item_id=487817672276298555, quantity=1)
    cap["subtotal_set"]["shop_money"]["amount"] = "100.00"
    refund["refund_line_items"][0].update(quantity=2)
    refund["refund_line_items"][0]["subtotal_set"]["shop_money"]["amount"] = "298.00"
    refund["refund_line_items"].append(cap)
    refund["transactions"][0]["amount"] = "398.00"
    assert send(shop, "refunds/create", refund).status_code == 200
    result = outcome(database, shop, chain)
    assert result["status"] == "refunded"
    assert [c[:4] for c in result["commissions"]] == [(t, a, a, "cancelled") for t, a in PAID_COMMISSIONS]
    assert result["balances"]["D"]["pending"] == result["balances"]["C"]["pending"] == 0


def test_orders_updated_applies_the_snapshot(make_shop, database, send):
    shop, chain = shop_with_chain(make_shop, database)
    send(shop, "orders/create", unpaid())
    smaller = unpaid(updated_at="2026-11-11T00:05:01+08:00")
    smaller["line_items"][0]["quantity"] = 1  # the buyer dropped a tee before paying
    assert send(shop, "orders/updated", smaller).status_code == 200
    with database.transaction() as session:
        quantities = session.execute(
            select(OrderLine.external_id, OrderLine.quantity).where(OrderLine.shop_id == shop.id)
        ).all()
        assert sorted(quantities) == [("487817672276298554", 1), ("487817672276298555", 1)]
    assert outcome(database, shop, chain)["status"] == "created"
    paid = fixture_json("shopify", "orders_paid")
    paid["line_items"][0]["quantity"] = 1
    paid["total_price"] = paid["subtotal_price"] = paid["current_total_price"] = "249.00"
    assert send(shop, "orders/updated", paid).status_code == 200
    result = outcome(database, shop, chain)
    assert result["status"] == "paid"
    assert [c[:2] for c in result["commissions"]] == [(1, 1000), (1, 1490), (2, 500), (2, 745)]
    # an older snapshot arriving late moves nothing back
    assert send(shop, "orders/updated", smaller).status_code == 200
    assert outcome(database, shop, chain) == result


def test_refunds_create_takes_back_the_commission_on_what_was_returned(make_shop, database, send):
    shop, chain = shop_with_chain(make_shop, database)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    assert send(shop, "refunds/create", fixture_bytes("shopify", "refunds_create")).status_code == 200
    result = outcome(database, shop, chain)
    assert result["status"] == "paid"  # a partial refund: "refunded" is for the whole order
    assert [c[:3] for c in result["commissions"]] == [
        (1, 1000, 0),
        (1, 2980, 1490),
        (2, 500, 0),
        (2, 1490, 745),
    ]
    assert (result["balances"]["D"]["pending"], result["balances"]["C"]["pending"]) == (2490, 1245)
    with database.transaction() as session:
        assert session.scalars(select(Refund.total).where(Refund.shop_id == shop.id)).all() == [14900]


# --------------------------------------------------------------------------- dedupe


def test_a_redelivery_under_the_same_webhook_id_is_stored_and_applied_once(make_shop, database, send):
    shop, chain = shop_with_chain(make_shop, database)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    body = fixture_bytes("shopify", "refunds_create")
    assert send(shop, "refunds/create", body, "refund-delivery-1").status_code == 200
    once = outcome(database, shop, chain)
    # the same id is the same delivery, even if the bytes differ (the id is what Shopify retries)
    reshaped = json.dumps(json.loads(body), indent=2).encode()
    assert send(shop, "refunds/create", reshaped, "refund-delivery-1").get_json() == {"ok": True}
    assert send(shop, "refunds/create", body, "refund-delivery-1").get_json() == {"ok": True}
    with database.transaction() as session:
        keys = session.scalars(
            select(InboxEvent.event_key).where(
                InboxEvent.shop_id == shop.id, InboxEvent.topic == "refunds/create"
            )
        ).all()
        assert keys == ["refund-delivery-1"]
    assert outcome(database, shop, chain) == once
    # headers are not signed: a new id on the same refund still takes nothing back twice
    assert send(shop, "refunds/create", reshaped, "refund-delivery-2").status_code == 200
    assert count(database, InboxEvent, shop) == 3
    assert count(database, Refund, shop) == 1
    assert outcome(database, shop, chain) == once


# --------------------------------------------------------------------------- arrival order

EVENTS = {
    "paid": ("orders/paid", "orders_paid"),
    "refund": ("refunds/create", "refunds_create"),
    "fulfilled": ("orders/fulfilled", "orders_fulfilled"),
}
IN_ORDER = ("paid", "refund", "fulfilled")


def play(make_shop, database, send, names, *, twice: bool) -> dict:
    """Deliver ``names``; with ``twice``, each event comes again (new delivery id, bytes
    re-serialized so intake stores it anew and the domain sees it again) after the next one."""
    shop, chain = shop_with_chain(make_shop, database)
    deliveries = []
    for index, name in enumerate(names):  # twice: A1 B1 A2 C1 B2 C2
        deliveries.append((name, 1))
        if twice and index:
            deliveries.append((names[index - 1], 2))
    if twice:
        deliveries.append((names[-1], 2))
    for name, attempt in deliveries:
        topic, fixture = EVENTS[name]
        body = fixture_bytes("shopify", fixture)
        if attempt == 2:
            body = json.dumps(json.loads(body), indent=1).encode()
        assert send(shop, topic, body, f"{name}-{attempt}").status_code == 200
    assert count(database, InboxEvent, shop) == len(deliveries)
    return outcome(database, shop, chain)


def test_paid_refund_and_fulfilled_in_order_end_completed_and_partly_taken_back(make_shop, database, send):
    result = play(make_shop, database, send, IN_ORDER, twice=False)
    due = FULFILLED_AT + timedelta(days=7)  # a new shop's after-sales window
    assert result["status"] == "completed" and result["completed_at"] == FULFILLED_AT
    assert result["commissions"] == [
        (1, 1000, 0, "pending", due),
        (1, 2980, 1490, "pending", due),
        (2, 500, 0, "pending", due),
        (2, 1490, 745, "pending", due),
    ]


@pytest.mark.parametrize("names", list(itertools.permutations(IN_ORDER)), ids="-".join)
def test_every_arrival_order_each_delivered_twice_ends_in_the_same_ledger(make_shop, database, send, names):
    expected = play(make_shop, database, send, IN_ORDER, twice=False)
    assert play(make_shop, database, send, names, twice=True) == expected


# --------------------------------------------------------------------------- over real HTTP


def test_the_topics_over_real_http(live_server, make_shop, database):
    shop, chain = shop_with_chain(make_shop, database)
    url = live_server + shop.webhook_url
    for topic, fixture in (("orders/fulfilled", "orders_fulfilled"), ("orders/paid", "orders_paid")):
        body = fixture_bytes("shopify", fixture)
        headers = shopify_headers(topic, body, shop.secret, f"http-{fixture}")
        reply = requests.post(url, data=body, headers=headers, timeout=10)
        assert (reply.status_code, reply.json()) == (200, {"ok": True})
    body = fixture_bytes("shopify", "refunds_create")
    headers = shopify_headers("refunds/create", body, shop.secret, "http-refund")
    forged = {**headers, "X-Shopify-Hmac-Sha256": "AAAA"}
    assert requests.post(url, data=body, headers=forged, timeout=10).status_code == 401
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200
    assert requests.post(url, data=body, headers=headers, timeout=10).status_code == 200  # Shopify's retry
    result = outcome(database, shop, chain)
    assert (result["status"], result["completed_at"]) == ("completed", FULFILLED_AT)
    assert result["balances"]["D"]["pending"] == 2490
    assert count(database, InboxEvent, shop) == 3
