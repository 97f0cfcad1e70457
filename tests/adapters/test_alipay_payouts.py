"""Alipay transfers against a fake gateway that signs its answers with "Alipay's" key."""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from urllib.parse import parse_qsl, quote_plus, urlsplit

import pytest
import requests
import responses
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import given
from hypothesis import strategies as st

from adapters.errors import AdapterError, PayloadError, SignatureError
from adapters.http import HttpClient
from adapters.payouts.alipay import (
    ORDER_CHANGED,
    QUERY,
    SANDBOX_GATEWAY,
    TRANSFER,
    AlipayTransferGateway,
    identity_type,
    yuan,
)
from adapters.payouts.base import FAILED, PENDING, SUCCEEDED, Outcome, Payout

APP_ID = "2021000122600001"
APP_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ALIPAY_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PAYOUT = Payout("WD-1", 436060, "CNY", "ada@example.com", "王小明", "commission 2026-11")
ORDER = {"out_biz_no": "WD-1", "order_id": "20261101110070000006", "pay_fund_order_id": "20261101110070001"}


PEM, PKCS8, SPKI = serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.PublicFormat
APP_PEM = APP_KEY.private_bytes(PEM, PKCS8, serialization.NoEncryption()).decode()
ALIPAY_PUBLIC_PEM = ALIPAY_KEY.public_key().public_bytes(PEM, SPKI.SubjectPublicKeyInfo).decode()


def sign(key, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def signed_answer(method: str, inner: dict, key=ALIPAY_KEY) -> str:
    """The gateway's body: the answer object and RSA2 over its exact text."""
    text = json.dumps(inner, ensure_ascii=False, separators=(",", ":"))
    name = method.replace(".", "_") + "_response"
    return f'{{"{name}":{text},"sign":"{sign(key, text.encode())}"}}'


class FakeAlipay:
    """Answers each API method from its own queue; a queued exception is raised instead."""

    def __init__(self, mock: responses.RequestsMock):
        self.queues: dict[str, list] = {}
        mock.add_callback(responses.POST, SANDBOX_GATEWAY, callback=self._answer)
        self.mock = mock

    def answer(self, method: str, inner: dict | None = None, *, body=None, status=200, key=ALIPAY_KEY):
        self.queues.setdefault(method, []).append(
            body if body is not None else (status, signed_answer(method, inner, key))
        )

    def _answer(self, request):
        method = dict(parse_qsl(urlsplit(request.url).query))["method"]
        reply = self.queues[method].pop(0)
        if isinstance(reply, Exception):
            raise reply
        status, body = reply if isinstance(reply, tuple) else (200, reply)
        return status, {"Content-Type": "text/html;charset=utf-8"}, body

    def sent(self) -> list[dict]:
        """Every request's parameters, each checked to be signed with the app's key."""
        requests_sent = []
        for call in self.mock.calls:
            query = dict(parse_qsl(urlsplit(call.request.url).query, keep_blank_values=True))
            form = dict(parse_qsl(call.request.body, keep_blank_values=True))
            assert set(form) == {"biz_content"}  # the payee's name never travels in the URL
            params = {**query, **form}
            signature = base64.b64decode(params.pop("sign"))
            message = "&".join(f"{k}={v}" for k, v in sorted(params.items())).encode()
            APP_KEY.public_key().verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
            params["biz_content"] = json.loads(params["biz_content"])
            requests_sent.append(params)
        return requests_sent


@pytest.fixture
def alipay():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeAlipay(mock)
        yield fake
    assert [method for method, queue in fake.queues.items() if queue] == []  # every answer was used


@pytest.fixture
def gateway():
    http = HttpClient("alipay", attempts=2, sleep=lambda seconds: None)
    return AlipayTransferGateway(APP_ID, APP_PEM, ALIPAY_PUBLIC_PEM, SANDBOX_GATEWAY, http=http)


def ok(**fields) -> dict:
    return {"code": "10000", "msg": "Success", **fields}


def refused(sub_code: str, sub_msg: str, code: str = "40004") -> dict:
    return {"code": code, "msg": "Business Failed", "sub_code": sub_code, "sub_msg": sub_msg}


def test_a_transfer_sends_the_signed_parameters_and_succeeds(alipay, gateway):
    alipay.answer(TRANSFER, ok(**ORDER, status="SUCCESS", trans_date="2026-11-01 10:00:00"))
    assert gateway.submit(PAYOUT) == Outcome("WD-1", SUCCEEDED, "20261101110070000006", None)
    (sent,) = alipay.sent()
    timestamp = sent.pop("timestamp")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", timestamp)
    assert sent == {
        "app_id": APP_ID,
        "method": "alipay.fund.trans.uni.transfer",
        "charset": "utf-8",
        "sign_type": "RSA2",
        "version": "1.0",
        "biz_content": {
            "out_biz_no": "WD-1",
            "trans_amount": "4360.60",
            "product_code": "TRANS_ACCOUNT_NO_PWD",
            "biz_scene": "DIRECT_TRANSFER",
            "order_title": "佣金提现",
            "payee_info": {
                "identity": "ada@example.com",
                "identity_type": "ALIPAY_LOGON_ID",
                "name": "王小明",
            },
            "remark": "commission 2026-11",
        },
    }


def test_the_identity_type_follows_the_account():
    accounts = ("2088123412341234", "208812341234123", "20881234123412345", "2089123412341234", "13800138000")
    assert [identity_type(account) for account in accounts] == ["ALIPAY_USER_ID"] + ["ALIPAY_LOGON_ID"] * 4
    assert identity_type("ada@example.com") == "ALIPAY_LOGON_ID"


@given(st.integers(min_value=1, max_value=10**13))
def test_fen_become_an_exact_yuan_string(fen):
    text = yuan(fen)
    assert re.fullmatch(r"\d+\.\d\d", text)
    assert Decimal(text) * 100 == fen
    assert [yuan(n) for n in (1, 10, 100, 123456789)] == ["0.01", "0.10", "1.00", "1234567.89"]


@pytest.mark.parametrize(
    ("payout", "field"),
    [
        (Payout("WD-1", 100, "USD", "ada@example.com", "Ada"), "currency"),
        (Payout("WD-1", 0, "CNY", "ada@example.com", "Ada"), "amount"),
        (Payout("WD-1", 1.5, "CNY", "ada@example.com", "Ada"), "amount"),
    ],
)
def test_a_payout_alipay_cannot_make_is_refused_before_sending(alipay, gateway, payout, field):
    with pytest.raises(AdapterError) as info:
        gateway.submit(payout)
    assert info.value.field == field
    assert len(alipay.mock.calls) == 0


def test_a_dealing_transfer_is_pending_until_the_query_says_success(alipay, gateway):
    alipay.answer(TRANSFER, ok(**ORDER, status="DEALING"))
    alipay.answer(QUERY, ok(**ORDER, status="SUCCESS", trans_amount="4360.60"))
    assert gateway.submit(PAYOUT) == Outcome("WD-1", PENDING, "20261101110070000006", None)
    assert gateway.query("WD-1") == Outcome("WD-1", SUCCEEDED, "20261101110070000006", None)
    assert alipay.sent()[1]["biz_content"] == {
        "out_biz_no": "WD-1",
        "product_code": "TRANS_ACCOUNT_NO_PWD",
        "biz_scene": "DIRECT_TRANSFER",
    }
    assert alipay.sent()[1]["method"] == "alipay.fund.trans.common.query"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (refused("PAYEE_USER_INFO_ERROR", "收款方姓名不匹配"), "PAYEE_USER_INFO_ERROR: 收款方姓名不匹配"),
        (refused("PAYER_BALANCE_NOT_ENOUGH", "余额不足"), "PAYER_BALANCE_NOT_ENOUGH: 余额不足"),
        (refused("PAYEE_NOT_EXIST", "收款账号不存在"), "PAYEE_NOT_EXIST: 收款账号不存在"),
        (refused("isv.invalid-app-id", "无效的AppID参数", "40002"), "isv.invalid-app-id: 无效的AppID参数"),
    ],
)
def test_a_definite_refusal_fails_with_alipays_reason_and_no_query(alipay, gateway, answer, reason):
    alipay.answer(TRANSFER, answer)
    assert gateway.submit(PAYOUT) == Outcome("WD-1", FAILED, None, reason)
    assert [sent["method"] for sent in alipay.sent()] == [TRANSFER]


@pytest.mark.parametrize(
    "answer",
    [
        {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"},
        refused("SYSTEM_ERROR", "系统繁忙"),
    ],
)
def test_a_gateway_that_cannot_decide_now_leaves_the_payout_pending(alipay, gateway, answer):
    alipay.answer(TRANSFER, answer)
    outcome = gateway.submit(PAYOUT)
    assert (outcome.status, outcome.reference) == (PENDING, None)
    assert outcome.reason.startswith(answer["sub_code"])
    assert [sent["method"] for sent in alipay.sent()] == [TRANSFER]


def test_a_transfer_that_times_out_is_retried_then_pending(alipay, gateway):
    alipay.answer(TRANSFER, body=requests.ReadTimeout("read timed out"))
    alipay.answer(TRANSFER, body=requests.ConnectionError("reset"))
    outcome = gateway.submit(PAYOUT)
    assert outcome == Outcome("WD-1", PENDING, None, outcome.reason)
    assert "ConnectionError" in outcome.reason
    first, second = alipay.sent()
    assert first == second  # the same signed request: out_biz_no makes it idempotent


def test_a_retry_after_a_timeout_takes_the_answer(alipay, gateway):
    alipay.answer(TRANSFER, body=requests.ReadTimeout("read timed out"))
    alipay.answer(TRANSFER, ok(**ORDER, status="SUCCESS"))
    assert gateway.submit(PAYOUT).status == SUCCEEDED
    alipay.answer(QUERY, body=requests.ConnectTimeout("connect timed out"))
    alipay.answer(QUERY, body=requests.ConnectTimeout("connect timed out"))
    assert gateway.query("WD-1").status == PENDING  # a query is never guessed either


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_5xx_is_pending(alipay, gateway, status):
    alipay.answer(TRANSFER, body=(status, "<html>bad gateway</html>"))
    alipay.answer(TRANSFER, body=(status, "<html>bad gateway</html>"))
    outcome = gateway.submit(PAYOUT)
    assert (outcome.status, outcome.reason) == (PENDING, f"alipay: {status} from {SANDBOX_GATEWAY}")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (signed_answer(TRANSFER, ok(**ORDER, status="SUCCESS"), key=APP_KEY), "signature does not verify"),
        (
            signed_answer(TRANSFER, ok(**ORDER, status="DEALING")).replace('"DEALING"', '"SUCCESS"'),
            "signature does not verify",
        ),
        (
            signed_answer(TRANSFER, ok(**{**ORDER, "out_biz_no": "WD-2"}, status="SUCCESS")),
            "another out_biz_no",
        ),
        (
            signed_answer(TRANSFER, ok(**ORDER, status="SUCCESS")).replace(',"sign"', ',"signx"'),
            "an unsigned error answer",
        ),
        (
            json.dumps({"error_response": refused("isv.invalid-signature", "验签出错", "40002")}),
            "an unsigned error answer",
        ),
        ("<html>maintenance</html>", "a malformed answer"),
        ('{"alipay_fund_trans_uni_transfer_response":', "a malformed answer"),
    ],
)
def test_an_answer_that_cannot_be_verified_is_pending(alipay, gateway, body, reason):
    alipay.answer(TRANSFER, body=(200, body))
    outcome = gateway.submit(PAYOUT)
    assert (outcome.status, outcome.reference) == (PENDING, None)
    assert reason in outcome.reason


def test_the_same_transfer_sent_twice_has_the_first_ones_outcome(alipay, gateway):
    alipay.answer(TRANSFER, ok(**ORDER, status="SUCCESS"))
    alipay.answer(TRANSFER, ok(**ORDER, status="SUCCESS"))  # Alipay answers identical requests alike
    assert gateway.submit(PAYOUT) == gateway.submit(PAYOUT)


def test_a_reused_out_no_with_other_parameters_resolves_to_the_first_transfer(alipay, gateway):
    alipay.answer(TRANSFER, refused("PAYMENT_INFO_INCONSISTENCY", "两次请求商户单号一样，但是参数不一致"))
    alipay.answer(QUERY, ok(**ORDER, status="SUCCESS", trans_amount="4360.60"))
    changed = Payout("WD-1", 436061, "CNY", "ada@example.com", "王小明")
    assert gateway.submit(changed) == Outcome("WD-1", SUCCEEDED, "20261101110070000006", None)
    assert [sent["method"] for sent in alipay.sent()] == [TRANSFER, QUERY]


def test_an_inconsistent_out_no_alipay_then_cannot_find_stays_pending(alipay, gateway):
    alipay.answer(TRANSFER, refused("PAYMENT_INFO_INCONSISTENCY", "参数不一致"))
    alipay.answer(QUERY, refused("ORDER_NOT_EXIST", "转账订单不存在"))
    assert gateway.submit(PAYOUT) == Outcome("WD-1", PENDING, None, "PAYMENT_INFO_INCONSISTENCY: 参数不一致")


def test_an_unknown_refusal_fails_only_once_alipay_confirms_no_order(alipay, gateway):
    alipay.answer(TRANSFER, refused("SOME_NEW_CODE", "新错误"))
    alipay.answer(QUERY, refused("ORDER_NOT_EXIST", "转账订单不存在"))
    assert gateway.submit(PAYOUT) == Outcome("WD-1", FAILED, None, "SOME_NEW_CODE: 新错误")
    alipay.answer(TRANSFER, refused("SOME_NEW_CODE", "新错误"))
    alipay.answer(QUERY, ok(**ORDER, status="DEALING"))
    assert gateway.submit(PAYOUT) == Outcome("WD-1", PENDING, "20261101110070000006", None)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            refused("ORDER_NOT_EXIST", "转账订单不存在"),
            Outcome("WD-1", FAILED, None, "ORDER_NOT_EXIST: 转账订单不存在"),
        ),
        (
            ok(**ORDER, status="FAIL", error_code="PAYEE_ACCOUNT_STATUS_ERROR", fail_reason="收款方账户异常"),
            Outcome("WD-1", FAILED, ORDER["order_id"], "FAIL: PAYEE_ACCOUNT_STATUS_ERROR 收款方账户异常"),
        ),
        (ok(**ORDER, status="REFUND"), Outcome("WD-1", FAILED, ORDER["order_id"], "REFUND")),
        (ok(**ORDER, status="WAIT_PAY"), Outcome("WD-1", PENDING, ORDER["order_id"], None)),
        (refused("SYSTEM_ERROR", "系统繁忙"), Outcome("WD-1", PENDING, None, "SYSTEM_ERROR: 系统繁忙")),
    ],
)
def test_a_query_reports_alipays_record(alipay, gateway, answer, expected):
    alipay.answer(QUERY, answer)
    assert gateway.query("WD-1") == expected


def notification(biz: dict, *, charset="utf-8", key=ALIPAY_KEY, **overrides) -> bytes:
    fields = {
        "app_id": APP_ID,
        "biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":")),
        "charset": charset,
        "msg_method": ORDER_CHANGED,
        "notify_id": "d275fec564e62af6bedbcee73f3f05fi5x",
        "utc_timestamp": "1793500000000",
        "version": "1.1",
    }
    fields.update(overrides)
    message = "&".join(f"{k}={v}" for k, v in sorted(fields.items()))
    fields.update(sign_type="RSA2", sign=sign(key, message.encode(charset)))
    return "&".join(f"{k}={quote_plus(v, encoding=charset)}" for k, v in fields.items()).encode("ascii")


CHANGED = {**ORDER, "status": "SUCCESS", "action_type": "FINISH", "trans_amount": "4360.60"}


def test_a_notification_reports_the_outcome_and_a_duplicate_the_same(gateway):
    body = notification(CHANGED)
    first = gateway.parse_notification({"Content-Type": "application/x-www-form-urlencoded"}, body)
    assert first == Outcome("WD-1", SUCCEEDED, "20261101110070000006", None)
    assert gateway.parse_notification({}, body) == first


def test_a_gbk_notification_of_a_failure_verifies_in_its_charset(gateway):
    biz = {**ORDER, "status": "FAIL", "error_code": "PAYEE_NOT_EXIST", "fail_reason": "收款账号不存在"}
    outcome = gateway.parse_notification({}, notification(biz, charset="GBK"))
    assert outcome == Outcome("WD-1", FAILED, ORDER["order_id"], "FAIL: PAYEE_NOT_EXIST 收款账号不存在")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (notification(CHANGED, key=APP_KEY), "sign"),
        (notification(CHANGED).replace(b"SUCCESS", b"FAILXXX"), "sign"),
        (re.sub(rb"&sign=[^&]*", b"", notification(CHANGED)), "sign"),
        (notification(CHANGED).replace(b"sign_type=RSA2", b"sign_type=RSA"), "sign_type"),
        (notification(CHANGED, app_id="2021000199999999"), "app_id"),
    ],
)
def test_a_notification_not_signed_by_alipay_for_this_app_is_refused(gateway, body, field):
    with pytest.raises(SignatureError) as info:
        gateway.parse_notification({}, body)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (notification(CHANGED, msg_method="alipay.trade.order.settle.notify"), "msg_method"),
        (notification({"status": "SUCCESS"}), "out_biz_no"),
        (notification(CHANGED, biz_content="not json"), "biz_content"),
    ],
)
def test_a_signed_notification_fenxiao_cannot_read_is_a_payload_error(gateway, body, field):
    with pytest.raises(PayloadError) as info:
        gateway.parse_notification({}, body)
    assert info.value.field == field


def test_keys_in_alipays_bare_base64_form_and_a_notify_url(alipay):
    def bare(pem: str) -> str:
        return "".join(line for line in pem.splitlines() if not line.startswith("-----"))

    gateway = AlipayTransferGateway(
        APP_ID,
        bare(APP_PEM),
        bare(ALIPAY_PUBLIC_PEM),
        SANDBOX_GATEWAY,
        "https://shop.example/ali",
    )
    alipay.answer(TRANSFER, ok(**ORDER, status="SUCCESS"))
    assert gateway.submit(PAYOUT).status == SUCCEEDED
    assert alipay.sent()[0]["notify_url"] == "https://shop.example/ali"
    assert gateway.parse_notification({}, notification(CHANGED)).status == SUCCEEDED
