"""Facts about one order line and one beneficiary: what a commission rule may know.

The caller (the plugin) builds one :class:`LineFacts` per order line and tier. The
fields added after ``order_time`` all have defaults, so older callers keep working;
a fact that is not filled in takes its neutral value (no parent categories, not a new
buyer, no month sales, no campaign tags, no region, nothing paid yet).

The rule *variables* over these facts are in :mod:`rules.variables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Hard limit on the depth of the inviter chain (tier 1 = direct inviter).
MAX_TIERS = 3

#: Channel names the admin offers (``channel`` is a free string; these are the usual ones).
CHANNELS = ("web", "app", "platform", "mini_program", "live_stream", "poster", "short_link")


def require_int(value, name: str, minimum: int, owner: str = "LineFacts") -> None:
    """Raise unless ``value`` is an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{owner}.{name} must be an int, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, not {value}")


def require_str(value, name: str, optional: bool = False, owner: str = "LineFacts") -> None:
    """Raise unless ``value`` is a str (or None when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise TypeError(f"{owner}.{name} must be a str, not {type(value).__name__}")


def require_bool(value, name: str, owner: str = "LineFacts") -> None:
    """Raise unless ``value`` is exactly True or False."""
    if not isinstance(value, bool):
        raise TypeError(f"{owner}.{name} must be a bool, not {type(value).__name__}")


def _str_tuple(facts, name: str) -> None:
    value = getattr(facts, name)
    if isinstance(value, str) or not isinstance(value, (tuple, list)):
        raise TypeError(f"LineFacts.{name} must be a tuple of str, not {type(value).__name__}")
    for item in value:
        require_str(item, name)
    if isinstance(value, list):
        object.__setattr__(facts, name, tuple(value))


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What the rules may know about one order line, priced for one beneficiary.

    Amounts are integer minor units (fen for CNY) of ``currency``; fixed amounts and
    caps in rules are read in the same minor units.

    Attributes:
        tier: The beneficiary's distance from the buyer, 1 (direct inviter) .. 3.
        level: The beneficiary's distributor level (shop-defined name).
        product_id: The platform's product id.
        sku: The variant's SKU, if any.
        category: The product's own (leaf) category, if any.
        channel: The sales channel the order came from (see :data:`CHANNELS`).
        quantity: Units on the line.
        line_paid_amount: What the buyer paid for this line, in minor units.
        order_paid_amount: What the buyer paid for the whole order, in minor units.
        currency: ISO-4217 code of the amounts.
        order_time: When the order was placed; must be timezone-aware. Every time
            variable (weekday, hour, date, date-time) is read in this datetime's own
            timezone, so pass **shop-local** time.
        parent_categories: The ancestors of ``category``, nearest first (e.g.
            ``("green-tea", "tea", "drinks")`` for category ``"longjing"``).
        buyer_is_new: This order is the one that counts as the buyer's first in this shop.
        beneficiary_month_sales: Direct sales (minor units) attributed to the beneficiary in
            the current shop-local calendar month *before* this line (earlier orders and
            earlier lines of this order, net of refunds), for ladders.
        campaign_tags: Tags of the campaigns the order or product takes part in.
        region: The order's delivery region (shop-defined code, e.g. a city code).
        beneficiary_region: The region the beneficiary is responsible for, if any
            (city partners).
        already_paid_this_order: Commission (minor units) already priced for this
            beneficiary on the other lines of this order; read by ``cap_per_order``.
        already_paid_this_month: Commission (minor units) already priced for this
            beneficiary this shop-local calendar month, this order's earlier lines
            included, net of refunds; read by ``cap_per_month``.
        already_paid_this_line: Commission (minor units) already priced on this same line for
            the other tiers (the lower ones, priced first); read by the line ceiling.
        line_ceiling: The most (minor units) all tiers together may earn on this line (the
            shop's ceiling, e.g. 50 % of ``line_paid_amount``); None for no ceiling.
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
    parent_categories: tuple[str, ...] = ()
    buyer_is_new: bool = False
    beneficiary_month_sales: int = 0
    campaign_tags: tuple[str, ...] = ()
    region: str = ""
    beneficiary_region: str = ""
    already_paid_this_order: int = 0
    already_paid_this_month: int = 0
    already_paid_this_line: int = 0
    line_ceiling: int | None = None

    def __post_init__(self):
        require_int(self.tier, "tier", 1)
        if self.tier > MAX_TIERS:
            raise ValueError(f"LineFacts.tier must be at most {MAX_TIERS}, not {self.tier}")
        for name in (
            "quantity",
            "line_paid_amount",
            "order_paid_amount",
            "beneficiary_month_sales",
            "already_paid_this_order",
            "already_paid_this_month",
            "already_paid_this_line",
        ):
            require_int(getattr(self, name), name, 0)
        if self.line_ceiling is not None:
            require_int(self.line_ceiling, "line_ceiling", 0)
        for name in ("level", "product_id", "channel", "currency", "region", "beneficiary_region"):
            require_str(getattr(self, name), name)
        require_str(self.sku, "sku", optional=True)
        require_str(self.category, "category", optional=True)
        require_bool(self.buyer_is_new, "buyer_is_new")
        _str_tuple(self, "parent_categories")
        _str_tuple(self, "campaign_tags")
        if not isinstance(self.order_time, datetime):
            raise TypeError("LineFacts.order_time must be a datetime")
        if self.order_time.tzinfo is None or self.order_time.utcoffset() is None:
            raise ValueError("LineFacts.order_time must be timezone-aware")
