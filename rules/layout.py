"""How a compiled ruleset lays out its variables and indexes its rules.

* The **value vector**: the variables a ruleset reads are computed once per line, plain
  facts attributes first (one ``attrgetter`` call fetches them all), then derived ones
  (time encodings, lower-cased select sets).
* The **equality index**: a rule whose conditions require ``X equal_to "v"`` for a
  string variable ``X`` (a leaf of the top-level ``all``, or of an ``all`` nested in
  it), or ``category_tree contains "v"``, can only match lines where ``X`` is (or
  contains) ``"v"``. Each such rule is filed under one variable (the one most rules
  are keyed on: typically ``product_id``, then ``level``, ``channel``...) and its key;
  a line evaluates the rules filed under its own values plus the unfiled ones, and
  the matches are put back in evaluation order, so the result is unchanged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from operator import attrgetter

from .predicates import SELECT_TYPES, normalize


def variable_names(node: dict, names: dict) -> None:
    """Collect the variable names a conditions tree reads into ``names`` (an ordered dict used as a set)."""
    if "all" in node or "any" in node:
        for item in next(iter(node.values())):
            variable_names(item, names)
    else:
        names.setdefault(node["name"], None)


def vector_layout(
    trees: list[dict], table: dict, folded: tuple[str, ...] = ()
) -> tuple[tuple[str, ...], dict[str, int], Callable]:
    """Lay out the value vector for a ruleset's condition trees.

    Args:
        trees: The rules' ``conditions``.
        table: Variable name -> :class:`rules.vocabulary.VariableSpec`.
        folded: Variables always folded to constants at compile time (left out).

    Returns:
        ``(names, slots, values)``: the variable names in vector order, name -> index,
        and ``values(facts)`` returning the vector (a new list) for one facts object.
    """
    seen: dict[str, None] = {}
    for tree in trees:
        variable_names(tree, seen)
    for name in folded:
        seen.pop(name, None)
    plain = [name for name in seen if table[name].attribute and table[name].field_type not in SELECT_TYPES]
    derived = [name for name in seen if name not in plain]
    names = (*plain, *derived)
    derived_getters = tuple(_getter(table[name]) for name in derived)
    return names, {name: i for i, name in enumerate(names)}, _vector(plain, derived_getters, table)


def _getter(spec) -> Callable:
    if spec.field_type in SELECT_TYPES:
        value, field_type = spec.value, spec.field_type
        return lambda facts: normalize(field_type, value(facts))
    return spec.value


def _vector(plain: list[str], derived: tuple, table: dict) -> Callable:
    if not plain:
        return lambda facts: [get(facts) for get in derived]
    get_plain = attrgetter(*(table[name].attribute for name in plain))
    if len(plain) == 1:
        if not derived:
            return lambda facts: [get_plain(facts)]
        return lambda facts: [get_plain(facts), *[get(facts) for get in derived]]
    if not derived:
        return lambda facts: list(get_plain(facts))
    return lambda facts: [*get_plain(facts), *[get(facts) for get in derived]]


def rule_keys(conditions: dict, table: dict) -> dict[str, str]:
    """The index keys a rule requires, from the mandatory leaves of its conditions.

    Returns:
        Variable name -> key: for a string variable, the value of its first mandatory
        ``equal_to``; for a select variable, the lower-cased value of its first
        mandatory ``contains``.
    """
    keys: dict[str, str] = {}
    if "all" in conditions:
        _mandatory(conditions["all"], table, keys)
    return keys


def _mandatory(items: list, table: dict, keys: dict) -> None:
    for item in items:
        if "all" in item:
            _mandatory(item["all"], table, keys)
        elif "any" not in item:
            field_type = table[item["name"]].field_type
            if field_type == "string" and item["operator"] == "equal_to":
                keys.setdefault(item["name"], item["value"])
            elif field_type == "select" and item["operator"] == "contains":
                keys.setdefault(item["name"], item["value"].lower())


def file_rules(keys: list[dict[str, str]]) -> list[tuple[str, str] | None]:
    """File each rule under one index: ``(variable, key)``, or None for the rules checked on every line.

    Index variables are those at least two rules are keyed on, ranked by how many
    (ties by name); a rule keyed on several is filed under the best ranked one.
    """
    counts = Counter(name for key in keys for name in key)
    ranked = sorted((name for name, count in counts.items() if count >= 2), key=lambda n: (-counts[n], n))
    filed = []
    for key in keys:
        name = next((n for n in ranked if n in key), None)
        filed.append(None if name is None else (name, key[name]))
    return filed
