"""The Youzan adapter (verify, describe, normalize) and its API client, against the sample pushes.

The samples describe one purchase: ¥398.00 = 2 × tee at ¥149.00 + a ¥120.00 cap discounted to
¥100.00; later one tee (¥149.00) is refunded and the trade completes. Signatures in the sample
files are placeholders: every test signs the exact bytes it sends.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote, unquote, urlencode

import pytest
import requests
import responses

from adapters.base import KIND_HEARTBEAT, KIND_IGNORED, KIND_ORDER, KIND_REFUND, KIND_STATUS, AppCredentials
from adapters.errors import PayloadError, PlatformRefused, PlatformUnavailable, SignatureError
from adapters.http import HttpClient
from adapters.schema import Buyer, Order, OrderLine, Refund, RefundLine, StatusUpdate
from adapters.youzan import SIGN_HEADER, YouzanAdapter, encode_msg, sign_youzan_event, youzan_headers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "youzan"
CLIENT_ID = "cc939cb8063622a84d"
SECRET = "yz-secret-current"
OLD_SECRET = "yz-secret-previous"
CST = timezone(timedelta(hours=8))
TID = "E20261111000500000100001"
TEE, CAP = "1539322365320644179", "1539322365320644180"
ADAPTER = YouzanAdapter()


def raw(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def envelope(name: str) -> dict:
    return json.loads(raw(name))


def message(name: str) -> dict:
    return json.loads(unquote(envelope(name)["msg"]))


def push(name: str, msg=None, **fields) -> bytes:
    """The sample ``name`` with its envelope ``fields`` replaced and, if given, ``msg`` (a dict,
    or JSON text kept as written so numbers like 149.005 reach the adapter verbatim)."""
    data = envelope(name)
    if msg is KeyError:
        del data["msg"]
    elif isinstance(msg, dict):
        data["msg"] = encode_msg(msg)
    elif isinstance(msg, str):
        data["msg"] = quote(msg, safe="")
    elif msg is not None:
        data["msg"] = msg
    for key, value in fields.items():
        if value is KeyError:
            data.pop(key, None)
        else:
            data[key] = value
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def paid_msg(**order_info) -> dict:
    msg = message("trade_TradeBuyerPay")
    msg["full_order_info"]["order_info"].update(order_info)
    return msg


def normalize(body: bytes):
    headers = youzan_headers(CLIENT_ID, body, SECRET)
    return ADAPTER.normalize(ADAPTER.describe(headers, body), body)


def payload_error(body: bytes) -> str:
    with pytest.raises(PayloadError) as info:
        normalize(body)
    return info.value.field


def body_signed(body: bytes, secret: str = SECRET, client_id: str = CLIENT_ID) -> bytes:
    """The push with its body ``sign`` computed over ``msg`` exactly as it stands in the body."""
    data = json.loads(body)
    data["sign"] = sign_youzan_event(client_id, data["msg"], secret)
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


# verify


def test_the_signature_is_lowercase_hex_md5_of_client_id_body_and_secret():
    assert sign_youzan_event("a", b"b", "c") == "900150983cd24fb0d6963f7d28e17f72"  # md5("abc")
    body = raw("trade_TradeBuyerPay")
    expected = hashlib.md5(CLIENT_ID.encode() + body + SECRET.encode()).hexdigest()
    assert sign_youzan_event(CLIENT_ID, body, SECRET) == expected
    assert youzan_headers(CLIENT_ID, body, SECRET)[SIGN_HEADER] == expected


@pytest.mark.parametrize("client_id", [CLIENT_ID, None], ids=["shop's client id", "body's client id"])
def test_event_sign_over_the_raw_body_verifies(client_id):
    body = raw("trade_TradeBuyerPay")
    ADAPTER.verify(youzan_headers(CLIENT_ID, body, SECRET), body, [SECRET], client_id)


def test_event_sign_header_name_and_hex_case_do_not_matter():
    body = raw("trade_TradeBuyerPay")
    headers = {"event-sign": sign_youzan_event(CLIENT_ID, body, SECRET).upper()}
    ADAPTER.verify(headers, body, [SECRET], CLIENT_ID)


def test_the_shops_client_id_wins_over_the_one_in_the_body():
    body = raw("trade_TradeBuyerPay")
    with pytest.raises(SignatureError):
        ADAPTER.verify(youzan_headers(CLIENT_ID, body, SECRET), body, [SECRET], "another-app")
    signed_as_other = youzan_headers("another-app", body, SECRET)
    ADAPTER.verify(signed_as_other, body, [SECRET], "another-app")


def test_the_body_sign_over_msg_as_received_verifies_when_there_is_no_header():
    body = body_signed(raw("trade_TradeBuyerPay"))
    ADAPTER.verify({"Content-Type": "application/json"}, body, [SECRET], CLIENT_ID)
    ADAPTER.verify({}, body, [SECRET], None)


def test_a_body_sign_over_the_decoded_msg_is_refused():
    data = envelope("trade_TradeBuyerPay")
    data["sign"] = sign_youzan_event(CLIENT_ID, unquote(data["msg"]), SECRET)
    with pytest.raises(SignatureError):
        ADAPTER.verify({}, json.dumps(data).encode(), [SECRET], CLIENT_ID)


def test_a_body_changed_after_signing_is_refused():
    body = raw("trade_TradeBuyerPay")
    headers = youzan_headers(CLIENT_ID, body, SECRET)
    with pytest.raises(SignatureError):
        ADAPTER.verify(headers, body.replace(b"149.00", b"14.90"), [SECRET], CLIENT_ID)
    signed = body_signed(body)
    with pytest.raises(SignatureError):
        ADAPTER.verify({}, signed.replace(b"149.00", b"14.90"), [SECRET], CLIENT_ID)


def test_the_body_sign_covers_only_msg_which_is_why_the_header_is_preferred():
    signed = json.loads(body_signed(raw("trade_TradeBuyerPay")))
    signed["kdt_id"] = 1
    ADAPTER.verify({}, json.dumps(signed).encode(), [SECRET], CLIENT_ID)


def test_the_header_decides_when_present_even_if_the_body_sign_is_right():
    body = body_signed(raw("trade_TradeBuyerPay"))
    with pytest.raises(SignatureError):
        ADAPTER.verify({SIGN_HEADER: "0" * 32}, body, [SECRET], CLIENT_ID)


def test_a_wrong_secret_is_refused_and_every_secret_of_a_rotation_is_tried():
    body = raw("trade_TradeBuyerPay")
    with pytest.raises(SignatureError) as info:
        ADAPTER.verify(youzan_headers(CLIENT_ID, body, "not-the-secret"), body, [SECRET], CLIENT_ID)
    assert info.value.field == SIGN_HEADER
    for secret in (SECRET, OLD_SECRET):
        ADAPTER.verify(youzan_headers(CLIENT_ID, body, secret), body, [SECRET, OLD_SECRET], CLIENT_ID)
        ADAPTER.verify({}, body_signed(body, secret), [SECRET, OLD_SECRET], CLIENT_ID)
    with pytest.raises(SignatureError):
        ADAPTER.verify(youzan_headers(CLIENT_ID, body, SECRET), body, [], CLIENT_ID)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (push("trade_TradeBuyerPay", sign=KeyError), SIGN_HEADER),
        (push("trade_TradeBuyerPay", sign=""), SIGN_HEADER),
        (push("trade_TradeBuyerPay", sign=12), SIGN_HEADER),
        (b"{not json", SIGN_HEADER),
        (push("trade_TradeBuyerPay", msg=KeyError, sign="0" * 32), "msg"),
    ],
)
def test_no_signature_at_all_is_refused(body, field):
    with pytest.raises(SignatureError) as info:
        ADAPTER.verify({}, body, [SECRET], CLIENT_ID)
    assert info.value.field == field


def test_without_any_client_id_nothing_verifies():
    body = push("trade_TradeBuyerPay", client_id=KeyError)
    with pytest.raises(SignatureError) as info:
        ADAPTER.verify(youzan_headers(CLIENT_ID, body, SECRET), body, [SECRET], None)
    assert info.value.field == "client_id"


def test_a_form_encoded_push_verifies_by_header_or_by_body_sign():
    fields = envelope("trade_TradeBuyerPay")
    fields["sign"] = sign_youzan_event(CLIENT_ID, fields["msg"], SECRET)
    body = urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in fields.items()}).encode()
    ADAPTER.verify(youzan_headers(CLIENT_ID, body, SECRET), body, [SECRET], CLIENT_ID)
    ADAPTER.verify({}, body, [SECRET], CLIENT_ID)


# describe


def describe(body: bytes):
    return ADAPTER.describe(youzan_headers(CLIENT_ID, body, SECRET), body)


def test_a_test_push_is_a_heartbeat():
    delivery = describe(raw("test_heartbeat"))
    assert (delivery.event_key, delivery.kind) == ("test-heartbeat-1", KIND_HEARTBEAT)
    assert ADAPTER.normalize(delivery, raw("test_heartbeat")) is None
    # a heartbeat needs nothing else of the envelope
    assert describe(json.dumps({"test": True}).encode()).kind == KIND_HEARTBEAT


@pytest.mark.parametrize(
    ("topic", "kind"),
    [
        ("trade_TradeCreate", KIND_ORDER),
        ("trade_TradePaid", KIND_ORDER),
        ("trade_TradeBuyerPay", KIND_ORDER),
        ("trade_TradePartlySellerShip", KIND_ORDER),
        ("trade_TradeSellerShip", KIND_ORDER),
        ("trade_TradeSuccess", KIND_STATUS),
        ("trade_TradeClose", KIND_STATUS),
        ("trade_refund_RefundSuccess", KIND_REFUND),
        ("youzan_trade_RefundSuccess", KIND_REFUND),
        ("trade_refund_BuyerCreated", KIND_IGNORED),
        ("trade_refund_RefundSellerAgree", KIND_IGNORED),
        ("trade_refund_RefundClosed", KIND_IGNORED),
        ("trade_refund_SysRefund", KIND_IGNORED),
        ("item_ItemUpdate", KIND_IGNORED),
    ],
)
def test_each_message_type_has_its_kind(topic, kind):
    sample = {KIND_ORDER: "trade_TradeBuyerPay", KIND_STATUS: "trade_TradeSuccess"}.get(
        kind, "trade_refund_RefundSuccess"
    )
    delivery = describe(push(sample, type=topic))
    assert (delivery.topic, delivery.kind) == (topic, kind)
    assert delivery.event_key == envelope(sample)["msg_id"]


def test_occurred_at_is_the_messages_local_time():
    assert describe(raw("trade_refund_RefundSuccess")).occurred_at == datetime(
        2026, 11, 15, 9, 30, tzinfo=CST
    )
    assert describe(raw("trade_TradeBuyerPay")).occurred_at == datetime(2026, 11, 11, 0, 5, 2, tzinfo=CST)
    assert describe(push("trade_TradeSuccess", msg={"tid": TID, "update_time": "soon"})).occurred_at is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"\xff\xfe", "body"),
        (push("trade_TradeBuyerPay", msg_id=KeyError), "msg_id"),
        (push("trade_TradeBuyerPay", msg_id=["x"]), "msg_id"),
        (push("trade_TradeBuyerPay", msg_id="x" * 129), "msg_id"),
        (push("trade_TradeBuyerPay", type=KeyError), "type"),
        (push("trade_TradeBuyerPay", type={"a": 1}), "type"),
        (push("trade_TradeBuyerPay", test="yes"), "test"),
        (push("trade_TradeBuyerPay", msg=KeyError), "msg"),
        (push("trade_TradeBuyerPay", msg=123), "msg"),
        (push("trade_TradeBuyerPay", msg="%7Bnot-json"), "msg"),
        (push("trade_TradeBuyerPay", msg="[1, 2]"), "msg"),
        (push("trade_TradeBuyerPay", msg={"tid": TID}), "msg.full_order_info"),
        (push("trade_TradeBuyerPay", msg={"full_order_info": "x"}), "msg.full_order_info"),
    ],
)
def test_a_malformed_envelope_is_a_payload_error_naming_the_field(body, field):
    with pytest.raises(PayloadError) as info:
        describe(body)
    assert info.value.field == field


def test_a_form_encoded_push_is_read_like_a_json_one():
    fields = envelope("trade_TradeBuyerPay")
    body = urlencode({k: str(v).lower() if isinstance(v, bool) else v for k, v in fields.items()}).encode()
    delivery = describe(body)
    assert (delivery.event_key, delivery.kind) == (fields["msg_id"], KIND_ORDER)
    assert ADAPTER.normalize(delivery, body) == normalize(raw("trade_TradeBuyerPay"))
    heartbeat = urlencode({**fields, "test": "true"}).encode()
    assert describe(heartbeat).kind == KIND_HEARTBEAT


# normalize


def test_the_sample_purchase_normalizes_to_fen():
    assert normalize(raw("trade_TradeBuyerPay")) == Order(
        platform="youzan",
        external_id=TID,
        status="paid",
        currency="CNY",
        channel="youzan",
        ref_code=None,
        buyer=Buyer(
            external_id="LnhGm4rh576452722916618240",
            phone_hash=hashlib.sha256(b"13700000003").hexdigest(),
            name="137****0003",
        ),
        lines=(
            OrderLine(TEE, "TEE", "TEE-WHITE-M", None, 2, 14900, 0, 29800),
            OrderLine(CAP, "CAP", "CAP-BLK", None, 1, 12000, 2000, 10000),
        ),
        placed_at=datetime(2026, 11, 11, 0, 5, tzinfo=CST),
        updated_at=datetime(2026, 11, 11, 0, 5, 2, tzinfo=CST),
        paid_at=datetime(2026, 11, 11, 0, 5, 2, tzinfo=CST),
        region="杭州市",
    )


def test_the_sample_refund_returns_one_tee_on_its_line():
    assert normalize(raw("trade_refund_RefundSuccess")) == Refund(
        platform="youzan",
        external_id="201911150930001",
        order_external_id=TID,
        currency="CNY",
        lines=(RefundLine(TEE, 0, 14900),),
        created_at=datetime(2026, 11, 15, 9, 30, tzinfo=CST),
    )


@pytest.mark.parametrize(
    ("topic", "status"), [("trade_TradeSuccess", "completed"), ("trade_TradeClose", "cancelled")]
)
def test_success_and_close_are_status_updates(topic, status):
    assert normalize(push("trade_TradeSuccess", type=topic)) == StatusUpdate(
        platform="youzan",
        order_external_id=TID,
        currency="CNY",
        status=status,
        occurred_at=datetime(2026, 11, 18, 9, 0, tzinfo=CST),
    )


def test_a_status_update_reads_its_trade_and_time_tolerantly():
    bare = normalize(push("trade_TradeSuccess", msg={"x": 1}, id="E1", version=1763427600))
    assert (bare.order_external_id, bare.occurred_at) == ("E1", datetime(2025, 11, 18, 1, 0, tzinfo=UTC))
    in_order_info = normalize(
        push(
            "trade_TradeSuccess",
            type="trade_TradeClose",
            msg={"full_order_info": {"order_info": {"tid": "E2", "update_time": "2026-11-12 10:00:00"}}},
        )
    )
    assert (in_order_info.order_external_id, in_order_info.occurred_at) == (
        "E2",
        datetime(2026, 11, 12, 10, 0, tzinfo=CST),
    )
    assert payload_error(push("trade_TradeSuccess", msg={"tid": TID}, version=1)) == "msg.update_time"
    assert payload_error(push("trade_TradeSuccess", msg={"tid": TID, "update_time": 5})) == "msg.update_time"


@pytest.mark.parametrize(
    ("order_info", "status"),
    [
        ({"status": "WAIT_BUYER_PAY", "pay_time": ""}, "created"),
        ({"status": "WAIT_BUYER_PAY", "pay_time": None}, "created"),
        ({"status": "TRADE_PAID", "pay_time": ""}, "paid"),
        ({"status": "WAIT_BUYER_CONFIRM_GOODS"}, "paid"),
        ({"status": "TRADE_SUCCESS", "update_time": "2026-11-18 09:00:00"}, "completed"),
        ({"status": "TRADE_CLOSE", "pay_time": "", "update_time": "2026-11-12 10:00:00"}, "cancelled"),
    ],
)
def test_the_order_status_follows_payment_and_youzans_status(order_info, status):
    order = normalize(push("trade_TradeBuyerPay", msg=paid_msg(**order_info)))
    assert order.status == status
    assert (order.paid_at is not None) == (status in ("paid", "completed"))
    if status in ("completed", "cancelled"):
        moment = datetime.strptime(order_info["update_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=CST)
        assert (order.completed_at or order.cancelled_at) == order.updated_at == moment


def test_the_buyer_is_read_tolerantly():
    msg = paid_msg()
    msg["full_order_info"]["buyer_info"] = {"buyer_phone": "+86 137 0000 0003", "fans_nickname": " 小明 "}
    buyer = normalize(push("trade_TradeBuyerPay", msg=msg)).buyer
    assert buyer.external_id == "phone:" + hashlib.sha256(b"+86 137 0000 0003").hexdigest()
    assert buyer.name == "小明"
    msg["full_order_info"]["buyer_info"] = {"yz_open_id": "open-1", "buyer_phone": "+8613700000003"}
    buyer = normalize(push("trade_TradeBuyerPay", msg=msg)).buyer
    assert (buyer.external_id, buyer.name) == ("open-1", "137****0003")
    msg["full_order_info"]["address_info"] = {"delivery_city": 5}
    assert normalize(push("trade_TradeBuyerPay", msg=msg)).region is None


def test_lines_fall_back_to_youzans_ids_without_the_merchants_codes():
    msg = paid_msg()
    for item in msg["full_order_info"]["orders"]:
        item.update(outer_item_id="", outer_sku_id=None)
    msg["full_order_info"]["orders"][1]["sku_id"] = 0
    lines = normalize(push("trade_TradeBuyerPay", msg=msg)).lines
    assert [(line.product_id, line.sku) for line in lines] == [
        ("500818021", "400818034"),
        ("500818022", None),
    ]
    del msg["full_order_info"]["orders"][0]["item_id"]
    assert payload_error(push("trade_TradeBuyerPay", msg=msg)) == "msg.full_order_info.orders.0.item_id"


def _broken(path: str, value) -> bytes:
    msg = paid_msg()
    target, *keys, last = [msg["full_order_info"], *path.split(".")]
    for key in keys:
        target = target[int(key)] if isinstance(target, list) else target[key]
    last = int(last) if isinstance(target, list) else last
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return push("trade_TradeBuyerPay", msg=msg)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("orders.0.price", "abc", "orders.0.price"),
        ("orders.0.price", 149.0, "orders.0.price"),
        ("orders.0.price", "-1.00", "orders.0.price"),
        ("orders.0.price", "149.001", "orders.0.price"),
        ("orders.0.num", "2", "orders.0.num"),
        ("orders.0.num", 0, "orders.0.num"),
        ("orders.0.num", 2**31, "orders.0.num"),
        ("orders.0.payment", "298.01", "orders.0.payment"),
        ("orders.0.payment", KeyError, "orders.0.payment"),
        ("orders.0.total_fee", "x", "orders.0.total_fee"),
        ("orders.0.oid", KeyError, "orders.0.oid"),
        ("orders.0.oid", [1], "orders.0.oid"),
        ("orders.0", "tee", "orders.0"),
        ("orders", [], "orders"),
        ("orders", KeyError, "orders"),
        ("orders", {"0": {}}, "orders"),
        ("order_info.created", KeyError, "order_info.created"),
        ("order_info.created", "yesterday", "order_info.created"),
        ("order_info.pay_time", "2026-11-11T00:05:02+08:00", "order_info.pay_time"),
        ("order_info.status", 1, "order_info.status"),
        ("order_info", KeyError, "order_info"),
        ("buyer_info", KeyError, "buyer_info"),
        ("buyer_info", {"fans_nickname": "x"}, "buyer_info.yz_open_id"),
        ("pay_info.payment", "abc", "pay_info.payment"),
        ("pay_info.post_fee", 0, "pay_info.post_fee"),
    ],
)
def test_a_malformed_order_is_a_payload_error_naming_the_field(path, value, field):
    assert payload_error(_broken(path, value)) == f"msg.full_order_info.{field}"


def test_duplicate_line_ids_are_refused_by_the_schema():
    msg = paid_msg()
    msg["full_order_info"]["orders"][1]["oid"] = TEE
    assert payload_error(push("trade_TradeBuyerPay", msg=msg)) == "lines"


# refunds: the money is a JSON number of yuan, read exactly


def refund_msg(refunded_fee: str = "149.0", oids: str = f'"{TEE}"') -> str:
    """The sample refund message as JSON text, with ``refunded_fee`` and ``oids`` verbatim."""
    return (
        f'{{"tid":"{TID}","oids":{oids},"refund_id":"201911150930001","refunded_fee":{refunded_fee},'
        '"refund_type":"REFUND_ONLY","update_time":"2026-11-15 09:30:00"}'
    )


@pytest.mark.parametrize(
    ("refunded_fee", "fen"),
    [("149.0", 14900), ("149", 14900), ('"149.00"', 14900), ("0.01", 1), ("1E+2", 10000), ("0", 0)],
)
def test_refunded_fee_is_read_exactly_as_a_number_or_a_decimal_string(refunded_fee, fen):
    refund = normalize(push("trade_refund_RefundSuccess", msg=refund_msg(refunded_fee)))
    assert refund.lines == (RefundLine(TEE, 0, fen),) and refund.order_amount == 0


@pytest.mark.parametrize(
    "refunded_fee", ["149.005", '"149.005"', "-1", '"-1.00"', "true", '"abc"', "null", "[149]", "1e30", "NaN"]
)
def test_refunded_fee_that_is_not_a_whole_number_of_fen_is_refused(refunded_fee):
    assert (
        payload_error(push("trade_refund_RefundSuccess", msg=refund_msg(refunded_fee))) == "msg.refunded_fee"
    )


@pytest.mark.parametrize(
    ("oids", "lines", "order_amount", "spread"),
    [
        (f'"{TEE}"', ((TEE, 14900),), 0, ()),
        (f'" {TEE} ,{TEE}"', ((TEE, 14900),), 0, ()),
        (TEE, ((TEE, 14900),), 0, ()),
        (f'"{TEE},{CAP}"', (), 14900, (TEE, CAP)),
        ('""', (), 14900, ()),
        ("null", (), 14900, ()),
    ],
)
def test_a_refund_names_one_line_or_spreads_over_the_lines_it_names(oids, lines, order_amount, spread):
    refund = normalize(push("trade_refund_RefundSuccess", msg=refund_msg(oids=oids)))
    assert tuple((line.line_external_id, line.amount) for line in refund.lines) == lines
    assert refund.order_amount == order_amount and refund.total == 14900
    assert refund.spread_lines == spread


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"refund_id": None}, "msg.refund_id"),
        ({"update_time": "2026/11/15"}, "msg.update_time"),
        ({"update_time": None}, "msg.update_time"),
        ({"oids": [TEE]}, "msg.oids"),
        ({"tid": {"x": 1}}, "msg.tid"),
    ],
)
def test_a_malformed_refund_is_a_payload_error_naming_the_field(change, field):
    msg = {**message("trade_refund_RefundSuccess"), "refunded_fee": "149.00", **change}
    msg = {key: value for key, value in msg.items() if value is not None}
    assert payload_error(push("trade_refund_RefundSuccess", msg=msg)) == field


def test_a_refund_without_tid_in_msg_uses_the_envelopes_id():
    msg = {k: v for k, v in message("trade_refund_RefundSuccess").items() if k != "tid"}
    msg["refunded_fee"] = "149.00"
    assert normalize(push("trade_refund_RefundSuccess", msg=msg, id="E9")).order_external_id == "E9"


def test_the_reply_and_the_identity():
    assert ADAPTER.acknowledgement() == {"code": 0, "msg": "success"}
    assert (ADAPTER.identifier, ADAPTER.normalize_at_intake) == ("youzan", True)


# the API client


class MemoryTokens:
    def __init__(self, token=None):
        self.token, self.saved = token, []

    def load(self):
        return self.token

    def save(self, token):
        self.token = token
        self.saved.append(token)


NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=7)
TOKEN_URL = "https://open.youzanyun.com/auth/token"
CREDENTIALS = AppCredentials("youzan", CLIENT_ID, SECRET, shop_ref="98523")


def granted(token: str = "tok-1", expires: int | str = int(EXPIRES.timestamp() * 1000), **data) -> dict:
    return {
        "success": True,
        "code": 200,
        "message": None,
        "data": {
            "access_token": token,
            "expires": expires,
            "scope": "trade user",
            "authority_id": "98523",
            **data,
        },
    }


@pytest.fixture
def clock():
    return {"now": NOW}


@pytest.fixture
def waits():
    return []


def make_client(clock, waits, credentials=CREDENTIALS, tokens=None):
    http = HttpClient("youzan", attempts=3, backoff=0.5, sleep=waits.append)
    client = YouzanAdapter().api_client(credentials, tokens if tokens is not None else MemoryTokens())
    client.http, client.now = http, lambda: clock["now"]
    return client


@responses.activate
def test_the_first_call_obtains_a_token_with_the_silent_grant_and_saves_it(clock, waits):
    responses.post(TOKEN_URL, json=granted())
    client = make_client(clock, waits)
    assert client.access_token() == "tok-1"
    assert json.loads(responses.calls[0].request.body) == {
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "authorize_type": "silent",
        "grant_id": "98523",
        "refresh": False,
    }
    (saved,) = client.tokens.saved
    assert (saved.access_token, saved.expires_at, saved.scopes, saved.refresh_token) == (
        "tok-1",
        EXPIRES,
        "trade user",
        None,
    )


@responses.activate
def test_a_stored_token_is_reused_until_shortly_before_it_expires(clock, waits):
    responses.post(TOKEN_URL, json=granted("tok-1"))
    responses.post(TOKEN_URL, json=granted("tok-2", int((EXPIRES + timedelta(days=7)).timestamp() * 1000)))
    client = make_client(clock, waits)
    assert client.access_token() == "tok-1"
    clock["now"] = EXPIRES - timedelta(minutes=31)
    assert client.access_token() == "tok-1"
    assert len(responses.calls) == 1
    clock["now"] = EXPIRES - timedelta(minutes=29)
    assert client.access_token() == "tok-2"
    assert client.token().expires_at == EXPIRES + timedelta(days=7)
    assert len(responses.calls) == 2 and [t.access_token for t in client.tokens.saved] == ["tok-1", "tok-2"]


@pytest.mark.parametrize(
    ("data", "expires_at"),
    [
        ({"expires": str(int(EXPIRES.timestamp() * 1000))}, EXPIRES),
        ({"expires": int(EXPIRES.timestamp())}, EXPIRES),
        ({"expires": None, "expires_in": 7200}, NOW + timedelta(hours=2)),
        ({"expires": None}, None),
        ({"expires": True}, None),
    ],
)
@responses.activate
def test_the_expiry_is_read_tolerantly(clock, waits, data, expires_at):
    responses.post(TOKEN_URL, json=granted(**data))
    assert make_client(clock, waits).token().expires_at == expires_at


@responses.activate
def test_the_api_base_override_is_honoured(clock, waits):
    responses.post("http://127.0.0.1:9999/auth/token", json=granted())
    credentials = AppCredentials("youzan", CLIENT_ID, SECRET, "98523", api_base="http://127.0.0.1:9999/")
    assert make_client(clock, waits, credentials).access_token() == "tok-1"


@responses.activate
def test_429_waits_what_retry_after_says(clock, waits):
    responses.post(TOKEN_URL, status=429, headers={"Retry-After": "3"})
    responses.post(TOKEN_URL, json=granted())
    assert make_client(clock, waits).access_token() == "tok-1"
    assert waits == [3.0]


@responses.activate
def test_5xx_is_retried_then_succeeds(clock, waits):
    responses.post(TOKEN_URL, status=502)
    responses.post(TOKEN_URL, json=granted())
    assert make_client(clock, waits).access_token() == "tok-1"
    assert len(waits) == 1 and len(responses.calls) == 2


@responses.activate
def test_5xx_beyond_the_attempts_is_unavailable_and_saves_nothing(clock, waits):
    responses.post(TOKEN_URL, status=503)
    client = make_client(clock, waits)
    with pytest.raises(PlatformUnavailable, match="503"):
        client.access_token()
    assert len(responses.calls) == 3 and client.tokens.saved == []


@responses.activate
def test_a_timeout_is_retried(clock, waits):
    responses.post(TOKEN_URL, body=requests.ConnectTimeout("slow"))
    responses.post(TOKEN_URL, json=granted())
    assert make_client(clock, waits).access_token() == "tok-1"
    assert len(waits) == 1


@responses.activate
def test_timeouts_beyond_the_attempts_are_unavailable(clock, waits):
    responses.post(TOKEN_URL, body=requests.ReadTimeout("slow"))
    client = make_client(clock, waits)
    with pytest.raises(PlatformUnavailable, match="ReadTimeout"):
        client.access_token()
    assert client.tokens.saved == []


@responses.activate
def test_a_4xx_is_surfaced_at_once(clock, waits):
    responses.post(TOKEN_URL, status=400, json={"code": 4001, "message": "bad request"})
    client = make_client(clock, waits)
    with pytest.raises(PlatformRefused) as info:
        client.access_token()
    assert (info.value.status, info.value.platform_code) == (400, 4001)
    assert len(responses.calls) == 1 and waits == [] and client.tokens.saved == []


@pytest.mark.parametrize(
    "body",
    [
        {"success": False, "code": 40010, "message": "client_secret 错误"},
        {"success": True, "code": 40010, "message": "refused", "data": {"access_token": "x"}},
        {"code": 40010, "msg": "refused"},
    ],
)
@responses.activate
def test_a_business_error_in_a_200_body_is_refused_with_youzans_code(clock, waits, body):
    responses.post(TOKEN_URL, json=body)
    client = make_client(clock, waits)
    with pytest.raises(PlatformRefused) as info:
        client.access_token()
    assert (info.value.status, info.value.platform_code) == (200, 40010)
    assert len(responses.calls) == 1 and client.tokens.saved == []


@pytest.mark.parametrize("body", [[1], {"success": True, "code": 200, "data": {"access_token": ""}}])
@responses.activate
def test_a_grant_without_a_token_is_unavailable(clock, waits, body):
    responses.post(TOKEN_URL, json=body)
    with pytest.raises(PlatformUnavailable):
        make_client(clock, waits).access_token()


@pytest.mark.parametrize("missing", ["client_id", "client_secret", "shop_ref"])
@responses.activate
def test_missing_credentials_are_refused_without_a_call(clock, waits, missing):
    credentials = dataclasses.replace(CREDENTIALS, **{missing: "" if missing != "shop_ref" else None})
    with pytest.raises(PlatformRefused) as info:
        make_client(clock, waits, credentials).access_token()
    assert info.value.field == missing and len(responses.calls) == 0


def test_the_adapter_builds_the_client_for_the_shop():
    tokens = MemoryTokens()
    client = ADAPTER.api_client(CREDENTIALS, tokens)
    assert (client.credentials, client.tokens, client.base) == (
        CREDENTIALS,
        tokens,
        "https://open.youzanyun.com",
    )
    assert client.http.platform == "youzan"
