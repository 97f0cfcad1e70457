"""validate_ruleset: every rejection names the rule id and the field path."""

import copy

import pytest

from rules import RuleSetError, validate_ruleset

VALID = {
    "name": "shop",
    "description": "a valid ruleset the cases below break",
    "rules": [
        {
            "id": "tier1",
            "priority": 0,
            "mode": "replace",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
            "actions": [{"name": "set_rate", "params": {"percent": "10"}}],
        },
        {
            "id": "tier2",
            "priority": 0,
            "mode": "replace",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 2}]},
            "actions": [{"name": "set_rate", "params": {"percent": "5"}}],
        },
        {
            "id": "promo",
            "priority": 10,
            "mode": "stack",
            "description": "tea week",
            "conditions": {
                "all": [
                    {"name": "category", "operator": "equal_to", "value": "tea"},
                    {
                        "any": [
                            {"name": "quantity", "operator": "greater_than", "value": 1},
                            {"name": "channel", "operator": "matches_regex", "value": "^app"},
                        ]
                    },
                ]
            },
            "actions": [
                {"name": "add_bonus_rate", "params": {"percent": "2.5"}},
                {"name": "set_fixed_per_unit", "params": {"amount": 100}},
            ],
        },
    ],
}


def test_the_base_document_is_valid():
    validate_ruleset(VALID, 2)
    validate_ruleset(VALID, 3)


def _promo(doc):
    return doc["rules"][2]


def _set(path, value):
    """A mutation setting ``value`` at a key path inside rules[2] ("promo")."""

    def mutate(doc):
        node = _promo(doc)
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return mutate


def _delete(path):
    def mutate(doc):
        node = _promo(doc)
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return mutate


COND = ("conditions", "all", 0)
NESTED = ("conditions", "all", 1, "any", 0)
ACTION = ("actions", 0)
P = "rules[2]"

RULE_CASES = [
    # ids
    ("missing id", _delete(("id",)), None, f"{P}.id", "non-empty string"),
    ("empty id", _set(("id",), " "), None, f"{P}.id", "non-empty string"),
    ("numeric id", _set(("id",), 3), None, f"{P}.id", "non-empty string"),
    ("duplicate id", _set(("id",), "tier1"), "tier1", f"{P}.id", "duplicate rule id (also rules[0])"),
    # rule keys, priority, mode
    ("unknown key", _set(("priorty",), 1), "promo", f"{P}.priorty", "unknown key 'priorty'"),
    ("missing priority", _delete(("priority",)), "promo", f"{P}.priority", 'needs "priority"'),
    ("string priority", _set(("priority",), "10"), "promo", f"{P}.priority", "priority must be an integer"),
    ("bool priority", _set(("priority",), True), "promo", f"{P}.priority", "priority must be an integer"),
    ("float priority", _set(("priority",), 10.0), "promo", f"{P}.priority", "floats are not allowed"),
    ("bad mode", _set(("mode",), "override"), "promo", f"{P}.mode", "mode must be one of replace, stack"),
    ("missing mode", _delete(("mode",)), "promo", f"{P}.mode", 'needs "mode"'),
    ("bad description", _set(("description",), 5), "promo", f"{P}.description", "must be a string"),
    # condition structure
    (
        "leaf at top",
        _set(("conditions",), {"name": "tier", "operator": "equal_to", "value": 1}),
        "promo",
        f"{P}.conditions",
        '{"all": [...]} or {"any": [...]}',
    ),
    ("list at top", _set(("conditions",), []), "promo", f"{P}.conditions", '{"all": [...]}'),
    ("all and any", _set(("conditions", "any"), []), "promo", f"{P}.conditions", '{"all": [...]}'),
    ("empty all", _set(("conditions", "all"), []), "promo", f"{P}.conditions.all", "non-empty list"),
    ("all not a list", _set(("conditions", "all"), "tier"), "promo", f"{P}.conditions.all", "non-empty list"),
    (
        "empty nested any",
        _set(("conditions", "all", 1, "any"), []),
        "promo",
        f"{P}.conditions.all[1].any",
        "non-empty list",
    ),
    (
        "group with extra key",
        _set(("conditions", "all", 1, "name"), "x"),
        "promo",
        f"{P}.conditions.all[1]",
        "exactly one key",
    ),
    (
        "condition not an object",
        _set(("conditions", "all", 0), "tier == 1"),
        "promo",
        f"{P}.conditions.all[0]",
        "must be an object",
    ),
    (
        "missing value",
        _delete((*NESTED, "value")),
        "promo",
        f"{P}.conditions.all[1].any[0]",
        '"value" is missing',
    ),
    (
        "extra condition key",
        _set((*COND, "params"), {}),
        "promo",
        f"{P}.conditions.all[0].params",
        "unknown key 'params'",
    ),
    # variables, operators, values
    (
        "unknown variable",
        _set((*COND, "name"), "colour"),
        "promo",
        f"{P}.conditions.all[0].name",
        "unknown variable 'colour'",
    ),
    (
        "string operator on numeric",
        _set((*NESTED, "operator"), "contains"),
        "promo",
        f"{P}.conditions.all[1].any[0].operator",
        "operator 'contains' is not defined for numeric variable 'quantity'",
    ),
    (
        "numeric operator on string",
        _set((*COND, "operator"), "greater_than"),
        "promo",
        f"{P}.conditions.all[0].operator",
        "operator 'greater_than' is not defined for string variable 'category'",
    ),
    (
        "unknown operator",
        _set((*COND, "operator"), "like"),
        "promo",
        f"{P}.conditions.all[0].operator",
        "operator 'like'",
    ),
    (
        "string for numeric",
        _set((*NESTED, "value"), "1"),
        "promo",
        f"{P}.conditions.all[1].any[0].value",
        "must be an integer",
    ),
    (
        "float for numeric",
        _set((*NESTED, "value"), 1.5),
        "promo",
        f"{P}.conditions.all[1].any[0].value",
        "floats are not allowed",
    ),
    (
        "number for string",
        _set((*COND, "value"), 7),
        "promo",
        f"{P}.conditions.all[0].value",
        "must be a string",
    ),
    (
        "bad regex",
        _set(("conditions", "all", 1, "any", 1, "value"), "(app"),
        "promo",
        f"{P}.conditions.all[1].any[1].value",
        "not a linear-time regular expression (missing ): (app)",
    ),
    (
        "backreference",
        _set(("conditions", "all", 1, "any", 1, "value"), r"(a+)\1"),
        "promo",
        f"{P}.conditions.all[1].any[1].value",
        "backreferences and lookaround are not supported",
    ),
    (
        "lookahead",
        _set(("conditions", "all", 1, "any", 1, "value"), "a(?=b)"),
        "promo",
        f"{P}.conditions.all[1].any[1].value",
        "not a linear-time regular expression (invalid perl operator: (?=)",
    ),
    (
        "regex too long",
        _set(("conditions", "all", 1, "any", 1, "value"), "a" * 1001),
        "promo",
        f"{P}.conditions.all[1].any[1].value",
        "at most 1000 characters",
    ),
    # actions
    ("no actions", _set(("actions",), []), "promo", f"{P}.actions", "non-empty list"),
    (
        "unknown action",
        _set((*ACTION, "name"), "set_commission"),
        "promo",
        f"{P}.actions[0].name",
        "unknown action 'set_commission'",
    ),
    (
        "set_rate in stack",
        _set((*ACTION, "name"), "set_rate"),
        "promo",
        f"{P}.actions[0].name",
        "only allowed in replace rules",
    ),
    (
        "duplicate action",
        _set(("actions", 1), {"name": "add_bonus_rate", "params": {"percent": "1"}}),
        "promo",
        f"{P}.actions[1].name",
        "appears twice",
    ),
    (
        "exclude with others",
        _set(("actions", 1), {"name": "exclude"}),
        "promo",
        f"{P}.actions",
        "exclude cannot be combined",
    ),
    (
        "unknown action key",
        _set((*ACTION, "parameters"), {}),
        "promo",
        f"{P}.actions[0].parameters",
        "unknown key 'parameters'",
    ),
    (
        "params not an object",
        _set((*ACTION, "params"), ["2"]),
        "promo",
        f"{P}.actions[0].params",
        "params must be an object",
    ),
    (
        "missing param",
        _set((*ACTION, "params"), {}),
        "promo",
        f"{P}.actions[0].params.percent",
        "needs param 'percent'",
    ),
    (
        "unknown param",
        _set((*ACTION, "params", "rate"), "2"),
        "promo",
        f"{P}.actions[0].params.rate",
        "unknown param 'rate'",
    ),
    # percent params
    (
        "non-decimal percent",
        _set((*ACTION, "params", "percent"), "ten"),
        "promo",
        f"{P}.actions[0].params.percent",
        "plain decimal string",
    ),
    (
        "exponent percent",
        _set((*ACTION, "params", "percent"), "1e1"),
        "promo",
        f"{P}.actions[0].params.percent",
        "plain decimal string",
    ),
    (
        "percent with sign",
        _set((*ACTION, "params", "percent"), "-1"),
        "promo",
        f"{P}.actions[0].params.percent",
        "plain decimal string",
    ),
    (
        "negative int percent",
        _set((*ACTION, "params", "percent"), -1),
        "promo",
        f"{P}.actions[0].params.percent",
        "between 0 and 100",
    ),
    (
        "percent above 100",
        _set((*ACTION, "params", "percent"), "100.01"),
        "promo",
        f"{P}.actions[0].params.percent",
        "between 0 and 100",
    ),
    (
        "float percent",
        _set((*ACTION, "params", "percent"), 2.5),
        "promo",
        f"{P}.actions[0].params.percent",
        "floats are not allowed",
    ),
    (
        "too many decimals",
        _set((*ACTION, "params", "percent"), "2.12345"),
        "promo",
        f"{P}.actions[0].params.percent",
        "more than 4 decimal places",
    ),
    (
        "bool percent",
        _set((*ACTION, "params", "percent"), True),
        "promo",
        f"{P}.actions[0].params.percent",
        "decimal string or an int",
    ),
    # amount params
    (
        "negative amount",
        _set(("actions", 1, "params", "amount"), -5),
        "promo",
        f"{P}.actions[1].params.amount",
        "must not be negative",
    ),
    (
        "negative amount string",
        _set(("actions", 1, "params", "amount"), "-5"),
        "promo",
        f"{P}.actions[1].params.amount",
        "must not be negative",
    ),
    (
        "fractional amount",
        _set(("actions", 1, "params", "amount"), "1.5"),
        "promo",
        f"{P}.actions[1].params.amount",
        "whole number of minor units",
    ),
    (
        "float amount",
        _set(("actions", 1, "params", "amount"), 100.0),
        "promo",
        f"{P}.actions[1].params.amount",
        "floats are not allowed",
    ),
    (
        "float in description",
        _set(("description",), 1.0),
        "promo",
        f"{P}.description",
        "floats are not allowed",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "rule_id", "field", "fragment"),
    [case[1:] for case in RULE_CASES],
    ids=[case[0] for case in RULE_CASES],
)
def test_invalid_rule_is_rejected_naming_rule_and_field(mutate, rule_id, field, fragment):
    doc = copy.deepcopy(VALID)
    mutate(doc)
    with pytest.raises(RuleSetError) as info:
        validate_ruleset(doc, 3)
    error = info.value
    assert error.code == "invalid_ruleset"
    assert error.rule_id == rule_id
    assert error.field == field
    assert fragment in error.message
    assert field in str(error)
    if rule_id is not None:
        assert str(error).startswith(f"rule {rule_id!r}: {field}: ")
    assert error.to_dict()["field"] == field


def test_add_bonus_rate_in_replace_rule_is_rejected():
    doc = copy.deepcopy(VALID)
    doc["rules"][0]["actions"][0]["name"] = "add_bonus_rate"
    pattern = r"rule 'tier1': rules\[0\]\.actions\[0\]\.name: .*only allowed in stack"
    with pytest.raises(RuleSetError, match=pattern):
        validate_ruleset(doc, 3)


TIER_CASES = [
    ("equal_to", 4, 3),
    ("equal_to", 3, 2),
    ("equal_to", 2, 1),
    ("equal_to", 0, 3),
    ("greater_than", 3, 3),
    ("greater_than_or_equal_to", 4, 3),
    ("less_than", 1, 3),
    ("less_than_or_equal_to", 0, 3),
]


@pytest.mark.parametrize(("operator", "value", "max_tier"), TIER_CASES)
def test_tier_condition_beyond_max_tier_is_rejected(operator, value, max_tier):
    doc = copy.deepcopy(VALID)
    del doc["rules"][1]  # tier2 itself would exceed max_tier 1
    doc["rules"][1]["conditions"]["all"][1]["any"][0] = {"name": "tier", "operator": operator, "value": value}
    with pytest.raises(RuleSetError) as info:
        validate_ruleset(doc, max_tier)
    assert info.value.rule_id == "promo"
    assert info.value.field == "rules[1].conditions.all[1].any[0].value"
    assert f"matches no tier from 1 to {max_tier}" in str(info.value)


@pytest.mark.parametrize(
    ("operator", "value", "max_tier"),
    [
        ("equal_to", 3, 3),
        ("greater_than", 1, 2),
        ("greater_than_or_equal_to", 2, 2),
        ("less_than", 9, 1),
        ("less_than_or_equal_to", 1, 3),
    ],
)
def test_tier_condition_that_can_match_is_accepted(operator, value, max_tier):
    doc = copy.deepcopy(VALID)
    del doc["rules"][1]  # tier2 would exceed max_tier 1
    doc["rules"][1]["conditions"]["all"][1]["any"][0] = {"name": "tier", "operator": operator, "value": value}
    validate_ruleset(doc, max_tier)


@pytest.mark.parametrize("max_tier", [4, 0, -1, True, "3", 3.0, None])
def test_bad_max_tier_is_rejected(max_tier):
    with pytest.raises(RuleSetError) as info:
        validate_ruleset(VALID, max_tier)
    assert info.value.field == "max_tier"
    assert "max_tier must be an int from 1 to 3" in str(info.value)


@pytest.mark.parametrize(
    ("doc", "field", "fragment"),
    [
        ([], None, "a ruleset must be an object, not list"),
        ("{}", None, "a ruleset must be an object, not str"),
        ({}, "rules", 'needs a "rules" list'),
        ({"name": "x"}, "rules", 'needs a "rules" list'),
        ({"rules": {"tier1": {}}}, "rules", 'needs a "rules" list'),
        ({"rules": [], "version": 2}, "version", "unknown key 'version'"),
        ({"rules": [], "name": 1.5}, "name", "floats are not allowed"),
        ({"rules": [], "name": 3}, "name", "name must be a string"),
        ({"rules": ["tier1"]}, "rules[0]", "a rule must be an object"),
    ],
)
def test_invalid_document_is_rejected(doc, field, fragment):
    with pytest.raises(RuleSetError) as info:
        validate_ruleset(doc, 2)
    assert info.value.rule_id is None
    assert info.value.field == field
    assert fragment in str(info.value)


def test_empty_rules_list_is_valid():
    validate_ruleset({"rules": []}, 1)


def test_float_anywhere_is_rejected_even_inside_a_valid_shape():
    doc = copy.deepcopy(VALID)
    doc["rules"][1]["conditions"]["all"][0]["value"] = 2.0
    with pytest.raises(RuleSetError) as info:
        validate_ruleset(doc, 3)
    assert info.value.rule_id == "tier2"
    assert info.value.field == "rules[1].conditions.all[0].value"
    assert "floats are not allowed (2.0)" in str(info.value)


def test_too_deep_nesting_is_rejected():
    doc = copy.deepcopy(VALID)
    node = {"name": "tier", "operator": "equal_to", "value": 1}
    for _ in range(9):
        node = {"all": [node]}
    doc["rules"][0]["conditions"] = node
    with pytest.raises(RuleSetError, match="nested deeper than 8 levels"):
        validate_ruleset(doc, 3)


def test_error_to_dict():
    error = RuleSetError.at("bad", "rules[0].id", "r1")
    assert error.to_dict() == {
        "code": "invalid_ruleset",
        "message": "rule 'r1': rules[0].id: bad",
        "rule_id": "r1",
        "field": "rules[0].id",
    }
    assert RuleSetError("plain").to_dict() == {"code": "invalid_ruleset", "message": "plain"}
