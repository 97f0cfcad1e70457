"""fenxiao inside a host's own Flask app (``Fenxiao(app)``): webhooks, the API, the workbench and
the CLI under a prefix, on fenxiao's database or the host's engine, and the host's own routes,
errors, limits and templates left as the host made them."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from argon2 import PasswordHasher
from flask import Flask, render_template_string, request
from flask_login import LoginManager
from flask_smorest import Api, abort
from flask_smorest import Blueprint as SmorestBlueprint
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import create_engine, event, func, inspect, select, text

from adapters.registry import get_adapter
from plugin.config import Config
from plugin.db import _sqlite_begin
from plugin.errors import InvalidConfig
from plugin.extension import Fenxiao
from plugin.inbox import mailbox
from plugin.inbox.models import InboxEvent
from plugin.orders.models import Order
from plugin.shops import tenants
from plugin.users import accounts
from tests import servers
from tests.conftest import fixture_bytes, shopify_headers

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "flask_host" / "app.py"
ORDER_ID = "820982911946154508"  # the sample orders_paid payload's order
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct horse battery"


def host_app(**fenxiao_options) -> Flask:
    """A shop's own app: a front page, a form endpoint, a page with its own ``current_user``,
    its own 404 page, and a bug; fenxiao mounted under /fenxiao."""
    app = Flask("host")
    app.config.update(SECRET_KEY="the-host-app-secret-key", TESTING=True)

    @app.get("/")
    def home():
        return "the host's front page"

    @app.post("/contact")
    def contact():
        return {"received": len(request.get_data())}

    @app.get("/account")
    def account():
        return render_template_string("signed in as {{ current_user }}")

    @app.get("/bug")
    def bug():
        raise LookupError("the host's own bug")

    @app.context_processor
    def host_user():
        return {"current_user": "host customer 7"}

    @app.errorhandler(404)
    def host_not_found(err):
        return "the host's 404 page", 404

    Fenxiao(app, url_prefix="/fenxiao", **fenxiao_options)
    return app


@pytest.fixture
def host(database_url):
    app = host_app(config=Config(database_url=database_url, jobs="inline", testing=True))
    yield app
    Fenxiao.runtime(app).close()


def new_shop(database, secret: str = "host-shop-webhook-secret") -> tenants.NewShop:
    with database.transaction() as session:
        return tenants.create_shop(session, name="Host shop", platform="shopify", webhook_secret=secret)


def post_order(client, url: str, secret: str):
    body = fixture_bytes("shopify", "orders_paid")
    return client.post(url, data=body, headers=shopify_headers("orders/paid", body, secret))


def stored(database) -> tuple[list[str], list[tuple[str, int]]]:
    with database.transaction() as session:
        return (
            session.scalars(select(InboxEvent.status)).all(),
            [tuple(row) for row in session.execute(select(Order.external_id, Order.paid_total))],
        )


def test_the_hosts_own_routes_errors_and_limits_stay_the_hosts(host):
    client = host.test_client()
    assert client.get("/").get_data(as_text=True) == "the host's front page"
    missing = client.get("/no-such-page")
    assert (missing.status_code, missing.get_data(as_text=True)) == (404, "the host's 404 page")
    # a form (not JSON), without a CSRF token, larger than fenxiao's 1 MiB limit: the host's rules
    big = b"x" * (2 * 1024 * 1024)
    reply = client.post("/contact", data=big, content_type="application/x-www-form-urlencoded")
    assert (reply.status_code, reply.get_json()) == (200, {"received": len(big)})
    # the host's template variable is not replaced by Flask-Login's current_user
    assert client.get("/account").get_data(as_text=True) == "signed in as host customer 7"
    # fenxiao's catch-all JSON error handler does not swallow the host's exceptions
    with pytest.raises(LookupError, match="the host's own bug"):
        client.get("/bug")
    assert "MAX_CONTENT_LENGTH" not in host.config or host.config["MAX_CONTENT_LENGTH"] is None
    assert host.config["SECRET_KEY"] == "the-host-app-secret-key"


def test_fenxiaos_urls_under_the_prefix_answer_as_fenxiao_does(host):
    client = host.test_client()
    shop = new_shop(Fenxiao.runtime(host).database).shop
    for path, status, code in (
        ("/fenxiao/no-such-thing", 404, "not_found"),
        (f"/fenxiao/webhooks/shopify/{shop.id}", 405, "method_not_allowed"),
        (f"/fenxiao/api/v1/shops/{2**63}/orders/1", 404, "not_found"),
        (f"/fenxiao/api/v1/shops/{shop.id}/orders/nope", 401, "unauthorized"),
    ):
        reply = client.get(path)
        assert (reply.status_code, reply.get_json()["error"]["code"]) == (status, code), path
    reply = client.get(f"/fenxiao/api/v1/shops/{shop.id}/orders/nope", headers={"X-Api-Key": "wrong"})
    assert reply.status_code == 401
    # fenxiao's body limit holds on its own routes
    body = b"{" + b" " * (1024 * 1024) + b"}"
    reply = client.post(
        f"/fenxiao/webhooks/shopify/{shop.id}", data=body, headers=shopify_headers("orders/paid", body, "x")
    )
    assert (reply.status_code, reply.get_json()["error"]["code"]) == (413, "request_entity_too_large")
    # and nothing of fenxiao's answers outside its prefix
    assert client.get("/healthz").get_data(as_text=True) == "the host's 404 page"
    assert client.get("/fenxiao/healthz").get_json()["status"] == "ok"


def test_a_signed_webhook_under_the_prefix_is_accepted_processed_and_read_back(host):
    client = host.test_client()
    database = Fenxiao.runtime(host).database
    new = new_shop(database)
    url = f"/fenxiao/webhooks/shopify/{new.shop.id}"
    reply = post_order(client, url, "host-shop-webhook-secret")
    assert (reply.status_code, reply.get_json()) == (200, {"ok": True})
    assert stored(database) == (["processed"], [(ORDER_ID, 39800)])
    assert post_order(client, url, "not-the-shops-secret-at-all").status_code == 401
    assert (
        post_order(client, f"/webhooks/shopify/{new.shop.id}", "host-shop-webhook-secret").status_code == 404
    )
    assert stored(database) == (["processed"], [(ORDER_ID, 39800)])

    api = f"/fenxiao/api/v1/shops/{new.shop.id}"
    order = client.get(f"{api}/orders/{ORDER_ID}", headers={"X-Api-Key": new.api_key})
    assert (order.status_code, order.get_json()["paid_total"]) == (200, 39800)
    missing = client.get(f"{api}/orders/nope", headers={"X-Api-Key": new.api_key})
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "not_found")
    form = client.post(f"{api}/members", data={"platform": "shopify"}, headers={"X-Api-Key": new.api_key})
    assert (form.status_code, form.get_json()["error"]["field"]) == (400, "body")
    member = client.post(
        f"{api}/members",
        json={"platform": "shopify", "external_id": "c-1"},
        headers={"X-Api-Key": new.api_key},
    )
    assert member.status_code == 201


def test_the_openapi_document_lists_the_prefixed_paths(host):
    doc = host.test_client().get("/fenxiao/api/v1/openapi.json").get_json()
    paths = set(doc["paths"])
    assert {
        "/fenxiao/api/v1/shops/{shop_id}/orders/{external_id}",
        "/fenxiao/api/v1/shops/{shop_id}/members/{member_id}/balances",
        "/fenxiao/api/v1/shops/{shop_id}/bindings",
        "/fenxiao/api/v1/shops/{shop_id}/rules/validate",
    } <= paths
    assert "/fenxiao/webhooks/generic/{shop_id}" in paths  # the generic format, mounted where it is
    assert all(path.startswith(("/fenxiao/api/v1/shops/{shop_id}/", "/fenxiao/webhooks/")) for path in paths)
    assert set(doc["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    assert host.test_client().get("/api/v1/openapi.json").status_code == 404


@pytest.fixture
def quick_password_hashes(monkeypatch):
    """Argon2id at its lowest cost: what is tested is the login, not the hash's cost."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def test_the_workbench_renders_and_logs_in_under_the_prefix(host, quick_password_hashes):
    client = host.test_client()
    new = new_shop(Fenxiao.runtime(host).database)
    with Fenxiao.runtime(host).database.transaction() as session:
        accounts.add_user(
            session, email="op@example.com", password=PASSWORD, role="admin", shop_id=new.shop.id
        )

    away = client.get("/fenxiao/admin/")
    assert (away.status_code, away.headers["Location"]) == (302, "/fenxiao/admin/login?next=/fenxiao/admin/")
    page = client.get("/fenxiao/admin/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'action="/fenxiao/admin/login"' in html
    assert "/fenxiao/admin/static/admin.css" in html
    assert client.get("/fenxiao/admin/static/admin.css").status_code == 200

    refused = client.post("/fenxiao/admin/login", data={"email": "op@example.com", "password": PASSWORD})
    assert refused.status_code == 400  # no CSRF token
    token = TOKEN.search(html).group(1)
    reply = client.post(
        "/fenxiao/admin/login", data={"csrf_token": token, "email": "op@example.com", "password": PASSWORD}
    )
    assert (reply.status_code, reply.headers["Location"]) == (302, "/fenxiao/admin/")
    dashboard = client.get("/fenxiao/admin/")
    assert dashboard.status_code == 200
    assert "op@example.com" in dashboard.get_data(as_text=True)
    settings = client.get("/fenxiao/admin/settings/").get_data(as_text=True)
    assert f"http://localhost/fenxiao/webhooks/shopify/{new.shop.id}" in settings
    # the host's pages still see the host's own current_user
    assert client.get("/account").get_data(as_text=True) == "signed in as host customer 7"


def test_a_hosts_csrf_protection_keeps_guarding_the_host_and_not_the_signed_webhooks(
    tmp_path, sqlite_template, quick_password_hashes
):
    """A host with Flask-WTF's app-wide CSRFProtect, set up after fenxiao: its forms stay
    protected, the workbench's form passes with its token, webhooks and the API are exempt."""
    config = Config(database_url=sqlite_copy(tmp_path, sqlite_template), jobs="inline", testing=True)
    app = host_app(config=config)
    CSRFProtect(app)
    client = app.test_client()
    try:
        assert client.post("/contact", data={"message": "hi"}).status_code == 400  # the host's check
        new = new_shop(Fenxiao.runtime(app).database)
        webhook = post_order(client, f"/fenxiao/webhooks/shopify/{new.shop.id}", "host-shop-webhook-secret")
        assert webhook.status_code == 200
        member = client.post(
            f"/fenxiao/api/v1/shops/{new.shop.id}/members",
            json={"platform": "shopify", "external_id": "c-1"},
            headers={"X-Api-Key": new.api_key},
        )
        assert member.status_code == 201
        with Fenxiao.runtime(app).database.transaction() as session:
            accounts.add_user(
                session, email="op@example.com", password=PASSWORD, role="admin", shop_id=new.shop.id
            )
        token = TOKEN.search(client.get("/fenxiao/admin/login").get_data(as_text=True)).group(1)
        login = {"csrf_token": token, "email": "op@example.com", "password": PASSWORD}
        assert client.post("/fenxiao/admin/login", data=login).status_code == 302
    finally:
        Fenxiao.runtime(app).close()


def test_a_hosts_own_flask_smorest_api_keeps_its_document_and_errors(tmp_path, sqlite_template):
    app = Flask("host")
    app.config.update(
        SECRET_KEY="the-host-app-secret-key",
        API_TITLE="host",
        API_VERSION="1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/docs",
    )
    api = Api(app)
    products = SmorestBlueprint("products", __name__, url_prefix="/products")

    @products.route("/<int:product_id>")
    def product(product_id):
        abort(404, message="no such product")

    api.register_blueprint(products)
    Fenxiao(
        app, config=Config(database_url=sqlite_copy(tmp_path, sqlite_template), jobs="inline", testing=True)
    )
    client = app.test_client()
    try:
        assert set(client.get("/docs/openapi.json").get_json()["paths"]) == {"/products/{product_id}"}
        fenxiao_paths = client.get("/fenxiao/api/v1/openapi.json").get_json()["paths"]
        assert fenxiao_paths and all(path.startswith("/fenxiao/") for path in fenxiao_paths)
        missing = client.get("/products/7")  # flask-smorest's own error shape, not fenxiao's
        assert (missing.status_code, missing.get_json()) == (
            404,
            {"code": 404, "status": "Not Found", "message": "no such product"},
        )
        fenxiao_missing = client.get("/fenxiao/api/v1/shops/1/orders/x", headers={"X-Api-Key": "k"})
        assert fenxiao_missing.get_json()["error"]["code"] == "not_found"  # fenxiao's own shape
    finally:
        Fenxiao.runtime(app).close()


def test_only_fenxiaos_requests_are_logged_as_fenxiaos(host, caplog):
    client = host.test_client()
    with caplog.at_level(logging.INFO, logger="fenxiao.http"):
        client.get("/")
        client.get("/no-such-page")
        client.get("/fenxiao/healthz")
        client.get("/fenxiao/no-such-thing")
    lines = [r.getMessage().rsplit(" ", 2)[0] for r in caplog.records if r.name == "fenxiao.http"]
    assert lines == ["GET /fenxiao/healthz 200", "GET /fenxiao/no-such-thing 404"]


def sqlite_copy(tmp_path, sqlite_template) -> str:
    path = tmp_path / "fenxiao.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def test_a_host_with_its_own_login_manager_mounts_fenxiao_without_the_workbench(tmp_path, sqlite_template):
    config = Config(database_url=sqlite_copy(tmp_path, sqlite_template), jobs="inline", testing=True)
    app = Flask("host")
    app.config["SECRET_KEY"] = "the-host-app-secret-key"
    LoginManager(app)
    with pytest.raises(InvalidConfig, match=r"Flask-Login.*workbench=False"):
        Fenxiao(app, config=config)
    assert "fenxiao" not in app.extensions and not app.blueprints

    app = Flask("host")
    app.config["SECRET_KEY"] = "the-host-app-secret-key"
    LoginManager(app)
    Fenxiao(app, config=config, workbench=False)
    client = app.test_client()
    new = new_shop(Fenxiao.runtime(app).database)
    assert (
        post_order(client, f"/fenxiao/webhooks/shopify/{new.shop.id}", "host-shop-webhook-secret").status_code
        == 200
    )
    assert client.get("/fenxiao/admin/login").get_json()["error"]["code"] == "not_found"
    Fenxiao.runtime(app).close()


def test_a_login_manager_set_up_after_fenxiao_does_not_get_the_workbench(tmp_path, sqlite_template):
    app = host_app(
        config=Config(database_url=sqlite_copy(tmp_path, sqlite_template), jobs="inline", testing=True)
    )
    LoginManager(app)
    try:
        reply = app.test_client().get("/fenxiao/admin/login")
        assert (reply.status_code, reply.get_json()["error"]["code"]) == (500, "internal_error")
        assert app.test_client().get("/").status_code == 200
    finally:
        Fenxiao.runtime(app).close()


def test_a_host_jinja_filter_of_the_same_name_is_refused(tmp_path, sqlite_template):
    app = Flask("host")
    app.jinja_env.filters["money"] = lambda value: f"${value}"
    config = Config(database_url=sqlite_copy(tmp_path, sqlite_template), jobs="inline", testing=True)
    with pytest.raises(InvalidConfig, match="filter 'money'"):
        Fenxiao(app, config=config)


def test_fenxiao_keeps_its_tables_on_the_hosts_engine(database_url):
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE host_note (id INTEGER PRIMARY KEY, body TEXT)"))
        conn.execute(text("INSERT INTO host_note (id, body) VALUES (1, 'the host''s own row')"))
    try:
        fenxiao = Fenxiao(config=Config(jobs="inline", testing=True), engine=engine)
        app = Flask("host")
        app.config["SECRET_KEY"] = "the-host-app-secret-key"
        fenxiao.init_app(app)
        rt = Fenxiao.runtime(app)
        assert rt.config.database_url == engine.url.render_as_string(hide_password=False)
        assert rt.database.engine.pool is engine.pool  # the host's pool, not a second one
        new = new_shop(rt.database)
        reply = post_order(
            app.test_client(), f"/fenxiao/webhooks/shopify/{new.shop.id}", "host-shop-webhook-secret"
        )
        assert reply.status_code == 200
        assert stored(rt.database) == (["processed"], [(ORDER_ID, 39800)])
        # the host's engine is left as the host made it, and still the host's after fenxiao closes
        assert not event.contains(engine, "begin", _sqlite_begin)
        rt.close()
        with engine.connect() as conn:
            assert conn.execute(text("SELECT body FROM host_note")).scalar_one() == "the host's own row"
            assert conn.execute(select(func.count()).select_from(Order)).scalar_one() == 1
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE host_note"))
        engine.dispose()


def test_the_apps_fenxiao_database_url_wins_over_the_hosts_database_url(
    tmp_path, sqlite_template, monkeypatch
):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'the-hosts-own.sqlite3'}")
    monkeypatch.setenv("FENXIAO_JOBS", "inline")
    app = Flask("host")
    app.config.update(
        SECRET_KEY="the-host-app-secret-key", FENXIAO_DATABASE_URL=sqlite_copy(tmp_path, sqlite_template)
    )
    Fenxiao(app)
    rt = Fenxiao.runtime(app)
    try:
        assert (rt.config.database_url, rt.queue.kind) == (app.config["FENXIAO_DATABASE_URL"], "inline")
        new = new_shop(rt.database)
        reply = post_order(app.test_client(), f"/fenxiao/webhooks/shopify/{new.shop.id}", new.webhook_secret)
        assert reply.status_code == 200
        assert stored(rt.database) == (["processed"], [(ORDER_ID, 39800)])
        assert not (tmp_path / "the-hosts-own.sqlite3").exists()
    finally:
        rt.close()


def test_the_sweeps_run_in_the_host_as_in_fenxiaos_own_app(tmp_path, sqlite_template):
    """Jobs on the in-process thread (the embedded default) with the sweep timer started: an
    event stored without waking anyone is drained by the inbox sweep."""
    config = Config(database_url=sqlite_copy(tmp_path, sqlite_template), jobs="thread", sweep_seconds=1)
    app = Flask("host")
    app.config["SECRET_KEY"] = "the-host-app-secret-key"
    Fenxiao(app, config=config)
    rt = Fenxiao.runtime(app)
    try:
        new = new_shop(rt.database)
        body = fixture_bytes("shopify", "orders_paid")
        headers = shopify_headers("orders/paid", body, "host-shop-webhook-secret")
        with rt.database.transaction() as session:
            delivery = get_adapter("shopify").describe(headers, body)
            assert mailbox.store(session, new.shop.id, "shopify", delivery, headers, body) is not None
        assert servers.wait_until(lambda: stored(rt.database) == (["processed"], [(ORDER_ID, 39800)]), 30)
    finally:
        rt.close()


def load_example():
    spec = importlib.util.spec_from_file_location("fenxiao_example_flask_host", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def example(tmp_path, monkeypatch):
    """The example host app on a new, empty SQLite file in a scratch directory, jobs inline."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'shop.sqlite3'}")
    monkeypatch.setenv("FENXIAO_JOBS", "inline")
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = load_example().create_app()
    yield app
    Fenxiao.runtime(app).close()


def test_the_fenxiao_commands_run_under_the_hosts_flask_command(example, tmp_path):
    cli = example.test_cli_runner()
    assert not inspect(create_engine(os.environ["DATABASE_URL"])).get_table_names()

    upgraded = cli.invoke(args=["fenxiao", "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert upgraded.output.startswith("database at revision ")
    assert {"shop", "orders", "inbox_event", "ledger_entry"} <= set(
        inspect(create_engine(os.environ["DATABASE_URL"])).get_table_names()
    )

    added = cli.invoke(
        args=["fenxiao", "shop", "add", "--platform", "shopify", "--name", "Tea house"]
        + ["--webhook-secret", "tea-house-webhook-secret", "--base-url", "https://tea.example/"]
    )
    assert added.exit_code == 0, added.output
    shop = json.loads(added.output)
    assert shop["webhook_url"] == f"https://tea.example/fenxiao/webhooks/shopify/{shop['shop_id']}"
    listed = cli.invoke(args=["fenxiao", "shop", "list"])
    assert "Tea house" in listed.output

    client = example.test_client()
    path = shop["webhook_url"].removeprefix("https://tea.example")
    assert post_order(client, path, "tea-house-webhook-secret").get_json() == {"ok": True}
    assert stored(Fenxiao.runtime(example).database) == (["processed"], [(ORDER_ID, 39800)])
    settled = cli.invoke(args=["fenxiao", "settle"])
    assert (settled.exit_code, settled.output.strip().splitlines()[-1]) == (0, "settled 0 commission(s)")

    assert cli.invoke(args=["fenxiao", "up"]).exit_code == 2  # fenxiao's own server: not here
    assert client.get("/").status_code == 200
    missing = client.get("/no-such-page")
    assert (missing.status_code, missing.mimetype) == (404, "text/html")


def test_the_example_host_serves_a_webhook_over_real_http(tmp_path):
    """``flask --app examples/flask_host/app.py`` as a merchant runs it: migrate, add a shop,
    ``flask run``, and a signed delivery over HTTP processed by the job thread."""
    port = servers.find_free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite3'}",
        **dict.fromkeys(("FENXIAO_JOBS", "REDIS_URL", "FLASK_APP", "FLASK_DEBUG")),  # the defaults
    }
    flask = [sys.executable, "-m", "flask", "--app", str(EXAMPLE)]

    def run(*args: str) -> str:
        merged = {key: value for key, value in {**os.environ, **env}.items() if value is not None}
        done = subprocess.run(
            [*flask, *args], cwd=tmp_path, env=merged, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert run("fenxiao", "db", "upgrade").startswith("database at revision ")
    shop = json.loads(
        run(
            *("fenxiao", "shop", "add", "--platform", "shopify", "--name", "Tea house"),
            *("--webhook-secret", "tea-house-webhook-secret", "--base-url", base),
        )
    )
    server = servers.start_process(
        [*flask, "run", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        ready_check=lambda: requests.get(base + "/", timeout=1).status_code == 200,
        name="flask-host",
    )
    try:
        body = fixture_bytes("shopify", "orders_paid")
        reply = requests.post(
            shop["webhook_url"],
            data=body,
            headers=shopify_headers("orders/paid", body, "tea-house-webhook-secret"),
            timeout=10,
        )
        assert (reply.status_code, reply.json()) == (200, {"ok": True})
        order_url = f"{base}/fenxiao/api/v1/shops/{shop['shop_id']}/orders/{ORDER_ID}"
        key = {"X-Api-Key": shop["api_key"]}
        assert servers.wait_until(
            lambda: requests.get(order_url, headers=key, timeout=2).status_code == 200, 30
        )
        assert requests.get(order_url, headers=key, timeout=2).json()["paid_total"] == 39800
        assert requests.get(f"{base}/fenxiao/healthz", timeout=2).json()["jobs"] == "thread"
        assert requests.get(f"{base}/products", timeout=2).status_code == 200
        missing = requests.get(f"{base}/no-such-page", timeout=2)
        assert (missing.status_code, missing.headers["Content-Type"].split(";")[0]) == (404, "text/html")
    finally:
        server.stop()
