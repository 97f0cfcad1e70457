"""Shopify adapter: verifies, describes and normalizes Shopify order and refund webhooks.

What it relies on ([V] verified from Shopify's docs or SDK, [S] second-hand; see
``/work/shared/fixtures/README.md``):

- [V] ``X-Shopify-Hmac-Sha256`` = base64(HMAC-SHA256(app secret, raw body)); every secret of a
  rotation is tried, because signing may take up to an hour to switch.
- [V] Shopify's SDK rejects a delivery missing the hmac, topic, shop-domain, API-version or
  webhook-id header; so does ``describe``. ``X-Shopify-Webhook-Id`` is unique per delivery and
  is the dedupe key; ``X-Shopify-Triggered-At`` (optional) becomes ``occurred_at``. Headers are
  not signed, so the domain must also be idempotent on the order/refund ``external_id``.
- [V] The body is the REST resource of the topic; each order message is a full snapshot
  (duplicates happen, order of delivery is not guaranteed: ``updated_at`` orders them).
- [V] Money is a decimal string in the shop currency (``currency``, ``price``,
  ``discount_allocations[].amount``, ``total_discount``). ``refund_line_items[].subtotal`` is a
  JSON number and is never read: ``subtotal_set.shop_money.amount`` is. IDs are integers. Every
  money field an order carries (``ORDER_MONEY_FIELDS``) must be an amount, read or not.
- [V] ``test`` marks a test order (fenxiao records it as ignored).
- [V] A refund is transactions (the money returned: ``kind`` refund, ``status``, ``amount``,
  ``currency``) plus ``refund_line_items`` (the lines, ``subtotal_set`` without tax); refunded
  shipping is in ``refund_shipping_lines`` since API 2024-10 and in ``order_adjustments`` of kind
  ``shipping_refund`` (a negative ``amount``) before; ``refund_discrepancy`` adjustments record a
  refund for less than calculated, which the transactions already show (see ``_refund``).
  https://shopify.dev/docs/api/admin-rest/2024-10/resources/refund
- ``orders/edited`` carries an ``order_edit`` (what changed), not an order, and Shopify also
  sends ``orders/updated`` with the full order, so it is ignored (see the changelog entry
  https://shopify.dev/changelog/new-order-edited-webhook-and-order-editing-api-capabilities).
- ``api_client`` is ``adapters.clients.shopify.ShopifyClient``: the OAuth install and the webhook
  subscriptions (``plugin.platforms.install`` subscribes orders/paid, orders/fulfilled,
  orders/cancelled, orders/updated and refunds/create). Normalizing never calls it.
- [S] Referral code: the first ``note_attributes`` entry named ``ref``, else the ``ref`` query
  parameter of ``landing_site`` (a convention of affiliate apps). Being second-hand it is read
  tolerantly: a missing, malformed or over-long (>64) value means "no ref code", never a 4xx.

Own choices: status is ``cancelled`` (``cancelled_at`` set), ``completed`` (fully paid and
``fulfillment_status`` "fulfilled"), ``paid`` (``financial_status`` paid, partially_refunded or
refunded; partially_paid is not paid) or ``created``. The buyer is ``customer.id``, else
``"email:" + sha256(email)``. The buyer's ``name`` (shown in the workbench) is
``customer.first_name``/``last_name`` joined as the name reads — family name first and no space
when both parts are Chinese, Japanese or Korean ("王小明"), "first last" otherwise ("Ada
Lovelace") — else the phone number (``customer.phone``, else ``phone``) masked to its first three
and last four digits ("137****0003", a +86 prefix dropped): the raw number never leaves the
adapter, only its hash does. Names are free text, read tolerantly (a part that is not a string is
skipped, never a 4xx) and clipped to 200 characters. Line quantities are the ordered
``quantity``: refunds arrive as ``refunds/create``. Over-long free text (channel, device) is
clipped rather than rejected.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .base import KIND_IGNORED, KIND_ORDER, KIND_REFUND, AppCredentials, Delivery, TokenStore
from .clients.shopify import ShopifyClient
from .errors import PayloadError, SignatureError
from .money import split_largest_remainder
from .payload import (
    as_amount,
    as_currency,
    as_dict,
    as_id,
    as_int,
    as_list,
    as_signed_amount,
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
from .schema import MAX_MINOR, MAX_QUANTITY, Order, OrderSchema, Refund, RefundSchema
from .signing import check_signature, sign_shopify

HMAC_HEADER = "X-Shopify-Hmac-Sha256"
TOPIC_HEADER = "X-Shopify-Topic"
WEBHOOK_ID_HEADER = "X-Shopify-Webhook-Id"
TRIGGERED_AT_HEADER = "X-Shopify-Triggered-At"
REQUIRED_HEADERS = (
    HMAC_HEADER,
    TOPIC_HEADER,
    "X-Shopify-Shop-Domain",
    "X-Shopify-API-Version",
    WEBHOOK_ID_HEADER,
)

TOPIC_KINDS = {
    "orders/create": KIND_ORDER,
    "orders/paid": KIND_ORDER,
    "orders/fulfilled": KIND_ORDER,
    "orders/partially_fulfilled": KIND_ORDER,
    "orders/cancelled": KIND_ORDER,
    "orders/updated": KIND_ORDER,
    "refunds/create": KIND_REFUND,
}

_PAID_STATES = ("paid", "partially_refunded", "refunded")
_RETURNED_STATES = ("success", "pending")
# Money fields an order or line may carry; each must be an amount when present (see
# ``_check_money_fields``), including the ones fenxiao does not read today.
ORDER_MONEY_FIELDS = (
    "total_price",
    "subtotal_price",
    "total_line_items_price",
    "total_discounts",
    "total_tax",
    "total_outstanding",
    "total_tip_received",
    "current_total_price",
    "current_subtotal_price",
    "current_total_discounts",
    "current_total_tax",
    "total_price_set",
    "subtotal_price_set",
    "total_discounts_set",
    "total_tax_set",
    "total_shipping_price_set",
    "current_total_price_set",
)
LINE_MONEY_FIELDS = ("total_discount", "price_set", "total_discount_set")
_FAILED_FULFILLMENTS = ("cancelled", "error", "failure")
_MAX_EVENT_KEY = 128
_MAX_TOPIC = 100
_MAX_REF_CODE = 64
_MAX_TAG = 64
_MAX_TAGS = 50
_MAX_NAME = 200


class ShopifyAdapter:
    """The ``PlatformAdapter`` for Shopify webhooks (pure: no outbound calls)."""

    identifier = "shopify"
    normalize_at_intake = True

    def verify(
        self, headers: Mapping[str, str], body: bytes, secrets: Sequence[str], client_id: str | None = None
    ) -> None:
        """Check ``X-Shopify-Hmac-Sha256`` against every secret in ``secrets`` (the app's id
        is not part of Shopify's signature).

        Raises:
            SignatureError: the header is missing or no secret produces it.
        """
        provided = header(headers, HMAC_HEADER)
        if provided is None:
            raise SignatureError(f"missing {HMAC_HEADER} header", HMAC_HEADER)
        check_signature(lambda secret: sign_shopify(body, secret), provided, secrets, HMAC_HEADER)

    def describe(self, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Read the dedupe key, topic, kind and trigger time of one delivery.

        Raises:
            PayloadError: a required header is missing (named as ``field``) or the body is not
                a JSON object (field ``body``).
        """
        for name in REQUIRED_HEADERS:
            if header(headers, name) is None:
                raise PayloadError(f"missing {name} header", name)
        event_key = header(headers, WEBHOOK_ID_HEADER)
        if len(event_key) > _MAX_EVENT_KEY:
            raise PayloadError(f"{WEBHOOK_ID_HEADER} is too long", WEBHOOK_ID_HEADER)
        topic = header(headers, TOPIC_HEADER)
        if len(topic) > _MAX_TOPIC:
            raise PayloadError(f"{TOPIC_HEADER} is too long", TOPIC_HEADER)
        parse_object(body)
        return Delivery(
            event_key=event_key,
            topic=topic,
            kind=TOPIC_KINDS.get(topic, KIND_IGNORED),
            occurred_at=_triggered_at(header(headers, TRIGGERED_AT_HEADER)),
        )

    def normalize(self, delivery: Delivery, body: bytes, api: Any = None) -> Order | Refund | None:
        """Translate an order or refund payload into the common schema.

        Returns:
            An ``Order`` for order kinds, a ``Refund`` for refunds, ``None`` for other kinds.

        Raises:
            PayloadError: the payload is malformed; ``field`` names the raw field (such as
                ``line_items.0.price``) or the common-schema field that failed validation.
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
        """Shopify ignores the reply body; any 2xx is success."""
        return {"ok": True}

    def api_client(self, credentials: AppCredentials, tokens: TokenStore) -> ShopifyClient:
        """The shop's Admin API client: the OAuth install and its webhook subscriptions.

        Normalizing never uses it: Shopify's messages are full snapshots (``normalize_at_intake``).
        """
        return ShopifyClient(credentials, tokens)


ORDER_SCHEMA, REFUND_SCHEMA = OrderSchema(), RefundSchema()  # built once: marshmallow schemas are reusable


def _triggered_at(value: str | None) -> datetime | None:
    try:
        return as_timestamp(value, TRIGGERED_AT_HEADER)
    except PayloadError:
        return None


def _items(data: dict, key: str) -> list:
    items = as_list(child(data, key), key)
    if not items:
        raise PayloadError(f"{key} is empty", key)
    return items


def _clip(value: str | None, limit: int = 256) -> str | None:
    return None if value is None else value[:limit]


def _order(data: dict) -> dict:
    external_id = as_id(child(data, "id"), "id")
    currency = as_currency(child(data, "currency"), "currency")
    created = as_timestamp(child(data, "created_at"), "created_at")
    updated = as_timestamp(child(data, "updated_at"), "updated_at")
    cancelled = as_timestamp(data.get("cancelled_at"), "cancelled_at")
    paid = as_text(data.get("financial_status"), "financial_status") in _PAID_STATES
    fulfilled = as_text(data.get("fulfillment_status"), "fulfillment_status") == "fulfilled"
    if cancelled:
        status = "cancelled"
    elif paid:
        status = "completed" if fulfilled else "paid"
    else:
        status = "created"
    paid_at = (as_timestamp(data.get("processed_at"), "processed_at") or created) if paid else None
    completed_at = _completed_at(data, updated) if status == "completed" else None
    lines = [
        _line(item, currency, join("line_items", i)) for i, item in enumerate(_items(data, "line_items"))
    ]
    _check_money_fields(data, ORDER_MONEY_FIELDS, currency)
    return {
        "platform": ShopifyAdapter.identifier,
        "external_id": external_id,
        "status": status,
        "currency": currency,
        "channel": _clip(as_text(data.get("source_name"), "source_name"), 64) or "web",
        "ref_code": _ref_code(data),
        "region": _region(data),
        "campaign_tags": _campaign_tags(data),
        "buyer": _buyer(data),
        "lines": lines,
        "placed_at": iso(created),
        "updated_at": iso(updated),
        "paid_at": iso(paid_at),
        "completed_at": iso(completed_at),
        "cancelled_at": iso(cancelled),
        "test": _flag(data.get("test"), "test"),
    }


def _flag(value, path: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PayloadError(f"{path} must be true or false", path)
    return value


def _check_money_fields(node: dict, names: tuple[str, ...], currency: str, path: str = "") -> None:
    """Every money field the order carries must be an amount, read or not (``"abc"`` is refused)."""
    for name in names:
        value = node.get(name)
        if value is None:
            continue
        at = join(path, name)
        if name.endswith("_set"):
            for bag in ("shop_money", "presentment_money"):
                bag_path = join(at, bag)
                money = as_dict(as_dict(value, at).get(bag) or {}, bag_path)
                code = money.get("currency_code")
                money_currency = as_currency(code, join(bag_path, "currency_code")) if code else currency
                if money.get("amount") is not None:
                    as_amount(money["amount"], money_currency, join(bag_path, "amount"))
        else:
            as_amount(value, currency, at)


def _campaign_tags(data: dict) -> list[str]:
    """The order's ``tags`` (comma-separated) and its discount codes, tolerantly: free text is
    never worth a 4xx, so what is not a usable tag (not a string, empty, over 64) is skipped."""
    found: list[str] = []
    tags = data.get("tags")
    candidates = tags.split(",") if isinstance(tags, str) else []
    codes = data.get("discount_codes")
    for code in codes if isinstance(codes, list) else ():
        candidates.append(code.get("code") if isinstance(code, dict) else None)
    for candidate in candidates:
        tag = candidate.strip() if isinstance(candidate, str) else ""
        if tag and len(tag) <= _MAX_TAG and tag not in found:
            found.append(tag)
    return found[:_MAX_TAGS]


def _region(data: dict) -> str | None:
    """The delivery city, for region rules; tolerant, since an address is never worth a 4xx."""
    address = data.get("shipping_address")
    city = address.get("city") if isinstance(address, dict) else None
    if not isinstance(city, str):
        return None
    return _clip(city.strip(), 128) or None


def _completed_at(data: dict, updated: datetime) -> datetime:
    latest = None
    fulfillments = data.get("fulfillments")
    for i, fulfillment in enumerate(
        as_list(fulfillments, "fulfillments") if fulfillments is not None else ()
    ):
        path = join("fulfillments", i)
        fulfillment = as_dict(fulfillment, path)
        if fulfillment.get("status") in _FAILED_FULFILLMENTS:
            continue
        created = as_timestamp(fulfillment.get("created_at"), join(path, "created_at"))
        if created is not None and (latest is None or created > latest):
            latest = created
    return latest or updated


def _line(item, currency: str, path: str) -> dict:
    item = as_dict(item, path)
    external_id = as_id(child(item, "id", path), join(path, "id"))
    product_key = next((k for k in ("product_id", "variant_id") if item.get(k) is not None), "id")
    quantity = as_int(child(item, "quantity", path), join(path, "quantity"))
    if not 1 <= quantity <= MAX_QUANTITY:
        raise PayloadError(f"{join(path, 'quantity')} must be 1..{MAX_QUANTITY}", join(path, "quantity"))
    unit_price = as_amount(child(item, "price", path), currency, join(path, "price"))
    if unit_price * quantity > MAX_MINOR:
        at = join(path, "price")
        raise PayloadError(f"{at} × quantity is larger than fenxiao accepts", at)
    _check_money_fields(item, LINE_MONEY_FIELDS, currency, path)
    discount, discount_path = _discount(item, currency, path)
    if discount > unit_price * quantity:
        raise PayloadError(f"{discount_path} exceeds the line's gross amount", discount_path)
    return {
        "external_id": external_id,
        "product_id": as_id(item[product_key], join(path, product_key)),
        "sku": _clip(as_text(item.get("sku"), join(path, "sku"))),
        "category": _clip(as_text(item.get("product_type"), join(path, "product_type"))),
        "quantity": quantity,
        "unit_price": unit_price,
        "discount": discount,
        "paid_amount": unit_price * quantity - discount,
    }


def _discount(item: dict, currency: str, path: str) -> tuple[int, str]:
    allocations = item.get("discount_allocations")
    if allocations is not None:
        base = join(path, "discount_allocations")
        total = 0
        for i, allocation in enumerate(as_list(allocations, base)):
            at = join(base, i)
            total += as_amount(child(as_dict(allocation, at), "amount", at), currency, join(at, "amount"))
        return total, base
    at = join(path, "total_discount")
    raw = item.get("total_discount")
    return (0 if raw is None else as_amount(raw, currency, at)), at


def _ref_code(data: dict) -> str | None:
    notes = data.get("note_attributes")
    for note in notes if isinstance(notes, list) else ():
        name = note.get("name") if isinstance(note, dict) else None
        if isinstance(name, str) and name.strip().lower() == "ref":
            code = _clean_ref(note.get("value"))
            if code:
                return code
    site = data.get("landing_site")
    if not isinstance(site, str):
        return None
    try:
        values = parse_qs(urlsplit(site).query).get("ref", ())
    except ValueError:
        return None
    return next((code for code in map(_clean_ref, values) if code), None)


def _clean_ref(value) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if 0 < len(value) <= _MAX_REF_CODE else None


def _first(*values: str | None) -> str | None:
    """The first non-empty value; each was read (and type-checked) before this is called."""
    return next((value for value in values if value), None)


def _buyer(data: dict) -> dict:
    raw_customer = data.get("customer")
    customer = as_dict(raw_customer, "customer") if raw_customer is not None else {}
    email = _first(
        as_text(customer.get("email"), "customer.email"),
        as_text(data.get("email"), "email"),
        as_text(data.get("contact_email"), "contact_email"),
    )
    email = email.lower() if email else None
    phone = _first(as_text(customer.get("phone"), "customer.phone"), as_text(data.get("phone"), "phone"))
    if customer:
        external_id = as_id(child(customer, "id", "customer"), "customer.id")
    elif email:
        external_id = "email:" + sha256_hex(email)
    else:
        raise PayloadError("the order has neither a customer nor an email", "customer")
    raw_details = data.get("client_details")
    details = as_dict(raw_details, "client_details") if raw_details is not None else {}
    ip = _first(
        as_text(data.get("browser_ip"), "browser_ip"),
        as_text(details.get("browser_ip"), "client_details.browser_ip"),
    )
    device = _first(
        as_text(details.get("session_hash"), "client_details.session_hash"),
        as_text(details.get("user_agent"), "client_details.user_agent"),
    )
    return {
        "external_id": external_id,
        "phone_hash": sha256_hex(phone) if phone else None,
        "email_hash": sha256_hex(email) if email else None,
        "ip": _clip(ip),
        "device": _clip(device),
        "name": _clip(_person_name(customer) or masked_phone(phone), _MAX_NAME),
    }


def _is_cjk(text: str) -> bool:
    """Whether every letter of ``text`` is Chinese, Japanese kana or Korean hangul."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and all(
        "\u2e80" <= c <= "\u9fff" or "\uac00" <= c <= "\ud7af" or "\uf900" <= c <= "\ufaff" for c in letters
    )


def _person_name(customer: dict) -> str | None:
    """``first_name``/``last_name`` joined as the name reads: "王小明", "Ada Lovelace"."""
    first, last = (
        value.strip() if isinstance(value, str) else ""
        for value in (customer.get("first_name"), customer.get("last_name"))
    )
    if first and last and _is_cjk(first) and _is_cjk(last):
        return last + first
    return " ".join(part for part in (first, last) if part) or None


def _refund(data: dict) -> dict:
    """A ``refunds/create`` payload: the lines it names and the merchandise money it returned.

    The money returned is the refund's transactions (kind ``refund``, status ``success`` or
    ``pending``: a pending refund is promised, and Shopify sends no second webhook when it
    settles); what went back for shipping (``refund_shipping_lines``, or ``order_adjustments`` of
    kind ``shipping_refund`` before API 2024-10) is not merchandise and takes nothing back. When
    that is less than the refunded lines' subtotal (the merchant refunded less than calculated),
    the lines' amounts are scaled down to it, largest remainder first; anything above it is tax or
    fees, not merchandise. A refund naming no lines returns ``order_amount``, which fenxiao spreads
    over the order's lines. Without usable transactions (none, or only in another currency) the
    lines' subtotals are taken as they are.
    """
    external_id = as_id(child(data, "id"), "id")
    order_external_id = as_id(child(data, "order_id"), "order_id")
    raw_items = data.get("refund_line_items")
    items = as_list(raw_items, "refund_line_items") if raw_items is not None else []
    currency = _refund_currency(data, items)
    created = as_timestamp(child(data, "created_at"), "created_at")
    created = as_timestamp(data.get("processed_at"), "processed_at") or created
    lines = [_refund_line(item, currency, join("refund_line_items", i)) for i, item in enumerate(items)]
    lines_total = sum(line["amount"] for line in lines)
    shipping = _shipping_returned(data, currency)
    money = _money_returned(data, currency)
    order_amount = 0
    if money is not None:
        merchandise = max(money - shipping, 0)
        if not lines:
            order_amount = merchandise
        elif merchandise < lines_total:
            parts = split_largest_remainder(merchandise, [line["amount"] for line in lines])
            lines = [{**line, "amount": part} for line, part in zip(lines, parts, strict=True)]
    return {
        "platform": ShopifyAdapter.identifier,
        "external_id": external_id,
        "order_external_id": order_external_id,
        "currency": currency,
        "lines": lines,
        "order_amount": order_amount,
        "created_at": iso(created),
    }


def _dig(node, *keys):
    for key in keys:
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and len(node) > key else None
        else:
            node = node.get(key) if isinstance(node, dict) else None
    return node


def _refund_currency(data: dict, items: list) -> str:
    """The shop currency of a refund: from its lines' shop money, else its first transaction."""
    path = "refund_line_items.0.subtotal_set.shop_money.currency_code"
    code = _dig(items, 0, "subtotal_set", "shop_money", "currency_code")
    if code is not None:
        return as_currency(code, path)
    code = _dig(data, "transactions", 0, "currency")
    if code is not None:
        return as_currency(code, "transactions.0.currency")
    raise PayloadError("the refund's currency is unknown (no lines and no transactions)", "transactions")


def _money_returned(data: dict, currency: str) -> int | None:
    """What the refund's transactions gave back in ``currency``.

    None when they cannot tell: no ``transactions`` at all, or refund transactions only in
    another (presentment) currency. An empty list means no money moved (a restock-only refund).
    """
    raw = data.get("transactions")
    if raw is None:
        return None
    total, refunds, comparable = 0, 0, 0
    for i, transaction in enumerate(as_list(raw, "transactions")):
        path = join("transactions", i)
        transaction = as_dict(transaction, path)
        if as_text(transaction.get("kind"), join(path, "kind")) != "refund":
            continue
        refunds += 1
        code = transaction.get("currency")
        if code is not None and as_currency(code, join(path, "currency")) != currency:
            continue  # a presentment-currency amount: not comparable with the lines
        comparable += 1
        amount = as_amount(child(transaction, "amount", path), currency, join(path, "amount"))
        if as_text(transaction.get("status"), join(path, "status")) in _RETURNED_STATES:
            total += amount
    return None if refunds and not comparable else total


def _shipping_returned(data: dict, currency: str) -> int:
    total = 0
    raw = data.get("refund_shipping_lines")
    for i, line in enumerate(as_list(raw, "refund_shipping_lines") if raw is not None else ()):
        path = join("refund_shipping_lines", i)
        line = as_dict(line, path)
        for key in ("subtotal_amount_set", "tax_amount_set"):
            money = line.get(key)
            if money is not None:
                total += _shop_money(money, currency, join(path, key))
    raw = data.get("order_adjustments")
    for i, adjustment in enumerate(as_list(raw, "order_adjustments") if raw is not None else ()):
        path = join("order_adjustments", i)
        adjustment = as_dict(adjustment, path)
        if as_text(adjustment.get("kind"), join(path, "kind")) != "shipping_refund":
            continue
        for key in ("amount", "tax_amount"):
            if adjustment.get(key) is not None:
                total += abs(as_signed_amount(adjustment[key], currency, join(path, key)))
    return total


def _shop_money(money_set, currency: str, path: str) -> int:
    """The ``shop_money.amount`` of a Shopify MoneyBag (``*_set``), in the refund's currency."""
    money_path = join(path, "shop_money")
    shop_money = as_dict(child(as_dict(money_set, path), "shop_money", path), money_path)
    code = shop_money.get("currency_code")
    if code is not None and as_currency(code, join(money_path, "currency_code")) != currency:
        raise PayloadError("refund amounts in different currencies", join(money_path, "currency_code"))
    return as_amount(child(shop_money, "amount", money_path), currency, join(money_path, "amount"))


def _refund_line(item, currency: str, path: str) -> dict:
    item = as_dict(item, path)
    line_external_id = as_id(child(item, "line_item_id", path), join(path, "line_item_id"))
    quantity = as_int(child(item, "quantity", path), join(path, "quantity"))
    if not 0 <= quantity <= MAX_QUANTITY:
        raise PayloadError(f"{join(path, 'quantity')} must be 0..{MAX_QUANTITY}", join(path, "quantity"))
    return {
        "line_external_id": line_external_id,
        "quantity": quantity,
        "amount": _shop_money(child(item, "subtotal_set", path), currency, join(path, "subtotal_set")),
    }
