"""``fenxiao demo --platform NAME``: the same purchase through any platform's real intake.

Buyer C pays ¥398.00 (2 tees at ¥149.00 and a ¥120.00 cap discounted to ¥100.00); the same
paid message is delivered twice; one tee is refunded; the order completes. C was invited by B,
whom A invited, so with the default depth of 2 B earns tier 1 and A tier 2. Each platform gets
its own fresh shop and database; every message is signed as that platform signs it and posted
to the webhook endpoint, and Weimob's order and after-sales records are fetched from a local
stand-in of its API (``fake_platforms.FakeWeimob``). ``--platform all`` runs the four and
checks that their ledgers agree to the fen.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import click
from sqlalchemy import select

from adapters.generic import generic_headers
from adapters.money import Money
from adapters.signing import shopify_headers
from adapters.weimob import signed_envelope
from adapters.youzan import youzan_headers
from plugin import runtime
from plugin.cli.fake_platforms import FakeWeimob
from plugin.commissions.models import Commission
from plugin.config import Config
from plugin.ledger import journal
from plugin.members import bindings, directory
from plugin.orders.models import Order
from plugin.platforms import connections
from plugin.shops import tenants

PLATFORMS = ("shopify", "youzan", "weimob", "generic")
SECRET = "demo-app-secret-0123456789abcdef"  # noqa: S105 - the demo's own throwaway app
CLIENT_ID = "demo-client-id"
# The buyer as each platform names them (Shopify's customer id, Youzan's yz_open_id, Weimob's
# wid, the generic format's buyer id): bound under B before buying, as Youzan and Weimob carry
# no referral code in their messages.
BUYERS = {
    "shopify": "115310627314723954",
    "youzan": "LnhGm4rh576452722916618240",
    "weimob": "4464",
    "generic": "U-10003",
}
SHOP_REFS = {"youzan": "98523", "weimob": "4020112618957", "shopify": "demo-shop.myshopify.com"}


def _sample(platform: str, name: str) -> bytes:
    return resources.files("plugin").joinpath("samples", platform, f"{name}.json").read_bytes()


@dataclass(frozen=True)
class Message:
    step: str
    body: bytes
    headers: dict
    before: Callable[[], None] | None = None  # what changes on the platform before it is sent


def _messages(platform: str, fake: FakeWeimob | None) -> list[Message]:
    """The story's messages, signed as ``platform`` signs them, in the order they are sent."""
    if platform == "shopify":
        steps = [("paid", "orders/paid", "orders_paid"), ("refund", "refunds/create", "refunds_create")]
        steps.append(("completed", "orders/fulfilled", "orders_fulfilled"))
        made = []
        for step, topic, name in steps:
            body = _sample("shopify", name)
            made.append(Message(step, body, shopify_headers(topic, body, SECRET, str(uuid.uuid4()))))
        return made
    if platform == "youzan":
        names = [("paid", "trade_TradeBuyerPay"), ("refund", "trade_refund_RefundSuccess")]
        names.append(("completed", "trade_TradeSuccess"))
        return [
            Message(step, body, youzan_headers(CLIENT_ID, body, SECRET))
            for step, body in ((step, _sample("youzan", name)) for step, name in names)
        ]
    if platform == "weimob":

        def completed() -> None:
            fake.order_status = 8  # the buyer confirmed receipt: the platform's record says so

        names = [("paid", "order_paid", None), ("refund", "rights_refund", None)]
        names.append(("completed", "order_completed", completed))
        return [
            Message(step, signed_envelope(json.loads(_sample("weimob", name)), CLIENT_ID, SECRET), {}, before)
            for step, name, before in names
        ]
    topics = [("paid", "order.paid", "order_paid"), ("refund", "refund.created", "refund_created")]
    topics.append(("completed", "order.completed", "order_completed"))
    made = []
    for step, topic, name in topics:
        body = _sample("generic", name)
        made.append(Message(step, body, generic_headers(topic, body, SECRET, str(uuid.uuid4()))))
    return made


def run_story(platform: str, echo: Callable[[str], None] = click.echo) -> dict:
    """Play the purchase through ``platform`` on a fresh database; returns what it came to."""
    import migrations
    from plugin.app import create_app

    url = f"sqlite:///{tempfile.mkdtemp(prefix=f'fenxiao-demo-{platform}-')}/demo.sqlite3"
    migrations.upgrade(url)
    app = create_app(Config(database_url=url, jobs="inline", testing=True))
    database = app.extensions[runtime.EXTENSION].database
    fake = FakeWeimob() if platform == "weimob" else None
    try:
        with database.transaction() as session:
            shop = tenants.create_shop(
                session, name=f"Demo {platform}", platform=platform, webhook_secret=SECRET, actor="demo"
            ).shop
            if platform != "generic":
                connections.configure(
                    session,
                    shop,
                    client_id=CLIENT_ID,
                    shop_ref=SHOP_REFS[platform],
                    api_base=fake.base if fake else None,
                    actor="demo",
                )
            chain = _seed_chain(session, shop.id, platform)
        client, url_path = app.test_client(), f"/webhooks/{platform}/{shop.id}"
        echo(f"{platform}: shop {shop.id}, A ← B ← buyer C, depth {shop.tier_depth}")
        for message in _messages(platform, fake):
            if message.before:
                message.before()
            headers = {"Content-Type": "application/json", **message.headers}
            for attempt in ("", " (delivered again)") if message.step == "paid" else ("",):
                reply = client.post(url_path, data=message.body, headers=headers)
                answer = reply.get_data(as_text=True).strip()
                echo(f"  {message.step + attempt:<26} → HTTP {reply.status_code} {answer}")
        with database.transaction() as session:
            order = session.scalar(select(Order).where(Order.shop_id == shop.id))
            result = {
                "order": order.status if order else None,
                "paid": order.paid_total if order else 0,
                "refunded": order.refunded_total if order else 0,
                **{
                    name: journal.member_balances(session, shop.id, member_id, shop.currency)
                    for name, member_id in chain.items()
                },
                "commissions": sorted(
                    (c.tier, c.amount, c.reversed, c.status)
                    for c in session.scalars(select(Commission).where(Commission.shop_id == shop.id))
                ),
                "unbalanced": len(journal.unbalanced_transactions(session, shop.id)),
            }
    finally:
        if fake:
            fake.close()
        database.dispose()
    return result


def _seed_chain(session, shop_id: int, platform: str) -> dict[str, int]:
    """Distributors A and B (invited by A) and buyer C bound under B, as the platform names C."""
    a = directory.member_for_identity(session, shop_id, "demo", "member-A")
    directory.make_distributor(session, shop_id, a.id, invite_code="INV-DEMOA", actor="demo")
    b = directory.member_for_identity(session, shop_id, "demo", "member-B")
    directory.make_distributor(session, shop_id, b.id, invite_code="INV-DEMOB", actor="demo")
    bindings.bind(session, shop_id, b.id, "INV-DEMOA", actor="demo")
    c = directory.member_for_identity(session, shop_id, platform, BUYERS[platform])
    bindings.bind(session, shop_id, c.id, "INV-DEMOB", actor="demo")
    return {"A": a.id, "B": b.id}


def _yuan(minor: int) -> str:
    return f"¥{Money(minor, 'CNY').to_decimal()}"


def play(platforms: list[str]) -> dict[str, dict]:
    """Run the story on each platform, print one comparison table; returns the results."""
    results = {}
    for platform in platforms:
        results[platform] = run_story(platform)
        click.echo("")
    click.echo(
        f"{'platform':<9} {'order':<10} {'paid':>9} {'refunded':>9} {'B tier 1':>9} {'A tier 2':>9}  balanced"
    )
    for platform, r in results.items():
        amounts = (_yuan(r["paid"]), _yuan(r["refunded"]), _yuan(r["B"]["pending"]), _yuan(r["A"]["pending"]))
        balanced = "yes" if not r["unbalanced"] else "NO"
        click.echo(
            "{:<9} {:<10} {:>9} {:>9} {:>9} {:>9}  {}".format(platform, r["order"] or "-", *amounts, balanced)
        )
    return results


def agree(results: dict[str, dict]) -> bool:
    """Whether every platform's story ended in the same order state and ledger balances."""
    return len({json.dumps(r, sort_keys=True) for r in results.values()}) == 1
