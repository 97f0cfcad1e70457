"""Combining the matching rules' contributions into one line's :class:`Pricing`.

Both engines (the compiled evaluator and the business-rules reference) find the
matching rules and what each contributes, then call :func:`combine`; precedence,
rounding and caps therefore live in exactly one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from .values import format_percent, percent_of

BASE = "base"
STACKED = "stacked"
SHADOWED = "shadowed"
EXCLUDED = "excluded"
CAPPED = "capped"
CAPPED_PER_LINE = "capped_per_line"
CAPPED_PER_ORDER = "capped_per_order"
CAPPED_PER_MONTH = "capped_per_month"
CAPPED_BY_CEILING = "capped_by_ceiling"

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Pricing:
    """The priced commission of one line for one beneficiary.

    Attributes:
        amount: Commission in integer minor units, 0 <= amount <= line_paid_amount,
            after every cap.
        rate: Total percent applied (base + stacked), e.g. ``Decimal("12.5")``; 0 if excluded.
        fixed: Total fixed minor units applied (base + stacked), before any cap; 0 if excluded.
        explanation: One dict per matching rule, in evaluation order, with keys ``rule``
            (id), ``priority``, ``mode``, ``effect`` (base/stacked/shadowed/excluded),
            ``rate`` (the rule's own percent as a string), ``fixed`` (its own minor units)
            and, only for a rule with cap actions, ``caps`` (its own limits). Then, for
            each limit that lowered the amount, in this order: ``effect: "capped"``
            (the line's paid amount; ``rule`` None, with ``uncapped`` and ``amount``),
            ``capped_per_line``, ``capped_per_order``, ``capped_per_month`` (the rule
            that set the limit, with ``cap``, ``already_paid``, ``uncapped`` = the amount
            before this limit, and ``amount`` after it), and last ``capped_by_ceiling`` (the
            shop's ceiling on all tiers of the line: ``rule`` None, ``cap`` = the line's
            ceiling, ``already_paid`` = the other tiers' commission on the line). Empty if
            nothing matched.
        caps: The limits in force, by kind (``per_line``, ``per_order``, ``per_month``):
            the smallest limit of each kind among the rules that counted (base or
            stacked); empty if none. Reported whether or not they lowered the amount.
    """

    amount: int
    rate: Decimal
    fixed: int
    explanation: list[dict] = field(default_factory=list)
    caps: dict[str, int] = field(default_factory=dict)


class Contribution(NamedTuple):
    """What one matching rule contributes, before precedence is applied."""

    rule: str
    priority: int
    mode: str
    rate: Decimal
    rate_text: str
    fixed: int
    excluded: bool
    caps: dict | None


def contribution_of(rule: dict, rate: Decimal, fixed: int, excluded: bool, caps: dict | None) -> Contribution:
    """Build a :class:`Contribution` for ``rule`` from its evaluated actions."""
    return Contribution(
        rule["id"], rule["priority"], rule["mode"], rate, format_percent(rate), fixed, excluded, caps
    )


def combine(matched: list[Contribution], facts, explain: bool = True) -> Pricing:
    """Apply precedence, rounding and caps to the matching rules of one line.

    Args:
        matched: The matching rules' contributions, in evaluation order (descending
            priority, ties in document order).
        facts: The line's :class:`rules.LineFacts` (amounts and already-paid totals).
        explain: Build the explanation; when False it stays empty and everything else
            is the same (for replays, which only total the amounts).

    Returns:
        The line's :class:`Pricing`.
    """
    if not matched:
        return Pricing(0, _ZERO, 0, [], {})
    excluded = any(item.excluded for item in matched)
    rate, fixed, has_base = _ZERO, 0, False
    caps: dict[str, int] = {}
    cap_rules: dict[str, Contribution] = {}
    explanation = []
    for item in matched:
        rule_id, priority, mode, item_rate, rate_text, item_fixed, item_excluded, item_caps = item
        if item_excluded:
            effect = EXCLUDED
        elif excluded:
            effect = SHADOWED
        elif mode == "replace":
            effect = SHADOWED if has_base else BASE
            has_base = True
        else:
            effect = STACKED
        if explain:
            entry = {
                "rule": rule_id,
                "priority": priority,
                "mode": mode,
                "effect": effect,
                "rate": rate_text,
                "fixed": item_fixed,
            }
            explanation.append(entry)
            if item_caps:
                entry["caps"] = dict(item_caps)
        if effect is BASE or effect is STACKED:
            rate += item_rate
            fixed += item_fixed
            if item_caps:
                for kind, limit in item_caps.items():
                    if kind not in caps or limit < caps[kind]:
                        caps[kind] = limit
                        cap_rules[kind] = item

    line_paid = facts.line_paid_amount
    uncapped = percent_of(line_paid, rate) + fixed if rate else fixed
    uncapped = max(uncapped, 0)
    amount = min(uncapped, line_paid)
    if amount < uncapped and explain:
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
    if caps:
        amount = _apply_caps(amount, caps, cap_rules, facts, explanation if explain else [])
    if facts.line_ceiling is not None:
        amount = _apply_ceiling(amount, facts, explanation if explain else [])
    return Pricing(amount, rate, fixed, explanation, caps)


def _apply_ceiling(amount: int, facts, explanation: list) -> int:
    """The last line of defence: all tiers together never earn more than the line's ceiling."""
    room = max(facts.line_ceiling - facts.already_paid_this_line, 0)
    if amount <= room:
        return amount
    explanation.append(
        {
            "rule": None,
            "priority": None,
            "mode": None,
            "effect": CAPPED_BY_CEILING,
            "cap": facts.line_ceiling,
            "already_paid": facts.already_paid_this_line,
            "uncapped": amount,
            "amount": room,
        }
    )
    return room


def _apply_caps(amount: int, caps: dict, cap_rules: dict, facts, explanation: list) -> int:
    for kind, effect, already_paid in (
        ("per_line", CAPPED_PER_LINE, 0),
        ("per_order", CAPPED_PER_ORDER, facts.already_paid_this_order),
        ("per_month", CAPPED_PER_MONTH, facts.already_paid_this_month),
    ):
        if kind not in caps:
            continue
        room = max(caps[kind] - already_paid, 0)
        if amount > room:
            rule = cap_rules[kind]
            explanation.append(
                {
                    "rule": rule.rule,
                    "priority": rule.priority,
                    "mode": rule.mode,
                    "effect": effect,
                    "cap": caps[kind],
                    "already_paid": already_paid,
                    "uncapped": amount,
                    "amount": room,
                }
            )
            amount = room
    return amount
