"""What does one webhook cost the database, and how fast does one worker drain paid orders?

In-process, no HTTP (``webhook_load.py`` measures the servers): a fresh database, one shop, a
tree of distributors, then ``--orders`` signed Shopify ``orders/paid`` deliveries stored the way
intake stores them and drained the way a worker drains them. Every SQL statement sent to the
database is counted (``before_cursor_execute``), so the figures are exact and repeatable:

    python bench/pipeline.py                              # SQLite file (the embedded default)
    python bench/pipeline.py --database postgresql://postgres@127.0.0.1:5432/fenxiao_bench

Buyers are a mix like a sale day's: ``--new-share`` of the orders come from first-time buyers
carrying a distributor's ref code (they are bound, then priced), the rest from returning buyers
who are bound already. Each order has two lines; the shop pays tiers 1 and 2.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event, func, select, text

import migrations
from adapters.registry import get_adapter
from plugin.cli.demo import sample, signed_headers
from plugin.commissions.models import Commission
from plugin.db import Database
from plugin.inbox import mailbox
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.members import bindings, directory
from plugin.runtime import normalize_database_url
from plugin.shops import tenants

SECRET = "bench-secret-0123456789abcdef"
CUSTOMER_BASE = 50_000_000
ORDER_BASE = 9_200_000_000_000_000


class StatementCounter:
    """Counts the statements an engine sends, by their first word."""

    def __init__(self, engine):
        self.words: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._count)
        event.listen(engine, "commit", self._commit)

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        # An UPDATE executemany sends one statement per parameter set (psycopg pipelines them); an
        # INSERT of many rows is one statement per batch ("insertmanyvalues", one event each).
        word = statement.lstrip().split(None, 1)[0].upper()
        self.words[word] += len(parameters) if executemany and word != "INSERT" else 1

    def _commit(self, conn):
        self.words["COMMIT"] += 1

    def take(self) -> Counter[str]:
        taken, self.words = self.words, Counter()
        return taken


def seed(database: Database, distributors: int, rng: random.Random) -> tuple[int, list[str]]:
    """A shop and a tree of distributors (each bound under a random earlier one); their codes."""
    with database.transaction() as session:
        shop = tenants.create_shop(
            session, name="bench", platform="shopify", webhook_secret=SECRET, after_sales_days=7
        ).shop
        codes, members = [], []
        for index in range(distributors):
            member = directory.member_for_identity(session, shop.id, "demo", f"d{index}")
            code = f"INV-{index:06d}"
            directory.make_distributor(session, shop.id, member.id, invite_code=code)
            if members:
                bindings.bind(session, shop.id, member.id, rng.choice(codes))
            codes.append(code)
            members.append(member.id)
        return shop.id, codes


def payloads(count: int, codes: list[str], new_share: float, rng: random.Random) -> list[bytes]:
    template = json.loads(sample("orders_paid"))
    line = template["line_items"][0]
    paid_at = datetime(2026, 11, 11, 0, 5, tzinfo=UTC)
    returning: list[int] = []
    bodies = []
    for index in range(count):
        if returning and rng.random() >= new_share:
            customer, ref = rng.choice(returning), None
        else:
            customer, ref = CUSTOMER_BASE + index, rng.choice(codes)
            returning.append(customer)
        order_id = ORDER_BASE + index
        moment = (paid_at + timedelta(seconds=index)).isoformat()
        amounts = [rng.randint(1_000, 50_000), rng.randint(1_000, 50_000)]
        order = dict(
            template,
            id=order_id,
            created_at=moment,
            processed_at=moment,
            updated_at=moment,
            total_price=f"{sum(amounts) / 100:.2f}",
            subtotal_price=f"{sum(amounts) / 100:.2f}",
            current_total_price=f"{sum(amounts) / 100:.2f}",
            note_attributes=[{"name": "ref", "value": ref}] if ref else [],
            customer={"id": customer, "email": f"b{customer}@example.com"},
            line_items=[
                dict(
                    line,
                    id=order_id * 10 + n,
                    product_id=900 + n,
                    quantity=1,
                    price=f"{amount / 100:.2f}",
                    total_discount="0.00",
                    discount_allocations=[],
                )
                for n, amount in enumerate(amounts)
            ],
        )
        bodies.append(json.dumps(order).encode())
    return bodies


def store_all(database: Database, shop_id: int, bodies: list[bytes]) -> list[int]:
    """Store each delivery as intake does: one transaction per acknowledgement."""
    adapter = get_adapter("shopify")
    ids = []
    for body in bodies:
        headers = signed_headers("orders/paid", body, SECRET)
        delivery = adapter.describe(headers, body)
        with database.transaction() as session:
            ids.append(mailbox.store(session, shop_id, "shopify", delivery, headers, body))
    return ids


def drain(database: Database) -> None:
    """Process every stored event the way a worker does."""
    while mailbox.drain(database):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help="a scratch database URL (default: a temp SQLite file)")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--distributors", type=int, default=2000)
    parser.add_argument("--new-share", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="profile the drain and print its N costliest functions (by own time)",
    )
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = normalize_database_url(args.database or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
        migrations.upgrade(url)
        database = Database(url)
        if database.dialect == "postgresql":
            with database.engine.begin() as conn:
                conn.execute(text("TRUNCATE shop RESTART IDENTITY CASCADE"))
        shop_id, codes = seed(database, args.distributors, rng)
        bodies = payloads(args.orders, codes, args.new_share, rng)
        counter = StatementCounter(database.engine)
        store_all(database, shop_id, bodies)
        acks = counter.take()
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.runcall(drain, database)
        else:
            drain(database)
        elapsed = time.perf_counter() - started
        drained = counter.take()
        with database.read() as session:
            statuses = dict(
                session.execute(select(InboxEvent.status, func.count()).group_by(InboxEvent.status)).all()
            )
            commissions = session.scalar(select(func.count()).select_from(Commission))
            unbalanced = journal.unbalanced_transactions(session)
        database.dispose()
    orders = args.orders
    print(
        f"database: {database.dialect}; {orders} paid orders, {args.distributors} distributors, "
        f"{args.new_share:.0%} new buyers; inbox after: {statuses}; {commissions} commissions; "
        f"unbalanced transactions: {len(unbalanced)}"
    )
    print("measure                     | value")
    print(f"statements per ack          | {sum(acks.values()) / orders:.2f}  {dict(acks)}")
    per_order = {word: round(n / orders, 2) for word, n in drained.most_common()}
    print(f"statements per paid order   | {sum(drained.values()) / orders:.2f}  {per_order}")
    print(f"drain rate (1 worker)       | {orders / elapsed:.1f} orders/s ({elapsed:.2f} s)")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    return 0 if statuses.get("processed") == orders and not unbalanced else 1


if __name__ == "__main__":
    sys.exit(main())
