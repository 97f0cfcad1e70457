"""The Commission Rules forms: the draft (its JSON, a simulation period, a reason to publish), a
roll-back reason, and the editor's view of a draft (rule blocks, condition and action rows, the
value each input shows, and where a validation error belongs).

The draft travels in the form: there is no draft table. The ``document`` textarea is what the
server reads; the rule blocks are rendered from it (and marked where validation failed), and
``admin/static/rules-editor.js`` turns them into a live editor that writes the textarea on every
change. Without JavaScript the textarea alone edits the draft.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

import rules
from rules.actions import ACTION_MODES
from rules.describe import decode_value, value_kind

#: Longest simulation period, in days: a replay runs inside the request.
MAX_SIMULATION_DAYS = 366


class DraftForm(FlaskForm):
    document = TextAreaField(_l("Rules as JSON"), validators=[DataRequired()])
    start = DateField(_l("Orders paid from"), validators=[Optional()])
    end = DateField(_l("up to and including"), validators=[Optional()])
    note = StringField(_l("Reason for publishing"), validators=[Length(max=500)])

    parsed: object = None

    def validate_document(self, field) -> None:
        try:
            self.parsed = json.loads(field.data)
        except ValueError as err:
            raise ValidationError(_l("This is not valid JSON: %(problem)s", problem=str(err))) from None


class RollbackForm(FlaskForm):
    reason = StringField(_l("Reason for rolling back"), validators=[DataRequired(), Length(max=500)])


class DiffForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing


@dataclasses.dataclass
class Problem:
    """A validation error placed in the editor: the rule (index), the row and the input it names."""

    message: str
    rule: int | None = None
    row: str | None = None  # "condition" or "action"
    row_index: int | None = None
    input: str | None = (
        None  # id, priority, mode, description, join, variable, operator, value, name, <param>
    )


@dataclasses.dataclass
class ConditionRow:
    variable: str
    operator: str
    value: str
    kind: str  # the input: number, money, datetime, date, time, weekday, text, list, boolean
    invalid: str | None = None


@dataclasses.dataclass
class ActionRow:
    name: str
    params: dict
    invalid: str | None = None


@dataclasses.dataclass
class RuleBlock:
    id: str
    priority: str
    mode: str
    description: str
    join: str
    conditions: list
    actions: list
    nested: str | None = None  # the conditions JSON when the form cannot show them (nested groups)
    problem: Problem | None = None


_RULE_PATH = re.compile(r"rules\[(\d+)\](?:\.(.*))?")
_CONDITION_PATH = re.compile(r"conditions\.(?:all|any)\[(\d+)\](?:\.(name|operator|value))?")
_ACTION_PATH = re.compile(r"actions\[(\d+)\](?:\.(name|params)(?:\.(\w+))?)?")
_CONDITION_INPUTS = {"name": "variable", "operator": "operator", "value": "value"}


def locate(error, document) -> Problem:
    """Where an error of ``rules.RuleSetError`` belongs in the editor (its rule, row and input)."""
    message = error.message
    prefix = (f"rule {error.rule_id!r}: " if error.rule_id is not None else "") + (
        f"{error.field}: " if error.field else ""
    )
    message = message.removeprefix(prefix) or message
    found = _RULE_PATH.fullmatch(error.field or "")
    if found is None:
        rule = _index_of(document, error.rule_id)
        return Problem(message, rule=rule)
    rule, rest = int(found.group(1)), found.group(2) or ""
    if rest in ("id", "priority", "mode", "description"):
        return Problem(message, rule, input=rest)
    if rest == "conditions":
        return Problem(message, rule, input="join")
    condition = _CONDITION_PATH.fullmatch(rest)
    if condition:
        where = _CONDITION_INPUTS.get(condition.group(2) or "name")
        return Problem(message, rule, "condition", int(condition.group(1)), where)
    action = _ACTION_PATH.fullmatch(rest)
    if action:
        where = action.group(3) or "name"
        return Problem(message, rule, "action", int(action.group(1)), where)
    return Problem(message, rule)


def _index_of(document, rule_id) -> int | None:
    if rule_id is None or not isinstance(document, dict):
        return None
    for index, rule in enumerate(document.get("rules") or []):
        if isinstance(rule, dict) and rule.get("id") == rule_id:
            return index
    return None


def blocks(document, problem: Problem | None = None) -> list[RuleBlock]:
    """The editor's rule blocks for a draft (whatever it holds: an invalid draft shows as far as it can)."""
    if not isinstance(document, dict) or not isinstance(document.get("rules"), list):
        return []
    made = []
    for index, rule in enumerate(document["rules"]):
        rule = rule if isinstance(rule, dict) else {}
        block = _block(rule)
        if problem is not None and problem.rule == index:
            block.problem = problem
            rows = {"condition": block.conditions, "action": block.actions}.get(problem.row or "")
            if rows is not None and problem.row_index is not None and problem.row_index < len(rows):
                rows[problem.row_index].invalid = problem.input
        made.append(block)
    return made


#: What "add a rule" starts from: tier 1 at a rate still to fill in.
BLANK_RULE = {
    "id": "",
    "priority": 0,
    "mode": "replace",
    "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
    "actions": [{"name": "set_rate", "params": {"percent": ""}}],
}


def blank_block() -> RuleBlock:
    return _block(BLANK_RULE)


def _block(rule: dict) -> RuleBlock:
    conditions = rule.get("conditions")
    join, rows, nested = "all", [], None
    if isinstance(conditions, dict) and len(conditions) == 1 and ("all" in conditions or "any" in conditions):
        join = "any" if "any" in conditions else "all"
        items = conditions[join] if isinstance(conditions[join], list) else []
        if all(isinstance(item, dict) and "name" in item for item in items):
            rows = [_condition_row(item) for item in items]
        else:
            nested = json.dumps(conditions, ensure_ascii=False, indent=1)
    elif conditions is not None:
        nested = json.dumps(conditions, ensure_ascii=False, indent=1)
    actions = rule.get("actions") if isinstance(rule.get("actions"), list) else []
    return RuleBlock(
        id=_text(rule.get("id")),
        priority=_text(rule.get("priority", 0)),
        mode=_text(rule.get("mode", "replace")),
        description=_text(rule.get("description")),
        join=join,
        conditions=rows,
        actions=[
            ActionRow(_text(a.get("name")), {k: _text(v) for k, v in (a.get("params") or {}).items()})
            for a in actions
            if isinstance(a, dict) and isinstance(a.get("params") or {}, dict)
        ],
        nested=nested,
    )


def _condition_row(item: dict) -> ConditionRow:
    name = _text(item.get("name"))
    kind, value = input_value(name, item.get("value"))
    return ConditionRow(name, _text(item.get("operator")), value, kind)


def input_value(name: str, value) -> tuple[str, str]:
    """The input kind for a variable and the text its input shows for ``value``.

    A value that does not decode (202613990000 is no moment) falls back to a plain input
    showing it as it is, so the operator can see and fix it.
    """
    kind = value_kind(name)
    if value is None:
        return kind, ""
    decoded = decode_value(name, value)
    if kind == "datetime":
        return (
            (kind, decoded.strftime("%Y-%m-%dT%H:%M"))
            if isinstance(decoded, datetime)
            else ("number", _text(value))
        )
    if kind == "date":
        return (kind, decoded.isoformat()) if not isinstance(decoded, int) else ("number", _text(value))
    if kind == "time":
        return (
            (kind, decoded) if isinstance(decoded, str) and decoded != "24:00" else ("number", _text(value))
        )
    if kind == "list":
        return kind, ", ".join(decoded) if isinstance(decoded, tuple) else _text(value)
    return kind, _text(value)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def vocabulary() -> dict:
    """The variables, operators and actions the editor offers, as ``rules.export_variables`` exports them."""
    exported = rules.export_variables()
    return {
        "variables": exported["variables"],
        "operators": {
            field_type: [op["name"] for op in ops]
            for field_type, ops in exported["variable_type_operators"].items()
        },
        "inputs": {
            field_type: {op["name"]: op["input_type"] for op in ops}
            for field_type, ops in exported["variable_type_operators"].items()
        },
        "actions": exported["actions"],
        "modes": {name: sorted(modes) for name, modes in ACTION_MODES.items()},
    }
