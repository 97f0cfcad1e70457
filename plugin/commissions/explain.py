"""A commission's stored explanation (``rules.pricing.Pricing.explanation``), read as steps.

The explanation lists every matching rule with its effect, then every limit that lowered the
amount (see ``rules/PRECEDENCE.md``). ``steps`` turns it into what a person reads, in order:
which rule set the base (and which one it replaced), what was added on top, what matched but
did not count, what excluded the line, and each cap with the amount before and after it.

Decisions:
    * The steps carry figures only (minor units, percent strings, rule ids); the words live
      with the workbench (``admin/templates/orders/_explain.html``), in both languages, so
      this module stays free of Flask and of any locale.
    * "Replaced": when a ``replace`` rule set the base and lower-priority ``replace`` rules
      also matched, the first of those (the one that would have set the base without it) is
      named as the base it replaced ("rule ``double11`` replaced base 10 % → 15 %") and not
      listed again; any further shadowed rules are listed as shadowed.
    * An entry of an effect this module does not know (a newer engine, hand-made data) becomes
      an ``unknown`` step naming the effect, never an error: the order page must always open.
"""

from __future__ import annotations

from dataclasses import dataclass

from rules import pricing

BASE = "base"
REPLACED = "replaced"  # a base that took the place of a lower-priority replace rule
STACKED = "stacked"
SHADOWED = "shadowed"  # matched, but a higher-priority replace rule set the base
SHADOWED_BY_EXCLUSION = "shadowed_by_exclusion"  # matched, but another rule excluded the line
EXCLUDED = "excluded"
CAPPED_AT_LINE_PAID = "capped_at_line_paid"
CAPPED_PER_LINE = "capped_per_line"
CAPPED_PER_ORDER = "capped_per_order"
CAPPED_PER_MONTH = "capped_per_month"
CAPPED_BY_CEILING = "capped_by_ceiling"
NOTHING_MATCHED = "nothing_matched"
UNKNOWN = "unknown"

KINDS = (
    BASE,
    REPLACED,
    STACKED,
    SHADOWED,
    SHADOWED_BY_EXCLUSION,
    EXCLUDED,
    CAPPED_AT_LINE_PAID,
    CAPPED_PER_LINE,
    CAPPED_PER_ORDER,
    CAPPED_PER_MONTH,
    CAPPED_BY_CEILING,
    NOTHING_MATCHED,
    UNKNOWN,
)
_CAPS = {
    pricing.CAPPED_PER_LINE: CAPPED_PER_LINE,
    pricing.CAPPED_PER_ORDER: CAPPED_PER_ORDER,
    pricing.CAPPED_PER_MONTH: CAPPED_PER_MONTH,
    pricing.CAPPED_BY_CEILING: CAPPED_BY_CEILING,
}


@dataclass(frozen=True)
class Contribution:
    """A rule's own rate (percent, as written: ``"12.5"``) and fixed amount (minor units)."""

    rate: str
    fixed: int

    @property
    def has_rate(self) -> bool:
        return _nonzero(self.rate)


@dataclass(frozen=True)
class Step:
    """One readable step of a commission's pricing.

    Attributes:
        kind: One of ``KINDS``.
        rule: The rule's id (None for the line's paid amount and the shop's ceiling).
        value: The rule's own contribution (rule steps).
        replaced_rule, replaced: The rule whose base this one replaced, and its contribution
            (``REPLACED`` only).
        cap, already_paid, before, after: A limit in minor units, what was already paid under
            it, and the amount before and after it (cap steps).
        effect: The stored effect (``UNKNOWN`` steps).
    """

    kind: str
    rule: str | None = None
    value: Contribution | None = None
    replaced_rule: str | None = None
    replaced: Contribution | None = None
    cap: int | None = None
    already_paid: int | None = None
    before: int | None = None
    after: int | None = None
    effect: str | None = None


def steps(explanation: list[dict] | None) -> list[Step]:
    """The steps of a stored explanation, in the order the pricing took them."""
    if not explanation:
        return [Step(NOTHING_MATCHED)]
    entries = [entry for entry in explanation if isinstance(entry, dict)]
    excluded = any(entry.get("effect") == pricing.EXCLUDED for entry in entries)
    replaced_index = _replaced_index(entries)
    result = []
    for index, entry in enumerate(entries):
        if index == replaced_index:
            continue
        effect = entry.get("effect")
        rule = entry.get("rule")
        if effect == pricing.BASE:
            if replaced_index is not None and index < replaced_index:
                other = entries[replaced_index]
                result.append(Step(REPLACED, rule, _value(entry), other.get("rule"), _value(other)))
            else:
                result.append(Step(BASE, rule, _value(entry)))
        elif effect == pricing.STACKED:
            result.append(Step(STACKED, rule, _value(entry)))
        elif effect == pricing.SHADOWED:
            result.append(Step(SHADOWED_BY_EXCLUSION if excluded else SHADOWED, rule, _value(entry)))
        elif effect == pricing.EXCLUDED:
            result.append(Step(EXCLUDED, rule))
        elif effect == pricing.CAPPED:
            result.append(Step(CAPPED_AT_LINE_PAID, before=entry.get("uncapped"), after=entry.get("amount")))
        elif effect in _CAPS:
            result.append(
                Step(
                    _CAPS[effect],
                    rule,
                    cap=entry.get("cap"),
                    already_paid=entry.get("already_paid") or 0,
                    before=entry.get("uncapped"),
                    after=entry.get("amount"),
                )
            )
        else:
            result.append(Step(UNKNOWN, rule, effect=str(effect)))
    return result


def _replaced_index(entries: list[dict]) -> int | None:
    """The position of the shadowed ``replace`` rule a base replaced (see the module's note)."""
    if any(entry.get("effect") == pricing.EXCLUDED for entry in entries):
        return None
    seen_base = False
    for index, entry in enumerate(entries):
        if entry.get("effect") == pricing.BASE:
            seen_base = True
        elif seen_base and entry.get("effect") == pricing.SHADOWED and entry.get("mode") == "replace":
            return index
    return None


def _value(entry: dict) -> Contribution:
    return Contribution(str(entry.get("rate") or "0"), int(entry.get("fixed") or 0))


def _nonzero(rate: str) -> bool:
    return rate.strip("0.") != ""
