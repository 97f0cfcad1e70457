"""Compliance guards at validation time, and validation of the new variables and actions."""

import copy

import pytest

from rules import RECRUITING_NAMES, RuleSetError, validate_ruleset

BASE = {
    "rules": [
        {
            "id": "tier1",
            "priority": 0,
            "mode": "replace",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
            "actions": [{"name": "set_rate", "params": {"percent": "10"}}],
        },
        {
            "id": "promo",
            "priority": 5,
            "mode": "stack",
            "conditions": {
                "any": [
                    {"name": "channel", "operator": "equal_to", "value": "poster"},
                    {"all": [{"name": "quantity", "operator": "greater_than", "value": 1}]},
                ]
            },
            "actions": [{"name": "add_bonus_rate", "params": {"percent": "1"}}],
        },
    ]
}
LEAF = ("conditions", "any", 1, "all", 0)
FIELD = "rules[1].conditions.any[1].all[0]"


def with_leaf(leaf):
    doc = copy.deepcopy(BASE)
    doc["rules"][1]["conditions"]["any"][1]["all"][0] = leaf
    return doc


def rejected(doc, max_tier=3):
    with pytest.raises(RuleSetError) as info:
        validate_ruleset(doc, max_tier)
    return info.value


@pytest.mark.parametrize(
    "name", sorted(RECRUITING_NAMES) + ["direct_recruit_total", "TeamSize", "downline_sales_count"]
)
def test_recruiting_conditions_are_rejected(name):
    error = rejected(with_leaf({"name": name, "operator": "greater_than", "value": 10}))
    assert error.guard == "recruiting"
    assert error.rule_id == "promo"
    assert error.field == f"{FIELD}.name"
    assert "based on sales, not on recruiting" in error.message
    assert error.to_dict()["guard"] == "recruiting"


def test_recruiting_check_comes_before_unknown_variable():
    error = rejected(with_leaf({"name": "invitee_count", "operator": "bogus", "value": "x"}))
    assert error.guard == "recruiting"


def test_sales_variables_are_fine():
    validate_ruleset(
        with_leaf({"name": "beneficiary_month_sales", "operator": "greater_than", "value": 10}), 3
    )


@pytest.mark.parametrize(
    ("mutate", "guard", "field"),
    [
        (
            lambda d: d["rules"][0]["conditions"]["all"][0].update(value=3),
            "tier_depth",
            "rules[0].conditions.all[0].value",
        ),
        (
            lambda d: d["rules"][0]["actions"][0]["params"].update(percent="101"),
            "rate_range",
            "rules[0].actions[0].params.percent",
        ),
        (
            lambda d: d["rules"][0]["actions"][0]["params"].update(percent=-1),
            "rate_range",
            "rules[0].actions[0].params.percent",
        ),
        (
            lambda d: d["rules"][0]["actions"].append(
                {"name": "cap_per_month", "params": {"amount": "12.50"}}
            ),
            "minor_units",
            "rules[0].actions[1].params.amount",
        ),
        (
            lambda d: d["rules"][0]["actions"].append(
                {"name": "set_fixed_per_line", "params": {"amount": 12.5}}
            ),
            "no_floats",
            "rules[0].actions[1].params.amount",
        ),
    ],
)
def test_guards_are_named(mutate, guard, field):
    doc = copy.deepcopy(BASE)
    mutate(doc)
    error = rejected(doc, max_tier=2)
    assert (error.guard, error.field, error.rule_id) == (guard, field, "tier1")


def test_format_errors_name_no_guard():
    doc = copy.deepcopy(BASE)
    doc["rules"][0]["mode"] = "override"
    assert rejected(doc).guard is None
    assert "guard" not in rejected(doc).to_dict()


@pytest.mark.parametrize(
    ("leaf", "fragment"),
    [
        ({"name": "category_tree", "operator": "contains", "value": ["tea"]}, "the value must be a string"),
        ({"name": "category_tree", "operator": "equal_to", "value": "tea"}, "not defined for select"),
        (
            {"name": "campaign_tags", "operator": "contains_all", "value": "double11"},
            "non-empty list of strings",
        ),
        ({"name": "campaign_tags", "operator": "contains_all", "value": []}, "non-empty list of strings"),
        (
            {"name": "campaign_tags", "operator": "contains_all", "value": ["a", 1]},
            "non-empty list of strings",
        ),
        ({"name": "buyer_is_new", "operator": "is_true", "value": True}, "takes no value"),
        ({"name": "buyer_is_new", "operator": "equal_to", "value": None}, "not defined for boolean"),
        ({"name": "order_date_number", "operator": "less_than", "value": 2026111}, "YYYYMMDD"),
        ({"name": "order_date_number", "operator": "equal_to", "value": 20261131}, "YYYYMMDD"),
        ({"name": "order_datetime_number", "operator": "less_than", "value": 20261111}, "YYYYMMDDHHMM"),
        ({"name": "order_datetime_number", "operator": "less_than", "value": 202611112460}, "YYYYMMDDHHMM"),
        ({"name": "order_time_of_day", "operator": "less_than", "value": 2460}, "HHMM"),
        ({"name": "order_time_of_day", "operator": "less_than", "value": 2401}, "HHMM"),
        (
            {"name": "order_datetime", "operator": "greater_than", "value": "2026-11-11T00:00"},
            "not defined for string",
        ),
    ],
)
def test_new_variables_values_are_checked(leaf, fragment):
    error = rejected(with_leaf(leaf))
    assert error.rule_id == "promo"
    assert error.field.startswith(FIELD)
    assert fragment in error.message


@pytest.mark.parametrize(
    "leaf",
    [
        {"name": "order_time_of_day", "operator": "less_than", "value": 2400},
        {"name": "order_time_of_day", "operator": "greater_than_or_equal_to", "value": 0},
        {"name": "order_datetime_number", "operator": "less_than", "value": 202611110200},
        {"name": "order_date_number", "operator": "equal_to", "value": 20240229},
        {"name": "campaign_tags", "operator": "shares_no_elements_with", "value": ["a", "a"]},
        {"name": "in_beneficiary_region", "operator": "is_false", "value": None},
    ],
)
def test_new_variables_valid_values(leaf):
    validate_ruleset(with_leaf(leaf), 3)


def test_cap_actions_validate_like_amounts():
    doc = copy.deepcopy(BASE)
    doc["rules"][1]["actions"].append({"name": "cap_per_order", "params": {"amount": "5000"}})
    validate_ruleset(doc, 3)
    doc["rules"][1]["actions"].append({"name": "cap_per_order", "params": {"amount": 1}})
    assert "appears twice" in rejected(doc).message
