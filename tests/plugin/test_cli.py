"""The ``fenxiao`` command line."""

import json

from click.testing import CliRunner
from sqlalchemy import select

import migrations
from plugin.cli import main
from plugin.cli_demo import seed_chain
from plugin.models import Commission, InboxEvent
from tests.conftest import fixture_bytes


def test_shop_add_prints_json_with_webhook_url(runner):
    result = runner(
        "shop",
        "add",
        "--platform",
        "shopify",
        "--name",
        "Tea House",
        "--tier-depth",
        "3",
        "--webhook-secret",
        "s3cret",
    )
    assert result.exit_code == 0, result.output
    shop = json.loads(result.output)
    assert shop["webhook_url"] == f"http://127.0.0.1:8000/webhooks/shopify/{shop['shop_id']}"
    assert (shop["tier_depth"], shop["after_sales_days"], shop["currency"]) == (3, 7, "CNY")
    assert shop["webhook_secret"] == "s3cret"
    assert shop["api_key"].startswith("fx_")


def test_shop_add_rejects_depth_four(runner):
    result = CliRunner().invoke(
        main, ["shop", "add", "--platform", "shopify", "--name", "x", "--tier-depth", "4"]
    )
    assert result.exit_code == 2
    assert "tier_depth" in result.output


def test_shop_add_rejects_unknown_platform(runner):
    result = CliRunner().invoke(main, ["shop", "add", "--platform", "nosuch", "--name", "x"])
    assert result.exit_code == 2
    assert "unknown platform" in result.output


def test_settle_settles_due_commissions(runner, shop, send, database):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"))
    send(shop, "orders/fulfilled", fixture_bytes("shopify", "orders_fulfilled"))
    early = runner("settle", "--now", "2026-11-14T00:00:00+00:00")
    assert "settled 0 commission(s)" in early.output
    result = runner("settle", "--now", "2026-11-21T00:00:00+00:00")
    assert "settled 4 commission(s)" in result.output
    with database.transaction() as session:
        assert {c.status for c in session.scalars(select(Commission))} == {"available"}


def test_inbox_replay_reprocesses_a_dead_event(runner, shop, send, database):
    send(shop, "orders/paid", fixture_bytes("shopify", "orders_paid"), "d-1")
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent))
        event.status, event.attempts = "dead", 10
    assert runner("inbox", "replay", str(event.id)).output.strip() == "processed"


def test_db_upgrade_on_an_empty_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert migrations.current_revision(url) == "0001"


def test_demo_shows_depth_clawback_and_idempotency():
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("orders/paid again") and line.endswith("HTTP 200") for line in lines)
    tables = [i for i, line in enumerate(lines) if line.startswith("member")]
    final = {line.split()[0]: line.split()[1:] for line in lines[tables[-1] + 1 : tables[-1] + 5]}
    assert final == {
        "A": ["0.00", "0.00", "0.00"],
        "B": ["0.00", "0.00", "0.00"],
        "C": ["0.00", "7.45", "0.00"],
        "D": ["0.00", "14.90", "0.00"],
    }
    assert "settlement sweep again: settled 0" in result.output
    assert lines[-1] == "unbalanced ledger transactions: 0"
