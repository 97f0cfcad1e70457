"""The generic webhook through the app: signed deliveries are stored once and priced, bad ones
are refused with nothing stored, a replay is not refused for its age, any arrival order of the
purchase ends in the same ledger, and the OpenAPI document publishes the format."""

import itertools
import json
import time

import pytest
import requests
from flask import Flask
from flask_smorest import Api
from sqlalchemy import func, select

from adapters.generic import (
    EVENT_ID_HEADER,
    ORDER_JSON_SCHEMA,
    REFUND_JSON_SCHEMA,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOPIC_HEADER,
    TOPIC_KINDS,
    GenericAdapter,
    generic_headers,
)
from adapters.registry import PLATFORMS
from plugin.api import webhook_docs
from plugin.api.converters import IdConverter
from plugin.commissions.models import Commission
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.ledger.models import LedgerEntry
from plugin.members.bindings import bind
from plugin.members.directory import make_distributor, member_for_identity
from plugin.members.models import Binding, MemberIdentity
from plugin.orders import lifecycle
from plugin.orders.models import Order, Refund
from plugin.shops import tenants
from tests.conftest import fixture_bytes, fixture_json

ORDER_ID = "SO-20261111-0001"
BUYER = "U-10003"


def post(client, shop, topic, body, event_id="evt-1", *, secret=None, timestamp=None, **overrides):
    body = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = generic_headers(topic, body, secret or shop.secret, event_id, timestamp)
    headers.update(overrides)
    return client.post(
        shop.webhook_url, data=body, headers={k: v for k, v in headers.items() if v is not None}
    )


def count(database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model))


def nothing_stored(database) -> bool:
    return all(count(database, model) == 0 for model in (InboxEvent, Order, Commission, LedgerEntry))


def build_chain(database, shop_id: int) -> dict[str, int]:
    """Distributor B (invite code INV-B7K2, the fixtures' ref_code) invited by distributor A."""
    with database.transaction() as session:
        ids = {}
        for name, code in (("A", "INV-GEN-A"), ("B", "INV-B7K2")):
            member = member_for_identity(session, shop_id, "generic", f"member-{name}")
            make_distributor(session, shop_id, member.id, invite_code=code)
            session.flush()
            ids[name] = member.id
        bind(session, shop_id, ids["B"], "INV-GEN-A")
        return ids


@pytest.fixture
def shop(make_shop):
    return make_shop(platform="generic")


@pytest.fixture
def chain(database, shop):
    return build_chain(database, shop.id)


def ledger(database, shop_id: int, chain: dict[str, int]) -> dict:
    with database.transaction() as session:
        order = session.scalar(select(Order).where(Order.shop_id == shop_id))
        return {
            "status": order.status if order else None,
            "refunded_total": order.refunded_total if order else None,
            "refunds": session.scalar(
                select(func.count()).select_from(Refund).where(Refund.shop_id == shop_id)
            ),
            "commissions": sorted(
                (c.beneficiary_id == chain["B"], c.tier, c.amount, c.reversed, c.status)
                for c in session.scalars(select(Commission).where(Commission.shop_id == shop_id))
            ),
            "balances": {
                name: journal.member_balances(session, shop_id, member_id, "CNY")
                for name, member_id in chain.items()
            },
            "unbalanced": journal.unbalanced_transactions(session, shop_id),
        }


# accepted


def test_a_paid_order_is_stored_once_processed_and_binds_the_buyer_by_its_ref_code(
    client, shop, chain, database
):
    body = fixture_bytes("generic", "order_paid")
    reply = post(client, shop, "order.paid", body, "evt-paid")
    assert (reply.status_code, reply.get_json()) == (200, {"ok": True})
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        assert (event.event_key, event.topic, event.kind, event.status, event.body) == (
            "evt-paid",
            "order.paid",
            "order",
            "processed",
            body,
        )
        order = session.scalar(select(Order))
        assert (order.platform, order.external_id, order.status, order.paid_total, order.ref_code) == (
            "generic",
            ORDER_ID,
            "paid",
            39800,
            "INV-B7K2",
        )
        buyer = session.scalar(select(MemberIdentity).where(MemberIdentity.external_id == BUYER))
        binding = session.get(Binding, buyer.member_id)
        assert (binding.tier1_id, binding.tier2_id, binding.source) == (chain["B"], chain["A"], "order_ref")
    assert ledger(database, shop.id, chain)["commissions"] == [
        (False, 2, 500, 0, "pending"),
        (False, 2, 1490, 0, "pending"),
        (True, 1, 1000, 0, "pending"),
        (True, 1, 2980, 0, "pending"),
    ]


def test_deliveries_over_real_http(live_server, shop, chain, database):
    url = f"{live_server}{shop.webhook_url}"
    for topic, name in (("order.paid", "order_paid"), ("refund.created", "refund_created")):
        body = fixture_bytes("generic", name)
        reply = requests.post(
            url, data=body, headers=generic_headers(topic, body, shop.secret, name), timeout=10
        )
        assert (reply.status_code, reply.json()) == (200, {"ok": True})
    body = fixture_bytes("generic", "order_completed")
    forged = generic_headers("order.completed", body, "not-the-shop-secret", "forged")
    assert requests.post(url, data=body, headers=forged, timeout=10).status_code == 401
    state = ledger(database, shop.id, chain)
    assert (state["status"], state["refunds"], state["refunded_total"]) == ("paid", 1, 14900)
    assert state["balances"]["B"]["pending"] == 2980 - 1490 + 1000
    assert count(database, InboxEvent) == 2


def test_a_duplicate_event_id_is_acknowledged_and_processed_once(client, shop, chain, database):
    body = fixture_bytes("generic", "order_paid")
    assert post(client, shop, "order.paid", body, "evt-same").status_code == 200
    before = ledger(database, shop.id, chain)
    # the sender's retry: the same event id, signed again a little later
    retry = post(client, shop, "order.paid", body, "evt-same", timestamp=int(time.time()) + 2)
    assert (retry.status_code, retry.get_json()) == (200, {"ok": True})
    with database.transaction() as session:
        assert session.execute(select(InboxEvent.event_key, InboxEvent.attempts)).all() == [("evt-same", 1)]
    assert ledger(database, shop.id, chain) == before


def test_ping_is_acknowledged_and_stores_nothing(client, shop, database):
    reply = post(client, shop, "ping", b"{}", "evt-ping")
    assert (reply.status_code, reply.get_json()) == (200, {"ok": True})
    assert nothing_stored(database)
    assert post(client, shop, "ping", b"{}", "evt-ping-2", secret="not-the-shop-secret").status_code == 401


def test_an_unknown_topic_is_recorded_as_ignored(client, shop, database):
    reply = post(client, shop, "product.created", {"id": "P-TEE", "title": "Tee"}, "evt-product")
    assert (reply.status_code, reply.get_json()) == (200, {"ok": True})
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        assert (event.kind, event.status, event.reason) == (
            "ignored",
            "ignored",
            "topic product.created is not acted on",
        )
    assert count(database, Order) == 0


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"test": True}, "test order: the platform marked it as a test, it earns nothing"),
        ({"currency": "USD"}, "order currency USD is not the shop's currency CNY"),
    ],
)
def test_a_test_order_or_another_currency_is_kept_as_ignored(client, shop, chain, database, changes, reason):
    assert (
        post(client, shop, "order.paid", {**fixture_json("generic", "order_paid"), **changes}).status_code
        == 200
    )
    with database.transaction() as session:
        assert session.execute(select(InboxEvent.status, InboxEvent.reason)).all() == [("ignored", reason)]
    assert (count(database, Order), count(database, Commission), count(database, LedgerEntry)) == (0, 0, 0)


def test_the_old_and_new_secret_both_verify_during_a_rotation(client, shop, database):
    with database.transaction() as session:
        new_secret = tenants.rotate_secret(session, shop.id, "the-new-generic-secret-42")
    assert (
        post(client, shop, "order.paid", fixture_bytes("generic", "order_paid"), "evt-old").status_code == 200
    )
    completed = fixture_bytes("generic", "order_completed")
    assert post(client, shop, "order.completed", completed, "evt-new", secret=new_secret).status_code == 200
    assert count(database, InboxEvent) == 2


# refused


def refused_with(reply, status: int, code: str, field: str | None) -> None:
    assert reply.status_code == status, reply.get_json()
    error = reply.get_json()["error"]
    assert (error["code"], error.get("field")) == (code, field)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"secret": "not-the-shop-secret"}, SIGNATURE_HEADER),
        ({SIGNATURE_HEADER: None}, SIGNATURE_HEADER),
        ({SIGNATURE_HEADER: "sha256=" + "0" * 64}, SIGNATURE_HEADER),
        ({SIGNATURE_HEADER: "garbage"}, SIGNATURE_HEADER),
        ({TIMESTAMP_HEADER: None}, TIMESTAMP_HEADER),
        ({"timestamp": -600}, TIMESTAMP_HEADER),  # signed ten minutes ago: a replay
        ({"timestamp": 600}, TIMESTAMP_HEADER),  # signed ten minutes ahead
    ],
)
def test_a_bad_signature_or_timestamp_is_401_and_stores_nothing(client, shop, database, overrides, field):
    overrides = dict(overrides)  # the parameters are shared by both databases' runs
    offset = overrides.pop("timestamp", None)
    timestamp = None if offset is None else int(time.time()) + offset
    reply = post(
        client, shop, "order.paid", fixture_bytes("generic", "order_paid"), timestamp=timestamp, **overrides
    )
    refused_with(reply, 401, "bad_signature", field)
    assert nothing_stored(database)


def test_a_body_changed_after_signing_or_another_shops_secret_is_401(client, make_shop, shop, database):
    body = fixture_bytes("generic", "order_paid")
    headers = generic_headers("order.paid", body, shop.secret, "evt-1")
    tampered = client.post(shop.webhook_url, data=body.replace(b'"100.00"', b'"1.00"'), headers=headers)
    refused_with(tampered, 401, "bad_signature", SIGNATURE_HEADER)
    other = make_shop(platform="generic")
    refused_with(
        post(client, shop, "order.paid", body, secret=other.secret), 401, "bad_signature", SIGNATURE_HEADER
    )
    assert nothing_stored(database)


def paid(**changes) -> dict:
    data = fixture_json("generic", "order_paid")
    for dotted, value in changes.items():
        target, *path, last = [data, *dotted.split("__")]
        for key in path:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[int(last) if isinstance(target, list) else last] = value
    return data


@pytest.mark.parametrize(
    ("topic", "body", "status", "field"),
    [
        ("order.paid", b"{not json", 400, "body"),
        ("order.paid", b"[1, 2]", 400, "body"),
        ("order.paid", paid(lines__0__unit_price=149.0), 422, "lines.0.unit_price"),
        ("order.paid", paid(lines__0__unit_price="149.001"), 422, "lines.0.unit_price"),
        ("order.paid", paid(lines__1__paid_amount="120.00"), 422, "lines.1.paid_amount"),
        ("order.paid", paid(lines__0__quantity="2"), 422, "lines.0.quantity"),
        ("order.paid", paid(paid_at=None), 422, "paid_at"),
        ("order.paid", paid(buyer={"phone": "+8613700000003"}), 422, "buyer.id"),
        ("order.paid", fixture_json("generic", "refund_created"), 422, "status"),  # a refund as an order
        ("refund.created", {**fixture_json("generic", "refund_created"), "amount": "298.00"}, 422, "amount"),
        ("refund.created", {**fixture_json("generic", "refund_created"), "order_id": None}, 422, "order_id"),
    ],
)
def test_a_malformed_body_is_4xx_naming_the_field_and_stores_nothing(
    client, shop, database, topic, body, status, field
):
    refused_with(post(client, shop, topic, body), status, "bad_payload", field)
    assert nothing_stored(database)


@pytest.mark.parametrize("name", [EVENT_ID_HEADER, TOPIC_HEADER])
def test_a_missing_event_id_or_topic_is_422_and_stores_nothing(client, shop, database, name):
    reply = post(client, shop, "order.paid", fixture_bytes("generic", "order_paid"), **{name: None})
    assert reply.get_json() == {
        "error": {"code": "bad_payload", "message": f"missing {name} header", "field": name}
    }
    assert reply.status_code == 422
    assert nothing_stored(database)


def test_a_generic_delivery_to_a_shopify_shop_is_404(client, make_shop, database):
    shopify_shop = make_shop()
    body = fixture_bytes("generic", "order_paid")
    reply = client.post(
        f"/webhooks/generic/{shopify_shop.id}",
        data=body,
        headers=generic_headers("order.paid", body, shopify_shop.secret, "evt-1"),
    )
    refused_with(reply, 404, "not_found", "platform")
    assert nothing_stored(database)


# replay


def test_a_replay_is_not_refused_for_the_age_of_the_delivery(
    client, shop, chain, database, runner, monkeypatch
):
    """Intake verified the delivery once; ``fenxiao inbox replay`` days later applies it."""
    working = lifecycle.apply_snapshot

    def outage(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(lifecycle, "apply_snapshot", outage)
    body = fixture_bytes("generic", "order_paid")
    headers = generic_headers("order.paid", body, shop.secret, "evt-late")
    assert client.post(shop.webhook_url, data=body, headers=headers).status_code == 200
    with database.transaction() as session:
        event_id, status = session.execute(select(InboxEvent.id, InboxEvent.status)).one()
    assert status == "failed"
    monkeypatch.setattr(lifecycle, "apply_snapshot", working)
    a_week_later = GenericAdapter(clock=lambda: time.time() + 7 * 86400)
    monkeypatch.setitem(PLATFORMS, "generic", a_week_later)
    refused_with(
        client.post(shop.webhook_url, data=body, headers=headers), 401, "bad_signature", TIMESTAMP_HEADER
    )
    result = runner("inbox", "replay", str(event_id))
    assert (result.exit_code, result.output.strip()) == (0, "processed")
    assert ledger(database, shop.id, chain)["balances"]["B"]["pending"] == 2980 + 1000


# out of order

EVENTS = {
    "paid": ("order.paid", "order_paid"),
    "completed": ("order.completed", "order_completed"),
    "refund": ("refund.created", "refund_created"),
}
TIMELINE = ("paid", "completed", "refund")


def play(client, make_shop, database, names) -> dict:
    """Deliver the events in ``names`` order, each twice under its own id (a sender's retry, signed
    again), then the whole sequence again as other bytes under new ids (the same change sent as a
    new event), which only the domain can recognise."""
    shop = make_shop(platform="generic")
    chain = build_chain(database, shop.id)
    for name in names:
        topic, fixture = EVENTS[name]
        body = fixture_bytes("generic", fixture)
        for attempt in (0, 1):
            reply = post(client, shop, topic, body, f"evt-{name}", timestamp=int(time.time()) + attempt)
            assert reply.status_code == 200, (name, reply.get_json())
    for name in names:
        topic, fixture = EVENTS[name]
        again = json.dumps(fixture_json("generic", fixture), indent=1).encode()
        assert post(client, shop, topic, again, f"evt-{name}-again").status_code == 200
    with database.transaction() as session:
        statuses = session.scalars(select(InboxEvent.status).where(InboxEvent.shop_id == shop.id)).all()
    assert sorted(statuses) == ["processed"] * 6
    return ledger(database, shop.id, chain)


def test_every_arrival_order_of_the_purchase_ends_in_the_same_ledger(client, make_shop, database):
    in_order = play(client, make_shop, database, TIMELINE)
    assert in_order == {
        "status": "completed",
        "refunded_total": 14900,
        "refunds": 1,
        "commissions": [
            (False, 2, 500, 0, "pending"),
            (False, 2, 1490, 745, "pending"),
            (True, 1, 1000, 0, "pending"),
            (True, 1, 2980, 1490, "pending"),
        ],
        "balances": {
            "A": {"pending": 500 + 1490 - 745, "available": 0, "withdrawing": 0, "paid": 0, "arrears": 0},
            "B": {"pending": 1000 + 2980 - 1490, "available": 0, "withdrawing": 0, "paid": 0, "arrears": 0},
        },
        "unbalanced": [],
    }
    for names in itertools.permutations(TIMELINE):
        if names != TIMELINE:
            assert play(client, make_shop, database, names) == in_order, names


# the OpenAPI document


@pytest.fixture
def spec() -> dict:
    """A fresh app's flask-smorest Api configured as ``plugin.app`` does, with the docs added."""
    app = Flask(__name__)
    app.config.update(API_TITLE="fenxiao", API_VERSION="v1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    api.register_converter(
        IdConverter, lambda c: {"type": "integer", "format": "int64", "minimum": 1, "maximum": c.max}
    )
    webhook_docs.document(api)
    return api.spec.to_dict()


def test_the_openapi_document_publishes_both_bodies(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["GenericOrder"] == ORDER_JSON_SCHEMA
    assert schemas["GenericRefund"] == REFUND_JSON_SCHEMA


def test_the_openapi_document_describes_the_intake(spec):
    path = spec["paths"]["/webhooks/generic/{shop_id}"]
    assert path["parameters"] == [
        {
            "in": "path",
            "name": "shop_id",
            "description": "The shop's id in fenxiao.",
            "required": True,
            "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 2**63 - 1},
        }
    ]
    post_op = path["post"]
    headers = {p["name"]: p for p in post_op["parameters"] if p["in"] == "header"}
    assert set(headers) == {EVENT_ID_HEADER, TOPIC_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER}
    assert all(header["required"] for header in headers.values())
    assert headers[TOPIC_HEADER]["schema"]["enum"] == list(TOPIC_KINDS)
    assert post_op["security"] == []
    assert post_op["requestBody"]["content"]["application/json"]["schema"] == {
        "oneOf": [
            {"$ref": "#/components/schemas/GenericOrder"},
            {"$ref": "#/components/schemas/GenericRefund"},
        ]
    }
    assert set(post_op["responses"]) == {"200", "400", "401", "404", "413", "422"}
    ok = post_op["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["properties"] == {"ok": {"type": "boolean"}}


def test_the_openapi_document_stays_valid(spec):
    import openapi_spec_validator as validator

    validator.validate(spec)


def test_each_fixture_matches_exactly_one_body_of_the_oneof(spec):
    import openapi_schema_validator as validators

    body = spec["paths"]["/webhooks/generic/{shop_id}"]["post"]["requestBody"]["content"]["application/json"]
    schema = {**body["schema"], "components": spec["components"]}
    validator = validators.OAS30Validator(schema, format_checker=validators.oas30_format_checker)
    for name in ("order_paid", "order_completed", "refund_created", "refund_amount_only"):
        assert [error.message for error in validator.iter_errors(fixture_json("generic", name))] == [], name
    assert list(validator.iter_errors({"id": 1})) != []


def test_the_apps_openapi_document_publishes_the_generic_format(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert {"GenericOrder", "GenericRefund"} <= set(document["components"]["schemas"])
    operation = document["paths"]["/webhooks/generic/{shop_id}"]["post"]
    assert "oneOf" in str(operation["requestBody"])
