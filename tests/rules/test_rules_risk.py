"""Risk rules: pass / review / block with reasons, validation, the example ruleset."""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest

from rules import (
    RiskFacts,
    RiskVerdict,
    RuleSetError,
    evaluate_risk,
    evaluate_risk_reference,
    export_risk_variables,
    validate_risk_ruleset,
)

EXAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "examples" / "rules" / "risk_default.json").read_text(
        encoding="utf-8"
    )
)


def facts(**signals):
    signals.setdefault("account_age_days", 100)
    return RiskFacts(**signals)


def verdict(doc, risk):
    result = evaluate_risk(doc, risk)
    assert result == evaluate_risk_reference(doc, risk)
    return result


def test_example_validates():
    validate_risk_ruleset(EXAMPLE)


def test_clean_order_passes():
    assert verdict(EXAMPLE, facts()) == RiskVerdict("pass", [], [])


def test_shared_device_is_reviewed():
    result = verdict(EXAMPLE, facts(same_device_as_inviter=True))
    assert result.verdict == "review"
    assert result.reasons == ["shares_inviter_identity"]
    assert result.explanation == [
        {
            "rule": "shares-inviter-identity",
            "priority": 50,
            "action": "review",
            "reason": "shares_inviter_identity",
        }
    ]


def test_block_beats_review_and_every_reason_is_kept_in_order():
    result = verdict(EXAMPLE, facts(same_ip_as_inviter=True, blacklist_hit=True, orders_from_ip_last_hour=9))
    assert result.verdict == "block"
    assert result.reasons == ["blacklist_hit", "shares_inviter_identity", "order_burst"]
    assert [entry["action"] for entry in result.explanation] == ["block", "review", "review"]


@pytest.mark.parametrize(
    ("signals", "expected", "reasons"),
    [
        ({"self_purchase": True}, "block", ["self_purchase"]),
        ({"accounts_per_device": 6}, "block", ["device_farm"]),
        ({"accounts_per_device": 5}, "pass", []),
        ({"orders_from_device_last_hour": 3}, "review", ["order_burst"]),
        ({"orders_from_ip_last_day": 31}, "review", ["order_burst"]),
        ({"account_age_days": 0, "order_paid_amount": 200000}, "review", ["new_account_big_order"]),
        ({"account_age_days": 1, "order_paid_amount": 200000}, "pass", []),
        ({"inviter_refund_rate": Decimal("30.0000005")}, "pass", []),  # business-rules' epsilon is 0.000001
        ({"inviter_refund_rate": Decimal("30.01")}, "review", ["inviter_refund_rate"]),
        ({"inviter_refund_rate": 31}, "review", ["inviter_refund_rate"]),
    ],
)
def test_example_signals(signals, expected, reasons):
    result = verdict(EXAMPLE, facts(**signals))
    assert (result.verdict, result.reasons) == (expected, reasons)


def test_duplicate_reasons_are_listed_once():
    doc = copy.deepcopy(EXAMPLE)
    doc["rules"].append(
        {
            "id": "also-blacklist",
            "priority": 0,
            "conditions": {"all": [{"name": "blacklist_hit", "operator": "is_true", "value": None}]},
            "actions": [{"name": "review", "params": {"reason": "blacklist_hit"}}],
        }
    )
    validate_risk_ruleset(doc)
    result = verdict(doc, facts(blacklist_hit=True))
    assert result.reasons == ["blacklist_hit"]
    assert len(result.explanation) == 2


@pytest.mark.parametrize(
    ("mutate", "field", "fragment"),
    [
        (lambda r: r.update(mode="replace"), "rules[0].mode", "unknown key 'mode'"),
        (lambda r: r["actions"].append(r["actions"][0]), "rules[0].actions", "exactly one action"),
        (
            lambda r: r["actions"][0].update(name="set_rate"),
            "rules[0].actions[0].name",
            "unknown risk action",
        ),
        (lambda r: r["actions"][0].update(params={}), "rules[0].actions[0].params", '{"reason"'),
        (
            lambda r: r["actions"][0]["params"].update(reason="Bad Reason"),
            "rules[0].actions[0].params.reason",
            "code",
        ),
        (
            lambda r: r["conditions"]["all"][0].update(name="tier"),
            "rules[0].conditions.all[0].name",
            "unknown variable 'tier'",
        ),
        (
            lambda r: r["conditions"]["all"][0].update(
                name="inviter_refund_rate", operator="greater_than", value=2.5
            ),
            "rules[0].conditions.all[0].value",
            "floats are not allowed",
        ),
    ],
)
def test_invalid_risk_rules_are_rejected(mutate, field, fragment):
    doc = copy.deepcopy(EXAMPLE)
    mutate(doc["rules"][0])
    with pytest.raises(RuleSetError) as info:
        validate_risk_ruleset(doc)
    assert info.value.rule_id == "blacklist"
    assert info.value.field == field
    assert fragment in info.value.message


@pytest.mark.parametrize(
    ("signals", "error"),
    [
        ({"account_age_days": 1.5}, TypeError),
        ({"self_purchase": 1}, TypeError),
        ({"inviter_refund_rate": 12.5}, TypeError),
        ({"inviter_refund_rate": Decimal("NaN")}, ValueError),
        ({"inviter_refund_rate": 101}, ValueError),
        ({"orders_from_ip_last_hour": -1}, ValueError),
    ],
)
def test_risk_facts_are_checked(signals, error):
    with pytest.raises(error):
        facts(**signals)


def test_account_age_is_required():
    with pytest.raises(TypeError):
        RiskFacts()


def test_export_risk_variables():
    data = export_risk_variables()
    names = {v["name"]: v["field_type"] for v in data["variables"]}
    assert names["self_purchase"] == "boolean"
    assert names["inviter_refund_rate"] == "numeric"
    assert {a["name"] for a in data["actions"]} == {"review", "block"}
