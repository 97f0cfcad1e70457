"""Fixtures for the commission-rules tests."""

from datetime import datetime, timedelta, timezone

import pytest

from rules import LineFacts

CST = timezone(timedelta(hours=8))
# A Wednesday afternoon, shop-local (UTC+8).
WEDNESDAY = datetime(2024, 11, 20, 14, 30, tzinfo=CST)


@pytest.fixture(scope="session")
def make_facts():
    """Build LineFacts with sensible defaults; override any field by keyword.

    Session-scoped (it is a pure builder) so hypothesis tests may use it too.
    """

    def build(**overrides):
        fields = {
            "tier": 1,
            "level": "gold",
            "product_id": "p1",
            "sku": "p1-red",
            "category": "tea",
            "channel": "web",
            "quantity": 1,
            "line_paid_amount": 10000,
            "order_paid_amount": 10000,
            "currency": "CNY",
            "order_time": WEDNESDAY,
        }
        fields.update(overrides)
        return LineFacts(**fields)

    return build


@pytest.fixture(scope="session")
def make_rule():
    """Build one rule dict: make_rule(id, priority, mode, conditions, *actions)."""

    def build(rule_id, priority, mode, conditions, *actions):
        return {
            "id": rule_id,
            "priority": priority,
            "mode": mode,
            "conditions": conditions,
            "actions": [{"name": name, "params": params} for name, params in actions],
        }

    return build
