"""Youzan (有赞云) adapter: verifies, describes and normalizes Youzan message pushes.

What it relies on ([V] Youzan's docs or SDKs, [S] second-hand, [U] a guess; see
``/work/shared/fixtures/README.md``):

- [V] A push is a POST of a JSON object (a form-encoded body with the same fields is read too):
  ``client_id, kdt_id, id, type, status, msg_id, version, sendCount, test, mode, sign`` and
  ``msg``, the message as a URL-encoded JSON string. ``msg_id`` is unique per message (re-sends
  repeat it): the dedupe key. ``test: true`` is a heartbeat: acknowledged, nothing stored. The
  reply must be ``{"code":0,"msg":"success"}`` or Youzan re-sends; messages arrive unordered.
- [V] Header ``Event-Sign`` = lowercase hex md5(client_id + raw body + client secret), checked
  when present; else body ``sign`` = md5(client_id + ``msg`` as received, not URL-decoded (in a
  form body: as it reads once form-decoded) + client secret)
  (https://developers.youzanyun.com/article/1577262013829). Every secret of a rotation is tried.
  The shop's app id (``client_id`` given to ``verify``) is used when configured, else the body's
  ``client_id``: the secret must match either way, so choosing it gains a forger nothing.
- [V] ``trade_TradeCreate/TradePaid/TradeBuyerPay/TradePartlySellerShip/TradeSellerShip``
  carry ``full_order_info`` (``order_info, buyer_info, pay_info, address_info, orders[]``): a
  snapshot in yuan strings, times Asia/Shanghai ``YYYY-MM-DD HH:MM:SS`` (UTC+8, no DST), no
  currency field: CNY. ``trade_TradeSuccess`` and ``trade_TradeClose`` are status-only; their
  fields beyond ``tid`` are [U]: the time is ``update_time``, else an epoch-like ``version``.
- [V] ``trade_refund_RefundSuccess``: ``tid, oids`` (comma-separated), ``refund_id``,
  ``refunded_fee`` (a JSON number of yuan, read exactly and refused unless whole fen),
  ``update_time``. [S] Youzan staff on bbs.youzan.com/thread-699825: that one fires for
  return-and-refund only; ``youzan_trade_RefundSuccess`` covers refund-only, return, active and
  one-click refunds. Both are refunds (one ``refund_id`` is applied once). ``trade_refund_SysRefund``
  and the buyer-created, seller-agreed and closed types are stored as ignored: no document found
  says SysRefund is a completed refund.
- [U] A refund naming several ``oids`` does not say what each got back: its amount becomes
  ``order_amount``, which fenxiao spreads over the whole order by what each line paid (naming
  one oid, the amount is that line's). Whether ``refunded_fee`` can include postage is unknown.
- Youzan messages carry no ref code: ``ref_code`` is None. Buyers are bound to their inviter
  beforehand through fenxiao's API (invite link, QR code, mini-program), keyed by ``yz_open_id``.

Own choices: status ``cancelled`` for ``TRADE_CLOSE``, ``completed`` for a paid
``TRADE_SUCCESS``, ``paid`` when ``pay_time`` is set or the status is a paid one, else
``created``. A line's product is ``outer_item_id`` (the merchant's code) else ``item_id``, its
sku ``outer_sku_id`` else ``sku_id``; discount = price × num − payment. The buyer is
``yz_open_id`` (else ``"phone:" + sha256(buyer_phone)``); the phone leaves only hashed, and
masked ("137****0003") as the buyer's name when there is no ``fans_nickname``.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus

from .base import KIND_HEARTBEAT, KIND_IGNORED, KIND_ORDER, KIND_REFUND, KIND_STATUS, Delivery
from .clients.youzan import YouzanClient
from .errors import PayloadError, SignatureError
from .money import Money
from .payload import (
    as_amount,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_text,
    child,
    header,
    iso,
    join,
    load,
    masked_phone,
    parse_object,
    sha256_hex,
)
from .schema import MAX_MINOR, MAX_QUANTITY, OrderSchema, RefundSchema, StatusUpdateSchema
from .signing import check_signature

SIGN_HEADER = "Event-Sign"
CURRENCY = "CNY"
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
# Messages carrying ``full_order_info`` (a snapshot of the order); status-only ones; refunds.
ORDER_TYPES = frozenset(
    {
        "trade_TradeCreate",
        "trade_TradePaid",
        "trade_TradeBuyerPay",
        "trade_TradePartlySellerShip",
        "trade_TradeSellerShip",
    }
)
STATUS_TYPES = {"trade_TradeSuccess": "completed", "trade_TradeClose": "cancelled"}
REFUND_TYPES = frozenset({"trade_refund_RefundSuccess", "youzan_trade_RefundSuccess"})
PAID_STATUSES = frozenset(
    {"TRADE_PAID", "WAIT_GROUP", "WAIT_SELLER_SEND_GOODS", "WAIT_BUYER_CONFIRM_GOODS", "TRADE_SUCCESS"}
)
PAY_INFO_MONEY = ("payment", "total_fee", "post_fee")
_MAX_EVENT_KEY = 128
_MAX_TOPIC = 100
_MAX_NAME = 200
_ORDER = "msg.full_order_info"


def sign_youzan_event(client_id: str, body: bytes | str, secret: str) -> str:
    """Youzan's signature: lowercase hex md5(client_id + body + secret).

    With the raw request body it is the ``Event-Sign`` header; with the ``msg`` string exactly
    as it stands in the body (still URL-encoded) it is the body's ``sign`` field.
    """
    data = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return hashlib.md5(client_id.encode("utf-8") + data + secret.encode("utf-8")).hexdigest()  # noqa: S324


def youzan_headers(
    client_id: str, body: bytes, secret: str, *, content_type: str = "application/json"
) -> dict[str, str]:
    """The headers of one signed Youzan push of ``body`` (for tests, the demo and benchmarks)."""
    return {
        "Content-Type": content_type,
        "Client-Id": client_id,
        SIGN_HEADER: sign_youzan_event(client_id, body, secret),
    }


def encode_msg(message: dict) -> str:
    """A message as the ``msg`` field carries it: compact JSON, URL-encoded."""
    return quote(json.dumps(message, ensure_ascii=False, separators=(",", ":")), safe="")


class YouzanAdapter:
    """The ``PlatformAdapter`` for Youzan message pushes (pure: normalizing calls nothing)."""

    identifier = "youzan"
    normalize_at_intake = True

    def verify(
        self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], client_id: str | None = None
    ) -> None:
        """Check ``Event-Sign`` (else the body's ``sign``) against every secret in ``secrets``.

        Raises:
            SignatureError: no signature, no client id to sign with, or no secret produces it.
        """
        if isinstance(secrets, (str, bytes)):
            secrets = [secrets]
        given, signed = header(headers, SIGN_HEADER), body
        envelope = None
        if given is None:
            envelope = _envelope_or_none(body)
            given = envelope.get("sign") if envelope else None
            signed = envelope.get("msg") if envelope else None
            if not isinstance(given, str) or not given.strip():
                raise SignatureError(f"missing {SIGN_HEADER} header and sign field", SIGN_HEADER)
            if not isinstance(signed, str):
                raise SignatureError("the sign field signs msg, which is missing", "msg")
        if client_id is None:
            envelope = envelope if envelope is not None else _envelope_or_none(body)
            client_id = envelope.get("client_id") if envelope else None
        if not isinstance(client_id, str) or not client_id:
            raise SignatureError("no client_id to check the signature with", "client_id")
        sign = functools.partial(sign_youzan_event, client_id, signed)
        check_signature(sign, given.strip().lower(), secrets, SIGN_HEADER)

    def describe(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Read the dedupe key (``msg_id``), topic (``type``) and kind of one push.

        Raises:
            PayloadError: the body is not a JSON object or form (``body``), or an envelope field is
                missing or mistyped (named as ``field``; fields inside ``msg`` as ``msg.…``).
        """
        envelope, form = _envelope(body)
        test = _flag(envelope.get("test"), "test", form)
        if test:
            return Delivery(
                _key(envelope.get("msg_id")) or "test", _key(envelope.get("type")) or "test", KIND_HEARTBEAT
            )
        event_key = _required_key(envelope, "msg_id", _MAX_EVENT_KEY)
        topic = _required_key(envelope, "type", _MAX_TOPIC)
        msg = _decode_msg(envelope.get("msg"))
        if topic in ORDER_TYPES:
            as_dict(child(msg, "full_order_info", "msg"), _ORDER)
            kind = KIND_ORDER
        elif topic in STATUS_TYPES:
            kind = KIND_STATUS
        else:
            kind = KIND_REFUND if topic in REFUND_TYPES else KIND_IGNORED
        return Delivery(event_key=event_key, topic=topic, kind=kind, occurred_at=_occurred_at(msg))

    def normalize(self, delivery: Delivery, body: bytes, api: Any = None):
        """Translate a trade, status or refund message into the common schema.

        Returns:
            An ``Order``, a ``StatusUpdate`` or a ``Refund``; ``None`` for other kinds.

        Raises:
            PayloadError: the message is malformed; ``field`` names the raw field (such as
                ``msg.full_order_info.orders.0.price``) or the common-schema field that failed.
        """
        if delivery.kind not in (KIND_ORDER, KIND_STATUS, KIND_REFUND):
            return None
        envelope, _ = _envelope(body)
        msg = _decode_msg(envelope.get("msg"))
        try:
            if delivery.kind == KIND_ORDER:
                return load(ORDER_SCHEMA, _order(envelope, msg))
            if delivery.kind == KIND_STATUS:
                return load(STATUS_SCHEMA, _status(envelope, msg, STATUS_TYPES[delivery.topic]))
            return load(REFUND_SCHEMA, _refund(envelope, msg))
        except PayloadError:
            raise
        except (LookupError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise PayloadError(f"malformed message: {exc}", "msg")

    def acknowledgement(self) -> dict:
        """Anything but this reply makes Youzan re-send the message."""
        return {"code": 0, "msg": "success"}

    def api_client(self, credentials, tokens) -> YouzanClient:
        """The shop's Youzan Cloud client: normalizing needs no fetch, but the CLI and the workbench
        connect through it and show the token's expiry."""
        return YouzanClient(credentials, tokens)


ORDER_SCHEMA, REFUND_SCHEMA, STATUS_SCHEMA = OrderSchema(), RefundSchema(), StatusUpdateSchema()


def _envelope(body: bytes) -> tuple[dict, bool]:
    """The push's fields and whether they came form-encoded (every value then is a string)."""
    if bytes(body[:64]).lstrip()[:1] == b"{":
        return parse_object(body), False
    try:
        pairs = parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("body is neither a JSON object nor form data", "body")
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    if not fields:
        raise PayloadError("body is neither a JSON object nor form data", "body")
    return fields, True


def _envelope_or_none(body: bytes) -> dict | None:
    try:
        return _envelope(body)[0]
    except PayloadError:
        return None


def _decode_msg(raw: Any) -> dict:
    """``msg``: URL-encoded JSON (or plain JSON); floats are read as exact Decimals."""
    if not isinstance(raw, str) or not raw.strip():
        raise PayloadError("missing field msg (a URL-encoded JSON string)", "msg")
    text = raw.strip()
    if not text.startswith("{"):
        text = unquote_plus(text)
    try:
        data = json.loads(text, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise PayloadError("msg is not URL-encoded JSON", "msg")
    if not isinstance(data, dict):
        raise PayloadError("msg is not a JSON object", "msg")
    return data


def _key(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value).strip()[:_MAX_EVENT_KEY] or None


def _required_key(envelope: dict, name: str, limit: int) -> str:
    value = as_id(child(envelope, name), name)
    if len(value) > limit:
        raise PayloadError(f"{name} is too long", name)
    return value


def _flag(value: Any, path: str, form: bool) -> bool:
    if value is None or (form and value == ""):
        return False
    if form and value in ("true", "false"):
        return value == "true"
    if not isinstance(value, bool):
        raise PayloadError(f"{path} must be true or false", path)
    return value


def _local_time(value: Any, path: str) -> datetime | None:
    """A Youzan time (Asia/Shanghai ``YYYY-MM-DD HH:MM:SS``); None for null or blank."""
    if value is None or value == "":
        return None
    try:
        return datetime.strptime(value.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except (AttributeError, TypeError, ValueError):
        raise PayloadError(f"{path} must be a 'YYYY-MM-DD HH:MM:SS' time", path)


def _version_time(value: Any) -> datetime | None:
    """``version`` when it reads as an epoch timestamp (seconds or milliseconds), else None."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if 10**12 <= value < 10**13:
        value //= 1000
    return datetime.fromtimestamp(value, UTC) if 10**9 <= value < 10**10 else None


def _occurred_at(msg: dict) -> datetime | None:
    """When the message happened, read tolerantly (neither the dedupe nor the domain needs it)."""
    full = msg.get("full_order_info")
    info = full.get("order_info") if isinstance(full, dict) else None
    info = info if isinstance(info, dict) else {}
    for value in (msg.get("update_time"), info.get("update_time"), info.get("pay_time"), info.get("created")):
        try:
            if moment := _local_time(value, "update_time"):
                return moment
        except PayloadError:
            continue
    return None


def _yuan(value: Any, path: str) -> int:
    """A yuan amount given as a JSON number (parsed as Decimal) or a decimal string, in fen."""
    if isinstance(value, str):
        return as_amount(value, CURRENCY, path)
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value < 0:
        raise PayloadError(f"{path} must be a non-negative number of yuan", path)
    try:
        minor = Money.parse(str(value), CURRENCY).minor
    except (ValueError, TypeError, ArithmeticError):
        raise PayloadError(f"{path} must be a whole number of fen", path)
    if minor > MAX_MINOR:
        raise PayloadError(f"{path} is larger than fenxiao accepts ({MAX_MINOR} minor units)", path)
    return minor


def _optional_id(value: Any) -> str | None:
    """A second-hand id read tolerantly: blank, zero or not an id means none."""
    if value in (None, "", 0, "0") or isinstance(value, bool):
        return None
    try:
        return as_id(value, "id")[:256]
    except PayloadError:
        return None


def _tid(envelope: dict, msg: dict) -> str:
    for value, path in ((msg.get("tid"), "msg.tid"), (envelope.get("id"), "id")):
        if value is not None:
            return as_id(value, path)
    raise PayloadError("missing field msg.tid", "msg.tid")


def _order(envelope: dict, msg: dict) -> dict:
    full = as_dict(child(msg, "full_order_info", "msg"), _ORDER)
    info_path = join(_ORDER, "order_info")
    info = as_dict(child(full, "order_info", _ORDER), info_path)
    tid = info.get("tid")
    external_id = as_id(tid, join(info_path, "tid")) if tid is not None else _tid(envelope, msg)
    status = as_text(info.get("status"), join(info_path, "status"))
    created = _local_time(child(info, "created", info_path), join(info_path, "created"))
    pay_time = _local_time(info.get("pay_time"), join(info_path, "pay_time"))
    update_time = _local_time(info.get("update_time"), join(info_path, "update_time"))
    updated = max(moment for moment in (created, pay_time, update_time) if moment is not None)
    paid = pay_time is not None or status in PAID_STATUSES
    if status == "TRADE_CLOSE":
        state = "cancelled"
    elif paid:
        state = "completed" if status == "TRADE_SUCCESS" else "paid"
    else:
        state = "created"
    pay_info = full.get("pay_info")
    for name in PAY_INFO_MONEY if pay_info is not None else ():
        at = join(join(_ORDER, "pay_info"), name)
        if as_dict(pay_info, join(_ORDER, "pay_info")).get(name) is not None:
            as_amount(pay_info[name], CURRENCY, at)
    items = as_list(child(full, "orders", _ORDER), join(_ORDER, "orders"))
    if not items:
        raise PayloadError(f"{_ORDER}.orders is empty", join(_ORDER, "orders"))
    return {
        "platform": YouzanAdapter.identifier,
        "external_id": external_id,
        "status": state,
        "currency": CURRENCY,
        "channel": YouzanAdapter.identifier,
        "ref_code": None,
        "region": _region(full),
        "buyer": _buyer(full),
        "lines": [_line(item, join(join(_ORDER, "orders"), i)) for i, item in enumerate(items)],
        "placed_at": iso(created),
        "updated_at": iso(updated),
        "paid_at": iso((pay_time or updated) if paid else None),
        "completed_at": iso(updated if state == "completed" else None),
        "cancelled_at": iso(updated if state == "cancelled" else None),
    }


def _line(item: Any, path: str) -> dict:
    item = as_dict(item, path)
    quantity = as_int(child(item, "num", path), join(path, "num"))
    if not 1 <= quantity <= MAX_QUANTITY:
        raise PayloadError(f"{join(path, 'num')} must be 1..{MAX_QUANTITY}", join(path, "num"))
    price = as_amount(child(item, "price", path), CURRENCY, join(path, "price"))
    if price * quantity > MAX_MINOR:
        raise PayloadError(f"{join(path, 'price')} × num is larger than fenxiao accepts", join(path, "price"))
    payment = as_amount(child(item, "payment", path), CURRENCY, join(path, "payment"))
    if payment > price * quantity:
        raise PayloadError(f"{join(path, 'payment')} exceeds price × num", join(path, "payment"))
    if item.get("total_fee") is not None:
        as_amount(item["total_fee"], CURRENCY, join(path, "total_fee"))
    product = _optional_id(item.get("outer_item_id"))
    return {
        "external_id": as_id(child(item, "oid", path), join(path, "oid")),
        "product_id": product or as_id(child(item, "item_id", path), join(path, "item_id")),
        "sku": _optional_id(item.get("outer_sku_id")) or _optional_id(item.get("sku_id")),
        "category": None,
        "quantity": quantity,
        "unit_price": price,
        "discount": price * quantity - payment,
        "paid_amount": payment,
    }


def _buyer(full: dict) -> dict:
    path = join(_ORDER, "buyer_info")
    buyer = as_dict(child(full, "buyer_info", _ORDER), path)
    phone = as_text(buyer.get("buyer_phone"), join(path, "buyer_phone"))
    open_id = buyer.get("yz_open_id")
    if open_id not in (None, ""):
        external_id = as_id(open_id, join(path, "yz_open_id"))
    elif phone:
        external_id = "phone:" + sha256_hex(phone)
    else:
        raise PayloadError(f"missing field {path}.yz_open_id", join(path, "yz_open_id"))
    nickname = buyer.get("fans_nickname")
    nickname = nickname.strip() if isinstance(nickname, str) else ""
    name = nickname or masked_phone(phone)
    return {
        "external_id": external_id,
        "phone_hash": sha256_hex(phone) if phone else None,
        "name": name[:_MAX_NAME] if name else None,
    }


def _region(full: dict) -> str | None:
    address = full.get("address_info")
    city = address.get("delivery_city") if isinstance(address, dict) else None
    return (city.strip()[:128] or None) if isinstance(city, str) else None


def _status(envelope: dict, msg: dict, status: str) -> dict:
    full = msg.get("full_order_info")
    info = full.get("order_info") if isinstance(full, dict) else None
    info = info if isinstance(info, dict) else {}
    occurred = _local_time(msg.get("update_time"), "msg.update_time")
    occurred = occurred or _local_time(info.get("update_time"), join(_ORDER, "order_info.update_time"))
    occurred = occurred or _version_time(envelope.get("version"))
    if occurred is None:
        raise PayloadError("missing field msg.update_time", "msg.update_time")
    tid = msg.get("tid") or info.get("tid")
    return {
        "platform": YouzanAdapter.identifier,
        "order_external_id": _tid(envelope, {"tid": tid}),
        "currency": CURRENCY,
        "status": status,
        "occurred_at": iso(occurred),
    }


def _refund(envelope: dict, msg: dict) -> dict:
    """A refund naming one oid returns its amount on that line; naming several (or none), the
    amount is ``order_amount``, spread over the order by fenxiao (see the module docstring)."""
    amount = _yuan(child(msg, "refunded_fee", "msg"), "msg.refunded_fee")
    raw = msg.get("oids")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if raw is not None and not isinstance(raw, str):
        raise PayloadError("msg.oids must be a comma-separated string of order line ids", "msg.oids")
    oids = list(dict.fromkeys(oid.strip() for oid in (raw or "").split(",") if oid.strip()))
    for oid in oids:
        as_id(oid, "msg.oids")
    single = len(oids) == 1
    return {
        "platform": YouzanAdapter.identifier,
        "external_id": as_id(child(msg, "refund_id", "msg"), "msg.refund_id"),
        "order_external_id": _tid(envelope, msg),
        "currency": CURRENCY,
        "lines": [{"line_external_id": oids[0], "quantity": 0, "amount": amount}] if single else [],
        "order_amount": 0 if single else amount,
        "spread_lines": [] if single else oids,
        "created_at": iso(_local_time(child(msg, "update_time", "msg"), "msg.update_time")),
    }
