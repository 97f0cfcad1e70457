"""What-if replay: re-price historical order lines under a draft and compare with what was paid.

Pure and streaming: :func:`simulate` reads an iterable of historical lines once, keeps
only running totals per group (tier, level, category, ... — bounded by the number of
distinct keys, not of lines) and writes nothing. The caller feeds it from the
database (one item per order line and paid tier) and shows progress.

Order and month caps depend on what the draft itself would have paid earlier, so when
the draft has ``cap_per_order``/``cap_per_month`` rules and the items carry a
``beneficiary`` (and ``order``) key, :func:`simulate` keeps each beneficiary's running
simulated totals and passes them as ``already_paid_this_order``/``already_paid_this_month``
(the month total starts from the facts' own ``already_paid_this_month`` at the
beneficiary's first line of that month in the replay, i.e. what was really paid before
the replay window). Items must then come in time order.
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
        beneficiary: Who earned it (any hashable id); needed only for order/month caps.
        order: The order's id; needed only for order caps.
    """

    facts: LineFacts
    actual_amount: int
    beneficiary: Hashable | None = None
    order: Hashable | None = None


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
        lines: :class:`HistoricalLine` items or plain ``(facts, actual_amount)`` pairs.
        explain: Fill ``pricing.explanation`` (off by default: replays only need amounts).
    """
    track = bool(compiled.cap_kinds & {"per_order", "per_month"})
    state: dict[Hashable, list] = {}
    for item in lines:
        facts, actual = item[0], item[1]
        beneficiary = item[2] if len(item) > 2 else None
        if track and beneficiary is not None:
            order = item[3] if len(item) > 3 else None
            facts, running = _with_running_totals(
                facts, order, state.setdefault(beneficiary, [None, 0, None, 0])
            )
            pricing = compiled.price(facts, explain)
            running[1] += pricing.amount
            running[3] += pricing.amount
        else:
            pricing = compiled.price(facts, explain)
        yield facts, actual, pricing


def _with_running_totals(facts: LineFacts, order, running: list) -> tuple[LineFacts, list]:
    month = (facts.order_time.year, facts.order_time.month)
    if running[2] != month:
        running[2], running[3] = month, facts.already_paid_this_month
    if order is None or running[0] != order:
        running[0], running[1] = order, 0
    facts = dataclasses.replace(facts, already_paid_this_order=running[1], already_paid_this_month=running[3])
    return facts, running


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
