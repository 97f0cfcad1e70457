"""The seed scenarios in examples/rules/: each validates and prices sample orders to the fen."""

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from rules import RuleSetError, price_line, price_line_reference, validate_ruleset

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"
CST = timezone(timedelta(hours=8))

#: Example file -> the shop depths it is written for.
DEPTHS = {
    "referral_fission.json": (2, 3),
    "city_partner.json": (2, 3),
    "employee_distribution.json": (1, 2, 3),
    "double11_timeslot.json": (2, 3),
    "monthly_ladder.json": (1, 2, 3),
}


def load(name):
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def priced(doc, facts):
    """Price with the compiled evaluator, and check the business-rules reference agrees."""
    pricing = price_line(doc, facts)
    assert pricing == price_line_reference(doc, facts)
    return pricing


def effects(pricing):
    return [(entry["rule"], entry["effect"]) for entry in pricing.explanation]


@pytest.mark.parametrize(("name", "depths"), DEPTHS.items())
def test_example_validates_for_its_depths(name, depths):
    doc = load(name)
    for depth in depths:
        validate_ruleset(doc, depth)


def test_every_commission_example_is_covered():
    files = {path.name for path in EXAMPLES.glob("*.json")} - {"risk_default.json"}
    assert files == set(DEPTHS)


def test_referral_fission_is_8_and_3_percent(make_facts):
    doc = load("referral_fission.json")
    assert priced(doc, make_facts(tier=1, line_paid_amount=19900)).amount == 1592
    assert priced(doc, make_facts(tier=2, line_paid_amount=19900)).amount == 597
    # 12345 * 8 % = 987.6 -> 988; 12345 * 3 % = 370.35 -> 370 (half up, on the fen)
    assert priced(doc, make_facts(tier=1, line_paid_amount=12345)).amount == 988
    assert priced(doc, make_facts(tier=2, line_paid_amount=12345)).amount == 370
    assert priced(doc, make_facts(tier=3, line_paid_amount=12345)).amount == 0
    assert effects(priced(doc, make_facts(tier=2))) == [("tier2-3pct", "base")]


def test_referral_fission_needs_a_two_tier_shop():
    with pytest.raises(RuleSetError) as info:
        validate_ruleset(load("referral_fission.json"), 1)
    assert (info.value.rule_id, info.value.guard) == ("tier2-3pct", "tier_depth")


def test_city_partner_gets_regional_bonus_in_own_region(make_facts):
    doc = load("city_partner.json")
    partner = {"level": "city_partner", "beneficiary_region": "hangzhou", "line_paid_amount": 10000}
    tier1 = priced(doc, make_facts(tier=1, region="hangzhou", **partner))
    assert tier1.amount == 1000  # 8 % + 2 %
    assert tier1.rate == Decimal("10")
    assert tier1.caps == {"per_line": 5000}
    assert tier1.explanation == [
        {
            "rule": "city-partner-regional-bonus",
            "priority": 10,
            "mode": "stack",
            "effect": "stacked",
            "rate": "2",
            "fixed": 0,
            "caps": {"per_line": 5000},
        },
        {
            "rule": "tier1-default",
            "priority": 0,
            "mode": "replace",
            "effect": "base",
            "rate": "8",
            "fixed": 0,
        },
    ]
    assert priced(doc, make_facts(tier=2, region="hangzhou", **partner)).amount == 500  # 3 % + 2 %


def test_city_partner_outside_region_and_other_levels_get_the_tier_rate(make_facts):
    doc = load("city_partner.json")
    outside = priced(
        doc,
        make_facts(
            level="city_partner", region="ningbo", beneficiary_region="hangzhou", line_paid_amount=10000
        ),
    )
    assert (outside.amount, outside.caps) == (800, {})
    member = priced(doc, make_facts(level="gold", region="hangzhou", beneficiary_region="hangzhou"))
    assert member.amount == 800
    no_region = priced(doc, make_facts(level="city_partner", region="", beneficiary_region=""))
    assert no_region.amount == 800


def test_city_partner_line_cap(make_facts):
    doc = load("city_partner.json")
    facts = make_facts(level="city_partner", region="hz", beneficiary_region="hz", line_paid_amount=80000)
    pricing = priced(doc, facts)
    assert pricing.amount == 5000  # 10 % = 8000, capped per line
    assert pricing.explanation[-1] == {
        "rule": "city-partner-regional-bonus",
        "priority": 10,
        "mode": "stack",
        "effect": "capped_per_line",
        "cap": 5000,
        "already_paid": 0,
        "uncapped": 8000,
        "amount": 5000,
    }


def test_employee_distribution_pays_staff_5_percent(make_facts):
    doc = load("employee_distribution.json")
    pricing = priced(doc, make_facts(level="staff", category="tea", line_paid_amount=10000))
    assert pricing.amount == 500
    assert pricing.caps == {"per_month": 300000}
    assert priced(doc, make_facts(level="member", line_paid_amount=10000)).explanation == []
    assert priced(doc, make_facts(level="member", line_paid_amount=10000)).amount == 0


@pytest.mark.parametrize(
    ("category", "parents"),
    [("gift_cards", ()), ("supermarket-card", ("gift_cards",)), ("e-card", ("Gift_Cards", "cards"))],
)
def test_employee_distribution_excludes_the_gift_card_tree(make_facts, category, parents):
    doc = load("employee_distribution.json")
    facts = make_facts(level="staff", category=category, parent_categories=parents, line_paid_amount=10000)
    pricing = priced(doc, facts)
    assert pricing.amount == 0
    assert effects(pricing) == [("no-gift-cards", "excluded"), ("staff-5pct", "shadowed")]


def test_employee_distribution_monthly_cap(make_facts):
    doc = load("employee_distribution.json")
    near = priced(doc, make_facts(level="staff", line_paid_amount=10000, already_paid_this_month=299800))
    assert near.amount == 200
    assert near.explanation[-1] == {
        "rule": "staff-5pct",
        "priority": 10,
        "mode": "replace",
        "effect": "capped_per_month",
        "cap": 300000,
        "already_paid": 299800,
        "uncapped": 500,
        "amount": 200,
    }
    full = priced(doc, make_facts(level="staff", line_paid_amount=10000, already_paid_this_month=300000))
    assert full.amount == 0


@pytest.mark.parametrize(
    ("when", "tier", "amount"),
    [
        (datetime(2026, 11, 11, 0, 0, tzinfo=CST), 1, 1500),
        (datetime(2026, 11, 11, 1, 59, tzinfo=CST), 1, 1500),
        (datetime(2026, 11, 11, 2, 0, tzinfo=CST), 1, 1000),
        (datetime(2026, 11, 10, 23, 59, tzinfo=CST), 1, 1000),
        (datetime(2026, 11, 11, 1, 0, tzinfo=CST), 2, 500),
        (datetime(2027, 11, 11, 1, 0, tzinfo=CST), 1, 1000),
        # 01:30 in Beijing passed as UTC (17:30 the day before): facts must carry shop time
        (datetime(2026, 11, 10, 17, 30, tzinfo=UTC), 1, 1000),
    ],
)
def test_double11_timeslot(make_facts, when, tier, amount):
    doc = load("double11_timeslot.json")
    assert priced(doc, make_facts(tier=tier, order_time=when, line_paid_amount=10000)).amount == amount


def test_double11_slot_shadows_the_default(make_facts):
    doc = load("double11_timeslot.json")
    pricing = priced(doc, make_facts(order_time=datetime(2026, 11, 11, 0, 30, tzinfo=CST)))
    assert effects(pricing) == [("double11-first-two-hours", "base"), ("tier1-default", "shadowed")]


@pytest.mark.parametrize(
    ("month_sales", "line", "amount"),
    [(0, 10000, 500), (999999, 10000, 500), (1000000, 10000, 800), (5000000, 12345, 988)],
)
def test_monthly_ladder(make_facts, month_sales, line, amount):
    doc = load("monthly_ladder.json")
    assert (
        priced(doc, make_facts(beneficiary_month_sales=month_sales, line_paid_amount=line)).amount == amount
    )


def test_monthly_ladder_explains_which_step_paid(make_facts):
    doc = load("monthly_ladder.json")
    pricing = priced(doc, make_facts(beneficiary_month_sales=1000000))
    assert effects(pricing) == [("ladder-8pct-from-10000-yuan", "base"), ("tier1-5pct", "shadowed")]
