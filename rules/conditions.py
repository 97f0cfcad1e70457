"""Validation of a rule's ``conditions`` tree against the variables and operators.

The variables come from :class:`rules.facts.LineVariables` and the operators from
business-rules' own operator types, so the validator accepts exactly what the
reference engine (``check_conditions_recursively``) can evaluate.
"""

from __future__ import annotations

import inspect
import re

from business_rules import operators
from business_rules.fields import FIELD_NO_INPUT, FIELD_NUMERIC, FIELD_TEXT

from .errors import RuleSetError
from .facts import LineVariables

#: Deepest nesting of ``all``/``any`` groups a document may use.
MAX_DEPTH = 8

_GROUPS = ("all", "any")
_LEAF_KEYS = ("name", "operator", "value")

#: Operator type by ``field_type`` name ("numeric", "string", ...).
_TYPES = {
    cls.name: cls
    for _, cls in inspect.getmembers(operators, lambda x: getattr(x, "export_in_rule_data", False))
}
#: Variable name -> field_type name.
VARIABLE_TYPES = {v["name"]: v["field_type"] for v in LineVariables.get_all_variables()}
#: field_type name -> {operator name: input type}.
OPERATORS = {
    name: {op["name"]: op["input_type"] for op in cls.get_all_operators()} for name, cls in _TYPES.items()
}


def check_conditions(node, path: str, rule_id: str, max_tier: int) -> None:
    """Check a rule's ``conditions``: an ``all``/``any`` group at the top, leaves below.

    Args:
        node: The ``conditions`` value of a rule.
        path: Field path of ``node``, e.g. ``rules[2].conditions``.
        rule_id: The rule's id, for messages.
        max_tier: Deepest tier the shop pays; tier conditions must be able to match one.

    Raises:
        RuleSetError: The tree is malformed or names an unknown variable or operator,
            a value of the wrong type, or a tier no beneficiary can have.
    """
    if not (isinstance(node, dict) and len(node) == 1 and next(iter(node)) in _GROUPS):
        raise RuleSetError.at('conditions must be {"all": [...]} or {"any": [...]}', path, rule_id)
    _check_node(node, path, rule_id, max_tier, 0)


def _check_node(node, path: str, rule_id: str, max_tier: int, depth: int) -> None:
    if not isinstance(node, dict):
        raise RuleSetError.at("a condition must be an object", path, rule_id)
    if any(key in node for key in _GROUPS):
        _check_group(node, path, rule_id, max_tier, depth)
    else:
        _check_leaf(node, path, rule_id, max_tier)


def _check_group(node: dict, path: str, rule_id: str, max_tier: int, depth: int) -> None:
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
        _check_node(item, f"{here}[{index}]", rule_id, max_tier, depth + 1)


def _check_leaf(node: dict, path: str, rule_id: str, max_tier: int) -> None:
    for key in _LEAF_KEYS:
        if key not in node:
            raise RuleSetError.at(
                f'a condition needs "name", "operator" and "value"; "{key}" is missing', path, rule_id
            )
    for key in node:
        if key not in _LEAF_KEYS:
            raise RuleSetError.at(f"unknown key {key!r} in a condition", f"{path}.{key}", rule_id)
    name, operator, value = node["name"], node["operator"], node["value"]
    field_type = VARIABLE_TYPES.get(name) if isinstance(name, str) else None
    if field_type is None:
        known = ", ".join(sorted(VARIABLE_TYPES))
        raise RuleSetError.at(f"unknown variable {name!r} (known: {known})", f"{path}.name", rule_id)
    allowed = OPERATORS[field_type]
    if not isinstance(operator, str) or operator not in allowed:
        raise RuleSetError.at(
            f"operator {operator!r} is not defined for {field_type} variable {name!r} "
            f"(allowed: {', '.join(sorted(allowed))})",
            f"{path}.operator",
            rule_id,
        )
    _check_value(value, allowed[operator], operator, f"{path}.value", rule_id, name)
    if name == "tier":
        _check_tier(operator, value, max_tier, f"{path}.value", rule_id)


def _check_value(value, input_type: str, operator: str, path: str, rule_id: str, name: str) -> None:
    if input_type == FIELD_NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleSetError.at(
                f"{name!r} is numeric; the value must be an integer, not {value!r}", path, rule_id
            )
    elif input_type == FIELD_TEXT:
        if not isinstance(value, str):
            raise RuleSetError.at(
                f"{name!r} is a string; the value must be a string, not {value!r}", path, rule_id
            )
        if operator == "matches_regex":
            try:
                re.compile(value)
            except re.error as exc:
                raise RuleSetError.at(f"not a valid regular expression: {exc}", path, rule_id) from None
    elif input_type == FIELD_NO_INPUT:
        if value is not None and not isinstance(value, str):
            raise RuleSetError.at(f"operator {operator!r} takes no value; use null", path, rule_id)
    else:  # select types: no variable uses them yet
        raise RuleSetError.at(f"operators taking {input_type!r} input are not supported", path, rule_id)


def _check_tier(operator: str, value: int, max_tier: int, path: str, rule_id: str) -> None:
    """Reject a tier condition that no tier in 1..max_tier satisfies (it asks for a deeper tier)."""
    if not any(getattr(operators.NumericType(tier), operator)(value) for tier in range(1, max_tier + 1)):
        raise RuleSetError.at(
            f"tier condition '{operator} {value}' matches no tier from 1 to {max_tier}; "
            f"this ruleset pays at most {max_tier} tier(s) (hard limit 3)",
            path,
            rule_id,
        )
