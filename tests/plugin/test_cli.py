"""The ``fenxiao`` command line."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import migrations
from plugin.cli import main
from plugin.cli.demo import seed_chain
from plugin.commissions.models import Commission
from plugin.shops.models import Shop
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
        "shpss_0123456789abcdef",
        "--timezone",
        "Europe/Berlin",
    )
    assert result.exit_code == 0, result.output
    shop = json.loads(result.output)
    assert shop["webhook_url"] == f"http://127.0.0.1:8000/webhooks/shopify/{shop['shop_id']}"
    assert (shop["tier_depth"], shop["after_sales_days"], shop["currency"]) == (3, 7, "CNY")
    assert (shop["webhook_secret"], shop["timezone"]) == ("shpss_0123456789abcdef", "Europe/Berlin")
    assert shop["api_key"].startswith("fx_")
    listing = runner("shop", "list").output.splitlines()
    assert listing[1].split() == [
        str(shop["shop_id"]),
        "Tea",
        "House",
        "shopify",
        "CNY",
        "3",
        "7",
        "Europe/Berlin",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "  "], "Error: name: a shop needs a name (1 to 200 characters)"),
        (
            ["--name", "x", "--webhook-secret", "short"],
            "Error: webhook_secret: a webhook secret must be 16 to 200 bytes"
            " (the platform app's signing secret)",
        ),
        (
            ["--name", "x", "--timezone", "Mars/Olympus"],
            "Error: timezone: unknown time zone 'Mars/Olympus' (e.g. Asia/Shanghai)",
        ),
        (["--name", "x", "--tier-depth", "4"], "Error: tier_depth: tier depth must be 1, 2 or 3 (got 4)"),
        (
            ["--name", "x", "--currency", "usd"],
            "Error: currency: currency must be an ISO-4217 code like CNY (got 'usd')",
        ),
    ],
)
def test_shop_add_refuses_bad_settings_in_one_line(runner, database, args, message):
    result = runner("shop", "add", "--platform", "shopify", *args)
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == message
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Shop)) == 0


def test_member_list_shows_identities_distributors_and_inviters(runner, shop, database):
    with database.transaction() as session:
        chain = seed_chain(session, shop.id)
    lines = runner("member", "list", "--shop", str(shop.id)).output.splitlines()
    assert lines[0].split() == ["member", "identity", "distributor", "invite", "code", "invited", "by"]
    assert [line.split() for line in lines[1:]] == [
        [str(chain["A"]), "demo:member-A", "approved", "(B)", "INV-DEMOA", "-"],
        [str(chain["B"]), "demo:member-B", "approved", "(B)", "INV-DEMOB", str(chain["A"])],
        [str(chain["C"]), "demo:member-C", "approved", "(B)", "INV-DEMOC", str(chain["B"])],
        [str(chain["D"]), "demo:member-D", "approved", "(B)", "INV-B7K2", str(chain["C"])],
    ]
    paged = runner("member", "list", "--shop", str(shop.id), "--after", str(chain["B"]), "--limit", "1")
    assert [line.split()[0] for line in paged.output.splitlines()[1:]] == [str(chain["C"])]


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
    assert early.output == "settled 0 commission(s)\n"
    result = runner("settle", "--now", "2026-11-21T00:00:00+00:00")
    assert result.output == "settled 4 commission(s)\n"  # no progress bar when not on a terminal
    with database.transaction() as session:
        assert {c.status for c in session.scalars(select(Commission))} == {"available"}


def test_db_upgrade_on_an_empty_database(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert migrations.current_revision(url) == migrations.head_revision()


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
    assert lines[-2] == "B and A sit 3 and 4 tiers above E: with depth 2 they earn nothing."
    assert lines[-1] == "unbalanced ledger transactions: 0"


def one_line_error(*args, env=None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.exit_code, result.output.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["settle", "--now", "yesterday"],
            "Error: Invalid value for '--now': 'yesterday' is not an ISO date or time,"
            " e.g. 2026-11-11 or 2026-11-11T00:00:00+08:00",
        ),
        (
            [
                "rules",
                "simulate",
                "{draft}",
                "--shop",
                "{shop}",
                "--from",
                "2026-13-01",
                "--to",
                "2026-12-01",
            ],
            "Error: Invalid value for '--from': '2026-13-01' is not an ISO date or time,"
            " e.g. 2026-11-11 or 2026-11-11T00:00:00+08:00",
        ),
        (
            [
                "rules",
                "simulate",
                "{draft}",
                "--shop",
                "{shop}",
                "--from",
                "2026-12-01",
                "--to",
                "2026-11-01",
            ],
            "Error: --from (2026-12-01T00:00:00+00:00) must be before --to (2026-11-01T00:00:00+00:00)",
        ),
        (
            ["rules", "simulate", "{draft}", "--shop", "999", "--from", "2026-11-01", "--to", "2026-12-01"],
            "Error: not_found: no shop 999 (field shop_id)",
        ),
        (["rules", "list", "--shop", "999"], "Error: not_found: no shop 999 (field shop_id)"),
        (["rules", "validate", "{draft}", "--shop", "999"], "Error: not_found: no shop 999 (field shop_id)"),
        (["member", "list", "--shop", "999"], "Error: not_found: no shop 999 (field shop_id)"),
        (["inbox", "replay", "999"], "Error: no inbox event 999"),
    ],
)
def test_ordinary_mistakes_print_one_line_and_fail(runner, shop, tmp_path, args, message):
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps({"rules": []}))
    args = [a.format(draft=draft, shop=shop.id) for a in args]
    code, last = one_line_error(*args)
    assert code in (1, 2)
    assert last == message


def test_worker_without_redis_says_so(monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert one_line_error("worker", "--burst") == (
        1,
        "Error: invalid_config: RQ workers need REDIS_URL (e.g. redis://localhost:6379/0); "
        "the embedded default runs jobs in-process without Redis",
    )


def test_a_database_without_schema_says_to_migrate(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    code, last = one_line_error("shop", "list")
    assert code == 1
    assert last == (
        "Error: cannot use the database (no such table: shop);"
        " check DATABASE_URL and run `fenxiao db upgrade`"
    )


@pytest.mark.parametrize("command", ["serve", "up"])
def test_a_port_in_use_is_one_line(command, tmp_path, monkeypatch):
    import socket

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert one_line_error(command, "--port", str(port)) == (
            1,
            f"Error: port {port} on 127.0.0.1 is already in use; stop the other server or pick --port",
        )
    assert not (tmp_path / "fenxiao-demo.json").exists()


def test_send_sample_posts_to_the_demo_shops_webhook_url_and_fails_on_errors(tmp_path, monkeypatch):
    import responses

    monkeypatch.chdir(tmp_path)
    (tmp_path / "fenxiao-demo.json").write_text(
        json.dumps(
            {
                "shop_id": 7,
                "webhook_url": "http://shop.example:9000/webhooks/shopify/7",
                "webhook_secret": "s" * 32,
            }
        )
    )
    with responses.RequestsMock() as mock:
        mock.post("http://shop.example:9000/webhooks/shopify/7", json={"ok": True})
        result = CliRunner().invoke(main, ["send-sample", "orders_paid"])
        assert (result.exit_code, result.output) == (0, 'HTTP 200 {"ok": true}\n')
        sent = mock.calls[0].request
        assert sent.headers["X-Shopify-Topic"] == "orders/paid"
    with responses.RequestsMock() as mock:
        mock.post(
            "http://shop.example:9000/webhooks/shopify/7",
            status=401,
            json={"error": {"code": "bad_signature"}},
        )
        result = CliRunner().invoke(main, ["send-sample", "refunds_create"])
        assert result.exit_code == 1
        assert result.output.startswith("HTTP 401 ")
    code, last = one_line_error(
        "send-sample", "orders_paid", "--url", "http://127.0.0.1:1/webhooks/shopify/7"
    )
    assert (code, last) == (
        1,
        "Error: cannot reach http://127.0.0.1:1/webhooks/shopify/7 (ConnectionError);"
        " is `fenxiao up` running?",
    )
