"""What-if replay: re-price historical order lines under a draft and compare with what was paid.

Pure and streaming: :func:`simulate` reads an iterable of historical lines once, keeps
only running totals per group (tier, level, category, ... — bounded by the number of
distinct keys, not of lines) and writes nothing. The caller feeds it from the
database (one item per order line and paid tier) and shows progress.

Order and month caps and the line ceiling depend on what was paid before a line, so each
item's facts carry what was *actually* paid before it (``already_paid_this_order``,
``already_paid_this_month``, ``already_paid_this_line``), as it was when the line was priced.
A draft that pays differently would have left different figures, so :func:`replay` keeps
the draft's own deviation (simulated minus actual) of every earlier item in the replay — per
beneficiary and shop-local month, per beneficiary and order, and per order line across tiers —
and adds it to those figures. Replaying the rules that priced the history therefore gives back
exactly what was paid. Items must come in the order they were priced, with their
``beneficiary``, ``order`` and ``line`` keys (items without them are priced on their facts alone).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import NamedTuple

from .compiled import CompiledRuleSet, compile_ruleset
from .facts import LineFacts
from .pricing import Pricing


class HistoricalLine(NamedTuple):
    """One order line, for one paid tier, as it was priced.

    Attributes:
        facts: The line's facts, as they were when it was priced.
        actual_amount: The commission actually accrued for it (0 if none).
        beneficiary: Who earned it (any hashable id); keys the month and order deviations.
        order: The order's id; keys the order and line deviations.
        line: The line's id within the order; keys the line (ceiling) deviation.
    """

    facts: LineFacts
    actual_amount: int
    beneficiary: Hashable | None = None
    order: Hashable | None = None
    line: Hashable | None = None


#: Default grouping: per tier, per distributor level, per product category.
DEFAULT_GROUPS: Mapping[str, Callable[[LineFacts], Hashable]] = {
    "tier": lambda facts: facts.tier,
    "level": lambda facts: facts.level,
    "category": lambda facts: facts.category or "",
}


class Totals:
    """Running totals of one group (or of the whole replay), in minor units."""

    __slots__ = ("lines", "actual", "simulated", "changed")

    def __init__(self):
        self.lines = self.actual = self.simulated = self.changed = 0

    def add(self, actual: int, simulated: int) -> None:
        self.lines += 1
        self.actual += actual
        self.simulated += simulated
        if actual != simulated:
            self.changed += 1

    @property
    def difference(self) -> int:
        """Simulated minus actual: positive means the draft pays more."""
        return self.simulated - self.actual

    def to_dict(self) -> dict:
        return {
            "lines": self.lines,
            "actual": self.actual,
            "simulated": self.simulated,
            "difference": self.difference,
            "changed": self.changed,
        }


@dataclasses.dataclass
class SimulationReport:
    """The outcome of a replay.

    Attributes:
        fingerprint: The draft's :func:`rules.ruleset_fingerprint`.
        total: Totals over every line.
        groups: Group name -> group key -> :class:`Totals`.
    """

    fingerprint: str
    total: Totals = dataclasses.field(default_factory=Totals)
    groups: dict[str, dict[Hashable, Totals]] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready: the totals and, per group, one row per key (keys sorted)."""
        return {
            "fingerprint": self.fingerprint,
            **self.total.to_dict(),
            "groups": {
                name: [
                    {"key": key, **totals.to_dict()} for key, totals in sorted(rows.items(), key=_key_order)
                ]
                for name, rows in self.groups.items()
            },
        }

    def format_table(self, decimals: int = 2) -> str:
        """A plain-text table (amounts in major units with ``decimals`` places) for a CLI."""
        header = ("group", "key", "lines", "changed", "actual", "simulated", "difference")
        rows = [("all", "", *self._cells(self.total, decimals))]
        for name, group in self.groups.items():
            rows += [
                (name, str(key), *self._cells(t, decimals))
                for key, t in sorted(group.items(), key=_key_order)
            ]
        widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
        lines = [
            " | ".join(
                str(cell).ljust(w) if i < 2 else str(cell).rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
            for row in (header, *rows)
        ]
        return "\n".join(lines)

    @staticmethod
    def _cells(totals: Totals, decimals: int) -> tuple:
        money = [format_minor(x, decimals) for x in (totals.actual, totals.simulated, totals.difference)]
        return (totals.lines, totals.changed, *money)


def _key_order(item):
    return (str(type(item[0])), str(item[0]))


def format_minor(amount: int, decimals: int = 2) -> str:
    """Render minor units as a major-unit decimal string without floats (``-1234`` -> ``"-12.34"``)."""
    sign = "-" if amount < 0 else ""
    major, minor = divmod(abs(amount), 10**decimals)
    return f"{sign}{major}.{minor:0{decimals}d}" if decimals else f"{sign}{major}"


def replay(
    compiled: CompiledRuleSet, lines: Iterable, explain: bool = False
) -> Iterator[tuple[LineFacts, int, Pricing]]:
    """Re-price historical lines lazily, one ``(facts, actual_amount, pricing)`` per item.

    Args:
        compiled: The draft, compiled.
        lines: :class:`HistoricalLine` items or plain ``(facts, actual_amount)`` pairs, in the
            order they were priced.
        explain: Fill ``pricing.explanation`` (off by default: replays only need amounts).

    Yields:
        The facts the draft was priced on (the actual figures plus the draft's deviation),
        the actual amount and the draft's pricing.
    """
    deviation = _Deviation(bool(compiled.cap_kinds & {"per_order", "per_month"}))
    for item in lines:
        facts, actual = item[0], item[1]
        keys = tuple(item[2:5]) if len(item) > 2 else ()
        facts = deviation.apply(facts, keys)
        pricing = compiled.price(facts, explain)
        deviation.record(facts, keys, pricing.amount - actual)
        yield facts, actual, pricing


class _Deviation:
    """How much more (or less) the draft paid than the history, by what each figure counts."""

    def __init__(self, tracks_caps: bool):
        self.tracks_caps = tracks_caps
        self.month: dict[tuple, int] = {}
        self.order: dict[tuple, int] = {}
        self.line: dict[tuple, int] = {}

    @staticmethod
    def _month(facts: LineFacts, beneficiary) -> tuple:
        return beneficiary, facts.order_time.year, facts.order_time.month

    def apply(self, facts: LineFacts, keys: tuple) -> LineFacts:
        beneficiary, order, line = (*keys, None, None, None)[:3]
        changes = {}
        if self.tracks_caps and beneficiary is not None:
            month = self.month.get(self._month(facts, beneficiary), 0)
            this_order = self.order.get((beneficiary, order), 0) if order is not None else 0
            if month or this_order:
                changes["already_paid_this_month"] = max(facts.already_paid_this_month + month, 0)
                changes["already_paid_this_order"] = max(facts.already_paid_this_order + this_order, 0)
        if facts.line_ceiling is not None and order is not None and line is not None:
            other_tiers = self.line.get((order, line), 0)
            if other_tiers:
                changes["already_paid_this_line"] = max(facts.already_paid_this_line + other_tiers, 0)
        return dataclasses.replace(facts, **changes) if changes else facts

    def record(self, facts: LineFacts, keys: tuple, difference: int) -> None:
        if not difference:
            return
        beneficiary, order, line = (*keys, None, None, None)[:3]
        if self.tracks_caps and beneficiary is not None:
            month = self._month(facts, beneficiary)
            self.month[month] = self.month.get(month, 0) + difference
            if order is not None:
                self.order[beneficiary, order] = self.order.get((beneficiary, order), 0) + difference
        if facts.line_ceiling is not None and order is not None and line is not None:
            self.line[order, line] = self.line.get((order, line), 0) + difference


def simulate(
    draft: dict | CompiledRuleSet,
    lines: Iterable,
    *,
    group_by: Mapping[str, Callable[[LineFacts], Hashable]] = DEFAULT_GROUPS,
    progress: Callable[[int], None] | None = None,
    progress_every: int = 10_000,
) -> SimulationReport:
    """Re-price historical lines under a draft and total the differences per group.

    Args:
        draft: A validated ruleset document, or one already compiled.
        lines: :class:`HistoricalLine` items or ``(facts, actual_amount)`` pairs, read once.
        group_by: Group name -> function of the facts giving the group key.
        progress: Called with the number of lines done, every ``progress_every`` lines
            and once at the end.
        progress_every: How often ``progress`` is called.

    Returns:
        The :class:`SimulationReport`. Nothing is written anywhere.
    """
    compiled = draft if isinstance(draft, CompiledRuleSet) else compile_ruleset(draft)
    report = SimulationReport(compiled.fingerprint)
    groups = [(report.groups.setdefault(name, {}), key_of) for name, key_of in group_by.items()]
    total = report.total
    done = 0
    for facts, actual, pricing in replay(compiled, lines):
        simulated = pricing.amount
        total.add(actual, simulated)
        for rows, key_of in groups:
            key = key_of(facts)
            totals = rows.get(key)
            if totals is None:
                totals = rows[key] = Totals()
            totals.add(actual, simulated)
        done += 1
        if progress is not None and done % progress_every == 0:
            progress(done)
    if progress is not None:
        progress(done)
    return report
