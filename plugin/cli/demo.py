"""``fenxiao up`` (the Quick start: migrate, seed a demo shop, serve) and ``fenxiao demo``
(a scripted walk through tiers, settlement, refunds and idempotency on a fresh database)."""

from __future__ import annotations

import json
import secrets
import tempfile
import uuid
from datetime import timedelta
from importlib import resources
from pathlib import Path

import click
from sqlalchemy import select

from adapters.money import Money
from adapters.signing import shopify_headers
from plugin import runtime
from plugin.cli.platform_demo import PLATFORMS, agree, play
from plugin.cli.support import check_port_free, log_serving, shop_summary
from plugin.commissions import settlement
from plugin.config import Config
from plugin.ledger import journal
from plugin.members import bindings, directory
from plugin.orders.models import Order
from plugin.shops import tenants
from plugin.users import accounts

DEMO_FILE = Path("fenxiao-demo.json")
CHAIN = ("A", "B", "C", "D")  # D's code is the ref carried by the sample order; buyer E is new


def sample(name: str) -> bytes:
    return resources.files("plugin").joinpath("samples", "shopify", f"{name}.json").read_bytes()


def signed_headers(topic: str, body: bytes, secret: str, webhook_id: str | None = None) -> dict:
    return shopify_headers(topic, body, secret, webhook_id or str(uuid.uuid4()))


def seed_chain(session, shop_id: int) -> dict[str, int]:
    """Members A..D, each a distributor invited by the previous one; D owns code INV-B7K2."""
    ids, previous_code = {}, None
    for name in CHAIN:
        member = directory.member_for_identity(session, shop_id, "demo", f"member-{name}")
        code = "INV-B7K2" if name == "D" else f"INV-DEMO{name}"
        directory.make_distributor(session, shop_id, member.id, invite_code=code, actor="demo")
        if previous_code:
            bindings.bind(session, shop_id, member.id, previous_code, actor="demo")
        ids[name], previous_code = member.id, code
    return ids


def _refund_of_cap() -> bytes:
    refund = json.loads(sample("refunds_create"))
    refund["id"] += 1
    line = refund["refund_line_items"][0]
    line.update(id=line["id"] + 1, line_item_id=487817672276298555, quantity=1)
    line["subtotal_set"]["shop_money"]["amount"] = "100.00"
    return json.dumps(refund).encode()


def _balances_table(session, shop, ids: dict[str, int]) -> str:
    rows = [f"{'member':<10}{'pending':>10}{'available':>11}{'arrears':>9}"]
    for name, member_id in ids.items():
        b = journal.member_balances(session, shop.id, member_id, shop.currency)
        pending, available, arrears = (
            Money(b[kind], shop.currency).to_decimal() for kind in ("pending", "available", "arrears")
        )
        rows.append(f"{name:<10}{pending:>10}{available:>11}{arrears:>9}")
    return "\n".join(rows)


@click.command()
@click.option("--database-url", default=None, help="default: a new SQLite file in a temp dir")
@click.option(
    "--platform",
    type=click.Choice([*PLATFORMS, "all"]),
    default=None,
    help="play one purchase through this platform's intake (all: the four, and compare ledgers)",
)
def demo(database_url, platform):
    """Walk through paid → duplicate → completed → refund → settle → clawback, printing balances.

    With --platform, the same ¥398.00 purchase (a 2-tier chain, one tee refunded) is signed and
    delivered as that platform sends it; --platform all checks the four ledgers agree to the fen.
    """
    if platform is not None:
        results = play(list(PLATFORMS) if platform == "all" else [platform])
        if platform == "all":
            same = agree(results)
            click.echo(f"\nthe four ledgers agree to the fen: {'yes' if same else 'NO'}")
            if not same:
                raise SystemExit(1)
        return
    import migrations
    from plugin.app import create_app

    url = database_url or f"sqlite:///{tempfile.mkdtemp(prefix='fenxiao-demo-')}/demo.sqlite3"
    migrations.upgrade(url)
    app = create_app(Config(database_url=url, jobs="inline", testing=True))
    database = app.extensions[runtime.EXTENSION].database
    with database.transaction() as session:
        new = tenants.create_shop(session, name="Demo shop", platform="shopify", actor="demo")
        ids = seed_chain(session, new.shop.id)
    shop, secret, client = new.shop, new.webhook_secret, app.test_client()
    click.echo(
        f"shop {shop.id}: tier depth {shop.tier_depth}, after-sales window {shop.after_sales_days} days"
    )
    click.echo("invite chain A ← B ← C ← D; buyer E orders with D's ref code INV-B7K2 (¥398.00)\n")

    def post(step: str, topic: str, body: bytes, webhook_id: str | None = None) -> str:
        reply = client.post(
            f"/webhooks/shopify/{shop.id}", data=body, headers=signed_headers(topic, body, secret, webhook_id)
        )
        click.echo(f"{step:<48} → HTTP {reply.status_code}")
        return webhook_id

    def show():
        with database.transaction() as session:
            click.echo(_balances_table(session, shop, {**ids, "E (buyer)": _buyer(session, shop.id)}) + "\n")

    paid_id = post("orders/paid", "orders/paid", sample("orders_paid"), str(uuid.uuid4()))
    post("orders/paid again (same delivery id)", "orders/paid", sample("orders_paid"), paid_id)
    show()
    post("orders/fulfilled", "orders/fulfilled", sample("orders_fulfilled"))
    post("refunds/create: one tee ¥149.00 (before settlement)", "refunds/create", sample("refunds_create"))
    show()
    with database.transaction() as session:
        completed = session.scalar(select(Order.completed_at).where(Order.shop_id == shop.id))
    moment = completed + timedelta(days=shop.after_sales_days, seconds=1)
    click.echo(f"settlement sweep at {moment.isoformat()}: settled {settlement.settle_due(database, moment)}")
    click.echo(f"settlement sweep again: settled {settlement.settle_due(database, moment)}")
    show()
    post("refunds/create: the cap ¥100.00 (after settlement)", "refunds/create", _refund_of_cap())
    show()
    with database.transaction() as session:
        unbalanced = journal.unbalanced_transactions(session, shop.id)
    click.echo(f"B and A sit 3 and 4 tiers above E: with depth {shop.tier_depth} they earn nothing.")
    click.echo(f"unbalanced ledger transactions: {len(unbalanced)}")


DEMO_ADMIN = "admin@example.com"


def demo_admin(database, shop_id: int, base_url: str) -> dict:
    """The demo shop's admin user, with a fresh random password (kept in the demo file)."""
    password = secrets.token_urlsafe(12)
    with database.transaction() as session:
        accounts.add_user(
            session, email=DEMO_ADMIN, password=password, role="admin", shop_id=shop_id, actor="quickstart"
        )
    return {"url": f"{base_url.rstrip('/')}/admin/", "email": DEMO_ADMIN, "password": password}


def _buyer(session, shop_id: int) -> int:
    return session.scalar(select(Order.buyer_member_id).where(Order.shop_id == shop_id))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
def up(host, port):
    """Quick start: migrate the embedded database, seed a demo shop once, and serve."""
    from waitress import serve

    import migrations
    from plugin.app import create_app

    check_port_free(host, port)
    config = Config.from_env()
    url = runtime.normalize_database_url(config.database_url)
    migrations.upgrade(url)
    app = create_app(config)
    database = app.extensions[runtime.EXTENSION].database
    if not DEMO_FILE.exists():
        from plugin.cli.demo_data import seed as seed_orders

        with database.transaction() as session:
            new = tenants.create_shop(session, name="Demo shop", platform="shopify", actor="quickstart")
            seed_chain(session, new.shop.id)
        seeded = seed_orders(url, new.shop.id, new.webhook_secret, new.shop.timezone)
        click.echo(
            f"demo shop seeded: {seeded.orders} orders and {seeded.refunds} refunds over the last 60 days"
        )
        DEMO_FILE.write_text(json.dumps(shop_summary(new, f"http://{host}:{port}"), indent=2))
    demo_shop = json.loads(DEMO_FILE.read_text())
    if "workbench" not in demo_shop:
        demo_shop["workbench"] = demo_admin(database, demo_shop["shop_id"], f"http://{host}:{port}")
        DEMO_FILE.write_text(json.dumps(demo_shop, indent=2))
    click.echo(f"demo shop (also in {DEMO_FILE}):\n{DEMO_FILE.read_text()}")
    login = demo_shop["workbench"]
    click.echo(f"workbench: {login['url']}  log in as {login['email']} / {login['password']}")
    click.echo("post a signed sample order:  fenxiao send-sample orders_paid")
    click.echo(f"serving on http://{host}:{port} (Ctrl-C stops)")
    log_serving()
    serve(app, host=host, port=port, threads=8)


SAMPLE_TOPICS = {
    "orders_paid": "orders/paid",
    "orders_fulfilled": "orders/fulfilled",
    "refunds_create": "refunds/create",
}


@click.command("send-sample")
@click.argument("name", type=click.Choice(sorted(SAMPLE_TOPICS)))
@click.option("--url", default=None, help="the webhook URL (default: webhook_url in the shop file)")
@click.option(
    "--shop-file", type=click.Path(exists=True, path_type=Path), default=DEMO_FILE, show_default=True
)
def send_sample(name, url, shop_file):
    """Sign a sample Shopify payload with the demo shop's secret and post it to its webhook URL."""
    import requests

    try:
        shop = json.loads(shop_file.read_text())
        url = url or shop["webhook_url"]
        secret = shop["webhook_secret"]
    except (ValueError, KeyError, TypeError):
        raise click.ClickException(f"{shop_file} is not a shop file written by `fenxiao up`") from None
    body = sample(name)
    try:
        reply = requests.post(
            url, data=body, headers=signed_headers(SAMPLE_TOPICS[name], body, secret), timeout=10
        )
    except requests.RequestException as err:
        raise click.ClickException(
            f"cannot reach {url} ({type(err).__name__}); is `fenxiao up` running?"
        ) from None
    click.echo(f"HTTP {reply.status_code} {reply.text.strip()}")
    if not reply.ok:
        raise SystemExit(1)
