"""Facts about one order line and one beneficiary, and the rule variables over them.

A rule condition names one of the variables of :class:`LineVariables`; the set of
variables (and their types, which decide the allowed operators) is read from that
class, so adding a variable here is all a new fact needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from business_rules.variables import BaseVariables, numeric_rule_variable, string_rule_variable

#: Hard limit on the depth of the inviter chain (tier 1 = direct inviter).
MAX_TIERS = 3


def _require_int(value, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"LineFacts.{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"LineFacts.{name} must be >= {minimum}, not {value}")


def _require_str(value, name: str, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise TypeError(f"LineFacts.{name} must be a str, not {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What the rules may know about one order line, priced for one beneficiary.

    Amounts are integer minor units (fen for CNY) of ``currency``; fixed amounts in
    rules are read in the same minor units.

    Attributes:
        tier: The beneficiary's distance from the buyer, 1 (direct inviter) .. 3.
        level: The beneficiary's distributor level (shop-defined name).
        product_id: The platform's product id.
        sku: The variant's SKU, if any.
        category: The product's category, if any.
        channel: The sales channel the order came from.
        quantity: Units on the line.
        line_paid_amount: What the buyer paid for this line, in minor units.
        order_paid_amount: What the buyer paid for the whole order, in minor units.
        currency: ISO-4217 code of the amounts.
        order_time: When the order was placed; must be timezone-aware. Weekday, hour
            and date are read in this datetime's own timezone, so pass shop-local time.
    """

    tier: int
    level: str
    product_id: str
    sku: str | None
    category: str | None
    channel: str
    quantity: int
    line_paid_amount: int
    order_paid_amount: int
    currency: str
    order_time: datetime

    def __post_init__(self):
        _require_int(self.tier, "tier", 1)
        if self.tier > MAX_TIERS:
            raise ValueError(f"LineFacts.tier must be at most {MAX_TIERS}, not {self.tier}")
        for name in ("quantity", "line_paid_amount", "order_paid_amount"):
            _require_int(getattr(self, name), name, 0)
        for name in ("level", "product_id", "channel", "currency"):
            _require_str(getattr(self, name), name)
        _require_str(self.sku, "sku", optional=True)
        _require_str(self.category, "category", optional=True)
        if not isinstance(self.order_time, datetime):
            raise TypeError("LineFacts.order_time must be a datetime")
        if self.order_time.tzinfo is None or self.order_time.utcoffset() is None:
            raise ValueError("LineFacts.order_time must be timezone-aware")


class LineVariables(BaseVariables):
    """The rule variables (business-rules ``BaseVariables``) over one :class:`LineFacts`."""

    def __init__(self, facts: LineFacts):
        self.facts = facts

    @numeric_rule_variable(label="Tier (1 = direct inviter)")
    def tier(self):
        return self.facts.tier

    @string_rule_variable(label="Beneficiary distributor level")
    def level(self):
        return self.facts.level

    @string_rule_variable(label="Product id")
    def product_id(self):
        return self.facts.product_id

    @string_rule_variable(label="SKU")
    def sku(self):
        return self.facts.sku or ""

    @string_rule_variable(label="Category")
    def category(self):
        return self.facts.category or ""

    @string_rule_variable(label="Sales channel")
    def channel(self):
        return self.facts.channel

    @numeric_rule_variable(label="Quantity")
    def quantity(self):
        return self.facts.quantity

    @numeric_rule_variable(label="Line paid amount (minor units)")
    def line_paid_amount(self):
        return self.facts.line_paid_amount

    @numeric_rule_variable(label="Order paid amount (minor units)")
    def order_paid_amount(self):
        return self.facts.order_paid_amount

    @numeric_rule_variable(label="Order weekday (0 = Monday)")
    def order_weekday(self):
        return self.facts.order_time.weekday()

    @numeric_rule_variable(label="Order hour (0-23)")
    def order_hour(self):
        return self.facts.order_time.hour

    @string_rule_variable(label="Order date (YYYY-MM-DD)")
    def order_date(self):
        return self.facts.order_time.date().isoformat()
