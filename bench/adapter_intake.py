"""What does each platform's intake cost, and does a slow platform API ever delay an ack?

Part 1, in-process and without HTTP or a database: for each platform, ``--deliveries`` signed
deliveries of the sample purchase (each with its own message and order id) go through what the
webhook endpoint runs before its one INSERT: ``verify`` (the signature, with two secrets as
during a rotation), ``describe`` (the envelope) and, for adapters whose messages carry the whole
order, ``normalize`` + schema validation (Weimob's carry no amounts: it normalizes in the
worker, after fetching). Printed per stage in microseconds per delivery, with the ratio to
Shopify's total.

Part 2, Weimob's fetch-on-notify: the embedded default (SQLite file, the in-process job thread)
with Weimob's API stood in for by ``FakeWeimob`` on loopback; ``--orders`` paid-order messages
are posted through the WSGI app for each state of the API (answering at once, answering after
``--slow`` seconds, failing with 503). Printed: the acknowledgement time (p50, p99), how many
orders were priced and how fast, and, for the failing API, how many were left failed for a
retry with backoff (or not tried yet) after a minute.

    python bench/adapter_intake.py                    # ~1 minute
    python bench/adapter_intake.py --deliveries 500 --orders 50
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
import uuid
from importlib import resources
from urllib.parse import quote, unquote

from sqlalchemy import func, select

import migrations
from adapters.generic import generic_headers
from adapters.registry import get_adapter
from adapters.signing import shopify_headers
from adapters.weimob import signed_envelope
from adapters.youzan import youzan_headers
from plugin import runtime
from plugin.app import create_app
from plugin.cli.fake_platforms import FakeWeimob
from plugin.config import Config
from plugin.inbox.models import InboxEvent
from plugin.platforms import connections
from plugin.shops import tenants

SECRET, OLD_SECRET, CLIENT_ID = "bench-secret-0123456789abcdef", "old-secret-0123456789abcdef", "bench-app"


def sample(platform: str, name: str) -> dict:
    return json.loads(resources.files("plugin").joinpath("samples", platform, f"{name}.json").read_text())


def deliveries(platform: str, count: int) -> list[tuple[dict, bytes]]:
    """``count`` signed paid-order deliveries of ``platform``, each a different order."""
    made = []
    for i in range(count):
        if platform == "shopify":
            order = sample("shopify", "orders_paid")
            order["id"] = 10**15 + i
            body = json.dumps(order).encode()
            made.append((shopify_headers("orders/paid", body, SECRET, str(uuid.uuid4())), body))
        elif platform == "youzan":
            push = sample("youzan", "trade_TradeBuyerPay")
            msg = json.loads(unquote(push["msg"]))
            msg["full_order_info"]["order_info"]["tid"] = push["id"] = f"E{i:020d}"
            push.update(msg=quote(json.dumps(msg, separators=(",", ":")), safe=""), msg_id=str(uuid.uuid4()))
            body = json.dumps(push).encode()
            made.append((youzan_headers(CLIENT_ID, body, SECRET), body))
        elif platform == "weimob":
            message = sample("weimob", "order_paid")
            inner = json.loads(message["msgBody"])
            inner["orderNo"], message["id"] = 10**6 + i, str(10**9 + i)
            body = signed_envelope(message, CLIENT_ID, SECRET, msg_body=inner)
            made.append(({"Content-Type": "application/json"}, body))
        else:
            order = sample("generic", "order_paid")
            order["id"] = f"SO-{i}"
            body = json.dumps(order).encode()
            made.append((generic_headers("order.paid", body, SECRET, str(uuid.uuid4())), body))
    return made


def intake_costs(count: int) -> list[tuple]:
    rows = []
    for platform in ("shopify", "youzan", "weimob", "generic"):
        adapter = get_adapter(platform)
        batch = deliveries(platform, count)
        spent = {"verify": 0.0, "describe": 0.0, "normalize": 0.0}
        for headers, body in batch:
            started = time.perf_counter()
            adapter.verify(headers, body, [SECRET, OLD_SECRET], CLIENT_ID)
            verified = time.perf_counter()
            delivery = adapter.describe(headers, body)
            described = time.perf_counter()
            if adapter.normalize_at_intake:
                adapter.normalize(delivery, body)
            spent["verify"] += verified - started
            spent["describe"] += described - verified
            spent["normalize"] += time.perf_counter() - described
        per = {stage: seconds / count * 1e6 for stage, seconds in spent.items()}
        rows.append((platform, per, adapter.normalize_at_intake))
    return rows


def print_costs(rows, count: int) -> None:
    shopify_total = sum(rows[0][1].values())
    print(f"\nIntake cost per delivery, µs (mean of {count}; verify tries 2 secrets)\n")
    print("| platform | verify | describe | normalize + validate | total | vs Shopify |")
    print("|---|---:|---:|---:|---:|---:|")
    for platform, per, pure in rows:
        total = sum(per.values())
        normalize = f"{per['normalize']:.1f}" if pure else "in the worker (fetch)"
        print(
            f"| {platform} | {per['verify']:.1f} | {per['describe']:.1f} | {normalize} | {total:.1f} "
            f"| {total / shopify_total:.2f} |"
        )


def weimob_under(api_state: str, orders: int, slow: float) -> dict:
    url = f"sqlite:///{tempfile.mkdtemp(prefix='fenxiao-bench-')}/bench.sqlite3"
    migrations.upgrade(url)
    fake = FakeWeimob(any_order=True, delay=slow if api_state == "slow" else 0.0)
    if api_state == "failing":
        fake.fail_with = 503
    app = create_app(Config(database_url=url, jobs="thread", testing=True))
    rt = app.extensions[runtime.EXTENSION]
    with rt.database.transaction() as session:
        shop = tenants.create_shop(session, name="bench", platform="weimob", webhook_secret=SECRET).shop
        connections.configure(
            session, shop, client_id=CLIENT_ID, shop_ref="4020112618957", api_base=fake.base
        )
    client, acks = app.test_client(), []
    started = time.perf_counter()
    for headers, body in deliveries("weimob", orders):
        sent = time.perf_counter()
        reply = client.post(f"/webhooks/weimob/{shop.id}", data=body, headers=headers)
        acks.append((time.perf_counter() - sent) * 1000)
        assert reply.status_code == 200, reply.get_data(as_text=True)
    deadline = time.monotonic() + 60  # a failing API is retried with backoff for ever: stop looking
    while time.monotonic() < deadline:
        with rt.database.read() as session:
            counts = dict(
                session.execute(select(InboxEvent.status, func.count()).group_by(InboxEvent.status)).all()
            )
        if counts.get("received", 0) == 0:  # every message acted on: priced, or failed for retry
            break
        time.sleep(0.05)
    with rt.database.read() as session:
        first, last = session.execute(
            select(func.min(InboxEvent.received_at), func.max(InboxEvent.processed_at)).where(
                InboxEvent.status == "processed"
            )
        ).one()
    elapsed = (last - first).total_seconds() if first and last else time.perf_counter() - started
    fake.close()
    rt.close()
    acks.sort()
    return {
        "api": api_state,
        "p50": statistics.median(acks),
        "p99": acks[int(len(acks) * 0.99) - 1],
        "processed": counts.get("processed", 0),
        "failed": counts.get("failed", 0),
        "waiting": counts.get("received", 0),
        "rate": counts.get("processed", 0) / elapsed,
    }


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # the failing API's retries would flood the table
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--slow", type=float, default=0.2, help="seconds the slow API takes per call")
    args = parser.parse_args()
    print_costs(intake_costs(args.deliveries), args.deliveries)
    print(f"\nWeimob fetch-on-notify, embedded default: {args.orders} paid-order messages per API state\n")
    print("| Weimob API | ack p50 ms | ack p99 ms | priced | failed, to retry | not tried yet | priced / s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    labels = {"healthy": "answers at once", "slow": f"answers after {args.slow:.1f} s", "failing": "503"}
    for state in ("healthy", "slow", "failing"):
        r = weimob_under(state, args.orders, args.slow)
        print(
            f"| {labels[state]} | {r['p50']:.1f} | {r['p99']:.1f} | {r['processed']} | {r['failed']} "
            f"| {r['waiting']} | {r['rate']:.0f} |"
        )


if __name__ == "__main__":
    main()
