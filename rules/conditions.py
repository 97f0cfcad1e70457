"""Validation of a rule's ``conditions`` tree against the variables and operators.

The variables come from a variables class (:data:`rules.variables.LINE_VARIABLES` for
commission rules, :data:`rules.risk_facts.RISK_VARIABLES` for risk rules) and the
operators from business-rules' own operator types, so the validator accepts exactly
what the reference engine (``check_conditions_recursively``) can evaluate.
"""

from __future__ import annotations

from datetime import datetime

from business_rules import operators
from business_rules.fields import (
    FIELD_NO_INPUT,
    FIELD_NUMERIC,
    FIELD_SELECT,
    FIELD_SELECT_MULTIPLE,
    FIELD_TEXT,
)

from .errors import RuleSetError
from .predicates import compile_regex
from .variables import LINE_VARIABLES, is_recruiting_name
from .vocabulary import OPERATORS

#: Deepest nesting of ``all``/``any`` groups a document may use.
MAX_DEPTH = 8

_GROUPS = ("all", "any")
_LEAF_KEYS = ("name", "operator", "value")
#: Numeric variables holding an encoded date/time, with the format their values must have.
_ENCODED = {"order_date_number": "%Y%m%d", "order_datetime_number": "%Y%m%d%H%M"}


class Vocabulary:
    """What a conditions tree may name, and which guards apply to it.

    Attributes:
        variables: Variable name -> (field_type name, value function).
        max_tier: Deepest tier the shop pays; tier conditions must be able to match one
            (None: no tier variable).
        recruiting_guard: Reject conditions named like recruiting counts (commission rules).
    """

    def __init__(self, variables: dict, max_tier: int | None, recruiting_guard: bool):
        self.variables = variables
        self.max_tier = max_tier
        self.recruiting_guard = recruiting_guard


def check_conditions(node, path: str, rule_id: str, max_tier, vocabulary: Vocabulary | None = None) -> None:
    """Check a rule's ``conditions``: an ``all``/``any`` group at the top, leaves below.

    Args:
        node: The ``conditions`` value of a rule.
        path: Field path of ``node``, e.g. ``rules[2].conditions``.
        rule_id: The rule's id, for messages.
        max_tier: Deepest tier the shop pays (commission rules; ignored if ``vocabulary`` is given).
        vocabulary: Variables and guards; default: the commission variables at ``max_tier``.

    Raises:
        RuleSetError: The tree is malformed or names an unknown or recruiting-based
            variable, an unknown operator, a value of the wrong type, or a tier no
            beneficiary can have.
    """
    vocabulary = vocabulary or Vocabulary(LINE_VARIABLES, max_tier, recruiting_guard=True)
    if not (isinstance(node, dict) and len(node) == 1 and next(iter(node)) in _GROUPS):
        raise RuleSetError.at('conditions must be {"all": [...]} or {"any": [...]}', path, rule_id)
    _check_node(node, path, rule_id, vocabulary, 0)


def _check_node(node, path: str, rule_id: str, vocabulary: Vocabulary, depth: int) -> None:
    if not isinstance(node, dict):
        raise RuleSetError.at("a condition must be an object", path, rule_id)
    if any(key in node for key in _GROUPS):
        _check_group(node, path, rule_id, vocabulary, depth)
    else:
        _check_leaf(node, path, rule_id, vocabulary)


def _check_group(node: dict, path: str, rule_id: str, vocabulary: Vocabulary, depth: int) -> None:
    if len(node) != 1:
        extra = sorted(set(node) - {next(k for k in _GROUPS if k in node)})
        raise RuleSetError.at(
            f'a condition group must have exactly one key, "all" or "any" (also found {extra})', path, rule_id
        )
    if depth >= MAX_DEPTH:
        raise RuleSetError.at(f"conditions are nested deeper than {MAX_DEPTH} levels", path, rule_id)
    ((key, items),) = node.items()
    here = f"{path}.{key}"
    if not isinstance(items, list) or not items:
        raise RuleSetError.at(f'"{key}" must be a non-empty list of conditions', here, rule_id)
    for index, item in enumerate(items):
        _check_node(item, f"{here}[{index}]", rule_id, vocabulary, depth + 1)


def _check_leaf(node: dict, path: str, rule_id: str, vocabulary: Vocabulary) -> None:
    for key in _LEAF_KEYS:
        if key not in node:
            raise RuleSetError.at(
                f'a condition needs "name", "operator" and "value"; "{key}" is missing', path, rule_id
            )
    for key in node:
        if key not in _LEAF_KEYS:
            raise RuleSetError.at(f"unknown key {key!r} in a condition", f"{path}.{key}", rule_id)
    name, operator, value = node["name"], node["operator"], node["value"]
    if vocabulary.recruiting_guard and isinstance(name, str) and is_recruiting_name(name):
        raise RuleSetError.at(
            f"compliance: commissions must be based on sales, not on recruiting; {name!r} counts "
            "members or invitees and cannot be used in a commission rule",
            f"{path}.name",
            rule_id,
            guard="recruiting",
        )
    entry = vocabulary.variables.get(name) if isinstance(name, str) else None
    if entry is None:
        known = ", ".join(sorted(vocabulary.variables))
        raise RuleSetError.at(f"unknown variable {name!r} (known: {known})", f"{path}.name", rule_id)
    field_type = entry[0]
    allowed = OPERATORS[field_type]
    if not isinstance(operator, str) or operator not in allowed:
        raise RuleSetError.at(
            f"operator {operator!r} is not defined for {field_type} variable {name!r} "
            f"(allowed: {', '.join(sorted(allowed))})",
            f"{path}.operator",
            rule_id,
        )
    _check_value(value, allowed[operator], operator, f"{path}.value", rule_id, name)
    if name in _ENCODED:
        _check_encoded(value, _ENCODED[name], f"{path}.value", rule_id, name)
    elif name == "order_time_of_day" and not (0 <= value <= 2400 and value % 100 < 60):
        raise RuleSetError.at(
            f"'order_time_of_day' is HHMM (0000 to 2400), not {value}", f"{path}.value", rule_id
        )
    if name == "tier" and vocabulary.max_tier is not None:
        _check_tier(operator, value, vocabulary.max_tier, f"{path}.value", rule_id)


def _check_value(value, input_type: str, operator: str, path: str, rule_id: str, name: str) -> None:
    if input_type == FIELD_NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleSetError.at(
                f"{name!r} is numeric; the value must be an integer, not {value!r}", path, rule_id
            )
    elif input_type in (FIELD_TEXT, FIELD_SELECT):
        if not isinstance(value, str):
            kind = "a string" if input_type == FIELD_TEXT else f"a select; {operator!r} takes one"
            raise RuleSetError.at(
                f"{name!r} is {kind}; the value must be a string, not {value!r}", path, rule_id
            )
        if operator == "matches_regex":
            try:
                compile_regex(value)
            except ValueError as exc:
                raise RuleSetError.at(str(exc), path, rule_id, guard="linear_regex") from None
    elif input_type == FIELD_SELECT_MULTIPLE:
        if not isinstance(value, list) or not value or not all(isinstance(item, str) for item in value):
            raise RuleSetError.at(
                f"{name!r} with {operator!r} takes a non-empty list of strings, not {value!r}", path, rule_id
            )
    elif input_type == FIELD_NO_INPUT:
        if value is not None and not isinstance(value, str):
            raise RuleSetError.at(f"operator {operator!r} takes no value; use null", path, rule_id)
    else:  # an operator type business-rules may add later
        raise RuleSetError.at(f"operators taking {input_type!r} input are not supported", path, rule_id)


def _check_encoded(value: int, fmt: str, path: str, rule_id: str, name: str) -> None:
    shape = (
        fmt.replace("%Y", "YYYY")
        .replace("%m", "MM")
        .replace("%d", "DD")
        .replace("%H", "HH")
        .replace("%M", "MM")
    )
    try:
        datetime.strptime(str(value), fmt)
        valid = len(str(value)) == len(shape)
    except ValueError:
        valid = False
    if not valid:
        raise RuleSetError.at(f"{name!r} is {shape} (e.g. a real date), not {value}", path, rule_id)


def _check_tier(operator: str, value: int, max_tier: int, path: str, rule_id: str) -> None:
    """Reject a tier condition that no tier in 1..max_tier satisfies (it asks for a deeper tier)."""
    if not any(getattr(operators.NumericType(tier), operator)(value) for tier in range(1, max_tier + 1)):
        raise RuleSetError.at(
            f"tier condition '{operator} {value}' matches no tier from 1 to {max_tier}; "
            f"this ruleset pays at most {max_tier} tier(s) (hard limit 3)",
            path,
            rule_id,
            guard="tier_depth",
        )
