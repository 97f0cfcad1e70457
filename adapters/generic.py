"""Generic adapter: fenxiao's own webhook format, for shops on an in-house stack.

``docs/generic-webhook.md`` is the format's manual. Its JSON Schemas (``ORDER_JSON_SCHEMA``,
``REFUND_JSON_SCHEMA``) are published in the OpenAPI document as ``GenericOrder`` and
``GenericRefund`` (``plugin/api/webhook_docs.py``); they document, the readers below validate,
and the tests prove that the fixtures satisfy both.

What it relies on: [V] Stripe signs ``f"{timestamp}.{raw body}"`` with hex HMAC-SHA256 and its
libraries refuse a timestamp more than 300 s from the receiver's clock (stripe-ruby
``Stripe::Webhook::Signature.compute_signature``,
https://www.rubydoc.info/gems/stripe/Stripe/Webhook/Signature); this format signs the same way,
with GitHub's ``sha256=`` prefix [S] (``X-Hub-Signature-256``, https://docs.github.com/en/webhooks).
Everything else is fenxiao's choice, so nothing here guesses at a platform:

- Headers: ``X-Fenxiao-Event-Id`` (the dedupe key), ``X-Fenxiao-Topic`` (``TOPIC_KINDS``;
  ``ping`` is a heartbeat; another topic is stored as ignored), ``X-Fenxiao-Timestamp`` (unix
  seconds), ``X-Fenxiao-Signature``. Every secret of a rotation is tried. ``verify`` refuses a
  timestamp more than ``tolerance`` seconds old or ahead (replay protection; the clock is
  injectable). Only ``verify`` reads the clock: ``describe`` and ``normalize`` also run on stored
  events (the worker, ``fenxiao inbox replay``), however long after the delivery.
- The body is an order snapshot or a refund, close to the common schema. Amounts are decimal
  strings in major units of ``currency``, never finer than its minor unit, never JSON numbers; a
  line's ``paid_amount`` must equal ``unit_price × quantity − discount``; times are ISO-8601 with
  an offset, and ``STATUS_TIMES`` names those a status requires. The body's ``status`` is
  authoritative; the topic says why it was sent. Unknown fields are ignored (the format can grow,
  a sender may add its own); known fields are checked strictly: a wrong type is a 422.
- A refund names ``lines``, or only an ``amount`` (spread over the order's lines by what each
  paid), or both, when ``amount`` must equal the lines' sum: it is the total, never an extra.
- The buyer's phone and email are kept only as SHA-256 hashes (the email lower-cased, the phone
  without spaces, hyphens, dots or brackets); with no ``name`` the workbench shows the phone
  masked ("137****0003"). ``test: true`` marks a test order: recorded as ignored, earns nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from .base import KIND_HEARTBEAT, KIND_IGNORED, KIND_ORDER, KIND_REFUND, Delivery
from .errors import PayloadError, SignatureError
from .money import Money
from .payload import (
    as_amount,
    as_currency,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_text,
    as_timestamp,
    child,
    header,
    iso,
    join,
    load,
    masked_phone,
    parse_object,
    sha256_hex,
)
from .schema import MAX_MINOR, MAX_QUANTITY, ORDER_STATUSES, Order, OrderSchema, Refund, RefundSchema
from .signing import check_signature

EVENT_ID_HEADER = "X-Fenxiao-Event-Id"
TOPIC_HEADER = "X-Fenxiao-Topic"
TIMESTAMP_HEADER = "X-Fenxiao-Timestamp"
SIGNATURE_HEADER = "X-Fenxiao-Signature"
TOLERANCE_SECONDS = 300

TOPIC_KINDS = {
    "order.created": KIND_ORDER,
    "order.paid": KIND_ORDER,
    "order.completed": KIND_ORDER,
    "order.cancelled": KIND_ORDER,
    "order.updated": KIND_ORDER,
    "refund.created": KIND_REFUND,
    "ping": KIND_HEARTBEAT,
}
#: The times an order's ``status`` requires.
STATUS_TIMES = {
    "created": (),
    "paid": ("paid_at",),
    "completed": ("paid_at", "completed_at"),
    "cancelled": ("cancelled_at",),
}
_SIGNATURE = re.compile(r"sha256=([0-9a-fA-F]{64})")
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
_PHONE = re.compile(r"\+?[0-9]{5,20}")
_PHONE_SEPARATORS = str.maketrans("", "", " -.()")
_MAX_EVENT_KEY, _MAX_TOPIC, _MAX_LINES = 128, 100, 500
_MAX_TAG, _MAX_TAGS = 64, 50
# field -> longest accepted value, for the optional text fields
_LIMITS = {"ref_code": 64, "channel": 64, "region": 128, "sku": 256, "category": 256}
_BUYER_LIMITS = {"phone": 32, "email": 254, "name": 200, "ip": 256, "device": 256}


def sign_generic(body: bytes, secret: str | bytes, timestamp: int | str) -> str:
    """The ``X-Fenxiao-Signature`` value of ``body`` sent at ``timestamp``.

    Args:
        body: The raw request body, byte for byte as sent.
        secret: The shop's webhook secret.
        timestamp: The ``X-Fenxiao-Timestamp`` value (unix seconds), exactly as sent.

    Returns:
        ``"sha256=" + hex(HMAC-SHA256(key=secret, msg=timestamp + "." + body))``.
    """
    key = secret if isinstance(secret, bytes) else secret.encode("utf-8")
    message = str(timestamp).encode("utf-8") + b"." + bytes(body)
    return "sha256=" + hmac.new(key, message, hashlib.sha256).hexdigest()


def generic_headers(
    topic: str, body: bytes, secret: str | bytes, event_id: str, timestamp: int | None = None
) -> dict[str, str]:
    """The headers of one signed delivery of ``body`` (for the demo, tests and benchmarks);
    ``timestamp`` defaults to now."""
    sent = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": "application/json",
        EVENT_ID_HEADER: event_id,
        TOPIC_HEADER: topic,
        TIMESTAMP_HEADER: sent,
        SIGNATURE_HEADER: sign_generic(body, secret, sent),
    }


class GenericAdapter:
    """The ``PlatformAdapter`` for the generic format (pure: no outbound calls).

    Args:
        clock: Returns the current unix time in seconds (``time.time``; tests pass their own).
        tolerance: How many seconds a delivery's timestamp may be behind or ahead of ``clock``.
    """

    identifier = "generic"
    normalize_at_intake = True

    def __init__(self, clock: Callable[[], float] = time.time, tolerance: int = TOLERANCE_SECONDS):
        self.clock = clock
        self.tolerance = tolerance

    def verify(
        self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], client_id: str | None = None
    ) -> None:
        """Check ``X-Fenxiao-Signature`` against every secret, then the timestamp's age.

        Raises:
            SignatureError: a signature header is missing or garbled, no secret produces the
                signature, or the timestamp is more than ``tolerance`` seconds from now.
        """
        provided = header(headers, SIGNATURE_HEADER)
        if provided is None:
            raise SignatureError(f"missing {SIGNATURE_HEADER} header", SIGNATURE_HEADER)
        if not _SIGNATURE.fullmatch(provided):
            raise SignatureError(f"{SIGNATURE_HEADER} must be sha256=<64 hex digits>", SIGNATURE_HEADER)
        sent = header(headers, TIMESTAMP_HEADER)
        if sent is None or not _UNIX_SECONDS.fullmatch(sent):
            raise SignatureError(f"{TIMESTAMP_HEADER} must be unix seconds", TIMESTAMP_HEADER)
        check_signature(
            lambda secret: sign_generic(body, secret, sent), provided.lower(), secrets, SIGNATURE_HEADER
        )
        age = self.clock() - int(sent)
        if age > self.tolerance:
            raise SignatureError(
                f"{TIMESTAMP_HEADER} is {int(age)} s old; deliveries older than {self.tolerance} s "
                "are refused (sign each attempt with the current time)",
                TIMESTAMP_HEADER,
            )
        if -age > self.tolerance:
            raise SignatureError(
                f"{TIMESTAMP_HEADER} is {int(-age)} s in the future; check the sender's clock",
                TIMESTAMP_HEADER,
            )

    def describe(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Read the dedupe key, topic and kind of one delivery (never the clock: stored events
        are described again when they are processed or replayed).

        Raises:
            PayloadError: the event id or topic header is missing or over-long (named as
                ``field``), or the body is not a JSON object (field ``body``).
        """
        event_key = _required_header(headers, EVENT_ID_HEADER, _MAX_EVENT_KEY)
        topic = _required_header(headers, TOPIC_HEADER, _MAX_TOPIC)
        parse_object(body)
        return Delivery(
            event_key=event_key,
            topic=topic,
            kind=TOPIC_KINDS.get(topic, KIND_IGNORED),
            occurred_at=_sent_at(header(headers, TIMESTAMP_HEADER)),
        )

    def normalize(self, delivery: Delivery, body: bytes, api: Any = None) -> Order | Refund | None:
        """Translate an order snapshot or a refund into the common schema.

        Returns:
            An ``Order`` for order topics, a ``Refund`` for ``refund.created``, else ``None``.

        Raises:
            PayloadError: the body is malformed; ``field`` names the body's field (such as
                ``lines.0.paid_amount``).
        """
        if delivery.kind not in (KIND_ORDER, KIND_REFUND):
            return None
        data = parse_object(body)
        try:
            if delivery.kind == KIND_ORDER:
                return load(ORDER_SCHEMA, _order(data))
            return load(REFUND_SCHEMA, _refund(data))
        except PayloadError:
            raise
        except (LookupError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
            raise PayloadError(f"malformed payload: {exc}", "body")

    def acknowledgement(self) -> dict:
        return {"ok": True}

    def api_client(self, credentials, tokens):
        """Deliveries are full snapshots: normalizing them calls nothing."""
        return None


ORDER_SCHEMA, REFUND_SCHEMA = OrderSchema(), RefundSchema()


def _required_header(headers: Mapping[str, str], name: str, limit: int) -> str:
    value = header(headers, name)
    if value is None:
        raise PayloadError(f"missing {name} header", name)
    if len(value) > limit:
        raise PayloadError(f"{name} is longer than {limit} characters", name)
    return value


def _sent_at(value: str | None) -> datetime | None:
    if value is None or not _UNIX_SECONDS.fullmatch(value):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _text(node: dict, key: str, path: str = "", limit: int | None = None) -> str | None:
    """An optional string field (blank is absent), no longer than ``limit``."""
    at = join(path, key)
    value = as_text(node.get(key), at)
    limit = limit or _LIMITS[key]
    if value is not None and len(value) > limit:
        raise PayloadError(f"{at} is longer than {limit} characters", at)
    return value


def _flag(value, path: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PayloadError(f"{path} must be true or false", path)
    return value


def _order(data: dict) -> dict:
    currency = as_currency(child(data, "currency"), "currency")
    status = child(data, "status")
    if status not in ORDER_STATUSES:
        raise PayloadError(f"status must be one of {', '.join(ORDER_STATUSES)}", "status")
    times = {name: as_timestamp(data.get(name), name) for name in ("paid_at", "completed_at", "cancelled_at")}
    for name in STATUS_TIMES[status]:
        if times[name] is None:
            raise PayloadError(f"{name} is required when status is {status}", name)
    items = as_list(child(data, "lines"), "lines")
    if not 1 <= len(items) <= _MAX_LINES:
        raise PayloadError(f"lines must hold 1 to {_MAX_LINES} lines", "lines")
    return {
        "platform": GenericAdapter.identifier,
        "external_id": as_id(child(data, "id"), "id"),
        "status": status,
        "currency": currency,
        "channel": _text(data, "channel") or "web",
        "ref_code": _text(data, "ref_code"),
        "region": _text(data, "region"),
        "campaign_tags": _campaign_tags(data.get("campaign_tags")),
        "buyer": _buyer(child(data, "buyer")),
        "lines": [_line(item, currency, join("lines", i)) for i, item in enumerate(items)],
        "placed_at": iso(as_timestamp(child(data, "placed_at"), "placed_at")),
        "updated_at": iso(as_timestamp(child(data, "updated_at"), "updated_at")),
        **{name: iso(moment) for name, moment in times.items()},
        "test": _flag(data.get("test"), "test"),
    }


def _campaign_tags(value) -> list[str]:
    if value is None:
        return []
    tags = as_list(value, "campaign_tags")
    if len(tags) > _MAX_TAGS:
        raise PayloadError(f"campaign_tags holds more than {_MAX_TAGS} tags", "campaign_tags")
    found: list[str] = []
    for i, raw in enumerate(tags):
        at = join("campaign_tags", i)
        tag = as_text(raw, at)
        if tag is None or len(tag) > _MAX_TAG:
            raise PayloadError(f"{at} must be 1 to {_MAX_TAG} characters", at)
        if tag not in found:
            found.append(tag)
    return found


def _line(item, currency: str, path: str) -> dict:
    item = as_dict(item, path)
    quantity = as_int(child(item, "quantity", path), join(path, "quantity"))
    if not 1 <= quantity <= MAX_QUANTITY:
        raise PayloadError(f"{join(path, 'quantity')} must be 1..{MAX_QUANTITY}", join(path, "quantity"))
    unit_price = as_amount(child(item, "unit_price", path), currency, join(path, "unit_price"))
    gross = unit_price * quantity
    if gross > MAX_MINOR:
        at = join(path, "unit_price")
        raise PayloadError(f"{at} × quantity is larger than fenxiao accepts", at)
    at = join(path, "discount")
    discount = 0 if item.get("discount") is None else as_amount(item["discount"], currency, at)
    if discount > gross:
        raise PayloadError(f"{at} exceeds unit_price × quantity", at)
    at = join(path, "paid_amount")
    paid = as_amount(child(item, "paid_amount", path), currency, at)
    if paid != gross - discount:
        expected = Money(gross - discount, currency)
        raise PayloadError(
            f"{at} is {Money(paid, currency)} but unit_price × quantity − discount is {expected}", at
        )
    return {
        "external_id": as_id(child(item, "id", path), join(path, "id")),
        "product_id": as_id(child(item, "product_id", path), join(path, "product_id")),
        "sku": _text(item, "sku", path),
        "category": _text(item, "category", path),
        "quantity": quantity,
        "unit_price": unit_price,
        "discount": discount,
        "paid_amount": paid,
    }


def _buyer(value) -> dict:
    buyer = as_dict(value, "buyer")
    phone, email, name, ip, device = (
        _text(buyer, key, "buyer", limit) for key, limit in _BUYER_LIMITS.items()
    )
    if phone is not None:
        phone = phone.translate(_PHONE_SEPARATORS)
        if not _PHONE.fullmatch(phone):
            raise PayloadError("buyer.phone must be a phone number (+8613700000003)", "buyer.phone")
    if email is not None:
        email = email.lower()
        if "@" not in email:
            raise PayloadError("buyer.email must be an email address", "buyer.email")
    return {
        "external_id": as_id(child(buyer, "id", "buyer"), "buyer.id"),
        "phone_hash": sha256_hex(phone) if phone else None,
        "email_hash": sha256_hex(email) if email else None,
        "ip": ip,
        "device": device,
        "name": name or masked_phone(phone),
    }


def _refund(data: dict) -> dict:
    currency = as_currency(child(data, "currency"), "currency")
    raw_lines = data.get("lines")
    items = [] if raw_lines is None else as_list(raw_lines, "lines")
    if len(items) > _MAX_LINES:
        raise PayloadError(f"lines holds more than {_MAX_LINES} lines", "lines")
    lines = [_refund_line(item, currency, join("lines", i)) for i, item in enumerate(items)]
    seen: set[str] = set()
    for i, line in enumerate(lines):
        if line["line_external_id"] in seen:
            at = join(join("lines", i), "line_id")
            raise PayloadError(f"{at} names a line already refunded above", at)
        seen.add(line["line_external_id"])
    lines_total = sum(line["amount"] for line in lines)
    order_amount = 0
    if data.get("amount") is not None:
        amount = as_amount(data["amount"], currency, "amount")
        if not lines:
            order_amount = amount
        elif amount != lines_total:
            raise PayloadError(
                f"amount is {Money(amount, currency)} but the lines add up to {Money(lines_total, currency)}",
                "amount",
            )
    elif not lines:
        raise PayloadError("a refund needs lines or an amount", "lines")
    return {
        "platform": GenericAdapter.identifier,
        "external_id": as_id(child(data, "id"), "id"),
        "order_external_id": as_id(child(data, "order_id"), "order_id"),
        "currency": currency,
        "lines": lines,
        "order_amount": order_amount,
        "created_at": iso(as_timestamp(child(data, "created_at"), "created_at")),
    }


def _refund_line(item, currency: str, path: str) -> dict:
    item = as_dict(item, path)
    quantity = as_int(child(item, "quantity", path), join(path, "quantity"))
    if not 0 <= quantity <= MAX_QUANTITY:
        raise PayloadError(f"{join(path, 'quantity')} must be 0..{MAX_QUANTITY}", join(path, "quantity"))
    return {
        "line_external_id": as_id(child(item, "line_id", path), join(path, "line_id")),
        "quantity": quantity,
        "amount": as_amount(child(item, "amount", path), currency, join(path, "amount")),
    }


# ----------------------------------------------------------------- the published JSON Schemas
# OpenAPI 3.0 Schema Objects (the document is OpenAPI 3.0.3): ``nullable`` instead of a
# ``null`` type, no ``const``; a 3.1 document would need ``type: [..., "null"]`` instead.

_AMOUNT = {
    "type": "string",
    "pattern": r"^[0-9]{1,18}(\.[0-9]{1,12})?$",
    "description": "A decimal string in major units of `currency`, never finer than its minor "
    "unit (CNY: 0.01). JSON numbers are refused.",
    "example": "149.00",
}
_ID = {
    "oneOf": [{"type": "string", "minLength": 1, "maxLength": 128}, {"type": "integer"}],
    "description": "A string or an integer.",
}
_TIME = {"type": "string", "format": "date-time", "example": "2026-11-11T00:05:02+08:00"}
_CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$", "example": "CNY"}


def _string(max_length: int, description: str, **extra) -> dict:
    return {"type": "string", "maxLength": max_length, "nullable": True, "description": description, **extra}


def _nullable_time(description: str) -> dict:
    return {**_TIME, "nullable": True, "description": description}


_ORDER_LINE = {
    "type": "object",
    "required": ["id", "product_id", "quantity", "unit_price", "paid_amount"],
    "properties": {
        "id": {**_ID, "description": "The line's id, unique in the order; refunds name it."},
        "product_id": _ID,
        "sku": _string(256, "The variant's SKU."),
        "category": _string(256, "The product's category (for category rules)."),
        "quantity": {"type": "integer", "minimum": 1, "maximum": MAX_QUANTITY},
        "unit_price": _AMOUNT,
        "discount": {**_AMOUNT, "description": "The discount on the whole line (default 0)."},
        "paid_amount": {**_AMOUNT, "description": "Must equal unit_price × quantity − discount."},
    },
}
_BUYER = {
    "type": "object",
    "required": ["id"],
    "properties": {
        "id": {**_ID, "description": "The buyer's stable id in the shop."},
        "phone": _string(32, "E.164 preferred; stored only as a SHA-256 hash.", example="+8613700000003"),
        "email": _string(254, "Stored only as a SHA-256 hash of the lower-cased address."),
        "name": _string(200, "What the workbench calls the buyer."),
        "ip": _string(256, "The buyer's IP address (for risk rules)."),
        "device": _string(256, "A device or session fingerprint (for risk rules)."),
    },
}
ORDER_JSON_SCHEMA = {
    "type": "object",
    "description": "A full snapshot of one order, sent with the order.* topics. Fields not "
    "listed are ignored. paid_at is required when status is paid or completed, completed_at when "
    "completed, cancelled_at when cancelled.",
    "required": ["id", "status", "currency", "buyer", "lines", "placed_at", "updated_at"],
    "properties": {
        "id": {**_ID, "description": "The order's id in the shop."},
        "status": {"type": "string", "enum": list(ORDER_STATUSES)},
        "currency": _CURRENCY,
        "buyer": _BUYER,
        "lines": {"type": "array", "minItems": 1, "maxItems": _MAX_LINES, "items": _ORDER_LINE},
        "ref_code": _string(64, "The invite code the buyer came with.", example="INV-B7K2"),
        "channel": _string(64, "Where the order was placed (default web).", example="mini_program"),
        "region": _string(128, "The delivery city (for region rules).", example="Hangzhou"),
        "campaign_tags": {
            "type": "array",
            "maxItems": _MAX_TAGS,
            "items": {"type": "string", "minLength": 1, "maxLength": _MAX_TAG},
            "description": "Campaigns the order takes part in (tags, discount codes).",
        },
        "placed_at": _TIME,
        "paid_at": _nullable_time("When the buyer paid."),
        "completed_at": _nullable_time("When the order completed (receipt confirmed)."),
        "cancelled_at": _nullable_time("When the order was cancelled."),
        "updated_at": {**_TIME, "description": "When this snapshot was taken; orders snapshots."},
        "test": {"type": "boolean", "default": False, "description": "A test order earns nothing."},
    },
}
REFUND_JSON_SCHEMA = {
    "type": "object",
    "description": "Merchandise money returned on one order, sent with refund.created: lines, or "
    "only an amount (spread over the order's lines in proportion to what each paid), or both, "
    "when amount must equal the lines' sum. Fields not listed are ignored.",
    "required": ["id", "order_id", "currency", "created_at"],
    "properties": {
        "id": {**_ID, "description": "The refund's id in the shop."},
        "order_id": _ID,
        "currency": _CURRENCY,
        "lines": {
            "type": "array",
            "maxItems": _MAX_LINES,
            "items": {
                "type": "object",
                "required": ["line_id", "quantity", "amount"],
                "properties": {
                    "line_id": {**_ID, "description": "The order line's id."},
                    "quantity": {"type": "integer", "minimum": 0, "maximum": MAX_QUANTITY},
                    "amount": {**_AMOUNT, "description": "What went back for this line."},
                },
            },
        },
        "amount": {**_AMOUNT, "description": "The refund's merchandise total."},
        "created_at": _TIME,
    },
}
