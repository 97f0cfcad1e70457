"""The default ruleset, rounding, facts and the export."""

from datetime import datetime
from decimal import Decimal

import pytest

from rules import (
    DEFAULT_RULESET,
    MAX_TIERS,
    LineFacts,
    Pricing,
    RuleSetError,
    default_ruleset,
    export_variables,
    price_line,
    validate_ruleset,
)


def test_default_ruleset_validates_for_depth_2_and_3():
    validate_ruleset(DEFAULT_RULESET, 2)
    validate_ruleset(DEFAULT_RULESET, 3)
    assert MAX_TIERS == 3


def test_default_ruleset_has_only_tier_1_and_2_rules():
    assert [rule["id"] for rule in DEFAULT_RULESET["rules"]] == ["tier1-default", "tier2-default"]


def test_default_ruleset_needs_tier2_rule_dropped_at_depth_1():
    with pytest.raises(RuleSetError) as info:
        validate_ruleset(DEFAULT_RULESET, 1)
    assert info.value.rule_id == "tier2-default"
    assert info.value.field == "rules[1].conditions.all[0].value"


def test_default_ruleset_copy_is_independent():
    copy = default_ruleset()
    copy["rules"][0]["actions"][0]["params"]["percent"] = "50"
    copy["rules"].clear()
    assert len(DEFAULT_RULESET["rules"]) == 2
    assert DEFAULT_RULESET["rules"][0]["actions"][0]["params"]["percent"] == "10"


@pytest.mark.parametrize(
    ("max_tier", "ids"),
    [
        (1, ["tier1-default"]),
        (2, ["tier1-default", "tier2-default"]),
        (3, ["tier1-default", "tier2-default"]),
    ],
)
def test_default_ruleset_fitted_to_depth(max_tier, ids):
    doc = default_ruleset(max_tier)
    validate_ruleset(doc, max_tier)
    assert [rule["id"] for rule in doc["rules"]] == ids
    assert doc["name"] == "default"


def test_default_ruleset_rejects_bad_depth():
    with pytest.raises(RuleSetError, match="max_tier must be an int from 1 to 3"):
        default_ruleset(4)


def test_tier_1_earns_10_percent(make_facts):
    pricing = price_line(DEFAULT_RULESET, make_facts(tier=1, line_paid_amount=10000))
    assert pricing == Pricing(
        amount=1000,
        rate=Decimal("10"),
        fixed=0,
        explanation=[
            {
                "rule": "tier1-default",
                "priority": 0,
                "mode": "replace",
                "effect": "base",
                "rate": "10",
                "fixed": 0,
            },
        ],
    )


def test_tier_2_earns_5_percent(make_facts):
    pricing = price_line(DEFAULT_RULESET, make_facts(tier=2, line_paid_amount=10000))
    assert pricing.amount == 500
    assert pricing.rate == Decimal("5")
    assert [entry["rule"] for entry in pricing.explanation] == ["tier2-default"]


def test_tier_3_earns_nothing_by_default(make_facts):
    assert price_line(DEFAULT_RULESET, make_facts(tier=3)) == Pricing(0, Decimal(0), 0, [])


@pytest.mark.parametrize(
    ("tier", "line", "expected"),
    [
        (1, 14999, 1500),  # 1499.9
        (2, 14995, 750),  # 749.75
        (2, 14989, 749),  # 749.45
        (2, 14970, 749),  # 748.5 -> half up (half-even would give 748)
        (1, 25, 3),  # 2.5 -> half up (half-even would give 2)
        (1, 4, 0),  # 0.4
        (1, 5, 1),  # 0.5
        (1, 0, 0),
    ],
)
def test_rounding_is_half_up(make_facts, tier, line, expected):
    assert price_line(DEFAULT_RULESET, make_facts(tier=tier, line_paid_amount=line)).amount == expected


def test_facts_reject_floats_and_naive_times(make_facts):
    with pytest.raises(TypeError, match="line_paid_amount must be an int"):
        make_facts(line_paid_amount=100.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        make_facts(order_time=datetime(2024, 11, 20, 14, 30))
    with pytest.raises(ValueError, match="tier must be at most 3"):
        make_facts(tier=4)
    with pytest.raises(TypeError, match="tier must be an int"):
        make_facts(tier=True)


def test_facts_are_frozen(make_facts):
    facts = make_facts()
    with pytest.raises(AttributeError):
        facts.tier = 2
    assert isinstance(facts, LineFacts)


def test_export_variables_lists_variables_actions_and_operators():
    data = export_variables()
    assert {v["name"]: v["field_type"] for v in data["variables"]} == {
        "tier": "numeric",
        "level": "string",
        "product_id": "string",
        "sku": "string",
        "category": "string",
        "channel": "string",
        "quantity": "numeric",
        "line_paid_amount": "numeric",
        "order_paid_amount": "numeric",
        "order_weekday": "numeric",
        "order_hour": "numeric",
        "order_date": "string",
        "order_time_of_day": "numeric",
        "order_date_number": "numeric",
        "order_datetime": "string",
        "order_datetime_number": "numeric",
        "category_tree": "select",
        "buyer_is_new": "boolean",
        "beneficiary_month_sales": "numeric",
        "campaign_tags": "select_multiple",
        "region": "string",
        "beneficiary_region": "string",
        "in_beneficiary_region": "boolean",
    }
    assert {a["name"]: [p["name"] for p in a["params"]] for a in data["actions"]} == {
        "set_rate": ["percent"],
        "set_fixed_per_unit": ["amount"],
        "set_fixed_per_line": ["amount"],
        "add_bonus_rate": ["percent"],
        "exclude": [],
        "cap_per_line": ["amount"],
        "cap_per_order": ["amount"],
        "cap_per_month": ["amount"],
    }
    assert {p["fieldType"] for a in data["actions"] for p in a["params"]} == {"text"}
    assert "greater_than" in {op["name"] for op in data["variable_type_operators"]["numeric"]}
    assert "starts_with" in {op["name"] for op in data["variable_type_operators"]["string"]}
