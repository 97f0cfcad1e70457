"""WeChat Pay payouts to a user's WeChat balance (商家转账), through the ``wechatpayv3`` SDK.

Decisions, where WeChat's documents leave a choice:

- **API.** The single-bill API ``POST /v3/fund-app/mch-transfer/transfer-bills`` (``out_bill_no``,
  states ACCEPTED / PROCESSING / WAIT_USER_CONFIRM / TRANSFERING / SUCCESS / FAIL / CANCELING /
  CANCELLED), not the batch API ``/v3/transfer/batches``: merchants opened since 2025-01-15 only
  get the new one, and one payout is one bill, so ``out_no`` is ``out_bill_no`` as it is.
- **Keys.** "Public key mode": the WeChat Pay public key and its id are configured, so nothing is
  downloaded at construction (without them ``wechatpayv3`` fetches platform certificates). A
  PKCS#1 or PKCS#8 merchant key is accepted (the SDK takes PKCS#8 only; it is converted here).
- **The request.** ``wechatpayv3.mch_transfer_bills`` sends ``"notify_url": null`` when there is no
  notify URL, which WeChat refuses (minibear2021/wechatpayv3#70), so the body is built here and sent
  through the SDK's signing core (``WeChatPay._core.request``: it signs, sends and verifies the
  answer's signature) - a private attribute, covered by the tests against the real SDK.
  Default scene ``1005`` (佣金报酬) with its report lines 岗位类型 / 报酬说明; another scene passes
  its own ``scene_report_infos``. The remark is the payout's note (or ``remark``), cut to 32 chars.
- **The name.** ``payee_name`` is sent, encrypted with the WeChat Pay public key, whenever it is
  given and the amount is at least ¥0.30 (WeChat takes no name below), not only from ¥2,000 where
  WeChat requires it: WeChat then checks the real name the withdrawal (and its tax) is recorded
  under. From ¥2,000 a payout without a name is FAILED here, before anything is sent.
- **Outcomes.** SUCCESS is SUCCEEDED (reference: WeChat's ``transfer_bill_no``); FAIL and CANCELLED
  are FAILED (reason: ``fail_reason``, else the state); every other state is PENDING with the
  state, lowercased, as reason. WAIT_USER_CONFIRM means the user must confirm the transfer in WeChat
  (``wx.requestMerchantTransfer`` in the storefront, which needs the ``package_info`` of the submit's
  answer); ``base.Outcome`` has no field for it, so the reason is
  ``"wait_user_confirm package_info=<package_info>"`` and ``package_info(outcome)`` reads it back.
  WeChat cancels a bill the user never confirms: it then ends FAILED.
- **Unclear answers** (timeout, connection error, 5xx, 429, SYSTEM_ERROR-like codes, a 2xx whose
  signature does not verify or that makes no sense) are PENDING.
- **Refusals.** WeChat asks never to conclude failure from the submit's error code alone (a
  repeated ``out_bill_no`` is refused too, e.g. INVALID_REQUEST 单号已存在但信息不一致, and its
  messages are not meant for machines), so a 4xx refusal is confirmed with a query: a bill found
  is the first submission's outcome; none found is FAILED with the refusal's ``code: message``.
- **NOT_FOUND** from the query is FAILED (``"NOT_FOUND: ..."``): fenxiao never reuses an
  ``out_no``, and WeChat's own guidance treats "no such bill" as safe to pay anew. The caller must
  not query sooner than a minute after a submit (a request still in flight could land later), nor
  later than 30 days (WeChat only finds bills of the last 30 days). Any other refused query is
  PENDING (the bill could not be seen). Error answers are not signed-checked (TLS protects them).
- **out_no** must be 1-32 letters and digits (WeChat's rule); it is not rewritten (a mapping would
  have to be one-to-one and repeatable on query). Another one is FAILED without any request.
- **Callbacks** are checked against the configured public key only (another ``Wechatpay-Serial``
  is refused rather than downloading certificates), then the resource is decrypted with the APIv3
  key; a resource that does not decrypt is a SignatureError too. No clock window: WeChat only
  notifies final states, so a replay yields the same outcome, which the domain applies once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

import requests
from cryptography.hazmat.primitives import serialization
from wechatpayv3 import WeChatPay, WeChatPayType
from wechatpayv3.type import RequestType
from wechatpayv3.utils import aes_decrypt, rsa_verify

from ..errors import PayloadError, SignatureError
from .base import FAILED, PENDING, SUCCEEDED, Outcome, Payout

TRANSFER_PATH = "/v3/fund-app/mch-transfer/transfer-bills"
OUT_NO = re.compile(r"[0-9A-Za-z]{1,32}")
NAME_ACCEPTED_FROM = 30  # fen: WeChat takes a payee name from ¥0.30
NAME_REQUIRED_FROM = 200_000  # fen: and requires it from ¥2,000
UNCLEAR_CODES = frozenset(
    {"SYSTEM_ERROR", "NETWORK_ERROR", "FREQUENCY_LIMITED", "RESOURCE_INSUFFICIENT", "BANK_ERROR"}
)
FAILED_STATES = frozenset({"FAIL", "CANCELLED"})
WAIT_USER_CONFIRM = "wait_user_confirm"
_PACKAGE = " package_info="
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
COMMISSION_SCENE = "1005"  # 佣金报酬
COMMISSION_REPORT = (
    {"info_type": "岗位类型", "info_content": "推广员"},
    {"info_type": "报酬说明", "info_content": "推广佣金"},
)


def package_info(outcome: Outcome) -> str | None:
    """The ``package_info`` the storefront needs for the user to confirm a WAIT_USER_CONFIRM bill."""
    reason = outcome.reason or ""
    if outcome.status != PENDING or not reason.startswith(WAIT_USER_CONFIRM + _PACKAGE):
        return None
    return reason[len(WAIT_USER_CONFIRM + _PACKAGE) :]


class WechatTransferGateway:
    """The PayoutGateway of WeChat Pay's 商家转账; ``payee_account`` is the user's openid."""

    channel = "wechat"

    def __init__(
        self,
        *,
        mchid: str,
        appid: str,
        private_key: str | bytes,
        cert_serial_no: str,
        apiv3_key: str,
        public_key: str | bytes,
        public_key_id: str,
        notify_url: str | None = None,
        transfer_scene_id: str = COMMISSION_SCENE,
        scene_report_infos: Sequence[Mapping[str, str]] | None = None,
        user_recv_perception: str | None = None,
        remark: str = "佣金提现",
        timeout: tuple[float, float] = (5, 20),
    ):
        """Configure the merchant; nothing is sent.

        Raises:
            ValueError: a key does not load, or the APIv3 key is not 32 bytes.
        """
        if len(apiv3_key.encode("utf-8")) != 32:
            raise ValueError("apiv3_key must be the merchant's 32-byte APIv3 key")
        self.mchid, self.appid, self.public_key_id = mchid, appid, public_key_id
        self.notify_url = notify_url
        self.transfer_scene_id = transfer_scene_id
        if scene_report_infos is None and transfer_scene_id == COMMISSION_SCENE:
            scene_report_infos = COMMISSION_REPORT
        self.scene_report_infos = [dict(info) for info in scene_report_infos or ()]
        self.user_recv_perception = user_recv_perception
        self.remark = remark
        self._apiv3_key = apiv3_key
        self._public_key = _load(serialization.load_pem_public_key, public_key, "public_key")
        private = _load(_load_private, private_key, "private_key")
        self._client = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG,
            mchid=mchid,
            private_key=private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ).decode("ascii"),
            cert_serial_no=cert_serial_no,
            appid=appid,
            apiv3_key=apiv3_key,
            notify_url=notify_url,
            timeout=timeout,
            public_key=self._public_key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ).decode("ascii"),
            public_key_id=public_key_id,
        )

    def submit(self, payout: Payout) -> Outcome:
        """Ask WeChat Pay to transfer; never raises on an unclear answer (that is PENDING)."""
        refusal = self._refusal(payout)
        if refusal:
            return Outcome(payout.out_no, FAILED, None, refusal)
        try:
            status, text = self._client._core.request(
                TRANSFER_PATH, method=RequestType.POST, data=self._body(payout), cipher_data=True
            )
        except requests.RequestException as exc:
            return Outcome(payout.out_no, PENDING, None, f"no answer: {type(exc).__name__}")
        except Exception as exc:  # the SDK raises a bare Exception for an answer it cannot verify
            return Outcome(payout.out_no, PENDING, None, f"unclear answer: {exc}")
        answer = _json(text)
        if 200 <= status < 300:
            return _outcome(payout.out_no, answer)
        code, message = _error(status, answer, text)
        if status >= 500 or status == 429 or code in UNCLEAR_CODES:
            return Outcome(payout.out_no, PENDING, None, f"{code}: {message}")
        found = self._lookup(payout.out_no)  # a refusal: is there a bill under this out_no?
        return found or Outcome(payout.out_no, FAILED, None, f"{code}: {message}")

    def query(self, out_no: str) -> Outcome:
        """WeChat Pay's record of ``out_no``; a bill WeChat does not know is FAILED ("NOT_FOUND")."""
        if not OUT_NO.fullmatch(out_no):
            return Outcome(out_no, FAILED, None, "INVALID_OUT_NO: never sent to WeChat Pay")
        found = self._lookup(out_no)
        return found or Outcome(out_no, FAILED, None, "NOT_FOUND: WeChat Pay has no such bill")

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Outcome:
        """The outcome a WeChat Pay transfer callback reports.

        Raises:
            SignatureError: the callback is not signed with the configured WeChat Pay public key,
                or its resource does not decrypt with the APIv3 key.
            PayloadError: a signed body that is not a transfer notification.
        """
        found = {_header_name(name): value for name, value in headers.items()}
        values = [found.get(f"wechatpay-{part}") for part in ("serial", "signature", "timestamp", "nonce")]
        if not all(values):
            raise SignatureError("the callback lacks the Wechatpay-* signature headers")
        serial, signature, timestamp, nonce = values
        if serial != self.public_key_id:
            raise SignatureError(f"the callback is signed with {serial}, not {self.public_key_id}")
        if found.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise SignatureError("the callback's signature type is not " + SIGNATURE_TYPE)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise SignatureError("the callback body is not UTF-8") from None
        if not rsa_verify(timestamp, nonce, text, signature, self._public_key):
            raise SignatureError("the callback's signature does not verify")
        data = _json(text)
        resource = data.get("resource") if isinstance(data, dict) else None
        if not isinstance(resource, dict) or resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise PayloadError("the callback has no AEAD_AES_256_GCM resource", "resource")
        try:
            plain = aes_decrypt(
                nonce=str(resource["nonce"]),
                ciphertext=str(resource["ciphertext"]),
                associated_data=str(resource.get("associated_data") or ""),
                apiv3_key=self._apiv3_key,
            )
        except (KeyError, ValueError):
            raise PayloadError("the callback's resource is malformed", "resource") from None
        if plain is None:
            raise SignatureError("the callback's resource does not decrypt with the APIv3 key")
        bill = _json(plain)
        if not isinstance(bill, dict) or not isinstance(bill.get("out_bill_no"), str):
            raise PayloadError("the callback's resource names no out_bill_no", "out_bill_no")
        return _outcome(bill["out_bill_no"], bill)

    def _refusal(self, payout: Payout) -> str | None:
        if not OUT_NO.fullmatch(payout.out_no):
            return "INVALID_OUT_NO: WeChat Pay takes 1-32 letters and digits"
        if payout.currency != "CNY":
            return f"INVALID_CURRENCY: WeChat Pay transfers CNY, not {payout.currency}"
        if isinstance(payout.amount, bool) or not isinstance(payout.amount, int) or payout.amount <= 0:
            return "INVALID_AMOUNT: the amount must be a positive number of fen"
        if not payout.payee_account:
            return "INVALID_OPENID: the payee has no openid"
        if payout.amount >= NAME_REQUIRED_FROM and not payout.payee_name.strip():
            return "NAME_REQUIRED: WeChat Pay needs the payee's real name from ¥2,000"
        return None

    def _body(self, payout: Payout) -> dict:
        body = {
            "appid": self.appid,
            "out_bill_no": payout.out_no,
            "transfer_scene_id": self.transfer_scene_id,
            "openid": payout.payee_account,
            "transfer_amount": payout.amount,
            "transfer_remark": (payout.note.strip() or self.remark)[:32],
        }
        name = payout.payee_name.strip()
        if name and payout.amount >= NAME_ACCEPTED_FROM:
            body["user_name"] = self._client._core.encrypt(name)
        if self.user_recv_perception:
            body["user_recv_perception"] = self.user_recv_perception
        if self.scene_report_infos:
            body["transfer_scene_report_infos"] = self.scene_report_infos
        if self.notify_url:
            body["notify_url"] = self.notify_url
        return body

    def _lookup(self, out_no: str) -> Outcome | None:
        """The bill under ``out_no``; None when WeChat answers NOT_FOUND."""
        try:
            status, text = self._client.mch_transfer_bills_query(out_bill_no=out_no)
        except requests.RequestException as exc:
            return Outcome(out_no, PENDING, None, f"no answer: {type(exc).__name__}")
        except Exception as exc:  # the SDK raises a bare Exception for an answer it cannot verify
            return Outcome(out_no, PENDING, None, f"unclear answer: {exc}")
        answer = _json(text)
        if 200 <= status < 300:
            return _outcome(out_no, answer)
        code, message = _error(status, answer, text)
        if status == 404 and code == "NOT_FOUND":
            return None
        return Outcome(out_no, PENDING, None, f"{code}: {message}")


def _outcome(out_no: str, bill) -> Outcome:
    """The outcome of a bill as WeChat returns it (submit answer, query answer or callback)."""
    if not isinstance(bill, dict) or not isinstance(bill.get("state"), str):
        return Outcome(out_no, PENDING, None, "unclear answer: no state")
    if bill.get("out_bill_no", out_no) != out_no:
        return Outcome(out_no, PENDING, None, f"unclear answer: about {bill.get('out_bill_no')}")
    state, reference = bill["state"], bill.get("transfer_bill_no") or None
    if state == "SUCCESS":
        return Outcome(out_no, SUCCEEDED, reference, None)
    if state in FAILED_STATES:
        return Outcome(out_no, FAILED, reference, bill.get("fail_reason") or state)
    reason = state.lower()
    if state == "WAIT_USER_CONFIRM" and bill.get("package_info"):
        reason = f"{WAIT_USER_CONFIRM}{_PACKAGE}{bill['package_info']}"
    return Outcome(out_no, PENDING, reference, reason)


def _error(status: int, answer, text) -> tuple[str, str]:
    if isinstance(answer, dict) and answer.get("code"):
        return str(answer["code"]), str(answer.get("message") or "")
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"HTTP_{status}", raw[:200]


def _json(text):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _header_name(name: str) -> str:
    """``Wechatpay-Serial``, ``wechatpay-serial`` and WSGI's ``HTTP_WECHATPAY_SERIAL`` alike."""
    name = name.lower().replace("_", "-")
    return name[5:] if name.startswith("http-") else name


def _load_private(data: bytes):
    return serialization.load_pem_private_key(data, password=None)


def _load(loader, pem: str | bytes, field: str):
    try:
        return loader(pem.encode("ascii") if isinstance(pem, str) else pem)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field} is not a PEM key: {exc}") from None
