"""``fenxiao shop add`` for every platform and ``fenxiao shop connect``."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from plugin.platforms.models import PlatformConnection
from plugin.shops.models import Shop, ShopSecret

SECRET = "app-secret-0123456789abcdef"


def connection(database, shop_id):
    with database.transaction() as session:
        row = session.get(PlatformConnection, shop_id)
        return None if row is None else (row.platform, row.status, row.client_id, row.shop_ref, row.api_base)


@pytest.mark.parametrize("platform", ["youzan", "weimob"])
def test_a_platform_that_signs_with_its_app_needs_the_app_id_and_secret(runner, database, platform):
    result = runner("shop", "add", "--platform", platform, "--name", "x", "--client-id", "app-1")
    assert result.exit_code == 2
    assert "--client-id and --client-secret" in result.output
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Shop)) == 0


@pytest.mark.parametrize(("platform", "ref"), [("youzan", "98523"), ("weimob", "4020112618957")])
def test_shop_add_records_the_app_and_the_shops_platform_id(runner, database, platform, ref):
    result = runner(
        "shop", "add", "--platform", platform, "--name", "Demo", "--client-id", "app-1",
        "--client-secret", SECRET, "--shop-ref", ref, "--api-base", "http://127.0.0.1:9",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["webhook_url"].endswith(f"/webhooks/{platform}/{summary['shop_id']}")
    assert summary["webhook_secret"] == SECRET and "install_url" not in summary
    assert connection(database, summary["shop_id"]) == (platform, "new", "app-1", ref, "http://127.0.0.1:9")
    with database.transaction() as session:
        assert (
            session.scalar(select(ShopSecret.secret).where(ShopSecret.shop_id == summary["shop_id"]))
            == SECRET
        )


def test_a_shopify_shop_with_its_app_gets_the_install_address(runner, database):
    result = runner(
        "shop", "add", "--platform", "shopify", "--name", "S", "--client-id", "shpca",
        "--client-secret", SECRET, "--shop-ref", "demo.myshopify.com", "--base-url", "https://fx.example.com",
    )  # fmt: skip
    summary = json.loads(result.output)
    assert summary["install_url"] == f"https://fx.example.com/install/shopify/{summary['shop_id']}"
    assert connection(database, summary["shop_id"])[1:4] == ("new", "shpca", "demo.myshopify.com")


def test_a_generic_shop_needs_no_app(runner, database):
    summary = json.loads(runner("shop", "add", "--platform", "generic", "--name", "In-house").output)
    assert summary["platform"] == "generic" and len(summary["webhook_secret"]) >= 32
    assert connection(database, summary["shop_id"]) is None
    connect = runner("shop", "connect", "--shop", str(summary["shop_id"]))
    assert connect.exit_code == 0 and "nothing to connect" in connect.output


def test_connect_keeps_what_is_not_given_and_prints_the_shopify_install_address(runner, database):
    add = [
        "shop",
        "add",
        "--platform",
        "shopify",
        "--name",
        "S",
        "--client-id",
        "shpca",
        "--shop-ref",
        "a.myshopify.com",
    ]
    shop_id = json.loads(runner(*add).output)["shop_id"]
    result = runner("shop", "connect", "--shop", str(shop_id), "--shop-ref", "b.myshopify.com")
    assert result.exit_code == 0
    assert (
        result.output.strip()
        == f"open http://127.0.0.1:8000/install/shopify/{shop_id} to install the app on the shop"
    )
    assert connection(database, shop_id)[2:4] == ("shpca", "b.myshopify.com")


def test_connect_refuses_an_unknown_shop(runner):
    result = runner("shop", "connect", "--shop", "999")
    assert result.exit_code == 2 and "no shop 999" in result.output
