"""The generic adapter: Stripe-style signatures with a replay window, the envelope, and the
order and refund bodies, checked against the fixtures and against the published JSON Schemas."""

import copy
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from adapters import generic
from adapters.base import KIND_HEARTBEAT, KIND_IGNORED, KIND_ORDER, KIND_REFUND, Delivery
from adapters.errors import PayloadError, SignatureError
from adapters.generic import (
    EVENT_ID_HEADER,
    ORDER_JSON_SCHEMA,
    REFUND_JSON_SCHEMA,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TOPIC_HEADER,
    GenericAdapter,
    generic_headers,
    sign_generic,
)
from adapters.registry import get_adapter
from adapters.schema import Buyer, Order, OrderLine, Refund, RefundLine

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "generic"
SECRET = "whsec_current_0123456789"
OLD_SECRET = "whsec_previous_012345678"
NOW = 1794326702  # 2026-11-11T00:05:02+08:00, when the fixture order was paid
CST = timezone(timedelta(hours=8))
ADAPTER = GenericAdapter(clock=lambda: NOW)


def raw(name):
    return (FIXTURES / f"{name}.json").read_bytes()


def payload(name):
    return json.loads(raw(name))


def encode(data):
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def headers_for(body, topic="order.paid", secret=SECRET, timestamp=NOW, event_id="evt-1"):
    return generic_headers(topic, body, secret, event_id, timestamp)


def normalize(body, topic="order.paid"):
    body = body if isinstance(body, bytes) else encode(body)
    return ADAPTER.normalize(ADAPTER.describe(headers_for(body, topic), body), body)


def refusal(body, topic="order.paid") -> PayloadError:
    with pytest.raises(PayloadError) as info:
        normalize(body, topic)
    return info.value


def changed(name, **changes):
    """The fixture with dotted fields (``lines__0__unit_price``) set, or deleted with ``KeyError``."""
    data = payload(name)
    for dotted, value in changes.items():
        target, *path, last = [data, *dotted.split("__")]
        for key in path:
            target = target[int(key)] if isinstance(target, list) else target[key]
        last = int(last) if isinstance(target, list) else last
        if value is KeyError:
            del target[last]
        else:
            target[last] = value
    return data


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


# sign


def test_sign_generic_is_hex_hmac_sha256_of_timestamp_dot_body():
    # computed independently: printf '%s' '1794326702.{"a":1}' | openssl dgst -sha256 -hmac ...
    expected = "885d89b428c26ba9a218aa0dbda52903a877b23f13a41ebc404c3c6121da60f8"
    assert sign_generic(b'{"a":1}', "whsec_test_secret_123", NOW) == f"sha256={expected}"
    assert sign_generic(b'{"a":1}', b"whsec_test_secret_123", str(NOW)) == f"sha256={expected}"


def test_generic_headers_carry_the_envelope_and_default_to_now():
    body = raw("order_paid")
    headers = generic_headers("order.paid", body, SECRET, "evt-9", NOW)
    assert headers == {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: "evt-9",
        TOPIC_HEADER: "order.paid",
        TIMESTAMP_HEADER: str(NOW),
        SIGNATURE_HEADER: sign_generic(body, SECRET, NOW),
    }
    before = int(time.time())
    fresh = generic_headers("order.paid", body, SECRET, "evt-9")
    assert before <= int(fresh[TIMESTAMP_HEADER]) <= int(time.time())
    GenericAdapter().verify(fresh, body, [SECRET])  # the real clock accepts it


def test_the_registry_builds_it_with_the_real_clock():
    adapter = get_adapter("generic")
    assert isinstance(adapter, GenericAdapter)
    assert (adapter.identifier, adapter.normalize_at_intake) == ("generic", True)
    assert adapter.clock is time.time
    assert adapter.tolerance == 300
    assert adapter.acknowledgement() == {"ok": True}
    assert adapter.api_client(None, None) is None


# verify


def test_verify_accepts_exact_bytes_signed_with_the_secret():
    body = raw("order_paid")
    assert ADAPTER.verify(headers_for(body), body, [SECRET]) is None


@pytest.mark.parametrize("case", [str.lower, str.upper])
def test_verify_reads_header_names_case_insensitively(case):
    body = raw("order_paid")
    headers = {case(k): v for k, v in headers_for(body).items()}
    ADAPTER.verify(headers, body, [SECRET])
    ADAPTER.verify(Headers(headers), body, [SECRET])


def test_verify_accepts_upper_case_hex():
    body = raw("order_paid")
    headers = headers_for(body)
    headers[SIGNATURE_HEADER] = "sha256=" + headers[SIGNATURE_HEADER].removeprefix("sha256=").upper()
    ADAPTER.verify(headers, body, [SECRET])


def test_verify_rejects_a_tampered_body_or_timestamp():
    body = raw("order_paid")
    headers = headers_for(body)
    with pytest.raises(SignatureError) as info:
        ADAPTER.verify(headers, body.replace(b'"149.00"', b'"1.00"'), [SECRET])
    assert (info.value.code, info.value.field) == ("bad_signature", SIGNATURE_HEADER)
    moved = {**headers, TIMESTAMP_HEADER: str(NOW - 1)}  # the signature covers the timestamp
    with pytest.raises(SignatureError):
        ADAPTER.verify(moved, body, [SECRET])


def test_verify_rejects_the_wrong_secret_and_no_secrets():
    body = raw("order_paid")
    with pytest.raises(SignatureError):
        ADAPTER.verify(headers_for(body, secret="attacker-secret-000"), body, [SECRET])
    with pytest.raises(SignatureError):
        ADAPTER.verify(headers_for(body), body, [])
    with pytest.raises(SignatureError):
        ADAPTER.verify(headers_for(body), body, [""])


@pytest.mark.parametrize("signer", [OLD_SECRET, SECRET])
def test_verify_accepts_either_secret_during_rotation(signer):
    body = raw("refund_created")
    ADAPTER.verify(headers_for(body, "refund.created", signer), body, [SECRET, OLD_SECRET])


def test_verify_treats_a_bare_string_as_one_secret():
    body = raw("order_paid")
    ADAPTER.verify(headers_for(body), body, SECRET)
    with pytest.raises(SignatureError):
        ADAPTER.verify(headers_for(body, secret="another-secret-00"), body, SECRET)


@pytest.mark.parametrize(
    ("sent", "accepted"),
    [(NOW - 300, True), (NOW - 301, False), (NOW + 300, True), (NOW + 301, False), (NOW - 86400, False)],
)
def test_verify_refuses_a_timestamp_more_than_five_minutes_off(sent, accepted):
    body = raw("order_paid")
    headers = headers_for(body, timestamp=sent)  # correctly signed: only the age is wrong
    if accepted:
        ADAPTER.verify(headers, body, [SECRET])
        return
    with pytest.raises(SignatureError) as info:
        ADAPTER.verify(headers, body, [SECRET])
    assert info.value.field == TIMESTAMP_HEADER
    assert ("old" if sent < NOW else "in the future") in info.value.message


def test_the_tolerance_and_the_clock_are_the_adapters():
    body = raw("order_paid")
    strict = GenericAdapter(clock=lambda: NOW + 11, tolerance=10)
    with pytest.raises(SignatureError):
        strict.verify(headers_for(body), body, [SECRET])
    GenericAdapter(clock=lambda: NOW + 10, tolerance=10).verify(headers_for(body), body, [SECRET])


@pytest.mark.parametrize(
    "value",
    [None, "", "sha256=", "sha256=zz" + "0" * 62, "sha256=" + "0" * 63, "0" * 64, "md5=" + "0" * 64, "é"],
)
def test_verify_rejects_a_missing_or_garbled_signature(value):
    body = raw("order_paid")
    headers = headers_for(body)
    del headers[SIGNATURE_HEADER]
    if value is not None:
        headers[SIGNATURE_HEADER] = value
    with pytest.raises(SignatureError) as info:
        ADAPTER.verify(headers, body, [SECRET])
    assert (info.value.code, info.value.field) == ("bad_signature", SIGNATURE_HEADER)


@pytest.mark.parametrize("value", [None, "", "soon", "1794326702.5", "-1", "1e9", "1" * 13, "١٧٩٤"])
def test_verify_rejects_a_missing_or_garbled_timestamp(value):
    body = raw("order_paid")
    headers = headers_for(body)
    del headers[TIMESTAMP_HEADER]
    if value is not None:
        headers[TIMESTAMP_HEADER] = value
        headers[SIGNATURE_HEADER] = sign_generic(body, SECRET, value)
    with pytest.raises(SignatureError) as info:
        ADAPTER.verify(headers, body, [SECRET])
    assert (info.value.code, info.value.field) == ("bad_signature", TIMESTAMP_HEADER)


def test_a_stored_delivery_is_described_and_normalized_however_late():
    """The worker and ``fenxiao inbox replay`` never verify again, and never read the clock."""
    body = raw("order_paid")
    headers = {k.lower(): v for k, v in headers_for(body).items()}  # as the inbox stores them
    years_later = GenericAdapter(clock=lambda: NOW + 3 * 365 * 86400)
    with pytest.raises(SignatureError):
        years_later.verify(headers, body, [SECRET])
    order = years_later.normalize(years_later.describe(headers, body), body)
    assert order == normalize(body)


# describe


def test_describe_reads_the_envelope():
    body = raw("order_paid")
    assert ADAPTER.describe(headers_for(body, event_id="evt_01J"), body) == Delivery(
        event_key="evt_01J",
        topic="order.paid",
        kind=KIND_ORDER,
        occurred_at=datetime(2026, 11, 10, 16, 5, 2, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("order.created", KIND_ORDER),
        ("order.paid", KIND_ORDER),
        ("order.completed", KIND_ORDER),
        ("order.cancelled", KIND_ORDER),
        ("order.updated", KIND_ORDER),
        ("refund.created", KIND_REFUND),
        ("ping", KIND_HEARTBEAT),
        ("product.created", KIND_IGNORED),
        ("Order.Paid", KIND_IGNORED),
    ],
)
def test_describe_names_the_kind_of_each_topic(topic, kind):
    body = b"{}"
    assert ADAPTER.describe(headers_for(body, topic), body).kind == kind


def test_heartbeats_and_ignored_topics_normalize_to_nothing():
    for topic in ("ping", "product.created"):
        body = raw("order_paid")
        assert ADAPTER.normalize(ADAPTER.describe(headers_for(body, topic), body), body) is None


@pytest.mark.parametrize("name", [EVENT_ID_HEADER, TOPIC_HEADER])
@pytest.mark.parametrize("value", [None, "", "  "])
def test_describe_requires_the_event_id_and_the_topic(name, value):
    body = raw("order_paid")
    headers = headers_for(body)
    del headers[name]
    if value is not None:
        headers[name] = value
    with pytest.raises(PayloadError) as info:
        ADAPTER.describe(headers, body)
    assert (info.value.code, info.value.field) == ("bad_payload", name)
    assert info.value.message == f"missing {name} header"


@pytest.mark.parametrize(("name", "limit"), [(EVENT_ID_HEADER, 128), (TOPIC_HEADER, 100)])
def test_describe_refuses_over_long_envelope_headers(name, limit):
    body = raw("order_paid")
    headers = {**headers_for(body), name: "x" * limit}
    ADAPTER.describe(headers, body)
    headers[name] = "x" * (limit + 1)
    with pytest.raises(PayloadError) as info:
        ADAPTER.describe(headers, body)
    assert info.value.field == name


def test_describe_needs_no_signature_headers_and_tolerates_a_garbled_timestamp():
    body = raw("order_paid")
    headers = {EVENT_ID_HEADER: "evt-1", TOPIC_HEADER: "order.paid"}
    assert ADAPTER.describe(headers, body).occurred_at is None
    for garbled in ("soon", "9" * 12):
        assert ADAPTER.describe({**headers, TIMESTAMP_HEADER: garbled}, body).occurred_at is None


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b'"order"'])
def test_describe_refuses_a_body_that_is_not_a_json_object(body):
    with pytest.raises(PayloadError) as info:
        ADAPTER.describe(headers_for(body), body)
    assert info.value.field == "body"


# normalize: the purchase


def purchase_order(**changes) -> Order:
    values = dict(
        platform="generic",
        external_id="SO-20261111-0001",
        status="paid",
        currency="CNY",
        channel="mini_program",
        ref_code="INV-B7K2",
        buyer=Buyer(
            external_id="U-10003",
            phone_hash=sha("+8613700000003"),
            email_hash=sha("buyer.c@example.com"),
            ip="203.0.113.7",
            device="9ad3c1",
            name="王小明",
        ),
        lines=(
            OrderLine("SO-20261111-0001-1", "P-TEE", "TEE-WHITE-M", "apparel", 2, 14900, 0, 29800),
            OrderLine("SO-20261111-0001-2", "P-CAP", "CAP-BLK", "accessories", 1, 12000, 2000, 10000),
        ),
        placed_at=datetime(2026, 11, 11, 0, 5, tzinfo=CST),
        updated_at=datetime(2026, 11, 11, 0, 5, 2, tzinfo=CST),
        paid_at=datetime(2026, 11, 11, 0, 5, 2, tzinfo=CST),
        region="Hangzhou",
        campaign_tags=("double11",),
    )
    return Order(**{**values, **changes})


def test_the_paid_purchase_normalizes_to_the_common_schema():
    order = normalize(raw("order_paid"))
    assert order == purchase_order()
    assert [line.paid_amount for line in order.lines] == [29800, 10000]
    assert order.paid_total == 39800


def test_the_completed_snapshot_carries_its_completion():
    completed_at = datetime(2026, 11, 13, 10, tzinfo=CST)
    assert normalize(raw("order_completed"), "order.completed") == purchase_order(
        status="completed", completed_at=completed_at, updated_at=completed_at
    )


def test_the_buyer_contact_is_kept_only_as_hashes():
    order = normalize(raw("order_paid"))
    text = repr(order)
    for secret in ("13700000003", "137-0000-0003", "buyer.c@example.com", "Buyer.C@example.com"):
        assert secret not in text
    assert order.buyer.phone_hash == sha("+8613700000003")  # separators removed before hashing
    assert order.buyer.email_hash == sha("buyer.c@example.com")  # lower-cased


@pytest.mark.parametrize(
    ("buyer", "name"),
    [
        ({"id": "U-1", "phone": "+8613700000003"}, "137****0003"),
        ({"id": "U-1", "phone": "(0571) 8888-1234"}, "057*****1234"),
        ({"id": "U-1", "phone": "+8613700000003", "name": "Ada Lovelace"}, "Ada Lovelace"),
        ({"id": "U-1"}, None),
        ({"id": 42, "phone": None, "email": None, "name": "  "}, None),
    ],
)
def test_the_buyer_is_named_or_shown_by_a_masked_phone(buyer, name):
    order = normalize(changed("order_paid", buyer=buyer))
    assert order.buyer.name == name
    assert order.buyer.external_id == str(buyer["id"])


def test_the_refund_normalizes_to_one_tee():
    assert normalize(raw("refund_created"), "refund.created") == Refund(
        platform="generic",
        external_id="RF-20261115-0001",
        order_external_id="SO-20261111-0001",
        currency="CNY",
        lines=(RefundLine("SO-20261111-0001-1", 1, 14900),),
        created_at=datetime(2026, 11, 15, 9, 30, tzinfo=CST),
    )


def test_a_refund_may_name_lines_without_an_amount():
    refund = normalize(changed("refund_created", amount=KeyError), "refund.created")
    assert (refund.lines, refund.order_amount, refund.total) == (
        (RefundLine("SO-20261111-0001-1", 1, 14900),),
        0,
        14900,
    )


@pytest.mark.parametrize("lines", [KeyError, None, []])
def test_an_amount_only_refund_is_spread_by_the_domain(lines):
    data = payload("refund_amount_only")
    if lines is not KeyError:
        data["lines"] = lines
    refund = normalize(data, "refund.created")
    assert (refund.lines, refund.order_amount, refund.total) == ((), 3980, 3980)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": "298.00"}, "amount"),  # the total, never an extra on top of the lines
        ({"amount": "148.99"}, "amount"),
        ({"amount": KeyError, "lines": []}, "lines"),
        ({"amount": KeyError, "lines": KeyError}, "lines"),
        ({"lines": {"line_id": "x"}}, "lines"),
        ({"lines__0__amount": 149.0}, "lines.0.amount"),
        ({"lines__0__amount": "149.001"}, "lines.0.amount"),
        ({"lines__0__quantity": -1}, "lines.0.quantity"),
        ({"lines__0__quantity": "1"}, "lines.0.quantity"),
        ({"lines__0__line_id": KeyError}, "lines.0.line_id"),
        ({"amount": 149.0}, "amount"),
        ({"order_id": KeyError}, "order_id"),
        ({"created_at": "2026-11-15T09:30:00"}, "created_at"),
        ({"currency": "RMB1"}, "currency"),
    ],
)
def test_a_malformed_refund_is_refused_naming_the_field(changes, field):
    assert refusal(changed("refund_created", **changes), "refund.created").field == field


def test_a_refund_naming_a_line_twice_is_refused():
    data = payload("refund_created")
    data["lines"].append(copy.deepcopy(data["lines"][0]))
    data["amount"] = "298.00"
    assert refusal(data, "refund.created").field == "lines.1.line_id"


# normalize: what an order must say


@pytest.mark.parametrize(
    ("status", "missing"),
    [
        ("paid", "paid_at"),
        ("completed", "paid_at"),
        ("completed", "completed_at"),
        ("cancelled", "cancelled_at"),
    ],
)
def test_a_status_requires_its_times(status, missing):
    data = changed("order_completed", status=status, cancelled_at="2026-11-12T10:00:00+08:00")
    data[missing] = None
    error = refusal(data)
    assert (error.field, error.message) == (missing, f"{missing} is required when status is {status}")


def test_a_created_order_needs_no_times_and_optional_fields_have_defaults():
    data = changed("order_paid", status="created", paid_at=None)
    for name in ("ref_code", "channel", "region", "campaign_tags", "completed_at", "cancelled_at", "test"):
        del data[name]
    for line in data["lines"]:
        del line["sku"], line["category"], line["discount"]
    data["lines"][1]["paid_amount"] = "120.00"
    order = normalize(data, "order.created")
    assert (order.status, order.paid_at, order.channel, order.ref_code, order.region) == (
        "created",
        None,
        "web",
        None,
        None,
    )
    assert (order.campaign_tags, order.test) == ((), False)
    assert [(line.sku, line.category, line.discount) for line in order.lines] == [(None, None, 0)] * 2


def test_a_cancelled_order_that_was_paid_keeps_its_payment():
    order = normalize(changed("order_paid", status="cancelled", cancelled_at="2026-11-12T10:00:00+08:00"))
    assert (order.status, order.paid_at) == ("cancelled", datetime(2026, 11, 11, 0, 5, 2, tzinfo=CST))


def test_the_body_status_is_authoritative_whatever_the_topic():
    assert normalize(raw("order_completed"), "order.updated").status == "completed"
    assert normalize(raw("order_paid"), "order.created").status == "paid"


def test_a_test_order_is_marked():
    assert normalize(changed("order_paid", test=True)).test is True


def test_integer_ids_are_accepted_as_strings():
    order = normalize(changed("order_paid", id=820982911946154508, lines__0__product_id=7))
    assert (order.external_id, order.lines[0].product_id) == ("820982911946154508", "7")


def test_unknown_fields_are_ignored():
    data = changed("order_paid", x_erp={"warehouse": 3}, lines__0__x_weight_g=180)
    data["buyer"]["x_level"] = "gold"
    assert normalize(data) == purchase_order()


def test_campaign_tags_are_kept_once_in_order():
    assert normalize(changed("order_paid", campaign_tags=["a", "b", "a"])).campaign_tags == ("a", "b")


def test_amounts_follow_the_currencys_places():
    data = changed(
        "order_paid",
        currency="JPY",
        lines__0__unit_price="149",
        lines__0__discount="0",
        lines__0__paid_amount="298",
        lines__1__unit_price="120",
        lines__1__discount="20",
        lines__1__paid_amount="100",
    )
    assert [line.paid_amount for line in normalize(data).lines] == [298, 100]
    assert normalize(changed("order_paid", currency="JPY")).lines[0].unit_price == 149  # "149.00": whole yen
    half_yen = changed("order_paid", currency="JPY", lines__0__unit_price="149.50")
    assert refusal(half_yen).field == "lines.0.unit_price"


@pytest.mark.parametrize(
    "changes",
    [
        {"lines__0__unit_price": 149.0},
        {"lines__0__unit_price": 149},
        {"lines__0__paid_amount": 298.0},
        {"lines__1__discount": 20.0},
    ],
)
def test_json_number_amounts_are_refused(changes):
    error = refusal(changed("order_paid", **changes))
    (dotted,) = changes
    assert error.field == dotted.replace("__", ".")
    assert error.message.endswith("must be a non-negative decimal string")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines__0__unit_price": "149.001"}, "lines.0.unit_price"),
        ({"lines__1__discount": "20.005"}, "lines.1.discount"),
        ({"lines__0__paid_amount": "298.000001"}, "lines.0.paid_amount"),
    ],
)
def test_over_precise_amounts_are_refused(changes, field):
    error = refusal(changed("order_paid", **changes))
    assert error.field == field
    assert "more decimal places than CNY allows" in error.message


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lines__0__paid_amount": "297.99"}, "lines.0.paid_amount"),
        ({"lines__0__paid_amount": "149.00"}, "lines.0.paid_amount"),
        ({"lines__1__paid_amount": "120.00"}, "lines.1.paid_amount"),  # the discount forgotten
        ({"lines__1__discount": "120.01", "lines__1__paid_amount": "0.00"}, "lines.1.discount"),
    ],
)
def test_an_inconsistent_line_is_refused(changes, field):
    assert refusal(changed("order_paid", **changes)).field == field


def test_the_inconsistency_is_explained_in_money():
    error = refusal(changed("order_paid", lines__0__paid_amount="297.99"))
    assert error.message == (
        "lines.0.paid_amount is 297.99 CNY but unit_price × quantity − discount is 298.00 CNY"
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": 1.5}, "id"),
        ({"id": ""}, "id"),
        ({"id": KeyError}, "id"),
        ({"status": "shipped"}, "status"),
        ({"status": ["paid"]}, "status"),
        ({"currency": "cny"}, "currency"),
        ({"buyer": "U-10003"}, "buyer"),
        ({"buyer__id": KeyError}, "buyer.id"),
        ({"buyer__phone": 13700000003}, "buyer.phone"),
        ({"buyer__phone": "call me"}, "buyer.phone"),
        ({"buyer__email": "nobody"}, "buyer.email"),
        ({"buyer__name": "x" * 201}, "buyer.name"),
        ({"lines": {}}, "lines"),
        ({"lines": []}, "lines"),
        ({"lines__0": "tee"}, "lines.0"),
        ({"lines__0__id": None}, "lines.0.id"),
        ({"lines__1__id": "SO-20261111-0001-1"}, "lines"),  # line ids repeat
        ({"lines__0__product_id": True}, "lines.0.product_id"),
        ({"lines__0__quantity": "2"}, "lines.0.quantity"),
        ({"lines__0__quantity": 0}, "lines.0.quantity"),
        ({"lines__0__quantity": True}, "lines.0.quantity"),
        ({"lines__0__quantity": 2**31}, "lines.0.quantity"),
        ({"lines__0__unit_price": "-149.00"}, "lines.0.unit_price"),
        ({"lines__0__unit_price": "1e2"}, "lines.0.unit_price"),
        ({"lines__0__unit_price": "100000000000000.00"}, "lines.0.unit_price"),
        ({"lines__0__unit_price": "9999999999.00", "lines__0__quantity": 100000}, "lines.0.unit_price"),
        ({"lines__0__sku": 7}, "lines.0.sku"),
        ({"lines__0__category": "c" * 257}, "lines.0.category"),
        ({"ref_code": 42}, "ref_code"),
        ({"ref_code": "R" * 65}, "ref_code"),
        ({"channel": "c" * 65}, "channel"),
        ({"campaign_tags": "a,b"}, "campaign_tags"),
        ({"campaign_tags": [""]}, "campaign_tags.0"),
        ({"campaign_tags": ["t" * 65]}, "campaign_tags.0"),
        ({"campaign_tags": [str(i) for i in range(51)]}, "campaign_tags"),
        ({"placed_at": "yesterday"}, "placed_at"),
        ({"placed_at": "2026-11-11T00:05:00"}, "placed_at"),
        ({"placed_at": 1794326700}, "placed_at"),
        ({"updated_at": KeyError}, "updated_at"),
        ({"test": "yes"}, "test"),
    ],
)
def test_wrong_types_and_values_are_refused_naming_the_field(changes, field):
    error = refusal(changed("order_paid", **changes))
    assert (error.code, error.field) == ("bad_payload", field)


def test_too_many_lines_are_refused():
    data = payload("order_paid")
    line = data["lines"][0]
    data["lines"] = [{**line, "id": f"L{i}"} for i in range(501)]
    assert refusal(data).field == "lines"


def fen(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@given(
    st.integers(0, 10**7),
    st.integers(1, 1000),
    st.data(),
)
def test_any_consistent_line_normalizes_and_a_fen_off_is_refused(unit_price, quantity, data):
    discount = data.draw(st.integers(0, unit_price * quantity))
    paid = unit_price * quantity - discount
    line = {"unit_price": fen(unit_price), "quantity": quantity, "discount": fen(discount)}
    order = normalize(
        changed("order_paid", lines=[{"id": 1, "product_id": 2, **line, "paid_amount": fen(paid)}])
    )
    assert (order.lines[0].unit_price, order.lines[0].discount, order.lines[0].paid_amount) == (
        unit_price,
        discount,
        paid,
    )
    off = paid + data.draw(st.sampled_from([-1, 1]))
    if off >= 0:
        bad = changed("order_paid", lines=[{"id": 1, "product_id": 2, **line, "paid_amount": fen(off)}])
        assert refusal(bad).field == "lines.0.paid_amount"


# the published JSON Schemas agree with the fixtures and the adapter

ORDER_FIXTURES = ("order_paid", "order_completed")
REFUND_FIXTURES = ("refund_created", "refund_amount_only")


def schema_errors(value, schema, path="$") -> list[str]:
    """A small structural check of the Schema Object subset the generic schemas use (types,
    ``nullable``, ``required``, ``properties``, ``items``, ``enum``, ``oneOf``), so agreement is
    tested even where no JSON-Schema library is installed."""
    if value is None:
        return [] if schema.get("nullable") else [f"{path} is null"]
    if "oneOf" in schema:
        matching = [option for option in schema["oneOf"] if not schema_errors(value, option, path)]
        return [] if len(matching) == 1 else [f"{path} matches {len(matching)} of oneOf"]
    kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "integer": int}
    kind = schema.get("type")
    if kind and (not isinstance(value, kinds[kind]) or (kind == "integer" and isinstance(value, bool))):
        return [f"{path} is not {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path} is not one of {schema['enum']}"]
    errors = [f"{path}.{name} is missing" for name in schema.get("required", ()) if name not in value]
    for name, sub in schema.get("properties", {}).items():
        if isinstance(value, dict) and name in value:
            errors += schema_errors(value[name], sub, f"{path}.{name}")
    if kind == "array":
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], f"{path}[{i}]")
    return errors


@pytest.mark.parametrize(
    ("name", "schema"),
    [*((n, ORDER_JSON_SCHEMA) for n in ORDER_FIXTURES), *((n, REFUND_JSON_SCHEMA) for n in REFUND_FIXTURES)],
)
def test_the_fixtures_have_the_published_structure(name, schema):
    assert schema_errors(payload(name), schema) == []


def oas30_validator(schema):
    import openapi_schema_validator as validators

    return validators.OAS30Validator(schema, format_checker=validators.oas30_format_checker)


@pytest.mark.parametrize(
    ("name", "schema"),
    [*((n, ORDER_JSON_SCHEMA) for n in ORDER_FIXTURES), *((n, REFUND_JSON_SCHEMA) for n in REFUND_FIXTURES)],
)
def test_the_fixtures_validate_against_the_published_schemas(name, schema):
    validator = oas30_validator(schema)
    validator.check_schema(schema)
    assert [error.message for error in validator.iter_errors(payload(name))] == []


@pytest.mark.parametrize(
    "changes",
    [
        {"lines__0__unit_price": 149.0},
        {"lines__0__unit_price": "1e2"},
        {"lines__0__quantity": "2"},
        {"status": "shipped"},
        {"buyer__id": KeyError},
        {"lines": []},
        {"placed_at": "2026-11-11 yesterday"},
        {"currency": "cny"},
        {"ref_code": "R" * 65},
        {"test": "yes"},
    ],
)
def test_what_the_schema_refuses_the_adapter_refuses(changes):
    data = changed("order_paid", **changes)
    assert list(oas30_validator(ORDER_JSON_SCHEMA).iter_errors(data)) != []
    refusal(data)


@pytest.mark.parametrize(
    ("schema", "fixture", "topic"),
    [
        (ORDER_JSON_SCHEMA, "order_completed", "order.completed"),
        (REFUND_JSON_SCHEMA, "refund_created", "refund.created"),
    ],
)
def test_every_required_field_is_required_by_the_adapter_and_no_other(schema, fixture, topic):
    for name in schema["required"]:
        assert refusal(changed(fixture, **{name: KeyError}), topic).field == name
    optional = set(schema["properties"]) - set(schema["required"]) - {"paid_at", "completed_at", "lines"}
    for name in optional:
        assert normalize(changed(fixture, **{name: KeyError}), topic) is not None, name


def test_the_line_and_buyer_requirements_agree():
    line = ORDER_JSON_SCHEMA["properties"]["lines"]["items"]
    for name in line["required"]:
        assert refusal(changed("order_paid", **{f"lines__0__{name}": KeyError})).field == f"lines.0.{name}"
    for name in set(line["properties"]) - set(line["required"]):
        data = changed("order_paid", **{f"lines__0__{name}": KeyError})
        assert normalize(data).lines[0].quantity == 2, name
    buyer = ORDER_JSON_SCHEMA["properties"]["buyer"]
    assert buyer["required"] == ["id"]
    for name in buyer["properties"]:
        if name != "id":
            assert (
                normalize(changed("order_paid", **{f"buyer__{name}": KeyError})).buyer.external_id
                == "U-10003"
            )


def test_the_published_limits_are_the_adapters():
    props = ORDER_JSON_SCHEMA["properties"]
    assert props["lines"]["maxItems"] == 500
    assert props["campaign_tags"]["maxItems"] == 50
    assert props["ref_code"]["maxLength"] == 64
    assert props["status"]["enum"] == list(generic.STATUS_TIMES)
    refund_line = REFUND_JSON_SCHEMA["properties"]["lines"]["items"]
    assert refund_line["required"] == ["line_id", "quantity", "amount"]


def test_the_example_headers_are_the_adapters():
    example = {k: v for k, v in payload("headers").items() if not k.startswith("_")}
    assert set(example) == {"Content-Type", EVENT_ID_HEADER, TOPIC_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER}
    body = raw("order_paid")
    assert ADAPTER.describe(example, body).kind == KIND_ORDER
    signed = {**example, SIGNATURE_HEADER: sign_generic(body, SECRET, example[TIMESTAMP_HEADER])}
    ADAPTER.verify(signed, body, [SECRET])  # its timestamp is the adapter's NOW
