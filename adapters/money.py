"""The ``Money`` value type: integer minor units plus an ISO-4217 currency.

Decimal strings from the platforms are converted here (and only in ``adapters/``);
everything downstream sees integer minor units. Arithmetic with ``float`` raises
``TypeError`` so a lossy value can never slip into a balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# Minor-unit exponents of the currencies whose exponent is not 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3}
# Largest decimal exponent ``parse`` accepts: "1e999999" would otherwise cost ~30 s of CPU.
_MAX_ADJUSTED = 30


def exponent(currency: str) -> int:
    """Number of decimal places of ``currency``'s minor unit (2 unless listed)."""
    return _EXPONENTS.get(currency, 2)


def _require_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int of minor units, not {type(value).__name__}")
    return value


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of ``currency`` in integer minor units (fen for CNY)."""

    minor: int
    currency: str

    def __post_init__(self):
        _require_int(self.minor, "Money.minor")
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isupper()):
            raise ValueError(f"not an ISO-4217 currency code: {self.currency!r}")

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text, currency: str) -> Money:
        """Convert a platform's decimal string (``"149.00"``) to Money.

        Raises:
            ValueError: ``text`` is not a decimal with at most the currency's places.
            TypeError: ``text`` is a float (lossy by construction).
        """
        if isinstance(text, float):
            raise TypeError("refusing a float amount; pass the decimal string")
        try:
            value = Decimal(str(text).strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal amount: {text!r}") from None
        if not value.is_finite():
            raise ValueError(f"not a finite amount: {text!r}")
        if value and abs(value.adjusted()) > _MAX_ADJUSTED:
            raise ValueError(f"amount out of range: {text!r}")
        scaled = value.scaleb(exponent(currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{text!r} has more decimal places than {currency} allows")
        return cls(int(scaled), currency)

    def to_decimal(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def __str__(self) -> str:
        return f"{self.to_decimal():.{exponent(self.currency)}f} {self.currency}"

    def _same(self, other) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __mul__(self, factor) -> Money:
        """Multiply by an ``int`` or a ``Decimal`` rate, rounding half up to the minor unit."""
        if isinstance(factor, float):
            raise TypeError("Money * float is lossy; use a Decimal rate")
        if isinstance(factor, bool) or not isinstance(factor, (int, Decimal)):
            raise TypeError(f"cannot multiply Money by {type(factor).__name__}")
        if isinstance(factor, Decimal) and not factor.is_finite():
            raise ValueError(f"not a finite rate: {factor}")
        numerator, denominator = factor.as_integer_ratio()
        return Money(mul_div_half_up(self.minor, numerator, denominator), self.currency)

    __rmul__ = __mul__

    def __truediv__(self, other):
        raise TypeError("divide Money with split() so the parts add up exactly")

    def split(self, weights) -> list[Money]:
        """Split into parts proportional to ``weights`` that add up exactly."""
        return [Money(part, self.currency) for part in split_largest_remainder(self.minor, weights)]


def round_half_up(value: Decimal) -> int:
    """Round a Decimal to the nearest integer, halves away from zero."""
    if isinstance(value, float):
        raise TypeError("refusing a float")
    return int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def mul_div_half_up(amount: int, numerator: int, denominator: int) -> int:
    """``amount × numerator / denominator`` rounded half away from zero, computed exactly.

    Integer arithmetic only: no Decimal context can cut the quotient short (28 digits would
    make ``103 × 65 / 1030`` = 6.4999… round to 6 instead of 7).

    Raises:
        ValueError: ``denominator`` is not positive.
    """
    amount = _require_int(amount, "amount")
    numerator = _require_int(numerator, "numerator")
    denominator = _require_int(denominator, "denominator")
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    product = amount * numerator
    quotient, remainder = divmod(abs(product), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    return -quotient if product < 0 else quotient


def split_largest_remainder(total: int, weights) -> list[int]:
    """Split integer ``total`` in proportion to non-negative integer ``weights``.

    Uses the largest-remainder (Hamilton) method: each part gets the floor of its exact
    share, and the units left over go to the largest fractional remainders (earlier
    parts win ties). The parts always add up to ``total`` exactly.

    Raises:
        ValueError: no weights, a negative weight, or all weights zero.
    """
    total = _require_int(total, "total")
    weights = [_require_int(w, "weight") for w in weights]
    if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
        raise ValueError("weights must be non-negative integers with a positive sum")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    whole = sum(weights)
    parts = [magnitude * w // whole for w in weights]
    remainders = [magnitude * w % whole for w in weights]
    leftover = magnitude - sum(parts)
    for index in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:leftover]:
        parts[index] += 1
    return [sign * p for p in parts]
