"""Inbox retries: failed events back off, give up as dead after MAX_ATTEMPTS with their last
error, are not queued twice while they wait, and a replay really reprocesses them."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.registry import get_adapter
from plugin import inbox, orders
from plugin.cli_demo import seed_chain
from plugin.db import utcnow
from plugin.models import Commission, InboxEvent
from tests.conftest import fixture_bytes, shopify_headers


def stored(database, shop, body=None, topic="orders/paid") -> int:
    """Store a delivery as intake would, without processing it."""
    body = body or fixture_bytes("shopify", "orders_paid")
    headers = shopify_headers(topic, body, shop.secret)
    with database.transaction() as session:
        return inbox.store(
            session, shop.id, "shopify", get_adapter("shopify").describe(headers, body), headers, body
        )


def event(database, event_id) -> InboxEvent:
    with database.transaction() as session:
        return session.get(InboxEvent, event_id)


@pytest.fixture
def broken(monkeypatch):
    """Make applying an order fail the way a bug or an outage would; call it to mend it."""

    def fail(*args, **kwargs):
        raise RuntimeError("database on fire")

    working = orders.apply_snapshot
    monkeypatch.setattr(orders, "apply_snapshot", fail)
    return lambda: monkeypatch.setattr(orders, "apply_snapshot", working)


def test_a_failed_event_backs_off_and_keeps_its_error(database, shop, broken):
    event_id = stored(database, shop)
    before = utcnow()
    assert inbox.process(database, event_id) == "failed"
    row = event(database, event_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "RuntimeError: database on fire")
    assert before + inbox.backoff(1) <= row.next_attempt_at <= utcnow() + inbox.backoff(1)
    assert inbox.backoff(1) == timedelta(seconds=20)
    assert inbox.backoff(20) == timedelta(hours=1)


def test_a_failing_event_becomes_dead_after_max_attempts(database, shop, broken):
    event_id = stored(database, shop)
    results = [inbox.process(database, event_id) for _ in range(inbox.MAX_ATTEMPTS)]
    assert results == ["failed"] * (inbox.MAX_ATTEMPTS - 1) + ["dead"]
    row = event(database, event_id)
    assert (row.status, row.attempts, row.last_error) == ("dead", 10, "RuntimeError: database on fire")
    assert inbox.process(database, event_id) == "dead"  # parked: not tried again
    assert event(database, event_id).attempts == 10


def test_a_payload_the_adapter_cannot_read_is_dead_at_once(database, shop):
    body = fixture_bytes("shopify", "orders_paid").replace(b'"149.00"', b'"abc"')
    event_id = stored(database, shop, body)
    assert inbox.process(database, event_id) == "dead"
    row = event(database, event_id)
    assert row.attempts == 1
    assert row.last_error == "PayloadError: line_items.0.price must be a non-negative decimal string"


def test_the_sweep_does_not_queue_an_event_again_while_it_waits(database, shop, broken):
    event_id = stored(database, shop)
    assert inbox.process(database, event_id) == "failed"
    later = utcnow() + inbox.backoff(1) + timedelta(seconds=1)
    assert inbox.due_for_retry(database, utcnow()) == []  # backing off
    assert inbox.due_for_retry(database, later) == [event_id]
    assert inbox.due_for_retry(database, later) == []  # queued: leased until STUCK_AFTER
    assert inbox.due_for_retry(database, later + inbox.STUCK_AFTER) == [event_id]  # its job was lost


def test_a_received_event_whose_job_was_lost_is_found_once_per_lease(database, shop):
    event_id = stored(database, shop)
    assert inbox.due_for_retry(database, utcnow()) == []
    stuck = utcnow() + inbox.STUCK_AFTER + timedelta(seconds=1)
    assert inbox.due_for_retry(database, stuck) == [event_id]
    assert inbox.due_for_retry(database, stuck) == []


def test_replay_reprocesses_a_dead_event_for_real(database, shop, runner, broken):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    event_id = stored(database, shop)
    for _ in range(inbox.MAX_ATTEMPTS):
        inbox.process(database, event_id)
    assert event(database, event_id).status == "dead"
    broken()  # the outage is over: applying works again
    result = runner("inbox", "replay", str(event_id))
    assert (result.exit_code, result.output.strip()) == (0, "processed")
    row = event(database, event_id)
    assert (row.status, row.attempts) == ("processed", 1)
    with database.transaction() as session:
        assert sorted(session.scalars(select(Commission.amount))) == [500, 1000, 1490, 2980]


def test_replay_of_a_missing_event_fails(runner):
    result = runner("inbox", "replay", "424242")
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no inbox event 424242"
