"""Webhook intake: verify, store once, acknowledge; every bad input is a 4xx JSON error with no row."""

import json

import pytest
from sqlalchemy import func, select

from plugin.commissions.models import Commission
from plugin.inbox.models import InboxEvent
from plugin.ledger.models import LedgerEntry
from plugin.orders.models import Order
from tests.conftest import fixture_bytes, fixture_json, shopify_headers


def count(database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def nothing_stored(database) -> bool:
    return all(count(database, model) == 0 for model in (InboxEvent, Order, Commission, LedgerEntry))


def test_paid_order_is_stored_once_and_processed(send, shop, database):
    reply = send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"), "delivery-1")
    assert reply.status_code == 200
    assert reply.get_json() == {"ok": True}
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        assert (event.event_key, event.topic, event.kind, event.status) == (
            "delivery-1",
            "orders/paid",
            "order",
            "processed",
        )
        assert event.body == fixture_bytes("shopify", "orders_paid")
        order = session.scalar(select(Order))
        assert (order.external_id, order.status, order.paid_total) == ("820982911946154508", "paid", 39800)


def test_duplicate_delivery_is_acknowledged_and_processed_once(send, shop, database):
    body = fixture_bytes("shopify", "orders_paid")
    assert send(shop, "orders/paid", body, "same-id").status_code == 200
    assert send(shop, "orders/paid", body, "same-id").status_code == 200
    assert count(database, InboxEvent) == 1
    with database.transaction() as session:
        assert session.scalar(select(InboxEvent.attempts)) == 1


def test_the_same_signed_body_under_a_new_delivery_id_is_the_same_delivery(send, shop, database):
    body = fixture_bytes("shopify", "orders_paid")
    assert send(shop, "orders/paid", body, "first").get_json() == {"ok": True}
    assert send(shop, "orders/paid", body, "second").get_json() == {"ok": True}
    with database.transaction() as session:
        assert session.execute(select(InboxEvent.event_key, InboxEvent.attempts)).all() == [("first", 1)]
    # the same bytes under another topic are another delivery
    assert send(shop, "orders/updated", body, "third").status_code == 200
    assert count(database, InboxEvent) == 2


def test_unknown_topic_is_recorded_and_ignored(send, shop, database):
    reply = send(shop, "products/create", {"id": 1, "title": "Tee"})
    assert reply.status_code == 200
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        assert (event.kind, event.status) == ("ignored", "ignored")
    assert count(database, Order) == 0


@pytest.mark.parametrize("signature", ["", "bm90LXRoZS1yaWdodC1vbmU=", None])
def test_bad_or_missing_signature_is_401_and_stores_nothing(client, shop, database, signature):
    body = fixture_bytes("shopify", "orders_paid")
    headers = shopify_headers("orders/paid", body, shop.secret)
    if signature is None:
        del headers["X-Shopify-Hmac-Sha256"]
    else:
        headers["X-Shopify-Hmac-Sha256"] = signature
    reply = client.post(shop.webhook_url, data=body, headers=headers)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "bad_signature"
    assert nothing_stored(database)


def test_signature_by_another_shops_secret_is_refused(client, make_shop, database):
    mine, other = make_shop(), make_shop()
    body = fixture_bytes("shopify", "orders_paid")
    reply = client.post(
        mine.webhook_url, data=body, headers=shopify_headers("orders/paid", body, other.secret)
    )
    assert reply.status_code == 401
    assert nothing_stored(database)


def test_body_changed_after_signing_is_refused(client, shop, database):
    body = fixture_bytes("shopify", "orders_paid")
    headers = shopify_headers("orders/paid", body, shop.secret)
    reply = client.post(shop.webhook_url, data=body.replace(b"149.00", b"1490.00"), headers=headers)
    assert reply.status_code == 401
    assert nothing_stored(database)


def _paid(**changes) -> bytes:
    payload = fixture_json("shopify", "orders_paid")
    for dotted, value in changes.items():
        target, *path, last = [payload, *dotted.split("__")]
        for key in path:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return json.dumps(payload).encode()


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"[1, 2]", 400, "body"),
        (_paid(line_items=KeyError), 422, "line_items"),
        (_paid(line_items=[]), 422, "line_items"),
        (_paid(currency=KeyError), 422, "currency"),
        (_paid(line_items__0__price="abc"), 422, "line_items.0.price"),
        (_paid(line_items__0__price=149.0), 422, "line_items.0.price"),
        (_paid(line_items__0__quantity="2"), 422, "line_items.0.quantity"),
        (_paid(line_items__0__quantity=0), 422, "line_items.0.quantity"),
        (_paid(created_at="yesterday"), 422, "created_at"),
        (_paid(total_price="abc"), 422, "total_price"),
        (_paid(subtotal_price=398), 422, "subtotal_price"),
        (_paid(line_items__0__total_discount="-1.00"), 422, "line_items.0.total_discount"),
        (_paid(line_items__0__price="100000000000000.00"), 422, "line_items.0.price"),
        (_paid(line_items__0__price="999999999999999999.99"), 422, "line_items.0.price"),
        (_paid(line_items__0__quantity=2**31), 422, "line_items.0.quantity"),
        (
            _paid(line_items__0__price="9999999999.00", line_items__0__quantity=100000),
            422,
            "line_items.0.price",
        ),
        (_paid(test="yes"), 422, "test"),
    ],
)
def test_malformed_payload_is_4xx_naming_the_field_and_stores_nothing(
    send, shop, database, body, status, field
):
    reply = send(shop, "orders/paid", body)
    assert reply.status_code == status, reply.get_json()
    error = reply.get_json()["error"]
    assert error["code"] == "bad_payload"
    assert error["field"] == field
    assert nothing_stored(database)


@pytest.mark.parametrize(
    "header", ["X-Shopify-Topic", "X-Shopify-Webhook-Id", "X-Shopify-Shop-Domain", "X-Shopify-API-Version"]
)
def test_missing_required_header_is_422_naming_it(client, shop, database, header):
    body = fixture_bytes("shopify", "orders_paid")
    headers = shopify_headers("orders/paid", body, shop.secret)
    del headers[header]
    reply = client.post(shop.webhook_url, data=body, headers=headers)
    assert reply.status_code == 422
    assert reply.get_json() == {
        "error": {"code": "bad_payload", "message": f"missing {header} header", "field": header}
    }
    assert nothing_stored(database)


def test_oversized_body_is_413_json(client, shop, database, app):
    body = b"{" + b" " * app.config["MAX_CONTENT_LENGTH"] + b"}"
    reply = client.post(
        shop.webhook_url, data=body, headers=shopify_headers("orders/paid", body, shop.secret)
    )
    assert reply.status_code == 413
    assert reply.get_json()["error"]["code"] == "request_entity_too_large"
    assert nothing_stored(database)


def test_empty_body_is_400(client, shop, database):
    reply = client.post(shop.webhook_url, data=b"", headers=shopify_headers("orders/paid", b"", shop.secret))
    assert reply.status_code == 400
    assert reply.get_json() == {"error": {"code": "bad_payload", "message": "empty body", "field": "body"}}
    assert nothing_stored(database)


@pytest.mark.parametrize(
    ("url", "code", "field"),
    [
        ("/webhooks/shopify/999999", "not_found", "shop_id"),
        ("/webhooks/nosuch/1", "unknown_platform", "platform"),
        (f"/webhooks/shopify/{2**63}", "not_found", None),
        ("/webhooks/shopify/0", "not_found", None),
    ],
)
def test_unknown_shop_or_platform_is_404_json(client, shop, database, url, code, field):
    body = fixture_bytes("shopify", "orders_paid")
    reply = client.post(url, data=body, headers=shopify_headers("orders/paid", body, shop.secret))
    assert reply.status_code == 404
    error = reply.get_json()["error"]
    assert (error["code"], error.get("field")) == (code, field)
    assert nothing_stored(database)


def test_a_shop_on_another_platform_is_404(client, shop, database, monkeypatch):
    from adapters.registry import PLATFORMS

    monkeypatch.setitem(PLATFORMS, "othershop", PLATFORMS["shopify"])
    body = fixture_bytes("shopify", "orders_paid")
    reply = client.post(
        f"/webhooks/othershop/{shop.id}", data=body, headers=shopify_headers("orders/paid", body, shop.secret)
    )
    assert reply.status_code == 404
    assert reply.get_json()["error"]["field"] == "platform"
    assert nothing_stored(database)


def test_wrong_method_is_json_405(client, shop):
    reply = client.get(shop.webhook_url)
    assert reply.status_code == 405
    assert reply.get_json()["error"]["code"] == "method_not_allowed"


def test_rotated_secret_old_and_new_both_verify_during_grace(send, shop, database):
    from plugin.shops import tenants

    with database.transaction() as session:
        new_secret = tenants.rotate_secret(session, shop.id, "the-new-secret-4567")
    old = shop.secret
    assert send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid")).status_code == 200
    shop.secret = new_secret
    assert send(shop, "orders/fulfilled", fixture_bytes("shopify", "orders_fulfilled")).status_code == 200
    assert old != new_secret
    assert count(database, InboxEvent) == 2


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"currency": "USD"}, "order currency USD is not the shop's currency CNY"),
        ({"test": True}, "test order: the platform marked it as a test, it earns nothing"),
    ],
)
def test_an_order_in_another_currency_or_a_test_order_is_kept_as_ignored_and_earns_nothing(
    send, shop, database, changes, reason
):
    payload = {**fixture_json("shopify", "orders_paid"), **changes}
    assert send(shop, "orders/paid", payload).get_json() == {"ok": True}
    with database.transaction() as session:
        assert session.execute(select(InboxEvent.status, InboxEvent.reason)).all() == [("ignored", reason)]
    assert (count(database, Order), count(database, Commission), count(database, LedgerEntry)) == (0, 0, 0)


def test_a_refund_in_another_currency_is_kept_as_ignored(send, shop, database):
    from plugin.cli.demo import seed_chain

    with database.transaction() as session:
        seed_chain(session, shop.id)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    refund = fixture_json("shopify", "refunds_create")
    refund["refund_line_items"][0]["subtotal_set"]["shop_money"]["currency_code"] = "USD"
    refund["transactions"][0]["currency"] = "USD"
    assert send(shop, "refunds/create", refund).status_code == 200
    with database.transaction() as session:
        assert session.execute(select(InboxEvent.topic, InboxEvent.status, InboxEvent.reason)).all() == [
            ("orders/paid", "processed", None),
            ("refunds/create", "ignored", "refund currency USD is not the shop's currency CNY"),
        ]
        assert sorted(session.scalars(select(Commission.reversed))) == [0, 0, 0, 0]


def test_the_signature_is_checked_before_any_write_lock(client, shop, database, database_url):
    """A flood of unsigned posts must never queue behind (or block) the writers."""
    import sqlite3
    import threading

    body = fixture_bytes("shopify", "orders_paid")
    headers = shopify_headers("orders/paid", body, "not-the-secret")
    holding, release = threading.Event(), threading.Event()

    def writer():  # the job thread in the middle of a long write
        with database.transaction():
            holding.set()
            release.wait(10)

    other = None
    if database_url.startswith("sqlite"):  # and another process holding SQLite's write lock
        other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    thread = threading.Thread(target=writer)
    thread.start()
    holding.wait(5)
    replies = []
    request = threading.Thread(
        target=lambda: replies.append(client.post(shop.webhook_url, data=body, headers=headers))
    )
    try:
        request.start()
        request.join(3)
        assert not request.is_alive(), "the unsigned request waited for the write lock"
        assert replies[0].status_code == 401
    finally:
        if other is not None:
            other.rollback()
            other.close()
        release.set()
        thread.join()
        request.join()
    assert nothing_stored(database)


def test_an_old_secret_stops_working_when_its_grace_period_ends(send, shop, database, monkeypatch):
    from datetime import timedelta

    from plugin.shops import tenants

    with database.transaction() as session:
        new_secret = tenants.rotate_secret(session, shop.id, "the-new-secret-0123")
    old_secret = shop.secret
    rotated_at = tenants.utcnow()
    monkeypatch.setattr(tenants, "utcnow", lambda: rotated_at + tenants.ROTATION_GRACE - timedelta(seconds=5))
    assert send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid")).status_code == 200
    monkeypatch.setattr(tenants, "utcnow", lambda: rotated_at + tenants.ROTATION_GRACE + timedelta(seconds=5))
    refused = send(shop, "orders/fulfilled", fixture_bytes("shopify", "orders_fulfilled"))
    assert refused.status_code == 401
    shop.secret = new_secret
    assert send(shop, "orders/fulfilled", fixture_bytes("shopify", "orders_fulfilled")).status_code == 200
    assert old_secret != new_secret
    assert count(database, InboxEvent) == 2


def test_each_request_and_each_drained_batch_log_one_line(send, shop, caplog):
    import logging
    import re

    caplog.set_level(logging.INFO)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"), "log-1")
    send(shop, "orders/paid", b"{not json", "log-2")
    http = [r.getMessage() for r in caplog.records if r.name == "fenxiao.http"]
    assert len(http) == 2
    assert re.fullmatch(rf"POST /webhooks/shopify/{shop.id} 200 \d+\.\d ms", http[0])
    assert re.fullmatch(rf"POST /webhooks/shopify/{shop.id} 400 \d+\.\d ms", http[1])
    events = [r.getMessage() for r in caplog.records if r.name == "plugin.inbox.mailbox"]
    assert len(events) == 1
    assert re.fullmatch(r"drained 1 events \(processed=1\) in \d+\.\d ms", events[0])
