"""Weimob adapter: verifies Weimob's message subscription and normalizes order and after-sales
(rights) messages by fetching the records they name: the messages carry no amounts.

What it relies on ([V] verified from Weimob's SDKs, [S] second-hand, [U] a guess; see
``/work/shared/fixtures/README.md``; the API calls are in ``adapters/clients/weimob.py``):

- [V] WOS envelope: ``id, topic, event, bosId, sign, test, msgBody`` (+ ``msgVersion, specsType,
  saasChannel, saasClientId``); the older xinyun one has ``business_id, public_account_id,
  msgSignature`` and its body as ``msg_body`` (PHP SDK) or ``msgBody`` (Go SDK): both are read.
  ``msgBody`` is a JSON *string* of an object, else refused (its signed form is unknowable).
  https://github.com/weimob-tech/go-ability-sdk (pkg/sdk/msg/request.go), weimob-tech/php-ability-sdk
- [V] ``sign = md5(clientId + id + msgBody + clientSecret)``; the SDKs never verify it. [U] hex
  case, the string form of ``id`` (an int in the PHP SDK, a string in Go: its JSON text is used)
  and a xinyun ``msgSignature`` being the same digest: compared case-insensitively, in constant
  time, against every secret of a rotation.
- [V] ``id`` is "the business system's message id, e.g. the order number": it may repeat across
  events of one order, so the dedupe key is ``id`` plus a digest of topic, event and
  ``msgBody`` (a re-sent message keeps its key; another event never collides).
- [V] Topics/events: ``weimob_shop.order`` (create, orderCreate, statusUpdate, orderStatusUpdate,
  update), ``weimob_shop.rights`` (create, rightsCreate, statusUpdate, rightsStatusUpdate,
  infoUpdate); ``updateTime`` is epoch ms. [S] ``test: true`` is a heartbeat (as on Youzan).
- [V] orderStatus 0 created, 1 partly paid, 2 paid, 3 awaiting shipment, 4/5 (partly) shipped,
  7 receipt confirmed, 8 completed, 9 cancelled: the fetched record's status is priced (newer than
  the message's). rightsType 1 return + refund, 2 refund, 5 exchange; rightsStatus 6 completed.
- [V] ``order/detail/get`` → ``data.orderInfo``: ``orderBaseInfo`` (orderNo, orderStatus,
  createTime, payTime, updateTime, finishTime), ``payInfo.payAmount``, ``buyerInfo.wid``,
  ``items[]`` (itemId, goodsId, skuId, skuNum, salePrice — strings — ``payInfo.payAmount``).
  ``rights/detail/get`` → ``data.rightsInfo``: ``rightsOrder`` (rightsId, rightsType,
  rightsStatus, updateTime), ``originOrder.orderNo``, ``refundDetail.refundAmount``,
  ``rightsItems[]`` (orderItemId, applyNum, refundDetail.refundAmount). The fixtures' flat shape
  (fields under ``data``, ``items[].payAmount``, ``rightsItems[].itemId``, ``buyerInfo.userPhone``
  [U]) is read too. [U] shipping is ``payInfo.deliveryAmount`` (``order/amount/update``'s name).
- Own rules: the items' ``payAmount`` must add up to ``payInfo.payAmount`` less shipping, or the
  record is refused (``PayloadError``), never priced wrong. Money is CNY decimal strings. Times
  come from the record (a refund without any: the message's, else the time of the fetch).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from .base import KIND_HEARTBEAT, KIND_IGNORED, KIND_ORDER, KIND_REFUND, Delivery
from .clients.weimob import WeimobClient
from .errors import AdapterError, PayloadError, PlatformUnavailable, SignatureError
from .payload import (
    as_amount,
    as_dict,
    as_id,
    as_int,
    as_list,
    child,
    iso,
    join,
    load,
    masked_phone,
    parse_object,
    sha256_hex,
)
from .schema import MAX_MINOR, MAX_QUANTITY, Order, OrderSchema, Refund, RefundSchema
from .signing import check_signature

CURRENCY = "CNY"
ORDER_TOPIC, RIGHTS_TOPIC = "weimob_shop.order", "weimob_shop.rights"
EVENTS = {
    ORDER_TOPIC: ("create", "orderCreate", "statusUpdate", "orderStatusUpdate", "update"),
    RIGHTS_TOPIC: ("create", "rightsCreate", "statusUpdate", "rightsStatusUpdate", "infoUpdate"),
}
ORDER_STATUSES = {0: "created", 1: "created", 2: "paid", 3: "paid", 4: "paid", 5: "paid"}
ORDER_STATUSES.update({7: "completed", 8: "completed", 9: "cancelled"})
RIGHTS_COMPLETED, REFUND_TYPES = 6, (1, 2)
CHANNELS = {0: "wechat", 1: "miniprogram", 2: "h5", 7: "pc", 8: "android", 9: "ios", 12: "app"}
ACKNOWLEDGEMENT = {"code": {"errcode": "0", "errmsg": "success"}}
_MAX_TOPIC = 100
_MAX_MS = 10**14  # epoch milliseconds beyond year 5000 are not a time


def sign_weimob(client_id: str, message_id: str | int, msg_body: str, secret: str) -> str:
    """Weimob's message ``sign``: lowercase hex ``md5(clientId + id + msgBody + clientSecret)``."""
    text = f"{client_id}{message_id}{msg_body}{secret}"
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - Weimob's scheme, not ours


def signed_envelope(envelope: Mapping, client_id: str, secret: str, *, msg_body: Any = None) -> bytes:
    """The bytes of ``envelope`` signed as Weimob signs it (for tests, the demo and benchmarks).

    ``msg_body`` (a dict, serialized compactly, or a string) replaces the envelope's body first.
    """
    envelope = dict(envelope)
    key = "msg_body" if "msg_body" in envelope and "msgBody" not in envelope else "msgBody"
    if msg_body is not None:
        envelope[key] = msg_body if isinstance(msg_body, str) else json.dumps(msg_body, separators=(",", ":"))
    envelope["sign"] = sign_weimob(client_id, envelope["id"], envelope[key], secret)
    return json.dumps(envelope, ensure_ascii=False).encode("utf-8")


class WeimobAdapter:
    """The ``PlatformAdapter`` for Weimob's message subscription (fetches: not pure)."""

    identifier = "weimob"
    normalize_at_intake = False

    def verify(
        self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], client_id: str | None = None
    ) -> None:
        """Check ``sign`` with the shop's client id against every secret: ``SignatureError`` if no
        client id is configured or nothing matches, ``PayloadError`` if it cannot be checked."""
        if not client_id:
            raise SignatureError(
                "the shop has no Weimob client id configured (its platform connection's client_id): "
                "Weimob's signature cannot be checked without it",
                "clientId",
            )
        data = parse_object(body)
        message_id, (_, text) = _id_text(data), _body_text(data)
        given = [
            value.strip().lower()
            for value in (data.get("sign"), data.get("msgSignature"))
            if isinstance(value, str) and value.strip()
        ]
        if not given:
            raise SignatureError("missing sign", "sign")
        check_signature(
            lambda secret: sign_weimob(client_id, message_id, text, secret), given, secrets, "sign"
        )

    def describe(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Dedupe key, topic, kind and update time; ``PayloadError`` naming a missing or mistyped
        envelope field, or a ``msgBody`` that is not a JSON string of an object."""
        data = parse_object(body)
        topic, event = (_name(data, key) for key in ("topic", "event"))
        name = f"{topic}/{event}"
        if len(name) > _MAX_TOPIC:
            raise PayloadError("topic and event are too long", "topic")
        message_id = as_id(child(data, "id"), "id")
        test = data.get("test", False)
        if not isinstance(test, bool):
            raise PayloadError("test must be true or false", "test")
        if test:
            return Delivery(event_key=message_id, topic=name, kind=KIND_HEARTBEAT)
        key, text = _body_text(data)
        message = _msg_body(data)
        kind = KIND_IGNORED
        if event in EVENTS.get(topic, ()):
            kind = KIND_ORDER if topic == ORDER_TOPIC else KIND_REFUND
            field = "orderNo" if kind == KIND_ORDER else "rightsId"
            as_id(child(message, field, key), join(key, field))
        digest = sha256_hex(f"{topic}\n{event}\n{text}")[:16]
        return Delivery(
            event_key=f"{message_id}:{digest}",
            topic=name,
            kind=kind,
            occurred_at=_ms_time(message.get("updateTime"), join(key, "updateTime")),
        )

    def normalize(self, delivery: Delivery, body: bytes, api: Any = None) -> Order | Refund | None:
        """Fetch the record the message names: an ``Order`` snapshot, a ``Refund`` (completed
        refunds only) or ``None``. ``PlatformUnavailable`` without ``api`` or when Weimob does not
        answer, ``PlatformRefused`` when it refuses, ``PayloadError`` for a bad or inconsistent record.
        """
        if delivery.kind not in (KIND_ORDER, KIND_REFUND):
            return None
        if api is None:
            raise PlatformUnavailable(
                "weimob: messages carry no amounts; normalizing one needs the shop's API client"
            )
        data = parse_object(body)
        message, key = _msg_body(data), _body_text(data)[0]
        if delivery.kind == KIND_ORDER:
            order_no = as_id(child(message, "orderNo", key), f"{key}.orderNo")
            record = api.order_detail(order_no)  # outside the try: its errors are retried as they are
            return _translate(lambda: load(ORDER_SCHEMA, _order(order_no, record, message, delivery)))
        rights_id = as_id(child(message, "rightsId", key), f"{key}.rightsId")
        record = api.rights_detail(rights_id)
        refund = _translate(lambda: _refund(rights_id, record, message, delivery))
        return None if refund is None else load(REFUND_SCHEMA, refund)

    def acknowledgement(self) -> dict:
        """Weimob retries (and parks in its failure queue) every other reply."""
        return {"code": dict(ACKNOWLEDGEMENT["code"])}

    def api_client(self, credentials, tokens) -> WeimobClient:
        return WeimobClient(credentials, tokens)


ORDER_SCHEMA, REFUND_SCHEMA = OrderSchema(), RefundSchema()


def _translate(build):
    try:
        return build()
    except AdapterError:
        raise
    except (LookupError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        raise PayloadError(f"malformed Weimob record: {exc}", "body")


def _name(data: dict, key: str) -> str:
    value = child(data, key)
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(f"{key} must be a non-empty string", key)
    return value.strip()


def _id_text(data: dict) -> str:
    """``id`` as it enters the signature: a JSON integer's digits, a string as sent."""
    value = child(data, "id")
    as_id(value, "id")
    return str(value)


def _body_text(data: dict) -> tuple[str, str]:
    key = "msg_body" if "msg_body" in data and "msgBody" not in data else "msgBody"
    value = child(data, key)
    if not isinstance(value, str):
        raise PayloadError(f"{key} must be a JSON string (of an object)", key)
    return key, value


def _msg_body(data: dict) -> dict:
    key, text = _body_text(data)
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        raise PayloadError(f"{key} is not valid JSON", key)
    return as_dict(message, key)


def _ms_time(value, path: str) -> datetime | None:
    """An epoch-milliseconds integer as an aware UTC datetime (``None`` stays ``None``)."""
    if value is None:
        return None
    millis = as_int(value, path)
    if not 0 < millis < _MAX_MS:
        raise PayloadError(f"{path} must be epoch milliseconds", path)
    seconds, rest = divmod(millis, 1000)
    return datetime.fromtimestamp(seconds, UTC) + timedelta(milliseconds=rest)


def _count(value, path: str, low: int) -> int:
    """A quantity: a JSON integer or a string of digits (Weimob sends ``skuNum`` as "2")."""
    if isinstance(value, str) and value.strip().isdigit() and value.isascii():
        value = int(value)
    number = as_int(value, path)
    if not low <= number <= MAX_QUANTITY:
        raise PayloadError(f"{path} must be {low}..{MAX_QUANTITY}", path)
    return number


def _section(node: dict, key: str, path: str) -> dict:
    value = node.get(key)
    return {} if value is None else as_dict(value, join(path, key))


def _record(record, wrapper: str, inner: str) -> tuple[dict, dict, str]:
    """The record (``data.orderInfo``, or the flat fixture shape) and its base section."""
    path = "data"
    record = as_dict(record, path)
    if isinstance(record.get(wrapper), dict):
        record, path = record[wrapper], join(path, wrapper)
    return record, _section(record, inner, path), path


def _first(*values):
    return next((value for value in values if value is not None), None)


def _pick(record: dict, base: dict, key: str):
    return _first(record.get(key), base.get(key))


def _same_id(fetched, wanted: str, path: str) -> None:
    if fetched is not None and as_id(fetched, path) != wanted:
        raise PayloadError(f"{path}: the API answered for {fetched}, not {wanted}", path)


def _order(order_no: str, record, message: dict, delivery: Delivery) -> dict:
    info, base, path = _record(record, "orderInfo", "orderBaseInfo")
    _same_id(_pick(info, base, "orderNo"), order_no, join(path, "orderNo"))
    code = as_int(_pick(info, base, "orderStatus"), join(path, "orderStatus"))
    if code not in ORDER_STATUSES:
        raise PayloadError(f"unknown orderStatus {code}", join(path, "orderStatus"))
    status = ORDER_STATUSES[code]
    pay, pay_path = _section(info, "payInfo", path), join(path, "payInfo")
    time = {key: _ms_time(_pick(info, base, key), join(path, key)) for key in ("createTime", "updateTime")}
    paid_at = _ms_time(_pick(pay, base, "payTime"), join(pay_path, "payTime"))
    updated = time["updateTime"] or delivery.occurred_at or paid_at or time["createTime"]
    placed = time["createTime"] or paid_at or updated
    if placed is None:
        raise PayloadError("the order has no createTime", join(path, "createTime"))
    items = as_list(child(info, "items", path), join(path, "items"))
    if not items:
        raise PayloadError("the order has no items", join(path, "items"))
    lines = [_line(item, join(join(path, "items"), i)) for i, item in enumerate(items)]
    if status in ("paid", "completed") or paid_at is not None:
        _check_total(pay, pay_path, sum(line["paid_amount"] for line in lines))
    finished = _first(*(_ms_time(base.get(k), join(path, k)) for k in ("finishTime", "confirmTime")))
    channel = _first(_pick(info, base, "channelType"), message.get("channelType"))
    return {
        "platform": WeimobAdapter.identifier,
        "external_id": order_no,
        "status": status,
        "currency": CURRENCY,
        "channel": CHANNELS.get(channel, "weimob") if isinstance(channel, int) else "weimob",
        "ref_code": None,
        "region": _region(info),
        "buyer": _buyer(info, base, message, path),
        "lines": lines,
        "placed_at": iso(placed),
        "updated_at": iso(updated),
        "paid_at": iso(paid_at),
        "completed_at": iso(finished or updated) if status == "completed" else None,
        "cancelled_at": iso(updated) if status == "cancelled" else None,
    }


def _check_total(pay: dict, path: str, lines_total: int) -> None:
    paid = as_amount(child(pay, "payAmount", path), CURRENCY, join(path, "payAmount"))
    shipping = pay.get("deliveryAmount")
    if shipping is not None:
        paid -= as_amount(shipping, CURRENCY, join(path, "deliveryAmount"))
    if lines_total != paid:
        message = f"items pay {lines_total} fen, payAmount less shipping is {paid}: an inconsistent order"
        raise PayloadError(message, join(path, "payAmount"))


def _line(item, path: str) -> dict:
    item = as_dict(item, path)
    quantity = _count(child(item, "skuNum", path), join(path, "skuNum"), 1)
    unit_price = as_amount(child(item, "salePrice", path), CURRENCY, join(path, "salePrice"))
    paid = item.get("payAmount")
    paid_path = join(path, "payAmount")
    if paid is None:
        paid_path = join(path, "payInfo.payAmount")
        paid = child(_section(item, "payInfo", path), "payAmount", join(path, "payInfo"))
    paid_amount = as_amount(paid, CURRENCY, paid_path)
    gross = unit_price * quantity
    if gross > MAX_MINOR:
        raise PayloadError(f"{join(path, 'salePrice')} × skuNum is larger than fenxiao accepts", path)
    if paid_amount > gross:
        raise PayloadError(f"{paid_path} is more than salePrice × skuNum", paid_path)
    category = item.get("categoryId")
    return {
        "external_id": as_id(child(item, "itemId", path), join(path, "itemId")),
        "product_id": as_id(child(item, "goodsId", path), join(path, "goodsId")),
        "sku": as_id(item["skuId"], join(path, "skuId")) if item.get("skuId") is not None else None,
        "category": str(category) if isinstance(category, (int, str)) and str(category).strip() else None,
        "quantity": quantity,
        "unit_price": unit_price,
        "discount": gross - paid_amount,
        "paid_amount": paid_amount,
    }


def _region(info: dict) -> str | None:
    """The delivery city, read tolerantly (an address is never worth a refusal)."""
    city = info
    for key in ("orderFulfill", "receiverInfo", "city"):
        city = city.get(key) if isinstance(city, dict) else None
    return (city.strip()[:128] or None) if isinstance(city, str) else None


def _buyer(info: dict, base: dict, message: dict, path: str) -> dict:
    """The buyer's ``wid``; the phone (second-hand ``userPhone``) only hashed and masked."""
    buyer = info.get("buyerInfo") if isinstance(info.get("buyerInfo"), dict) else {}
    wid = _first(buyer.get("wid"), _pick(info, base, "wid"), message.get("wid"))
    if wid is None:
        raise PayloadError("the order names no buyer (wid)", join(path, "buyerInfo.wid"))
    phone = buyer.get("userPhone") if isinstance(buyer.get("userPhone"), str) else None
    nickname = buyer.get("userNickName")
    name = nickname.strip()[:200] if isinstance(nickname, str) and nickname.strip() else masked_phone(phone)
    return {
        "external_id": as_id(wid, join(path, "buyerInfo.wid")),
        "phone_hash": sha256_hex(phone.strip()) if phone and phone.strip() else None,
        "name": name,
    }


def _refund(rights_id: str, record, message: dict, delivery: Delivery) -> dict | None:
    """A completed refund (type 1 or 2, status 6); ``None`` for exchanges and open rights."""
    info, base, path = _record(record, "rightsInfo", "rightsOrder")
    _same_id(_pick(info, base, "rightsId"), rights_id, join(path, "rightsId"))
    kind = as_int(_pick(info, base, "rightsType"), join(path, "rightsType"))
    status = as_int(_pick(info, base, "rightsStatus"), join(path, "rightsStatus"))
    if status != RIGHTS_COMPLETED or kind not in REFUND_TYPES:
        return None
    origin = _section(info, "originOrder", path)
    order_no = _first(_pick(info, base, "orderNo"), origin.get("orderNo"), message.get("orderNo"))
    if order_no is None:
        raise PayloadError("the rights record names no order", join(path, "orderNo"))
    raw = info.get("rightsItems")
    items = as_list(raw, join(path, "rightsItems")) if raw is not None else []
    lines = [_refund_line(item, join(join(path, "rightsItems"), i)) for i, item in enumerate(items)]
    total = _refund_amount(info, path)
    returned = sum(line["amount"] for line in lines)
    if lines and total is not None and returned > total:
        raise PayloadError(f"the rights items return {returned} fen, more than refundAmount {total}", path)
    if not lines and total is None:
        raise PayloadError("the rights record has no items and no refundAmount", join(path, "refundAmount"))
    times = (_ms_time(_pick(info, base, key), join(path, key)) for key in ("updateTime", "createTime"))
    created = _first(*times, delivery.occurred_at) or datetime.now(UTC)
    return {
        "platform": WeimobAdapter.identifier,
        "external_id": rights_id,
        "order_external_id": as_id(order_no, join(path, "orderNo")),
        "currency": CURRENCY,
        "lines": lines,
        "order_amount": 0 if lines else total,
        "created_at": iso(created),
    }


def _refund_amount(node: dict, path: str) -> int | None:
    """``refundAmount`` of a rights record or item, flat or under ``refundDetail``."""
    value, at = node.get("refundAmount"), join(path, "refundAmount")
    if value is None:
        value = _section(node, "refundDetail", path).get("refundAmount")
        at = join(path, "refundDetail.refundAmount")
    return None if value is None else as_amount(value, CURRENCY, at)


def _refund_line(item, path: str) -> dict:
    item = as_dict(item, path)
    line_id = _first(item.get("itemId"), item.get("orderItemId"))
    if line_id is None:
        raise PayloadError(f"missing field {join(path, 'itemId')}", join(path, "itemId"))
    amount = _refund_amount(item, path)
    if amount is None:
        raise PayloadError(f"missing field {join(path, 'refundAmount')}", join(path, "refundAmount"))
    return {
        "line_external_id": as_id(line_id, join(path, "itemId")),
        "quantity": _count(child(item, "applyNum", path), join(path, "applyNum"), 0),
        "amount": amount,
    }
