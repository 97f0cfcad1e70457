from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.money import Money, exponent, mul_div_half_up, round_half_up, split_largest_remainder


def test_parse_decimal_strings_to_minor_units():
    assert Money.parse("149.00", "CNY") == Money(14900, "CNY")
    assert Money.parse(" 0.5 ", "CNY") == Money(50, "CNY")
    assert Money.parse("398", "CNY") == Money(39800, "CNY")
    assert Money.parse("1500", "JPY") == Money(1500, "JPY")
    assert Money.parse("1.234", "KWD") == Money(1234, "KWD")


@pytest.mark.parametrize(
    "text", ["abc", "", "1.001", "NaN", "Infinity", "1e999990", "1e10000000", "1e-10000000"]
)
def test_parse_rejects_non_amounts_with_value_error(text):
    with pytest.raises(ValueError):
        Money.parse(text, "CNY")


def test_parse_rejects_float():
    with pytest.raises(TypeError):
        Money.parse(149.0, "CNY")


def test_parse_rejects_more_places_than_currency_allows():
    with pytest.raises(ValueError, match="more decimal places"):
        Money.parse("1.5", "JPY")


def test_constructor_requires_int_minor_and_iso_currency():
    with pytest.raises(TypeError):
        Money(1.0, "CNY")
    with pytest.raises(TypeError):
        Money(True, "CNY")
    with pytest.raises(ValueError):
        Money(1, "cny")


def test_str_uses_currency_exponent():
    assert str(Money(39800, "CNY")) == "398.00 CNY"
    assert str(Money(-5, "CNY")) == "-0.05 CNY"
    assert str(Money(1500, "JPY")) == "1500 JPY"
    assert str(Money(1234, "KWD")) == "1.234 KWD"
    assert exponent("CNY") == 2


def test_add_sub_neg_compare():
    assert Money(14900, "CNY") + Money(10000, "CNY") == Money(24900, "CNY")
    assert Money(14900, "CNY") - Money(20000, "CNY") == Money(-5100, "CNY")
    assert -Money(1, "CNY") == Money(-1, "CNY")
    assert Money(1, "CNY") < Money(2, "CNY")
    assert Money(2, "CNY") <= Money(2, "CNY")


def test_combining_currencies_or_numbers_fails():
    with pytest.raises(ValueError):
        Money(1, "CNY") + Money(1, "USD")
    with pytest.raises(TypeError):
        Money(1, "CNY") + 1
    with pytest.raises(TypeError):
        Money(1, "CNY") + 1.0
    with pytest.raises(TypeError):
        Money(1, "CNY") < 1.0


def test_multiply_by_int_and_decimal_rounds_half_up():
    assert Money(14900, "CNY") * 2 == Money(29800, "CNY")
    assert 3 * Money(5, "CNY") == Money(15, "CNY")
    assert Money(39800, "CNY") * Decimal("0.05") == Money(1990, "CNY")
    assert Money(5, "CNY") * Decimal("0.5") == Money(3, "CNY")
    assert Money(-5, "CNY") * Decimal("0.5") == Money(-3, "CNY")


@pytest.mark.parametrize("factor", [0.5, 1.0, True, "2", Fraction(1, 2)])
def test_multiply_by_float_or_other_types_raises(factor):
    with pytest.raises(TypeError):
        Money(100, "CNY") * factor
    with pytest.raises(TypeError):
        factor * Money(100, "CNY")


def test_division_is_refused():
    with pytest.raises(TypeError):
        Money(100, "CNY") / 3


def test_round_half_up_refuses_float():
    assert round_half_up(Decimal("2.5")) == 3
    assert round_half_up(Decimal("-2.5")) == -3
    with pytest.raises(TypeError):
        round_half_up(2.5)


def test_split_examples():
    assert split_largest_remainder(100, [1, 1, 1]) == [34, 33, 33]
    assert split_largest_remainder(-100, [1, 1, 1]) == [-34, -33, -33]
    assert split_largest_remainder(39800, [29800, 10000]) == [29800, 10000]
    assert Money(10, "CNY").split([1, 0, 1]) == [Money(5, "CNY"), Money(0, "CNY"), Money(5, "CNY")]


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1]])
def test_split_rejects_bad_weights(weights):
    with pytest.raises(ValueError):
        split_largest_remainder(10, weights)


def test_split_rejects_float_total_and_weights():
    with pytest.raises(TypeError):
        split_largest_remainder(10.0, [1])
    with pytest.raises(TypeError):
        split_largest_remainder(10, [1.0])


@given(
    total=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=30).filter(any),
)
def test_split_property(total, weights):
    parts = split_largest_remainder(total, weights)
    assert len(parts) == len(weights)
    assert sum(parts) == total
    whole = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert abs(Fraction(part) - Fraction(total * weight, whole)) < 1
        if weight == 0:
            assert part == 0


def test_mul_div_half_up_is_exact_where_decimal_division_is_not():
    # 103 x 65 / 1030 is exactly 6.5; Decimal(65) / Decimal(1030) * 103 gives 6.4999... -> 6
    assert mul_div_half_up(103, 65, 1030) == 7
    assert mul_div_half_up(-103, 65, 1030) == -7
    assert mul_div_half_up(10, 1, 4) == 3 and mul_div_half_up(10, 1, 3) == 3
    with pytest.raises(ValueError):
        mul_div_half_up(1, 1, 0)
    with pytest.raises(TypeError):
        mul_div_half_up(1.0, 1, 2)


@given(
    amount=st.integers(min_value=-(10**15), max_value=10**15),
    numerator=st.integers(min_value=0, max_value=10**15),
    denominator=st.integers(min_value=1, max_value=10**15),
)
def test_mul_div_half_up_matches_fraction_rounding(amount, numerator, denominator):
    exact = Fraction(amount * numerator, denominator)
    magnitude = abs(exact)
    expected = int(magnitude) + (1 if magnitude - int(magnitude) >= Fraction(1, 2) else 0)
    assert mul_div_half_up(amount, numerator, denominator) == (expected if exact >= 0 else -expected)


def test_money_times_a_long_decimal_rate_is_exact():
    # 3 x 0.16666...6333 = 0.49999...99 (just under a half): a 28-digit product rounds it up to 0.5 -> 1
    rate = Decimal("0.1666666666666666666666666666666333")
    assert Money(3, "CNY") * rate == Money(0, "CNY")
    assert Money(3, "CNY") * Decimal("0.5") == Money(2, "CNY")
