"""``validate_ruleset``: reject a commission ruleset document before it is stored or used.

Every error is a :class:`rules.errors.RuleSetError` whose message names the rule id
and the field path (``rules[2].actions[0].params.percent``).
"""

from __future__ import annotations

from decimal import Decimal

from .actions import ACTION_MODES, MODES, PARAM_PARSERS, RuleActions
from .ceiling import check_ceiling
from .conditions import Vocabulary, check_conditions
from .errors import RuleSetError
from .facts import MAX_TIERS
from .variables import LINE_VARIABLES

#: Keys a ruleset document may have (``rules`` is required).
DOCUMENT_KEYS = ("name", "description", "rules")
#: Keys a rule must have, and the optional ones.
RULE_KEYS = ("id", "priority", "mode", "conditions", "actions")
OPTIONAL_RULE_KEYS = ("description",)
#: Which compliance guard a bad param value breaks, by param name.
PARAM_GUARDS = {"percent": "rate_range", "amount": "minor_units"}
#: Action name -> its param names, as the actions class declares them.
ACTION_PARAMS = {a["name"]: [p["name"] for p in a["params"] or []] for a in RuleActions.get_all_actions()}


def validate_ruleset(doc, max_tier: int, ceiling: Decimal | None = None) -> None:
    """Check that ``doc`` is a valid commission ruleset for a shop paying ``max_tier`` tiers.

    Args:
        doc: The ruleset document (parsed JSON).
        max_tier: How many tiers of inviters the shop pays (1..3).
        ceiling: The shop's ceiling, in percent of a line's paid amount, on what all tiers
            together may earn from it (see :mod:`rules.ceiling`); None checks no ceiling.

    Raises:
        RuleSetError: ``max_tier`` is outside 1..3, or the document is invalid: not an
            object, no ``rules`` list, a float anywhere, a rule without a unique ``id``,
            a non-int ``priority``, a ``mode`` other than replace/stack, a malformed
            conditions tree, an unknown or recruiting-based variable, an unknown
            operator, a tier condition beyond ``max_tier``, an unknown action or bad
            action params, a regular expression that cannot run in linear time, or rates
            that can add up to more than ``ceiling``. ``error.guard`` names the compliance
            guard, if one is broken.
    """
    if isinstance(max_tier, bool) or not isinstance(max_tier, int) or not 1 <= max_tier <= MAX_TIERS:
        raise RuleSetError.at(
            f"max_tier must be an int from 1 to {MAX_TIERS}, not {max_tier!r}", "max_tier", guard="tier_depth"
        )
    vocabulary = Vocabulary(LINE_VARIABLES, max_tier, recruiting_guard=True)

    def check_body(rule: dict, path: str, rule_id: str) -> None:
        mode = rule["mode"]
        if mode not in MODES:
            raise RuleSetError.at(
                f"mode must be one of {', '.join(MODES)}, not {mode!r}", f"{path}.mode", rule_id
            )
        check_conditions(rule["conditions"], f"{path}.conditions", rule_id, max_tier, vocabulary)
        _check_actions(rule["actions"], mode, f"{path}.actions", rule_id)

    check_document(doc, RULE_KEYS, check_body)
    if ceiling is not None:
        check_ceiling(doc, max_tier, ceiling)


def check_document(doc, rule_keys: tuple, check_body) -> None:
    """Check a ruleset's shape and every rule's common fields, then call ``check_body`` per rule.

    Args:
        doc: The document.
        rule_keys: Keys every rule must have (``description`` is always optional).
        check_body: ``check_body(rule, path, rule_id)`` checks the rest of one rule.

    Raises:
        RuleSetError: As described in :func:`validate_ruleset`.
    """
    if not isinstance(doc, dict):
        raise RuleSetError.at(f"a ruleset must be an object, not {type(doc).__name__}")
    for key in doc:
        if key not in DOCUMENT_KEYS:
            raise RuleSetError.at(f"unknown key {key!r} (allowed: {', '.join(DOCUMENT_KEYS)})", str(key))
        if key != "rules":
            _reject_non_json(doc[key], str(key), None)
            if not isinstance(doc[key], str):
                raise RuleSetError.at(f"{key} must be a string", str(key))
    rules = doc.get("rules")
    if not isinstance(rules, list):
        raise RuleSetError.at('a ruleset needs a "rules" list', "rules")
    seen: dict[str, int] = {}
    try:
        for index, rule in enumerate(rules):
            path = f"rules[{index}]"
            rule_id = _check_rule(rule, path, rule_keys, seen, index)
            check_body(rule, path, rule_id)
    except RecursionError:
        raise RuleSetError.at("the document is nested too deeply", "rules") from None


def _check_rule(rule, path: str, rule_keys: tuple, seen: dict[str, int], index: int) -> str:
    if not isinstance(rule, dict):
        raise RuleSetError.at("a rule must be an object", path)
    rule_id = rule.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        raise RuleSetError.at('every rule needs a non-empty string "id"', f"{path}.id")
    _reject_non_json(rule, path, rule_id)
    if rule_id in seen:
        raise RuleSetError.at(f"duplicate rule id (also rules[{seen[rule_id]}])", f"{path}.id", rule_id)
    seen[rule_id] = index
    for key in rule:
        if key not in rule_keys and key not in OPTIONAL_RULE_KEYS:
            raise RuleSetError.at(f"unknown key {key!r} in a rule", f"{path}.{key}", rule_id)
    for key in rule_keys:
        if key not in rule:
            raise RuleSetError.at(f'a rule needs "{key}"', f"{path}.{key}", rule_id)
    if "description" in rule and not isinstance(rule["description"], str):
        raise RuleSetError.at("description must be a string", f"{path}.description", rule_id)
    priority = rule["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise RuleSetError.at(f"priority must be an integer, not {priority!r}", f"{path}.priority", rule_id)
    return rule_id


def _check_actions(actions, mode: str, path: str, rule_id: str) -> None:
    if not isinstance(actions, list) or not actions:
        raise RuleSetError.at("actions must be a non-empty list", path, rule_id)
    names = []
    for index, action in enumerate(actions):
        here = f"{path}[{index}]"
        if not isinstance(action, dict):
            raise RuleSetError.at("an action must be an object", here, rule_id)
        for key in action:
            if key not in ("name", "params"):
                raise RuleSetError.at(f"unknown key {key!r} in an action", f"{here}.{key}", rule_id)
        name = action.get("name")
        if not isinstance(name, str) or name not in ACTION_PARAMS:
            raise RuleSetError.at(
                f"unknown action {name!r} (known: {', '.join(sorted(ACTION_PARAMS))})",
                f"{here}.name",
                rule_id,
            )
        if mode not in ACTION_MODES[name]:
            allowed = " or ".join(sorted(ACTION_MODES[name]))
            raise RuleSetError.at(
                f"action {name!r} is only allowed in {allowed} rules, not {mode}", f"{here}.name", rule_id
            )
        if name in names:
            raise RuleSetError.at(f"action {name!r} appears twice in one rule", f"{here}.name", rule_id)
        names.append(name)
        _check_params(action.get("params"), name, f"{here}.params", rule_id)
    if "exclude" in names and len(names) > 1:
        raise RuleSetError.at("exclude cannot be combined with other actions", path, rule_id)


def _check_params(params, name: str, path: str, rule_id: str) -> None:
    expected = ACTION_PARAMS[name]
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise RuleSetError.at("params must be an object", path, rule_id)
    for key in params:
        if key not in expected:
            raise RuleSetError.at(f"unknown param {key!r} for action {name!r}", f"{path}.{key}", rule_id)
    for key in expected:
        if key not in params:
            raise RuleSetError.at(f"action {name!r} needs param {key!r}", f"{path}.{key}", rule_id)
        try:
            PARAM_PARSERS[key](params[key])
        except ValueError as exc:
            raise RuleSetError.at(str(exc), f"{path}.{key}", rule_id, guard=PARAM_GUARDS[key]) from None


def _reject_non_json(value, path: str, rule_id: str | None) -> None:
    """Refuse floats (and any non-JSON value) anywhere under ``value``."""
    if isinstance(value, float):
        raise RuleSetError.at(
            f"floats are not allowed ({value!r}); use an integer or a decimal string",
            path,
            rule_id,
            guard="no_floats",
        )
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise RuleSetError.at(f"object keys must be strings, not {key!r}", path, rule_id)
            _reject_non_json(item, f"{path}.{key}" if path else key, rule_id)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_non_json(item, f"{path}[{index}]", rule_id)
    elif value is not None and not isinstance(value, (str, int)):
        raise RuleSetError.at(f"not a JSON value: {type(value).__name__}", path, rule_id)
