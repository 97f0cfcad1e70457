"""Draining the inbox in batches: two workers at once, and a worker killed in the middle of a
batch, end in the same ledger as applying every delivery one by one in arrival order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from adapters.registry import get_adapter
from plugin.cli.demo import seed_chain
from plugin.commissions.models import Commission
from plugin.inbox import mailbox
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.orders.models import Order
from tests.conftest import shopify_headers
from tests.plugin import shopify_orders

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 11, 0, 5, tzinfo=CST)
FIRST_ORDER = 7_100_000_000


def deliveries() -> list[tuple[str, bytes]]:
    """24 paid orders of 8 buyers (new ones carry the ref code), every third one refunded in
    part, and every fourth paid snapshot delivered again in new bytes."""
    out = []
    for n in range(24):
        order_id = FIRST_ORDER + n
        paid = shopify_orders.order(
            order_id,
            START + timedelta(minutes=n),
            [10_000 + 100 * n, 5_000],
            customer=9000 + n % 8,
            ref="INV-B7K2",
        )
        out.append(("orders/paid", json.dumps(paid).encode()))
        if n % 4 == 0:
            out.append(("orders/paid", json.dumps(paid, indent=1).encode()))
        if n % 3 == 0:
            refund = shopify_orders.refund(order_id, order_id * 10, {0: 3_000}, START + timedelta(hours=n))
            out.append(("refunds/create", json.dumps(refund).encode()))
    return out


def store(database, shop, items) -> list[int]:
    adapter = get_adapter("shopify")
    ids = []
    with database.transaction() as session:
        for topic, body in items:
            headers = shopify_headers(topic, body, shop.secret)
            ids.append(
                mailbox.store(session, shop.id, "shopify", adapter.describe(headers, body), headers, body)
            )
    return ids


def outcome(database, shop) -> tuple[list, dict]:
    """Every commission (order, tier, amount, reversed, status) and the chain's balances."""
    with database.read() as session:
        rows = session.execute(
            select(
                Order.external_id, Commission.tier, Commission.amount, Commission.reversed, Commission.status
            )
            .join(Order, Order.id == Commission.order_id)
            .where(Commission.shop_id == shop.id)
        ).all()
        members = {
            c.beneficiary_id for c in session.scalars(select(Commission).where(Commission.shop_id == shop.id))
        }
        balances = sorted(
            tuple(journal.member_balances(session, shop.id, m, "CNY").values()) for m in members
        )
        assert journal.unbalanced_transactions(session, shop.id) == []
        statuses = set(session.scalars(select(InboxEvent.status).where(InboxEvent.shop_id == shop.id)))
    assert statuses == {"processed"}
    return sorted(rows), balances


def one_by_one(database, make_shop):
    """The reference: a second shop gets the same deliveries, applied one per transaction."""
    reference = make_shop()
    with database.transaction() as session:
        seed_chain(session, reference.id)
    for event_id in store(database, reference, deliveries()):
        assert mailbox.process(database, event_id) == "processed"
    return outcome(database, reference)


def test_two_workers_draining_at_once_apply_every_delivery_once(database, shop, make_shop):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    store(database, shop, deliveries())

    def worker(_):
        claimed = 0
        while n := mailbox.drain(database, limit=5):
            claimed += n
        return claimed

    with ThreadPoolExecutor(max_workers=2) as pool:
        claimed = list(pool.map(worker, range(2)))

    assert sum(claimed) == len(deliveries())  # each event claimed by exactly one worker
    drained = outcome(database, shop)
    assert len(drained[0]) == 24 * 2 * 2  # 24 orders x 2 lines x 2 tiers
    assert drained == one_by_one(database, make_shop)


KILLED_WORKER = textwrap.dedent(
    """
    import sys, time
    from plugin.db import Database
    from plugin.inbox import mailbox

    applying = mailbox._apply_batch

    def apply_then_hang(session, events, *rest):
        applying(session, events, *rest)
        session.flush()
        print("applied", len(events), flush=True)
        time.sleep(600)  # killed here: the batch is written but never committed

    mailbox._apply_batch = apply_then_hang
    mailbox.drain(Database(sys.argv[1]), limit=int(sys.argv[2]))
    """
)


def test_a_worker_killed_in_the_middle_of_a_batch_leaves_its_events_to_the_others(
    database, shop, make_shop, database_url
):
    if database.dialect != "postgresql":
        pytest.skip("two worker processes need PostgreSQL (SQLite's embedded default runs one job thread)")
    with database.transaction() as session:
        seed_chain(session, shop.id)
    ids = store(database, shop, deliveries())
    victim = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, database_url, "10"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    try:
        assert victim.stdout.readline().split() == ["applied", "10"]
        # The victim holds its 10 events: another worker's claim skips them (and would wait
        # only where it touches the same buyers or orders, until the victim's end).
        with database.read() as session:
            claimable = [event.id for event in mailbox._claim(session, datetime.now(CST), 100)]
        assert claimable == ids[10:]
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
    time.sleep(0.2)  # PostgreSQL ends the killed backend's transaction: its locks are released
    while mailbox.drain(database, limit=5):
        pass
    assert outcome(database, shop) == one_by_one(database, make_shop)
