"""WeChat Pay 商家转账: real signatures both ways, WeChat faked with ``responses``."""

from __future__ import annotations

import json
import time
from base64 import b64decode, b64encode

import pytest
import requests
import responses
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from adapters.errors import PayloadError, SignatureError
from adapters.payouts.base import FAILED, PENDING, SUCCEEDED, Outcome, Payout
from adapters.payouts.wechat import WechatTransferGateway, package_info

MERCHANT_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PLATFORM_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
APIV3_KEY = "a12d3924fd499edac8a5efc0ab12cd34"
PUBLIC_KEY_ID = "PUB_KEY_ID_0119000000012025"
TRANSFER_URL = "https://api.mch.weixin.qq.com/v3/fund-app/mch-transfer/transfer-bills"
QUERY_URL = TRANSFER_URL + "/out-bill-no/WD0001"
PAYOUT = Payout("WD0001", 436060, "CNY", "o-MYE42l80oelYMDE34nYD456Xoy", "王小明", "2026年11月佣金")
BILL_NO = "1330000071100999991182020050700019480001"


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # PKCS#1: the gateway converts it
        serialization.NoEncryption(),
    ).decode()


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def gateway(**options) -> WechatTransferGateway:
    return WechatTransferGateway(
        mchid="1900000001",
        appid="wxd678efh567hg6787",
        private_key=pem(MERCHANT_KEY),
        cert_serial_no="444F4864EA9B34415",
        apiv3_key=APIV3_KEY,
        public_key=public_pem(PLATFORM_KEY),
        public_key_id=PUBLIC_KEY_ID,
        **options,
    )


def signed(body: str, key=PLATFORM_KEY, serial=PUBLIC_KEY_ID) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), "593BEC0C930BF1AFEB40B4A08C8FB242"
    message = f"{timestamp}\n{nonce}\n{body}\n".encode()
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature": b64encode(signature).decode(),
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def answer(rsps, method, url, payload, status=200, key=PLATFORM_KEY):
    body = json.dumps(payload, ensure_ascii=False)
    headers = signed(body, key) if status < 300 else {}
    rsps.add(method, url, body=body, status=status, content_type="application/json", headers=headers)


def bill(state: str, **fields) -> dict:
    return {"out_bill_no": "WD0001", "transfer_bill_no": BILL_NO, "state": state, **fields}


def notification(resource: dict, apiv3_key=APIV3_KEY) -> str:
    nonce, associated = "fK8wPbmyX2Ql", "mch_payment"
    plain = json.dumps(resource).encode()
    cipher = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), plain, associated.encode())
    return json.dumps(
        {
            "id": "EV-2018022511223320873",
            "create_time": "2026-11-30T13:29:35+08:00",
            "resource_type": "encrypt-resource",
            "event_type": "MCHTRANSFER.BILL.FINISHED",
            "summary": "商家转账单据终态通知",
            "resource": {
                "original_type": "mch_payment",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": b64encode(cipher).decode(),
                "associated_data": associated,
                "nonce": nonce,
            },
        }
    )


def test_construction_sends_nothing():
    with responses.RequestsMock() as rsps:
        gateway()
        assert len(rsps.calls) == 0
    assert gateway().channel == "wechat"


def test_a_success_sends_the_bill_in_fen_signed_by_the_merchant():
    with responses.RequestsMock() as rsps:
        answer(rsps, "POST", TRANSFER_URL, bill("SUCCESS", create_time="2026-11-30T10:00:00+08:00"))
        outcome = gateway(notify_url="https://shop.example/wechat/transfer").submit(PAYOUT)
        request = rsps.calls[0].request
    assert outcome == Outcome("WD0001", SUCCEEDED, BILL_NO, None)
    sent = json.loads(request.body)
    name = PLATFORM_KEY.decrypt(
        b64decode(sent.pop("user_name")),
        padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
    )
    assert name.decode() == "王小明"
    assert sent == {
        "appid": "wxd678efh567hg6787",
        "out_bill_no": "WD0001",
        "transfer_scene_id": "1005",
        "openid": "o-MYE42l80oelYMDE34nYD456Xoy",
        "transfer_amount": 436060,
        "transfer_remark": "2026年11月佣金",
        "transfer_scene_report_infos": [
            {"info_type": "岗位类型", "info_content": "推广员"},
            {"info_type": "报酬说明", "info_content": "推广佣金"},
        ],
        "notify_url": "https://shop.example/wechat/transfer",
    }
    assert request.headers["Wechatpay-Serial"] == PUBLIC_KEY_ID
    fields = dict(part.split("=", 1) for part in request.headers["Authorization"].split(" ", 1)[1].split(","))
    fields = {k: v.strip('"') for k, v in fields.items()}
    assert (fields["mchid"], fields["serial_no"]) == ("1900000001", "444F4864EA9B34415")
    message = f"POST\n/v3/fund-app/mch-transfer/transfer-bills\n{fields['timestamp']}\n"
    message += f"{fields['nonce_str']}\n{request.body.decode()}\n"
    MERCHANT_KEY.public_key().verify(
        b64decode(fields["signature"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
    )


def test_a_small_payout_goes_without_name_notify_url_or_note():
    with responses.RequestsMock() as rsps:
        answer(rsps, "POST", TRANSFER_URL, bill("ACCEPTED"))
        gateway().submit(Payout("WD0001", 29, "CNY", "o-openid", "王小明"))
        sent = json.loads(rsps.calls[0].request.body)
    assert sent == {
        "appid": "wxd678efh567hg6787",
        "out_bill_no": "WD0001",
        "transfer_scene_id": "1005",
        "openid": "o-openid",
        "transfer_amount": 29,
        "transfer_remark": "佣金提现",
        "transfer_scene_report_infos": [
            {"info_type": "岗位类型", "info_content": "推广员"},
            {"info_type": "报酬说明", "info_content": "推广佣金"},
        ],
    }


def test_a_pending_transfer_is_resolved_by_query():
    with responses.RequestsMock() as rsps:
        answer(rsps, "POST", TRANSFER_URL, bill("ACCEPTED"))
        answer(rsps, "GET", QUERY_URL, bill("SUCCESS", transfer_amount=436060))
        wechat = gateway()
        assert wechat.submit(PAYOUT) == Outcome("WD0001", PENDING, BILL_NO, "accepted")
        assert wechat.query("WD0001") == Outcome("WD0001", SUCCEEDED, BILL_NO, None)
        assert [call.request.method for call in rsps.calls] == ["POST", "GET"]


def test_a_transfer_waiting_for_the_user_carries_its_package_info():
    with responses.RequestsMock() as rsps:
        answer(rsps, "POST", TRANSFER_URL, bill("WAIT_USER_CONFIRM", package_info="affffddafdfafddffda=="))
        answer(rsps, "GET", QUERY_URL, bill("WAIT_USER_CONFIRM"))
        wechat = gateway()
        submitted = wechat.submit(PAYOUT)
        queried = wechat.query("WD0001")
    assert submitted.status == PENDING
    assert submitted.reason == "wait_user_confirm package_info=affffddafdfafddffda=="
    assert package_info(submitted) == "affffddafdfafddffda=="
    assert queried == Outcome("WD0001", PENDING, BILL_NO, "wait_user_confirm")
    assert package_info(queried) is None


def test_a_refusal_no_bill_confirms_is_failed_with_code_and_message():
    with responses.RequestsMock() as rsps:
        answer(rsps, "POST", TRANSFER_URL, {"code": "NOT_ENOUGH", "message": "商户账户余额不足"}, 403)
        answer(rsps, "GET", QUERY_URL, {"code": "NOT_FOUND", "message": "记录不存在"}, 404)
        outcome = gateway().submit(PAYOUT)
        assert [call.request.method for call in rsps.calls] == ["POST", "GET"]
    assert outcome == Outcome("WD0001", FAILED, None, "NOT_ENOUGH: 商户账户余额不足")


def test_a_repeated_out_no_resolves_to_the_first_transfer():
    refusal = {"code": "INVALID_REQUEST", "message": "单号已存在但信息不一致,请查单后比较确认"}
    with responses.RequestsMock() as rsps:
        answer(rsps, "POST", TRANSFER_URL, refusal, 400)
        answer(rsps, "GET", QUERY_URL, bill("SUCCESS"))
        outcome = gateway().submit(PAYOUT)
        assert [call.request.method for call in rsps.calls] == ["POST", "GET"]
    assert outcome == Outcome("WD0001", SUCCEEDED, BILL_NO, None)


@pytest.mark.parametrize(
    "error",
    [requests.ConnectTimeout("slow"), requests.ReadTimeout("slow"), requests.ConnectionError("reset")],
)
def test_no_answer_is_pending_and_nothing_is_sent_again(error):
    with responses.RequestsMock() as rsps:
        rsps.add("POST", TRANSFER_URL, body=error)
        outcome = gateway().submit(PAYOUT)
        assert len(rsps.calls) == 1
    assert outcome == Outcome("WD0001", PENDING, None, f"no answer: {type(error).__name__}")


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (500, "SYSTEM_ERROR", "系统错误"),
        (503, "SERVICE_UNAVAILABLE", "繁忙"),
        (429, "FREQUENCY_LIMITED", "频率超限"),
    ],
)
def test_a_server_error_or_throttling_is_pending(status, code, message):
    with responses.RequestsMock() as rsps:
        answer(rsps, "POST", TRANSFER_URL, {"code": code, "message": message}, status)
        outcome = gateway().submit(PAYOUT)
        assert len(rsps.calls) == 1
    assert outcome == Outcome("WD0001", PENDING, None, f"{code}: {message}")


def test_an_answer_not_signed_by_wechat_is_not_believed():
    with responses.RequestsMock() as rsps:
        answer(rsps, "POST", TRANSFER_URL, bill("FAIL", fail_reason="ACCOUNT_FROZEN"), key=OTHER_KEY)
        outcome = gateway().submit(PAYOUT)
    assert outcome == Outcome("WD0001", PENDING, None, "unclear answer: failed to verify the signature")


@pytest.mark.parametrize(
    ("payout", "reason"),
    [
        (
            Payout("WD-0001", 100, "CNY", "o-openid", "王"),
            "INVALID_OUT_NO: WeChat Pay takes 1-32 letters and digits",
        ),
        (
            Payout("WD0001", 100, "USD", "o-openid", "王"),
            "INVALID_CURRENCY: WeChat Pay transfers CNY, not USD",
        ),
        (
            Payout("WD0001", 0, "CNY", "o-openid", "王"),
            "INVALID_AMOUNT: the amount must be a positive number of fen",
        ),
        (Payout("WD0001", 100, "CNY", "", "王"), "INVALID_OPENID: the payee has no openid"),
        (
            Payout("WD0001", 200000, "CNY", "o-openid", " "),
            "NAME_REQUIRED: WeChat Pay needs the payee's real name from ¥2,000",
        ),
    ],
)
def test_a_payout_wechat_cannot_take_fails_before_any_request(payout, reason):
    with responses.RequestsMock() as rsps:
        outcome = gateway().submit(payout)
        assert len(rsps.calls) == 0
    assert outcome == Outcome(payout.out_no, FAILED, None, reason)


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (
            404,
            {"code": "NOT_FOUND", "message": "记录不存在"},
            Outcome("WD0001", FAILED, None, "NOT_FOUND: WeChat Pay has no such bill"),
        ),
        (
            200,
            bill("FAIL", fail_reason="PAYEE_ACCOUNT_ABNORMAL"),
            Outcome("WD0001", FAILED, BILL_NO, "PAYEE_ACCOUNT_ABNORMAL"),
        ),
        (200, bill("CANCELLED"), Outcome("WD0001", FAILED, BILL_NO, "CANCELLED")),
        (200, bill("TRANSFERING"), Outcome("WD0001", PENDING, BILL_NO, "transfering")),
        (
            500,
            {"code": "SYSTEM_ERROR", "message": "系统错误"},
            Outcome("WD0001", PENDING, None, "SYSTEM_ERROR: 系统错误"),
        ),
        (
            401,
            {"code": "SIGN_ERROR", "message": "签名错误"},
            Outcome("WD0001", PENDING, None, "SIGN_ERROR: 签名错误"),
        ),
    ],
)
def test_query_reads_wechats_record(status, payload, expected):
    with responses.RequestsMock() as rsps:
        answer(rsps, "GET", QUERY_URL, payload, status)
        assert gateway().query("WD0001") == expected


def test_query_without_an_answer_is_pending():
    with responses.RequestsMock() as rsps:
        rsps.add("GET", QUERY_URL, body=requests.ReadTimeout("slow"))
        assert gateway().query("WD0001") == Outcome("WD0001", PENDING, None, "no answer: ReadTimeout")


def test_a_callback_yields_the_outcome_every_time_it_comes():
    body = notification(bill("SUCCESS", mch_id="1900000001", transfer_amount=436060))
    headers = signed(body)
    wechat = gateway()
    first = wechat.parse_notification(headers, body.encode())
    wsgi = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    again = wechat.parse_notification(wsgi, body.encode())
    assert first == again == Outcome("WD0001", SUCCEEDED, BILL_NO, None)


def test_a_failed_transfer_callback_carries_the_reason():
    body = notification(bill("FAIL", fail_reason="ACCOUNT_FROZEN"))
    outcome = gateway().parse_notification(signed(body), body.encode())
    assert outcome == Outcome("WD0001", FAILED, BILL_NO, "ACCOUNT_FROZEN")


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (lambda body: (signed(body, OTHER_KEY), body), "signature does not verify"),
        (lambda body: (signed(body, serial="PUB_KEY_ID_OTHER"), body), "signed with PUB_KEY_ID_OTHER"),
        (
            lambda body: (signed(body), body.replace('"ciphertext": "', '"ciphertext": "AAAA')),
            "does not verify",
        ),
        (lambda body: ({}, body), "lacks the Wechatpay-. signature headers"),
    ],
)
def test_a_forged_or_tampered_callback_is_refused(forge, message):
    headers, body = forge(notification(bill("SUCCESS")))
    with responses.RequestsMock() as rsps:  # and no certificate is downloaded to check it
        with pytest.raises(SignatureError, match=message):
            gateway().parse_notification(headers, body.encode())
        assert len(rsps.calls) == 0


def test_a_resource_sealed_with_another_apiv3_key_is_refused():
    body = notification(bill("SUCCESS"), apiv3_key="b" * 32)
    with pytest.raises(SignatureError, match="does not decrypt with the APIv3 key"):
        gateway().parse_notification(signed(body), body.encode())


def test_a_signed_body_without_a_resource_is_refused():
    body = json.dumps({"id": "EV-1", "event_type": "MCHTRANSFER.BILL.FINISHED"})
    with pytest.raises(PayloadError, match="no AEAD_AES_256_GCM resource"):
        gateway().parse_notification(signed(body), body.encode())


def test_a_key_that_is_not_pem_is_refused_at_construction():
    with pytest.raises(ValueError, match="private_key is not a PEM key"):
        WechatTransferGateway(
            mchid="1900000001",
            appid="wx1",
            private_key="not a key",
            cert_serial_no="444F",
            apiv3_key=APIV3_KEY,
            public_key=public_pem(PLATFORM_KEY),
            public_key_id=PUBLIC_KEY_ID,
        )
    with pytest.raises(ValueError, match="32-byte"):
        WechatTransferGateway(
            mchid="1900000001",
            appid="wx1",
            private_key=pem(MERCHANT_KEY),
            cert_serial_no="444F",
            apiv3_key="short",
            public_key=public_pem(PLATFORM_KEY),
            public_key_id=PUBLIC_KEY_ID,
        )
