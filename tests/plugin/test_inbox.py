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
from plugin.orders.models import Order
from tests.conftest import fixture_bytes, shopify_headers

ORDER_PAID = fixture_bytes("shopify", "orders_paid")
ORDER_FULFILLED = fixture_bytes("shopify", "orders_fulfilled")


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


def due(database, now) -> list[int]:
    """The ids a drain would claim at ``now`` (read only: the claim is rolled back)."""
    with database.read() as session:
        return [event.id for event in mailbox._claim(session, now, 100)]


def test_a_failed_event_is_not_claimed_again_before_its_retry_time(database, shop, broken):
    event_id = stored(database, shop)
    assert mailbox.process(database, event_id) == "failed"
    assert due(database, utcnow()) == []  # backing off
    assert mailbox.drain(database) == 0
    later = utcnow() + mailbox.backoff(1) + timedelta(seconds=1)
    assert due(database, later) == [event_id]


def test_a_received_event_is_due_at_once_and_drained_once(database, shop):
    first, second = stored(database, shop), stored(database, shop, ORDER_FULFILLED, topic="orders/fulfilled")
    row = event(database, first)
    assert (row.status, row.attempts, row.processed_at) == ("received", 0, None)
    assert due(database, utcnow()) == [first, second]
    assert mailbox.drain(database) == 2
    assert [event(database, i).status for i in (first, second)] == ["processed", "processed"]
    assert [event(database, i).attempts for i in (first, second)] == [1, 1]
    assert mailbox.drain(database) == 0
    assert due(database, utcnow() + timedelta(days=1)) == []  # processed is done


def test_a_drain_takes_at_most_its_limit_in_arrival_order(database, shop):
    ids = [stored(database, shop, ORDER_PAID + b" " * n) for n in range(3)]
    assert mailbox.drain(database, limit=2) == 2
    assert [event(database, i).status for i in ids] == ["processed", "processed", "received"]
    assert mailbox.drain(database, limit=2) == 1


def test_an_unreadable_event_in_a_batch_is_dead_and_the_others_are_applied(database, shop):
    bad = stored(database, shop, ORDER_PAID.replace(b'"149.00"', b'"abc"'))
    good = stored(database, shop, ORDER_FULFILLED, topic="orders/fulfilled")
    assert mailbox.drain(database) == 2
    assert (event(database, bad).status, event(database, bad).attempts) == ("dead", 1)
    assert event(database, bad).last_error.startswith("PayloadError: line_items.0.price")
    assert event(database, good).status == "processed"


def test_a_batch_that_fails_is_applied_one_event_at_a_time(database, shop, monkeypatch):
    """One event that breaks the batch's transaction fails alone; the others are processed."""
    body = ORDER_PAID.replace(b"820982911946154508", b"820982911946154509")
    bad, good = stored(database, shop), stored(database, shop, body)
    working = lifecycle.apply_snapshot

    def fail_first(session, shop_row, snapshot):
        if snapshot.external_id == "820982911946154508":
            raise RuntimeError("database on fire")
        return working(session, shop_row, snapshot)

    monkeypatch.setattr(lifecycle, "apply_snapshot", fail_first)
    assert mailbox.drain(database) == 2
    assert (event(database, bad).status, event(database, bad).last_error) == (
        "failed",
        "RuntimeError: database on fire",
    )
    assert event(database, good).status == "processed"
    with database.transaction() as session:
        assert {c.order_id for c in session.scalars(select(Commission))} <= {
            o.id for o in session.scalars(select(Order).where(Order.external_id == "820982911946154509"))
        }


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
    assert due(database, utcnow() + timedelta(days=1)) == []  # ignored is done


def test_a_long_error_is_kept_to_2000_characters(database, shop, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("x" * 5000)

    monkeypatch.setattr(lifecycle, "apply_snapshot", fail)
    event_id = stored(database, shop)
    mailbox.process(database, event_id)
    assert event(database, event_id).last_error == ("RuntimeError: " + "x" * 5000)[:2000]


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
