"""Property tests: the amount is the independently computed half-up percentage, within bounds."""

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given
from hypothesis import strategies as st

from rules import price_line, validate_ruleset

amounts = st.integers(min_value=0, max_value=10**12)
# Percents 0.00 .. 100.00 with up to two decimals, as the decimal strings a document holds.
percents = st.integers(min_value=0, max_value=10000).map(lambda cents: f"{cents // 100}.{cents % 100:02d}")


def one_rule(percent, mode="replace", action="set_rate"):
    return {
        "rules": [
            {
                "id": "r",
                "priority": 0,
                "mode": mode,
                "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
                "actions": [{"name": action, "params": {"percent": percent}}],
            }
        ]
    }


def expected(amount, percent):
    exact = Decimal(amount) * Decimal(percent) / Decimal(100)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@given(amount=amounts, percent=percents)
def test_amount_is_round_half_up_of_the_rate(make_facts, amount, percent):
    doc = one_rule(percent)
    validate_ruleset(doc, 1)
    pricing = price_line(doc, make_facts(line_paid_amount=amount, order_paid_amount=amount))
    assert pricing.amount == expected(amount, percent)
    assert 0 <= pricing.amount <= amount
    assert pricing.rate == Decimal(percent)


@given(
    amount=amounts, base=percents, bonus=percents, per_unit=st.integers(0, 10**6), quantity=st.integers(0, 50)
)
def test_stacked_amount_is_bounded(make_facts, amount, base, bonus, per_unit, quantity):
    doc = one_rule(base)
    doc["rules"].append(
        {
            "id": "bonus",
            "priority": 1,
            "mode": "stack",
            "conditions": {"any": [{"name": "quantity", "operator": "greater_than_or_equal_to", "value": 0}]},
            "actions": [
                {"name": "add_bonus_rate", "params": {"percent": bonus}},
                {"name": "set_fixed_per_unit", "params": {"amount": per_unit}},
            ],
        }
    )
    validate_ruleset(doc, 1)
    facts = make_facts(line_paid_amount=amount, order_paid_amount=amount, quantity=quantity)
    pricing = price_line(doc, facts)
    uncapped = expected(amount, Decimal(base) + Decimal(bonus)) + per_unit * quantity
    assert pricing.amount == min(uncapped, amount)
    assert 0 <= pricing.amount <= amount
    assert (pricing.explanation[-1]["effect"] == "capped") == (uncapped > amount)
