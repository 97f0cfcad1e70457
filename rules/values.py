"""Parsing of the literal values a rule document carries, and the one rounding rule.

Documents are JSON, so a percent arrives as a decimal string (``"10"``, ``"2.5"``)
or an int, and an amount of minor units as an int or a string of digits. Floats
are refused everywhere: ``0.1`` is not exactly representable, and a commission
must never depend on binary rounding.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Context, Decimal

#: Most decimal places a percent may carry (``"12.3456"`` = 0.123456 of the amount).
PERCENT_PLACES = 4

_DECIMAL = re.compile(r"\d+(?:\.\d+)?")
_DIGITS = re.compile(r"\d+")
_HUNDRED = Decimal(100)
# Wide enough that amount * percent / 100 is exact before the final rounding.
_EXACT = Context(prec=80)


def parse_percent(value) -> Decimal:
    """Parse a percent param: a plain decimal string or an int, within 0..100.

    Args:
        value: The raw param value from the document.

    Returns:
        The percent as a Decimal (``Decimal("10")`` means 10 %).

    Raises:
        ValueError: ``value`` is a float, a bool, not a plain decimal, has more than
            ``PERCENT_PLACES`` decimals, or lies outside 0..100.
    """
    if isinstance(value, float):
        raise ValueError(f'floats are not allowed; write the percent as a decimal string, e.g. "{value}"')
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"percent must be a decimal string or an int, not {type(value).__name__}")
    if isinstance(value, int):
        percent = Decimal(value)
    else:
        if not _DECIMAL.fullmatch(value):
            raise ValueError(f'percent must be a plain decimal string like "10" or "2.5", not {value!r}')
        percent = Decimal(value)
        if -percent.as_tuple().exponent > PERCENT_PLACES:
            raise ValueError(f"percent {value!r} has more than {PERCENT_PLACES} decimal places")
    if not 0 <= percent <= _HUNDRED:
        raise ValueError(f"percent must be between 0 and 100, not {value!r}")
    return percent


def parse_amount(value) -> int:
    """Parse an amount param: non-negative integer minor units, as an int or a digit string.

    Args:
        value: The raw param value from the document.

    Returns:
        The amount in minor units.

    Raises:
        ValueError: ``value`` is a float, a bool, negative, or not a whole number.
    """
    if isinstance(value, float):
        raise ValueError("floats are not allowed; amounts are integer minor units (fen)")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"amount must be an int of minor units, not {type(value).__name__}")
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            if value.startswith("-"):
                raise ValueError(f"amount must not be negative, not {value!r}")
            raise ValueError(f"amount must be a whole number of minor units, not {value!r}")
        value = int(value)
    if value < 0:
        raise ValueError(f"amount must not be negative, not {value}")
    return value


def round_half_up(value: Decimal) -> int:
    """Round a Decimal to the nearest integer, halves away from zero.

    Raises:
        TypeError: ``value`` is a float.
    """
    if isinstance(value, float):
        raise TypeError("refusing a float")
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP, context=_EXACT))


def percent_of(amount: int, percent: Decimal) -> int:
    """``amount * percent / 100``, computed exactly, then rounded half up (away from zero) to minor units.

    Exact rational arithmetic on integers: the same result as the Decimal product
    quantized with ``ROUND_HALF_UP``, without depending on a Decimal context.

    Raises:
        TypeError: ``amount`` or ``percent`` is a float.
    """
    if isinstance(amount, float) or isinstance(percent, float):
        raise TypeError("refusing a float")
    numerator, denominator = percent.as_integer_ratio()
    product = amount * numerator
    whole = 100 * denominator
    quotient, remainder = divmod(abs(product), whole)
    if 2 * remainder >= whole:
        quotient += 1
    return -quotient if product < 0 else quotient


def format_percent(percent: Decimal) -> str:
    """Render a percent for explanations without exponent notation (``"10"``, ``"2.5"``)."""
    text = f"{percent:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"
