"""Facts about one order's risk signals, and the risk rule variables over them.

The signals themselves (device and IP matching, order counts, blacklists) are computed
elsewhere; this module only fixes their names and types so risk rules can use them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from business_rules.variables import (
    BaseVariables,
    boolean_rule_variable,
    numeric_rule_variable,
    string_rule_variable,
)

from .facts import require_bool, require_int, require_str
from .vocabulary import variable, variable_table

_BOOLS = ("self_purchase", "same_device_as_inviter", "same_ip_as_inviter", "same_address_as_inviter")
_COUNTS = (
    "orders_from_ip_last_hour",
    "orders_from_ip_last_day",
    "orders_from_device_last_hour",
    "orders_from_device_last_day",
    "accounts_per_device",
    "account_age_days",
    "order_paid_amount",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskFacts:
    """The risk signals of one order (keyword-only; every signal but the account age is optional).

    Attributes:
        account_age_days: Whole days since the buyer's account was created (required:
            0 would mean "brand new", so there is no neutral default).
        self_purchase: The buyer is (or is bound to) the beneficiary themselves.
        same_device_as_inviter: The buyer's device is one the inviter has used.
        same_ip_as_inviter: The buyer's IP is one the inviter has used.
        same_address_as_inviter: The shipping address matches the inviter's.
        orders_from_ip_last_hour: Orders from the buyer's IP in the last hour.
        orders_from_ip_last_day: Orders from the buyer's IP in the last 24 hours.
        orders_from_device_last_hour: Orders from the buyer's device in the last hour.
        orders_from_device_last_day: Orders from the buyer's device in the last 24 hours.
        accounts_per_device: Distinct accounts seen on the buyer's device.
        inviter_refund_rate: Share of the inviter's referred orders refunded, in percent
            (``Decimal`` or int, 0..100; never a float).
        blacklist_hit: The buyer, device, IP or address is on the shop's blacklist.
        order_paid_amount: What the buyer paid for the order, in minor units.
        channel: The sales channel the order came from.
    """

    account_age_days: int
    self_purchase: bool = False
    same_device_as_inviter: bool = False
    same_ip_as_inviter: bool = False
    same_address_as_inviter: bool = False
    orders_from_ip_last_hour: int = 0
    orders_from_ip_last_day: int = 0
    orders_from_device_last_hour: int = 0
    orders_from_device_last_day: int = 0
    accounts_per_device: int = 0
    inviter_refund_rate: Decimal | int = Decimal(0)
    blacklist_hit: bool = False
    order_paid_amount: int = 0
    channel: str = ""

    def __post_init__(self):
        for name in (*_BOOLS, "blacklist_hit"):
            require_bool(getattr(self, name), name, owner="RiskFacts")
        for name in _COUNTS:
            require_int(getattr(self, name), name, 0, owner="RiskFacts")
        require_str(self.channel, "channel", owner="RiskFacts")
        rate = self.inviter_refund_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, Decimal)):
            raise TypeError(
                f"RiskFacts.inviter_refund_rate must be a Decimal or int, not {type(rate).__name__}"
            )
        if isinstance(rate, Decimal) and not rate.is_finite():
            raise ValueError("RiskFacts.inviter_refund_rate must be finite")
        if not 0 <= rate <= 100:
            raise ValueError(f"RiskFacts.inviter_refund_rate must be between 0 and 100, not {rate}")


class RiskVariables(BaseVariables):
    """The risk rule variables (business-rules ``BaseVariables``) over one order's :class:`RiskFacts`."""

    def __init__(self, facts: RiskFacts):
        self.facts = facts

    self_purchase = variable(boolean_rule_variable, "Self-purchase", "self_purchase")
    same_device_as_inviter = variable(
        boolean_rule_variable, "Same device as the inviter", "same_device_as_inviter"
    )
    same_ip_as_inviter = variable(boolean_rule_variable, "Same IP as the inviter", "same_ip_as_inviter")
    same_address_as_inviter = variable(
        boolean_rule_variable, "Same shipping address as the inviter", "same_address_as_inviter"
    )
    orders_from_ip_last_hour = variable(
        numeric_rule_variable, "Orders from this IP, last hour", "orders_from_ip_last_hour"
    )
    orders_from_ip_last_day = variable(
        numeric_rule_variable, "Orders from this IP, last 24 h", "orders_from_ip_last_day"
    )
    orders_from_device_last_hour = variable(
        numeric_rule_variable, "Orders from this device, last hour", "orders_from_device_last_hour"
    )
    orders_from_device_last_day = variable(
        numeric_rule_variable, "Orders from this device, last 24 h", "orders_from_device_last_day"
    )
    accounts_per_device = variable(numeric_rule_variable, "Accounts on this device", "accounts_per_device")
    account_age_days = variable(numeric_rule_variable, "Account age (days)", "account_age_days")
    inviter_refund_rate = variable(numeric_rule_variable, "Inviter's refund rate (%)", "inviter_refund_rate")
    blacklist_hit = variable(boolean_rule_variable, "Blacklist hit", "blacklist_hit")
    order_paid_amount = variable(
        numeric_rule_variable, "Order paid amount (minor units)", "order_paid_amount"
    )
    channel = variable(string_rule_variable, "Sales channel", "channel")


#: Variable name -> (field_type name, value function), for validation and compilation.
RISK_VARIABLES = variable_table(RiskVariables)
