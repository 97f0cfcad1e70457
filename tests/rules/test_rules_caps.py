"""Caps per line, per order and per beneficiary per month."""

from decimal import Decimal

import pytest

from rules import price_line, price_line_reference, validate_ruleset


def tier_is(tier):
    return {"all": [{"name": "tier", "operator": "equal_to", "value": tier}]}


def rule(rule_id, priority, mode, *actions, conditions=None):
    return {
        "id": rule_id,
        "priority": priority,
        "mode": mode,
        "conditions": conditions or tier_is(1),
        "actions": [{"name": name, "params": params} for name, params in actions],
    }


def priced(doc, facts):
    validate_ruleset(doc, 3)
    pricing = price_line(doc, facts)
    assert pricing == price_line_reference(doc, facts)
    return pricing


def cap_entry(rule_id, priority, mode, effect, cap, already_paid, uncapped, amount):
    return {
        "rule": rule_id,
        "priority": priority,
        "mode": mode,
        "effect": effect,
        "cap": cap,
        "already_paid": already_paid,
        "uncapped": uncapped,
        "amount": amount,
    }


def test_cap_per_line(make_facts):
    doc = {
        "rules": [rule("r", 0, "replace", ("set_rate", {"percent": "10"}), ("cap_per_line", {"amount": 300}))]
    }
    pricing = priced(doc, make_facts(line_paid_amount=10000))
    assert (pricing.amount, pricing.rate, pricing.caps) == (300, Decimal("10"), {"per_line": 300})
    assert pricing.explanation == [
        {
            "rule": "r",
            "priority": 0,
            "mode": "replace",
            "effect": "base",
            "rate": "10",
            "fixed": 0,
            "caps": {"per_line": 300},
        },
        cap_entry("r", 0, "replace", "capped_per_line", 300, 0, 1000, 300),
    ]
    # Under the cap nothing is added to the explanation, but the cap is still reported.
    small = priced(doc, make_facts(line_paid_amount=2000))
    assert (small.amount, small.caps, len(small.explanation)) == (200, {"per_line": 300}, 1)


@pytest.mark.parametrize(("already", "amount"), [(0, 1000), (4500, 500), (5000, 0), (9000, 0)])
def test_cap_per_order_counts_the_other_lines(make_facts, already, amount):
    doc = {
        "rules": [
            rule("r", 0, "replace", ("set_rate", {"percent": "10"}), ("cap_per_order", {"amount": 5000}))
        ]
    }
    pricing = priced(doc, make_facts(line_paid_amount=10000, already_paid_this_order=already))
    assert pricing.amount == amount
    assert pricing.caps == {"per_order": 5000}
    if amount < 1000:
        assert pricing.explanation[-1] == cap_entry(
            "r", 0, "replace", "capped_per_order", 5000, already, 1000, amount
        )


def test_cap_per_month_counts_the_month_so_far(make_facts):
    doc = {
        "rules": [
            rule("base", 0, "replace", ("set_rate", {"percent": "10"})),
            rule("monthly", 0, "stack", ("cap_per_month", {"amount": 100000})),
        ]
    }
    assert priced(doc, make_facts(line_paid_amount=10000, already_paid_this_month=99500)).amount == 500
    assert priced(doc, make_facts(line_paid_amount=10000, already_paid_this_month=99000)).amount == 1000


def test_caps_apply_in_order_line_amount_first(make_facts):
    doc = {
        "rules": [
            rule(
                "r",
                0,
                "replace",
                ("set_fixed_per_line", {"amount": 20000}),
                ("cap_per_line", {"amount": 9000}),
                ("cap_per_order", {"amount": 8000}),
                ("cap_per_month", {"amount": 7000}),
            )
        ]
    }
    pricing = priced(
        doc, make_facts(line_paid_amount=10000, already_paid_this_order=500, already_paid_this_month=1000)
    )
    assert pricing.amount == 6000
    assert [(e["effect"], e.get("uncapped"), e.get("amount")) for e in pricing.explanation[1:]] == [
        ("capped", 20000, 10000),
        ("capped_per_line", 10000, 9000),
        ("capped_per_order", 9000, 7500),
        ("capped_per_month", 7500, 6000),
    ]


def test_smallest_cap_of_counting_rules_wins_and_shadowed_caps_do_not_apply(make_facts):
    doc = {
        "rules": [
            rule(
                "product", 20, "replace", ("set_rate", {"percent": "10"}), ("cap_per_line", {"amount": 800})
            ),
            rule(
                "bonus-a",
                10,
                "stack",
                ("add_bonus_rate", {"percent": "1"}),
                ("cap_per_line", {"amount": 600}),
            ),
            rule("bonus-b", 5, "stack", ("cap_per_line", {"amount": 600})),
            rule("default", 0, "replace", ("set_rate", {"percent": "5"}), ("cap_per_line", {"amount": 100})),
        ]
    }
    pricing = priced(doc, make_facts(line_paid_amount=10000))
    assert pricing.amount == 600
    assert pricing.caps == {"per_line": 600}
    assert pricing.explanation[-1]["rule"] == "bonus-a"  # the first rule with the smallest limit
    assert pricing.explanation[3]["effect"] == "shadowed"  # "default" and its 100 cap do not count


def test_excluded_line_reports_no_caps(make_facts):
    doc = {
        "rules": [
            rule("r", 0, "replace", ("set_rate", {"percent": "10"}), ("cap_per_line", {"amount": 300})),
            rule("off", 0, "stack", ("exclude", {})),
        ]
    }
    pricing = priced(doc, make_facts())
    assert (pricing.amount, pricing.caps) == (0, {})


def test_the_line_ceiling_bounds_all_tiers_together(make_facts, make_rule):
    doc = {
        "rules": [
            make_rule(
                "all",
                0,
                "replace",
                {"all": [{"name": "tier", "operator": "greater_than", "value": 0}]},
                ("set_rate", {"percent": "40"}),
            )
        ]
    }
    validate_ruleset(doc, 3)
    first = price_line(doc, make_facts(tier=1, line_ceiling=5000))
    assert (first.amount, first.explanation[-1]["effect"]) == (4000, "base")
    second = price_line(doc, make_facts(tier=2, line_ceiling=5000, already_paid_this_line=4000))
    assert second.amount == 1000
    assert second.explanation[-1] == {
        "rule": None,
        "priority": None,
        "mode": None,
        "effect": "capped_by_ceiling",
        "cap": 5000,
        "already_paid": 4000,
        "uncapped": 4000,
        "amount": 1000,
    }
    third = price_line(doc, make_facts(tier=3, line_ceiling=5000, already_paid_this_line=5000))
    assert third.amount == 0
    assert price_line(doc, make_facts(tier=3, line_ceiling=None, already_paid_this_line=5000)).amount == 4000
