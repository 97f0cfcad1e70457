"""Rules in the reader's language: the pieces of :mod:`rules.describe` phrased with ``gettext``.

Every variable, operator and action is looked up by its exported name; one the table does not
know yet (added to the rules later) is shown with its exported English label, so the page never
breaks and the catalog test points at what to translate.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

import rules
from admin.i18n import money, number
from rules.describe import Between, Condition, Group, OneOf, describe

#: The subject a condition speaks about, per variable (also the editor's labels).
VARIABLES = {
    "tier": _l("tier"),
    "level": _l("distributor level"),
    "product_id": _l("product id"),
    "sku": _l("SKU"),
    "category": _l("category"),
    "category_tree": _l("category or a parent category"),
    "channel": _l("sales channel"),
    "quantity": _l("quantity"),
    "line_paid_amount": _l("line paid amount"),
    "order_paid_amount": _l("order paid amount"),
    "buyer_is_new": _l("buyer is a new customer"),
    "order_weekday": _l("weekday of the order"),
    "order_hour": _l("hour of the order"),
    "order_time_of_day": _l("time of day of the order"),
    "order_date": _l("order date (text)"),
    "order_date_number": _l("order date"),
    "order_datetime": _l("order date and time (text)"),
    "order_datetime_number": _l("order date and time"),
    "beneficiary_month_sales": _l("beneficiary's sales this month"),
    "campaign_tags": _l("campaign tags"),
    "region": _l("delivery region"),
    "beneficiary_region": _l("beneficiary's region"),
    "in_beneficiary_region": _l("delivery is in the beneficiary's region"),
}
#: Booleans read as a statement: (is true, is false).
STATEMENTS = {
    "buyer_is_new": (_l("the buyer is a new customer"), _l("the buyer is not a new customer")),
    "in_beneficiary_region": (
        _l("the order ships to the beneficiary's region"),
        _l("the order does not ship to the beneficiary's region"),
    ),
}
#: Operator labels for the editor, by field type and operator.
OPERATORS = {
    "equal_to": _l("is"),
    "equal_to_case_insensitive": _l("is (any case)"),
    "greater_than": _l("is more than"),
    "greater_than_or_equal_to": _l("is at least"),
    "less_than": _l("is less than"),
    "less_than_or_equal_to": _l("is at most"),
    "starts_with": _l("starts with"),
    "ends_with": _l("ends with"),
    "contains": _l("contains"),
    "does_not_contain": _l("does not contain"),
    "matches_regex": _l("matches the pattern"),
    "non_empty": _l("is not empty"),
    "is_true": _l("is true"),
    "is_false": _l("is false"),
    "contains_all": _l("include all of"),
    "is_contained_by": _l("are all among"),
    "shares_at_least_one_element_with": _l("include any of"),
    "shares_exactly_one_element_with": _l("include exactly one of"),
    "shares_no_elements_with": _l("include none of"),
}
#: Sentences: a condition on any variable, by operator.
SENTENCES = {
    "equal_to": _l("%(subject)s is %(value)s"),
    "equal_to_case_insensitive": _l("%(subject)s is %(value)s (any case)"),
    "greater_than": _l("%(subject)s is more than %(value)s"),
    "greater_than_or_equal_to": _l("%(subject)s is at least %(value)s"),
    "less_than": _l("%(subject)s is less than %(value)s"),
    "less_than_or_equal_to": _l("%(subject)s is at most %(value)s"),
    "starts_with": _l("%(subject)s starts with %(value)s"),
    "ends_with": _l("%(subject)s ends with %(value)s"),
    "contains": _l("%(subject)s contains %(value)s"),
    "does_not_contain": _l("%(subject)s does not contain %(value)s"),
    "matches_regex": _l("%(subject)s matches the pattern %(value)s"),
    "non_empty": _l("%(subject)s is not empty"),
    "is_true": _l("%(subject)s is true"),
    "is_false": _l("%(subject)s is false"),
    "contains_all": _l("%(subject)s include all of %(value)s"),
    "is_contained_by": _l("%(subject)s are all among %(value)s"),
    "shares_at_least_one_element_with": _l("%(subject)s include any of %(value)s"),
    "shares_exactly_one_element_with": _l("%(subject)s include exactly one of %(value)s"),
    "shares_no_elements_with": _l("%(subject)s include none of %(value)s"),
}
#: Sentences about the order's paid time (date and moment variables), by operator.
PAID_TIME = {
    "equal_to": _l("the order was paid on %(value)s"),
    "greater_than": _l("the order was paid after %(value)s"),
    "greater_than_or_equal_to": _l("the order was paid at or after %(value)s"),
    "less_than": _l("the order was paid before %(value)s"),
    "less_than_or_equal_to": _l("the order was paid at or before %(value)s"),
    "starts_with": _l("the order was paid on a date starting %(value)s"),
}
#: Actions: the editor's label and the sentence (``percent`` / ``amount`` already formatted).
ACTIONS = {
    "set_rate": (_l("Set the rate (%)"), _l("rate %(percent)s %%")),
    "add_bonus_rate": (_l("Add a bonus rate (%)"), _l("bonus rate +%(percent)s %%")),
    "set_fixed_per_unit": (_l("Fixed amount per unit (minor units)"), _l("fixed %(amount)s per unit")),
    "set_fixed_per_line": (_l("Fixed amount per line (minor units)"), _l("fixed %(amount)s")),
    "cap_per_line": (_l("Cap per line (minor units)"), _l("cap %(amount)s per line")),
    "cap_per_order": (_l("Cap per order (minor units)"), _l("cap %(amount)s per order")),
    "cap_per_month": (_l("Cap per month (minor units)"), _l("cap %(amount)s per month")),
    "exclude": (_l("Exclude: no commission"), _l("no commission")),
}
MODES = {"replace": _l("replace: sets the base"), "stack": _l("stack: adds on top")}
PARAMS = {"percent": _l("Percent"), "amount": _l("Amount (minor units)")}


def subject(name: str) -> str:
    exported = {v["name"]: v["label"] for v in rules.export_variables()["variables"]}
    return str(VARIABLES[name]) if name in VARIABLES else exported.get(name, name)


def value_text(kind: str, value, currency: str) -> str:
    """One value as the reader reads it: ¥50.00, 2026-11-11 00:00, Monday, 02:00, "a, b"."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if kind == "money" and isinstance(value, int) and not isinstance(value, bool):
        return money(value, currency)
    if kind == "weekday" and isinstance(value, int) and 0 <= value <= 6:
        return str(get_day_names("wide", locale=get_locale() or "en")[value])
    if kind == "number" and isinstance(value, int) and not isinstance(value, bool):
        return number(value)
    if isinstance(value, tuple):
        return _(", ").join(value)
    return "" if value is None else str(value)


def condition_text(piece, currency: str) -> str:
    if isinstance(piece, Group):
        inner = conditions_text(piece, currency)
        return f"({inner})" if len(piece.items) > 1 else inner
    if isinstance(piece, OneOf):
        values = _(", ").join(value_text(piece.kind, v, currency) for v in piece.values)
        return _("%(subject)s is one of %(values)s", subject=subject(piece.variable), values=values)
    if isinstance(piece, Between):
        low, high = (value_text(piece.kind, v, currency) for v in (piece.low, piece.high))
        if piece.paid_time:
            return _("the order was paid between %(low)s and %(high)s", low=low, high=high)
        return _(
            "%(subject)s is from %(low)s to below %(high)s",
            subject=subject(piece.variable),
            low=low,
            high=high,
        )
    return _leaf_text(piece, currency)


def _leaf_text(piece: Condition, currency: str) -> str:
    if piece.variable in STATEMENTS and piece.operator in ("is_true", "is_false"):
        return str(STATEMENTS[piece.variable][piece.operator == "is_false"])
    value = value_text(piece.kind, piece.value, currency)
    if piece.paid_time and piece.operator in PAID_TIME:
        return str(PAID_TIME[piece.operator]) % {"value": value}
    sentence = SENTENCES.get(piece.operator)
    if sentence is None:
        return f"{subject(piece.variable)} {piece.operator} {value}"
    return str(sentence) % {"subject": subject(piece.variable), "value": value}


def conditions_text(group: Group, currency: str) -> str:
    """A rule's conditions as one sentence ("tier is 1 and the order was paid between ...")."""
    if not group.items:
        return _("always")
    word = _("and") if group.join == "all" else _("or")
    return f" {word} ".join(condition_text(item, currency) for item in group.items)


def action_text(action, currency: str) -> str:
    """One action as words: "rate 15 %", "fixed ¥5.00", "cap ¥50.00 per order"."""
    if action.name not in ACTIONS:
        return f"{action.name} {action.params}"
    values = {}
    if isinstance(action.params.get("percent"), Decimal):
        values["percent"] = number(action.params["percent"].normalize())
    if isinstance(action.params.get("amount"), int):
        values["amount"] = money(action.params["amount"], currency)
    try:
        return str(ACTIONS[action.name][1]) % values
    except KeyError:  # a param that did not parse: show it as written
        return f"{ACTIONS[action.name][0]}: {action.params}"


def rule_rows(document: dict, currency: str) -> list[dict]:
    """The readable table of a document: one row per rule, in the order they are evaluated."""
    return [
        {
            "id": rule.id,
            "position": rule.position,
            "priority": rule.priority,
            "mode": str(MODES.get(rule.mode, rule.mode)),
            "description": rule.description,
            "conditions": conditions_text(rule.conditions, currency),
            "actions": [action_text(action, currency) for action in rule.actions],
        }
        for rule in describe(document)
    ]


def editor_vocabulary(vocabulary: dict) -> dict:
    """The editor's vocabulary (see ``admin.forms.rules.vocabulary``) with labels in the reader's language."""
    from rules.describe import value_kind

    return {
        **vocabulary,
        "variables": [
            {**v, "label": subject(v["name"]), "kind": value_kind(v["name"])} for v in vocabulary["variables"]
        ],
        "operator_labels": {name: str(label) for name, label in OPERATORS.items()},
        "actions": [
            {**a, "label": str(ACTIONS[a["name"]][0]) if a["name"] in ACTIONS else a["label"]}
            for a in vocabulary["actions"]
        ],
        "param_labels": {name: str(label) for name, label in PARAMS.items()},
        "weekdays": [str(day) for day in get_day_names("wide", locale=get_locale() or "en").values()],
    }
