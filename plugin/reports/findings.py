"""What a month-end reconciliation check finds: its result line and its discrepancies.

Each check (``plugin.reports.reconcile``) returns one ``Check``: a name, a one-line ``detail``
(what was compared, and how it came out) and the discrepancies found, each with a stable
``kind`` for machines, a readable ``message``, the figures behind it (``data``) and, for the
ones that name many rows (the ceiling's worst orders), further readable ``lines``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from adapters.money import Money


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    message: str
    data: dict = field(default_factory=dict)
    lines: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {**self.data, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Check:
    name: str
    title: str
    detail: str
    discrepancies: tuple[Discrepancy, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.discrepancies

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "ok": self.ok,
            "detail": self.detail,
            "discrepancies": [found.as_dict() for found in self.discrepancies],
        }


def money(minor: int, currency: str) -> str:
    """``12345`` CNY as ``"123.45 CNY"``: how every amount reads in messages."""
    return str(Money(int(minor), currency))


def amount(minor: int, currency: str) -> str:
    """``12345`` CNY as ``"123.45"``: how amounts are written in the JSON figures (exact decimals)."""
    return str(Money(int(minor), currency).to_decimal())


def percent(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` as a percentage with two decimals (``"n/a"`` over zero)."""
    if not denominator:
        return "n/a"
    return f"{(Decimal(numerator) * 100 / Decimal(denominator)).quantize(Decimal('0.01'))}%"
