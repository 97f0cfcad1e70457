"""Rules in words, and the difference between two documents, as structured pieces.

An interface that shows a ruleset to people (the workbench's readable table, its diff page)
needs more than the JSON: the value of ``order_datetime_number`` is a moment, not the number
202611110000; ``>= a`` and ``< b`` on one variable is one slot; an ``any`` group of
``category equal_to ...`` is "category is one of ...". This module works that out from the
rules' own vocabulary (:data:`rules.variables.LINE_VARIABLES`, the actions' param parsers)
and returns plain data. It holds no wording: rules/ knows no language and no Flask, so the
caller phrases each piece in the reader's language.

Value kinds (:func:`value_kind`): ``number``, ``money`` (minor units of the shop's currency),
``datetime`` / ``date`` (decoded to :class:`datetime.datetime` / :class:`datetime.date`,
shop-local and naive), ``time`` (``"HH:MM"``), ``weekday`` (0 = Monday), ``text``, ``list``
(a tuple of strings) and ``boolean`` (no value).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from datetime import datetime

from .actions import PARAM_PARSERS
from .variables import LINE_VARIABLES

#: Numeric variables that hold amounts of money in minor units.
MONEY_VARIABLES = frozenset({"line_paid_amount", "order_paid_amount", "beneficiary_month_sales"})
#: Numeric variables that encode a moment, with the format their integers follow.
ENCODED_TIMES = {"order_datetime_number": ("datetime", "%Y%m%d%H%M"), "order_date_number": ("date", "%Y%m%d")}
#: Variables that read the order's paid time as a date or moment (phrased "the order was paid ...").
PAID_TIME_VARIABLES = frozenset(
    {"order_datetime_number", "order_date_number", "order_datetime", "order_date"}
)
#: Lower and upper bound operators of numeric variables.
LOWER = ("greater_than", "greater_than_or_equal_to")
UPPER = ("less_than", "less_than_or_equal_to")
#: The fields of a rule a diff compares, in the order it reports them.
RULE_FIELDS = ("priority", "mode", "conditions", "actions", "description")


def value_kind(name: str) -> str:
    """How a variable's values read and are typed in (see the module docstring); ``text`` if unknown."""
    if name in ENCODED_TIMES:
        return ENCODED_TIMES[name][0]
    if name in MONEY_VARIABLES:
        return "money"
    if name == "order_time_of_day":
        return "time"
    if name == "order_weekday":
        return "weekday"
    spec = LINE_VARIABLES.get(name)
    field_type = spec.field_type if spec else "string"
    return {"numeric": "number", "boolean": "boolean", "select_multiple": "list"}.get(field_type, "text")


def decode_value(name: str, value):
    """A condition's value as its kind reads it (a datetime for 202611110000); as written if it
    does not decode."""
    kind = value_kind(name)
    if isinstance(value, bool):
        return value
    if kind in ("datetime", "date") and isinstance(value, int):
        try:
            moment = datetime.strptime(str(value), ENCODED_TIMES[name][1])
        except ValueError:
            return value
        return moment if kind == "datetime" else moment.date()
    if kind == "time" and isinstance(value, int) and 0 <= value <= 2400 and value % 100 < 60:
        return f"{value // 100:02d}:{value % 100:02d}"
    if kind == "list" and isinstance(value, list):
        return tuple(str(item) for item in value)
    return value


@dataclasses.dataclass(frozen=True)
class Condition:
    """One condition: ``variable operator value`` (value decoded, None for no-input operators)."""

    variable: str
    operator: str
    value: object
    kind: str

    @property
    def paid_time(self) -> bool:
        return self.variable in PAID_TIME_VARIABLES


@dataclasses.dataclass(frozen=True)
class Between:
    """``variable >= low and variable < high`` (the half-open slot the docs recommend), merged."""

    variable: str
    low: object
    high: object
    kind: str

    @property
    def paid_time(self) -> bool:
        return self.variable in PAID_TIME_VARIABLES


@dataclasses.dataclass(frozen=True)
class OneOf:
    """An ``any`` group of ``variable equal_to v`` conditions on one variable: it is one of ``values``."""

    variable: str
    values: tuple
    kind: str


@dataclasses.dataclass(frozen=True)
class Group:
    """An ``all`` (every item) or ``any`` (at least one item) group."""

    join: str
    items: tuple


@dataclasses.dataclass(frozen=True)
class Action:
    """One action, params parsed: ``percent`` a Decimal, ``amount`` minor units (raw if unparsable)."""

    name: str
    params: dict


@dataclasses.dataclass(frozen=True)
class RuleSummary:
    """One rule, ready to be phrased. ``position`` is its index in the document."""

    position: int
    id: str
    priority: int
    mode: str
    description: str
    conditions: Group
    actions: tuple


def describe_conditions(node) -> Group:
    """A rule's ``conditions`` as a :class:`Group` of conditions, ranges, one-of lists and groups."""
    if not isinstance(node, dict):
        return Group("all", ())
    join = "any" if "any" in node else "all"
    items = [_describe_item(item) for item in node.get(join) or []]
    if join == "all":
        items = _merge_ranges(items)
    else:
        one_of = _one_of(items)
        if one_of is not None:
            return Group("all", (one_of,))
    return Group(join, tuple(items))


def _describe_item(item):
    if isinstance(item, dict) and ("all" in item or "any" in item):
        group = describe_conditions(item)
        return group.items[0] if len(group.items) == 1 else group
    item = item if isinstance(item, dict) else {}
    name = str(item.get("name", ""))
    return Condition(
        name, str(item.get("operator", "")), decode_value(name, item.get("value")), value_kind(name)
    )


def _merge_ranges(items: list) -> list:
    """Fold one ``>=`` and one ``<`` on one numeric variable of an ``all`` group into a :class:`Between`."""
    bounds: dict[str, dict[str, int]] = {}
    for index, item in enumerate(items):
        if isinstance(item, Condition) and item.operator in ("greater_than_or_equal_to", "less_than"):
            bounds.setdefault(item.variable, {}).setdefault(item.operator, index)
    merged, skip = list(items), set()
    for variable, found in bounds.items():
        if len(found) == 2:
            low, high = found["greater_than_or_equal_to"], found["less_than"]
            first = min(low, high)
            merged[first] = Between(variable, items[low].value, items[high].value, items[low].kind)
            skip.add(max(low, high))
    return [item for index, item in enumerate(merged) if index not in skip]


def _one_of(items: list) -> OneOf | None:
    if len(items) < 2 or not all(isinstance(i, Condition) and i.operator == "equal_to" for i in items):
        return None
    if len({i.variable for i in items}) != 1:
        return None
    return OneOf(items[0].variable, tuple(i.value for i in items), items[0].kind)


def describe_actions(actions) -> tuple[Action, ...]:
    """A rule's actions with their params parsed by the same parsers pricing uses."""
    described = []
    for action in actions if isinstance(actions, list) else []:
        action = action if isinstance(action, dict) else {}
        params = {}
        for key, raw in (action.get("params") or {}).items():
            try:
                params[key] = PARAM_PARSERS[key](raw) if key in PARAM_PARSERS else raw
            except ValueError:
                params[key] = raw
        described.append(Action(str(action.get("name", "")), params))
    return tuple(described)


def describe_rule(rule: dict, position: int = 0) -> RuleSummary:
    return RuleSummary(
        position,
        str(rule.get("id", "")),
        rule.get("priority", 0),
        str(rule.get("mode", "")),
        str(rule.get("description", "")),
        describe_conditions(rule.get("conditions")),
        describe_actions(rule.get("actions")),
    )


def describe(document: dict) -> list[RuleSummary]:
    """Every rule of a (valid) document, in the order they are evaluated: descending priority,
    document order among equals (``position`` keeps the document index)."""
    rules = [describe_rule(rule, index) for index, rule in enumerate(document.get("rules") or [])]
    return sorted(rules, key=lambda rule: -rule.priority if isinstance(rule.priority, int) else 0)


@dataclasses.dataclass(frozen=True)
class RuleChange:
    """A rule found in both documents (by id) whose ``fields`` differ (``position``: its place
    among equal-priority rules changed, which changes which one wins)."""

    id: str
    fields: tuple[str, ...]
    old: dict
    new: dict


@dataclasses.dataclass(frozen=True)
class RulesetDiff:
    """What changed from ``old`` to ``new``: rules by id, the document's own fields, the JSON lines."""

    added: tuple[dict, ...]
    removed: tuple[dict, ...]
    changed: tuple[RuleChange, ...]
    unchanged: int
    document_fields: tuple[str, ...]
    unified: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not (self.added or self.removed or self.changed or self.document_fields)


def diff_documents(old: dict, new: dict, old_label: str = "old", new_label: str = "new") -> RulesetDiff:
    """Compare two ruleset documents rule by rule (matched on ``id``) and line by line.

    Args:
        old: The earlier document.
        new: The later one.
        old_label: Name of ``old`` in the unified diff's header.
        new_label: Name of ``new`` in the unified diff's header.
    """
    old_rules = {r.get("id"): r for r in old.get("rules") or []}
    new_rules = {r.get("id"): r for r in new.get("rules") or []}
    common = [rule_id for rule_id in old_rules if rule_id in new_rules]
    old_rank = {rule_id: index for index, rule_id in enumerate(common)}
    new_rank = {rule_id: index for index, rule_id in enumerate(r for r in new_rules if r in old_rules)}
    changed, unchanged = [], 0
    for rule_id in common:
        before, after = old_rules[rule_id], new_rules[rule_id]
        fields = [f for f in RULE_FIELDS if before.get(f) != after.get(f)]
        if old_rank[rule_id] != new_rank[rule_id]:
            fields.append("position")
        if fields:
            changed.append(RuleChange(rule_id, tuple(fields), before, after))
        else:
            unchanged += 1
    unified = difflib.unified_diff(
        _lines(old), _lines(new), fromfile=old_label, tofile=new_label, lineterm="", n=3
    )
    return RulesetDiff(
        added=tuple(r for rule_id, r in new_rules.items() if rule_id not in old_rules),
        removed=tuple(r for rule_id, r in old_rules.items() if rule_id not in new_rules),
        changed=tuple(changed),
        unchanged=unchanged,
        document_fields=tuple(f for f in ("name", "description") if old.get(f) != new.get(f)),
        unified=tuple(unified),
    )


def _lines(document: dict) -> list[str]:
    return json.dumps(document, indent=2, ensure_ascii=False).splitlines()
