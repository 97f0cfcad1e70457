"""The inbox: every webhook delivery is stored raw exactly once, then processed by a job.

Intake (``store``) runs in the web request; ``process`` runs in a worker (or the in-process
job thread) and is safe to run twice at once or again later. A failed event is retried with
backoff by the inbox sweep; after ``MAX_ATTEMPTS`` it is parked as dead for a manual replay.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters import base, schema
from adapters.errors import PayloadError
from adapters.registry import get_adapter
from plugin.db import Database, insert_new, utcnow
from plugin.inbox.models import InboxEvent, InboxStatus
from plugin.orders import lifecycle
from plugin.shops.models import Shop
from plugin.states import StateMachine

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
STUCK_AFTER = timedelta(seconds=60)  # a received event not processed by then lost its job
S = InboxStatus
TRANSITIONS: dict[InboxStatus, tuple[InboxStatus, ...]] = {
    S.RECEIVED: (S.PROCESSED, S.IGNORED, S.FAILED, S.DEAD),
    S.FAILED: (S.PROCESSED, S.IGNORED, S.FAILED, S.DEAD, S.RECEIVED),  # received: replayed by hand
    S.DEAD: (S.RECEIVED,),  # replayed by hand
    S.PROCESSED: (),
    S.IGNORED: (),
}
MACHINE = StateMachine("inbox event", TRANSITIONS)
DONE = (InboxStatus.PROCESSED, InboxStatus.IGNORED, InboxStatus.DEAD)


def store(
    session: Session,
    shop_id: int,
    platform: str,
    delivery: base.Delivery,
    headers: Mapping[str, str],
    body: bytes,
    *,
    ignore_reason: str | None = None,
) -> int | None:
    """Insert the raw delivery unless it was seen. Returns the new id, or None for a duplicate.

    Seen means the same delivery id, or the same signed body of the same topic re-posted
    under a new delivery id. An unknown topic, or an ``ignore_reason``, stores it as ignored.
    """
    now = utcnow()
    if delivery.kind == base.KIND_IGNORED and ignore_reason is None:
        ignore_reason = f"topic {delivery.topic} is not acted on"
    ignored = ignore_reason is not None
    statement = (
        insert_new(session, InboxEvent)
        .values(
            shop_id=shop_id,
            platform=platform,
            event_key=delivery.event_key,
            topic=delivery.topic,
            kind=delivery.kind,
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            body_sha256=hashlib.sha256(body).hexdigest(),
            status=InboxStatus.IGNORED if ignored else InboxStatus.RECEIVED,
            reason=ignore_reason,
            received_at=now,
            next_attempt_at=now + STUCK_AFTER,
            processed_at=now if ignored else None,
        )
        .on_conflict_do_nothing()  # either unique key: the delivery id, or topic + body hash
        .returning(InboxEvent.id)
    )
    return session.scalar(statement)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(10 * 2**attempts, 3600))


def process(database: Database, event_id: int) -> str:
    """Normalize one stored delivery and apply it to the domain. Returns the event's status.

    A payload the adapter cannot read will never succeed, so it goes to ``dead`` at once; any
    other failure is retried with backoff (``_record_failure``).
    """
    started = time.perf_counter()
    topic = "?"
    try:
        with database.transaction() as session:
            event = session.scalar(select(InboxEvent).where(InboxEvent.id == event_id).with_for_update())
            if event is None:
                return "missing"
            if event.status in DONE:
                return event.status
            topic = event.topic
            _apply(session, event)
            status = event.status
    except PayloadError as exc:
        status = _record_failure(database, event_id, exc, permanent=True)
    except Exception as exc:  # noqa: BLE001 - any failure is recorded and retried, never lost
        log.exception("inbox event %s failed", event_id)
        status = _record_failure(database, event_id, exc)
    log.info("event %s %s %s in %.1f ms", event_id, topic, status, (time.perf_counter() - started) * 1000)
    return status


def _apply(session: Session, event: InboxEvent) -> None:
    adapter = get_adapter(event.platform)
    document = adapter.normalize(adapter.describe(event.headers, event.body), event.body)
    shop = session.get(Shop, event.shop_id)
    reason = lifecycle.ignore_reason(shop, document)
    if document is None or reason is not None:
        MACHINE.move(event, InboxStatus.IGNORED)
        event.reason = reason or f"topic {event.topic} is not acted on"
    elif isinstance(document, schema.Order):
        lifecycle.apply_snapshot(session, shop, document)
        MACHINE.move(event, InboxStatus.PROCESSED)
    else:
        lifecycle.apply_refund(session, shop, document)
        MACHINE.move(event, InboxStatus.PROCESSED)
    event.attempts += 1
    event.processed_at = utcnow()


def _record_failure(database: Database, event_id: int, exc: Exception, *, permanent: bool = False) -> str:
    with database.transaction() as session:
        event = session.scalar(select(InboxEvent).where(InboxEvent.id == event_id).with_for_update())
        event.attempts += 1
        event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        give_up = permanent or event.attempts >= MAX_ATTEMPTS
        MACHINE.move(event, InboxStatus.DEAD if give_up else InboxStatus.FAILED)
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
        for event in rows:  # a lease: not queued again while this job waits in its queue
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
        if MACHINE.allows(InboxStatus(event.status), InboxStatus.RECEIVED):
            MACHINE.move(event, InboxStatus.RECEIVED)
            event.attempts = 0
    return process(database, event_id)
