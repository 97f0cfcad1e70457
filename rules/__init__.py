"""Commission and risk rules: declarative JSON, clear precedence, compiled evaluation, what-if replay.

A shop's commission ruleset is a JSON document of rules in the ``business-rules``
format, each with an ``id``, an integer ``priority``, a ``mode`` (``replace`` or
``stack``), ``conditions`` (an ``all``/``any`` tree over the variables of
:class:`LineVariables`: tier, level, product, SKU, category and its parents, channel,
amounts, quantity, new buyer, order weekday/hour/time of day/date/date-time,
the beneficiary's month sales, campaign tags, region) and ``actions``
(``set_rate``, ``set_fixed_per_unit``, ``set_fixed_per_line``, ``add_bonus_rate``,
``cap_per_line``, ``cap_per_order``, ``cap_per_month``, ``exclude``). This package
imports nothing else from the project, and never uses floats: amounts are integer
minor units (fen), rates are ``Decimal`` percents. Time variables are read in the
order time's own timezone: facts carry shop-local time.

Precedence (in full, with the guards and the known pitfalls of other plugins, in
``rules/PRECEDENCE.md``), for one line and one beneficiary:

1. Rules are evaluated in descending ``priority``; equal priorities keep document order.
2. The first (highest-priority) matching ``replace`` rule sets the base: its rate
   and/or fixed amount. Lower ``replace`` rules that also match are reported as
   ``shadowed`` and contribute nothing. So a product rate beats a category rate
   beats a level rate beats a tier default exactly when its priority is higher.
3. Every matching ``stack`` rule adds its contribution (bonus rate, fixed amounts) on
   top of the base, or on top of zero if no ``replace`` rule matched, so constrain a
   stack rule's ``tier`` if it should not pay every tier.
4. Any matching rule with ``exclude`` makes the commission 0, whatever its priority
   or mode; the other matching rules are reported as ``shadowed``.
5. amount = round_half_up(line_paid_amount * total_rate / 100) + total_fixed, where
   ``set_fixed_per_unit`` counts ``amount * quantity``. The result is never negative
   and never more than line_paid_amount; when that limit bites, a ``capped``
   entry records the uncapped value.
6. Caps of the rules that count (base or stacked; the smallest of each kind) then
   apply per line, per order (minus ``already_paid_this_order``) and per month
   (minus ``already_paid_this_month``), each recorded when it lowers the amount.
7. No matching rule: amount 0 and an empty explanation.

``set_rate`` is only allowed in ``replace`` rules and ``add_bonus_rate`` only in
``stack`` rules. Depth is enforced by the caller, which prices tiers 1..shop depth
only; :data:`DEFAULT_RULESET` pays tier 1 at 10 % and tier 2 at 5 %, and a shop at
depth 3 adds its own tier-3 rule. Validation rejects tier conditions beyond the shop's
depth and conditions on recruiting head counts (``team_size``, ``invitee_count``...),
so a depth-1 shop should store ``default_ruleset(max_tier=1)`` (tier 1 only).

:func:`price_line` evaluates a compiled form of the ruleset (cached by fingerprint or
by a version key); :func:`price_line_reference` lets business-rules evaluate it and is
the reference the compiled evaluator is tested against. :func:`simulate` replays
historical lines under a draft. Risk rules (:class:`RiskFacts`, :func:`evaluate_risk`)
use the same engine and decide pass / review / block with reasons.

Public API: :data:`DEFAULT_RULESET`, :func:`default_ruleset`, :func:`validate_ruleset`,
:func:`price_line`, :func:`price_line_reference`, :class:`LineFacts`, :class:`Pricing`,
:class:`RuleSetError`, :func:`export_variables`, :func:`ruleset_fingerprint`,
:func:`compile_ruleset`, :func:`compile_cached`, :class:`CompiledRuleSet`,
:func:`simulate`, :func:`replay`, :class:`HistoricalLine`, :class:`SimulationReport`,
:class:`RiskFacts`, :func:`validate_risk_ruleset`, :func:`evaluate_risk`,
:class:`RiskVerdict`, :func:`export_risk_variables`.
"""

from __future__ import annotations

from business_rules.utils import export_rule_data

from .actions import RuleActions
from .compiled import (
    CompiledRuleSet,
    clear_caches,
    compile_cached,
    compile_ruleset,
    compiled_for,
    ruleset_fingerprint,
)
from .defaults import DEFAULT_RULESET, default_ruleset
from .engine import price_line, price_line_reference
from .errors import RuleSetError
from .facts import CHANNELS, MAX_TIERS, LineFacts
from .pricing import Pricing
from .risk import (
    BLOCK,
    PASS,
    REVIEW,
    CompiledRiskRuleSet,
    RiskActions,
    RiskVerdict,
    compile_risk_ruleset,
    evaluate_risk,
    evaluate_risk_reference,
    validate_risk_ruleset,
)
from .risk_facts import RiskFacts, RiskVariables
from .simulate import DEFAULT_GROUPS, HistoricalLine, SimulationReport, Totals, format_minor, replay, simulate
from .validate import validate_ruleset
from .variables import RECRUITING_NAMES, LineVariables

__all__ = [
    "BLOCK",
    "CHANNELS",
    "DEFAULT_GROUPS",
    "DEFAULT_RULESET",
    "MAX_TIERS",
    "PASS",
    "RECRUITING_NAMES",
    "REVIEW",
    "CompiledRiskRuleSet",
    "CompiledRuleSet",
    "HistoricalLine",
    "LineFacts",
    "LineVariables",
    "Pricing",
    "RiskFacts",
    "RiskVariables",
    "RiskVerdict",
    "RuleSetError",
    "SimulationReport",
    "Totals",
    "clear_caches",
    "compile_cached",
    "compile_risk_ruleset",
    "compile_ruleset",
    "compiled_for",
    "default_ruleset",
    "evaluate_risk",
    "evaluate_risk_reference",
    "export_risk_variables",
    "export_variables",
    "format_minor",
    "price_line",
    "price_line_reference",
    "replay",
    "ruleset_fingerprint",
    "simulate",
    "validate_risk_ruleset",
    "validate_ruleset",
]


def export_variables() -> dict:
    """Describe the commission variables, actions and operators, for building admin rule forms.

    Returns:
        business-rules' ``export_rule_data`` output: ``variables`` (name, label,
        field_type, options), ``actions`` (name, label, params) and
        ``variable_type_operators`` (field_type -> operators).
    """
    return export_rule_data(LineVariables, RuleActions)


def export_risk_variables() -> dict:
    """Describe the risk variables, actions (review, block) and operators, like :func:`export_variables`."""
    return export_rule_data(RiskVariables, RiskActions)
