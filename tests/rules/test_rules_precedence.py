"""Precedence: replace/shadowed, stack, exclude, fixed amounts, cap, nested conditions."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from rules import price_line, validate_ruleset

CST = timezone(timedelta(hours=8))


def cond(name, operator, value):
    return {"name": name, "operator": operator, "value": value}


def tier_is(tier):
    return {"all": [cond("tier", "equal_to", tier)]}


def entry(rule, priority, mode, effect, rate="0", fixed=0):
    return {"rule": rule, "priority": priority, "mode": mode, "effect": effect, "rate": rate, "fixed": fixed}


@pytest.fixture
def layered(make_rule):
    """Tier default 10 % (0) < category tea 8 % (10) < product p1 12 % (20), in scrambled order."""
    doc = {
        "name": "layered",
        "rules": [
            make_rule(
                "category-tea",
                10,
                "replace",
                {"all": [cond("category", "equal_to", "tea")]},
                ("set_rate", {"percent": "8"}),
            ),
            make_rule("tier1-default", 0, "replace", tier_is(1), ("set_rate", {"percent": "10"})),
            make_rule(
                "product-p1",
                20,
                "replace",
                {"all": [cond("product_id", "equal_to", "p1")]},
                ("set_rate", {"percent": "12"}),
            ),
        ],
    }
    validate_ruleset(doc, 3)
    return doc


def test_product_beats_category_beats_tier_default(layered, make_facts):
    pricing = price_line(layered, make_facts(product_id="p1", category="tea", line_paid_amount=10000))
    assert pricing.amount == 1200
    assert pricing.rate == Decimal("12")
    assert pricing.explanation == [
        entry("product-p1", 20, "replace", "base", "12"),
        entry("category-tea", 10, "replace", "shadowed", "8"),
        entry("tier1-default", 0, "replace", "shadowed", "10"),
    ]


def test_category_beats_tier_default_when_product_differs(layered, make_facts):
    pricing = price_line(layered, make_facts(product_id="p2", category="tea", line_paid_amount=10000))
    assert pricing.amount == 800
    assert pricing.explanation == [
        entry("category-tea", 10, "replace", "base", "8"),
        entry("tier1-default", 0, "replace", "shadowed", "10"),
    ]


def test_tier_default_when_nothing_more_specific(layered, make_facts):
    pricing = price_line(layered, make_facts(product_id="p2", category=None, line_paid_amount=10000))
    assert pricing.amount == 1000
    assert pricing.explanation == [entry("tier1-default", 0, "replace", "base", "10")]


def test_equal_priorities_keep_document_order(make_rule, make_facts):
    doc = {
        "rules": [
            make_rule("first", 5, "replace", tier_is(1), ("set_rate", {"percent": "3"})),
            make_rule("second", 5, "replace", tier_is(1), ("set_rate", {"percent": "4"})),
        ]
    }
    pricing = price_line(doc, make_facts(line_paid_amount=10000))
    assert pricing.amount == 300
    effects = [(e["rule"], e["effect"]) for e in pricing.explanation]
    assert effects == [("first", "base"), ("second", "shadowed")]


def test_stack_bonus_adds_to_the_winning_base(layered, make_rule, make_facts):
    layered["rules"].append(
        make_rule(
            "weekend-bonus",
            15,
            "stack",
            {"all": [cond("order_weekday", "greater_than_or_equal_to", 5)]},
            ("add_bonus_rate", {"percent": "2"}),
        )
    )
    validate_ruleset(layered, 3)
    saturday = datetime(2024, 11, 23, 10, 0, tzinfo=CST)
    pricing = price_line(layered, make_facts(order_time=saturday, line_paid_amount=10000))
    assert pricing.amount == 1400
    assert pricing.rate == Decimal("14")
    assert pricing.explanation == [
        entry("product-p1", 20, "replace", "base", "12"),
        entry("weekend-bonus", 15, "stack", "stacked", "2"),
        entry("category-tea", 10, "replace", "shadowed", "8"),
        entry("tier1-default", 0, "replace", "shadowed", "10"),
    ]
    # On a Wednesday the bonus does not match.
    assert price_line(layered, make_facts(line_paid_amount=10000)).amount == 1200


def test_every_matching_stack_rule_adds_and_rate_is_rounded_once(make_rule, make_facts):
    doc = {
        "rules": [
            make_rule("base", 0, "replace", tier_is(1), ("set_rate", {"percent": "10"})),
            make_rule(
                "gold",
                1,
                "stack",
                {"all": [cond("level", "equal_to", "gold")]},
                ("add_bonus_rate", {"percent": "0.25"}),
            ),
            make_rule(
                "app",
                -1,
                "stack",
                {"all": [cond("channel", "equal_to", "web")]},
                ("add_bonus_rate", {"percent": "0.25"}),
                ("set_fixed_per_line", {"amount": 7}),
            ),
        ]
    }
    validate_ruleset(doc, 3)
    pricing = price_line(doc, make_facts(line_paid_amount=1001))
    # 1001 * 10.5 % = 105.105 -> 105; + 7 fixed. (Per-rule rounding would give 100 + 3 + 3 + 7.)
    assert pricing.amount == 112
    assert pricing.rate == Decimal("10.50")
    assert pricing.fixed == 7
    assert [(e["rule"], e["effect"], e["rate"], e["fixed"]) for e in pricing.explanation] == [
        ("gold", "stacked", "0.25", 0),
        ("base", "base", "10", 0),
        ("app", "stacked", "0.25", 7),
    ]


def test_stack_rule_without_base_pays_on_top_of_zero(make_rule, make_facts):
    doc = {
        "rules": [
            make_rule("tier1", 0, "replace", tier_is(1), ("set_rate", {"percent": "10"})),
            make_rule(
                "tea-bonus",
                0,
                "stack",
                {"all": [cond("category", "equal_to", "tea")]},
                ("add_bonus_rate", {"percent": "1"}),
            ),
        ]
    }
    pricing = price_line(doc, make_facts(tier=3, line_paid_amount=10000))
    assert pricing.amount == 100
    assert pricing.explanation == [entry("tea-bonus", 0, "stack", "stacked", "1")]


def test_exclude_wins_over_everything(layered, make_rule, make_facts):
    layered["rules"].append(
        make_rule(
            "no-gift-cards", -100, "stack", {"all": [cond("sku", "starts_with", "p1-")]}, ("exclude", {})
        )
    )
    validate_ruleset(layered, 3)
    pricing = price_line(layered, make_facts(line_paid_amount=10000))
    assert pricing.amount == 0
    assert pricing.rate == Decimal(0)
    assert pricing.fixed == 0
    assert pricing.explanation == [
        entry("product-p1", 20, "replace", "shadowed", "12"),
        entry("category-tea", 10, "replace", "shadowed", "8"),
        entry("tier1-default", 0, "replace", "shadowed", "10"),
        entry("no-gift-cards", -100, "stack", "excluded"),
    ]
    # A line it does not match is priced normally.
    assert price_line(layered, make_facts(sku=None, line_paid_amount=10000)).amount == 1200


def test_exclude_without_params_key(make_rule, make_facts):
    doc = {
        "rules": [
            make_rule("tier1", 0, "replace", tier_is(1), ("set_rate", {"percent": "10"})),
            {
                "id": "off",
                "priority": 0,
                "mode": "replace",
                "conditions": tier_is(1),
                "actions": [{"name": "exclude"}],
            },
        ]
    }
    validate_ruleset(doc, 1)
    pricing = price_line(doc, make_facts())
    assert pricing.amount == 0
    effects = [(e["rule"], e["effect"]) for e in pricing.explanation]
    assert effects == [("tier1", "shadowed"), ("off", "excluded")]


def test_fixed_per_unit_times_quantity_plus_rate(make_rule, make_facts):
    doc = {
        "rules": [
            make_rule(
                "per-unit",
                0,
                "replace",
                tier_is(1),
                ("set_rate", {"percent": "5"}),
                ("set_fixed_per_unit", {"amount": "300"}),
            )
        ]
    }
    validate_ruleset(doc, 1)
    pricing = price_line(doc, make_facts(quantity=3, line_paid_amount=10000))
    assert pricing.amount == 500 + 900
    assert pricing.fixed == 900
    assert pricing.explanation == [entry("per-unit", 0, "replace", "base", "5", 900)]


def test_fixed_per_line_ignores_quantity(make_rule, make_facts):
    doc = {
        "rules": [make_rule("per-line", 0, "replace", tier_is(1), ("set_fixed_per_line", {"amount": 250}))]
    }
    pricing = price_line(doc, make_facts(quantity=4, line_paid_amount=10000))
    assert (pricing.amount, pricing.rate, pricing.fixed) == (250, Decimal(0), 250)


def test_cap_at_line_amount_is_recorded(make_rule, make_facts):
    doc = {
        "rules": [make_rule("per-unit", 0, "replace", tier_is(1), ("set_fixed_per_unit", {"amount": 5000}))]
    }
    pricing = price_line(doc, make_facts(quantity=3, line_paid_amount=10000))
    assert pricing.amount == 10000
    assert pricing.fixed == 15000
    assert pricing.explanation == [
        entry("per-unit", 0, "replace", "base", "0", 15000),
        {
            "rule": None,
            "priority": None,
            "mode": None,
            "effect": "capped",
            "rate": "0",
            "fixed": 15000,
            "uncapped": 15000,
            "amount": 10000,
        },
    ]


def test_cap_when_rates_stack_past_100_percent(make_rule, make_facts):
    doc = {
        "rules": [
            make_rule("all-of-it", 0, "replace", tier_is(1), ("set_rate", {"percent": "100"})),
            make_rule("more", 0, "stack", tier_is(1), ("add_bonus_rate", {"percent": "10"})),
        ]
    }
    validate_ruleset(doc, 1)
    pricing = price_line(doc, make_facts(line_paid_amount=999))
    assert pricing.amount == 999
    assert pricing.rate == Decimal("110")
    assert pricing.explanation[-1] == {
        "rule": None,
        "priority": None,
        "mode": None,
        "effect": "capped",
        "rate": "110",
        "fixed": 0,
        "uncapped": 1099,
        "amount": 999,
    }


def test_zero_line_amount_caps_fixed_to_zero(make_rule, make_facts):
    doc = {"rules": [make_rule("per-line", 0, "replace", tier_is(1), ("set_fixed_per_line", {"amount": 1}))]}
    pricing = price_line(doc, make_facts(line_paid_amount=0))
    assert pricing.amount == 0
    assert pricing.explanation[-1]["effect"] == "capped"


@pytest.fixture
def nested(make_rule):
    """Tier 1 AND (category tea OR (channel app AND quantity >= 2))."""
    conditions = {
        "all": [
            cond("tier", "equal_to", 1),
            {
                "any": [
                    cond("category", "equal_to", "tea"),
                    {
                        "all": [
                            cond("channel", "equal_to", "app"),
                            cond("quantity", "greater_than_or_equal_to", 2),
                        ]
                    },
                ]
            },
        ]
    }
    doc = {"rules": [make_rule("nested", 0, "replace", conditions, ("set_rate", {"percent": "10"}))]}
    validate_ruleset(doc, 2)
    return doc


@pytest.mark.parametrize(
    ("overrides", "amount"),
    [
        ({"category": "tea"}, 1000),
        ({"category": "tea", "channel": "app", "quantity": 1}, 1000),
        ({"category": "wine", "channel": "app", "quantity": 2}, 1000),
        ({"category": "wine", "channel": "app", "quantity": 1}, 0),
        ({"category": "wine", "channel": "web", "quantity": 5}, 0),
        ({"category": None, "channel": "app", "quantity": 2}, 1000),
        ({"tier": 2, "category": "tea"}, 0),
    ],
)
def test_nested_any_all(nested, make_facts, overrides, amount):
    assert price_line(nested, make_facts(line_paid_amount=10000, **overrides)).amount == amount


def test_time_variables_use_the_order_time_zone(make_rule, make_facts):
    doc = {
        "rules": [
            make_rule(
                "double-11",
                0,
                "replace",
                {
                    "all": [
                        cond("order_date", "equal_to", "2024-11-11"),
                        cond("order_hour", "less_than", 2),
                        cond("order_weekday", "equal_to", 0),
                    ]
                },
                ("set_rate", {"percent": "20"}),
            )
        ]
    }
    validate_ruleset(doc, 1)
    # 2024-11-11 01:30 in UTC+8 is a Monday; in UTC it is still Sunday the 10th.
    local = datetime(2024, 11, 11, 1, 30, tzinfo=CST)
    assert price_line(doc, make_facts(order_time=local)).amount == 2000
    utc = local.astimezone(UTC)
    assert price_line(doc, make_facts(order_time=utc)).amount == 0


def test_string_operators_on_missing_sku(make_rule, make_facts):
    doc = {
        "rules": [
            make_rule(
                "has-sku",
                0,
                "replace",
                {"all": [cond("sku", "non_empty", None)]},
                ("set_rate", {"percent": "1"}),
            )
        ]
    }
    validate_ruleset(doc, 1)
    assert price_line(doc, make_facts(sku="x", line_paid_amount=10000)).amount == 100
    assert price_line(doc, make_facts(sku=None, line_paid_amount=10000)).amount == 0


def test_amount_thresholds(make_rule, make_facts):
    doc = {
        "rules": [
            make_rule(
                "big-orders",
                0,
                "replace",
                {"all": [cond("order_paid_amount", "greater_than", 100000)]},
                ("set_rate", {"percent": "3"}),
            )
        ]
    }
    assert price_line(doc, make_facts(order_paid_amount=100001, line_paid_amount=10000)).amount == 300
    assert price_line(doc, make_facts(order_paid_amount=100000, line_paid_amount=10000)).amount == 0
