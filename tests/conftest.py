"""Shared fixtures: the app on SQLite and on a real PostgreSQL, its client and CLI runner,
and factories for shops and signed webhook deliveries.

Every test that takes ``database_url`` (directly or through ``app``) runs twice: once on a
fresh SQLite file and once on PostgreSQL. The schema is always made by the Alembic
migrations, never by ``create_all``.
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

import migrations
import rules
from plugin import runtime
from plugin.app import create_app
from plugin.cli import main as cli_main
from plugin.cli.demo import signed_headers as shopify_headers
from plugin.config import Config
from plugin.db import Base
from plugin.shops import tenants
from tests import servers

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(platform: str, name: str) -> bytes:
    return (FIXTURES / platform / f"{name}.json").read_bytes()


def fixture_json(platform: str, name: str) -> dict:
    return json.loads(fixture_bytes(platform, name))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "fenxiao.sqlite3"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_server():
    started = servers.start_postgres()
    if started is None:
        pytest.skip("PostgreSQL binaries not found (run .ci/install-services.sh)")
    url, stop = started
    migrations.upgrade(url)
    yield url
    stop()


@pytest.fixture(scope="session")
def redis_server():
    started = servers.start_redis()
    if started is None:
        pytest.skip("redis-server not installed (run .ci/install-services.sh)")
    url, stop = started
    yield url
    stop()


def truncate_all(url: str) -> None:
    engine = create_engine(url)
    names = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path, sqlite_template) -> str:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        path = tmp_path / "fenxiao.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_server")
    truncate_all(url)
    return url


@pytest.fixture
def app(database_url):
    rules.clear_caches()  # every test compiles what it prices: nothing leans on an earlier test
    app = create_app(Config(database_url=database_url, jobs="inline", testing=True))
    yield app
    app.extensions[runtime.EXTENSION].database.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(database_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("FENXIAO_JOBS", "inline")
    cli = CliRunner()
    return lambda *args: cli.invoke(cli_main, list(args), catch_exceptions=False)


@pytest.fixture
def database(app):
    return app.extensions[runtime.EXTENSION].database


@dataclass
class ShopHandle:
    id: int
    secret: str
    api_key: str
    tier_depth: int
    after_sales_days: int
    platform: str = "shopify"

    @property
    def webhook_url(self) -> str:
        return f"/webhooks/{self.platform}/{self.id}"

    @property
    def auth(self) -> dict:
        return {"X-Api-Key": self.api_key}


@pytest.fixture
def make_shop(database):
    def make(**settings) -> ShopHandle:
        settings.setdefault("name", "Test shop")
        settings.setdefault("platform", "shopify")
        with database.transaction() as session:
            new = tenants.create_shop(session, **settings)
            shop = new.shop
            handle = (shop.id, new.webhook_secret, new.api_key, shop.tier_depth, shop.after_sales_days)
            return ShopHandle(*handle, platform=shop.platform)

    return make


@pytest.fixture
def shop(make_shop) -> ShopHandle:
    return make_shop()


@pytest.fixture
def send(client):
    """Post a signed Shopify delivery: ``send(shop, topic, payload_or_bytes, webhook_id=None)``."""

    def post(shop: ShopHandle, topic: str, payload, webhook_id: str | None = None, **header_overrides):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {**shopify_headers(topic, body, shop.secret, webhook_id), **header_overrides}
        return client.post(shop.webhook_url, data=body, headers=headers)

    return post


@pytest.fixture
def live_server(app):
    """The app served over real HTTP by waitress in a thread; yields its base URL."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.close()
    thread.join(timeout=5)
