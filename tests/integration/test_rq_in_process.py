"""RQ mode without extra processes: the Flask test client for the web side and an in-process
``SimpleWorker`` in burst mode for the worker side, on both databases and a real Redis."""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import func, select

from plugin import runtime
from plugin.app import create_app
from plugin.config import Config
from plugin.inbox.models import InboxEvent
from plugin.jobs import context
from plugin.jobs.queues import EVENTS, PAYOUTS, SETTLEMENT
from plugin.orders.models import Order
from plugin.shops import tenants
from tests.conftest import fixture_bytes, shopify_headers

from .stack import INVITE_CODE, ORDER_ID, commission_summary, expected_commissions


@pytest.fixture
def rq_app(database_url, redis_server):
    connection = Redis.from_url(redis_server)
    connection.flushdb()
    app = create_app(Config(database_url=database_url, redis_url=redis_server, jobs="rq", testing=True))
    yield app, connection
    app.extensions[runtime.EXTENSION].database.dispose()
    connection.flushdb()


def inbox_rows(database) -> list[tuple]:
    with database.transaction() as session:
        return [
            tuple(row)
            for row in session.execute(
                select(InboxEvent.id, InboxEvent.status, InboxEvent.attempts).order_by(InboxEvent.id)
            )
        ]


@pytest.mark.integration
def test_rq_mode_wakes_after_commit_and_a_simple_worker_drains_the_order(rq_app):
    app, connection = rq_app
    client, database = app.test_client(), app.extensions[runtime.EXTENSION].database
    with database.transaction() as session:
        new = tenants.create_shop(
            session, name="RQ shop", platform="shopify", webhook_secret="whsec-rq-0123456789"
        )
    shop_id, auth = new.shop.id, {"X-Api-Key": new.api_key}
    member = client.post(
        f"/api/v1/shops/{shop_id}/members",
        headers=auth,
        json={"platform": "shopify", "external_id": "inviter-1"},
    )
    inviter_id = member.json["member_id"]
    client.post(
        f"/api/v1/shops/{shop_id}/distributors",
        headers=auth,
        json={"member_id": inviter_id, "invite_code": INVITE_CODE},
    )
    body = fixture_bytes("shopify", "orders_paid")
    events = Queue(EVENTS, connection=connection)

    reply = client.post(
        f"/webhooks/shopify/{shop_id}",
        data=body,
        headers=shopify_headers("orders/paid", body, "whsec-rq-0123456789", "delivery-1"),
    )

    assert (reply.status_code, reply.json) == (200, {"ok": True})
    [(event_id, status, attempts)] = inbox_rows(database)
    assert (status, attempts) == ("received", 0)
    [wake] = events.job_ids
    assert wake.startswith("wake-")  # a drain of the inbox, queued after the commit
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 0

    queues = [events, Queue(SETTLEMENT, connection=connection), Queue(PAYOUTS, connection=connection)]
    worker = SimpleWorker(queues, connection=connection)
    with context.using(app.extensions[runtime.EXTENSION]):  # as ``fenxiao worker`` does
        assert worker.work(burst=True) is True

    job = Job.fetch(wake, connection=connection)
    assert (job.get_status(), job.return_value()) == (JobStatus.FINISHED, 1)  # it drained the one event
    assert events.job_ids == []
    assert inbox_rows(database) == [(event_id, "processed", 1)]
    order = client.get(f"/api/v1/shops/{shop_id}/orders/{ORDER_ID}", headers=auth)
    assert order.status_code == 200
    assert commission_summary(order.json) == expected_commissions(inviter_id)
