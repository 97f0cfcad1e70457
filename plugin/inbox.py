"""The inbox: every webhook delivery is stored raw exactly once, then processed by a job.

Intake (``store``) runs in the web request; ``process`` runs in a worker (or the in-process
job thread) and is safe to run twice at once or again later. A failed event is retried with
backoff by the inbox sweep; after ``MAX_ATTEMPTS`` it is parked as dead for a manual replay.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from adapters import base, schema
from adapters.registry import get_adapter

from . import orders
from .db import Database, utcnow
from .models import InboxEvent, InboxStatus, Shop

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
STUCK_AFTER = timedelta(seconds=60)  # a received event not processed by then lost its job
DONE = (InboxStatus.PROCESSED, InboxStatus.IGNORED, InboxStatus.DEAD)


def store(
    session: Session,
    shop: Shop,
    platform: str,
    delivery: base.Delivery,
    headers: Mapping[str, str],
    body: bytes,
) -> int | None:
    """Insert the raw delivery unless its key was seen. Returns the new id, or None for a duplicate."""
    now = utcnow()
    ignored = delivery.kind == base.KIND_IGNORED
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(InboxEvent)
        .values(
            shop_id=shop.id,
            platform=platform,
            event_key=delivery.event_key,
            topic=delivery.topic,
            kind=delivery.kind,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            status=InboxStatus.IGNORED if ignored else InboxStatus.RECEIVED,
            attempts=0,
            received_at=now,
            next_attempt_at=now + STUCK_AFTER,
            processed_at=now if ignored else None,
        )
        .on_conflict_do_nothing(index_elements=["shop_id", "platform", "event_key"])
        .returning(InboxEvent.id)
    )
    return session.scalar(statement)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(10 * 2**attempts, 3600))


def process(database: Database, event_id: int) -> str:
    """Normalize one stored delivery and apply it to the domain. Returns the event's status."""
    try:
        with database.transaction() as session:
            event = session.scalar(select(InboxEvent).where(InboxEvent.id == event_id).with_for_update())
            if event is None:
                return "missing"
            if event.status in DONE:
                return event.status
            adapter = get_adapter(event.platform)
            document = adapter.normalize(adapter.describe(event.headers, event.body), event.body)
            shop = session.get(Shop, event.shop_id)
            if isinstance(document, schema.Order):
                orders.apply_snapshot(session, shop, document)
            elif isinstance(document, schema.Refund):
                orders.apply_refund(session, shop, document)
            event.status = InboxStatus.PROCESSED if document is not None else InboxStatus.IGNORED
            event.attempts += 1
            event.processed_at = utcnow()
            return event.status
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never lost
        log.exception("inbox event %s failed", event_id)
        return _record_failure(database, event_id, exc)


def _record_failure(database: Database, event_id: int, exc: Exception) -> str:
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent).where(InboxEvent.id == event_id).with_for_update())
        event.attempts += 1
        event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        event.status = InboxStatus.DEAD if event.attempts >= MAX_ATTEMPTS else InboxStatus.FAILED
        event.next_attempt_at = utcnow() + backoff(event.attempts)
        return event.status


def due_for_retry(database: Database, now: datetime, limit: int = 1000) -> list[int]:
    """Events whose job was lost or whose retry time has come; pushes their next check out."""
    with database.transaction() as session:
        rows = list(
            session.scalars(
                select(InboxEvent)
                .where(
                    InboxEvent.status.in_((InboxStatus.RECEIVED, InboxStatus.FAILED)),
                    InboxEvent.next_attempt_at <= now,
                )
                .order_by(InboxEvent.id)
                .limit(limit)
                .with_for_update()
            )
        )
        for event in rows:
            if event.status == InboxStatus.RECEIVED:
                event.next_attempt_at = now + STUCK_AFTER
        return [event.id for event in rows]


def due_now(database: Database, event_id: int) -> None:
    """Let the next sweep pick the event up at once (its job could not be enqueued)."""
    with database.transaction() as session:
        session.execute(update(InboxEvent).where(InboxEvent.id == event_id).values(next_attempt_at=utcnow()))


def replay(database: Database, event_id: int) -> str:
    """Put a dead or failed event back in line (operator action) and process it now."""
    with database.transaction() as session:
        event = session.get(InboxEvent, event_id)
        if event is None:
            return "missing"
        if event.status in (InboxStatus.DEAD, InboxStatus.FAILED):
            event.status = InboxStatus.RECEIVED
            event.attempts = 0
    return process(database, event_id)
