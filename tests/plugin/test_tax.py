"""Tax withheld on payouts: China's labour-remuneration prepaid withholding, topped up per payout."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.errors import InvalidSetting
from plugin.tax.withholding import POLICIES, labour_remuneration_tax, policy

YUAN = 100
labour = policy("labour_remuneration")


def reference(income_fen: int) -> int:
    """The rule as the tax bureau writes it, in Decimal yuan, rounded to the fen once."""
    income = Decimal(income_fen) / 100
    taxable = max(Decimal(0), income - 800) if income <= 4000 else income * Decimal("0.8")
    if taxable <= 20000:
        tax = taxable * Decimal("0.2")
    elif taxable <= 50000:
        tax = taxable * Decimal("0.3") - 2000
    else:
        tax = taxable * Decimal("0.4") - 7000
    return int((tax * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("income", "tax"),
    [
        (0, 0),
        (800 * YUAN, 0),  # the flat ¥800 deduction
        (3000 * YUAN, 440 * YUAN),  # (3000 − 800) × 20 %
        (4000 * YUAN, 640 * YUAN),  # the last income with the flat deduction
        (4000 * YUAN + 1, 64000),  # 4000.01 × 80 % × 20 % = 640.0016: ¥640.00
        (10000 * YUAN, 1600 * YUAN),  # 8000 × 20 %
        (25000 * YUAN, 4000 * YUAN),  # taxable exactly ¥20,000: still 20 %
        (30000 * YUAN, 5200 * YUAN),  # 24000 × 30 % − 2000
        (62500 * YUAN, 13000 * YUAN),  # taxable exactly ¥50,000: 30 % − 2000
        (70000 * YUAN, 15400 * YUAN),  # 56000 × 40 % − 7000
        (4321_37, 691_42),  # 4321.37 × 0.8 × 0.2 = 691.4192
    ],
)
def test_the_rule_on_worked_examples(income, tax):
    assert labour_remuneration_tax(income) == tax == reference(income)


@given(st.integers(min_value=0, max_value=10**10))
def test_integer_arithmetic_matches_the_rule_as_written(income):
    assert labour_remuneration_tax(income) == reference(income)


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=10**9))
def test_the_tax_never_falls_as_income_grows_and_takes_at_most_32_percent_at_the_margin(a, b):
    low, high = sorted((a, b))
    assert labour_remuneration_tax(low) <= labour_remuneration_tax(high)
    assert labour_remuneration_tax(high) - labour_remuneration_tax(low) <= (high - low) * 32 // 100 + 1


@given(st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=12))
def test_top_ups_over_a_month_add_up_to_the_tax_on_its_total(payouts):
    paid = withheld = 0
    for payout in payouts:
        due = labour.due(paid, withheld, payout)
        assert 0 <= due <= payout  # a payout is never taxed beyond itself
        paid, withheld = paid + payout, withheld + due
    assert withheld == labour_remuneration_tax(sum(payouts))


def test_a_second_payout_in_the_month_is_topped_up():
    first = labour.due(0, 0, 3000 * YUAN)
    assert first == 440 * YUAN
    assert labour.due(3000 * YUAN, first, 2000 * YUAN) == 360 * YUAN  # ¥5,000 → ¥800 in all


@pytest.mark.parametrize("name", ["off", "flexible_platform"])
def test_policies_that_withhold_nothing_say_why(name):
    chosen = policy(name)
    assert chosen.due(10**8, 0, 10**8) == 0 and chosen.withholds is False and chosen.reason


def test_the_labour_policy_is_for_cny_shops_only():
    labour.check_currency("CNY")
    with pytest.raises(InvalidSetting, match="CNY"):
        labour.check_currency("USD")
    POLICIES["off"].check_currency("USD")


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100", None])
def test_amounts_are_whole_fen(bad):
    with pytest.raises(ValueError):
        labour.due(0, 0, bad)
    with pytest.raises(ValueError):
        labour_remuneration_tax(bad)


def test_an_unknown_policy_names_the_known_ones():
    with pytest.raises(InvalidSetting, match="flexible_platform, labour_remuneration, off"):
        policy("vat")
