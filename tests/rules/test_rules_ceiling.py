"""The merchant's ceiling at validation (rates of all tiers on one line) and linear-time regexes."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from rules import RuleSetError, price_line, validate_ruleset
from rules.ceiling import max_rates

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"


def rule(rule_id, mode, action, percent, *conditions):
    return {
        "id": rule_id,
        "priority": 0,
        "mode": mode,
        "conditions": {
            "all": list(conditions) or [{"name": "quantity", "operator": "greater_than", "value": 0}]
        },
        "actions": [{"name": action, "params": {"percent": percent}}],
    }


def tier(n, operator="equal_to"):
    return {"name": "tier", "operator": operator, "value": n}


LADDER = {
    "rules": [
        rule("t1", "replace", "set_rate", "20", tier(1)),
        rule(
            "t1-gold",
            "replace",
            "set_rate",
            "25",
            tier(1),
            {"name": "level", "operator": "equal_to", "value": "gold"},
        ),
        rule("t2", "replace", "set_rate", "10", tier(2)),
        rule("weekend", "stack", "add_bonus_rate", "5"),
        rule("t2-bonus", "stack", "add_bonus_rate", "2", tier(2)),
    ]
}


def test_max_rates_take_the_largest_base_and_every_stack_that_can_match_the_tier():
    assert max_rates(LADDER, 2) == {
        1: (Decimal("30"), ("t1-gold", "weekend")),
        2: (Decimal("17"), ("t2", "weekend", "t2-bonus")),
    }


def test_a_ruleset_within_the_ceiling_passes_and_one_above_is_refused_naming_tiers_and_rules():
    validate_ruleset(LADDER, 2, Decimal(50))
    validate_ruleset(LADDER, 2, Decimal(47))
    with pytest.raises(RuleSetError) as info:
        validate_ruleset(LADDER, 2, Decimal("46.5"))
    assert info.value.guard == "commission_ceiling"
    assert info.value.field == "rules"
    assert info.value.rule_id == "t1-gold"
    assert info.value.message == (
        "rule 't1-gold': rules: the tiers' rates can add up to 47 % of a line "
        "(tier 1: 30 % (t1-gold + weekend); tier 2: 17 % (t2 + weekend + t2-bonus)), "
        "above the shop's ceiling of 46.5 %"
    )
    tier1_only = {"rules": [r for r in LADDER["rules"] if r["id"] not in ("t2", "t2-bonus")]}
    assert validate_ruleset(tier1_only, 1, Decimal(30)) is None  # a depth-1 shop pays tier 1 only


def test_excluded_or_fixed_only_rules_do_not_count():
    doc = {
        "rules": [
            rule("t1", "replace", "set_rate", "40", tier(1)),
            {
                "id": "fixed",
                "priority": 0,
                "mode": "stack",
                "conditions": {"all": [tier(1)]},
                "actions": [{"name": "set_fixed_per_line", "params": {"amount": 100000}}],
            },
            {
                "id": "gift",
                "priority": 9,
                "mode": "stack",
                "conditions": {"all": [tier(1)]},
                "actions": [{"name": "exclude"}],
            },
        ]
    }
    validate_ruleset(doc, 1, Decimal(40))


COMMISSION_EXAMPLES = sorted(p for p in EXAMPLES.glob("*.json") if not p.stem.startswith("risk"))


@pytest.mark.parametrize("path", COMMISSION_EXAMPLES, ids=lambda p: p.stem)
def test_every_commission_example_fits_the_default_ceiling(path):
    doc = json.loads(path.read_text())
    depth = 1 if "1 tier" in doc["description"] else 2
    validate_ruleset(doc, depth, Decimal(50))


def test_a_catastrophic_pattern_runs_in_linear_time(make_facts):
    """(a+)+$ backtracks exponentially in Python's re (minutes on 30 characters); RE2 cannot."""
    doc = {
        "rules": [
            {
                "id": "sku",
                "priority": 0,
                "mode": "replace",
                "conditions": {"all": [{"name": "sku", "operator": "matches_regex", "value": "(a+)+$"}]},
                "actions": [{"name": "set_rate", "params": {"percent": "10"}}],
            },
        ]
    }
    validate_ruleset(doc, 1)
    assert price_line(doc, make_facts(sku="a" * 40 + "!")).amount == 0
    assert price_line(doc, make_facts(sku="a" * 40)).amount == 1000
