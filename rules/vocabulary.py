"""How rule variables are declared once and read by both engines.

A variable is a business-rules ``*_rule_variable`` method (so ``export_rule_data`` and
the reference engine see it as usual) that carries the plain function computing its
value from the facts. The compiled evaluator reads that function directly, so both
engines compute every variable the same way; they differ only in how conditions and
actions are evaluated, which is what the differential tests compare.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from operator import attrgetter
from typing import NamedTuple

from business_rules import operators

#: Operator type by ``field_type`` name ("numeric", "string", "boolean", "select", ...).
FIELD_TYPES = {
    cls.name: cls
    for _, cls in inspect.getmembers(operators, lambda x: getattr(x, "export_in_rule_data", False))
}
#: field_type name -> {operator name: input type}, exactly as business-rules defines them.
OPERATORS = {
    name: {op["name"]: op["input_type"] for op in cls.get_all_operators()}
    for name, cls in FIELD_TYPES.items()
}


class VariableSpec(NamedTuple):
    """One variable as the compiled evaluator sees it."""

    field_type: str
    value: Callable
    attribute: str | None


def variable(decorator, label: str, value: Callable | str, **options):
    """Declare a rule variable whose value is ``value(facts)``.

    Args:
        decorator: A business-rules variable decorator, e.g. ``numeric_rule_variable``.
        label: The label the admin shows.
        value: A function of the facts object returning the variable's value, or the
            name of the facts attribute holding it.
        **options: Passed to the decorator (``options=[...]`` for select variables).

    Returns:
        The decorated method, with the value function kept as its ``value`` attribute
        (and the attribute name, if any, as ``attribute``).
    """
    attribute = value if isinstance(value, str) else None
    compute = attrgetter(value) if attribute else value

    def method(self):
        return compute(self.facts)

    method.value = compute
    method.attribute = attribute
    return decorator(label=label, **options)(method)


def variable_table(variables_class) -> dict[str, VariableSpec]:
    """Map each variable of a ``BaseVariables`` class to its :class:`VariableSpec`."""
    table = {}
    for spec in variables_class.get_all_variables():
        method = getattr(variables_class, spec["name"])
        table[spec["name"]] = VariableSpec(spec["field_type"], method.value, method.attribute)
    return table
