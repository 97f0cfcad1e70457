"""Alipay payouts: one transfer to an Alipay account per payout (``alipay.fund.trans.uni.transfer``,
单笔无密转账), resolved by ``alipay.fund.trans.common.query`` and by Alipay's
``alipay.fund.trans.order.changed`` notification.

How the SDK is used: ``python-alipay-sdk`` (``alipay.AliPay``) has no helper for these methods
with plain public keys (its ``api_alipay_fund_trans_uni_transfer`` is on the certificate client
only) and sends with ``urllib`` GET, so the gateway uses the SDK's generic machinery around
fenxiao's own transport: ``build_body`` + ``sign_data`` (RSA2 over the sorted parameters) build
the request, ``adapters.http.HttpClient`` POSTs it (system parameters in the query string,
``biz_content`` in the form body, as Alipay's own SDKs do: the payee's name stays out of URLs),
and ``_verify_and_return_sync_response`` checks the answer's signature with Alipay's key.
``timestamp`` is sent in Beijing time (the SDK would use the server's local time).

Decisions:

- The payee's identity type: an account of 16 digits starting ``2088`` is an ``ALIPAY_USER_ID``,
  anything else an ``ALIPAY_LOGON_ID`` (phone or email). ``ALIPAY_OPEN_ID`` is never produced: an
  open id would go as a logon id, which Alipay refuses (``FAILED``), so nothing is paid wrongly.
  ``payee_name`` is always sent, so Alipay checks it against the account.
- Only a verified answer can make a payout ``SUCCEEDED`` or ``FAILED``. A timeout, a connection
  error, any non-200 status (after ``HttpClient``'s retries: resending the same signed request is
  Alipay's documented recovery, ``out_biz_no`` makes it idempotent), a body that is not JSON,
  that is unsigned (Alipay's ``error_response``) or whose signature does not verify: ``PENDING``.
- Signed answers to a transfer: ``10000`` maps its ``status`` (below). ``20000`` and the
  ``SYSTEM_ERROR``/``isp.*``/``aop.*`` sub-codes: ``PENDING``. The 40004 sub-codes of
  ``DEFINITE`` (and the public 40001/40002/40003/40006 refusals, which create no order):
  ``FAILED``, reason ``"<sub_code>: <sub_msg>"``. Any other 40004, including
  ``PAYMENT_INFO_INCONSISTENCY`` (the ``out_biz_no`` was used with other parameters), is checked
  with ``query``: the order found there is the outcome (a duplicate resolves to the first one);
  a definite ``ORDER_NOT_EXIST`` means nothing was paid, so ``FAILED`` with the transfer's reason,
  except after ``PAYMENT_INFO_INCONSISTENCY``, which says an order exists: ``PENDING``.
- Order statuses: ``SUCCESS`` succeeded (reference ``order_id``, else ``pay_fund_order_id``);
  ``FAIL``, ``REFUND`` (退票: the money went back to the payer) and ``CLOSED`` failed, reason
  ``"<status>: <error_code> <fail_reason>"``; ``DEALING``, ``WAIT_PAY`` and any other: pending.
- ``query`` of an ``out_no`` Alipay answers ``ORDER_NOT_EXIST`` for is ``FAILED``: fenxiao never
  reuses an ``out_no``, so an order Alipay does not have was never paid.
- Notifications are form-encoded in the ``charset`` they name (the message service may use GBK):
  signed over the sorted ``k=v`` pairs without ``sign`` and ``sign_type`` (Alipay's rsaCheckV1),
  in that charset. UTF-8 ones are checked with the SDK's ``verify``; others the same way over the
  charset's bytes (the SDK always encodes UTF-8). A bad or missing signature, a ``sign_type``
  other than RSA2 or another ``app_id``: ``SignatureError``. Headers are not read.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl

from alipay import AliPay
from alipay.exceptions import AliPayException, AliPayValidationError
from Cryptodome.Hash import SHA256
from Cryptodome.Signature import PKCS1_v1_5

from ..errors import AdapterError, PayloadError, PlatformRefused, PlatformUnavailable, SignatureError
from ..http import HttpClient
from ..money import Money
from .base import FAILED, PENDING, SUCCEEDED, Outcome, Payout

PRODUCTION_GATEWAY = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
TRANSFER = "alipay.fund.trans.uni.transfer"
QUERY = "alipay.fund.trans.common.query"
ORDER_CHANGED = "alipay.fund.trans.order.changed"
PRODUCT = {"product_code": "TRANS_ACCOUNT_NO_PWD", "biz_scene": "DIRECT_TRANSFER"}
BEIJING = timezone(timedelta(hours=8))
USER_ID = re.compile(r"2088\d{12}")
STATUSES = {"SUCCESS": SUCCEEDED, "FAIL": FAILED, "REFUND": FAILED, "CLOSED": FAILED}
REFUSED = frozenset({"40001", "40002", "40003", "40006"})  # public refusals: no order was created
INCONSISTENT = "PAYMENT_INFO_INCONSISTENCY"
NOT_EXIST = "ORDER_NOT_EXIST"
DEFINITE = frozenset(
    {
        "PAYEE_NOT_EXIST",
        "PAYEE_ACCOUNT_NOT_EXSIT",
        "PAYEE_USER_INFO_ERROR",
        "PAYEE_ACCOUNT_STATUS_ERROR",
        "PAYEE_USERINFO_STATUS_ERROR",
        "PAYEE_CERT_INFO_ERROR",
        "PAYER_BALANCE_NOT_ENOUGH",
        "PAYER_STATUS_ERROR",
        "PAYER_USER_INFO_ERROR",
        "PAYER_CERTIFY_CHECK_FAIL",
        "PAYER_PAYEE_CANNOT_SAME",
        "PERMIT_CHECK_PERM_IDENTITY_THEFT",
        "EXCEED_LIMIT_SM_AMOUNT",
        "EXCEED_LIMIT_SM_MIN_AMOUNT",
        "EXCEED_LIMIT_DM_AMOUNT",
        "EXCEED_LIMIT_MM_AMOUNT",
        "INVALID_PARAMETER",
        "MONEY_PAY_CLOSED",
        "PRODUCT_NOT_SIGN",
        "NO_ACCOUNT_RECEIVE_PERMISSION",
        "BLOCK_USER_FORBBIDEN_RECIEVE",
    }
)


class _Unclear(Exception):
    """The gateway's answer is unknown or cannot be trusted: the payout is ``PENDING``."""


def yuan(amount: int) -> str:
    """``amount`` fen as the decimal yuan string Alipay takes (``1234`` → ``"12.34"``), exactly."""
    return f"{Money(amount, 'CNY').to_decimal():.2f}"


def identity_type(account: str) -> str:
    """``ALIPAY_USER_ID`` for a 16-digit ``2088…`` user id, else ``ALIPAY_LOGON_ID``."""
    return "ALIPAY_USER_ID" if USER_ID.fullmatch(account) else "ALIPAY_LOGON_ID"


def _key(text: str) -> str | bytes:
    """A PEM key as given, or the bare base64 Alipay's console shows, as DER."""
    return text if "-----BEGIN" in text else base64.b64decode("".join(text.split()))


def _reason(fields: Mapping) -> str:
    code = fields.get("sub_code") or fields.get("code") or "UNKNOWN"
    message = fields.get("sub_msg") or fields.get("msg") or ""
    return f"{code}: {message}" if message else str(code)


class AlipayTransferGateway:
    """``PayoutGateway`` over Alipay's single transfer to an Alipay account (RSA2, public keys)."""

    channel = "alipay"

    def __init__(
        self,
        app_id: str,
        app_private_key: str,
        alipay_public_key: str,
        gateway_url: str = PRODUCTION_GATEWAY,
        notify_url: str | None = None,
        *,
        order_title: str = "佣金提现",
        http: HttpClient | None = None,
    ):
        """Load the keys (a bad key raises here, at configuration time, not at the first payout).

        Args:
            app_id: the Alipay application's id.
            app_private_key: the app's RSA private key (PEM, or Alipay's bare base64).
            alipay_public_key: Alipay's RSA public key for this app (PEM or bare base64).
            gateway_url: ``PRODUCTION_GATEWAY`` or ``SANDBOX_GATEWAY``.
            notify_url: sent as the transfer's ``notify_url`` when given.
            order_title: the title the payee sees in their Alipay bill.
            http: the transport (default: ``HttpClient("alipay")`` with its retry policy).
        """
        self.app_id = str(app_id)
        self.gateway_url = gateway_url
        self.notify_url = notify_url
        self.order_title = order_title
        self._http = http or HttpClient("alipay")
        self._client = AliPay(
            appid=self.app_id,
            app_private_key_string=_key(app_private_key),
            alipay_public_key_string=_key(alipay_public_key),
            sign_type="RSA2",
        )

    def submit(self, payout: Payout) -> Outcome:
        """Transfer ``payout`` to its Alipay account; an unclear answer is ``PENDING``.

        Raises:
            AdapterError: the payout is not a positive CNY amount (nothing is sent).
        """
        if payout.currency != "CNY":
            raise AdapterError("Alipay transfers pay CNY only", field="currency")
        if isinstance(payout.amount, bool) or not isinstance(payout.amount, int) or payout.amount <= 0:
            raise AdapterError("a payout's amount must be a positive int of fen", field="amount")
        content = {
            "out_biz_no": payout.out_no,
            "trans_amount": yuan(payout.amount),
            **PRODUCT,
            "order_title": self.order_title,
            "payee_info": {
                "identity": payout.payee_account,
                "identity_type": identity_type(payout.payee_account),
                "name": payout.payee_name,
            },
        }
        if payout.note:
            content["remark"] = payout.note[:200]
        try:
            answer = self._call(TRANSFER, content, notify_url=self.notify_url)
        except _Unclear as exc:
            return Outcome(payout.out_no, PENDING, reason=str(exc))
        code, sub_code = str(answer.get("code")), str(answer.get("sub_code") or "")
        if code == "10000":
            return _from_order(payout.out_no, answer)
        reason = _reason(answer)
        if code == "20000" or sub_code == "SYSTEM_ERROR" or sub_code.startswith(("isp.", "aop.")):
            return Outcome(payout.out_no, PENDING, reason=reason)
        if code in REFUSED or sub_code in DEFINITE:
            return Outcome(payout.out_no, FAILED, reason=reason)
        found, outcome = self._lookup(payout.out_no)  # a duplicate, or a refusal fenxiao cannot place
        if found:
            return outcome
        return Outcome(payout.out_no, PENDING if sub_code == INCONSISTENT else FAILED, reason=reason)

    def query(self, out_no: str) -> Outcome:
        """Alipay's record of the transfer ``out_no``; ``FAILED`` when Alipay has none."""
        return self._lookup(out_no)[1]

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Outcome:
        """The outcome an ``alipay.fund.trans.order.changed`` notification reports.

        Raises:
            SignatureError: not signed by Alipay's key for this app.
            PayloadError: a signed notification fenxiao cannot read.
        """
        head = dict(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
        charset = head.get("charset") or "utf-8"
        try:
            fields = dict(parse_qsl(body.decode(charset), keep_blank_values=True, encoding=charset))
        except (LookupError, UnicodeDecodeError):
            raise PayloadError(f"the notification is not {charset} text", field="charset") from None
        sign = fields.pop("sign", "")
        if fields.get("sign_type", "RSA2") != "RSA2":
            raise SignatureError("the notification is not signed with RSA2", field="sign_type")
        if not sign or not self._verified(fields, sign, charset):
            raise SignatureError("the notification is not signed by Alipay", field="sign")
        if fields.get("app_id") != self.app_id:
            raise SignatureError("the notification is for another Alipay app", field="app_id")
        if fields.get("msg_method") != ORDER_CHANGED:
            raise PayloadError(f"not a transfer notification: {fields.get('msg_method')!r}", "msg_method")
        try:
            content = json.loads(fields.get("biz_content", ""))
        except ValueError:
            raise PayloadError("biz_content is not JSON", field="biz_content") from None
        out_no = content.get("out_biz_no") if isinstance(content, dict) else None
        if not isinstance(out_no, str) or not out_no:
            raise PayloadError("the notification names no out_biz_no", field="out_biz_no")
        return _from_order(out_no, content)

    def _lookup(self, out_no: str) -> tuple[bool, Outcome]:
        """(whether Alipay has the order, its outcome); an unclear answer is found and pending."""
        try:
            answer = self._call(QUERY, {"out_biz_no": out_no, **PRODUCT})
        except _Unclear as exc:
            return True, Outcome(out_no, PENDING, reason=str(exc))
        if str(answer.get("code")) == "10000":
            return True, _from_order(out_no, answer)
        if answer.get("sub_code") == NOT_EXIST:
            return False, Outcome(out_no, FAILED, reason=_reason(answer))
        return True, Outcome(out_no, PENDING, reason=_reason(answer))

    def _call(self, method: str, content: dict, notify_url: str | None = None) -> dict:
        """Send ``method`` signed with the app key; the answer, verified with Alipay's key."""
        now = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        data = self._client.build_body(method, content, timestamp=now, notify_url=notify_url)
        params = dict(parse_qsl(self._client.sign_data(data), keep_blank_values=True))
        form = {"biz_content": params.pop("biz_content")}
        try:
            response = self._http.request(
                "POST", self.gateway_url, params=params, data=form, allow_redirects=False
            )
        except (PlatformUnavailable, PlatformRefused) as exc:
            raise _Unclear(exc.message) from None
        if response.status_code != 200:
            raise _Unclear(f"alipay: HTTP {response.status_code} from the gateway")
        try:
            raw = response.content.decode("utf-8")
            answer = self._client._verify_and_return_sync_response(
                raw, method.replace(".", "_") + "_response"
            )
        except AliPayValidationError:
            raise _Unclear("alipay: the answer's signature does not verify") from None
        except AliPayException:
            raise _Unclear("alipay: an unsigned error answer") from None
        except (ValueError, TypeError, KeyError, AttributeError):  # not JSON, or not Alipay's shape
            raise _Unclear("alipay: a malformed answer") from None
        if not isinstance(answer, dict):
            raise _Unclear("alipay: a malformed answer")
        return answer

    def _verified(self, fields: dict, sign: str, charset: str) -> bool:
        unsigned = {key: value for key, value in fields.items() if key != "sign_type"}
        try:
            if charset.lower().replace("-", "") == "utf8":
                return self._client.verify(unsigned, sign)
            message = "&".join(f"{key}={value}" for key, value in sorted(unsigned.items()))
            digest = SHA256.new(message.encode(charset))
            return bool(PKCS1_v1_5.new(self._client.alipay_public_key).verify(digest, base64.b64decode(sign)))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return False


def _from_order(out_no: str, fields: Mapping) -> Outcome:
    """The outcome of an order as Alipay describes it (transfer answer, query or notification)."""
    if fields.get("out_biz_no") not in (None, out_no):
        return Outcome(out_no, PENDING, reason="alipay: the answer is about another out_biz_no")
    status = str(fields.get("status") or "")
    reference = fields.get("order_id") or fields.get("pay_fund_order_id") or None
    outcome = STATUSES.get(status, PENDING)
    if outcome != FAILED:
        return Outcome(out_no, outcome, reference)
    why = " ".join(str(fields[key]) for key in ("error_code", "fail_reason") if fields.get(key))
    return Outcome(out_no, FAILED, reference, f"{status}: {why}" if why else status)
