"""Production mode end to end: ``fenxiao serve`` and ``fenxiao worker`` as real processes on a real
PostgreSQL and a real redis-server, driven over HTTP like a shop platform would drive them."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rq import Queue
from rq.cron import CronScheduler, get_cron_job_ids
from rq.job import Job, JobStatus

from tests.conftest import fixture_bytes
from tests.servers import wait_until

from .stack import BUYER, POLL_SECONDS, commission_summary, expected_commissions

ACK = {"ok": True}


def wait_for_commissions(stack, shop) -> dict:
    assert wait_until(lambda: stack.get_order(shop).json()["commissions"], timeout=POLL_SECONDS), (
        f"order not processed within {POLL_SECONDS}s; inbox {stack.inbox()}"
    )
    return stack.get_order(shop).json()


@pytest.mark.integration
def queued(stack) -> list[str]:
    """The jobs waiting on the events queue, by kind (``wake`` is a drain of the inbox)."""
    return [job_id.split("-")[0] for job_id in Queue("events", connection=stack.redis.connection()).job_ids]


@pytest.mark.integration
def test_web_only_stores_and_wakes_then_the_worker_applies_commissions(stack, start_worker):
    shop = stack.add_shop()
    inviter_id = stack.add_inviter(shop)

    reply = stack.post_order_paid(shop)

    assert (reply.status_code, reply.json()) == (200, ACK)
    assert stack.inbox() == [(1, "orders/paid", "received", 0)]
    assert stack.order_count() == 0
    assert stack.get_order(shop).status_code == 404
    assert queued(stack) == ["wake"]

    start_worker()
    order = wait_for_commissions(stack, shop)

    assert commission_summary(order) == expected_commissions(inviter_id)
    assert sum(c["amount"] for c in order["commissions"]) == 3980
    buyer_id = stack.member_id(shop, BUYER)
    assert (order["status"], order["paid_total"], order["buyer_member_id"]) == ("paid", 39800, buyer_id)
    assert stack.inviter_of(shop, buyer_id) == inviter_id  # bound by the order's ref code
    assert stack.inbox() == [(1, "orders/paid", "processed", 1)]
    assert queued(stack) == []


@pytest.mark.integration
def test_deliveries_stored_while_a_drain_waits_queue_no_second_job_and_are_all_applied(stack, start_worker):
    shop = stack.add_shop()
    stack.add_inviter(shop)
    template = json.loads(fixture_bytes("shopify", "orders_paid"))
    for n in range(5):
        body = json.dumps(dict(template, id=template["id"] + n)).encode()
        assert stack.post_order_paid(shop, body=body).status_code == 200

    assert queued(stack) == ["wake"]  # the first stored event woke the workers; the others saw it
    start_worker()
    assert wait_until(lambda: {e[2] for e in stack.inbox()} == {"processed"}, timeout=POLL_SECONDS)
    assert stack.order_count() == 5
    stack.post_order_paid(shop, body=json.dumps(dict(template, id=template["id"] + 9)).encode())
    assert wait_until(lambda: stack.order_count() == 6, timeout=POLL_SECONDS)  # the drain woke again


@pytest.mark.integration
def test_a_duplicate_delivery_is_stored_enqueued_and_processed_once(stack, start_worker):
    shop = stack.add_shop()
    inviter_id = stack.add_inviter(shop)

    first = stack.post_order_paid(shop, webhook_id="delivery-1")
    again = stack.post_order_paid(shop, webhook_id="delivery-1")

    assert [(r.status_code, r.json()) for r in (first, again)] == [(200, ACK), (200, ACK)]
    assert stack.inbox() == [(1, "orders/paid", "received", 0)]
    assert queued(stack) == ["wake"]

    start_worker()
    order = wait_for_commissions(stack, shop)
    late = stack.post_order_paid(shop, webhook_id="delivery-1")

    assert (late.status_code, late.json()) == (200, ACK)
    assert queued(stack) == []  # a duplicate wakes nobody
    assert stack.inbox() == [(1, "orders/paid", "processed", 1)]
    assert (
        commission_summary(stack.get_order(shop).json())
        == commission_summary(order)
        == expected_commissions(inviter_id)
    )


@pytest.mark.integration
def test_the_same_order_in_a_new_delivery_earns_no_second_commission(stack, start_worker):
    shop = stack.add_shop()
    inviter_id = stack.add_inviter(shop)
    start_worker()
    stack.post_order_paid(shop, webhook_id="delivery-1")
    wait_for_commissions(stack, shop)

    # The same order snapshot again, in other bytes (the same bytes would be the same delivery).
    again = json.dumps(json.loads(fixture_bytes("shopify", "orders_paid")), indent=1).encode()
    reply = stack.post_order_paid(shop, webhook_id="delivery-2", body=again)

    assert (reply.status_code, reply.json()) == (200, ACK)
    assert wait_until(lambda: stack.inbox()[-1][2] == "processed", timeout=POLL_SECONDS), stack.inbox()
    assert stack.inbox() == [(1, "orders/paid", "processed", 1), (2, "orders/paid", "processed", 1)]
    assert stack.order_count() == 1
    assert commission_summary(stack.get_order(shop).json()) == expected_commissions(inviter_id)


def worker_pids(master: int) -> set[int]:
    """The processes whose parent is ``master`` (from /proc)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        if int(fields[1]) == master:
            pids.add(int(stat.parent.name))
    return pids


@pytest.mark.integration
def test_the_web_server_is_gunicorn_with_threaded_workers_that_come_back(stack):
    master = stack.web.pid
    assert "Using worker: gthread" in stack.web.read_log()
    assert wait_until(lambda: len(worker_pids(master)) == 2, timeout=10), worker_pids(master)
    lost = sorted(worker_pids(master))[0]
    os.kill(lost, signal.SIGKILL)
    assert wait_until(lambda: len(worker_pids(master) - {lost}) == 2, timeout=15), worker_pids(master)
    assert stack.healthz().status_code == 200


@pytest.mark.integration
def test_healthz_reports_the_database_and_redis(stack):
    healthy = {"status": "ok", "database": True, "jobs": "rq", "redis": True}
    up = stack.healthz()
    assert (up.status_code, up.json()) == (200, healthy)

    stack.redis.stop()
    down = stack.healthz()
    assert (down.status_code, down.json()) == (
        503,
        {"status": "degraded", "database": True, "jobs": "rq", "redis": False},
    )

    stack.redis.start()
    assert wait_until(lambda: stack.healthz().status_code == 200, timeout=5)
    assert stack.healthz().json() == healthy


@pytest.mark.integration
def test_a_webhook_taken_while_redis_is_down_is_kept_and_processed_once_it_is_back(stack, start_worker):
    shop = stack.add_shop()
    inviter_id = stack.add_inviter(shop)
    stack.redis.stop()

    reply = stack.post_order_paid(shop)

    assert (reply.status_code, reply.json()) == (200, ACK)
    assert stack.inbox() == [(1, "orders/paid", "received", 0)]
    assert stack.order_count() == 0
    assert "could not wake the events workers" in stack.web.read_log()

    stack.redis.start()  # no persistence: it comes back empty, so no drain was ever queued
    events = Queue("events", connection=stack.redis.connection())
    assert events.job_ids == []
    # The event was due from the moment it was stored: the first sweep after Redis is back drains it.
    assert stack.run("inbox", "sweep") == "drained 1 event(s)\n"
    order = wait_for_commissions(stack, shop)

    assert commission_summary(order) == expected_commissions(inviter_id)
    assert stack.inbox() == [(1, "orders/paid", "processed", 1)]


@pytest.mark.integration
def test_the_worker_runs_every_sweep_on_rq_cron_scheduler(stack, start_worker):
    connection = stack.redis.connection()
    worker = start_worker()

    assert wait_until(lambda: CronScheduler.all(connection), timeout=POLL_SECONDS)
    [scheduler] = CronScheduler.all(connection)

    assert scheduler.name == f"fenxiao-cron-{scheduler.pid}"
    assert os.getpgid(scheduler.pid) == worker.pid  # a child of this worker, not a stray process
    assert datetime.now(UTC) - scheduler.last_heartbeat < timedelta(seconds=30)
    assert sorted((job.func_name, job.queue_name, job.interval) for job in scheduler.get_jobs()) == [
        ("plugin.jobs.tasks.figures_sweep", "settlement", 60),
        ("plugin.jobs.tasks.inbox_sweep", "events", 30),
        ("plugin.jobs.tasks.payout_sweep", "payouts", 60),
        ("plugin.jobs.tasks.settlement_sweep", "settlement", 300),
    ]

    # interval jobs run once at start: both sweeps were enqueued and the worker ran them
    for name in ("plugin.jobs.tasks.inbox_sweep", "plugin.jobs.tasks.settlement_sweep"):
        [job_id] = get_cron_job_ids(name, connection)
        job = Job.fetch(job_id, connection=connection)
        assert wait_until(
            lambda j=job: j.get_status(refresh=True) == JobStatus.FINISHED, timeout=POLL_SECONDS
        ), job.get_status()
        assert job.return_value() == 0  # an empty database: nothing to sweep or settle

    worker.stop()
    assert wait_until(lambda: CronScheduler.all(connection) == [], timeout=5), "scheduler left registered"
