"""Individual income tax withheld on commission payouts, by the shop's tax policy.

A policy answers one question: how much to withhold from a payout, given what the same person
was paid and had withheld earlier in the same month. Every amount is integer fen; nothing here
reads the database (the withdrawal flow sums the month and posts the result to
``tax_withheld``).

Policies (``POLICIES``, the shop's setting):

- ``off``: nothing is withheld (a shop outside China, or one that settles tax itself).
- ``labour_remuneration``: China's prepaid withholding on labour remuneration (劳务报酬预扣预缴),
  on the month's payouts to the same person, topped up payout by payout:
  income ≤ ¥4,000: taxable = income − ¥800 (not below 0); above: taxable = income × 80 %;
  taxable ≤ ¥20,000: 20 %; ≤ ¥50,000: 30 % − ¥2,000; above: 40 % − ¥7,000.
  Each payout withholds ``tax(month's income including it) − tax already withheld this month``,
  computed exactly and rounded half up to the fen once, so the payouts of a month always add
  up to the tax on its total, however it was split. The tax is continuous and never decreasing
  in the income (the quick deductions join the brackets), so a top-up is never negative, and its
  marginal rate is at most 32 %, so a top-up never exceeds its payout. CNY only.
- ``flexible_platform``: the commission is settled through a flexible-employment platform that
  files and withholds the tax itself: fenxiao withholds nothing and says so.

Other jurisdictions plug in as one more ``TaxPolicy`` in ``POLICIES``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from adapters.money import mul_div_half_up
from plugin.errors import InvalidSetting

LOW_INCOME_LIMIT = 400_000  # ¥4,000: up to here a flat ¥800 is deducted, above it 20 %
FLAT_DEDUCTION = 80_000  # ¥800
# (taxable up to, in fen; rate %; quick deduction in fen), the last without an upper bound
BRACKETS = ((2_000_000, 20, 0), (5_000_000, 30, 200_000), (None, 40, 700_000))


def labour_remuneration_tax(income: int) -> int:
    """The prepaid tax on one month's labour remuneration of ``income`` fen (rounded once)."""
    if isinstance(income, bool) or not isinstance(income, int) or income < 0:
        raise ValueError(f"income must be a non-negative whole number of fen, not {income!r}")
    if income <= LOW_INCOME_LIMIT:
        base, numerator, denominator = max(0, income - FLAT_DEDUCTION), 1, 1
    else:
        base, numerator, denominator = income, 4, 5  # taxable = income × 80 %, kept exact
    for limit, rate, quick in BRACKETS:
        if limit is None or base * numerator <= limit * denominator:
            return mul_div_half_up(base, numerator * rate, denominator * 100) - quick
    raise AssertionError("unreachable")  # pragma: no cover


class TaxPolicy(Protocol):
    name: str
    withholds: bool  # whether fenxiao withholds and reports the tax itself

    def due(self, paid_before: int, withheld_before: int, payout: int) -> int:
        """What to withhold from ``payout``, the person having been paid ``paid_before`` and had
        ``withheld_before`` withheld earlier this month (all fen)."""

    def check_currency(self, currency: str) -> None:
        """Raise ``InvalidSetting`` if a shop in ``currency`` cannot use this policy."""


@dataclass(frozen=True)
class NoWithholding:
    name: str
    reason: str
    withholds: bool = False

    def due(self, paid_before: int, withheld_before: int, payout: int) -> int:
        _check_amounts(paid_before, withheld_before, payout)
        return 0

    def check_currency(self, currency: str) -> None:
        return None


@dataclass(frozen=True)
class LabourRemuneration:
    name: str = "labour_remuneration"
    withholds: bool = True
    currency: str = "CNY"

    def due(self, paid_before: int, withheld_before: int, payout: int) -> int:
        _check_amounts(paid_before, withheld_before, payout)
        return max(0, labour_remuneration_tax(paid_before + payout) - withheld_before)

    def check_currency(self, currency: str) -> None:
        if currency != self.currency:
            raise InvalidSetting(
                f"China's labour-remuneration withholding is in CNY; this shop is in {currency}", "tax_policy"
            )


def _check_amounts(*amounts: int) -> None:
    for amount in amounts:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise ValueError(f"amounts are non-negative whole numbers of fen, not {amount!r}")


POLICIES: dict[str, TaxPolicy] = {
    "off": NoWithholding("off", "the shop withholds no tax on commissions"),
    "labour_remuneration": LabourRemuneration(),
    "flexible_platform": NoWithholding(
        "flexible_platform", "a flexible-employment platform settles the commission and withholds its tax"
    ),
}


def policy(name: str) -> TaxPolicy:
    """The policy called ``name`` (``InvalidSetting`` naming the known ones otherwise)."""
    try:
        return POLICIES[name]
    except (KeyError, TypeError):
        raise InvalidSetting(
            f"unknown tax policy {name!r}; known: {', '.join(sorted(POLICIES))}", "tax_policy"
        ) from None
