"""rules.describe: a document's rules as structured pieces (merged slots, one-of lists, decoded
values, parsed params) and the difference between two documents; the shipped templates."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import rules
from rules.describe import Action, Between, Condition, Group, OneOf, describe, diff_documents, value_kind

ROOT = Path(__file__).parents[2]


def rule(rule_id, conditions, actions, priority=0, mode="replace"):
    return {"id": rule_id, "priority": priority, "mode": mode, "conditions": conditions, "actions": actions}


def test_the_templates_are_the_commission_examples_and_each_validates():
    shipped = sorted((ROOT / "rules" / "templates").glob("*.json"))
    examples = {p.name for p in (ROOT / "examples" / "rules").glob("*.json")} - {"risk_default.json"}
    assert [p.name for p in shipped] == sorted(examples)
    for path in shipped:
        document = json.loads(path.read_text())
        assert document == json.loads((ROOT / "examples" / "rules" / path.name).read_text())
        rules.validate_ruleset(document, max_tier=2, ceiling=Decimal(50))


def test_a_slot_and_an_any_group_of_equalities_read_as_between_and_one_of():
    document = {
        "rules": [
            rule(
                "slot",
                {
                    "all": [
                        {"name": "tier", "operator": "equal_to", "value": 1},
                        {
                            "any": [
                                {"name": "category", "operator": "equal_to", "value": "Apparel"},
                                {"name": "category", "operator": "equal_to", "value": "Shoes"},
                            ]
                        },
                        {"name": "order_datetime_number", "operator": "less_than", "value": 202611110200},
                        {
                            "name": "order_datetime_number",
                            "operator": "greater_than_or_equal_to",
                            "value": 202611110000,
                        },
                    ]
                },
                [
                    {"name": "set_rate", "params": {"percent": "15"}},
                    {"name": "cap_per_order", "params": {"amount": "5000"}},
                ],
                priority=50,
            ),
            rule(
                "low",
                {"any": [{"name": "order_date_number", "operator": "equal_to", "value": 20261111}]},
                [{"name": "exclude"}],
                priority=60,
                mode="stack",
            ),
        ]
    }
    low, slot = describe(document)  # highest priority first
    assert (low.id, low.position, slot.position) == ("low", 1, 0)
    assert low.conditions == Group(
        "any", (Condition("order_date_number", "equal_to", date(2026, 11, 11), "date"),)
    )
    assert slot.conditions == Group(
        "all",
        (
            Condition("tier", "equal_to", 1, "number"),
            OneOf("category", ("Apparel", "Shoes"), "text"),
            Between(
                "order_datetime_number",
                datetime(2026, 11, 11, 0, 0),
                datetime(2026, 11, 11, 2, 0),
                "datetime",
            ),
        ),
    )
    assert slot.actions == (
        Action("set_rate", {"percent": Decimal(15)}),
        Action("cap_per_order", {"amount": 5000}),
    )


def test_values_decode_by_kind_and_bad_encodings_stay_as_written():
    assert [
        value_kind(n)
        for n in (
            "line_paid_amount",
            "order_time_of_day",
            "order_weekday",
            "campaign_tags",
            "buyer_is_new",
            "level",
        )
    ] == ["money", "time", "weekday", "list", "boolean", "text"]
    group = rules.describe.describe_conditions(
        {
            "all": [
                {"name": "order_time_of_day", "operator": "less_than", "value": 200},
                {"name": "order_datetime_number", "operator": "equal_to", "value": 202613990000},
                {"name": "campaign_tags", "operator": "contains_all", "value": ["d11", "vip"]},
            ]
        }
    )
    assert [c.value for c in group.items] == ["02:00", 202613990000, ("d11", "vip")]


def test_the_diff_matches_rules_by_id_and_names_the_changed_fields():
    old = {
        "name": "a",
        "rules": [
            rule(
                "t1",
                {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
                [{"name": "set_rate", "params": {"percent": "10"}}],
            ),
            rule(
                "t2",
                {"all": [{"name": "tier", "operator": "equal_to", "value": 2}]},
                [{"name": "set_rate", "params": {"percent": "5"}}],
            ),
            rule(
                "gone", {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]}, [{"name": "exclude"}]
            ),
        ],
    }
    new = json.loads(json.dumps(old))
    new["rules"] = [new["rules"][1], new["rules"][0]]  # equal priorities swapped: the order matters
    new["rules"][0]["mode"] = "stack"
    new["rules"].append(
        rule("fresh", {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]}, [{"name": "exclude"}])
    )
    found = diff_documents(old, new, "v1", "v2")
    assert [r["id"] for r in found.added] == ["fresh"] and [r["id"] for r in found.removed] == ["gone"]
    assert [(c.id, c.fields) for c in found.changed] == [("t1", ("position",)), ("t2", ("mode", "position"))]
    assert found.unchanged == 0 and found.document_fields == () and not found.identical
    assert found.unified[:2] == ("--- v1", "+++ v2")
    assert '-      "mode": "replace",' in found.unified
    same = diff_documents(old, json.loads(json.dumps(old)))
    assert same.identical and same.unified == () and same.unchanged == 3
