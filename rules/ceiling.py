"""The merchant's ceiling, checked when a rule set is validated: the rates all paid tiers can
reach together on one line must stay within the shop's ceiling (e.g. 50 % of what the line
paid).

The bound is conservative: for each tier, the largest rate any ``replace`` rule that can match
that tier sets, plus the bonus of every ``stack`` rule that can match it, whether or not those
rules can all match the same line. Fixed amounts are not bounded here (on a cheap enough line
any fixed amount exceeds any percentage); the pricing clamps them against the line's ceiling
(``LineFacts.line_ceiling``) and says so in the explanation.
"""

from __future__ import annotations

from decimal import Decimal

from .errors import RuleSetError
from .predicates import compile_conditions
from .values import format_percent, parse_percent
from .variables import LINE_VARIABLES

_RATE_ACTIONS = ("set_rate", "add_bonus_rate")


def _rate(rule: dict) -> Decimal:
    for action in rule["actions"]:
        if action.get("name") in _RATE_ACTIONS:
            return parse_percent(action["params"]["percent"])
    return Decimal(0)


def _never_matches(rule: dict, tier: int) -> bool:
    return compile_conditions(rule["conditions"], LINE_VARIABLES, {}, {"tier": tier}) is False


def max_rates(doc: dict, max_tier: int) -> dict[int, tuple[Decimal, tuple[str, ...]]]:
    """For each tier 1..``max_tier``: the largest total rate a line can get, and the rules behind it.

    Args:
        doc: A ruleset that passed the structural checks of :func:`rules.validate_ruleset`.
        max_tier: The deepest tier the shop pays.
    """
    bounds = {}
    for tier in range(1, max_tier + 1):
        base, base_rule, stacked = Decimal(0), None, []
        for rule in doc["rules"]:
            rate = _rate(rule)
            if not rate or _never_matches(rule, tier):
                continue
            if rule["mode"] == "stack":
                stacked.append((rate, rule["id"]))
            elif rate > base:
                base, base_rule = rate, rule["id"]
        rules = ((base_rule,) if base_rule else ()) + tuple(rule_id for _, rule_id in stacked)
        bounds[tier] = (base + sum((rate for rate, _ in stacked), Decimal(0)), rules)
    return bounds


def check_ceiling(doc: dict, max_tier: int, ceiling: Decimal) -> None:
    """Refuse a ruleset whose rates can add up, over the paid tiers, to more than ``ceiling`` %.

    Raises:
        RuleSetError: guard ``commission_ceiling``, naming each tier's rate and rules.
    """
    bounds = max_rates(doc, max_tier)
    total = sum((rate for rate, _ in bounds.values()), Decimal(0))
    if total <= ceiling:
        return
    parts = "; ".join(
        f"tier {tier}: {format_percent(rate)} % ({' + '.join(rules)})"
        for tier, (rate, rules) in bounds.items()
        if rate
    )
    worst = max(bounds.values(), key=lambda bound: bound[0])[1]
    raise RuleSetError.at(
        f"the tiers' rates can add up to {format_percent(total)} % of a line ({parts}), above the shop's "
        f"ceiling of {format_percent(ceiling)} %",
        "rules",
        worst[0] if worst else None,
        guard="commission_ceiling",
    )
