"""Webhook intake: verify, store once, acknowledge; every bad input is a 4xx JSON error with no row."""

import json

import pytest
from sqlalchemy import func, select

from plugin.models import Commission, InboxEvent, LedgerEntry, Order
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
def test_missing_required_header_is_4xx(client, shop, database, header):
    body = fixture_bytes("shopify", "orders_paid")
    headers = shopify_headers("orders/paid", body, shop.secret)
    del headers[header]
    reply = client.post(shop.webhook_url, data=body, headers=headers)
    assert 400 <= reply.status_code < 500
    assert reply.get_json()["error"]["code"] == "bad_payload"
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
    assert nothing_stored(database)


@pytest.mark.parametrize(("url", "status"), [("/webhooks/shopify/999999", 404), ("/webhooks/nosuch/1", 404)])
def test_unknown_shop_or_platform_is_404_json(client, shop, database, url, status):
    body = fixture_bytes("shopify", "orders_paid")
    reply = client.post(url, data=body, headers=shopify_headers("orders/paid", body, shop.secret))
    assert reply.status_code == status
    assert "error" in reply.get_json()
    assert nothing_stored(database)


def test_wrong_method_is_json_405(client, shop):
    reply = client.get(shop.webhook_url)
    assert reply.status_code == 405
    assert reply.get_json()["error"]["code"] == "method_not_allowed"


def test_rotated_secret_old_and_new_both_verify_during_grace(send, shop, database):
    from plugin import shops

    with database.transaction() as session:
        new_secret = shops.rotate_secret(session, shop.id, "the-new-secret")
    old = shop.secret
    assert send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid")).status_code == 200
    shop.secret = new_secret
    assert send(shop, "orders/fulfilled", fixture_bytes("shopify", "orders_fulfilled")).status_code == 200
    assert old != new_secret
    assert count(database, InboxEvent) == 2
