"""The compiled commission evaluator: a ruleset turned once into plain Python callables.

:func:`compile_ruleset` sorts the rules by precedence, compiles each condition tree
into a predicate (see :mod:`rules.predicates`) once per tier, with the tier folded in,
so a tier-2 line never looks at a rule that only pays tier 1, and parses every action
param once. Rules that require ``X equal_to "v"`` are filed under ``v`` (see
:mod:`rules.layout`), so a line only runs the predicates of rules that can match it.
Pricing a line computes the variables the ruleset uses once, runs those predicates,
and hands the matching rules, in evaluation order, to :func:`rules.pricing.combine`,
the same combination step the business-rules reference uses.

Compiled rulesets are cached: :func:`compile_cached` by a caller's version key (a
published version never changes), :func:`compiled_for` by the document's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from decimal import Decimal
from itertools import compress, repeat
from operator import attrgetter, call

from .actions import CAP_ACTIONS
from .facts import MAX_TIERS
from .layout import file_rules, rule_keys, vector_layout
from .predicates import compile_conditions
from .pricing import Contribution, Pricing, combine, contribution_of
from .values import parse_amount, parse_percent
from .variables import LINE_VARIABLES

#: How many compiled rulesets each cache keeps (least recently used go first).
CACHE_SIZE = 64


def ruleset_fingerprint(doc) -> str:
    """A stable SHA-256 of a document's JSON (keys sorted), e.g. to record with a version.

    Two documents with the same content have the same fingerprint, whatever their key order.
    """
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def ordered_rules(doc: dict) -> list[dict]:
    """The document's rules in evaluation order: descending priority, ties in document order."""
    return sorted(doc["rules"], key=lambda rule: -rule["priority"])


class _Rule:
    """One compiled rule: its position in evaluation order and its pre-parsed contribution."""

    __slots__ = ("contribution", "per_unit", "fixed_per_line", "position")

    def __init__(self, rule: dict, position: int):
        self.position = position
        rate = 0
        fixed_per_line = per_unit = 0
        excluded = False
        caps = {}
        for action in rule["actions"]:
            name, params = action["name"], action.get("params") or {}
            if name in ("set_rate", "add_bonus_rate"):
                rate = parse_percent(params["percent"])
            elif name == "set_fixed_per_line":
                fixed_per_line = parse_amount(params["amount"])
            elif name == "set_fixed_per_unit":
                per_unit = parse_amount(params["amount"])
            elif name == "exclude":
                excluded = True
            else:
                caps[CAP_ACTIONS[name]] = parse_amount(params["amount"])
        self.per_unit = per_unit
        self.fixed_per_line = fixed_per_line
        self.contribution = contribution_of(rule, Decimal(0) + rate, fixed_per_line, excluded, caps or None)

    def contribute(self, quantity: int) -> Contribution:
        if not self.per_unit:
            return self.contribution
        return self.contribution._replace(fixed=self.per_unit * quantity + self.fixed_per_line)


class CompiledRuleSet:
    """A commission ruleset compiled for fast pricing. Immutable; safe to share between threads.

    Attributes:
        fingerprint: :func:`ruleset_fingerprint` of the compiled document.
        variables: Names of the variables the ruleset's conditions read.
        cap_kinds: The cap kinds (``per_line``, ``per_order``, ``per_month``) any rule sets.
        indexes: The variables rules are filed under (see :mod:`rules.layout`).
    """

    def __init__(self, doc: dict, fingerprint: str | None = None):
        self.fingerprint = fingerprint or ruleset_fingerprint(doc)
        ordered = ordered_rules(doc)
        compiled_rules = [_Rule(rule, position) for position, rule in enumerate(ordered)]
        self.cap_kinds = frozenset(kind for rule in compiled_rules for kind in rule.contribution.caps or ())
        self.variables, slots, self.values = vector_layout(
            [rule["conditions"] for rule in ordered], LINE_VARIABLES, folded=("tier",)
        )
        filed = file_rules([rule_keys(rule["conditions"], LINE_VARIABLES) for rule in ordered])
        self.indexes = tuple(dict.fromkeys(entry[0] for entry in filed if entry))
        self._plans = (
            None,
            *(self._plan(tier, ordered, compiled_rules, filed, slots) for tier in range(1, MAX_TIERS + 1)),
        )

    def _plan(self, tier: int, ordered: list, compiled_rules: list, filed: list, slots: dict) -> tuple:
        """For one tier: the rules checked on every line, and per index variable, key -> rules.

        Each group of rules is a pair ``(predicates, rules)`` in evaluation order.
        """
        always: list[tuple] = []
        buckets: dict[str, dict[str, list]] = {name: {} for name in self.indexes}
        for rule, compiled, entry in zip(ordered, compiled_rules, filed, strict=True):
            known = {"tier": tier}
            if entry and LINE_VARIABLES[entry[0]].field_type == "string":
                known[entry[0]] = entry[1]
            predicate = compile_conditions(rule["conditions"], LINE_VARIABLES, slots, known)
            if predicate is False:
                continue
            item = (_always if predicate is True else predicate, compiled)
            if entry is None:
                always.append(item)
            else:
                buckets[entry[0]].setdefault(entry[1], []).append(item)
        indexes = tuple(
            (
                slots[name],
                LINE_VARIABLES[name].field_type != "string",
                {key: _group(items) for key, items in buckets[name].items()},
            )
            for name in self.indexes
        )
        return _group(always), indexes

    def matching(self, facts) -> list[Contribution]:
        """The contributions of the rules matching a line, in evaluation order."""
        v = self.values(facts)
        (predicates, rules), indexes = self._plans[facts.tier]
        found = list(compress(rules, map(call, predicates, repeat(v))))
        merged = False
        for slot, multiple, buckets in indexes:
            for key in v[slot] if multiple else (v[slot],):
                bucket = buckets.get(key)
                if bucket is not None:
                    merged = True
                    predicates, rules = bucket
                    found.extend(compress(rules, map(call, predicates, repeat(v))))
        if merged:
            found.sort(key=_POSITION)
        quantity = facts.quantity
        return [rule.contribution if not rule.per_unit else rule.contribute(quantity) for rule in found]

    def price(self, facts, explain: bool = True) -> Pricing:
        """Price one line for one beneficiary; same result as :func:`rules.price_line_reference`.

        Args:
            facts: The line and the beneficiary.
            explain: False leaves ``Pricing.explanation`` empty (faster; for replays).
        """
        return combine(self.matching(facts), facts, explain)


def _always(v) -> bool:
    return True


def _group(items: list[tuple]) -> tuple[tuple, tuple]:
    return tuple(predicate for predicate, _ in items), tuple(rule for _, rule in items)


_POSITION = attrgetter("position")


def compile_ruleset(doc: dict) -> CompiledRuleSet:
    """Compile a validated commission ruleset (not re-validated; an invalid one may raise anything)."""
    return CompiledRuleSet(doc)


class LRUCache:
    """A small thread-safe least-recently-used cache of built values."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get_or_build(self, key, build):
        with self.lock:
            found = self.items.get(key)
            if found is not None:
                self.items.move_to_end(key)
                return found
        built = build()
        with self.lock:
            self.items[key] = built
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return built

    def clear(self):
        with self.lock:
            self.items.clear()


_BY_VERSION = LRUCache(CACHE_SIZE)
_BY_FINGERPRINT = LRUCache(CACHE_SIZE)


def compile_cached(version_key: Hashable, doc: dict) -> CompiledRuleSet:
    """The compiled ruleset for a published version, compiled on first use.

    Args:
        version_key: Identifies an immutable document, e.g. ``(shop_id, version)``. The
            caller guarantees the same key always comes with the same document.
        doc: The version's (validated) document; only read on a cache miss.
    """
    return _BY_VERSION.get_or_build(("version", version_key), lambda: CompiledRuleSet(doc))


def compiled_for(doc: dict) -> CompiledRuleSet:
    """The compiled ruleset for any document, cached by its :func:`ruleset_fingerprint`.

    Costs one JSON serialization and hash of the document per call; use
    :func:`compile_cached` when a version key is at hand.
    """
    fingerprint = ruleset_fingerprint(doc)
    return _BY_FINGERPRINT.get_or_build(fingerprint, lambda: CompiledRuleSet(doc, fingerprint))


def clear_caches() -> None:
    """Forget every compiled ruleset (for tests and after a deploy that changes the engine)."""
    _BY_VERSION.clear()
    _BY_FINGERPRINT.clear()
