"""Commission rules: which rate or fixed amount each inviter earns on an order line.

A shop's ruleset is a JSON document of rules in the ``business-rules`` format, each
with an ``id``, an integer ``priority``, a ``mode`` (``replace`` or ``stack``),
``conditions`` (an ``all``/``any`` tree over the variables of :class:`LineFacts`)
and ``actions`` (``set_rate``, ``set_fixed_per_unit``, ``set_fixed_per_line``,
``add_bonus_rate``, ``exclude``). Conditions are evaluated by business-rules itself.
This package imports nothing else from the project, and never uses floats: amounts
are integer minor units (fen), rates are ``Decimal`` percents.

Precedence (also in ``rules/PRECEDENCE.md``), for one line and one beneficiary:

1. Rules are evaluated in descending ``priority``; equal priorities keep document order.
2. The first (highest-priority) matching ``replace`` rule sets the base: its rate
   and/or fixed amount. Lower ``replace`` rules that also match are reported as
   ``shadowed`` and contribute nothing.
3. Every matching ``stack`` rule adds its contribution (bonus rate, fixed amounts) on
   top of the base, or on top of zero if no ``replace`` rule matched, so constrain a
   stack rule's ``tier`` if it should not pay every tier.
4. Any matching rule with ``exclude`` makes the commission 0, whatever its priority
   or mode; the other matching rules are reported as ``shadowed``.
5. amount = round_half_up(line_paid_amount * total_rate / 100) + total_fixed, where
   ``set_fixed_per_unit`` counts ``amount * quantity``. The result is never negative
   and never more than line_paid_amount; when the cap bites, a final ``capped``
   entry records the uncapped value.
6. No matching rule: amount 0 and an empty explanation.

``set_rate`` is only allowed in ``replace`` rules and ``add_bonus_rate`` only in
``stack`` rules. Depth is enforced by the caller, which prices tiers 1..shop depth
only; :data:`DEFAULT_RULESET` pays tier 1 at 10 % and tier 2 at 5 %, and a shop at
depth 3 adds its own tier-3 rule. Validation rejects tier conditions beyond the shop's
depth, so a depth-1 shop should store ``default_ruleset(max_tier=1)`` (tier 1 only).

Public API: :data:`DEFAULT_RULESET`, :func:`default_ruleset`, :func:`validate_ruleset`,
:func:`price_line`, :class:`LineFacts`, :class:`Pricing`, :class:`RuleSetError`,
:func:`export_variables`.
"""

from __future__ import annotations

from business_rules.utils import export_rule_data

from .actions import RuleActions
from .defaults import DEFAULT_RULESET, default_ruleset
from .engine import Pricing, price_line
from .errors import RuleSetError
from .facts import MAX_TIERS, LineFacts, LineVariables
from .validate import validate_ruleset

__all__ = [
    "DEFAULT_RULESET",
    "MAX_TIERS",
    "LineFacts",
    "Pricing",
    "RuleSetError",
    "default_ruleset",
    "export_variables",
    "price_line",
    "validate_ruleset",
]


def export_variables() -> dict:
    """Describe the variables, actions and operators, for building admin rule forms.

    Returns:
        business-rules' ``export_rule_data`` output: ``variables`` (name, label,
        field_type, options), ``actions`` (name, label, params) and
        ``variable_type_operators`` (field_type -> operators).
    """
    return export_rule_data(LineVariables, RuleActions)
