"""Compile a condition tree into a plain Python predicate over a vector of variable values.

Each operator mirrors ``business_rules/operators.py`` exactly, for the values our
facts can hold (validated ``LineFacts``/``RiskFacts``, validated documents):

* strings: ``value or ""`` is compared as is (``equal_to``, ``starts_with``,
  ``ends_with``, ``contains``, ``non_empty``), ``equal_to_case_insensitive`` compares
  ``str.lower()`` of both sides, ``matches_regex`` is a search (not a full match), run by
  RE2 (google-re2) so that no pattern can take more than linear time: validation refuses the
  few Python-only constructs RE2 cannot run (backreferences, lookaround);
* numbers: business-rules compares Decimals with an epsilon of 0.000001; for two
  integers that is exactly ``==``/``>``/``<`` (a non-zero integer difference is at least
  1), so integer facts take the integer path and Decimal facts the epsilon path;
* booleans: ``is_true``/``is_false``;
* select and select-multiple: element equality is case-insensitive between strings, so
  the fact's elements are kept as a set of lower-cased strings; ``shares_exactly_one``
  counts the condition's own elements (duplicates included), as business-rules does.

Leaves whose variable is known in advance (the tier, when rules are indexed by tier)
are folded to constants, and groups fold accordingly.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import re2
from business_rules.operators import NumericType

_EPSILON = NumericType.EPSILON
SELECT_TYPES = ("select", "select_multiple")
#: Longest regular expression a condition may carry.
MAX_REGEX_LENGTH = 1000
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to the caller, not to stderr


def compile_regex(pattern: str):
    """Compile ``pattern`` with RE2: matching takes linear time in the text, whatever the pattern.

    Raises:
        ValueError: the pattern is too long or uses what RE2 cannot run in linear time
            (backreferences, lookahead/lookbehind), or is not a regular expression.
    """
    if len(pattern) > MAX_REGEX_LENGTH:
        raise ValueError(f"a regular expression may be at most {MAX_REGEX_LENGTH} characters")
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(
            f"not a linear-time regular expression ({reason}); "
            "backreferences and lookaround are not supported"
        ) from None


Predicate = Callable[[list], bool]


def compile_conditions(node: dict, table: dict, slots: dict, known: dict | None = None, decimals=()):
    """Compile a validated ``conditions`` tree.

    Args:
        node: An ``all``/``any`` group or a leaf condition.
        table: Variable name -> (field_type name, value function).
        slots: Variable name -> index in the value vector; names are added as needed.
        known: Variable name -> the raw value it is known to have (folded to constants).
        decimals: Names of numeric variables that may hold a ``Decimal`` rather than an int.

    Returns:
        ``True`` or ``False`` when the tree is constant under ``known``, else a
        function of the value vector returning a bool.
    """
    known = known or {}
    if "all" in node or "any" in node:
        ((key, items),) = node.items()
        parts = [compile_conditions(item, table, slots, known, decimals) for item in items]
        return _all(parts) if key == "all" else _any(parts)
    name, operator, value = node["name"], node["operator"], node["value"]
    field_type = table[name][0]
    decimal = name in decimals
    if name in known:
        raw = known[name]
        return bool(_leaf(field_type, operator, value, 0, decimal)([normalize(field_type, raw)]))
    index = slots.setdefault(name, len(slots))
    return _leaf(field_type, operator, value, index, decimal)


def normalize(field_type: str, raw):
    """The value a compiled leaf reads for a variable: select values become lower-cased sets."""
    if field_type in SELECT_TYPES:
        return frozenset(map(str.lower, raw))
    return raw


def _all(parts: list):
    if any(part is False for part in parts):
        return False
    preds = [part for part in parts if part is not True]
    if not preds:
        return True
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda v: first(v) and second(v)
    preds = tuple(preds)

    def every(v):  # a plain loop: all() over a generator costs a frame per call
        for pred in preds:  # noqa: SIM110
            if not pred(v):
                return False
        return True

    return every


def _any(parts: list):
    if any(part is True for part in parts):
        return True
    preds = [part for part in parts if part is not False]
    if not preds:
        return False
    if len(preds) == 1:
        return preds[0]
    if len(preds) == 2:
        first, second = preds
        return lambda v: first(v) or second(v)
    preds = tuple(preds)

    def some(v):
        for pred in preds:  # noqa: SIM110
            if pred(v):
                return True
        return False

    return some


def _leaf(field_type: str, operator: str, value, i: int, decimal: bool) -> Predicate:
    if field_type == "numeric":
        return _decimal_leaf(operator, value, i) if decimal else _int_leaf(operator, value, i)
    return _LEAVES[field_type][operator](value, i)


def _int_leaf(operator: str, other: int, i: int) -> Predicate:
    if operator == "equal_to":
        return lambda v: v[i] == other
    if operator == "greater_than":
        return lambda v: v[i] > other
    if operator == "greater_than_or_equal_to":
        return lambda v: v[i] >= other
    if operator == "less_than":
        return lambda v: v[i] < other
    if operator == "less_than_or_equal_to":
        return lambda v: v[i] <= other
    raise ValueError(f"unknown numeric operator {operator!r}")


def _decimal_leaf(operator: str, other: int, i: int) -> Predicate:
    exact = _int_leaf(operator, other, i)
    o = Decimal(other)
    tests = {
        "equal_to": lambda x: abs(x - o) <= _EPSILON,
        "greater_than": lambda x: (x - o) > _EPSILON,
        "greater_than_or_equal_to": lambda x: (x - o) > _EPSILON or abs(x - o) <= _EPSILON,
        "less_than": lambda x: (o - x) > _EPSILON,
        "less_than_or_equal_to": lambda x: (o - x) > _EPSILON or abs(x - o) <= _EPSILON,
    }
    test = tests[operator]
    return lambda v: exact(v) if type(v[i]) is int else test(v[i])


def _string_leaves() -> dict:
    def regex(value, i):
        search = compile_regex(value).search
        return lambda v: search(v[i]) is not None

    def case_insensitive(value, i):
        lowered = value.lower()
        return lambda v: v[i].lower() == lowered

    return {
        "equal_to": lambda value, i: lambda v: v[i] == value,
        "equal_to_case_insensitive": case_insensitive,
        "starts_with": lambda value, i: lambda v: v[i].startswith(value),
        "ends_with": lambda value, i: lambda v: v[i].endswith(value),
        "contains": lambda value, i: lambda v: value in v[i],
        "matches_regex": regex,
        "non_empty": lambda value, i: lambda v: v[i] != "",
    }


def _select_multiple_leaves() -> dict:
    # The fact is a set of lower-cased strings (see ``normalize``); so is ``wanted``.
    def contains_all(value, i):
        wanted = frozenset(map(str.lower, value))
        return lambda v: wanted <= v[i]

    def is_contained_by(value, i):
        wanted = frozenset(map(str.lower, value))
        return lambda v: v[i] <= wanted

    def shares_at_least_one(value, i):
        wanted = frozenset(map(str.lower, value))
        return lambda v: not wanted.isdisjoint(v[i])

    def shares_exactly_one(value, i):
        wanted = tuple(map(str.lower, value))  # duplicates count, as in business-rules
        return lambda v: sum(1 for item in wanted if item in v[i]) == 1

    def shares_none(value, i):
        wanted = frozenset(map(str.lower, value))
        return lambda v: wanted.isdisjoint(v[i])

    return {
        "contains_all": contains_all,
        "is_contained_by": is_contained_by,
        "shares_at_least_one_element_with": shares_at_least_one,
        "shares_exactly_one_element_with": shares_exactly_one,
        "shares_no_elements_with": shares_none,
    }


def _select_leaves() -> dict:
    def contains(value, i):
        wanted = value.lower()
        return lambda v: wanted in v[i]

    def does_not_contain(value, i):
        wanted = value.lower()
        return lambda v: wanted not in v[i]

    return {"contains": contains, "does_not_contain": does_not_contain}


_LEAVES = {
    "string": _string_leaves(),
    "boolean": {
        "is_true": lambda value, i: lambda v: v[i] is True,
        "is_false": lambda value, i: lambda v: v[i] is False,
    },
    "select": _select_leaves(),
    "select_multiple": _select_multiple_leaves(),
}

#: field_type -> the operators this module compiles (checked against business-rules in tests).
COMPILED_OPERATORS = {
    "numeric": {
        "equal_to",
        "greater_than",
        "greater_than_or_equal_to",
        "less_than",
        "less_than_or_equal_to",
    },
    **{field_type: set(leaves) for field_type, leaves in _LEAVES.items()},
}
