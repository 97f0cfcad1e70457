"""Rule set versions: publish, validate drafts, roll back; commissions record their version."""

import copy
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

import rules
from plugin.audit.models import AuditEvent
from plugin.cli import main
from plugin.cli.demo import seed_chain
from plugin.commissions.models import Commission
from plugin.orders.models import Order
from plugin.shops import rulesets
from tests.conftest import fixture_bytes, fixture_json

FISSION = {
    "name": "fission 8/3",
    "rules": [
        {
            "id": "t1",
            "priority": 0,
            "mode": "replace",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 1}]},
            "actions": [{"name": "set_rate", "params": {"percent": "8"}}],
        },
        {
            "id": "t2",
            "priority": 0,
            "mode": "replace",
            "conditions": {"all": [{"name": "tier", "operator": "equal_to", "value": 2}]},
            "actions": [{"name": "set_rate", "params": {"percent": "3"}}],
        },
    ],
}


def url(shop, path=""):
    return f"/api/v1/shops/{shop.id}/rules{path}"


def publish(client, shop, document, note="why"):
    return client.post(
        url(shop), json={"document": document, "actor": "ops@shop", "note": note}, headers=shop.auth
    )


def test_publish_makes_a_new_active_version_that_prices_new_orders(client, shop, send, database):
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    reply = publish(client, shop, FISSION, "autumn campaign")
    assert reply.status_code == 201
    assert (reply.get_json()["version"], reply.get_json()["active"]) == (2, True)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    with database.transaction() as session:
        priced = sorted(
            (c.tier, c.beneficiary_id, c.amount, c.rule_version) for c in session.scalars(select(Commission))
        )
        event = session.scalar(
            select(AuditEvent).where(AuditEvent.action == "rules.published", AuditEvent.subject_id == "2")
        )
        assert (event.actor, event.data["note"]) == ("ops@shop", "autumn campaign")
    # 8 % of 29800 and 10000; 3 % of the same
    assert priced == [
        (1, chain["D"], 800, 2),
        (1, chain["D"], 2384, 2),
        (2, chain["C"], 300, 2),
        (2, chain["C"], 894, 2),
    ]
    listing = client.get(url(shop), headers=shop.auth).get_json()
    assert [(v["version"], v["active"]) for v in listing] == [(1, False), (2, True)]


def test_a_draft_breaking_a_guard_is_rejected_naming_rule_and_field(client, shop):
    bad = copy.deepcopy(FISSION)
    bad["rules"][1]["actions"][0]["params"]["percent"] = "130"
    for path in ("/validate", ""):
        body = {"document": bad, "actor": "ops", "note": ""} if not path else {"document": bad}
        reply = client.post(url(shop, path), json=body, headers=shop.auth)
        assert reply.status_code == 422
        error = reply.get_json()["error"]
        assert error["code"] == "invalid_ruleset"
        assert error["field"] == "rules[1].actions[0].params.percent"
        assert "'t2'" in error["message"]
    assert [v["version"] for v in client.get(url(shop), headers=shop.auth).get_json()] == [1]


def test_tier_above_shop_depth_is_rejected(client, make_shop):
    shallow = make_shop(tier_depth=1)
    reply = client.post(url(shallow, "/validate"), json={"document": FISSION}, headers=shallow.auth)
    assert reply.status_code == 422
    assert reply.get_json()["error"]["field"].startswith("rules[1].conditions")


def test_float_rate_is_rejected(client, shop):
    bad = copy.deepcopy(FISSION)
    bad["rules"][0]["actions"][0]["params"]["percent"] = 8.5
    assert client.post(url(shop, "/validate"), json={"document": bad}, headers=shop.auth).status_code == 422


def test_rollback_publishes_the_earlier_document_as_a_new_version(client, shop):
    publish(client, shop, FISSION)
    reply = client.post(url(shop, "/rollback"), json={"version": 1, "actor": "ops"}, headers=shop.auth)
    assert reply.status_code == 201
    body = reply.get_json()
    assert (body["version"], body["note"], body["document"]) == (
        3,
        "rollback to v1",
        rules.default_ruleset(2),
    )
    assert client.get(url(shop, "/2"), headers=shop.auth).get_json()["document"] == FISSION
    assert (
        client.post(
            url(shop, "/rollback"), json={"version": 9, "actor": "ops"}, headers=shop.auth
        ).status_code
        == 404
    )


def test_cli_validate_publish_list_rollback(runner, shop, tmp_path):
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(FISSION))
    assert runner("rules", "validate", str(draft), "--shop", str(shop.id)).output.strip().endswith("valid")
    assert (
        runner("rules", "publish", str(draft), "--shop", str(shop.id), "--by", "ops", "--note", "x").output
        == "published version 2\n"
    )
    assert "version 3" in runner("rules", "rollback", "1", "--shop", str(shop.id), "--by", "ops").output
    listing = runner("rules", "list", "--shop", str(shop.id)).output.splitlines()
    assert [line[:4] for line in listing] == ["  v1", "  v2", "* v3"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"rules": [{"id": "x"}]}')
    result = CliRunner().invoke(main, ["rules", "validate", str(bad), "--shop", str(shop.id)])
    assert result.exit_code == 1
    assert "invalid_ruleset" in result.output


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "rules"


@pytest.mark.parametrize(("timezone", "tier1"), [("Asia/Shanghai", [1500, 4470]), ("UTC", [1000, 2980])])
def test_double11_slot_is_read_in_shop_time(make_shop, send, database, timezone, tier1):
    """The sample order is paid 2026-11-11 00:05 Beijing time (16:05 UTC the day before)."""
    shop = make_shop(timezone=timezone)
    with database.transaction() as session:
        seed_chain(session, shop.id)
        rulesets.publish(
            session, shop.id, json.loads((EXAMPLES / "double11_timeslot.json").read_text()), actor="ops"
        )
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    with database.transaction() as session:
        amounts = sorted(c.amount for c in session.scalars(select(Commission).where(Commission.tier == 1)))
    assert amounts == tier1


def test_monthly_ladder_counts_this_months_earlier_sales(make_shop, send, database):
    shop = make_shop()
    with database.transaction() as session:
        seed_chain(session, shop.id)
        ladder = json.loads((EXAMPLES / "monthly_ladder.json").read_text())
        rulesets.publish(session, shop.id, ladder, actor="ops")
    first = fixture_json("shopify", "orders_paid")
    for line in first["line_items"]:
        line["price"], line["total_discount"], line["discount_allocations"] = "5000.00", "0.00", []
    send(shop, "orders/paid", first)  # tier-1 sales this month: 2 x 5000 + 5000 = ¥15,000
    send(shop, "orders/paid", fixture_bytes("shopify", "second_order_paid"))
    with database.transaction() as session:
        second = session.scalar(select(Order).where(Order.external_id == "820982911946154999"))
        rates = [
            c.explanation[0]["rate"]
            for c in session.scalars(
                select(Commission).where(Commission.order_id == second.id, Commission.tier == 1)
            )
        ]
    assert rates == ["8"]


def test_simulate_reprices_history_without_writing(client, shop, send, database, runner, tmp_path):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    send(shop, "orders/paid", fixture_bytes("shopify", "second_order_paid"))
    with database.transaction() as session:
        before = sorted((c.id, c.amount, c.status) for c in session.scalars(select(Commission)))
    body = {"document": FISSION, "from": "2026-11-01T00:00:00+00:00", "to": "2026-12-01T00:00:00+00:00"}
    report = client.post(url(shop, "/simulate"), json=body, headers=shop.auth).get_json()
    # actual 10 %/5 %: tier 1 = 2980 + 1000 + 1490, tier 2 = 1490 + 500 + 745
    # draft 8 %/3 %:  tier 1 = 2384 + 800 + 1192,  tier 2 = 894 + 300 + 447
    assert (report["lines"], report["actual"], report["simulated"]) == (6, 8205, 6017)
    tiers = {
        row["key"]: (row["actual"], row["simulated"], row["difference"]) for row in report["groups"]["tier"]
    }
    assert tiers == {1: (5470, 4376, -1094), 2: (2735, 1641, -1094)}
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(FISSION))
    printed = runner(
        "rules",
        "simulate",
        str(draft),
        "--shop",
        str(shop.id),
        "--from",
        "2026-11-01",
        "--to",
        "2026-12-01",
        "--json",
    )
    assert json.loads(printed.output)["difference"] == 6017 - 8205  # nothing but the report: no bar
    empty = runner(
        "rules",
        "simulate",
        str(draft),
        "--shop",
        str(shop.id),
        "--from",
        "2025-01-01",
        "--to",
        "2025-02-01",
        "--json",
    )
    assert json.loads(empty.stdout)["lines"] == 0
    with database.transaction() as session:
        assert sorted((c.id, c.amount, c.status) for c in session.scalars(select(Commission))) == before


def test_simulate_rejects_a_bad_draft_and_unauthenticated_calls(client, shop, make_shop):
    body = {
        "document": {"rules": "x"},
        "from": "2026-11-01T00:00:00+00:00",
        "to": "2026-12-01T00:00:00+00:00",
    }
    assert client.post(url(shop, "/simulate"), json=body, headers=shop.auth).status_code == 422
    assert client.post(url(shop, "/simulate"), json=body, headers=make_shop().auth).status_code == 401


def test_region_rule_reads_the_delivery_city(make_shop, send, database):
    shop = make_shop()
    hangzhou_bonus = copy.deepcopy(FISSION)
    hangzhou_bonus["rules"].append(
        {
            "id": "hangzhou",
            "priority": 5,
            "mode": "stack",
            "conditions": {
                "all": [
                    {"name": "tier", "operator": "equal_to", "value": 1},
                    {"name": "region", "operator": "equal_to", "value": "Hangzhou"},
                ]
            },
            "actions": [{"name": "add_bonus_rate", "params": {"percent": "2"}}],
        }
    )
    with database.transaction() as session:
        seed_chain(session, shop.id)
        rulesets.publish(session, shop.id, hangzhou_bonus, actor="ops")
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))  # ships to Hangzhou
    elsewhere = fixture_json("shopify", "second_order_paid")
    elsewhere["shipping_address"]["city"] = "Suzhou"
    send(shop, "orders/paid", elsewhere)
    with database.transaction() as session:
        tier1 = sorted(
            (c.order_id, c.amount) for c in session.scalars(select(Commission).where(Commission.tier == 1))
        )
    # 10 % (8 + 2) of 29800 and 10000 in Hangzhou; 8 % of 14900 in Suzhou
    assert [amount for _, amount in tier1] == [1000, 2980, 1192]
