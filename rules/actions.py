"""The rule actions: what a matching rule contributes to one line's commission.

Each matching rule gets a fresh :class:`RuleActions`; business-rules' ``do_actions``
calls its methods with the params from the document (decimal strings or ints, see
:mod:`rules.values`), and the object records the rule's contribution. The engine then
combines the contributions by precedence (see :mod:`rules` for the rules).
"""

from __future__ import annotations

from decimal import Decimal

from business_rules.actions import BaseActions, rule_action
from business_rules.fields import FIELD_TEXT

from .values import parse_amount, parse_percent

REPLACE = "replace"
STACK = "stack"
MODES = (REPLACE, STACK)

#: Which rule modes may use each action. ``set_rate`` defines a base, so only a
#: ``replace`` rule may use it; ``add_bonus_rate`` only makes sense on top of a base.
ACTION_MODES = {
    "set_rate": {REPLACE},
    "set_fixed_per_unit": {REPLACE, STACK},
    "set_fixed_per_line": {REPLACE, STACK},
    "add_bonus_rate": {STACK},
    "exclude": {REPLACE, STACK},
    "cap_per_line": {REPLACE, STACK},
    "cap_per_order": {REPLACE, STACK},
    "cap_per_month": {REPLACE, STACK},
}

#: The cap actions and the key each sets in ``caps`` (and in ``Pricing.caps``), in the
#: order the engine applies them.
CAP_ACTIONS = {"cap_per_line": "per_line", "cap_per_order": "per_order", "cap_per_month": "per_month"}

#: How each action param is parsed, by param name (all are FIELD_TEXT in the export).
PARAM_PARSERS = {"percent": parse_percent, "amount": parse_amount}


class RuleActions(BaseActions):
    """Collects the contribution of one matching rule for one line.

    Attributes:
        quantity: Units on the line (multiplies ``set_fixed_per_unit``).
        rate: Percent this rule contributes (``Decimal("10")`` = 10 %).
        fixed: Minor units this rule contributes.
        excluded: Whether the rule said ``exclude``.
        caps: The rule's limits by kind (``per_line``, ``per_order``, ``per_month``),
            in minor units; empty if it sets none.
    """

    def __init__(self, quantity: int):
        self.quantity = quantity
        self.rate = Decimal(0)
        self.fixed = 0
        self.excluded = False
        self.caps: dict[str, int] = {}

    @rule_action(label="Set commission rate (%)", params={"percent": FIELD_TEXT})
    def set_rate(self, percent):
        self.rate += parse_percent(percent)

    @rule_action(label="Set fixed amount per unit (minor units)", params={"amount": FIELD_TEXT})
    def set_fixed_per_unit(self, amount):
        self.fixed += parse_amount(amount) * self.quantity

    @rule_action(label="Set fixed amount per line (minor units)", params={"amount": FIELD_TEXT})
    def set_fixed_per_line(self, amount):
        self.fixed += parse_amount(amount)

    @rule_action(label="Add bonus rate (%)", params={"percent": FIELD_TEXT})
    def add_bonus_rate(self, percent):
        self.rate += parse_percent(percent)

    @rule_action(label="Exclude (no commission)", params={})
    def exclude(self):
        self.excluded = True

    @rule_action(label="Cap per line (minor units)", params={"amount": FIELD_TEXT})
    def cap_per_line(self, amount):
        self.caps["per_line"] = parse_amount(amount)

    @rule_action(label="Cap per order, per beneficiary (minor units)", params={"amount": FIELD_TEXT})
    def cap_per_order(self, amount):
        self.caps["per_order"] = parse_amount(amount)

    @rule_action(label="Cap per beneficiary per month (minor units)", params={"amount": FIELD_TEXT})
    def cap_per_month(self, amount):
        self.caps["per_month"] = parse_amount(amount)
