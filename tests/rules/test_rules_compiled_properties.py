"""Differential tests: the compiled evaluator agrees with business-rules on every decision.

Random valid documents (nested all/any trees over every variable with every operator,
random actions, priorities and modes) and random facts; the reference is
``price_line_reference`` / ``evaluate_risk_reference``, which let business-rules'
``check_conditions_recursively`` and ``do_actions`` do the work.
"""

from decimal import Decimal

from business_rules.fields import FIELD_NO_INPUT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import (
    compile_risk_ruleset,
    compile_ruleset,
    evaluate_risk_reference,
    price_line,
    price_line_reference,
    validate_risk_ruleset,
    validate_ruleset,
)
from rules.predicates import compile_conditions, normalize
from rules.vocabulary import FIELD_TYPES, OPERATORS, VariableSpec

from .strategies import (
    REGEXES,
    commission_documents,
    indexed_documents,
    keyed_facts,
    line_facts,
    risk_documents,
    risk_facts,
)

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(doc=commission_documents(), many=st.lists(line_facts, min_size=1, max_size=6))
def test_compiled_pricing_equals_business_rules(doc, many):
    validate_ruleset(doc, 3)
    compiled = compile_ruleset(doc)
    for facts in many:
        expected = price_line_reference(doc, facts)
        assert compiled.price(facts) == expected
        assert price_line(doc, facts) == expected
        quiet = compiled.price(facts, explain=False)
        assert (quiet.amount, quiet.rate, quiet.fixed, quiet.caps, quiet.explanation) == (
            expected.amount,
            expected.rate,
            expected.fixed,
            expected.caps,
            [],
        )


@SETTINGS
@given(doc=indexed_documents(), many=st.lists(keyed_facts, min_size=1, max_size=6))
def test_indexed_rules_keep_evaluation_order(doc, many):
    validate_ruleset(doc, 3)
    compiled = compile_ruleset(doc)
    for facts in many:
        assert compiled.price(facts) == price_line_reference(doc, facts)


@SETTINGS
@given(doc=risk_documents(), many=st.lists(risk_facts, min_size=1, max_size=6))
def test_compiled_risk_equals_business_rules(doc, many):
    validate_risk_ruleset(doc)
    compiled = compile_risk_ruleset(doc)
    for facts in many:
        assert compiled.evaluate(facts) == evaluate_risk_reference(doc, facts)


def _reference(field_type, operator, fact, value):
    typed = FIELD_TYPES[field_type](fact)
    method = getattr(typed, operator)
    return bool(method() if method.input_type == FIELD_NO_INPUT else method(value))


def _compiled(field_type, operator, fact, value, decimal=False):
    table = {"x": VariableSpec(field_type, None, None)}
    node = {"all": [{"name": "x", "operator": operator, "value": value}]}
    predicate = compile_conditions(node, table, {}, decimals={"x"} if decimal else ())
    return predicate([normalize(field_type, fact)])


texts = st.text(max_size=6) | st.sampled_from(["ß", "SS", "İ", "i̇", "ǅ", "ǆ", "Σ", "ς", "σ"])


@settings(max_examples=600, deadline=None)
@given(
    operator=st.sampled_from(sorted(OPERATORS["string"])),
    fact=texts,
    value=texts,
    regex=st.sampled_from(REGEXES),
)
def test_string_operators_mirror_business_rules(operator, fact, value, regex):
    value = regex if operator == "matches_regex" else value
    assert _compiled("string", operator, fact, value) == _reference("string", operator, fact, value)


@settings(max_examples=600, deadline=None)
@given(
    operator=st.sampled_from(sorted(OPERATORS["numeric"])),
    fact=st.integers(-(10**30), 10**30) | st.integers(-5, 5),
    value=st.integers(-(10**30), 10**30) | st.integers(-5, 5),
)
def test_integer_operators_mirror_business_rules(operator, fact, value):
    assert _compiled("numeric", operator, fact, value) == _reference("numeric", operator, fact, value)


decimals = st.decimals(-1000, 1000, allow_nan=False, allow_infinity=False, places=8)


@settings(max_examples=600, deadline=None)
@given(
    operator=st.sampled_from(sorted(OPERATORS["numeric"])),
    fact=decimals
    | st.integers(-5, 5)
    | st.builds(lambda n, d: Decimal(n) + Decimal(d) / 10**7, st.integers(-3, 3), st.integers(-20, 20)),
    value=st.integers(-5, 5),
)
def test_decimal_operators_mirror_business_rules_epsilon(operator, fact, value):
    assert _compiled("numeric", operator, fact, value, decimal=True) == _reference(
        "numeric", operator, fact, value
    )


@settings(max_examples=600, deadline=None)
@given(
    operator=st.sampled_from(sorted(OPERATORS["select"])),
    fact=st.lists(texts, max_size=4),
    value=texts,
)
def test_select_operators_mirror_business_rules(operator, fact, value):
    assert _compiled("select", operator, fact, value) == _reference("select", operator, fact, value)


@settings(max_examples=600, deadline=None)
@given(
    operator=st.sampled_from(sorted(OPERATORS["select_multiple"])),
    fact=st.lists(texts, max_size=4),
    value=st.lists(texts, min_size=1, max_size=4),
)
def test_select_multiple_operators_mirror_business_rules(operator, fact, value):
    assert _compiled("select_multiple", operator, fact, value) == _reference(
        "select_multiple", operator, fact, value
    )


@given(operator=st.sampled_from(sorted(OPERATORS["boolean"])), fact=st.booleans())
def test_boolean_operators_mirror_business_rules(operator, fact):
    assert _compiled("boolean", operator, fact, None) == _reference("boolean", operator, fact, None)
