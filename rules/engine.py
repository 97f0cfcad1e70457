"""``price_line``: the commission for one order line and one beneficiary.

Conditions are evaluated by business-rules' own ``check_conditions_recursively`` (the
reference engine) and actions dispatched by its ``do_actions``; this module only
orders the rules and combines what each matching rule contributed (see the precedence
rules in :mod:`rules`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from business_rules.engine import check_conditions_recursively, do_actions

from .actions import REPLACE, RuleActions
from .facts import LineFacts, LineVariables
from .values import format_percent, percent_of

BASE = "base"
STACKED = "stacked"
SHADOWED = "shadowed"
EXCLUDED = "excluded"
CAPPED = "capped"


@dataclass(frozen=True, slots=True)
class Pricing:
    """The priced commission of one line for one beneficiary.

    Attributes:
        amount: Commission in integer minor units, 0 <= amount <= line_paid_amount.
        rate: Total percent applied (base + stacked), e.g. ``Decimal("12.5")``; 0 if excluded.
        fixed: Total fixed minor units applied (base + stacked), before the cap; 0 if excluded.
        explanation: One dict per matching rule, in evaluation order, with keys ``rule``
            (id), ``priority``, ``mode``, ``effect`` (base/stacked/shadowed/excluded),
            ``rate`` (the rule's own percent as a string) and ``fixed`` (its own minor
            units); plus a final ``effect: "capped"`` entry (``rule`` None, with
            ``uncapped`` and ``amount``) when the cap applied. Empty if nothing matched.
    """

    amount: int
    rate: Decimal
    fixed: int
    explanation: list[dict] = field(default_factory=list)


def ordered_rules(doc: dict) -> list[dict]:
    """The document's rules in evaluation order: descending priority, ties in document order."""
    return sorted(doc["rules"], key=lambda rule: -rule["priority"])


def price_line(doc: dict, facts: LineFacts) -> Pricing:
    """Price one order line for one beneficiary under a ruleset.

    Args:
        doc: A ruleset that already passed :func:`rules.validate_ruleset` (not re-checked
            here, to keep the hot path cheap; an invalid document may raise anything).
        facts: The line and the beneficiary.

    Returns:
        The :class:`Pricing`: amount = round_half_up(line_paid_amount * rate / 100) + fixed,
        clamped to 0..line_paid_amount; 0 with an empty explanation if no rule matched.
    """
    variables = LineVariables(facts)
    matched: list[tuple[dict, RuleActions]] = []
    for rule in ordered_rules(doc):
        if check_conditions_recursively(rule["conditions"], variables):
            contribution = RuleActions(facts.quantity)
            do_actions(rule["actions"], contribution)
            matched.append((rule, contribution))
    if not matched:
        return Pricing(0, Decimal(0), 0, [])

    excluded = any(contribution.excluded for _, contribution in matched)
    rate, fixed, has_base = Decimal(0), 0, False
    explanation = []
    for rule, contribution in matched:
        if contribution.excluded:
            effect = EXCLUDED
        elif excluded:
            effect = SHADOWED
        elif rule["mode"] == REPLACE:
            effect = SHADOWED if has_base else BASE
            has_base = True
        else:
            effect = STACKED
        if effect in (BASE, STACKED):
            rate += contribution.rate
            fixed += contribution.fixed
        explanation.append(
            {
                "rule": rule["id"],
                "priority": rule["priority"],
                "mode": rule["mode"],
                "effect": effect,
                "rate": format_percent(contribution.rate),
                "fixed": contribution.fixed,
            }
        )

    uncapped = max(percent_of(facts.line_paid_amount, rate) + fixed, 0)
    amount = min(uncapped, facts.line_paid_amount)
    if amount < uncapped:
        explanation.append(
            {
                "rule": None,
                "priority": None,
                "mode": None,
                "effect": CAPPED,
                "rate": format_percent(rate),
                "fixed": fixed,
                "uncapped": uncapped,
                "amount": amount,
            }
        )
    return Pricing(amount, rate, fixed, explanation)
