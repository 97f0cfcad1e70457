"""``price_line``: the commission for one order line and one beneficiary.

:func:`price_line` uses the compiled evaluator (:mod:`rules.compiled`), cached by the
document's fingerprint or by a caller's version key. :func:`price_line_reference`
evaluates conditions with business-rules' own ``check_conditions_recursively`` and
dispatches actions with its ``do_actions``: it is the reference the compiled evaluator
is tested against, and both hand their matching rules to the same
:func:`rules.pricing.combine` (precedence, rounding, caps).
"""

from __future__ import annotations

from collections.abc import Hashable

from business_rules.engine import check_conditions_recursively, do_actions

from .actions import RuleActions
from .compiled import compile_cached, compiled_for, ordered_rules
from .facts import LineFacts
from .pricing import Pricing, combine, contribution_of
from .variables import LineVariables


def price_line(doc: dict, facts: LineFacts, *, version_key: Hashable | None = None) -> Pricing:
    """Price one order line for one beneficiary under a ruleset.

    Args:
        doc: A ruleset that already passed :func:`rules.validate_ruleset` (not re-checked
            here, to keep the hot path cheap; an invalid document may raise anything).
        facts: The line and the beneficiary.
        version_key: Optional key of an immutable (published) document, e.g.
            ``(shop_id, version)``: the compiled ruleset is then cached by this key and
            the document is not even hashed. Without it the cache key is the document's
            fingerprint, so an edited document is recompiled.

    Returns:
        The :class:`Pricing`: amount = round_half_up(line_paid_amount * rate / 100) + fixed,
        clamped to 0..line_paid_amount, then to the caps; 0 with an empty explanation if
        no rule matched.
    """
    compiled = compiled_for(doc) if version_key is None else compile_cached(version_key, doc)
    return compiled.price(facts)


def price_line_reference(doc: dict, facts: LineFacts) -> Pricing:
    """Price one line with business-rules evaluating every condition and action (slow; the reference).

    Args:
        doc: A validated ruleset.
        facts: The line and the beneficiary.

    Returns:
        The same :class:`Pricing` as :func:`price_line`.
    """
    variables = LineVariables(facts)
    matched = []
    for rule in ordered_rules(doc):
        if check_conditions_recursively(rule["conditions"], variables):
            actions = RuleActions(facts.quantity)
            do_actions(rule["actions"], actions)
            matched.append(
                contribution_of(rule, actions.rate, actions.fixed, actions.excluded, actions.caps or None)
            )
    return combine(matched, facts)
