"""The Weimob adapter: signature, envelope, normalization through a fetched record, and the API
client's token handling and retry policy (with ``responses``: never the network)."""

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses
from responses import matchers

from adapters.base import KIND_HEARTBEAT, KIND_IGNORED, KIND_ORDER, KIND_REFUND, AppCredentials, Token
from adapters.clients.weimob import WeimobClient
from adapters.errors import PayloadError, PlatformRefused, PlatformUnavailable, SignatureError
from adapters.http import HttpClient
from adapters.schema import Buyer, OrderLine, Refund, RefundLine
from adapters.weimob import ACKNOWLEDGEMENT, WeimobAdapter, sign_weimob, signed_envelope

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "weimob"
CLIENT_ID, SECRET, OLD_SECRET = "8E1B2D3C4F", "wm-secret-new", "wm-secret-old"
ADAPTER = WeimobAdapter()
PAID_AT = datetime(2025, 11, 10, 16, 5, 2, tzinfo=UTC)  # the fixtures' payTime / updateTime (ms)


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def message(name: str = "order_paid", secret: str = SECRET, **body_changes) -> bytes:
    """A fixture envelope signed with ``secret``; ``body_changes`` edit its msgBody first."""
    envelope = fixture(name)
    body = json.loads(envelope["msgBody"])
    body.update(body_changes)
    return signed_envelope(envelope, CLIENT_ID, secret, msg_body=body if body_changes else None)


def envelope_bytes(envelope: dict) -> bytes:
    return json.dumps(envelope).encode()


class FakeApi:
    """What ``normalize`` calls: answers with the records it was given, counting the calls."""

    def __init__(self, order=None, rights=None):
        self.order = order if order is not None else fixture("order_detail_get_response")["data"]
        self.rights = rights if rights is not None else fixture("rights_detail_get_response")["data"]
        self.calls = []

    def order_detail(self, order_no):
        self.calls.append(("order", order_no))
        if isinstance(self.order, Exception):
            raise self.order
        return copy.deepcopy(self.order)

    def rights_detail(self, rights_id):
        self.calls.append(("rights", rights_id))
        return copy.deepcopy(self.rights)


def normalize(body: bytes, api=None):
    return ADAPTER.normalize(ADAPTER.describe({}, body), body, api if api is not None else FakeApi())


def record_error(order=None, rights=None, name="order_paid") -> str:
    with pytest.raises(PayloadError) as info:
        normalize(message(name), FakeApi(order, rights))
    return info.value.field


# --------------------------------------------------------------------------- verify


def test_a_message_signed_with_the_shops_secret_and_client_id_verifies():
    ADAPTER.verify({}, message(), [SECRET], CLIENT_ID)


def test_the_sign_is_md5_of_client_id_id_body_and_secret():
    envelope = fixture("order_paid")
    expected = hashlib.md5(f"{CLIENT_ID}10001{envelope['msgBody']}{SECRET}".encode()).hexdigest()
    assert sign_weimob(CLIENT_ID, "10001", envelope["msgBody"], SECRET) == expected
    assert json.loads(message())["sign"] == expected


def test_the_hex_case_of_the_sign_does_not_matter():
    envelope = json.loads(message())
    envelope["sign"] = envelope["sign"].upper()
    ADAPTER.verify({}, envelope_bytes(envelope), [SECRET], CLIENT_ID)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda e: e.update(msgBody=e["msgBody"].replace('"orderStatus":3', '"orderStatus":8')),
        lambda e: e.update(id="10009"),
        lambda e: e.update(sign="0" * 32),
        lambda e: e.update(sign=""),
        lambda e: e.pop("sign"),
    ],
    ids=["body", "id", "sign", "empty sign", "no sign"],
)
def test_a_tampered_or_unsigned_message_is_refused(tamper):
    envelope = json.loads(message())
    tamper(envelope)
    with pytest.raises(SignatureError):
        ADAPTER.verify({}, envelope_bytes(envelope), [SECRET], CLIENT_ID)


def test_another_secret_or_another_client_id_is_refused():
    with pytest.raises(SignatureError, match="none of the shop's secrets"):
        ADAPTER.verify({}, message(secret="someone-else"), [SECRET, OLD_SECRET], CLIENT_ID)
    with pytest.raises(SignatureError):
        ADAPTER.verify({}, message(), [SECRET], "ANOTHER-APP")


@pytest.mark.parametrize("client_id", [None, ""])
def test_a_shop_without_a_weimob_client_id_cannot_verify(client_id):
    with pytest.raises(SignatureError, match="no Weimob client id configured") as info:
        ADAPTER.verify({}, message(), [SECRET], client_id)
    assert info.value.field == "clientId"


def test_every_secret_of_a_rotation_is_tried():
    for signed_with in (SECRET, OLD_SECRET):
        ADAPTER.verify({}, message(secret=signed_with), [SECRET, OLD_SECRET], CLIENT_ID)
    ADAPTER.verify({}, message(), SECRET, CLIENT_ID)  # a lone secret string
    with pytest.raises(SignatureError):
        ADAPTER.verify({}, message(secret=OLD_SECRET), [SECRET], CLIENT_ID)  # the grace window is over


def test_an_integer_id_is_signed_as_its_digits():
    envelope = fixture("order_paid")
    envelope["id"] = 10001
    body = signed_envelope(envelope, CLIENT_ID, SECRET)
    assert json.loads(body)["sign"] == sign_weimob(CLIENT_ID, "10001", envelope["msgBody"], SECRET)
    ADAPTER.verify({}, body, [SECRET], CLIENT_ID)


def xinyun(signature_field: str = "msgSignature") -> bytes:
    """The older xinyun envelope of the paid message: ``msg_body``, ``business_id``, ``version``."""
    wos = fixture("order_paid")
    envelope = {
        "id": 10001,
        "topic": wos["topic"],
        "event": wos["event"],
        "business_id": "1100001",
        "public_account_id": "2200002",
        "clientId": CLIENT_ID,
        "version": 1,
        "msg_body": wos["msgBody"],
    }
    envelope[signature_field] = sign_weimob(CLIENT_ID, 10001, wos["msgBody"], SECRET)
    return envelope_bytes(envelope)


@pytest.mark.parametrize("field", ["msgSignature", "sign"])
def test_the_older_xinyun_envelope_verifies_and_reads_like_the_wos_one(field):
    body = xinyun(field)
    ADAPTER.verify({}, body, [SECRET], CLIENT_ID)
    delivery = ADAPTER.describe({}, body)
    assert (delivery.kind, delivery.topic, delivery.occurred_at) == (
        KIND_ORDER,
        "weimob_shop.order/statusUpdate",
        PAID_AT,
    )
    assert normalize(body).paid_total == 39800
    with pytest.raises(SignatureError):
        ADAPTER.verify({}, body.replace(b"orderStatus", b"orderState"), [SECRET], CLIENT_ID)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1]", "body"),
        (envelope_bytes({**fixture("order_paid"), "msgBody": {"orderNo": 10001}}), "msgBody"),
        (envelope_bytes({k: v for k, v in fixture("order_paid").items() if k != "msgBody"}), "msgBody"),
        (envelope_bytes({**fixture("order_paid"), "id": 1.5}), "id"),
    ],
)
def test_an_envelope_whose_signature_cannot_be_checked_is_a_payload_error(body, field):
    with pytest.raises(PayloadError) as info:
        ADAPTER.verify({}, body, [SECRET], CLIENT_ID)
    assert info.value.field == field


# --------------------------------------------------------------------------- describe


@pytest.mark.parametrize("event", ["create", "orderCreate", "statusUpdate", "orderStatusUpdate", "update"])
def test_order_events_are_orders(event):
    envelope = {**fixture("order_paid"), "event": event}
    delivery = ADAPTER.describe({}, signed_envelope(envelope, CLIENT_ID, SECRET))
    assert (delivery.kind, delivery.topic) == (KIND_ORDER, f"weimob_shop.order/{event}")


@pytest.mark.parametrize(
    "event", ["create", "rightsCreate", "statusUpdate", "rightsStatusUpdate", "infoUpdate"]
)
def test_rights_events_are_refunds(event):
    envelope = {**fixture("rights_refund"), "event": event}
    delivery = ADAPTER.describe({}, signed_envelope(envelope, CLIENT_ID, SECRET))
    assert (delivery.kind, delivery.topic, delivery.occurred_at) == (
        KIND_REFUND,
        f"weimob_shop.rights/{event}",
        None,  # the rights message carries no updateTime
    )


@pytest.mark.parametrize(
    ("topic", "event"),
    [("weimob_shop.order", "delete"), ("weimob_crm.customer", "create"), ("weimob_shop.goods", "update")],
)
def test_other_topics_and_events_are_recorded_as_ignored(topic, event):
    envelope = {**fixture("order_paid"), "topic": topic, "event": event}
    body = signed_envelope(envelope, CLIENT_ID, SECRET)
    assert ADAPTER.describe({}, body).kind == KIND_IGNORED
    api = FakeApi()
    assert ADAPTER.normalize(ADAPTER.describe({}, body), body, api) is None
    assert api.calls == []


def test_a_test_message_is_a_heartbeat():
    envelope = {**fixture("order_paid"), "test": True, "msgBody": "{}"}
    delivery = ADAPTER.describe({}, signed_envelope(envelope, CLIENT_ID, SECRET))
    assert delivery.kind == KIND_HEARTBEAT


def test_the_dedupe_key_is_the_id_and_separates_other_events_under_the_same_id():
    paid = ADAPTER.describe({}, message())
    again = ADAPTER.describe({}, envelope_bytes(json.loads(message())))  # re-sent, other bytes
    assert paid.event_key == again.event_key
    assert paid.event_key.startswith("10001:")
    # Weimob documents ``id`` as a business id ("the order number"): a completed message of the
    # same order under the same id must not be taken for a re-send of the paid one.
    completed = {**fixture("order_completed"), "id": "10001"}
    assert ADAPTER.describe({}, signed_envelope(completed, CLIENT_ID, SECRET)).event_key != paid.event_key


def test_occurred_at_is_the_messages_update_time_in_milliseconds():
    assert ADAPTER.describe({}, message()).occurred_at == PAID_AT
    assert ADAPTER.describe({}, message(updateTime=1762790702123)).occurred_at == PAID_AT + timedelta(
        milliseconds=123
    )


def with_body(text, name="order_paid") -> bytes:
    return signed_envelope({**fixture(name), "msgBody": text}, CLIENT_ID, SECRET)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (with_body("{not json"), "msgBody"),
        (with_body("[1, 2]"), "msgBody"),
        (with_body('"10001"'), "msgBody"),
        (envelope_bytes({**fixture("order_paid"), "msgBody": 10001}), "msgBody"),
        (message(orderNo=None), "msgBody.orderNo"),
        (message("rights_refund", rightsId=None), "msgBody.rightsId"),
        (message(orderNo=[10001]), "msgBody.orderNo"),
        (message("rights_refund", rightsId=""), "msgBody.rightsId"),
        (message(updateTime="1762790702000"), "msgBody.updateTime"),
        (message(updateTime=1.5), "msgBody.updateTime"),
        (message(updateTime=-1), "msgBody.updateTime"),
        (envelope_bytes({**json.loads(message()), "topic": 7}), "topic"),
        (envelope_bytes({**json.loads(message()), "event": ""}), "event"),
        (envelope_bytes({**json.loads(message()), "id": True}), "id"),
        (envelope_bytes({**json.loads(message()), "id": None}), "id"),
        (envelope_bytes({**json.loads(message()), "test": "no"}), "test"),
        (envelope_bytes({**json.loads(message()), "topic": "t" * 120}), "topic"),
    ],
)
def test_a_malformed_envelope_or_message_body_names_its_field(body, field):
    with pytest.raises(PayloadError) as info:
        ADAPTER.describe({}, body)
    assert info.value.field == field


def test_the_acknowledgement_is_weimobs_success_reply():
    assert ADAPTER.acknowledgement() == {"code": {"errcode": "0", "errmsg": "success"}} == ACKNOWLEDGEMENT


# --------------------------------------------------------------------------- normalize: orders


def test_the_paid_message_becomes_the_fetched_order_with_its_lines():
    api = FakeApi()
    order = normalize(message(), api)
    assert api.calls == [("order", "10001")]
    assert (order.platform, order.external_id, order.status, order.currency) == (
        "weimob",
        "10001",
        "paid",
        "CNY",
    )
    assert order.lines == (
        OrderLine("1", "9001", "7001", None, 2, 14900, 0, 29800),
        OrderLine("2", "9002", "7002", None, 1, 12000, 2000, 10000),
    )
    assert order.paid_total == 39800
    assert order.paid_at == PAID_AT
    assert order.placed_at == datetime(2025, 11, 10, 16, 5, tzinfo=UTC)
    assert order.buyer == Buyer(
        external_id="4464",
        phone_hash=hashlib.sha256(b"13700000003").hexdigest(),
        name="137****0003",
    )
    assert (order.ref_code, order.channel, order.test) == (None, "wechat", False)


@pytest.mark.parametrize(
    ("code", "status"),
    [(0, "created"), (1, "created"), (2, "paid"), (3, "paid"), (4, "paid"), (5, "paid")]
    + [(7, "completed"), (8, "completed"), (9, "cancelled")],
)
def test_the_status_is_the_fetched_records(code, status):
    record = fixture("order_detail_get_response")["data"]
    record["orderStatus"] = code
    order = normalize(message(orderStatus=3), FakeApi(order=record))  # the message still says 3
    assert order.status == status
    assert (order.completed_at is not None) == (status == "completed")
    assert (order.cancelled_at is not None) == (status == "cancelled")


def test_completion_is_dated_by_the_records_finish_time():
    record = fixture("order_detail_get_response")["data"]
    record.update(orderStatus=8, updateTime=1763427600000, orderBaseInfo={"finishTime": 1763427000000})
    order = normalize(message(), FakeApi(order=record))
    assert order.completed_at == datetime(2025, 11, 18, 0, 50, tzinfo=UTC)
    assert order.updated_at == datetime(2025, 11, 18, 1, 0, tzinfo=UTC)


def nested_order() -> dict:
    """The order as the Go SDK describes ``order/detail/get``: ``orderInfo`` with its sections."""
    flat = fixture("order_detail_get_response")["data"]
    items = []
    for item in flat["items"]:
        item = dict(item)
        item["payInfo"] = {"payAmount": item.pop("payAmount")}
        items.append(item)
    return {
        "orderInfo": {
            "orderBaseInfo": {
                "orderNo": 10001,
                "orderStatus": 3,
                "createTime": flat["createTime"],
                "payTime": flat["payInfo"]["payTime"],
                "channelType": 1,
            },
            "payInfo": {"payAmount": "398.00", "totalAmount": "418.00"},
            "buyerInfo": {"wid": 4464, "userNickName": "小明"},
            "orderFulfill": {"receiverInfo": {"city": " 杭州市 "}},
            "items": items,
        }
    }


def test_the_documented_nested_record_reads_the_same():
    order = normalize(message(), FakeApi(order=nested_order()))
    flat = normalize(message())
    assert order.lines == flat.lines
    assert (order.status, order.paid_at, order.placed_at) == (flat.status, flat.paid_at, flat.placed_at)
    assert (order.buyer.external_id, order.buyer.name, order.buyer.phone_hash) == ("4464", "小明", None)
    assert (order.channel, order.region) == ("miniprogram", "杭州市")


def test_shipping_is_taken_off_the_paid_amount_before_the_lines_are_checked():
    record = fixture("order_detail_get_response")["data"]
    record["payInfo"].update(payAmount="410.00", deliveryAmount="12.00")
    assert normalize(message(), FakeApi(order=record)).paid_total == 39800


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r["payInfo"].update(payAmount="400.00"), "data.payInfo.payAmount"),
        (lambda r: r["payInfo"].update(deliveryAmount="10.00"), "data.payInfo.payAmount"),
        (lambda r: r["items"][1].update(payAmount="90.00"), "data.payInfo.payAmount"),
        (lambda r: r["payInfo"].pop("payAmount"), "data.payInfo.payAmount"),
        (lambda r: r["items"][0].update(payAmount="300.00"), "data.items.0.payAmount"),
        (lambda r: r["items"][0].update(salePrice=149.0), "data.items.0.salePrice"),
        (lambda r: r["items"][0].update(salePrice="149.001"), "data.items.0.salePrice"),
        (lambda r: r["items"][0].update(skuNum="two"), "data.items.0.skuNum"),
        (lambda r: r["items"][0].update(skuNum="0"), "data.items.0.skuNum"),
        (lambda r: r["items"][0].pop("itemId"), "data.items.0.itemId"),
        (lambda r: r.update(items=[]), "data.items"),
        (lambda r: r.update(orderStatus=6), "data.orderStatus"),
        (lambda r: r.update(orderStatus="3"), "data.orderStatus"),
        (lambda r: r.update(orderNo=10002), "data.orderNo"),
        (lambda r: (r.pop("wid"), r["buyerInfo"].pop("wid")), None),
    ],
)
def test_an_inconsistent_or_malformed_record_is_refused_never_priced(change, field):
    record = fixture("order_detail_get_response")["data"]
    change(record)
    if field is None:  # the message's wid is the last resort for the buyer
        assert normalize(message(), FakeApi(order=record)).buyer.external_id == "4464"
        return
    assert record_error(order=record) == field


def test_without_an_api_client_normalizing_is_a_retryable_error_not_a_bad_payload():
    body = message()
    with pytest.raises(PlatformUnavailable, match="API client") as info:
        ADAPTER.normalize(ADAPTER.describe({}, body), body, None)
    assert not isinstance(info.value, PayloadError)


@pytest.mark.parametrize(
    "failure", [PlatformUnavailable("weimob: 503"), PlatformRefused("weimob refused", platform_code="1")]
)
def test_a_failed_fetch_is_raised_as_it_is(failure):
    with pytest.raises(type(failure)) as info:
        normalize(message(), FakeApi(order=failure))
    assert info.value is failure


# --------------------------------------------------------------------------- normalize: rights


def test_the_completed_refund_of_one_tee_becomes_a_refund():
    api = FakeApi()
    refund = normalize(message("rights_refund"), api)
    assert api.calls == [("rights", "20001")]
    assert refund.external_id == "20001"
    assert (refund.order_external_id, refund.currency, refund.order_amount) == ("10001", "CNY", 0)
    assert refund.lines == (RefundLine("1", 1, 14900),)
    assert refund.total == 14900


def test_the_documented_nested_rights_record_reads_the_same():
    rights = {
        "rightsInfo": {
            "rightsOrder": {
                "rightsId": 20001,
                "rightsType": 1,
                "rightsStatus": 6,
                "updateTime": 1763000000000,
            },
            "originOrder": {"orderNo": 10001},
            "refundDetail": {"refundAmount": "149.00"},
            "rightsItems": [{"orderItemId": 1, "applyNum": "1", "refundDetail": {"refundAmount": "149.00"}}],
        }
    }
    refund = normalize(message("rights_refund"), FakeApi(rights=rights))
    assert refund == Refund(
        platform="weimob",
        external_id="20001",
        order_external_id="10001",
        currency="CNY",
        lines=(RefundLine("1", 1, 14900),),
        created_at=datetime(2025, 11, 13, 2, 13, 20, tzinfo=UTC),
    )


def test_a_refund_naming_no_items_returns_an_order_amount():
    rights = fixture("rights_detail_get_response")["data"]
    del rights["rightsItems"]
    refund = normalize(message("rights_refund"), FakeApi(rights=rights))
    assert (refund.lines, refund.order_amount) == ((), 14900)


@pytest.mark.parametrize(("rights_type", "status"), [(5, 6), (2, 1), (1, 3), (2, 7)])
def test_exchanges_and_rights_not_completed_are_not_refunds(rights_type, status):
    rights = fixture("rights_detail_get_response")["data"]
    rights.update(rightsType=rights_type, rightsStatus=status)
    assert normalize(message("rights_refund"), FakeApi(rights=rights)) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r["rightsItems"][0].update(refundAmount="150.00"), "data"),
        (lambda r: r["rightsItems"][0].update(refundAmount=149), "data.rightsItems.0.refundAmount"),
        (lambda r: r["rightsItems"][0].update(applyNum=-1), "data.rightsItems.0.applyNum"),
        (lambda r: (r.pop("rightsItems"), r.pop("refundAmount")), "data.refundAmount"),
        (lambda r: r.update(rightsId=20002), "data.rightsId"),
        (lambda r: r.update(rightsStatus=None), "data.rightsStatus"),
    ],
)
def test_a_malformed_rights_record_is_refused(change, field):
    rights = fixture("rights_detail_get_response")["data"]
    change(rights)
    assert record_error(rights=rights, name="rights_refund") == field


# --------------------------------------------------------------------------- the API client

API = "https://dopen.weimob.com"
NOW = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
CREDENTIALS = AppCredentials("weimob", CLIENT_ID, SECRET, shop_ref="4020112618957")
ORDER_URL = f"{API}/apigw/weimob_shop/v2.0/order/detail/get"
RIGHTS_URL = f"{API}/apigw/weimob_shop/v2.0/rights/detail/get"
TOKEN_URL = f"{API}/fuwu/b/oauth2/token"
SUCCESS = {"code": {"errcode": "0", "errmsg": "success"}}


class MemoryTokens:
    def __init__(self, token: Token | None = None):
        self.token, self.saved = token, []

    def load(self):
        return self.token

    def save(self, token):
        self.token = token
        self.saved.append(token)


@pytest.fixture
def api():
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def sleeps():
    return []


def client(tokens, sleeps, credentials=CREDENTIALS) -> WeimobClient:
    http = HttpClient("weimob", sleep=sleeps.append, attempts=3)
    return WeimobClient(credentials, tokens, http=http, now=lambda: NOW)


def fresh(access="tok-valid", minutes=60, refresh=None) -> Token:
    return Token(
        access, NOW + timedelta(minutes=minutes), refresh, NOW + timedelta(days=6) if refresh else None
    )


def order_reply():
    return {**SUCCESS, "data": fixture("order_detail_get_response")["data"]}


def token_reply(access="tok-new", **extra):
    return {"access_token": access, "expires_in": 7199, "token_type": "bearer", "scope": "default", **extra}


def with_token(token: str):
    return matchers.query_param_matcher({"accesstoken": token})


def test_without_a_token_one_is_obtained_for_the_shop_and_kept(api, sleeps):
    api.post(
        TOKEN_URL,
        json=token_reply(),
        match=[
            matchers.query_param_matcher(
                {
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": SECRET,
                    "shop_id": "4020112618957",
                    "shop_type": "business_operation_system_id",
                }
            )
        ],
    )
    api.post(
        ORDER_URL,
        json=order_reply(),
        match=[with_token("tok-new"), matchers.json_params_matcher({"orderNo": 10001})],
    )
    tokens = MemoryTokens()
    assert client(tokens, sleeps).order_detail("10001")["payInfo"]["payAmount"] == "398.00"
    assert tokens.saved == [Token("tok-new", NOW + timedelta(seconds=7199), None, None, "default")]


def test_a_valid_token_is_reused(api, sleeps):
    api.post(ORDER_URL, json=order_reply(), match=[with_token("tok-valid")])
    api.post(RIGHTS_URL, json={**SUCCESS, "data": {"rightsId": 20001}}, match=[with_token("tok-valid")])
    tokens = MemoryTokens(fresh())
    weimob = client(tokens, sleeps)
    weimob.order_detail(10001)
    assert weimob.rights_detail("20001") == {"rightsId": 20001}
    assert tokens.saved == []
    assert json.loads(api.calls[1].request.body) == {"rightsId": 20001}


def test_a_token_about_to_expire_is_refreshed_first(api, sleeps):
    api.post(
        TOKEN_URL,
        json=token_reply(refresh_token="refresh-2", refresh_token_expires_in=604799),
        match=[
            matchers.query_param_matcher(
                {
                    "grant_type": "refresh_token",
                    "refresh_token": "refresh-1",
                    "client_id": CLIENT_ID,
                    "client_secret": SECRET,
                }
            )
        ],
    )
    api.post(ORDER_URL, json=order_reply(), match=[with_token("tok-new")])
    tokens = MemoryTokens(fresh("tok-old", minutes=2, refresh="refresh-1"))
    client(tokens, sleeps).order_detail("10001")
    assert tokens.token == Token(
        "tok-new", NOW + timedelta(seconds=7199), "refresh-2", NOW + timedelta(seconds=604799), "default"
    )


def test_an_expired_token_whose_refresh_token_expired_too_is_obtained_again(api, sleeps):
    api.post(
        TOKEN_URL,
        json=token_reply(),
        match=[matchers.query_param_matcher({"grant_type": "client_credentials"}, strict_match=False)],
    )
    api.post(ORDER_URL, json=order_reply(), match=[with_token("tok-new")])
    stale = Token("tok-old", NOW - timedelta(hours=1), "refresh-old", NOW - timedelta(minutes=1))
    tokens = MemoryTokens(stale)
    client(tokens, sleeps).order_detail("10001")
    assert tokens.token.access_token == "tok-new"


def test_a_token_weimob_calls_invalid_is_renewed_once_and_the_call_retried(api, sleeps):
    invalid = {"code": {"errcode": "80001001000119", "errmsg": "token invalid"}}
    api.post(ORDER_URL, json=invalid, match=[with_token("tok-valid")])
    api.post(TOKEN_URL, json=token_reply())
    api.post(ORDER_URL, json=order_reply(), match=[with_token("tok-new")])
    tokens = MemoryTokens(fresh())
    assert client(tokens, sleeps).order_detail("10001")["orderNo"] == 10001
    assert [call.request.url.split("?")[0] for call in api.calls] == [ORDER_URL, TOKEN_URL, ORDER_URL]
    assert tokens.token.access_token == "tok-new"


def test_a_token_still_invalid_after_renewal_is_refused(api, sleeps):
    invalid = {"code": {"errcode": "80001001000119", "errmsg": "token invalid"}}
    api.post(ORDER_URL, json=invalid)
    api.post(TOKEN_URL, json=token_reply())
    api.post(ORDER_URL, json=invalid)
    with pytest.raises(PlatformRefused) as info:
        client(MemoryTokens(fresh()), sleeps).order_detail("10001")
    assert (info.value.status, info.value.platform_code) == (200, "80001001000119")
    assert len(api.calls) == 3


def test_a_business_error_is_refused_with_weimobs_code(api, sleeps):
    api.post(ORDER_URL, json={"code": {"errcode": "80001001001008", "errmsg": "订单不存在"}, "data": None})
    with pytest.raises(PlatformRefused, match="80001001001008 订单不存在") as info:
        client(MemoryTokens(fresh()), sleeps).order_detail("10001")
    assert info.value.platform_code == "80001001001008"
    assert len(api.calls) == 1


@pytest.mark.parametrize("reply", [{"data": {}}, {**SUCCESS, "data": None}, [1]])
def test_a_reply_that_is_not_weimobs_envelope_is_unavailable(api, sleeps, reply):
    api.post(ORDER_URL, json=reply)
    with pytest.raises(PlatformUnavailable):
        client(MemoryTokens(fresh()), sleeps).order_detail("10001")


def test_a_429_waits_the_retry_after_it_names(api, sleeps):
    api.post(ORDER_URL, status=429, headers={"Retry-After": "2"})
    api.post(ORDER_URL, json=order_reply())
    client(MemoryTokens(fresh()), sleeps).order_detail("10001")
    assert sleeps == [2.0]


def test_a_5xx_is_retried_then_succeeds(api, sleeps):
    api.post(ORDER_URL, status=502)
    api.post(ORDER_URL, status=503)
    api.post(ORDER_URL, json=order_reply())
    client(MemoryTokens(fresh()), sleeps).order_detail("10001")
    assert len(sleeps) == 2 and len(api.calls) == 3


def test_a_5xx_that_lasts_is_unavailable(api, sleeps):
    api.post(ORDER_URL, status=503)
    with pytest.raises(PlatformUnavailable, match="503"):
        client(MemoryTokens(fresh()), sleeps).order_detail("10001")
    assert len(api.calls) == 3


def test_a_4xx_is_surfaced_at_once(api, sleeps):
    api.post(ORDER_URL, status=403, json={"errcode": "403", "errmsg": "forbidden"})
    with pytest.raises(PlatformRefused) as info:
        client(MemoryTokens(fresh()), sleeps).order_detail("10001")
    assert (info.value.status, info.value.platform_code) == (403, "403")
    assert len(api.calls) == 1 and sleeps == []


def test_a_timeout_is_retried_then_unavailable(api, sleeps):
    api.post(ORDER_URL, body=requests.Timeout("read timed out"))
    with pytest.raises(PlatformUnavailable, match="Timeout") as info:
        client(MemoryTokens(fresh()), sleeps).order_detail("10001")
    assert len(api.calls) == 3
    assert "tok-valid" not in str(info.value)


def test_a_failed_grant_never_carries_the_app_secret_in_its_error(api, sleeps):
    url = f"{TOKEN_URL}?client_id={CLIENT_ID}&client_secret={SECRET}"
    api.post(TOKEN_URL, body=requests.ConnectionError(f"Max retries exceeded with url: {url}"))
    with pytest.raises(PlatformUnavailable) as info:
        client(MemoryTokens(), sleeps).order_detail("10001")
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("status", "reply", "code"),
    [
        (401, {"error": "invalid_client", "error_description": "bad secret"}, "invalid_client"),
        (200, {"code": {"errcode": "80001001000120", "errmsg": "shop not authorized"}}, "80001001000120"),
        (200, {"error": "invalid_grant"}, "invalid_grant"),
    ],
)
def test_a_refused_token_grant_is_refused(api, sleeps, status, reply, code):
    api.post(TOKEN_URL, status=status, json=reply)
    tokens = MemoryTokens()
    with pytest.raises(PlatformRefused) as info:
        client(tokens, sleeps).order_detail("10001")
    assert (info.value.platform_code, info.value.field) == (code, "token")
    assert tokens.saved == [] and len(api.calls) == 1


def test_a_refresh_grant_is_never_retried_blindly(api, sleeps):
    api.post(TOKEN_URL, status=503)
    with pytest.raises(PlatformUnavailable):
        client(MemoryTokens(fresh("tok-old", minutes=-1, refresh="refresh-1")), sleeps).order_detail("1")
    assert len(api.calls) == 1


def test_an_authorization_code_is_traded_for_a_token_with_a_refresh_token(api, sleeps):
    api.post(
        TOKEN_URL,
        json=token_reply(refresh_token="refresh-1", refresh_token_expires_in=604799),
        match=[
            matchers.query_param_matcher(
                {"grant_type": "authorization_code", "code": "c0de", "redirect_uri": "https://fx.example/cb"},
                strict_match=False,
            )
        ],
    )
    tokens = MemoryTokens()
    token = client(tokens, sleeps).exchange_code("c0de", "https://fx.example/cb")
    assert tokens.saved == [token]
    assert (token.refresh_token, token.refresh_expires_at) == ("refresh-1", NOW + timedelta(seconds=604799))


def test_the_api_base_of_the_credentials_is_honoured(api, sleeps):
    local = "http://127.0.0.1:9000/"
    api.post("http://127.0.0.1:9000/fuwu/b/oauth2/token", json=token_reply())
    api.post("http://127.0.0.1:9000/apigw/weimob_shop/v2.0/order/detail/get", json=order_reply())
    credentials = AppCredentials("weimob", CLIENT_ID, SECRET, shop_ref="4020112618957", api_base=local)
    client(MemoryTokens(), sleeps, credentials).order_detail("10001")
    assert len(api.calls) == 2


def test_the_adapter_builds_the_shops_client():
    tokens = MemoryTokens()
    weimob = ADAPTER.api_client(CREDENTIALS, tokens)
    assert isinstance(weimob, WeimobClient)
    assert (weimob.credentials, weimob.tokens, weimob.base) == (CREDENTIALS, tokens, API)
