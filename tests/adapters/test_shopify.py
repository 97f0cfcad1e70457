import base64
import copy
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from adapters.base import KIND_IGNORED, KIND_ORDER, KIND_REFUND, Delivery
from adapters.errors import PayloadError, SignatureError
from adapters.schema import Buyer, Order, OrderLine, Refund, RefundLine
from adapters.shopify import REQUIRED_HEADERS, ShopifyAdapter
from adapters.signing import sign_shopify

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shopify"
SECRET = "shpss_current"
OLD_SECRET = "shpss_previous"
CST = timezone(timedelta(hours=8))
ADAPTER = ShopifyAdapter()


def raw(name):
    return (FIXTURES / name).read_bytes()


def payload(name):
    return json.loads(raw(name))


def encode(data):
    return json.dumps(data).encode("utf-8")


def headers_for(body, topic="orders/paid", secret=SECRET):
    headers = {k: v for k, v in json.loads(raw("headers.json")).items() if not k.startswith("_")}
    headers["X-Shopify-Topic"] = topic
    headers["X-Shopify-Hmac-Sha256"] = sign_shopify(body, secret)
    return headers


def normalize(body, topic="orders/paid"):
    body = body if isinstance(body, bytes) else encode(body)
    return ADAPTER.normalize(ADAPTER.describe(headers_for(body, topic), body), body)


def payload_error(body, topic="orders/paid"):
    with pytest.raises(PayloadError) as info:
        normalize(body, topic)
    return info.value.field


def outcome(data, topic):
    try:
        return normalize(data, topic)
    except PayloadError as error:
        return error


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


# verify


def test_sign_shopify_is_base64_hmac_sha256_of_raw_body():
    body = raw("orders_paid.json")
    expected = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
    assert sign_shopify(body, SECRET) == expected
    # HMAC_SHA256("key", "The quick brown fox ...") = f7bc83f4...3cd8, the textbook vector.
    fox = b"The quick brown fox jumps over the lazy dog"
    assert sign_shopify(fox, "key") == "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg="


def test_verify_accepts_exact_bytes_signed_with_the_secret():
    body = raw("orders_paid.json")
    assert ADAPTER.verify(headers_for(body), body, [SECRET]) is None


@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_verify_reads_header_names_case_insensitively(case):
    body = raw("orders_paid.json")
    headers = {case(k): v for k, v in headers_for(body).items()}
    ADAPTER.verify(headers, body, [SECRET])
    ADAPTER.verify(Headers(headers), body, [SECRET])


def test_verify_rejects_a_changed_body():
    body = raw("orders_paid.json")
    headers = headers_for(body)
    with pytest.raises(SignatureError):
        ADAPTER.verify(headers, body.replace(b"149.00", b"1.00"), [SECRET])


def test_verify_rejects_the_wrong_secret_and_no_secrets():
    body = raw("orders_paid.json")
    with pytest.raises(SignatureError):
        ADAPTER.verify(headers_for(body, secret="attacker"), body, [SECRET])
    with pytest.raises(SignatureError):
        ADAPTER.verify(headers_for(body), body, [])


@pytest.mark.parametrize("value", [None, "", "not base64", "é"])
def test_verify_rejects_missing_or_garbage_signature(value):
    body = raw("orders_paid.json")
    headers = headers_for(body)
    del headers["X-Shopify-Hmac-Sha256"]
    if value is not None:
        headers["X-Shopify-Hmac-Sha256"] = value
    with pytest.raises(SignatureError) as info:
        ADAPTER.verify(headers, body, [SECRET])
    assert info.value.code == "bad_signature"


@pytest.mark.parametrize("signer", [OLD_SECRET, SECRET])
def test_verify_accepts_either_secret_during_rotation(signer):
    body = raw("refunds_create.json")
    ADAPTER.verify(headers_for(body, "refunds/create", signer), body, [SECRET, OLD_SECRET])


def test_verify_treats_a_bare_string_as_one_secret():
    body = raw("orders_paid.json")
    ADAPTER.verify(headers_for(body), body, SECRET)
    with pytest.raises(SignatureError):
        ADAPTER.verify(headers_for(body, secret="s"), body, SECRET)


# describe


def test_describe_reads_the_envelope():
    body = raw("orders_paid.json")
    assert ADAPTER.describe(headers_for(body), body) == Delivery(
        event_key="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        topic="orders/paid",
        kind=KIND_ORDER,
        occurred_at=datetime(2026, 11, 10, 16, 5, 2, tzinfo=UTC),
    )


def test_describe_with_lowercase_header_names():
    body = raw("orders_paid.json")
    headers = {k.lower(): v for k, v in headers_for(body).items()}
    assert ADAPTER.describe(headers, body).event_key == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


@pytest.mark.parametrize("name", REQUIRED_HEADERS)
@pytest.mark.parametrize("value", [None, "", "  "])
def test_describe_requires_each_sdk_header(name, value):
    body = raw("orders_paid.json")
    headers = headers_for(body)
    del headers[name]
    if value is not None:
        headers[name] = value
    with pytest.raises(PayloadError) as info:
        ADAPTER.describe(headers, body)
    assert info.value.field == name
    assert info.value.to_dict()["code"] == "bad_payload"


@pytest.mark.parametrize(("name", "limit"), [("X-Shopify-Webhook-Id", 128), ("X-Shopify-Topic", 100)])
def test_describe_rejects_over_long_key_headers(name, limit):
    body = raw("orders_paid.json")
    headers = headers_for(body)
    headers[name] = "x" * limit
    ADAPTER.describe(headers, body)
    headers[name] = "x" * (limit + 1)
    with pytest.raises(PayloadError) as info:
        ADAPTER.describe(headers, body)
    assert info.value.field == name


def test_required_headers_are_the_sdk_five():
    assert REQUIRED_HEADERS == (
        "X-Shopify-Hmac-Sha256",
        "X-Shopify-Topic",
        "X-Shopify-Shop-Domain",
        "X-Shopify-API-Version",
        "X-Shopify-Webhook-Id",
    )


@pytest.mark.parametrize("value", ["yesterday", "2026-11-10T16:05:02", None])
def test_describe_leaves_occurred_at_empty_when_unusable(value):
    body = raw("orders_paid.json")
    headers = headers_for(body)
    del headers["X-Shopify-Triggered-At"]
    if value is not None:
        headers["X-Shopify-Triggered-At"] = value
    assert ADAPTER.describe(headers, body).occurred_at is None


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("orders/create", KIND_ORDER),
        ("orders/paid", KIND_ORDER),
        ("orders/fulfilled", KIND_ORDER),
        ("orders/partially_fulfilled", KIND_ORDER),
        ("orders/cancelled", KIND_ORDER),
        ("orders/updated", KIND_ORDER),
        ("orders/edited", KIND_IGNORED),
        ("refunds/create", KIND_REFUND),
        ("products/update", KIND_IGNORED),
        ("app/uninstalled", KIND_IGNORED),
    ],
)
def test_topic_kinds(topic, kind):
    body = raw("orders_paid.json")
    assert ADAPTER.describe(headers_for(body, topic), body).kind == kind


def test_unknown_topic_is_ignored_and_not_normalized():
    body = b'{"id": 1}'
    delivery = ADAPTER.describe(headers_for(body, "products/update"), body)
    assert delivery.kind == KIND_IGNORED
    assert ADAPTER.normalize(delivery, body) is None


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'"x"', b"null", b"\xff\xfe", b"[" * 100000])
def test_describe_requires_a_json_object_body(body):
    with pytest.raises(PayloadError) as info:
        ADAPTER.describe(headers_for(body), body)
    assert info.value.field == "body"


def test_acknowledgement():
    assert ADAPTER.acknowledgement() == {"ok": True}


# normalize: the sample purchase

TEE = OrderLine("487817672276298554", "788032119674292922", "TEE-WHITE-M", None, 2, 14900, 0, 29800)
CAP = OrderLine("487817672276298555", "788032119674292923", "CAP-BLK", None, 1, 12000, 2000, 10000)
BUYER_C = Buyer(
    external_id="115310627314723954",
    phone_hash=sha("+8613700000003"),
    email_hash=sha("buyer.c@example.com"),
    ip="203.0.113.7",
    device="9ad3c1",
    name="137****0003",  # the sample customer has no name: the phone, masked
)


def test_normalize_orders_paid():
    order = normalize(raw("orders_paid.json"))
    assert order == Order(
        platform="shopify",
        external_id="820982911946154508",
        status="paid",
        currency="CNY",
        channel="web",
        ref_code="INV-B7K2",
        buyer=BUYER_C,
        lines=(TEE, CAP),
        placed_at=datetime(2026, 11, 11, 0, 5, 0, tzinfo=CST),
        updated_at=datetime(2026, 11, 11, 0, 5, 2, tzinfo=CST),
        paid_at=datetime(2026, 11, 11, 0, 5, 2, tzinfo=CST),
        region="Hangzhou",
    )
    assert order.paid_total == 39800
    assert order.placed_at.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize("address", [None, "Hangzhou", {"city": 7}, {"city": "   "}, {}])
def test_region_is_read_tolerantly_from_the_shipping_address(address):
    data = payload("orders_paid.json")
    data["shipping_address"] = address
    assert normalize(data).region is None


def test_normalize_orders_fulfilled_is_completed():
    order = normalize(raw("orders_fulfilled.json"), "orders/fulfilled")
    assert order.status == "completed"
    assert order.completed_at == datetime(2026, 11, 13, 10, 0, tzinfo=CST)
    assert order.paid_at == datetime(2026, 11, 11, 0, 5, 2, tzinfo=CST)
    assert order.lines == (TEE, CAP)
    assert order.paid_total == 39800


def test_completed_at_is_the_latest_successful_fulfillment_else_updated_at():
    data = payload("orders_fulfilled.json")
    data["fulfillments"] = [
        {"status": "success", "created_at": "2026-11-12T10:00:00+08:00"},
        {"status": "cancelled", "created_at": "2026-11-20T10:00:00+08:00"},
        {"status": "success", "created_at": "2026-11-12T03:00:00Z"},
    ]
    assert normalize(data).completed_at == datetime(2026, 11, 12, 3, 0, tzinfo=UTC)
    data["fulfillments"] = []
    assert normalize(data).completed_at == datetime(2026, 11, 13, 10, 0, tzinfo=CST)


def test_normalize_refunds_create():
    refund = normalize(raw("refunds_create.json"), "refunds/create")
    assert refund == Refund(
        platform="shopify",
        external_id="890088186047892319",
        order_external_id="820982911946154508",
        currency="CNY",
        lines=(RefundLine("487817672276298554", 1, 14900),),
        created_at=datetime(2026, 11, 15, 9, 30, tzinfo=CST),
    )
    assert refund.total == 14900


def test_refund_never_reads_the_float_subtotal():
    data = payload("refunds_create.json")
    data["refund_line_items"][0]["subtotal"] = 0.1
    del data["refund_line_items"][0]["total_tax"]
    assert normalize(data, "refunds/create").lines == (RefundLine("487817672276298554", 1, 14900),)


def test_refund_currency_falls_back_to_the_transaction():
    data = payload("refunds_create.json")
    del data["refund_line_items"][0]["subtotal_set"]["shop_money"]["currency_code"]
    assert normalize(data, "refunds/create").currency == "CNY"
    data["transactions"] = []
    assert payload_error(data, "refunds/create") == "transactions"


def refund_of(lines: dict[str, str], transactions, **extra) -> dict:
    """A refunds/create payload naming ``lines`` (line id -> subtotal) with these transactions."""
    data = payload("refunds_create.json")
    template = data["refund_line_items"][0]
    data["refund_line_items"] = [
        {
            **copy.deepcopy(template),
            "line_item_id": int(line_id),
            "subtotal_set": {"shop_money": {"amount": amount, "currency_code": "CNY"}},
        }
        for line_id, amount in lines.items()
    ]
    if transactions is None:
        del data["transactions"]
    else:
        data["transactions"] = [
            {"kind": kind, "status": status, "amount": amount, "currency": currency}
            for kind, status, amount, currency in transactions
        ]
    data.update(extra)
    return data


def returned(data) -> tuple[dict[str, int], int]:
    refund = normalize(data, "refunds/create")
    return {line.line_external_id: line.amount for line in refund.lines}, refund.order_amount


def test_an_amount_only_refund_returns_an_order_amount():
    assert returned(refund_of({}, [("refund", "success", "65.00", "CNY")])) == ({}, 6500)


@pytest.mark.parametrize(
    "extra",
    [
        {
            "refund_shipping_lines": [
                {
                    "subtotal_amount_set": {"shop_money": {"amount": "8.00", "currency_code": "CNY"}},
                    "tax_amount_set": {"shop_money": {"amount": "2.00", "currency_code": "CNY"}},
                }
            ]
        },
        {"order_adjustments": [{"kind": "shipping_refund", "amount": "-8.00", "tax_amount": "-2.00"}]},
    ],
    ids=["refund_shipping_lines", "order_adjustments"],
)
def test_shipping_refunds_return_no_merchandise(extra):
    assert returned(refund_of({}, [("refund", "success", "10.00", "CNY")], **extra)) == ({}, 0)
    # shipping on top of a line: the line keeps its whole subtotal
    assert returned(refund_of({"1": "149.00"}, [("refund", "success", "159.00", "CNY")], **extra)) == (
        {"1": 14900},
        0,
    )


def test_a_refund_for_less_than_the_lines_subtotal_scales_the_lines_by_largest_remainder():
    lines = {"1": "149.00", "2": "100.00"}
    # 20000 split 14900 : 10000 = 11967.87 : 8032.13 -> 11968 + 8032
    assert returned(refund_of(lines, [("refund", "success", "200.00", "CNY")])) == (
        {"1": 11968, "2": 8032},
        0,
    )
    assert returned(refund_of({"1": "149.00"}, [("refund", "success", "100.00", "CNY")])) == ({"1": 10000}, 0)


def test_money_beyond_the_lines_subtotal_is_not_merchandise():
    # tax (prices without tax) or fees: the lines take back their subtotal, no more
    assert returned(refund_of({"1": "149.00"}, [("refund", "success", "158.94", "CNY")])) == ({"1": 14900}, 0)


@pytest.mark.parametrize(
    ("transactions", "expected"),
    [
        ([("refund", "success", "149.00", "CNY")], 14900),
        ([("refund", "pending", "149.00", "CNY")], 14900),  # promised: no second webhook comes
        ([("refund", "failure", "149.00", "CNY")], 0),
        ([("refund", "error", "149.00", "CNY")], 0),
        ([("refund", "success", "50.00", "CNY"), ("refund", "failure", "99.00", "CNY")], 5000),
        ([("sale", "success", "149.00", "CNY")], 0),
        ([], 0),  # a restock-only refund: no money moved
        ([("refund", "success", "20.00", "USD")], 14900),  # presentment currency: trust the lines
        (None, 14900),  # no transactions at all: trust the lines
    ],
)
def test_commission_follows_the_money_the_transactions_returned(transactions, expected):
    assert returned(refund_of({"1": "149.00"}, transactions)) == ({"1": expected}, 0)


def test_refund_lines_in_another_currency_rejected():
    data = payload("refunds_create.json")
    second = copy.deepcopy(data["refund_line_items"][0])
    second["subtotal_set"]["shop_money"]["currency_code"] = "USD"
    data["refund_line_items"].append(second)
    assert (
        payload_error(data, "refunds/create") == "refund_line_items.1.subtotal_set.shop_money.currency_code"
    )


# normalize: mapping rules


@pytest.mark.parametrize(
    ("financial", "fulfillment", "cancelled_at", "status"),
    [
        ("pending", None, None, "created"),
        ("authorized", None, None, "created"),
        ("partially_paid", None, None, "created"),
        ("partially_paid", "fulfilled", None, "created"),
        ("paid", None, None, "paid"),
        ("paid", "partial", None, "paid"),
        ("partially_refunded", None, None, "paid"),
        ("refunded", None, None, "paid"),
        ("paid", "fulfilled", None, "completed"),
        ("refunded", "fulfilled", None, "completed"),
        ("pending", "fulfilled", None, "created"),
        ("paid", "fulfilled", "2026-11-12T00:00:00+08:00", "cancelled"),
        ("voided", None, "2026-11-12T00:00:00+08:00", "cancelled"),
    ],
)
def test_status_rules(financial, fulfillment, cancelled_at, status):
    data = payload("orders_paid.json")
    data.update(financial_status=financial, fulfillment_status=fulfillment, cancelled_at=cancelled_at)
    order = normalize(data)
    assert order.status == status
    assert (order.paid_at is not None) == (financial in ("paid", "partially_refunded", "refunded"))
    assert (order.completed_at is not None) == (status == "completed")


def test_cancelled_at_is_kept():
    data = payload("orders_paid.json")
    data["cancelled_at"] = "2026-11-12T00:00:00+08:00"
    assert normalize(data).cancelled_at == datetime(2026, 11, 12, tzinfo=CST)


def test_ref_code_from_landing_site_only():
    data = payload("orders_paid.json")
    del data["note_attributes"]
    data["landing_site"] = "/products/tee?utm_source=wx&ref=LAND-9&ref=LATER"
    assert normalize(data).ref_code == "LAND-9"


def test_ref_code_prefers_note_attributes():
    data = payload("orders_paid.json")
    data["note_attributes"] = [{"name": "gift", "value": "yes"}, {"name": "ref", "value": " NOTE-1 "}]
    data["landing_site"] = "https://shop.example/?ref=LAND-9"
    assert normalize(data).ref_code == "NOTE-1"


@pytest.mark.parametrize(
    ("notes", "landing_site", "ref_code"),
    [
        (None, None, None),
        ([], "/products/tee", None),
        ("ref=X", "/?ref=LAND-9", "LAND-9"),
        ([{"name": "ref", "value": ""}, "junk", {"name": 3}], "/?ref=LAND-9", "LAND-9"),
        ([{"name": "ref", "value": "X" * 65}], "/?ref=" + "Y" * 65, None),
        (None, "http://[broken/?ref=X", None),
        (None, 42, None),
    ],
)
def test_ref_code_is_read_tolerantly(notes, landing_site, ref_code):
    data = payload("orders_paid.json")
    data.update(note_attributes=notes, landing_site=landing_site)
    assert normalize(data).ref_code == ref_code


def test_buyer_without_customer_is_keyed_by_email_hash():
    data = payload("orders_paid.json")
    del data["customer"], data["browser_ip"]
    data["email"] = "  Buyer.C@Example.com "
    data["client_details"] = {"browser_ip": "198.51.100.1", "user_agent": "UA/1"}
    buyer = normalize(data).buyer
    assert buyer == Buyer(
        external_id="email:" + sha("buyer.c@example.com"),
        phone_hash=None,
        email_hash=sha("buyer.c@example.com"),
        ip="198.51.100.1",
        device="UA/1",
    )


def test_buyer_without_customer_or_email_rejected():
    data = payload("orders_paid.json")
    data["customer"] = None
    assert payload_error(data) == "customer"


def test_line_product_falls_back_to_variant_then_line_id_and_reads_product_type():
    data = payload("orders_paid.json")
    data["line_items"][0].update(product_id=None, product_type="Apparel", sku="")
    del data["line_items"][1]["product_id"], data["line_items"][1]["variant_id"]
    tee, cap = normalize(data).lines
    assert (tee.product_id, tee.category, tee.sku) == ("642667041472713922", "Apparel", None)
    assert cap.product_id == "487817672276298555"


def test_discount_uses_total_discount_without_allocations():
    data = payload("orders_paid.json")
    del data["line_items"][1]["discount_allocations"]
    data["line_items"][1]["total_discount"] = "25.50"
    assert normalize(data).lines[1] == CAP.__class__(
        **{**CAP.__dict__, "discount": 2550, "paid_amount": 9450}
    )


def test_discount_allocations_are_summed():
    data = payload("orders_paid.json")
    data["line_items"][0]["discount_allocations"] = [{"amount": "10.00"}, {"amount": "0.50"}]
    assert normalize(data).lines[0].paid_amount == 29800 - 1050


def test_channel_from_source_name():
    data = payload("orders_paid.json")
    data["source_name"] = "pos"
    assert normalize(data).channel == "pos"
    data["source_name"] = None
    assert normalize(data).channel == "web"


# normalize: malformed payloads


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["line_items"][0].update(price="abc"), "line_items.0.price"),
        (lambda d: d["line_items"][0].update(price=149.0), "line_items.0.price"),
        (lambda d: d["line_items"][0].update(price="-1.00"), "line_items.0.price"),
        (lambda d: d["line_items"][0].update(price="1e999999"), "line_items.0.price"),
        (lambda d: d["line_items"][0].update(price="1.001"), "line_items.0.price"),
        (lambda d: d["line_items"][0].pop("price"), "line_items.0.price"),
        (lambda d: d["line_items"][1].update(quantity="2"), "line_items.1.quantity"),
        (lambda d: d["line_items"][1].update(quantity=0), "line_items.1.quantity"),
        (lambda d: d["line_items"][1].update(quantity=True), "line_items.1.quantity"),
        (lambda d: d.pop("line_items"), "line_items"),
        (lambda d: d.update(line_items=[]), "line_items"),
        (lambda d: d.update(line_items={"0": {}}), "line_items"),
        (lambda d: d["line_items"].append("x"), "line_items.2"),
        (lambda d: d["line_items"][1].update(id=None), "line_items.1.id"),
        (lambda d: d["line_items"][1].update(id=[1]), "line_items.1.id"),
        (lambda d: d["line_items"][1].update(id=d["line_items"][0]["id"]), "lines"),
        (
            lambda d: d["line_items"][1]["discount_allocations"][0].update(amount=20),
            "line_items.1.discount_allocations.0.amount",
        ),
        (
            lambda d: d["line_items"][1].update(discount_allocations="20.00"),
            "line_items.1.discount_allocations",
        ),
        (
            lambda d: d["line_items"][1]["discount_allocations"][0].update(amount="121.00"),
            "line_items.1.discount_allocations",
        ),
        (lambda d: d.pop("id"), "id"),
        (lambda d: d.update(id=1.5), "id"),
        (lambda d: d.update(currency="yuan"), "currency"),
        (lambda d: d.pop("currency"), "currency"),
        (lambda d: d.update(created_at="2026-11-11T00:05:00"), "created_at"),
        (lambda d: d.update(updated_at="soon"), "updated_at"),
        (lambda d: d.update(processed_at=123), "processed_at"),
        (lambda d: d.update(financial_status=["paid"]), "financial_status"),
        (lambda d: d.update(customer=[1]), "customer"),
        (lambda d: d["customer"].pop("id"), "customer.id"),
        (lambda d: d["customer"].update(email=5), "customer.email"),
        (lambda d: d.update(client_details="x"), "client_details"),
        (lambda d: d.update(source_name=7), "source_name"),
    ],
)
def test_malformed_order_names_the_field(mutate, field):
    data = payload("orders_paid.json")
    mutate(data)
    assert payload_error(data) == field


def test_malformed_fulfillment_names_the_field():
    data = payload("orders_fulfilled.json")
    data["fulfillments"][0]["created_at"] = "2026-13-01T00:00:00Z"
    assert payload_error(data, "orders/fulfilled") == "fulfillments.0.created_at"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("order_id"), "order_id"),
        (lambda d: d.update(refund_line_items={}), "refund_line_items"),
        (lambda d: d.update(transactions={}), "transactions"),
        (lambda d: d["transactions"][0].update(amount="abc"), "transactions.0.amount"),
        (lambda d: d["transactions"][0].update(amount=149.0), "transactions.0.amount"),
        (lambda d: d["transactions"][0].update(currency="cny"), "transactions.0.currency"),
        (
            lambda d: d.update(order_adjustments=[{"kind": "shipping_refund", "amount": "x"}]),
            "order_adjustments.0.amount",
        ),
        (
            lambda d: d.update(
                refund_shipping_lines=[{"subtotal_amount_set": {"shop_money": {"amount": 8.0}}}]
            ),
            "refund_shipping_lines.0.subtotal_amount_set.shop_money.amount",
        ),
        (lambda d: d["refund_line_items"][0].pop("line_item_id"), "refund_line_items.0.line_item_id"),
        (lambda d: d["refund_line_items"][0].update(quantity="1"), "refund_line_items.0.quantity"),
        (lambda d: d["refund_line_items"][0].update(quantity=-1), "refund_line_items.0.quantity"),
        (lambda d: d["refund_line_items"][0].pop("subtotal_set"), "refund_line_items.0.subtotal_set"),
        (
            lambda d: d["refund_line_items"][0]["subtotal_set"]["shop_money"].update(amount=149.0),
            "refund_line_items.0.subtotal_set.shop_money.amount",
        ),
        (lambda d: d.update(processed_at=None, created_at=None), "created_at"),
        (lambda d: d.update(created_at="yesterday"), "created_at"),
    ],
)
def test_malformed_refund_names_the_field(mutate, field):
    data = payload("refunds_create.json")
    mutate(data)
    assert payload_error(data, "refunds/create") == field


def test_normalize_rejects_a_body_that_is_not_an_object():
    delivery = Delivery(event_key="k", topic="orders/paid", kind=KIND_ORDER)
    with pytest.raises(PayloadError) as info:
        ADAPTER.normalize(delivery, b"[1]")
    assert info.value.field == "body"


ODD_VALUES = [None, "", "abc", "2", 1.5, -1, 0, True, [], {}, [{}], {"a": 1}, 10**40, "1e999999"]


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*path, index))


# How the adapter reads each field of the sample payloads (indexes written as *). A field not
# listed is read strictly as the type given; TOLERANT fields never cause a 4xx; IGNORED fields
# are not read at all, so no value in them changes the result.
FIELD_TYPES = {
    "id": "id",
    "order_id": "id",
    "currency": "currency",
    "total_price": "money?",
    "subtotal_price": "money?",
    "current_total_price": "money?",
    "financial_status": "text?",
    "fulfillment_status": "text?",
    "cancelled_at": "time?",
    "processed_at": "time?",
    "created_at": "time",
    "updated_at": "time",
    "test": "flag?",
    "browser_ip": "text?",
    "source_name": "text?",
    "client_details": "object?",
    "client_details.browser_ip": "text?",
    "client_details.user_agent": "text?",
    "client_details.session_hash": "text?",
    "customer": "object?",
    "customer.id": "id",
    "customer.email": "text?",
    "customer.phone": "text?",
    "line_items": "list",
    "line_items.*": "object",
    "line_items.*.id": "id",
    "line_items.*.product_id": "id?",
    "line_items.*.sku": "text?",
    "line_items.*.quantity": "quantity",
    "line_items.*.price": "money",
    "line_items.*.total_discount": "money?",
    "line_items.*.discount_allocations": "list?",
    "line_items.*.discount_allocations.*": "object",
    "line_items.*.discount_allocations.*.amount": "money",
    "fulfillments": "list?",
    "fulfillments.*": "object",
    "fulfillments.*.created_at": "time?",
    "refund_line_items": "list?",
    "refund_line_items.*": "object",
    "refund_line_items.*.line_item_id": "id",
    "refund_line_items.*.quantity": "quantity0",
    "refund_line_items.*.subtotal_set": "object",
    "refund_line_items.*.subtotal_set.shop_money": "object",
    "refund_line_items.*.subtotal_set.shop_money.amount": "money",
    "refund_line_items.*.subtotal_set.shop_money.currency_code": "currency?",
    "transactions": "list?",
    "transactions.*": "object",
    "transactions.*.kind": "text?",
    "transactions.*.status": "text?",
    "transactions.*.amount": "money",
    "transactions.*.currency": "currency?",
}
TOLERANT = {
    "note_attributes",
    "note_attributes.*",
    "note_attributes.*.name",
    "note_attributes.*.value",
    "landing_site",
    "shipping_address",
    "shipping_address.city",
    "fulfillments.*.status",
}
IGNORED = {
    "admin_graphql_api_id",
    "name",
    "note",
    "referring_site",
    "client_details.accept_language",
    "shipping_address.name",
    "shipping_address.address1",
    "shipping_address.province",
    "shipping_address.country_code",
    "shipping_address.zip",
    "shipping_address.phone",
    "line_items.*.variant_id",
    "line_items.*.title",
    "line_items.*.discount_allocations.*.discount_application_index",
    "fulfillments.*.id",
    "fulfillments.*.order_id",
    "refund_line_items.*.id",
    "refund_line_items.*.subtotal",
    "refund_line_items.*.total_tax",
    "refund_line_items.*.line_item",
    "refund_line_items.*.line_item.id",
    "refund_line_items.*.line_item.sku",
    "refund_line_items.*.line_item.price",
    "transactions.*.id",
    "transactions.*.order_id",
}


def acceptable(kind: str, value) -> bool:
    """Whether ``value`` is of the type the adapter reads the field as (not whether the whole
    payload stays valid: an acceptable value may still break a rule between fields)."""
    optional = kind.endswith("?")
    kind = kind.rstrip("?")
    if value is None:
        return optional
    if kind == "id":
        if isinstance(value, bool):
            return False
        return (isinstance(value, int) and len(str(value)) <= 128) or (
            isinstance(value, str) and 0 < len(value.strip()) <= 128
        )
    if kind == "money":
        return isinstance(value, str) and re.fullmatch(r"[0-9]{1,13}(\.[0-9]{1,2})?", value) is not None
    if kind == "currency":
        return isinstance(value, str) and re.fullmatch("[A-Z]{3}", value) is not None
    if kind in ("quantity", "quantity0"):
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (kind == "quantity0" or value >= 1)
            and 0 <= value < 2**31
        )
    if kind == "time":
        return False  # none of ODD_VALUES is an ISO time with an offset
    if kind == "flag":
        return isinstance(value, bool)
    if kind == "text":
        return isinstance(value, str)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    raise AssertionError(kind)


def corrupted(original, path, value):
    data = copy.deepcopy(original)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("name", "topic"),
    [
        ("orders_paid.json", "orders/paid"),
        ("orders_fulfilled.json", "orders/fulfilled"),
        ("refunds_create.json", "refunds/create"),
    ],
)
def test_a_corrupted_field_is_rejected_naming_it_and_fields_not_read_change_nothing(name, topic):
    original = payload(name)
    baseline = normalize(original, topic)
    for path in list(_paths(original))[1:]:
        dotted = ".".join(str(p) for p in path)
        pattern = re.sub(r"\.\d+(?=\.|$)", ".*", dotted)
        for odd in ODD_VALUES:
            result = outcome(corrupted(original, path, odd), topic)
            where = (dotted, odd)
            if pattern in IGNORED:
                assert result == baseline, where
            elif pattern in TOLERANT:
                assert isinstance(result, (Order, Refund)), where
            elif not acceptable(FIELD_TYPES[pattern], odd):
                assert isinstance(result, PayloadError), where
                field = result.field
                assert field == dotted or field.startswith(dotted + ".") or dotted.startswith(field + "."), (
                    where,
                    field,
                )
            else:
                assert isinstance(result, (Order, Refund, PayloadError)), where


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


CONTAINERS = {
    "line_items": list,
    "customer": dict,
    "client_details": dict,
    "fulfillments": list,
    "refund_line_items": list,
}


@settings(max_examples=200, deadline=None)
@given(
    key=st.sampled_from([*CONTAINERS, "note_attributes"]),
    value=json_values,
    topic=st.sampled_from(["orders/paid", "orders/fulfilled", "refunds/create"]),
)
def test_arbitrary_json_in_a_field_is_read_or_rejected_naming_it(key, value, topic):
    data = payload("refunds_create.json" if topic == "refunds/create" else "orders_fulfilled.json")
    data[key] = value
    result = outcome(data, topic)
    read = key in data and (key != "refund_line_items") == (topic != "refunds/create")
    if key == "note_attributes" or not read:
        assert isinstance(result, (Order, Refund)), result  # tolerant, or not this topic's field
    elif value is not None and not isinstance(value, CONTAINERS[key]):
        assert isinstance(result, PayloadError) and result.field == key, result
    else:
        assert isinstance(result, (Order, Refund, PayloadError)), result


# the buyer's display name


def buyer_named(customer_fields: dict, **order_fields):
    data = payload("orders_paid.json")
    data["customer"].update(customer_fields)
    data.update(order_fields)
    return normalize(data).buyer


@pytest.mark.parametrize(
    ("first", "last", "name"),
    [
        ("小明", "王", "王小明"),  # Chinese: family name first, no space
        ("  小明 ", "欧阳", "欧阳小明"),
        ("Ada", "Lovelace", "Ada Lovelace"),
        ("Ming", "王", "Ming 王"),  # mixed scripts read as a Western name
        ("Ada", None, "Ada"),
        (None, "王", "王"),
        ("", "  ", "137****0003"),  # blank parts: the masked phone instead
        (None, None, "137****0003"),
        (7, ["x"], "137****0003"),  # not text: skipped, never refused
    ],
)
def test_the_buyer_name_is_the_customer_name_as_it_reads_else_the_masked_phone(first, last, name):
    assert buyer_named({"first_name": first, "last_name": last}).name == name


def test_the_order_phone_is_used_when_the_customer_has_none_and_never_passed_on_in_full():
    buyer = buyer_named({"phone": None}, phone="+1 (415) 555-0100")
    assert buyer.name == "141****0100"
    assert buyer.phone_hash == sha("+1 (415) 555-0100")


def test_no_name_and_no_phone_gives_no_name():
    assert buyer_named({"phone": None}).name is None
    assert buyer_named({"phone": "12345"}).name is None  # too short to be a number worth showing


def test_an_over_long_name_is_clipped_to_the_column():
    assert buyer_named({"first_name": "A" * 150, "last_name": "B" * 150}).name == "A" * 150 + " " + "B" * 49
