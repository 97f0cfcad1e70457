"""Inbox retries: failed events back off, give up as dead after MAX_ATTEMPTS with their last
error, are not queued twice while they wait, and a replay really reprocesses them."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from adapters.registry import get_adapter
from plugin.cli.demo import seed_chain
from plugin.commissions.models import Commission
from plugin.db import utcnow
from plugin.inbox import mailbox
from plugin.inbox.models import InboxEvent
from plugin.orders import lifecycle
from tests.conftest import fixture_bytes, shopify_headers


def stored(database, shop, body=None, topic="orders/paid") -> int:
    """Store a delivery as intake would, without processing it."""
    body = body or fixture_bytes("shopify", "orders_paid")
    headers = shopify_headers(topic, body, shop.secret)
    with database.transaction() as session:
        return mailbox.store(
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

    working = lifecycle.apply_snapshot
    monkeypatch.setattr(lifecycle, "apply_snapshot", fail)
    return lambda: monkeypatch.setattr(lifecycle, "apply_snapshot", working)


def test_a_failed_event_backs_off_and_keeps_its_error(database, shop, broken):
    event_id = stored(database, shop)
    before = utcnow()
    assert mailbox.process(database, event_id) == "failed"
    row = event(database, event_id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 1, "RuntimeError: database on fire")
    assert before + mailbox.backoff(1) <= row.next_attempt_at <= utcnow() + mailbox.backoff(1)
    assert mailbox.backoff(1) == timedelta(seconds=20)
    assert mailbox.backoff(20) == timedelta(hours=1)


def test_a_failing_event_becomes_dead_after_max_attempts(database, shop, broken):
    event_id = stored(database, shop)
    results = [mailbox.process(database, event_id) for _ in range(mailbox.MAX_ATTEMPTS)]
    assert results == ["failed"] * (mailbox.MAX_ATTEMPTS - 1) + ["dead"]
    row = event(database, event_id)
    assert (row.status, row.attempts, row.last_error) == ("dead", 10, "RuntimeError: database on fire")
    assert mailbox.process(database, event_id) == "dead"  # parked: not tried again
    assert event(database, event_id).attempts == 10


def test_a_payload_the_adapter_cannot_read_is_dead_at_once(database, shop):
    body = fixture_bytes("shopify", "orders_paid").replace(b'"149.00"', b'"abc"')
    event_id = stored(database, shop, body)
    assert mailbox.process(database, event_id) == "dead"
    row = event(database, event_id)
    assert row.attempts == 1
    assert row.last_error == "PayloadError: line_items.0.price must be a non-negative decimal string"


def test_the_sweep_does_not_queue_an_event_again_while_it_waits(database, shop, broken):
    event_id = stored(database, shop)
    assert mailbox.process(database, event_id) == "failed"
    later = utcnow() + mailbox.backoff(1) + timedelta(seconds=1)
    assert mailbox.due_for_retry(database, utcnow()) == []  # backing off
    assert mailbox.due_for_retry(database, later) == [event_id]
    assert mailbox.due_for_retry(database, later) == []  # queued: leased until STUCK_AFTER
    assert mailbox.due_for_retry(database, later + mailbox.STUCK_AFTER) == [event_id]  # its job was lost


def test_a_received_event_whose_job_was_lost_is_found_once_per_lease(database, shop):
    event_id = stored(database, shop)
    row = event(database, event_id)
    assert (row.status, row.attempts, row.processed_at) == ("received", 0, None)
    assert mailbox.due_for_retry(database, utcnow()) == []
    stuck = utcnow() + mailbox.STUCK_AFTER + timedelta(seconds=1)
    assert mailbox.due_for_retry(database, stuck) == [event_id]
    assert mailbox.due_for_retry(database, stuck) == []


def test_replay_reprocesses_a_dead_event_for_real(database, shop, runner, broken):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    event_id = stored(database, shop)
    for _ in range(mailbox.MAX_ATTEMPTS):
        mailbox.process(database, event_id)
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


def test_an_event_that_failed_before_keeps_counting_its_attempts_when_it_succeeds(database, shop, broken):
    event_id = stored(database, shop)
    assert [mailbox.process(database, event_id) for _ in range(2)] == ["failed", "failed"]
    broken()
    assert mailbox.process(database, event_id) == "processed"
    row = event(database, event_id)
    assert (row.status, row.attempts, row.last_error) == ("processed", 3, "RuntimeError: database on fire")
    assert row.processed_at is not None and row.processed_at >= row.received_at


def test_a_missing_event_is_reported_as_missing(database):
    assert mailbox.process(database, 987654) == "missing"


def test_the_job_applies_the_same_refusals_as_intake(database, shop):
    """An adapter that normalizes in the job (no check at intake) still never prices another currency."""
    body = fixture_bytes("shopify", "orders_paid").replace(b'"currency": "CNY"', b'"currency": "USD"')
    event_id = stored(database, shop, body)
    assert mailbox.process(database, event_id) == "ignored"
    row = event(database, event_id)
    assert (row.reason, row.attempts) == ("order currency USD is not the shop's currency CNY", 1)
    assert row.processed_at is not None
    with database.transaction() as session:
        assert session.scalars(select(Commission)).all() == []


def test_an_unknown_topic_is_kept_ignored_with_its_reason_and_lower_case_headers(database, shop):
    event_id = stored(database, shop, b'{"id": 1}', topic="products/create")
    row = event(database, event_id)
    assert (row.status, row.reason) == ("ignored", "topic products/create is not acted on")
    assert row.processed_at == row.received_at
    assert row.headers["x-shopify-topic"] == "products/create"
    assert all(name == name.lower() for name in row.headers)
    assert mailbox.due_for_retry(database, utcnow() + timedelta(days=1)) == []  # ignored is done


def test_a_long_error_is_kept_to_2000_characters(database, shop, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("x" * 5000)

    monkeypatch.setattr(lifecycle, "apply_snapshot", fail)
    event_id = stored(database, shop)
    mailbox.process(database, event_id)
    assert event(database, event_id).last_error == ("RuntimeError: " + "x" * 5000)[:2000]


def test_processed_events_are_never_due_and_due_now_makes_one_due_at_once(database, shop):
    done = stored(database, shop)
    assert mailbox.process(database, done) == "processed"
    waiting = stored(database, shop, fixture_bytes("shopify", "orders_fulfilled"), topic="orders/fulfilled")
    later = utcnow() + timedelta(days=1)
    assert mailbox.due_for_retry(database, utcnow()) == []
    mailbox.due_now(database, waiting)
    assert mailbox.due_for_retry(database, utcnow()) == [waiting]
    assert done not in mailbox.due_for_retry(database, later)


def test_a_failing_event_is_logged_with_its_traceback_and_each_event_with_its_time(
    database, shop, broken, caplog
):
    import logging
    import re

    caplog.set_level(logging.INFO, logger="plugin.inbox.mailbox")
    event_id = stored(database, shop)
    mailbox.process(database, event_id)
    failure = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert failure.getMessage() == f"inbox event {event_id} failed"
    assert failure.exc_info[0] is RuntimeError
    broken()
    mailbox.process(database, event_id)
    line = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO][-1]
    took = float(re.fullmatch(rf"event {event_id} orders/paid processed in (\d+\.\d) ms", line).group(1))
    assert 0.1 <= took < 60_000  # measured in milliseconds
