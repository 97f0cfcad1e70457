"""The common order schema every platform is normalized into.

Amounts are integer minor units of the order's ``currency``; never floats. Adapters build a
plain dict and ``load`` it through these marshmallow schemas, which check types and
invariants and return the frozen dataclasses the domain consumes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

ORDER_STATUSES = ("created", "paid", "completed", "cancelled")
#: The largest amount (minor units) one line, refund or order may carry: ¥10 trillion. Sums of
#: 500 lines stay far inside a signed 64-bit column, so nothing accepted here can overflow later.
MAX_MINOR = 10**15
#: The largest quantity a line may carry (a 32-bit integer column).
MAX_QUANTITY = 2**31 - 1


@dataclass(frozen=True)
class Buyer:
    external_id: str
    phone_hash: str | None = None
    email_hash: str | None = None
    ip: str | None = None
    device: str | None = None
    # What the platform calls the buyer (a name, else a masked phone number), for the workbench.
    name: str | None = None


@dataclass(frozen=True)
class OrderLine:
    external_id: str
    product_id: str
    sku: str | None
    category: str | None
    quantity: int
    unit_price: int
    discount: int
    paid_amount: int


@dataclass(frozen=True)
class Order:
    """One platform order as the platform last described it (a snapshot, not a delta)."""

    platform: str
    external_id: str
    status: str
    currency: str
    channel: str
    ref_code: str | None
    buyer: Buyer
    lines: tuple[OrderLine, ...]
    placed_at: datetime
    updated_at: datetime
    paid_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    region: str | None = None  # delivery region (city), for region rules
    campaign_tags: tuple[str, ...] = ()  # campaigns the order takes part in (tags, discount codes)
    test: bool = False  # the platform marked it as a test order: it earns nothing

    @property
    def paid_total(self) -> int:
        return sum(line.paid_amount for line in self.lines)


@dataclass(frozen=True)
class RefundLine:
    line_external_id: str
    quantity: int
    amount: int


@dataclass(frozen=True)
class Refund:
    """Merchandise money returned to the buyer on one order.

    ``lines`` carry what was returned for named lines; ``order_amount`` is what the platform
    returned without saying how much on each line (an amount-only refund), which fenxiao
    spreads in proportion to what each line paid: over ``spread_lines`` when the platform
    named the lines (Youzan's ``oids``), else over all the order's lines. Shipping, tax and fees are not here:
    they carry no commission, so returning them takes none back.
    """

    platform: str
    external_id: str
    order_external_id: str
    currency: str
    lines: tuple[RefundLine, ...]
    created_at: datetime
    order_amount: int = 0
    spread_lines: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines) + self.order_amount


_minor = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_MINOR))
_text = fields.String(required=True, validate=validate.Length(min=1, max=128))
_optional_text = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=256))


class BuyerSchema(Schema):
    external_id = _text
    phone_hash = _optional_text
    email_hash = _optional_text
    ip = _optional_text
    device = _optional_text
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @post_load
    def make(self, data, **kwargs):
        return Buyer(**data)


class OrderLineSchema(Schema):
    external_id = _text
    product_id = _text
    sku = _optional_text
    category = _optional_text
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_QUANTITY))
    unit_price = _minor
    discount = _minor
    paid_amount = _minor

    @validates_schema
    def check_amounts(self, data, **kwargs):
        gross = data["unit_price"] * data["quantity"]
        if gross > MAX_MINOR:
            raise ValidationError(f"unit_price * quantity exceeds {MAX_MINOR} minor units", "quantity")
        if data["discount"] > gross:
            raise ValidationError("discount exceeds the line's gross amount", "discount")
        if data["paid_amount"] != gross - data["discount"]:
            raise ValidationError("paid_amount must equal unit_price * quantity - discount", "paid_amount")

    @post_load
    def make(self, data, **kwargs):
        return OrderLine(**data)


class OrderSchema(Schema):
    platform = _text
    external_id = _text
    status = fields.String(required=True, validate=validate.OneOf(ORDER_STATUSES))
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    channel = fields.String(required=True, validate=validate.Length(min=1, max=64))
    ref_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64))
    region = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=128))
    buyer = fields.Nested(BuyerSchema, required=True)
    lines = fields.List(
        fields.Nested(OrderLineSchema), required=True, validate=validate.Length(min=1, max=500)
    )
    placed_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    paid_at = fields.AwareDateTime(load_default=None, allow_none=True)
    completed_at = fields.AwareDateTime(load_default=None, allow_none=True)
    cancelled_at = fields.AwareDateTime(load_default=None, allow_none=True)
    campaign_tags = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        load_default=list,
        validate=validate.Length(max=50),
    )
    test = fields.Boolean(load_default=False)

    @validates_schema
    def check_lines_unique(self, data, **kwargs):
        ids = [line.external_id for line in data.get("lines", ())]
        if len(ids) != len(set(ids)):
            raise ValidationError("line external_id values must be unique", "lines")

    @post_load
    def make(self, data, **kwargs):
        return Order(**{**data, "lines": tuple(data["lines"]), "campaign_tags": tuple(data["campaign_tags"])})


class RefundLineSchema(Schema):
    line_external_id = _text
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_QUANTITY))
    amount = _minor

    @post_load
    def make(self, data, **kwargs):
        return RefundLine(**data)


class RefundSchema(Schema):
    platform = _text
    external_id = _text
    order_external_id = _text
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    lines = fields.List(fields.Nested(RefundLineSchema), required=True, validate=validate.Length(max=500))
    order_amount = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=MAX_MINOR))
    spread_lines = fields.List(
        fields.String(validate=validate.Length(min=1, max=128)),
        load_default=list,
        validate=validate.Length(max=500),
    )
    created_at = fields.AwareDateTime(required=True)

    @post_load
    def make(self, data, **kwargs):
        return Refund(**{**data, "lines": tuple(data["lines"]), "spread_lines": tuple(data["spread_lines"])})


@dataclass(frozen=True)
class StatusUpdate:
    """A status-only message: the platform says an order reached ``status`` at ``occurred_at``,
    without lines or amounts (Youzan's ``trade_TradeSuccess``, ``trade_TradeClose``).

    It moves an order the platform already described; one that arrives before the order's
    first snapshot is remembered and applied when the snapshot comes (``plugin.orders``).
    """

    platform: str
    order_external_id: str
    currency: str
    status: str  # one of STATUS_UPDATES
    occurred_at: datetime


STATUS_UPDATES = ("completed", "cancelled")


class StatusUpdateSchema(Schema):
    platform = _text
    order_external_id = _text
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$"))
    status = fields.String(required=True, validate=validate.OneOf(STATUS_UPDATES))
    occurred_at = fields.AwareDateTime(required=True)

    @post_load
    def make(self, data, **kwargs):
        return StatusUpdate(**data)


def first_error(err: ValidationError) -> tuple[str, str]:
    """Flatten a marshmallow error to ``(dotted.field.path, message)`` for a JSON reply."""

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                return walk(value, [*path, str(key)])
        if isinstance(node, list) and node:
            return walk(node[0], path)
        return ".".join(path) or "_schema", str(node)

    return walk(err.messages, [])
