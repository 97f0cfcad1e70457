"""A shop's recent deliveries (newest first, by outcome, a page at a time) and replaying a dead one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from adapters.registry import get_adapter
from plugin.audit.models import AuditEvent
from plugin.audit.search import Cursor
from plugin.cli.demo import seed_chain
from plugin.errors import InvalidSetting, InvalidTransition, NotFound
from plugin.inbox import deliveries, mailbox
from plugin.inbox.models import InboxEvent
from plugin.orders import lifecycle
from plugin.orders.models import Order
from tests.conftest import fixture_bytes, shopify_headers

ORDER_PAID = fixture_bytes("shopify", "orders_paid")
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def stored(database, shop, body=ORDER_PAID, topic="orders/paid", at=None) -> int:
    """Store a delivery as intake would (unprocessed), received at ``at``."""
    headers = shopify_headers(topic, body, shop.secret)
    with database.transaction() as session:
        event_id = mailbox.store(
            session, shop.id, "shopify", get_adapter("shopify").describe(headers, body), headers, body
        )
        if at is not None:
            session.execute(update(InboxEvent).where(InboxEvent.id == event_id).values(received_at=at))
        return event_id


def status_of(database, event_id) -> tuple[str, int]:
    with database.read() as session:
        row = session.get(InboxEvent, event_id)
        return row.status, row.attempts


@pytest.fixture
def other_shop(make_shop):
    return make_shop(name="Other shop")


@pytest.fixture
def broken(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database on fire")

    working = lifecycle.apply_snapshot
    monkeypatch.setattr(lifecycle, "apply_snapshot", fail)
    return lambda: monkeypatch.setattr(lifecycle, "apply_snapshot", working)


def make_dead(database, shop, broken_fixture) -> int:
    event_id = stored(database, shop)
    for _ in range(mailbox.MAX_ATTEMPTS):
        mailbox.process(database, event_id)
    assert status_of(database, event_id) == ("dead", mailbox.MAX_ATTEMPTS)
    return event_id


def test_deliveries_come_newest_first_with_their_outcome_and_only_the_shops(database, shop, other_shop):
    old = stored(database, shop, at=T0)
    unknown = stored(database, shop, b'{"id": 1}', topic="customers/create", at=T0 + timedelta(minutes=1))
    theirs = stored(database, other_shop, at=T0 + timedelta(minutes=2))
    assert mailbox.process(database, old) == "processed"
    with database.read() as session:
        page = deliveries.recent(session, shop.id)
    assert [(d.id, d.topic, d.status) for d in page.deliveries] == [
        (unknown, "customers/create", "ignored"),
        (old, "orders/paid", "processed"),
    ]
    assert page.deliveries[0].reason == "topic customers/create is not acted on"
    assert page.deliveries[1].attempts == 1 and page.deliveries[1].received_at == T0
    assert page.next_cursor is None
    assert theirs not in [d.id for d in page.deliveries]


def test_the_outcome_filter_is_exact(database, shop):
    processed = stored(database, shop, at=T0)
    mailbox.process(database, processed)
    ignored = stored(database, shop, b'{"id": 2}', topic="customers/create", at=T0 + timedelta(seconds=1))
    waiting = stored(database, shop, ORDER_PAID + b" ", at=T0 + timedelta(seconds=2))
    with database.read() as session:
        by = {
            s: [d.id for d in deliveries.recent(session, shop.id, status=s).deliveries]
            for s in deliveries.OUTCOMES
        }
    assert by == {
        "processed": [processed],
        "ignored": [ignored],
        "received": [waiting],
        "failed": [],
        "dead": [],
    }
    with database.read() as session, pytest.raises(InvalidSetting) as refused:
        deliveries.recent(session, shop.id, status="lost")
    assert refused.value.field == "status"


def test_pages_cover_every_delivery_once_even_on_equal_times(database, shop):
    times = [T0, T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    ids = [stored(database, shop, ORDER_PAID + b" " * n, at=at) for n, at in enumerate(times)]
    seen, cursor = [], None
    while True:
        with database.read() as session:
            page = deliveries.recent(session, shop.id, before=cursor, limit=2)
        seen += [d.id for d in page.deliveries]
        if page.next_cursor is None:
            break
        cursor = Cursor.parse(str(page.next_cursor))
    assert seen == [i for _, i in sorted(zip(times, ids), reverse=True)]


def test_replaying_a_dead_delivery_processes_it_and_audits_who_asked(database, shop, broken):
    with database.transaction() as session:
        seed_chain(session, shop.id)
    event_id = make_dead(database, shop, broken)
    broken()  # the outage is over
    assert deliveries.replay(database, shop.id, event_id, actor="admin@example.com") == "processed"
    assert status_of(database, event_id) == ("processed", 1)
    with database.read() as session:
        assert (
            session.scalar(select(Order.external_id).where(Order.shop_id == shop.id)) == "820982911946154508"
        )
        audit = session.scalar(select(AuditEvent).where(AuditEvent.action == "inbox.replayed"))
    assert (audit.shop_id, audit.actor, audit.subject_type, audit.subject_id) == (
        shop.id,
        "admin@example.com",
        "inbox_event",
        str(event_id),
    )
    assert audit.data == {"topic": "orders/paid", "attempts": mailbox.MAX_ATTEMPTS}


def test_another_shops_delivery_is_not_found_and_stays_dead(database, shop, other_shop, broken):
    event_id = make_dead(database, other_shop, broken)
    broken()
    with pytest.raises(NotFound):
        deliveries.replay(database, shop.id, event_id, actor="admin@example.com")
    assert status_of(database, event_id) == ("dead", mailbox.MAX_ATTEMPTS)
    with database.read() as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "inbox.replayed")) is None


def test_only_a_dead_delivery_is_replayed(database, shop):
    event_id = stored(database, shop)
    mailbox.process(database, event_id)
    with pytest.raises(InvalidTransition):
        deliveries.replay(database, shop.id, event_id, actor="admin@example.com")
    assert status_of(database, event_id) == ("processed", 1)
    with database.read() as session:
        assert session.scalar(select(AuditEvent).where(AuditEvent.action == "inbox.replayed")) is None
