"""The examples in rules/PRECEDENCE.md are tested exactly as written."""

import json
import re
from pathlib import Path

import pytest

import rules
from rules import price_line, price_line_reference, validate_ruleset

DOC = (Path(rules.__file__).parent / "PRECEDENCE.md").read_text(encoding="utf-8")


def block_after(marker):
    start = DOC.index(marker) + len(marker)
    return DOC[start:]


def nested_example():
    text = block_after("<!-- example: nested-any-all -->")
    return json.loads(re.search(r"```json\n(.*?)```", text, re.S).group(1))


def nested_cases():
    lines = block_after("<!-- cases: nested-any-all -->").strip().splitlines()[2:]  # past the header
    cases = []
    for line in lines:
        if not line.startswith("|"):
            break
        tier, category, channel, quantity, paid, commission = (
            cell.strip() for cell in line.strip("|").split("|")
        )
        cases.append((int(tier), category, channel, int(quantity), int(paid), int(commission)))
    return cases


def test_the_documented_cases_are_there():
    assert len(nested_cases()) == 5


@pytest.mark.parametrize(("tier", "category", "channel", "quantity", "paid", "commission"), nested_cases())
def test_nested_any_all_example(make_facts, tier, category, channel, quantity, paid, commission):
    doc = nested_example()
    validate_ruleset(doc, 2)
    facts = make_facts(
        tier=tier, category=category, channel=channel, quantity=quantity, line_paid_amount=paid
    )
    assert price_line(doc, facts).amount == commission
    assert price_line_reference(doc, facts).amount == commission


def test_all_and_any_side_by_side_is_rejected():
    doc = nested_example()
    conditions = doc["rules"][0]["conditions"]
    conditions["any"] = conditions["all"][1]["any"]
    with pytest.raises(rules.RuleSetError) as info:
        validate_ruleset(doc, 2)
    assert info.value.field == "rules[0].conditions"
    assert info.value.rule_id == "tea-or-bulk-app"
