"""Risk rules: the same engine, over an order's risk signals, deciding pass / review / block.

A risk ruleset has the commission format without ``mode``: each rule has an ``id``,
an integer ``priority``, ``conditions`` over the variables of
:class:`rules.risk_facts.RiskVariables` and exactly one action, ``review`` or
``block``, with a ``reason`` code (``[a-z][a-z0-9_.:-]*``, at most 64 characters)::

    {"id": "same-device", "priority": 10,
     "conditions": {"all": [{"name": "same_device_as_inviter", "operator": "is_true", "value": null}]},
     "actions": [{"name": "review", "params": {"reason": "same_device_as_inviter"}}]}

Every matching rule counts: the verdict is ``block`` if any matching rule blocks,
else ``review`` if any reviews, else ``pass``. The reasons are the matching rules'
reason codes in evaluation order (descending priority, ties in document order),
each once; the explanation lists every matching rule with its action and reason.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from dataclasses import dataclass, field

from business_rules.actions import BaseActions, rule_action
from business_rules.engine import check_conditions_recursively, do_actions
from business_rules.fields import FIELD_TEXT

from .compiled import CACHE_SIZE, LRUCache, ordered_rules, ruleset_fingerprint
from .conditions import Vocabulary, check_conditions
from .errors import RuleSetError
from .layout import vector_layout
from .predicates import compile_conditions
from .risk_facts import RISK_VARIABLES, RiskFacts, RiskVariables
from .validate import check_document

PASS = "pass"  # noqa: S105 (a verdict, not a password)
REVIEW = "review"
BLOCK = "block"
_SEVERITY = {PASS: 0, REVIEW: 1, BLOCK: 2}

#: What a reason code looks like.
REASON_PATTERN = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
RISK_RULE_KEYS = ("id", "priority", "conditions", "actions")
#: Numeric risk variables that may hold a Decimal.
DECIMAL_VARIABLES = frozenset({"inviter_refund_rate"})


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    """The outcome of the risk rules for one order.

    Attributes:
        verdict: ``"pass"``, ``"review"`` or ``"block"`` (block beats review beats pass).
        reasons: The matching rules' reason codes, in evaluation order, each once.
        explanation: One dict per matching rule, in evaluation order: ``rule``,
            ``priority``, ``action`` (review/block) and ``reason``.
    """

    verdict: str
    reasons: list[str] = field(default_factory=list)
    explanation: list[dict] = field(default_factory=list)


class RiskActions(BaseActions):
    """Collects what matching risk rules decided (business-rules actions)."""

    def __init__(self):
        self.decisions: list[tuple[str, str]] = []

    @rule_action(label="Hold for manual review", params={"reason": FIELD_TEXT})
    def review(self, reason):
        self.decisions.append((REVIEW, reason))

    @rule_action(label="Block", params={"reason": FIELD_TEXT})
    def block(self, reason):
        self.decisions.append((BLOCK, reason))


def validate_risk_ruleset(doc) -> None:
    """Check that ``doc`` is a valid risk ruleset.

    Raises:
        RuleSetError: Naming the rule and field: the shapes checked for commission
            rules, plus exactly one action per rule, ``review`` or ``block``, with a
            ``reason`` code.
    """
    vocabulary = Vocabulary(RISK_VARIABLES, None, recruiting_guard=False)

    def check_body(rule: dict, path: str, rule_id: str) -> None:
        check_conditions(rule["conditions"], f"{path}.conditions", rule_id, None, vocabulary)
        actions = rule["actions"]
        if not isinstance(actions, list) or len(actions) != 1 or not isinstance(actions[0], dict):
            raise RuleSetError.at(
                "a risk rule needs exactly one action, review or block", f"{path}.actions", rule_id
            )
        action, here = actions[0], f"{path}.actions[0]"
        for key in action:
            if key not in ("name", "params"):
                raise RuleSetError.at(f"unknown key {key!r} in an action", f"{here}.{key}", rule_id)
        if action.get("name") not in (REVIEW, BLOCK):
            raise RuleSetError.at(
                f"unknown risk action {action.get('name')!r} (known: block, review)", f"{here}.name", rule_id
            )
        params = action.get("params")
        if not isinstance(params, dict) or set(params) != {"reason"}:
            raise RuleSetError.at('params must be {"reason": "<code>"}', f"{here}.params", rule_id)
        reason = params["reason"]
        if not isinstance(reason, str) or not REASON_PATTERN.fullmatch(reason):
            raise RuleSetError.at(
                f"reason must be a code like 'same_device' ([a-z][a-z0-9_.:-]*, at most 64), not {reason!r}",
                f"{here}.params.reason",
                rule_id,
            )

    check_document(doc, RISK_RULE_KEYS, check_body)


def _verdict(decisions: list[tuple[str, int, str, str]]) -> RiskVerdict:
    verdict, reasons, explanation = PASS, [], []
    for rule_id, priority, action, reason in decisions:
        if _SEVERITY[action] > _SEVERITY[verdict]:
            verdict = action
        if reason not in reasons:
            reasons.append(reason)
        explanation.append({"rule": rule_id, "priority": priority, "action": action, "reason": reason})
    return RiskVerdict(verdict, reasons, explanation)


class CompiledRiskRuleSet:
    """A risk ruleset compiled into plain predicates. Immutable; safe to share between threads."""

    def __init__(self, doc: dict):
        self.fingerprint = ruleset_fingerprint(doc)
        ordered = ordered_rules(doc)
        self.variables, slots, self._values = vector_layout(
            [rule["conditions"] for rule in ordered], RISK_VARIABLES
        )
        entries = []
        for rule in ordered:
            predicate = compile_conditions(
                rule["conditions"], RISK_VARIABLES, slots, decimals=DECIMAL_VARIABLES
            )
            if predicate is False:
                continue
            action = rule["actions"][0]
            decision = (rule["id"], rule["priority"], action["name"], action["params"]["reason"])
            entries.append((None if predicate is True else predicate, decision))
        self._entries = tuple(entries)

    def evaluate(self, facts: RiskFacts) -> RiskVerdict:
        """The verdict for one order's signals."""
        v = self._values(facts)
        return _verdict(
            [decision for predicate, decision in self._entries if predicate is None or predicate(v)]
        )


_RISK_CACHE = LRUCache(CACHE_SIZE)


def compile_risk_ruleset(doc: dict, version_key: Hashable | None = None) -> CompiledRiskRuleSet:
    """The compiled form of a validated risk ruleset, cached by ``version_key`` or by fingerprint."""
    key = ("version", version_key) if version_key is not None else ruleset_fingerprint(doc)
    return _RISK_CACHE.get_or_build(key, lambda: CompiledRiskRuleSet(doc))


def evaluate_risk(doc: dict, facts: RiskFacts, *, version_key: Hashable | None = None) -> RiskVerdict:
    """Evaluate a validated risk ruleset for one order with the compiled evaluator.

    Args:
        doc: A ruleset that passed :func:`validate_risk_ruleset`.
        facts: The order's risk signals.
        version_key: Optional key of an immutable (published) document, for the cache.

    Returns:
        The :class:`RiskVerdict`; ``pass`` with no reasons when no rule matches.
    """
    return compile_risk_ruleset(doc, version_key).evaluate(facts)


def evaluate_risk_reference(doc: dict, facts: RiskFacts) -> RiskVerdict:
    """Evaluate with business-rules' own condition and action dispatch (slow; the reference)."""
    variables = RiskVariables(facts)
    decisions = []
    for rule in ordered_rules(doc):
        if check_conditions_recursively(rule["conditions"], variables):
            actions = RiskActions()
            do_actions(rule["actions"], actions)
            decisions.extend(
                (rule["id"], rule["priority"], action, reason) for action, reason in actions.decisions
            )
    return _verdict(decisions)
