"""The embedded default as ``fenxiao up`` runs it: SQLite, the in-process job thread and its sweep
timer, with web requests writing while the job thread writes (not the inline queue other tests use)."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from adapters.registry import get_adapter
from plugin import runtime
from plugin.app import create_app
from plugin.commissions.models import Commission
from plugin.config import Config
from plugin.inbox import mailbox
from plugin.inbox.models import InboxEvent
from plugin.ledger import journal
from plugin.members.directory import make_distributor, member_for_identity
from plugin.orders.models import Order
from plugin.shops import tenants
from tests.conftest import ShopHandle, fixture_bytes, shopify_headers
from tests.plugin import shopify_orders as so
from tests.servers import wait_until

CST = timezone(timedelta(hours=8))


@pytest.fixture
def embedded(tmp_path, sqlite_template):
    """The app as ``fenxiao up`` builds it: jobs on the in-process thread, sweeps every second."""
    path = tmp_path / "fenxiao.sqlite3"
    shutil.copy(sqlite_template, path)
    app = create_app(Config(database_url=f"sqlite:///{path}", jobs="thread", sweep_seconds=1))
    yield app, app.extensions[runtime.EXTENSION]
    app.extensions[runtime.EXTENSION].queue.close()
    app.extensions[runtime.EXTENSION].database.dispose()


def new_shop(rt, **settings) -> ShopHandle:
    with rt.database.transaction() as session:
        new = tenants.create_shop(session, name="Embedded", platform="shopify", **settings)
        x = member_for_identity(session, new.shop.id, "shopify", "x")
        make_distributor(session, new.shop.id, x.id, invite_code="INV-X")
        handle = ShopHandle(new.shop.id, new.webhook_secret, new.api_key, 2, new.shop.after_sales_days)
        handle.x = x.id
        return handle


def post(client, shop, topic, payload):
    body = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    return client.post(shop.webhook_url, data=body, headers=shopify_headers(topic, body, shop.secret))


def counts(rt, shop_id) -> tuple[int, int, int]:
    with rt.database.transaction() as session:
        processed = session.scalar(
            select(func.count())
            .select_from(InboxEvent)
            .where(InboxEvent.shop_id == shop_id, InboxEvent.status == "processed")
        )
        orders_ = session.scalar(select(func.count()).select_from(Order).where(Order.shop_id == shop_id))
        commissions = session.scalar(
            select(func.count()).select_from(Commission).where(Commission.shop_id == shop_id)
        )
    return processed, orders_, commissions


def test_web_requests_and_the_job_thread_write_at_once_and_everything_is_processed(embedded):
    app, rt = embedded
    shop = new_shop(rt)
    paid_at = datetime(2026, 11, 5, 12, tzinfo=CST)
    replies, errors = [], []

    def client_thread(n):
        client = app.test_client()  # one per thread, like waitress's threads
        try:
            for k in range(6):
                order_id = 1000 + n * 10 + k
                replies.append(
                    post(
                        client, shop, "orders/paid", so.order(order_id, paid_at, [10000], customer=order_id)
                    ).status_code
                )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=client_thread, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert replies == [200] * 48
    assert wait_until(lambda: counts(rt, shop.id) == (48, 48, 48), timeout=60), counts(rt, shop.id)
    with rt.database.transaction() as session:
        assert journal.member_balances(session, shop.id, shop.x, "CNY")["pending"] == 48 * 1000
        assert journal.unbalanced_transactions(session, shop.id) == []


def test_the_sweep_timer_drains_an_event_no_wake_up_reached(embedded):
    _app, rt = embedded
    shop = new_shop(rt)
    body = fixture_bytes("shopify", "orders_paid").replace(b"INV-B7K2", b"INV-X")
    headers = shopify_headers("orders/paid", body, shop.secret)
    with rt.database.transaction() as session:
        event_id = mailbox.store(
            session, shop.id, "shopify", get_adapter("shopify").describe(headers, body), headers, body
        )
    assert event_id is not None  # stored, no worker woken: as if the process died after the commit
    assert wait_until(lambda: counts(rt, shop.id) == (1, 1, 2), timeout=15), counts(rt, shop.id)


def test_the_sweep_timer_settles_what_is_due(embedded):
    app, rt = embedded
    shop = new_shop(rt, after_sales_days=0)
    client = app.test_client()
    paid = fixture_bytes("shopify", "orders_paid").replace(b"INV-B7K2", b"INV-X")
    fulfilled = fixture_bytes("shopify", "orders_fulfilled").replace(b"INV-B7K2", b"INV-X")
    assert post(client, shop, "orders/paid", paid).status_code == 200
    assert post(client, shop, "orders/fulfilled", fulfilled).status_code == 200

    def available():
        with rt.database.transaction() as session:
            return journal.member_balances(session, shop.id, shop.x, "CNY")["available"]

    assert wait_until(lambda: available() == 3980, timeout=15), available()
