"""Youzan pushes through the app: verified, stored once, acknowledged with Youzan's reply, and
applied so that any arrival order of paid, refund and success ends in the same ledger."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote, urlencode

import pytest
import requests
import responses
from sqlalchemy import func, select

from adapters.youzan import SIGN_HEADER, encode_msg, sign_youzan_event, youzan_headers
from plugin.commissions.models import Commission
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.ledger.models import AccountKind, LedgerEntry
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.orders.models import Order
from plugin.platforms import connections
from plugin.shops import tenants
from plugin.shops.models import Shop
from tests.conftest import fixture_bytes, fixture_json

CLIENT_ID = "cc939cb8063622a84d"
OPEN_ID = "LnhGm4rh576452722916618240"  # buyer C in the samples
TID = "E20261111000500000100001"
ACK = {"code": 0, "msg": "success"}
SAMPLES = {
    "paid": "trade_TradeBuyerPay",
    "refund": "trade_refund_RefundSuccess",
    "success": "trade_TradeSuccess",
}
SHOP_ACCOUNTS = (AccountKind.COMMISSION_EXPENSE, AccountKind.TAX_WITHHELD, AccountKind.PAYOUT_CLEARING)


@pytest.fixture
def youzan_shop(make_shop, database):
    """A Youzan shop whose app id is configured (the intake verifies with it)."""
    shop = make_shop(platform="youzan")
    with database.transaction() as session:
        connections.configure(session, session.get(Shop, shop.id), client_id=CLIENT_ID, shop_ref="98523")
    return shop


def post(client, shop, body: bytes, *, secret: str | None = None, client_id: str = CLIENT_ID, **headers):
    signed = youzan_headers(client_id, body, secret or shop.secret)
    return client.post(shop.webhook_url, data=body, headers={**signed, **headers})


def push(name: str, msg=None, **fields) -> bytes:
    data = fixture_json("youzan", name)
    if msg is not None:
        fields["msg"] = encode_msg(msg) if isinstance(msg, dict) else msg
    for key, value in fields.items():
        if value is KeyError:
            data.pop(key, None)
        else:
            data[key] = value
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def count(database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def nothing_stored(database) -> bool:
    return all(count(database, model) == 0 for model in (InboxEvent, Order, Commission, LedgerEntry))


def events(database) -> list[tuple]:
    with database.transaction() as session:
        return session.execute(
            select(
                InboxEvent.event_key,
                InboxEvent.topic,
                InboxEvent.kind,
                InboxEvent.status,
                InboxEvent.attempts,
            ).order_by(InboxEvent.id)
        ).all()


def test_a_signed_paid_push_is_acknowledged_stored_once_and_processed(client, youzan_shop, database):
    body = fixture_bytes("youzan", "trade_TradeBuyerPay")
    reply = post(client, youzan_shop, body)
    assert reply.status_code == 200
    assert reply.get_json() == ACK
    assert events(database) == [
        ("a1d466ad-f9db-4a58-b805-f2a4dd65fa56", "trade_TradeBuyerPay", "order", "processed", 1)
    ]
    with database.transaction() as session:
        assert session.scalar(select(InboxEvent.body)) == body
        order = session.scalar(select(Order))
        assert (order.platform, order.external_id, order.status, order.paid_total, order.region) == (
            "youzan",
            TID,
            "paid",
            39800,
            "杭州市",
        )


def test_a_push_signed_only_in_its_body_is_accepted(client, youzan_shop, database):
    data = fixture_json("youzan", "trade_TradeBuyerPay")
    data["sign"] = sign_youzan_event(CLIENT_ID, data["msg"], youzan_shop.secret)
    reply = client.post(youzan_shop.webhook_url, json=data)
    assert (reply.status_code, reply.get_json()) == (200, ACK)
    assert [row[3] for row in events(database)] == ["processed"]


def test_a_form_encoded_push_is_accepted_and_processed(client, youzan_shop, database):
    data = fixture_json("youzan", "trade_TradeBuyerPay")
    body = urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in data.items()}).encode()
    reply = post(client, youzan_shop, body, **{"Content-Type": "application/x-www-form-urlencoded"})
    assert (reply.status_code, reply.get_json()) == (200, ACK)
    assert [row[2:4] for row in events(database)] == [("order", "processed")]
    assert count(database, Order) == 1


def test_without_a_configured_app_id_the_bodys_client_id_signs(client, make_shop, database):
    shop = make_shop(platform="youzan")
    reply = post(client, shop, fixture_bytes("youzan", "trade_TradeBuyerPay"))
    assert (reply.status_code, reply.get_json()) == (200, ACK)
    assert count(database, Order) == 1


@pytest.mark.parametrize(
    "forge",
    ["tampered body", "wrong secret", "another app", "no signature", "bad body sign"],
)
def test_a_push_that_does_not_verify_is_401_json_and_stores_nothing(client, youzan_shop, database, forge):
    body = fixture_bytes("youzan", "trade_TradeBuyerPay")
    headers = youzan_headers(CLIENT_ID, body, youzan_shop.secret)
    if forge == "tampered body":
        body = body.replace(b"149.00", b"14.90")
    elif forge == "wrong secret":
        headers = youzan_headers(CLIENT_ID, body, "not-the-secret")
    elif forge == "another app":
        headers = youzan_headers("another-app", body, youzan_shop.secret)
    else:
        del headers[SIGN_HEADER]
        if forge == "bad body sign":
            body = push("trade_TradeBuyerPay", sign="0" * 32)
    reply = client.post(youzan_shop.webhook_url, data=body, headers=headers)
    assert reply.status_code == 401
    assert reply.get_json()["error"]["code"] == "bad_signature"
    assert nothing_stored(database)


def test_a_heartbeat_is_acknowledged_and_stores_nothing(client, youzan_shop, database):
    body = fixture_bytes("youzan", "test_heartbeat")
    reply = post(client, youzan_shop, body)
    assert (reply.status_code, reply.get_json()) == (200, ACK)
    assert nothing_stored(database)
    assert post(client, youzan_shop, body, secret="not-the-secret").status_code == 401


def test_a_duplicate_or_resent_message_is_processed_once(client, youzan_shop, database):
    body = fixture_bytes("youzan", "trade_TradeBuyerPay")
    resent = push("trade_TradeBuyerPay", sendCount=1)
    for delivery in (body, body, resent):
        assert post(client, youzan_shop, delivery).get_json() == ACK
    assert events(database) == [
        ("a1d466ad-f9db-4a58-b805-f2a4dd65fa56", "trade_TradeBuyerPay", "order", "processed", 1)
    ]
    assert count(database, Order) == 1


def _paid_with(path: str, value) -> bytes:
    msg = json.loads(unquote(fixture_json("youzan", "trade_TradeBuyerPay")["msg"]))
    target, *keys, last = [msg["full_order_info"], *path.split(".")]
    for key in keys:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[int(last) if isinstance(target, list) else last] = value
    return push("trade_TradeBuyerPay", msg=msg)


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, "body"),
        (b"[1, 2]", 400, "body"),
        (push("trade_TradeBuyerPay", msg_id=KeyError), 422, "msg_id"),
        (push("trade_TradeBuyerPay", type=KeyError), 422, "type"),
        (push("trade_TradeBuyerPay", test="no"), 422, "test"),
        (push("trade_TradeBuyerPay", msg=KeyError), 422, "msg"),
        (push("trade_TradeBuyerPay", msg=42), 422, "msg"),
        (push("trade_TradeBuyerPay", msg="%7Bnot-json"), 422, "msg"),
        (push("trade_TradeBuyerPay", msg={"tid": TID}), 422, "msg.full_order_info"),
        (_paid_with("orders.0.price", "abc"), 422, "msg.full_order_info.orders.0.price"),
        (_paid_with("orders.0.price", 149.0), 422, "msg.full_order_info.orders.0.price"),
        (_paid_with("orders.0.num", "2"), 422, "msg.full_order_info.orders.0.num"),
        (_paid_with("orders.0.payment", "999.00"), 422, "msg.full_order_info.orders.0.payment"),
        (_paid_with("order_info.created", "yesterday"), 422, "msg.full_order_info.order_info.created"),
        (_paid_with("orders", []), 422, "msg.full_order_info.orders"),
        (
            push(
                "trade_refund_RefundSuccess",
                msg=quote('{"tid":"E1","oids":"1","refund_id":"R","refunded_fee":149.005}'),
            ),
            422,
            "msg.refunded_fee",
        ),
        (push("trade_TradeSuccess", msg={"tid": TID}, version=1), 422, "msg.update_time"),
    ],
)
def test_a_malformed_push_is_4xx_naming_the_field_and_stores_nothing(
    client, youzan_shop, database, body, status, field
):
    reply = post(client, youzan_shop, body)
    assert reply.status_code == status, reply.get_json()
    error = reply.get_json()["error"]
    assert (error["code"], error["field"]) == ("bad_payload", field)
    assert nothing_stored(database)


@pytest.mark.parametrize("topic", ["item_ItemUpdate", "trade_refund_BuyerCreated", "trade_refund_SysRefund"])
def test_a_type_not_acted_on_is_stored_as_ignored(client, youzan_shop, database, topic):
    reply = post(client, youzan_shop, push("trade_refund_RefundSuccess", type=topic))
    assert (reply.status_code, reply.get_json()) == (200, ACK)
    assert [row[1:4] for row in events(database)] == [(topic, "ignored", "ignored")]
    assert count(database, Order) == 0


def test_old_and_new_secrets_both_verify_during_a_rotation(client, youzan_shop, database):
    with database.transaction() as session:
        new_secret = tenants.rotate_secret(session, youzan_shop.id, "the-new-youzan-secret-0001")
    assert post(client, youzan_shop, fixture_bytes("youzan", "trade_TradeBuyerPay")).get_json() == ACK
    refund = fixture_bytes("youzan", "trade_refund_RefundSuccess")
    assert post(client, youzan_shop, refund, secret=new_secret).get_json() == ACK
    assert [row[3] for row in events(database)] == ["processed", "processed"]


def test_a_push_over_real_http_is_acknowledged_and_processed(live_server, youzan_shop, database):
    body = fixture_bytes("youzan", "trade_TradeBuyerPay")
    headers = youzan_headers(CLIENT_ID, body, youzan_shop.secret)
    reply = requests.post(live_server + youzan_shop.webhook_url, data=body, headers=headers, timeout=10)
    assert (reply.status_code, reply.json()) == (200, ACK)
    assert reply.headers["Content-Type"].startswith("application/json")
    forged = requests.post(
        live_server + youzan_shop.webhook_url,
        data=body.replace(b"149.00", b"14.90"),
        headers=headers,
        timeout=10,
    )
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "bad_signature"
    assert [row[2:4] for row in events(database)] == [("order", "processed")]


# arrival order: paid, refund and success in any order (and each twice) end in one ledger


def play(client, make_shop, database, names) -> dict:
    """A fresh shop with chain A ← B ← buyer C (C bound beforehand, by yz_open_id), the
    pushes ``names`` delivered in that order, then the ledger as it stands."""
    shop = make_shop(platform="youzan")
    with database.transaction() as session:
        connections.configure(session, session.get(Shop, shop.id), client_id=CLIENT_ID, shop_ref="98523")
        chain = {name: member_for_identity(session, shop.id, "demo", f"member-{name}").id for name in "AB"}
        make_distributor(session, shop.id, chain["A"], invite_code="INV-YZA")
        make_distributor(session, shop.id, chain["B"], invite_code="INV-YZB")
        bind(session, shop.id, chain["B"], "INV-YZA")
        chain["C"] = member_for_identity(session, shop.id, "youzan", OPEN_ID).id
        bind(session, shop.id, chain["C"], "INV-YZB")
    for name in names:
        assert post(client, shop, fixture_bytes("youzan", SAMPLES[name])).get_json() == ACK
    with database.transaction() as session:
        order = session.scalar(select(Order).where(Order.shop_id == shop.id))
        return {
            "order": (
                order.status,
                order.paid_total,
                order.refunded_total,
                order.buyer_member_id == chain["C"],
            ),
            "commissions": sorted(
                (c.tier, c.beneficiary_id == chain["AB"[2 - c.tier]], c.amount, c.reversed, c.status)
                for c in session.scalars(select(Commission).where(Commission.shop_id == shop.id))
            ),
            "members": {
                name: journal.member_balances(session, shop.id, member_id, "CNY")
                for name, member_id in chain.items()
            },
            "shop": {
                kind.value: journal.balance(session, journal.shop_account(session, shop.id, kind, "CNY"))
                for kind in SHOP_ACCOUNTS
            },
            "unbalanced": journal.unbalanced_transactions(session, shop.id),
        }


def test_the_in_order_story_earns_commission_on_what_was_kept(client, make_shop, database):
    ledger = play(client, make_shop, database, ["paid", "refund", "success"])
    assert ledger["order"] == ("completed", 39800, 14900, True)
    # tier 1 (B) 10 %, tier 2 (A) 5 % of each line; the tee line gave back half of its 29800
    assert ledger["commissions"] == [
        (1, True, 1000, 0, "pending"),
        (1, True, 2980, 1490, "pending"),
        (2, True, 500, 0, "pending"),
        (2, True, 1490, 745, "pending"),
    ]
    kept = 39800 - 14900
    assert ledger["members"]["B"]["pending"] == kept // 10 == 2490
    assert ledger["members"]["A"]["pending"] == kept // 20 == 1245
    assert all(amount == 0 for amount in ledger["members"]["C"].values())
    assert ledger["shop"]["commission_expense"] == 2490 + 1245
    assert ledger["unbalanced"] == []


def test_every_arrival_order_of_paid_refund_success_each_twice_ends_in_the_same_ledger(
    client, make_shop, database
):
    in_order = play(client, make_shop, database, ["paid", "refund", "success"])
    for arrival in itertools.permutations(["paid", "refund", "success"]):
        doubled = [name for name in arrival for _ in range(2)]
        assert play(client, make_shop, database, doubled) == in_order, doubled
        assert play(client, make_shop, database, [*arrival, *arrival]) == in_order, arrival


@responses.activate
def test_the_workers_client_for_a_youzan_shop_obtains_and_keeps_its_token(youzan_shop, database):
    """``ApiFactory`` builds the adapter's client from the connection row; the token it obtains
    is kept (sealed) on the row, and the connection counts as connected."""
    from plugin.platforms.vault import Vault

    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    responses.post(
        "http://youzan.fake/auth/token",
        json={
            "success": True,
            "code": 200,
            "data": {"access_token": "tok", "expires": int(expires.timestamp()) * 1000},
        },
    )
    factory = connections.ApiFactory(Vault("a-test-secret-key"))
    with database.transaction() as session:
        shop = session.get(Shop, youzan_shop.id)
        row = connections.configure(
            session, shop, client_id=CLIENT_ID, shop_ref="98523", api_base="http://youzan.fake"
        )
        assert factory(session, shop).access_token() == "tok"
        assert (row.status, row.token_expires_at) == ("connected", expires)
    with database.transaction() as session:
        assert factory(session, session.get(Shop, youzan_shop.id)).access_token() == "tok"
    assert json.loads(responses.calls[0].request.body)["client_secret"] == youzan_shop.secret
    assert len(responses.calls) == 1
